package spec

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// The binary forms, task.TaskSpec (admin.TaskSpec is the same bytes) and
// core.TaskTemplate, are read here by hand, with the semantics of proto3 and
// of google.golang.org/protobuf's proto.Unmarshal with DiscardUnknown, for
// the only fields we read:
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
// That is: the last value of a string or of the enum wins; a message field
// seen twice is merged, so every secret of every part is kept, in order;
// a field we do not read, or a known field of another wire type, is
// skipped; a string must be valid UTF-8; the enum is an int32 (a bigger
// varint keeps its low 32 bits); and malformed bytes, a field number of 0
// or above 2^29-1, or a value cut short are errors. The real library reads
// the same (the tests compare them on every input the fuzzer finds), but
// linking it costs every container start about 110,000 instructions of
// package initialisation, whether a spec is read or not.

// Field numbers, as in flyteidl.
const (
	fieldTaskSpecTaskTemplate        = 1 // admin.TaskSpec.template too
	fieldTaskTemplateSecurityContext = 8
	fieldSecurityContextSecrets      = 2
	fieldSecretGroup                 = 1
	fieldSecretGroupVersion          = 2
	fieldSecretKey                   = 3
	fieldSecretMountRequirement      = 4
	fieldSecretEnvVar                = 5
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

// parseProto reads binary protobuf: a task.TaskSpec or a core.TaskTemplate.
// Both begin with field 1, so: field 8 at the top level makes a
// TaskTemplate; else a field 1 that holds a message with field 8 makes a
// TaskSpec; any other well-formed message holds no requests
// (FormatProto).
func parseProto(origin string, data []byte) ([]Raw, Format, error) {
	var template bool
	var field1 [][]byte
	err := scanProto(data, func(n int64, v []byte) {
		switch n {
		case fieldTaskTemplateSecurityContext:
			template = true
		case fieldTaskSpecTaskTemplate:
			field1 = append(field1, v)
		}
	})
	if err != nil {
		return nil, 0, fmt.Errorf("%s: not JSON, not a downward-API annotations file, and not well-formed binary protobuf: %v", origin, err)
	}
	kind, format := msgTaskTemplate, FormatTaskTemplateProto
	if !template {
		for _, v := range field1 {
			if scanProto(v, func(n int64, _ []byte) {
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
	raws, err := decodeBinary(origin, kind, data)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: binary %s: %v", origin, msgNames[kind], err)
	}
	return raws, format, nil
}

// decodeBinary reads data, a binary message of kind, and returns the
// requests it holds: the message itself for a Secret, else the secrets of
// its security context. origin names the Secret, or the file whose secrets
// are counted from 1.
func decodeBinary(origin string, kind msgKind, data []byte) ([]Raw, error) {
	d := binaryDecoder{data: data}
	if kind == msgSecret {
		d.secrets = []Raw{{Origin: origin, Shape: ShapeCore}}
	}
	if err := d.message(kind, 0, len(data)); err != nil {
		return nil, err
	}
	if kind != msgSecret {
		for i := range d.secrets {
			d.secrets[i].Origin = origin + " secret " + strconv.Itoa(i+1)
		}
	}
	return d.secrets, nil
}

// binaryDecoder collects the secrets of one binary message, in the order in
// which they come. The secret being read is always the last one.
type binaryDecoder struct {
	data    []byte
	secrets []Raw
}

// schemaField is what a field of the schema holds.
type schemaField int

const (
	unknownField schemaField = iota // skipped
	messageField
	stringField
	enumField
)

// lookupField returns what field num of a message of kind holds, the
// message kind of a message field, and the field's name.
func lookupField(kind msgKind, num int64) (schemaField, msgKind, string) {
	switch {
	case (kind == msgTaskSpec || kind == msgAdminTaskSpec) && num == fieldTaskSpecTaskTemplate:
		if kind == msgAdminTaskSpec {
			return messageField, msgTaskTemplate, "template"
		}
		return messageField, msgTaskTemplate, "task_template"
	case kind == msgTaskTemplate && num == fieldTaskTemplateSecurityContext:
		return messageField, msgSecurityContext, "security_context"
	case kind == msgSecurityContext && num == fieldSecurityContextSecrets:
		return messageField, msgSecret, "secrets"
	case kind != msgSecret:
		return unknownField, 0, ""
	}
	switch num {
	case fieldSecretGroup:
		return stringField, 0, "group"
	case fieldSecretGroupVersion:
		return stringField, 0, "group_version"
	case fieldSecretKey:
		return stringField, 0, "key"
	case fieldSecretMountRequirement:
		return enumField, 0, "mount_requirement"
	case fieldSecretEnvVar:
		return stringField, 0, "env_var"
	}
	return unknownField, 0, ""
}

// message reads the fields of a message of kind in d.data[start:end].
func (d *binaryDecoder) message(kind msgKind, start, end int) error {
	b := d.data[:end] // offsets stay those of the whole input
	for i := start; i < end; {
		at := i
		num, typ, next, fault := readTag(b, i)
		if fault != 0 {
			return &wireError{off: at, msg: msgNames[kind], what: tagFault(fault)}
		}
		msg := msgNames[kind]
		if num > maxFieldNumber {
			return &wireError{off: at, num: num, msg: msg, what: fmt.Sprintf("field numbers go up to %d", maxFieldNumber)}
		}
		field, sub, name := lookupField(kind, num)
		switch {
		case field == messageField && typ == wireBytes:
			vstart, vend, fault := readBytes(b, next)
			if fault != 0 {
				return &wireError{off: at, num: num, msg: msg, field: name, what: fault.String()}
			}
			if sub == msgSecret {
				d.secrets = append(d.secrets, Raw{Shape: ShapeCore})
			}
			if err := d.message(sub, vstart, vend); err != nil {
				return err
			}
			i = vend
		case field == stringField && typ == wireBytes:
			vstart, vend, fault := readBytes(b, next)
			if fault != 0 {
				return &wireError{off: at, num: num, msg: msg, field: name, what: fault.String()}
			}
			v := b[vstart:vend]
			if !utf8.Valid(v) {
				return &wireError{off: at, num: num, msg: msg, field: name, what: "the string is not valid UTF-8"}
			}
			d.setString(num, string(v))
			i = vend
		case field == enumField && typ == wireVarint:
			v, vend, fault := readVarint(b, next)
			if fault != 0 {
				return &wireError{off: at, num: num, msg: msg, field: name, what: fault.String()}
			}
			// The enum is an int32: a bigger varint keeps its low 32 bits,
			// as protobuf's decoders keep them.
			d.secrets[len(d.secrets)-1].MountRequirement = MountRequirement(int32(v))
			i = vend
		default:
			// Not a field we read, or one of another wire type: skipped.
			vend, faultAt, faultNum, fault := skipValue(b, at, next, num, typ)
			if fault != 0 {
				return valueFault(at, faultAt, faultNum, msg, name, fault)
			}
			i = vend
		}
	}
	return nil
}

// setString sets string field num of the secret being read.
func (d *binaryDecoder) setString(num int64, v string) {
	s := &d.secrets[len(d.secrets)-1]
	switch num {
	case fieldSecretGroup:
		s.Group = v
	case fieldSecretGroupVersion:
		s.GroupVersion = v
	case fieldSecretKey:
		s.Key = v
	case fieldSecretEnvVar:
		s.EnvVar = v
	}
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
