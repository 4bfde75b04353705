package spec

import (
	"bytes"
	"fmt"
)

// MaxRequests is the most secret requests one run takes, from all its
// sources together and from any one of them. A bigger list is refused before
// it is decoded, so that parsing uses memory in proportion to its input.
const MaxRequests = 10_000

func tooMany(origin string, n int) error {
	return fmt.Errorf("%s: %d secret requests, more than the limit of %d", origin, n, MaxRequests)
}

// countJSONArray counts the elements of the well-formed JSON array data,
// without decoding them.
func countJSONArray(data []byte) int {
	depth, n, inString, empty := 0, 0, false, true
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
			continue
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
			if depth == 1 {
				continue
			}
		case c == ']' || c == '}':
			depth--
			continue
		case c == ',' && depth == 1:
			n++
			continue
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		}
		if depth >= 1 {
			empty = false
		}
	}
	if empty {
		return 0
	}
	return n + 1
}

// countProtoSecrets counts the secrets in a binary TaskTemplate's (or
// TaskSpec's) security contexts, with the wire format alone. data is
// well-formed at the top level.
func countProtoSecrets(data []byte, kind msgKind) int {
	n := 0
	each := func(b []byte, field int64, fn func([]byte)) {
		_ = scanProto(b, func(num int64, v []byte) {
			if num == field {
				fn(v)
			}
		})
	}
	template := func(t []byte) {
		each(t, fieldTaskTemplateSecurityContext, func(sc []byte) {
			each(sc, fieldSecurityContextSecrets, func([]byte) { n++ })
		})
	}
	if kind == msgTaskSpec {
		each(data, fieldTaskSpecTaskTemplate, template)
	} else {
		template(data)
	}
	return n
}

// countAnnotations counts the lines that may hold a secret request.
func countAnnotations(data []byte) int {
	return bytes.Count(data, []byte(annotationPrefix))
}
