// Package spec turns a task's secret requests, in any accepted format, into
// a checked list of Requests.
//
// Requests come from --secret values (ParseFlag), from FLYTE_SECRETS and
// other JSON in the Python SDK's shape (ParseSDKJSON), and from --spec files
// whose format is detected from their content (ParseFile): SDK JSON,
// protobuf JSON of core.Secret, core.SecurityContext, core.TaskTemplate,
// task.TaskSpec or Flyte 1's admin.TaskSpec, binary protobuf of
// task.TaskSpec (admin.TaskSpec is the same bytes) or core.TaskTemplate,
// the Kubernetes downward-API annotations file with which Flyte marks a pod,
// and a downward-API item for one of those annotations (the bare value).
// Each parser returns Raw requests; Validate applies Flyte's rules to all of
// them at once and returns the Requests, or one *Error that lists every
// problem.
//
// The package is pure: it reads only the bytes it is given. It never sees a
// secret's value, and its errors name keys, groups and variables only, each
// quoted and cut short when it is long or unprintable.
//
// Every protobuf form is decoded by hand, for just the fields we read:
// protobuf JSON (protojson.go), the binary forms (proto.go, on the wire
// primitives of wire.go) and the text format of an annotation
// (prototext.go). Each takes what google.golang.org/protobuf takes, with
// DiscardUnknown, and reads it the same; the tests and fuzz targets compare
// them with the real library, which only the tests link. Linking it would
// cost every container start its package initialisation (about 110,000
// instructions for the binary and text forms, a compiled regexp for JSON),
// whether a spec is read or not.
//
// Where the contract is silent, the package decides so:
//
//   - SDK-shaped JSON refuses unknown fields and fields given twice, so that
//     a misspelt "as_env_var" or "mount" cannot quietly change a target. The
//     protobuf forms skip unknown fields, as protobuf JSON does, but a
//     mount_requirement name that is not ANY, ENV_VAR or FILE is an error
//     (protojson would quietly read it as ANY), and so is an enum number
//     other than 0, 1 or 2 (in Validate).
//   - In {"secrets": [...]} each element is read as a core.Secret when it
//     has a field only core.Secret has (mountRequirement, envVar,
//     groupVersion, or their snake_case names), and in the SDK's shape
//     otherwise; both kinds of field in one element is an error. Next to
//     "secrets", the other fields of a core.SecurityContext (runAs, tokens)
//     are skipped in a --spec file and refused in FLYTE_SECRETS.
//   - A JSON object with none of "key", "secrets", "securityContext",
//     "taskTemplate" nor any other core.TaskTemplate field is an error, not
//     "no secrets": {"secret": [...]} is a typo. {} is an empty template.
//   - A file that begins like JSON but is not JSON is reported as bad JSON,
//     unless it is a binary task spec (a TaskTemplate may begin with '"').
//     A file of plain text that happens to be well-formed wire format is
//     "not a recognized spec" rather than a message with no requests.
//   - In an annotations file every annotation whose name starts with
//     flyte.secrets/s is read, whatever follows (s0, s12, sx), as Flyte's
//     own unmarshaler reads them, and one whose value does not decode is an
//     error, as there. They are taken numbers first (by value), then the
//     other names in byte order. A line that is not name="value", a value
//     that is not a double-quoted Go string, or a name given twice is an
//     error.
//   - A file that is one word of letters, digits and "=" (after surrounding
//     whitespace, such as echo's newline, is dropped) is a bare annotation
//     value: what a downward-API item for
//     metadata.annotations['flyte.secrets/s0'] holds. It is tried after
//     JSON (so true, false, null and numbers stay JSON) and before binary
//     protobuf: a binary spec that holds a secret always has a byte below
//     0x20 (the tag of SecurityContext.secrets is 0x12). A value in the RFC
//     4648 alphabet, or padded, is reported as such.
//   - {"template": {...}} is Flyte 1's admin.TaskSpec; it is tried after
//     "taskTemplate" and "securityContext". Its binary form is field 1 for
//     the template, as in task.TaskSpec, and reads as one.
//   - --secret also takes as_env_var as another name for env; an empty
//     value for group, group_version, env or mount means the field is unset.
//   - The rule that a file request's key may not be another file request's
//     lower-cased group applies where the names would meet: a file without
//     a group (at the top of the mount) and a group directory.
//   - Key and group lengths are in bytes. A grouped file's names are also
//     checked once lower-cased, since lower-casing can lengthen a name.
package spec
