package spec

import (
	"strconv"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/runtime/protoimpl"
	"google.golang.org/protobuf/types/dynamicpb"
)

// The schema against which the tests decode with the real protobuf library,
// to check the hand decoders (proto.go, prototext.go) against it: Flyte's
// messages with only the fields we read, and Flyte's field numbers. Every
// other field of a real task spec is an unknown field, and skipped.
//
//	syntax = "proto3";
//	package flyteentrypoint.spec;
//
//	message Secret {
//	  enum MountType { ANY = 0; ENV_VAR = 1; FILE = 2; }
//	  string group = 1;
//	  string group_version = 2;
//	  string key = 3;
//	  MountType mount_requirement = 4;
//	  string env_var = 5;
//	}
//	message SecurityContext { repeated Secret secrets = 2; }
//	message TaskTemplate { SecurityContext security_context = 8; }
//	message TaskSpec { TaskTemplate task_template = 1; }
//	message AdminTaskSpec { TaskTemplate template = 1; } // Flyte 1's admin.TaskSpec
//
// Until the hand decoders replaced it, the binary itself decoded with this
// schema; it was built the way generated code builds its descriptors
// (protoimpl.DescBuilder from a wire-encoded FileDescriptorProto) and
// registered nowhere but in its own registry, and it still is, so that the
// tests compare with the library exactly as the binary used it. TestSchema
// checks it against the same schema written as a descriptorpb literal.

// Where the schema lives. It is registered nowhere but in its own registry.
const (
	schemaPackage   = "flyteentrypoint.spec"
	schemaFile      = "flyteentrypoint/spec/schema.proto"
	schemaGoPackage = "github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// Field numbers and values of google/protobuf/descriptor.proto, for writing
// the schema's FileDescriptorProto.
const (
	descFileName    protowire.Number = 1
	descFilePackage protowire.Number = 2
	descFileMessage protowire.Number = 4
	descFileSyntax  protowire.Number = 12

	descMsgName  protowire.Number = 1
	descMsgField protowire.Number = 2
	descMsgEnum  protowire.Number = 4

	descFieldName     protowire.Number = 1
	descFieldNumber   protowire.Number = 3
	descFieldLabel    protowire.Number = 4
	descFieldType     protowire.Number = 5
	descFieldTypeName protowire.Number = 6
	descFieldJSON     protowire.Number = 10

	descEnumName        protowire.Number = 1
	descEnumValue       protowire.Number = 2
	descEnumValueName   protowire.Number = 1
	descEnumValueNumber protowire.Number = 2

	labelOptional = 1
	labelRepeated = 3

	typeString  = 9
	typeMessage = 11
	typeEnum    = 14
)

// protoSchema holds the built descriptors.
type protoSchema struct {
	file protoreflect.FileDescriptor
	msgs [5]protoreflect.MessageDescriptor

	secretGroup, secretGroupVersion, secretKey protoreflect.FieldDescriptor
	secretMount, secretEnvVar                  protoreflect.FieldDescriptor
	securityContextSecrets                     protoreflect.FieldDescriptor
	taskTemplateSecurityContext                protoreflect.FieldDescriptor
	taskSpecTaskTemplate                       protoreflect.FieldDescriptor
	adminTaskSpecTemplate                      protoreflect.FieldDescriptor
}

// schema builds the descriptors once, on first use.
var schema = sync.OnceValue(buildSchema)

func buildSchema() *protoSchema {
	out := protoimpl.DescBuilder{
		GoPackagePath: schemaGoPackage,
		RawDescriptor: schemaDescriptor(),
		FileRegistry:  new(protoregistry.Files), // ours alone: nothing global is registered
	}.Build()
	s := &protoSchema{file: out.File}
	msgs := out.File.Messages()
	s.msgs[msgSecret] = msgs.ByName("Secret")
	s.msgs[msgSecurityContext] = msgs.ByName("SecurityContext")
	s.msgs[msgTaskTemplate] = msgs.ByName("TaskTemplate")
	s.msgs[msgTaskSpec] = msgs.ByName("TaskSpec")
	s.msgs[msgAdminTaskSpec] = msgs.ByName("AdminTaskSpec")
	secret := s.msgs[msgSecret].Fields()
	s.secretGroup = secret.ByNumber(fieldSecretGroup)
	s.secretGroupVersion = secret.ByNumber(fieldSecretGroupVersion)
	s.secretKey = secret.ByNumber(fieldSecretKey)
	s.secretMount = secret.ByNumber(fieldSecretMountRequirement)
	s.secretEnvVar = secret.ByNumber(fieldSecretEnvVar)
	s.securityContextSecrets = s.msgs[msgSecurityContext].Fields().ByNumber(fieldSecurityContextSecrets)
	s.taskTemplateSecurityContext = s.msgs[msgTaskTemplate].Fields().ByNumber(fieldTaskTemplateSecurityContext)
	s.taskSpecTaskTemplate = s.msgs[msgTaskSpec].Fields().ByNumber(fieldTaskSpecTaskTemplate)
	s.adminTaskSpecTemplate = s.msgs[msgAdminTaskSpec].Fields().ByNumber(fieldTaskSpecTaskTemplate)
	return s
}

// schemaDescriptor is the schema above as a wire-encoded
// google.protobuf.FileDescriptorProto.
func schemaDescriptor() []byte {
	str := func(b []byte, n protowire.Number, s string) []byte {
		return protowire.AppendString(protowire.AppendTag(b, n, protowire.BytesType), s)
	}
	sub := func(b []byte, n protowire.Number, m []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, n, protowire.BytesType), m)
	}
	num := func(b []byte, n protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(b, n, protowire.VarintType), v)
	}
	field := func(name, jsonName string, number protowire.Number, label, typ uint64, typeName string) []byte {
		var f []byte
		f = str(f, descFieldName, name)
		f = num(f, descFieldNumber, uint64(number))
		f = num(f, descFieldLabel, label)
		f = num(f, descFieldType, typ)
		if typeName != "" {
			f = str(f, descFieldTypeName, "."+schemaPackage+"."+typeName)
		}
		return str(f, descFieldJSON, jsonName)
	}
	message := func(name string, parts ...[]byte) []byte {
		m := str(nil, descMsgName, name)
		for _, p := range parts {
			m = append(m, p...)
		}
		return m
	}
	enumValue := func(name string, number uint64) []byte {
		return num(str(nil, descEnumValueName, name), descEnumValueNumber, number)
	}

	var mountType []byte
	mountType = str(mountType, descEnumName, "MountType")
	mountType = sub(mountType, descEnumValue, enumValue("ANY", 0))
	mountType = sub(mountType, descEnumValue, enumValue("ENV_VAR", 1))
	mountType = sub(mountType, descEnumValue, enumValue("FILE", 2))

	secret := message("Secret",
		sub(nil, descMsgField, field("group", "group", fieldSecretGroup, labelOptional, typeString, "")),
		sub(nil, descMsgField, field("group_version", "groupVersion", fieldSecretGroupVersion, labelOptional, typeString, "")),
		sub(nil, descMsgField, field("key", "key", fieldSecretKey, labelOptional, typeString, "")),
		sub(nil, descMsgField, field("mount_requirement", "mountRequirement", fieldSecretMountRequirement, labelOptional, typeEnum, "Secret.MountType")),
		sub(nil, descMsgField, field("env_var", "envVar", fieldSecretEnvVar, labelOptional, typeString, "")),
		sub(nil, descMsgEnum, mountType),
	)
	securityContext := message("SecurityContext",
		sub(nil, descMsgField, field("secrets", "secrets", fieldSecurityContextSecrets, labelRepeated, typeMessage, "Secret")))
	taskTemplate := message("TaskTemplate",
		sub(nil, descMsgField, field("security_context", "securityContext", fieldTaskTemplateSecurityContext, labelOptional, typeMessage, "SecurityContext")))
	taskSpec := message("TaskSpec",
		sub(nil, descMsgField, field("task_template", "taskTemplate", fieldTaskSpecTaskTemplate, labelOptional, typeMessage, "TaskTemplate")))
	adminTaskSpec := message("AdminTaskSpec",
		sub(nil, descMsgField, field("template", "template", fieldTaskSpecTaskTemplate, labelOptional, typeMessage, "TaskTemplate")))

	var file []byte
	file = str(file, descFileName, schemaFile)
	file = str(file, descFilePackage, schemaPackage)
	file = sub(file, descFileMessage, secret)
	file = sub(file, descFileMessage, securityContext)
	file = sub(file, descFileMessage, taskTemplate)
	file = sub(file, descFileMessage, taskSpec)
	file = sub(file, descFileMessage, adminTaskSpec)
	return str(file, descFileSyntax, "proto3")
}

