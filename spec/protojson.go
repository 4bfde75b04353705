package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The protobuf JSON forms of core.Secret, core.SecurityContext,
// core.TaskTemplate, task.TaskSpec and Flyte 1's admin.TaskSpec are read here, by hand, with the
// rules of protobuf's JSON mapping for the few fields we read:
//
//   - a field is known by its JSON name (camelCase) or its proto name
//     (snake_case); giving it under both is an error;
//   - null means unset, for every field;
//   - strings must be JSON strings and valid UTF-8;
//   - mount_requirement is a name (ANY, ENV_VAR, FILE) or an integer in
//     int32's range;
//   - a message is an object, a repeated field a list;
//   - every other field is skipped, whatever its value.
//
// google.golang.org/protobuf/encoding/protojson does the same, but linking
// it compiles a regular expression at package init, in every container
// start, whether a spec is read or not: about half of the shim's start-up
// instructions. The binary and text forms are read by hand too (proto.go,
// prototext.go).

// protoField is one field of a message: its JSON and proto names.
type protoField struct{ json, proto string }

var (
	pfTaskTemplate    = protoField{"taskTemplate", "task_template"}
	pfTemplate        = protoField{"template", "template"} // admin.TaskSpec's
	pfSecurityContext = protoField{"securityContext", "security_context"}
	pfSecrets         = protoField{"secrets", "secrets"}
	pfGroup           = protoField{"group", "group"}
	pfGroupVersion    = protoField{"groupVersion", "group_version"}
	pfKey             = protoField{"key", "key"}
	pfMount           = protoField{"mountRequirement", "mount_requirement"}
	pfEnvVar          = protoField{"envVar", "env_var"}
)

// protoMessage is the known fields of one decoded object: each field's
// value (nil when absent or null) and the name it was given under.
type protoMessage struct {
	kind   msgKind
	values map[protoField]json.RawMessage
	names  map[protoField]string
}

// protoError is a problem in a message of kind: "core.Secret JSON: ...".
func protoError(origin string, kind msgKind, format string, args ...any) error {
	return fmt.Errorf("%s: %s JSON: %s", origin, msgNames[kind], fmt.Sprintf(format, args...))
}

// readProtoObject splits data, which must be a JSON object, into the known
// fields of a message. data is well-formed JSON already. As in protojson, a
// known field given twice is an error and unknown ones may repeat.
func readProtoObject(origin string, kind msgKind, data []byte, known ...protoField) (protoMessage, error) {
	m := protoMessage{kind: kind, values: map[protoField]json.RawMessage{}, names: map[protoField]string{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return m, protoError(origin, kind, "want an object, got %s", jsonKind(data))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return m, protoError(origin, kind, "%v", err)
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return m, protoError(origin, kind, "%v", err)
		}
		for _, k := range known {
			if name != k.json && name != k.proto {
				continue
			}
			if prev, dup := m.names[k]; dup {
				if prev == name {
					return m, protoError(origin, kind, "field %q is given twice", name)
				}
				return m, protoError(origin, kind, "field %q is given twice, also as %q", name, prev)
			}
			m.names[k] = name
			if string(v) != "null" {
				m.values[k] = v
			}
		}
	}
	return m, nil
}

// message returns the sub-message in field f, which must be an object, or
// nil when it is absent or null.
func (m protoMessage) message(origin string, f protoField) ([]byte, error) {
	v := m.values[f]
	if v == nil {
		return nil, nil
	}
	if v[0] != '{' {
		return nil, protoError(origin, m.kind, "field %q must be an object, got %s", m.names[f], jsonKind(v))
	}
	return v, nil
}

// str returns the string in field f, "" when it is absent or null.
func (m protoMessage) str(origin string, f protoField) (string, error) {
	v := m.values[f]
	if v == nil {
		return "", nil
	}
	if v[0] != '"' {
		return "", protoError(origin, m.kind, "field %q must be a string, got %s", m.names[f], jsonKind(v))
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", protoError(origin, m.kind, "field %q: %v", m.names[f], err)
	}
	return s, nil
}

// checkStrings checks every string of a well-formed JSON document as
// protobuf JSON does, skipped fields included: the text must be valid UTF-8
// and every \u escape of a surrogate must be half of a pair, where
// encoding/json would quietly put U+FFFD in its place.
func checkStrings(v []byte) error {
	if !utf8.Valid(v) {
		return errors.New("a string is not valid UTF-8")
	}
	bad := errors.New(`a string holds a \u escape of half a surrogate pair`)
	in := false
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '"':
			in = !in
		case !in || v[i] != '\\':
		case v[i+1] != 'u':
			i++
		default:
			r := hex4(v[i+2 : i+6])
			i += 5
			if !utf16.IsSurrogate(r) {
				continue
			}
			if r >= 0xdc00 || i+6 >= len(v) || v[i+1] != '\\' || v[i+2] != 'u' {
				return bad
			}
			if low := hex4(v[i+3 : i+7]); low < 0xdc00 || low > 0xdfff {
				return bad
			}
			i += 6
		}
	}
	return nil
}

