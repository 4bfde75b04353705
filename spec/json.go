package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// sdkFieldList names the fields of an SDK-shaped object for error messages.
const sdkFieldList = "key, group, group_version, mount, as_env_var, optional"

// ParseSDKJSON reads JSON in the Python SDK's shape: a string (a key), an
// object {"key", "group", "group_version", "mount", "as_env_var",
// "optional"}, a list of strings and objects, or {"secrets": [...]}.
// It reads FLYTE_SECRETS (origin "FLYTE_SECRETS"). The requests' origins read
// `FLYTE_SECRETS secret 2`, counting from 1. Unknown fields are an error, so
// that a misspelt "as_env_var" or "mount" does not quietly give another
// target.
func ParseSDKJSON(origin string, data []byte) ([]Raw, error) {
	raws, _, err := parseJSON(origin, data, false)
	if err != nil && !json.Valid(data) {
		if t := bytes.TrimSpace(data); len(t) > 0 && !bytes.ContainsAny(t[:1], `{["`) {
			// ENV FLYTE_SECRETS=my-api-key: a bare word is not JSON.
			err = fmt.Errorf(`%w (a key alone is a JSON string: "my-api-key")`, err)
		}
	}
	return raws, err
}

// taskTemplateJSONFields are core.TaskTemplate's top-level JSON names. An
// object with one of them and no security context is a template that
// requests no secrets.
var taskTemplateJSONFields = []string{
	"id", "type", "metadata", "interface", "custom", "container",
	"k8sPod", "k8s_pod", "sql", "taskTypeVersion", "task_type_version",
	"config", "extendedResources", "extended_resources",
}

// parseJSON reads a JSON spec. With anyShape (a --spec file) it also takes
// the protobuf JSON forms of core.Secret, core.SecurityContext,
// core.TaskTemplate, task.TaskSpec and admin.TaskSpec; without it
// (FLYTE_SECRETS) only the SDK's shape.
func parseJSON(origin string, data []byte, anyShape bool) ([]Raw, Format, error) {
	if err := checkJSON(data); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", origin, err)
	}
	data = bytes.TrimSpace(data)
	switch data[0] {
	case '"', '[':
		raws, _, err := parseElements(origin, data, anyShape)
		return raws, FormatSDKJSON, err
	case '{':
	default:
		return nil, 0, fmt.Errorf("%s: want a JSON string, object or list, got %s", origin, jsonKind(data))
	}

	fields, err := objectFields(data)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", origin, err)
	}
	if anyShape {
		switch {
		case fields.has("taskTemplate", "task_template"):
			raws, err := decodeProtoJSON(origin, data, msgTaskSpec)
			return raws, FormatTaskSpecJSON, err
		case fields.has("securityContext", "security_context"):
			raws, err := decodeProtoJSON(origin, data, msgTaskTemplate)
			return raws, FormatTaskTemplateJSON, err
		case fields.has("template"):
			// Flyte 1's admin.TaskSpec: {"template": {...}, "description": {...}}.
			raws, err := decodeProtoJSON(origin, data, msgAdminTaskSpec)
			return raws, FormatAdminTaskSpecJSON, err
		}
	}
	switch {
	case fields.has("secrets"):
		extra := fields.other("secrets")
		if extra != "" && !anyShape {
			return nil, 0, fmt.Errorf("%s: unknown field %s next to \"secrets\"", origin, quote(extra))
		}
		list := fields.get("secrets")
		if string(list) == "null" {
			return nil, FormatSecurityContextJSON, nil
		}
		if list[0] != '[' {
			return nil, 0, fmt.Errorf("%s: \"secrets\" must be a list, got %s", origin, jsonKind(list))
		}
		raws, core, err := parseElements(origin, list, anyShape)
		if core || extra != "" {
			// Other fields of a core.SecurityContext (runAs, tokens, ...)
			// are skipped, as protobuf JSON skips unknown fields.
			return raws, FormatSecurityContextJSON, err
		}
		return raws, FormatSDKJSON, err
	case fields.has("key"):
		r, core, err := parseElement(origin+" secret 1", data, anyShape)
		if err != nil {
			return nil, 0, err
		}
		if core {
			return []Raw{r}, FormatSecretJSON, nil
		}
		return []Raw{r}, FormatSDKJSON, nil
	case anyShape && (len(fields) == 0 || fields.has(taskTemplateJSONFields...)):
		// A task template without a security context (or `{}`, the JSON of
		// an empty one) is well-formed and requests nothing.
		raws, err := decodeProtoJSON(origin, data, msgTaskTemplate)
		return raws, FormatTaskTemplateJSON, err
	}
	if anyShape {
		return nil, 0, fmt.Errorf(`%s: a JSON object must have "key" (one secret), "secrets" (a list), "securityContext" (a core.TaskTemplate), "taskTemplate" (a task.TaskSpec) or "template" (an admin.TaskSpec)`, origin)
	}
	return nil, 0, fmt.Errorf(`%s: a JSON object must have "key" (one secret) or "secrets" (a list)`, origin)
}

// parseElements reads a JSON string (one key) or a list of requests. core
// reports whether any of them is core-shaped.
func parseElements(origin string, data []byte, anyShape bool) (raws []Raw, core bool, err error) {
	if data[0] == '"' {
		r, _, err := parseElement(origin+" secret 1", data, anyShape)
		if err != nil {
			return nil, false, err
		}
		return []Raw{r}, false, nil
	}
	if n := countJSONArray(data); n > MaxRequests {
		return nil, false, tooMany(origin, n)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, false, fmt.Errorf("%s: %w", origin, err)
	}
	raws = make([]Raw, 0, len(list))
	for i, el := range list {
		r, c, err := parseElement(origin+" secret "+strconv.Itoa(i+1), el, anyShape)
		if err != nil {
			return nil, false, err
		}
		core = core || c
		raws = append(raws, r)
	}
	return raws, core, nil
}

