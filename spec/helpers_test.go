package spec

import (
	"encoding/base32"

	"google.golang.org/protobuf/encoding/protowire"
)

// Binary protobuf for tests, written field by field with protowire from
// flyteidl's field numbers, independently of the decoder's schema: if the
// schema had a wrong number, these tests would fail.

// pbSecret is a wire-encoded core.Secret. Empty strings and mount 0 are left
// out, as a protobuf encoder leaves them out.
type pbSecret struct {
	group, groupVersion, key string
	mount                    uint64
	envVar                   string
}

func (s pbSecret) bytes() []byte {
	var b []byte
	b = pbString(b, 1, s.group)
	b = pbString(b, 2, s.groupVersion)
	b = pbString(b, 3, s.key)
	if s.mount != 0 {
		b = protowire.AppendTag(b, 4, protowire.VarintType)
		b = protowire.AppendVarint(b, s.mount)
	}
	return pbString(b, 5, s.envVar)
}

func pbString(b []byte, n protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func pbBytes(b []byte, n protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func pbVarint(b []byte, n protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, n, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// pbSecurityContext is a core.SecurityContext: run_as (1) with a service
// account, then the secrets (2), then a token (3) we do not read.
func pbSecurityContext(secrets ...pbSecret) []byte {
	var b []byte
	b = pbBytes(b, 1, pbString(nil, 2, "task-runner")) // run_as.k8s_service_account
	for _, s := range secrets {
		b = pbBytes(b, 2, s.bytes())
	}
	return pbBytes(b, 3, pbString(nil, 1, "oauth-token")) // tokens[0].name
}

// pbTaskTemplate is a core.TaskTemplate with the fields a real one has
// around the security context: id (1), type (2), metadata (3), container
// (6), task_type_version (7), security_context (8), config (16).
func pbTaskTemplate(securityContext []byte) []byte {
	var id []byte
	id = pbVarint(id, 1, 1) // resource_type TASK
	id = pbString(id, 2, "flytesnacks")
	id = pbString(id, 3, "development")
	id = pbString(id, 4, "workflows.example.train")
	id = pbString(id, 5, "v1")
	var metadata []byte
	metadata = pbBytes(metadata, 2, pbString(nil, 2, "1.13.0")) // runtime.version
	metadata = pbVarint(metadata, 8, 1)                         // interruptible
	var container []byte
	container = pbString(container, 1, "ghcr.io/example/train:v1")
	container = pbString(container, 3, "pyflyte-execute")
	container = pbString(container, 3, "--inputs")

	var b []byte
	b = pbBytes(b, 1, id)
	b = pbString(b, 2, "python-task")
	b = pbBytes(b, 3, metadata)
	b = pbBytes(b, 6, container)
	b = pbVarint(b, 7, 0)
	if securityContext != nil {
		b = pbBytes(b, 8, securityContext)
	}
	// config: map<string, string>, one entry.
	return pbBytes(b, 16, pbString(pbString(nil, 1, "mode"), 2, "fast"))
}

// pbTaskSpec is a task.TaskSpec holding the template in field 1.
func pbTaskSpec(template []byte) []byte {
	return pbBytes(nil, 1, template)
}

// testEncoding is Flyte's base32 for annotation values, written here again
// so that the test does not lean on the code it tests.
func testEncoding() *base32.Encoding {
	return base32.NewEncoding("abcdefghijklmnopqrstuvwxyz123456").WithPadding(base32.NoPadding)
}

func annotationValue(text string) string {
	return testEncoding().EncodeToString([]byte(text))
}

// appendUnknownScalars appends unknown fields of the varint, fixed32 and
// fixed64 wire types (99, 98, 97), which every decoder must skip.
func appendUnknownScalars(b []byte) []byte {
	b = pbVarint(b, 99, 12345)
	b = protowire.AppendTag(b, 98, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, 7)
	b = protowire.AppendTag(b, 97, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, 7)
}