// newMessage returns an empty message of the given kind.
func (s *protoSchema) newMessage(kind msgKind) *dynamicpb.Message {
	return dynamicpb.NewMessage(s.msgs[kind])
}

// raws returns the requests that a decoded message holds: the message itself
// for a Secret, else the secrets of its security context. origin names the
// Secret, or the file whose secrets are counted from 1.
func (s *protoSchema) raws(origin string, kind msgKind, m protoreflect.Message) []Raw {
	switch kind {
	case msgSecret:
		return []Raw{s.raw(origin, m)}
	case msgTaskSpec, msgAdminTaskSpec:
		f := s.taskSpecTaskTemplate
		if kind == msgAdminTaskSpec {
			f = s.adminTaskSpecTemplate
		}
		m = m.Get(f).Message()
		fallthrough
	case msgTaskTemplate:
		m = m.Get(s.taskTemplateSecurityContext).Message()
	}
	list := m.Get(s.securityContextSecrets).List()
	raws := make([]Raw, list.Len())
	for i := range raws {
		raws[i] = s.raw(origin+" secret "+strconv.Itoa(i+1), list.Get(i).Message())
	}
	return raws
}

// raw reads one core.Secret.
func (s *protoSchema) raw(origin string, m protoreflect.Message) Raw {
	return Raw{
		Origin:           origin,
		Shape:            ShapeCore,
		Key:              m.Get(s.secretKey).String(),
		Group:            m.Get(s.secretGroup).String(),
		GroupVersion:     m.Get(s.secretGroupVersion).String(),
		MountRequirement: MountRequirement(m.Get(s.secretMount).Enum()),
		EnvVar:           m.Get(s.secretEnvVar).String(),
	}
}
