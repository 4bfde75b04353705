package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Format is the format ParseFile detected.
type Format int

const (
	FormatSDKJSON             Format = iota + 1 // JSON in the Python SDK's shape
	FormatSecretJSON                            // protobuf JSON of core.Secret
	FormatSecurityContextJSON                   // protobuf JSON of core.SecurityContext
	FormatTaskTemplateJSON                      // protobuf JSON of core.TaskTemplate
	FormatTaskSpecJSON                          // protobuf JSON of task.TaskSpec
	FormatTaskTemplateProto                     // binary core.TaskTemplate
	FormatTaskSpecProto                         // binary task.TaskSpec
	FormatProto                                 // another well-formed binary message: no requests
	FormatAnnotations                           // Kubernetes downward-API annotations file
	FormatAdminTaskSpecJSON                     // protobuf JSON of Flyte 1's admin.TaskSpec
	FormatAnnotationValue                       // a downward-API item of one annotation: the bare value
)

// formatNames is an array, not a map: a map literal is built at every
// start, an array is data in the binary.
var formatNames = [...]string{
	FormatSDKJSON:             "SDK JSON",
	FormatSecretJSON:          "core.Secret JSON",
	FormatSecurityContextJSON: "core.SecurityContext JSON",
	FormatTaskTemplateJSON:    "core.TaskTemplate JSON",
	FormatTaskSpecJSON:        "task.TaskSpec JSON",
	FormatTaskTemplateProto:   "binary core.TaskTemplate",
	FormatTaskSpecProto:       "binary task.TaskSpec",
	FormatProto:               "binary protobuf without a task template",
	FormatAnnotations:         "downward-API annotations",
	FormatAdminTaskSpecJSON:   "admin.TaskSpec JSON",
	FormatAnnotationValue:     "downward-API annotation value",
}

func (f Format) String() string {
	if f >= 0 && int(f) < len(formatNames) && formatNames[f] != "" {
		return formatNames[f]
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// ParseFile reads a --spec file's requests. name is the file's name as the
// user gave it, for origins and errors (`spec "task.pb" secret 3`). The
// format is detected from the content, in this order:
//
//   - a Kubernetes downward-API annotations file (flyte.secrets/s<N>);
//   - JSON: the SDK's shape, or the protobuf JSON of core.Secret,
//     core.SecurityContext, core.TaskTemplate, task.TaskSpec or Flyte 1's
//     admin.TaskSpec;
//   - a downward-API item for one annotation: the bare value alone, one
//     word of letters and digits;
//   - binary protobuf of task.TaskSpec (or admin.TaskSpec, the same bytes)
//     or core.TaskTemplate.
//
// An empty file is an error. A well-formed spec that requests no secrets
// gives no requests and no error; saying so is the caller's job.
//
// Two choices go beyond the letter of the contract. A file that begins like
// JSON but is not JSON is reported as bad JSON, unless it is a binary task
// spec. A file of plain text that happens to be well-formed wire format is
// an error rather than "a message with no requests".
func ParseFile(name string, data []byte) ([]Raw, Format, error) {
	raws, format, err := parseFile("spec "+quote(name), data)
	if err != nil {
		return nil, 0, err
	}
	return raws, format, nil
}

func parseFile(origin string, data []byte) ([]Raw, Format, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, 0, fmt.Errorf("%s: the file is empty", origin)
	}
	if isAnnotations(data) {
		raws, err := parseAnnotations(origin, data)
		return raws, FormatAnnotations, err
	}
	if json.Valid(trimmed) {
		return parseJSON(origin, trimmed, true)
	}
	if isAnnotationValue(trimmed) {
		raws, err := parseAnnotationValue(origin, trimmed)
		return raws, FormatAnnotationValue, err
	}
	if c := trimmed[0]; c == '{' || c == '[' || c == '"' {
		// Meant as JSON, most likely. A binary TaskTemplate may begin with
		// '"' too (field 4, with no id, type or metadata before it).
		raws, format, err := parseProto(origin, data)
		if err == nil && format != FormatProto {
			return raws, format, nil
		}
		return nil, 0, fmt.Errorf("%s: %w", origin, checkJSON(trimmed))
	}
	raws, format, err := parseProto(origin, data)
	if err == nil && format == FormatProto && looksLikeText(data) {
		return nil, 0, fmt.Errorf("%s: not a recognized spec: not JSON, not a downward-API annotations file (name=\"value\" lines), and not a binary task.TaskSpec or core.TaskTemplate", origin)
	}
	return raws, format, err
}