// hex4 reads four hex digits; the JSON is well-formed, so they are.
func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b), 16, 16)
	return rune(n)
}

// enum returns the mount requirement in field f: a name, or an integer in
// int32's range. An unknown name is an error: a misspelt "File" must not
// quietly become ANY, an environment variable instead of a file. Unknown
// numbers are kept, for Validate to refuse.
func (m protoMessage) enum(origin string, f protoField) (MountRequirement, error) {
	v := m.values[f]
	if v == nil {
		return MountAny, nil
	}
	name := m.names[f]
	switch v[0] {
	case '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return 0, protoError(origin, m.kind, "field %q must be a string or a number", name)
		}
		switch s {
		case "ANY":
			return MountAny, nil
		case "ENV_VAR":
			return MountEnvVar, nil
		case "FILE":
			return MountFile, nil
		}
		return 0, fmt.Errorf("%s: %s %s is not ANY, ENV_VAR or FILE", origin, name, quote(s))
	case 't', 'f', 'n', '{', '[':
		return 0, protoError(origin, m.kind, "field %q must be ANY, ENV_VAR, FILE or a number, got %s", name, jsonKind(v))
	}
	n, err := strconv.ParseFloat(string(v), 64)
	if err != nil || n != math.Trunc(n) || n < math.MinInt32 || n > math.MaxInt32 {
		return 0, protoError(origin, m.kind, "field %q: %s is not an integer in int32's range", name, quote(string(v)))
	}
	return MountRequirement(n), nil
}

// decodeProtoJSON reads the protobuf JSON of one message kind and returns
// the requests it holds. origin names the Secret, or the file whose secrets
// are counted from 1.
func decodeProtoJSON(origin string, data []byte, kind msgKind) ([]Raw, error) {
	data = bytes.TrimSpace(data)
	if err := checkStrings(data); err != nil {
		return nil, protoError(origin, kind, "%v", err)
	}
	var err error
	switch kind {
	case msgSecret:
		r, err := decodeSecretJSON(origin, data)
		if err != nil {
			return nil, err
		}
		return []Raw{r}, nil
	case msgTaskSpec, msgAdminTaskSpec:
		f := pfTaskTemplate
		if kind == msgAdminTaskSpec {
			f = pfTemplate
		}
		var m protoMessage
		if m, err = readProtoObject(origin, kind, data, f); err != nil {
			return nil, err
		}
		if data, err = m.message(origin, f); err != nil || data == nil {
			return nil, err
		}
		fallthrough
	case msgTaskTemplate:
		var m protoMessage
		if m, err = readProtoObject(origin, msgTaskTemplate, data, pfSecurityContext); err != nil {
			return nil, err
		}
		if data, err = m.message(origin, pfSecurityContext); err != nil || data == nil {
			return nil, err
		}
	}
	m, err := readProtoObject(origin, msgSecurityContext, data, pfSecrets)
	if err != nil {
		return nil, err
	}
	list := m.values[pfSecrets]
	if list == nil {
		return nil, nil
	}
	if list[0] != '[' {
		return nil, protoError(origin, msgSecurityContext, "field \"secrets\" must be a list, got %s", jsonKind(list))
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(list, &elems); err != nil {
		return nil, protoError(origin, msgSecurityContext, "field \"secrets\": %v", err)
	}
	raws := make([]Raw, 0, len(elems))
	for i, el := range elems {
		r, err := decodeSecretJSON(origin+" secret "+strconv.Itoa(i+1), el)
		if err != nil {
			return nil, err
		}
		raws = append(raws, r)
	}
	return raws, nil
}

// decodeSecretJSON reads one core.Secret.
func decodeSecretJSON(origin string, data []byte) (Raw, error) {
	data = bytes.TrimSpace(data)
	if data[0] != '{' {
		return Raw{}, protoError(origin, msgSecret, "want an object, got %s", jsonKind(data))
	}
	m, err := readProtoObject(origin, msgSecret, data, pfGroup, pfGroupVersion, pfKey, pfMount, pfEnvVar)
	if err != nil {
		return Raw{}, err
	}
	r := Raw{Origin: origin, Shape: ShapeCore}
	for _, s := range []struct {
		f   protoField
		dst *string
	}{{pfKey, &r.Key}, {pfGroup, &r.Group}, {pfGroupVersion, &r.GroupVersion}, {pfEnvVar, &r.EnvVar}} {
		if *s.dst, err = m.str(origin, s.f); err != nil {
			return Raw{}, err
		}
	}
	if r.MountRequirement, err = m.enum(origin, pfMount); err != nil {
		return Raw{}, err
	}
	return r, nil
}