// The fields that tell a core.Secret's protobuf JSON from the SDK's shape.
// key, group and group_version are common to both.
var (
	coreOnlyFields = []string{"mountRequirement", "mount_requirement", "envVar", "env_var", "groupVersion"}
	sdkOnlyFields  = []string{"mount", "as_env_var", "optional"}
)

// parseElement reads one request: a string (a key) or an object. An object
// with a field that only core.Secret has is read as core.Secret (when
// anyShape allows it); else it is SDK-shaped. Both kinds of field at once is
// an error. An object with only key, group and group_version reads the same
// either way.
func parseElement(origin string, data []byte, anyShape bool) (Raw, bool, error) {
	data = bytes.TrimSpace(data)
	switch data[0] {
	case '"':
		var key string
		if err := json.Unmarshal(data, &key); err != nil {
			return Raw{}, false, fmt.Errorf("%s: %w", origin, err)
		}
		return Raw{Origin: origin, Shape: ShapeSDK, Key: key}, false, nil
	case '{':
	default:
		return Raw{}, false, fmt.Errorf("%s: want a string (a key) or an object, got %s", origin, jsonKind(data))
	}
	fields, err := objectFields(data)
	if err != nil {
		return Raw{}, false, fmt.Errorf("%s: %w", origin, err)
	}
	coreField, sdkField := fields.first(coreOnlyFields...), fields.first(sdkOnlyFields...)
	switch {
	case anyShape && coreField != "" && sdkField != "":
		return Raw{}, false, fmt.Errorf("%s: mixes the SDK's field %q with core.Secret's field %q: use one shape", origin, sdkField, coreField)
	case anyShape && coreField != "":
		raws, err := decodeProtoJSON(origin, data, msgSecret)
		if err != nil {
			return Raw{}, false, err
		}
		return raws[0], true, nil
	}
	r := Raw{Origin: origin, Shape: ShapeSDK}
	for _, f := range fields {
		var err error
		switch f.name {
		case "key":
			err = jsonString(f, &r.Key)
		case "group":
			err = jsonString(f, &r.Group)
		case "group_version":
			err = jsonString(f, &r.GroupVersion)
		case "mount":
			err = jsonString(f, &r.Mount)
		case "as_env_var":
			err = jsonString(f, &r.AsEnvVar)
		case "optional":
			if string(f.value) != "null" {
				if err = json.Unmarshal(f.value, &r.Optional); err != nil {
					err = fmt.Errorf("field \"optional\" must be true or false, got %s", jsonKind(f.value))
				}
			}
		default:
			hint := ""
			if slices.Contains(coreOnlyFields, f.name) {
				hint = " (a core.Secret belongs in a --spec file)"
			}
			err = fmt.Errorf("unknown field %s: the fields are %s%s", quote(f.name), sdkFieldList, hint)
		}
		if err != nil {
			return Raw{}, false, fmt.Errorf("%s: %w", origin, err)
		}
	}
	return r, false, nil
}

func jsonString(f jsonField, dst *string) error {
	if string(f.value) == "null" {
		return nil
	}
	if f.value[0] != '"' || json.Unmarshal(f.value, dst) != nil {
		return fmt.Errorf("field %q must be a string, got %s", f.name, jsonKind(f.value))
	}
	return nil
}

// checkJSON reports whether data is one well-formed JSON value, naming the
// byte offset of a syntax error.
func checkJSON(data []byte) error {
	if json.Valid(data) {
		return nil
	}
	var v json.RawMessage
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %s", se.Offset, se.Error())
	}
	if err == nil { // cannot happen: Valid said no
		err = errors.New("not one JSON value")
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// jsonKind names the kind of a well-formed JSON value, for messages.
func jsonKind(v []byte) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "a list"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

type jsonField struct {
	name  string
	value json.RawMessage
}

// jsonObject is an object's fields in their order.
type jsonObject []jsonField

// objectFields splits a well-formed JSON object into its fields, refusing a
// field given twice (encoding/json would quietly keep the last).
func objectFields(data []byte) (jsonObject, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("want a JSON object, got %s", jsonKind(data))
	}
	var fields jsonObject
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		if seen[name] {
			return nil, fmt.Errorf("field %s is given twice", quote(name))
		}
		seen[name] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		fields = append(fields, jsonField{name: name, value: v})
	}
	return fields, nil
}

func (o jsonObject) has(names ...string) bool {
	for _, f := range o {
		if slices.Contains(names, f.name) {
			return true
		}
	}
	return false
}

// first returns the first of names that o has, or "".
func (o jsonObject) first(names ...string) string {
	for _, n := range names {
		for _, f := range o {
			if f.name == n {
				return n
			}
		}
	}
	return ""
}

// get returns the value of the field name, or nil; it never matches "", so
// that get(first(...)) is nil when none of the names is there.
func (o jsonObject) get(name string) json.RawMessage {
	if name == "" {
		return nil
	}
	for _, f := range o {
		if f.name == name {
			return f.value
		}
	}
	return nil
}

// other returns the name of a field that is not one of names, or "".
func (o jsonObject) other(names ...string) string {
	for _, f := range o {
		if !slices.Contains(names, f.name) {
			return f.name
		}
	}
	return ""
}
