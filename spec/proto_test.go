package spec

import (
	"go/build"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// TestSchema checks the hand-encoded schema against the same schema written
// as a descriptorpb literal, and that protodesc finds it valid.
func TestSchema(t *testing.T) {
	str := func(f protoreflectField) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{
			Name:     proto.String(f.name),
			JsonName: proto.String(f.json),
			Number:   proto.Int32(f.number),
			Label:    f.label.Enum(),
			Type:     f.typ.Enum(),
			TypeName: f.typeName,
		}
	}
	opt, rep := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL, descriptorpb.FieldDescriptorProto_LABEL_REPEATED
	tString := descriptorpb.FieldDescriptorProto_TYPE_STRING
	tMessage := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	tEnum := descriptorpb.FieldDescriptorProto_TYPE_ENUM
	want := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("flyteentrypoint/spec/schema.proto"),
		Package: proto.String("flyteentrypoint.spec"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			{
				Name: proto.String("Secret"),
				Field: []*descriptorpb.FieldDescriptorProto{
					str(protoreflectField{"group", "group", 1, opt, tString, nil}),
					str(protoreflectField{"group_version", "groupVersion", 2, opt, tString, nil}),
					str(protoreflectField{"key", "key", 3, opt, tString, nil}),
					str(protoreflectField{"mount_requirement", "mountRequirement", 4, opt, tEnum, proto.String(".flyteentrypoint.spec.Secret.MountType")}),
					str(protoreflectField{"env_var", "envVar", 5, opt, tString, nil}),
				},
				EnumType: []*descriptorpb.EnumDescriptorProto{{
					Name: proto.String("MountType"),
					Value: []*descriptorpb.EnumValueDescriptorProto{
						{Name: proto.String("ANY"), Number: proto.Int32(0)},
						{Name: proto.String("ENV_VAR"), Number: proto.Int32(1)},
						{Name: proto.String("FILE"), Number: proto.Int32(2)},
					},
				}},
			},
			{
				Name:  proto.String("SecurityContext"),
				Field: []*descriptorpb.FieldDescriptorProto{str(protoreflectField{"secrets", "secrets", 2, rep, tMessage, proto.String(".flyteentrypoint.spec.Secret")})},
			},
			{
				Name:  proto.String("TaskTemplate"),
				Field: []*descriptorpb.FieldDescriptorProto{str(protoreflectField{"security_context", "securityContext", 8, opt, tMessage, proto.String(".flyteentrypoint.spec.SecurityContext")})},
			},
			{
				Name:  proto.String("TaskSpec"),
				Field: []*descriptorpb.FieldDescriptorProto{str(protoreflectField{"task_template", "taskTemplate", 1, opt, tMessage, proto.String(".flyteentrypoint.spec.TaskTemplate")})},
			},
			{
				Name:  proto.String("AdminTaskSpec"),
				Field: []*descriptorpb.FieldDescriptorProto{str(protoreflectField{"template", "template", 1, opt, tMessage, proto.String(".flyteentrypoint.spec.TaskTemplate")})},
			},
		},
	}

	var got descriptorpb.FileDescriptorProto
	require.NoError(t, proto.Unmarshal(schemaDescriptor(), &got))
	assert.True(t, proto.Equal(want, &got), "schema differs:\nwant %v\ngot  %v", want, &got)

	_, err := protodesc.NewFile(&got, new(protoregistry.Files))
	require.NoError(t, err, "protodesc must accept the schema")

	built := protodesc.ToFileDescriptorProto(schema().file)
	assert.True(t, proto.Equal(want, built), "built schema differs:\nwant %v\ngot  %v", want, built)

	_, err = protoregistry.GlobalFiles.FindFileByPath("flyteentrypoint/spec/schema.proto")
	assert.ErrorIs(t, err, protoregistry.NotFound, "the schema must not be registered globally")
}

type protoreflectField struct {
	name, json string
	number     int32
	label      descriptorpb.FieldDescriptorProto_Label
	typ        descriptorpb.FieldDescriptorProto_Type
	typeName   *string
}

