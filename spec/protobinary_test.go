package spec

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// The hand decoder of the binary forms (proto.go, wire.go) is checked
// against the real library, which only the tests link: proto.Unmarshal
// with DiscardUnknown against the same schema, and the protowire functions
// that parseProto used to detect the format. For every input, both accept
// or both refuse, and what both accept gives the same requests. Only the
// texts of errors differ, on purpose.

var binaryKinds = []msgKind{msgSecret, msgSecurityContext, msgTaskTemplate, msgTaskSpec, msgAdminTaskSpec}

// libraryBinary decodes data as a message of kind with proto.Unmarshal, as
// parseProto did before the hand decoder.
func libraryBinary(kind msgKind, data []byte) ([]Raw, error) {
	s := schema()
	m := s.newMessage(kind)
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, m); err != nil {
		return nil, err
	}
	return s.raws("o", kind, m), nil
}

// libraryScan is scanProto as it was, on protowire.
func libraryScan(b []byte, fn func(protowire.Number, []byte)) error {
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

// libraryParseProto is parseProto as it was: the same detection, on
// protowire, and the same limit, then proto.Unmarshal.
func libraryParseProto(data []byte) ([]Raw, Format, error) {
	var template bool
	var field1 [][]byte
	if err := libraryScan(data, func(n protowire.Number, v []byte) {
		switch n {
		case fieldTaskTemplateSecurityContext:
			template = true
		case fieldTaskSpecTaskTemplate:
			field1 = append(field1, v)
		}
	}); err != nil {
		return nil, 0, err
	}
	kind, format := msgTaskTemplate, FormatTaskTemplateProto
	if !template {
		for _, v := range field1 {
			if libraryScan(v, func(n protowire.Number, _ []byte) {
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
	if n := libraryCountSecrets(data, kind); n > MaxRequests {
		return nil, 0, tooMany("o", n)
	}
	raws, err := libraryBinary(kind, data)
	return raws, format, err
}

// libraryCountSecrets is countProtoSecrets as it was, on protowire.
func libraryCountSecrets(data []byte, kind msgKind) int {
	n := 0
	each := func(b []byte, field protowire.Number, fn func([]byte)) {
		_ = libraryScan(b, func(num protowire.Number, v []byte) {
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

// compareBinary checks the hand decoder against the library on data: as
// every message of the schema, through parseProto, and its wire primitives
// at the first byte.
func compareBinary(t *testing.T, data []byte) {
	t.Helper()
	for _, kind := range binaryKinds {
		theirs, theirErr := libraryBinary(kind, data)
		ours, ourErr := decodeBinary("o", kind, data)
		if theirErr != nil {
			require.Error(t, ourErr, "proto.Unmarshal refuses %x as %s (%v); so must we", data, msgNames[kind], theirErr)
			continue
		}
		require.NoError(t, ourErr, "proto.Unmarshal reads %x as %s", data, msgNames[kind])
		if len(theirs) != 0 || len(ours) != 0 {
			require.Equal(t, theirs, ours, "%x as %s", data, msgNames[kind])
		}
	}

	theirs, theirFormat, theirErr := libraryParseProto(data)
	ours, ourFormat, ourErr := parseProto("o", data)
	if theirErr != nil {
		require.Error(t, ourErr, "the library refuses %x (%v); so must parseProto", data, theirErr)
	} else {
		require.NoError(t, ourErr, "the library reads %x", data)
		require.Equal(t, theirFormat, ourFormat, "%x", data)
		if len(theirs) != 0 || len(ours) != 0 {
			require.Equal(t, theirs, ours, "%x", data)
		}
	}
	if ourErr != nil {
		requirePrintable(t, ourErr.Error())
	}

	comparePrimitives(t, data)
}

// comparePrimitives checks readVarint, readTag, readBytes and skipValue
// against protowire's functions on the start of b.
func comparePrimitives(t *testing.T, b []byte) {
	t.Helper()
	v, n := protowire.ConsumeVarint(b)
	ourV, next, fault := readVarint(b, 0)
	if n < 0 {
		require.NotZero(t, fault, "protowire refuses the varint %x", b)
	} else {
		require.Zero(t, fault, "protowire reads the varint %x", b)
		require.Equal(t, v, ourV)
		require.Equal(t, n, next)
	}

	_, n = protowire.ConsumeBytes(b)
	_, end, fault := readBytes(b, 0)
	if n < 0 {
		require.NotZero(t, fault, "protowire refuses the bytes %x", b)
	} else {
		require.Zero(t, fault, "protowire reads the bytes %x", b)
		require.Equal(t, n, end)
	}

	num, typ, n := protowire.ConsumeTag(b)
	ourNum, ourTyp, next, fault := readTag(b, 0)
	if n < 0 {
		require.NotZero(t, fault, "protowire refuses the tag %x", b)
		return
	}
	require.Zero(t, fault, "protowire reads the tag %x", b)
	require.Equal(t, int64(num), ourNum)
	require.Equal(t, int8(typ), int8(ourTyp))
	require.Equal(t, n, next)

	m := protowire.ConsumeFieldValue(num, typ, b[n:])
	end, _, _, fault = skipValue(b, 0, next, ourNum, ourTyp)
	if m < 0 {
		require.NotZero(t, fault, "protowire refuses the field %x", b)
	} else {
		require.Zero(t, fault, "protowire reads the field %x", b)
		require.Equal(t, n+m, end)
	}
}

// binarySeeds are real encodings of the schema's messages, as
// proto.Marshal writes them, and hand-made wire format around them:
// unknown fields of every wire type, groups, fields given twice, known
// fields of the wrong wire type, odd varints, and broken bytes.
func binarySeeds() [][]byte {
	s := schema()
	secret := func(group, groupVersion, key string, mount int32, envVar string) protoreflect.Message {
		m := s.newMessage(msgSecret)
		set := func(fd protoreflect.FieldDescriptor, v string) {
			if v != "" {
				m.Set(fd, protoreflect.ValueOfString(v))
			}
		}
		set(s.secretGroup, group)
		set(s.secretGroupVersion, groupVersion)
		set(s.secretKey, key)
		set(s.secretEnvVar, envVar)
		if mount != 0 {
			m.Set(s.secretMount, protoreflect.ValueOfEnum(protoreflect.EnumNumber(mount)))
		}
		return m
	}
	securityContext := func(secrets ...protoreflect.Message) *dynamicpb.Message {
		sc := s.newMessage(msgSecurityContext)
		list := sc.Mutable(s.securityContextSecrets).List()
		for _, m := range secrets {
			list.Append(protoreflect.ValueOfMessage(m))
		}
		return sc
	}
	template := func(sc *dynamicpb.Message) *dynamicpb.Message {
		m := s.newMessage(msgTaskTemplate)
		m.Set(s.taskTemplateSecurityContext, protoreflect.ValueOfMessage(sc))
		return m
	}
	taskSpec := func(tmpl *dynamicpb.Message) *dynamicpb.Message {
		m := s.newMessage(msgTaskSpec)
		m.Set(s.taskSpecTaskTemplate, protoreflect.ValueOfMessage(tmpl))
		return m
	}
	marshal := func(m proto.Message) []byte {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			panic(err)
		}
		return b
	}

	secrets := []protoreflect.Message{
		secret("", "", "openai-key", 1, "OPENAI_API_KEY"),
		secret("postgres", "v3", "db-password", 0, ""),
		secret("certs", "", "tls-cert", 2, "TLS_CERT_PATH"),
		secret("g", "", "é☃\U0001F600 \"quoted\"\x00\t", 7, ""),
		secret("", "", "negative", -1, ""),
		secret("", "", "min", math.MinInt32, "X"),
	}
	var seeds [][]byte
	add := func(b ...[]byte) { seeds = append(seeds, b...) }
	full := marshal(taskSpec(template(securityContext(secrets...))))
	add(
		nil,
		full,
		marshal(template(securityContext(secrets...))),
		marshal(securityContext(secrets[:3]...)),
		marshal(secrets[3].Interface()),
		marshal(taskSpec(template(securityContext()))),
		marshal(taskSpec(s.newMessage(msgTaskTemplate))),
		generatedFixtures()["tasktemplate.pb"],
		generatedFixtures()["taskspec.pb"],
		schemaDescriptor(), // a google.protobuf.FileDescriptorProto: fields we do not read, nested
	)
	// Every prefix of a real spec: most are cut short somewhere.
	for i := 1; i < len(full); i += 7 {
		add(full[:i])
	}

	// Unknown fields of every wire type, and groups, nested.
	unknown := appendUnknownScalars(nil)
	unknown = protowire.AppendTag(unknown, 96, protowire.StartGroupType)
	unknown = pbVarint(unknown, 1, 1)
	unknown = protowire.AppendTag(unknown, 95, protowire.StartGroupType)
	unknown = pbString(unknown, 2, "inner")
	unknown = protowire.AppendTag(unknown, 95, protowire.EndGroupType)
	unknown = protowire.AppendTag(unknown, 96, protowire.EndGroupType)
	unknown = pbBytes(unknown, protowire.MaxValidNumber, []byte("max"))
	unknownSecret := append(pbSecret{key: "k", mount: 2}.bytes(), unknown...)
	add(
		unknown,
		unknownSecret,
		pbTaskSpec(append(append([]byte(nil), unknown...), pbBytes(nil, 8, pbBytes(unknown, 2, unknownSecret))...)),
		pbBytes(unknown, 8, pbBytes(unknown, 2, unknownSecret)),
	)

	// Fields given twice: the last string wins, messages merge, secrets append.
	twice := pbSecret{key: "first", group: "g1", mount: 1}.bytes()
	twice = append(twice, pbSecret{key: "second", envVar: "E"}.bytes()...)
	twice = pbVarint(twice, 4, 2)
	add(
		twice,
		pbBytes(pbBytes(nil, 8, pbBytes(nil, 2, twice)), 8, pbBytes(pbBytes(nil, 2, pbSecret{key: "a"}.bytes()), 2, twice)),
		pbBytes(pbTaskSpec(pbBytes(nil, 8, pbBytes(nil, 2, twice))), 1, pbBytes(nil, 8, pbBytes(nil, 2, pbSecret{key: "b"}.bytes()))),
	)

	// Known fields of another wire type are unknown fields.
	var wrongType []byte
	wrongType = pbVarint(wrongType, 3, 5)                                // key as a varint
	wrongType = pbBytes(wrongType, 4, []byte{1})                         // mount_requirement as bytes
	wrongType = protowire.AppendTag(wrongType, 1, protowire.Fixed32Type) // group as fixed32
	wrongType = protowire.AppendFixed32(wrongType, 1)
	wrongType = protowire.AppendTag(wrongType, 5, protowire.StartGroupType) // env_var as a group
	wrongType = protowire.AppendTag(wrongType, 5, protowire.EndGroupType)
	add(
		wrongType,
		pbBytes(nil, 8, pbBytes(pbVarint(nil, 2, 1), 2, wrongType)),
		pbTaskSpec(pbVarint(nil, 8, 1)),
		pbVarint(pbTaskSpec(nil), 1, 3),
		append(protowire.AppendTag(nil, 8, protowire.StartGroupType), protowire.AppendTag(nil, 8, protowire.EndGroupType)...),
	)

	// Enum values beyond int32, and varints written long.
	add(
		pbVarint(nil, 4, 1<<32+2),
		pbVarint(nil, 4, math.MaxUint64),
		[]byte{0x20, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00},       // mount 1 in ten bytes
		[]byte{0x20, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02},       // an 11th bit-pair: overflow
		[]byte{0x20, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, // eleven bytes
		[]byte{0x9a, 0x80, 0x80, 0x00, 0x01, 'k'},                                      // key's tag in four bytes
	)

	// Broken bytes.
	add(
		[]byte{0x00},                               // field 0
		[]byte{0x02, 0x00},                         // field 0, length-delimited
		[]byte{0x1e},                               // wire type 6
		[]byte{0x1f},                               // wire type 7
		[]byte{0x1c},                               // a stray end group
		[]byte{0x1b, 0x24},                         // a group closed by another field's end
		[]byte{0x1b},                               // a group never closed
		[]byte{0x1a, 0x05, 'a'},                    // a string cut short
		[]byte{0x1a, 0x02, 0xc3, 0x28},             // invalid UTF-8
		[]byte{0x1a, 0x03, 0xed, 0xa0, 0x80},       // a surrogate in UTF-8
		[]byte{0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f}, // a length of 4 GB
		[]byte{0x25, 1, 2, 3},                      // a fixed32 cut short
		[]byte{0x21, 1, 2, 3, 4, 5, 6, 7},          // a fixed64 cut short
		protowire.AppendVarint(nil, uint64(protowire.MaxValidNumber+1)<<3),          // a field number above 2^29-1
		append(protowire.AppendVarint(nil, uint64(protowire.MaxValidNumber)<<3), 0), // 2^29-1 itself
		append(protowire.AppendVarint(nil, uint64(math.MaxInt32)<<3|2), 0),          // the largest number a tag carries
		append(protowire.AppendVarint(nil, uint64(math.MaxInt32+1)<<3|2), 0),        // one more
		[]byte("hello world\n"),
		[]byte("h1-h2h3"),
		[]byte{0xff, 0xff, 0xff},
	)
	// Groups whose inner tags carry numbers a message may not.
	big := protowire.AppendTag(nil, 7, protowire.StartGroupType)
	big = append(big, protowire.AppendVarint(nil, uint64(math.MaxInt32)<<3)...)
	big = append(big, 0)
	big = protowire.AppendTag(big, 7, protowire.EndGroupType)
	add(big, pbBytes(nil, 8, pbBytes(big, 2, append(append([]byte(nil), big...), pbSecret{key: "k"}.bytes()...))))
	return seeds
}

func TestProtoBinaryMatchesLibrary(t *testing.T) {
	for i, seed := range binarySeeds() {
		t.Run(fmt.Sprint(i), func(t *testing.T) { compareBinary(t, seed) })
	}
}

func FuzzProtoBinaryMatchesLibrary(f *testing.F) {
	for _, seed := range binarySeeds() {
		f.Add(seed)
	}
	f.Fuzz(compareBinary)
}

// nestedGroups is n groups of field 5, one in another.
func nestedGroups(n int) []byte {
	var b []byte
	for range n {
		b = protowire.AppendTag(b, 5, protowire.StartGroupType)
	}
	for range n {
		b = protowire.AppendTag(b, 5, protowire.EndGroupType)
	}
	return b
}

// The limit on nested groups is protowire's, to the group.
func TestGroupNesting(t *testing.T) {
	for _, n := range []int{1, 2, maxGroupNesting - 1, maxGroupNesting, maxGroupNesting + 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			data := nestedGroups(n)
			compareBinary(t, data)
			compareBinary(t, pbBytes(nil, 8, pbBytes(nil, 2, data)))
			_, err := decodeBinary("o", msgSecret, data)
			if n > maxGroupNesting {
				assert.EqualError(t, err, fmt.Sprintf("at byte %d, field 5 of a group in a core.Secret: groups nested more than 10001 deep", maxGroupNesting))
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

// TestProtoBinaryErrors pins the texts of the decoder's errors: what is
// wrong, and where, and never the content.
func TestProtoBinaryErrors(t *testing.T) {
	tests := []struct {
		name      string
		kind      msgKind
		data      []byte
		wantError string
	}{
		{"a string cut short", msgSecret, []byte{0x1a, 0x05, 'a'},
			"at byte 0, field 3 (core.Secret.key): the data ends inside its value"},
		{"invalid UTF-8", msgTaskTemplate, pbBytes(nil, 8, pbBytes(pbVarint(nil, 7, 1), 2, []byte{0x2a, 0x01, 0xff})),
			"at byte 6, field 5 (core.Secret.env_var): the string is not valid UTF-8"},
		{"a tag cut short", msgTaskSpec, pbTaskSpec([]byte{0xff}),
			"at byte 2 in a core.TaskTemplate: the data ends inside a field's tag"},
		{"field number 0", msgSecret, []byte{0x1a, 0x00, 0x02, 0x00},
			"at byte 2 in a core.Secret: a field's tag has a field number out of range (1 to 2147483647)"},
		{"a field number above 2^29-1", msgSecurityContext, protowire.AppendVarint(nil, uint64(protowire.MaxValidNumber+1)<<3),
			"at byte 0, field 536870912 of a core.SecurityContext: field numbers go up to 536870911"},
		{"a reserved wire type", msgSecret, []byte{0x1e},
			"at byte 0, field 3 (core.Secret.key): it has a reserved wire type (6 or 7)"},
		{"a stray end group", msgSecret, []byte{0x1c},
			"at byte 0, field 3 (core.Secret.key): an end-group marker that closes no group of this field"},
		{"a group closed by another field", msgSecret, []byte{0x1b, 0x0a, 0x00, 0x24},
			"at byte 3, field 4 of a group in a core.Secret: an end-group marker that closes no group of this field"},
		{"a group never closed", msgSecret, []byte{0x1b, 0x0a, 0x00},
			"at byte 3 in a group in a core.Secret: the data ends inside a field's tag"},
		{"an overlong varint", msgSecret, []byte{0x20, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02},
			"at byte 0, field 4 (core.Secret.mount_requirement): its value is a varint longer than 64 bits"},
		{"a fixed64 cut short", msgSecret, []byte{0x21, 1, 2, 3},
			"at byte 0, field 4 (core.Secret.mount_requirement): the data ends inside its value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeBinary("o", tt.kind, tt.data)
			require.Error(t, err)
			assert.Equal(t, tt.wantError, err.Error())
			_, libErr := libraryBinary(tt.kind, tt.data)
			assert.Error(t, libErr, "the library must refuse it too")
		})
	}
}

// An error never shows the bytes of a string, even when it is the string
// that is at fault.
func TestProtoBinaryErrorsHideContent(t *testing.T) {
	for _, data := range [][]byte{
		pbBytes(nil, 8, pbBytes(nil, 2, pbString(nil, 3, "hunter2\xff"))),
		pbBytes(nil, 8, pbBytes(nil, 2, append(pbString(nil, 3, "hunter2"), 0x2a, 0x09, 'h', 'u', 'n'))),
	} {
		_, _, err := ParseFile("task.pb", data)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "hunter")
		assert.False(t, bytes.Contains([]byte(err.Error()), []byte("hun")), err.Error())
	}
}
