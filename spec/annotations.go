package spec

import (
	"bytes"
	"encoding/base32"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The downward-API annotations file, as the kubelet writes it for a volume
// of metadata.annotations: one `name="value"` a line, sorted by name, the
// value quoted as Go's %q quotes it. Flyte marks a task pod with one
// annotation per secret request, flyte.secrets/s0, s1, ..., each a
// core.Secret in protobuf text format, base32-encoded with Flyte's own
// alphabet and no padding.
const (
	annotationPrefix = "flyte.secrets/s"
	flyteBase32      = "abcdefghijklmnopqrstuvwxyz123456"
)

// flyteEncoding is Flyte's base32, made on first use rather than at init.
var flyteEncoding = sync.OnceValue(func() *base32.Encoding {
	return base32.NewEncoding(flyteBase32).WithPadding(base32.NoPadding)
})

// isAnnotations reports whether data looks like an annotations file: its
// first non-empty line is `name="...`, with a name of annotation characters.
// Neither JSON nor a binary task spec begins that way.
func isAnnotations(data []byte) bool {
	for _, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			continue
		}
		name, value, ok := bytes.Cut(line, []byte("="))
		return ok && validAnnotationName(string(name)) && bytes.HasPrefix(value, []byte(`"`))
	}
	return false
}

// validAnnotationName accepts the characters of a Kubernetes annotation
// name: an optional DNS prefix and "/", then letters, digits, "-", "_", ".".
func validAnnotationName(s string) bool {
	if s == "" || !isAlnum(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' && c != '/' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// annotation is one line whose name starts with flyte.secrets/s.
type annotation struct {
	name  string
	index string // what follows the prefix: s0 gives "0"
	line  int
	value string
}

// parseAnnotations reads the requests of an annotations file. Every
// annotation whose name starts with flyte.secrets/s is one, as Flyte's own
// unmarshaler takes them (it reads the prefix, not the number after it);
// other annotations are skipped. They come in the order of what follows the
// prefix: numbers (s0, s1, ..., s10) by value first, then any other suffix
// in byte order.
func parseAnnotations(origin string, data []byte) ([]Raw, error) {
	if n := countAnnotations(data); n > MaxRequests {
		return nil, tooMany(origin, n)
	}
	var found []annotation
	names := make(map[string]int)
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		name, quoted, ok := strings.Cut(line, "=")
		if !ok || !validAnnotationName(name) {
			return nil, fmt.Errorf(`%s: line %d: want name="value", got %s`, origin, n, quote(line))
		}
		if first, dup := names[name]; dup {
			return nil, fmt.Errorf("%s: line %d: annotation %s is given twice (first on line %d)", origin, n, quote(name), first)
		}
		names[name] = n
		value, err := strconv.Unquote(quoted)
		if err != nil || !strings.HasPrefix(quoted, `"`) {
			return nil, fmt.Errorf("%s: line %d: annotation %s: the value is not a double-quoted Go string", origin, n, quote(name))
		}
		index, ok := strings.CutPrefix(name, annotationPrefix)
		if !ok {
			continue
		}
		found = append(found, annotation{name: name, index: index, line: n, value: value})
	}
	sort.SliceStable(found, func(i, j int) bool { return lessIndex(found[i].index, found[j].index) })

	if len(found) == 0 {
		return nil, nil
	}
	raws := make([]Raw, 0, len(found))
	for _, a := range found {
		where := fmt.Sprintf("%s: line %d: annotation %s", origin, a.line, bare(a.name))
		r, err := decodeAnnotation(where, origin+" annotation "+bare(a.name), a.value)
		if err != nil {
			return nil, err
		}
		raws = append(raws, r...)
	}
	return raws, nil
}

// decodeAnnotation reads one annotation's value: a core.Secret in protobuf
// text format (prototext.go), base32-encoded in Flyte's alphabet without
// padding. where begins its errors; origin names the request.
func decodeAnnotation(where, origin, value string) ([]Raw, error) {
	text, err := flyteEncoding().DecodeString(value)
	if err != nil {
		return nil, fmt.Errorf("%s: the value is not base32 in Flyte's alphabet (%s, no padding): %v", where, flyteBase32, err)
	}
	r, err := parseSecretText(text)
	if err != nil {
		return nil, fmt.Errorf("%s: the decoded value is not a core.Secret in protobuf text format: %v", where, err)
	}
	r.Origin = origin
	return []Raw{r}, nil
}

// isAnnotationValue reports whether data is what a downward-API item for
// one annotation holds (metadata.annotations['flyte.secrets/s0']): the bare
// value, one word, with no quotes and no "name=". It takes every letter,
// digit and "=", not only Flyte's alphabet, so that a value in another
// base32 alphabet, or padded, is reported as such rather than as an unknown
// format. No binary spec that holds a secret is made of these bytes alone
// (a core.SecurityContext's secrets are field 2, tag byte 0x12), and JSON's
// bare words (true, false, null) and numbers are tried as JSON first.
func isAnnotationValue(trimmed []byte) bool {
	if len(trimmed) == 0 {
		return false
	}
	for _, c := range trimmed {
		if !isAlnum(c) && c != '=' {
			return false
		}
	}
	return true
}

// parseAnnotationValue reads a bare annotation value: one request.
func parseAnnotationValue(origin string, trimmed []byte) ([]Raw, error) {
	where := origin + ": a bare annotation value (what a downward-API item for one flyte.secrets/s<N> annotation holds)"
	return decodeAnnotation(where, origin+" secret 1", string(trimmed))
}

// lessIndex orders what follows flyte.secrets/s: decimal numbers by value,
// before any other suffix; other suffixes in byte order.
func lessIndex(a, b string) bool {
	da, db := isDecimal(a), isDecimal(b)
	switch {
	case da && db:
		return lessDecimal(a, b)
	case da != db:
		return da
	}
	return a < b
}

func isDecimal(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }

// lessDecimal compares two strings of decimal digits by their value, however
// long they are.
func lessDecimal(a, b string) bool {
	ta, tb := strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(ta) != len(tb) {
		return len(ta) < len(tb)
	}
	return ta < tb
}