func TestParseFileProto(t *testing.T) {
	const o = `spec "task.pb"`
	secrets := []pbSecret{
		{key: "openai-key", mount: 1, envVar: "OPENAI_API_KEY"},
		{group: "postgres", groupVersion: "v3", key: "db-password"},
		{group: "certs", key: "tls-cert", mount: 2, envVar: "TLS_CERT_PATH"},
	}
	wantRaws := []Raw{
		{Origin: o + " secret 1", Shape: ShapeCore, Key: "openai-key", MountRequirement: MountEnvVar, EnvVar: "OPENAI_API_KEY"},
		{Origin: o + " secret 2", Shape: ShapeCore, Key: "db-password", Group: "postgres", GroupVersion: "v3"},
		{Origin: o + " secret 3", Shape: ShapeCore, Key: "tls-cert", Group: "certs", MountRequirement: MountFile, EnvVar: "TLS_CERT_PATH"},
	}
	template := pbTaskTemplate(pbSecurityContext(secrets...))
	// Field 8 first, the way a TaskTemplate with no id, type or metadata
	// begins: with neither field 1 nor field 4 ('"') in front.
	var templateFirst []byte
	templateFirst = pbBytes(templateFirst, 8, pbSecurityContext(secrets[0]))
	templateFirst = pbString(templateFirst, 2, "python-task")
	// A TaskTemplate that begins with field 4 (interface): its first byte is '"'.
	quoteFirst := pbBytes(pbBytes(nil, 4, pbBytes(nil, 1, nil)), 8, pbSecurityContext(secrets[0]))
	require.Equal(t, byte('"'), quoteFirst[0])
	// A TaskSpec whose template comes in two parts, merged by protobuf.
	split := pbBytes(pbBytes(nil, 1, pbString(nil, 2, "python-task")), 1, pbBytes(nil, 8, pbSecurityContext(secrets[2])))
	// Unknown fields of every wire type around the secrets.
	unknown := appendUnknownScalars(nil)
	unknown = protowire.AppendTag(unknown, 96, protowire.StartGroupType)
	unknown = pbVarint(unknown, 1, 1)
	unknown = protowire.AppendTag(unknown, 96, protowire.EndGroupType)
	unknownSecret := append(pbSecret{key: "k", mount: 2}.bytes(), unknown...)
	withUnknown := pbTaskSpec(append(append([]byte(nil), unknown...), pbBytes(nil, 8, pbBytes(unknown, 2, unknownSecret))...))

	tests := []struct {
		name       string
		data       []byte
		want       []Raw
		wantFormat Format
		wantError  string
	}{
		{name: "TaskTemplate", data: template, want: wantRaws, wantFormat: FormatTaskTemplateProto},
		{name: "TaskSpec", data: pbTaskSpec(template), want: wantRaws, wantFormat: FormatTaskSpecProto},
		{
			// Flyte 1's admin.TaskSpec: template (1), description (2). Its
			// bytes read as a task.TaskSpec's, field 1 being the template in both.
			name:       "admin.TaskSpec",
			data:       pbBytes(pbTaskSpec(template), 2, pbString(nil, 2, "Trains the model.")),
			want:       wantRaws,
			wantFormat: FormatTaskSpecProto,
		},
		{
			name:       "TaskTemplate that begins with field 8",
			data:       templateFirst,
			want:       wantRaws[:1],
			wantFormat: FormatTaskTemplateProto,
		},
		{
			name:       `TaskTemplate whose first byte is '"'`,
			data:       quoteFirst,
			want:       wantRaws[:1],
			wantFormat: FormatTaskTemplateProto,
		},
		{
			name:       "TaskSpec with its template in two parts",
			data:       split,
			want:       []Raw{{Origin: o + " secret 1", Shape: ShapeCore, Key: "tls-cert", Group: "certs", MountRequirement: MountFile, EnvVar: "TLS_CERT_PATH"}},
			wantFormat: FormatTaskSpecProto,
		},
		{
			name:       "unknown fields of every wire type are skipped",
			data:       withUnknown,
			want:       []Raw{{Origin: o + " secret 1", Shape: ShapeCore, Key: "k", MountRequirement: MountFile}},
			wantFormat: FormatTaskSpecProto,
		},
		{
			name:       "an unknown mount requirement is kept for Validate",
			data:       pbBytes(nil, 8, pbSecurityContext(pbSecret{key: "k", mount: 9})),
			want:       []Raw{{Origin: o + " secret 1", Shape: ShapeCore, Key: "k", MountRequirement: 9}},
			wantFormat: FormatTaskTemplateProto,
		},
		{
			name:       "TaskTemplate without a security context",
			data:       pbTaskTemplate(nil),
			wantFormat: FormatProto,
		},
		{
			name:       "TaskSpec without a security context",
			data:       pbTaskSpec(pbTaskTemplate(nil)),
			wantFormat: FormatProto,
		},
		{
			name:       "security context without secrets",
			data:       pbTaskSpec(pbTaskTemplate(pbSecurityContext())),
			wantFormat: FormatTaskSpecProto,
		},
		{
			name:       "any other message",
			data:       pbVarint(pbString(nil, 3, "hello"), 5, 1),
			wantFormat: FormatProto,
		},
		{
			name:      "truncated",
			data:      pbTaskSpec(template)[:40],
			wantError: o + ": not JSON, not a downward-API annotations file, and not well-formed binary protobuf: at byte 0, field 1: the data ends inside its value",
		},
		{
			name:      "malformed secret",
			data:      pbBytes(nil, 8, pbBytes(nil, 2, []byte{0x1a, 0x05, 'a'})),
			wantError: o + ": binary core.TaskTemplate: at byte 4, field 3 (core.Secret.key): the data ends inside its value",
		},
		{
			name:      "field 8 of the wrong wire type inside a TaskSpec",
			data:      pbTaskSpec(pbBytes(nil, 8, []byte{0xff})),
			wantError: o + ": binary task.TaskSpec: at byte 4 in a core.SecurityContext: the data ends inside a field's tag",
		},
		{
			name:      "invalid UTF-8 in a key",
			data:      pbBytes(nil, 8, pbSecurityContext(pbSecret{key: "a\xffb"})),
			wantError: o + ": binary core.TaskTemplate: at byte 19, field 3 (core.Secret.key): the string is not valid UTF-8",
		},
		{
			name:      "a stray end group",
			data:      []byte("hello world\n"),
			wantError: o + ": not JSON, not a downward-API annotations file, and not well-formed binary protobuf: at byte 2, field 13: an end-group marker that closes no group of this field",
		},
		{
			name:      "bytes that are no message",
			data:      []byte{0xff, 0xff, 0xff},
			wantError: o + ": not JSON, not a downward-API annotations file, and not well-formed binary protobuf: at byte 0: the data ends inside a field's tag",
		},
		{
			name:      "text that happens to be wire format",
			data:      []byte("h1-h2h3"), // field 13, a varint; field 5, a fixed32 ("-" keeps it from being one bare word)
			wantError: o + `: not a recognized spec: not JSON, not a downward-API annotations file (name="value" lines), and not a binary task.TaskSpec or core.TaskTemplate`,
		},
		{
			name:      "text that begins like JSON",
			data:      []byte(`{"key": "a"`),
			wantError: o + ": invalid JSON at byte 11: unexpected end of JSON input",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, format, err := ParseFile("task.pb", tt.data)
			if tt.wantError != "" {
				require.Error(t, err)
				assert.Equal(t, tt.wantError, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantFormat, format)
			if len(tt.want) == 0 {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestNoProtobufRuntime checks that the package, tests aside, imports
// nothing but the standard library: above all no google.golang.org/protobuf
// package, whose package initialisation every container start would pay.
// (Until the hand decoders, a test checked that the schema was built only
// for a protobuf spec; now there is none to build.)
func TestNoProtobufRuntime(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	require.NoError(t, err)
	require.NotEmpty(t, pkg.Imports)
	for _, path := range pkg.Imports {
		assert.False(t, strings.HasPrefix(path, "google.golang.org/protobuf"), "spec imports %s", path)
		first, _, _ := strings.Cut(path, "/")
		assert.NotContains(t, first, ".", "spec imports %s, which is not in the standard library", path)
	}
}
