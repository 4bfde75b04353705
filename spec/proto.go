package spec

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/runtime/protoimpl"
	"google.golang.org/protobuf/types/dynamicpb"
)

// The protobuf forms are read against this schema: Flyte's messages with
// only the fields we read, and Flyte's field numbers. Every other field of
// a real task spec is an unknown field, and skipped.
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
// It is built on first use, never at init, so that a run that reads no
// protobuf pays nothing for it. It is built the way generated code builds
// its descriptors (protoimpl.DescBuilder from a wire-encoded
// FileDescriptorProto), which keeps descriptorpb and protodesc, and their
// package initialisation, out of the binary. The tests check the result
// against the same schema written as a descriptorpb literal.

// Field numbers, as in flyteidl.
const (
	fieldTaskSpecTaskTemplate        protowire.Number = 1 // admin.TaskSpec.template too
	fieldTaskTemplateSecurityContext protowire.Number = 8
	fieldSecurityContextSecrets      protowire.Number = 2
	fieldSecretGroup                 protowire.Number = 1
	fieldSecretGroupVersion          protowire.Number = 2
	fieldSecretKey                   protowire.Number = 3
	fieldSecretMountRequirement      protowire.Number = 4
	fieldSecretEnvVar                protowire.Number = 5
)

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

// msgKind names one message of the schema.
type msgKind int

const (
	msgSecret msgKind = iota
	msgSecurityContext
	msgTaskTemplate
	msgTaskSpec
	msgAdminTaskSpec
)

var msgNames = [...]string{
	msgSecret:          "core.Secret",
	msgSecurityContext: "core.SecurityContext",
	msgTaskTemplate:    "core.TaskTemplate",
	msgTaskSpec:        "task.TaskSpec",
	msgAdminTaskSpec:   "admin.TaskSpec",
}

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

// schema builds the descriptors once, on first use. schemaBuilt lets a
// test check that a run without protobuf never builds them.
var (
	schema = sync.OnceValue(func() *protoSchema {
		schemaBuilt.Store(true)
		return buildSchema()
	})
	schemaBuilt atomic.Bool
)

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

// parseProto reads binary protobuf: a task.TaskSpec or a core.TaskTemplate.
// Both begin with field 1, so: field 8 at the top level makes a
// TaskTemplate; else a field 1 that holds a message with field 8 makes a
// TaskSpec; any other well-formed message holds no requests
// (FormatProto).
func parseProto(origin string, data []byte) ([]Raw, Format, error) {
	var template bool
	var field1 [][]byte
	err := scanProto(data, func(n protowire.Number, v []byte) {
		switch n {
		case fieldTaskTemplateSecurityContext:
			template = true
		case fieldTaskSpecTaskTemplate:
			field1 = append(field1, v)
		}
	})
	if err != nil {
		return nil, 0, fmt.Errorf("%s: not JSON, not a downward-API annotations file, and not well-formed binary protobuf: %s", origin, trimErr(err))
	}
	kind, format := msgTaskTemplate, FormatTaskTemplateProto
	if !template {
		for _, v := range field1 {
			if scanProto(v, func(n protowire.Number, _ []byte) {
				template = template || n == fieldTaskTemplateSecurityContext
			}) != nil {
				template = false
				continue
			}
			if template {
				break
			}
		}
		if !template {
			return nil, FormatProto, nil
		}
		kind, format = msgTaskSpec, FormatTaskSpecProto
	}
	if n := countProtoSecrets(data, kind); n > MaxRequests {
		return nil, 0, tooMany(origin, n)
	}
	s := schema()
	m := s.newMessage(kind)
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, m); err != nil {
		return nil, 0, fmt.Errorf("%s: binary %s: %s", origin, msgNames[kind], trimErr(err))
	}
	return s.raws(origin, kind, m), format, nil
}

// scanProto walks the top-level fields of a wire-format message and calls
// fn with each length-delimited one. It fails on malformed bytes.
func scanProto(b []byte, fn func(protowire.Number, []byte)) error {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return protowire.ParseError(l)
		}
		if typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b)
			fn(n, v)
		}
		b = b[l:]
	}
	return nil
}

// looksLikeText reports whether data is UTF-8 text with no control
// character but tabs and line ends. A real binary task spec has length and
// tag bytes below 0x20; a text file that happens to be well-formed wire
// format (a stray YAML spec, say) is not a protobuf message.
func looksLikeText(data []byte) bool {
	if !utf8.Valid(data) {
		return false
	}
	for _, c := range data {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return false
		}
	}
	return true
}
