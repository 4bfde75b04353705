package spec

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// The hand parser of the text format (prototext.go) is checked against the
// real prototext, which only the tests link: for every input, both accept
// or both refuse, and what both accept gives the same request. Only the
// texts of errors differ, on purpose.
//
// prototext resolves a [type.name] against its Resolver. The binary used
// protoregistry.GlobalTypes, which held no types there (it linked no
// generated code), so every [type.name] was an unknown field, skipped. The
// test binary's GlobalTypes holds descriptorpb's and others' types, so the
// library here gets an empty registry, as the binary had.
//
// prototext also ignores the error of skipping a malformed unknown value
// and reads on. That never turns a refusal into an acceptance (what it
// reads next is inside the broken value, and it fails there or at the end),
// so no input needs leaving out; the fuzz target would find one that did.

// libraryText decodes text as a core.Secret with prototext, as
// decodeAnnotation did before the hand parser.
func libraryText(text []byte) (Raw, error) {
	s := schema()
	m := s.newMessage(msgSecret)
	opts := prototext.UnmarshalOptions{DiscardUnknown: true, Resolver: new(protoregistry.Types)}
	if err := opts.Unmarshal(text, m); err != nil {
		return Raw{}, err
	}
	return s.raw("", m), nil
}

func compareText(t *testing.T, text []byte) {
	t.Helper()
	theirs, theirErr := libraryText(text)
	ours, ourErr := parseSecretText(text)
	if theirErr != nil {
		require.Error(t, ourErr, "prototext refuses %q (%v); so must we", text, theirErr)
		requirePrintable(t, ourErr.Error())
		return
	}
	require.NoError(t, ourErr, "prototext reads %q", text)
	require.Equal(t, theirs, ours, "%q", text)
}

// textSeeds are core.Secrets as prototext.Marshal writes them, in every
// layout it has, messages of other types (whose fields are all unknown to
// core.Secret), and hand-written text around the edges of the grammar.
func textSeeds() []string {
	s := schema()
	var seeds []string
	secret := func(group, groupVersion, key string, mount int32, envVar string) proto.Message {
		m := s.newMessage(msgSecret)
		for _, f := range []struct {
			fd protoreflect.FieldDescriptor
			v  string
		}{{s.secretGroup, group}, {s.secretGroupVersion, groupVersion}, {s.secretKey, key}, {s.secretEnvVar, envVar}} {
			if f.v != "" {
				m.Set(f.fd, protoreflect.ValueOfString(f.v))
			}
		}
		if mount != 0 {
			m.Set(s.secretMount, protoreflect.ValueOfEnum(protoreflect.EnumNumber(mount)))
		}
		return m
	}
	// A core.Secret with unknown fields, which EmitUnknown prints by number.
	withUnknown := secret("g", "", "k", 2, "")
	unknown := appendUnknownScalars(nil)
	unknown = protowire.AppendTag(unknown, 96, protowire.StartGroupType)
	unknown = pbString(unknown, 1, "in a group")
	unknown = protowire.AppendTag(unknown, 96, protowire.EndGroupType)
	unknown = pbBytes(unknown, 95, []byte("\x00\xff bytes"))
	withUnknown.ProtoReflect().SetUnknown(unknown)

	messages := []proto.Message{
		secret("", "", "openai-key", 1, "OPENAI_API_KEY"),
		secret("postgres", "v3", "db-password", 0, ""),
		secret("certs", "", "tls-cert", 2, "TLS_CERT_PATH"),
		secret("g", "", "é☃\U0001F600 \"d\" 's' \\ \x00\x01\t\n\r\x7f", 7, ""),
		secret("", "", "neg", -5, ""),
		withUnknown,
	}
	// A message of another type: its fields, nested messages, enums, lists
	// and bools are all unknown to core.Secret.
	var fd descriptorpb.FileDescriptorProto
	if err := proto.Unmarshal(schemaDescriptor(), &fd); err != nil {
		panic(err)
	}
	fd.Options = &descriptorpb.FileOptions{JavaPackage: proto.String("x"), CcEnableArenas: proto.Bool(true), OptimizeFor: descriptorpb.FileOptions_LITE_RUNTIME.Enum()}
	fd.Dependency = []string{"a.proto", "b.proto"}
	fd.PublicDependency = []int32{0, 1}
	messages = append(messages, &fd, &descriptorpb.UninterpretedOption{DoubleValue: proto.Float64(-1.5e300), PositiveIntValue: proto.Uint64(1 << 63)})

	for _, m := range messages {
		for _, opts := range []prototext.MarshalOptions{
			{},
			{Multiline: true},
			{Multiline: true, Indent: "\t"},
			{EmitUnknown: true},
			{EmitUnknown: true, Multiline: true, Indent: "    "},
			{EmitASCII: true},
		} {
			b, err := opts.Marshal(m)
			if err != nil {
				panic(err)
			}
			seeds = append(seeds, string(b))
		}
	}
	seeds = append(seeds, s0Text, `key: "my_key"`+"\n")
	return append(seeds, textCases...)
}

// textCases are hand-written, around the edges of the grammar.
var textCases = []string{
	// Spacing, comments, separators.
	``,
	` `,
	"# only a comment",
	"key:\"k\"",
	"key :\t'k' ;group\n:\r\"g\",",
	"key # a comment\n : # another\n \"k\" # and one at the end",
	`key: "k",`,
	`key: "k";`,
	`key: "k",,`,
	`key: "k";;`,
	`,key: "k"`,
	`key: "k" , group: "g" ; env_var: "E"`,
	`key "k"`,
	`key: "k" key: "j"`,
	`mount_requirement: FILE mount_requirement: ENV_VAR`,
	"key:\v\"k\"",
	"key:\f\"k\"",
	"\ufeffkey: \"k\"",
	// Strings.
	`key: 'single' group: "double"`,
	`key: "a" 'b' "c"`,
	`key: "a"'b'"c"`,
	"key: \"a\" # between\n \"b\"",
	`key: "\a\b\f\n\r\t\v\\\'\"\?"`,
	`key: "\0\1\12\123\1234\377\400\8"`,
	`key: "\x\x4\x41\x411\xg"`,
	`key: "\x41"`,
	`key: "\xff"`,
	`key: "\xc3" "\xa9"`,
	`key: "\u00e9\U0001F600"`,
	`key: "\u00e"`,
	`key: "\ud83d\ude00"`,
	`key: "\ud83d"`,
	`key: "\ud83d\u0041"`,
	`key: "\ude00\ud83d"`,
	`key: "\ud83dx\ude00"`,
	`key: "\U0000D83D\uDE00"`,
	`key: "\U00110000"`,
	`key: "\U0010FFFF"`,
	`key: "\uFFFD"`,
	`key: "\q"`,
	`key: "\`,
	`key: "unterminated`,
	`key: 'mixed"`,
	"key: \"a\nb\"",
	"key: \"a\x00b\"",
	"key: \"a\rb\tc\x01\x7f\"",
	"key: \"a\xffb\"",
	"key: \"\xed\xa0\x80\"",
	"# \xff in a comment\nkey: \"k\"",
	"key: \"k\" \xff",
	// The enum.
	`mount_requirement: ANY`,
	`mount_requirement: ENV_VAR`,
	`mount_requirement: FILE`,
	`mount_requirement: file`,
	`mount_requirement: DISK`,
	`mount_requirement: -FILE`,
	`mount_requirement: "FILE"`,
	`mount_requirement: 0`,
	`mount_requirement: 2`,
	`mount_requirement: 7`,
	`mount_requirement: -1`,
	`mount_requirement: - 1`,
	"mount_requirement: - # c\n 1",
	`mount_requirement: 0x2`,
	`mount_requirement: 0X1f`,
	`mount_requirement: -0x80000000`,
	`mount_requirement: 0x80000000`,
	`mount_requirement: 0x7fffffff`,
	`mount_requirement: 017`,
	`mount_requirement: 08`,
	`mount_requirement: 00`,
	`mount_requirement: 2147483647`,
	`mount_requirement: 2147483648`,
	`mount_requirement: -2147483648`,
	`mount_requirement: -2147483649`,
	`mount_requirement: 1.0`,
	`mount_requirement: 1f`,
	`mount_requirement: 1e0`,
	`mount_requirement: inf`,
	`mount_requirement: true`,
	`mount_requirement: 1x`,
	`mount_requirement { }`,
	`mount_requirement: [1]`,
	`mount_requirement`,
	`key: k`,
	`key: 1`,
	`key: {}`,
	`key: ["a"]`,
	`key:`,
	// Field names.
	`1: "k"`,
	`3: "k"`,
	`6: "k"`,
	`0: 1`,
	`-1: 1`,
	`01: 1`,
	`0x6: 1`,
	`6.0: 1`,
	`536870911: 1`,
	`536870912: 1`,
	`2147483647: 1`,
	`2147483648: 1`,
	`Key: "k"`,
	`groupVersion: "v"`,
	`key.x: "k"`,
	`key-x: "k"`,
	`_: 1 __x9: 2`,
	`9key: 1`,
	`[ext.name]: 1 key: "k"`,
	`[ext.name] { a: 1 } key: "k"`,
	`[ type . name ] : 1`,
	"[a #c\n.b]: 1",
	`[type.googleapis.com/flyteidl.core.Secret] { key: "x" }`,
	`[a.b/c.d]: 1`,
	`[/a]: 1`,
	`[//a]: 1`,
	`[a/]: 1`,
	`[a..b]: 1`,
	`[.a]: 1`,
	`[a.]: 1`,
	`[]: 1`,
	`[a%20b/c]: 1`,
	`[a%2/c]: 1`,
	`[a/b%20c]: 1`,
	`[a,b]: 1`,
	`[a!b/c]: 1`,
	`[a~$&()*+,;=/c]: 1`,
	`[a b]: 1`,
	`[a`,
	`[`,
	`[a]`,
	`[a]:`,
	// Unknown fields and what they may hold.
	`future: "x" key: "k"`,
	`future: 'x' "y" key: "k"`,
	`future: 1 future: 2 key: "k"`,
	`future: -1.5e-3f key: "k"`,
	`future: 1e key: "k"`,
	`future: 1e`,
	`future: 1e+`,
	`future: 1e+ key: "k"`,
	`future: 1ef key: "k"`,
	`future: . key: "k"`,
	`future: .`,
	`future: .f key: "k"`,
	`future: .e5 key: "k"`,
	`future: 1.5.3`,
	`future: 0x`,
	`future: 0xg`,
	`future: 0x1.5`,
	`future: 0b1`,
	`future: 1_000`,
	`future: 5"x"`,
	`future: "a"6: 1`,
	`future: "a"3: "k"`,
	`future: - inf`,
	`future: -inf`,
	`future: -`,
	`future: --5`,
	`future: -x5`,
	`future: nan`,
	`future: True`,
	`future: inf key: "k"`,
	`future: "\xff" key: "k"`,
	`future: "\400"`,
	"future: \"\xff\"",
	`future { a: 1 b { c: "x" } } key: "k"`,
	`future: { a: 1, b: 2; } key: "k"`,
	`future < a: 1 > key: "k"`,
	`future < a: 1 }`,
	`future { a: 1 >`,
	`future { a: 1 ]`,
	`future { a: 1`,
	`future {`,
	`future { a 1 b "x" c {} d [] }`,
	`future { [x.y]: 1 9: 2 0: 3 }`,
	`future { -1: 3 }`,
	`future { a: 1,, b: 2 }`,
	`future { a: 1,, key: "x" }`,
	`future { , }`,
	`future { a: }`,
	`future { a }`,
	`future: [] key: "k"`,
	`future [1, "a", b, -c, {x: 1}, <y: 2>] key: "k"`,
	`future: [1,]`,
	`future: [,]`,
	`future: [1;2]`,
	`future: [[1]]`,
	`future: [1 2]`,
	`future: [{}{}]`,
	`future: [{},{}]`,
	`future: [`,
	`future: [1`,
	`future: [1,`,
	`future: {} , key: "k"`,
	`future: [] ; key: "k"`,
	`future`,
	`future:`,
	`future: }`,
	`}`,
	`{`,
	`future: 1 }`,
	strings.Repeat("a {", 200) + strings.Repeat("}", 200),
	strings.Repeat("a {", 200) + strings.Repeat("}", 199),
	strings.Repeat("a [{", 100) + strings.Repeat("}]", 100),
}

func TestProtoTextMatchesLibrary(t *testing.T) {
	for i, seed := range textSeeds() {
		t.Run(fmt.Sprint(i), func(t *testing.T) { compareText(t, []byte(seed)) })
	}
}

func FuzzProtoTextMatchesLibrary(f *testing.F) {
	for _, seed := range textSeeds() {
		f.Add([]byte(seed))
	}
	f.Fuzz(compareText)
}

// Values nested far deeper than prototext's recursion limit for known
// messages are skipped all the same: skipping has no limit, in either.
func TestProtoTextDeepUnknown(t *testing.T) {
	deep := strings.Repeat("a {", 20_000) + strings.Repeat("}", 20_000) + ` key: "k"`
	compareText(t, []byte(deep))
	r, err := parseSecretText([]byte(deep))
	require.NoError(t, err)
	assert.Equal(t, "k", r.Key)
}

// TestProtoTextErrors pins the texts of the parser's errors: where, and
// which rule, and never the text's content.
func TestProtoTextErrors(t *testing.T) {
	tests := []struct {
		text      string
		wantError string
	}{
		{`key: "unterminated`, `line 1, column 6: the text ends inside this string`},
		{"key: \"k\"\ngroup: 'a\nb'", `line 2, column 10: a string cannot hold a line end (write \n)`},
		{`key: "k` + "\x00" + `"`, `line 1, column 8: a string cannot hold a NUL byte (write \0)`},
		{"key: \"é\xff\"", `line 1, column 8: a string holds a byte that is not UTF-8`},
		{`key: "\xff"`, `line 1, column 6: key is not valid UTF-8`},
		{`key: "\q"`, `line 1, column 7: a string holds an unknown escape sequence`},
		{`key: "\400"`, `line 1, column 7: an octal escape goes up to \377`},
		{`key: "\xg"`, `line 1, column 7: \x needs one or two hex digits`},
		{`key: "\u12"`, `line 1, column 7: the text ends inside a \u or \U escape`},
		{`key: "\u12g4"`, `line 1, column 7: a \u escape needs 4 hex digits, a \U escape 8`},
		{`key: "\U00110000"`, `line 1, column 7: a \U escape above \U0010FFFF is no Unicode character`},
		{`key: "\ud83d\u0041"`, `line 1, column 13: a UTF-16 surrogate in a \u escape must be followed by the other half of its pair, as \uXXXX`},
		{`key "k"`, `line 1, column 1: key needs a ':' before its value`},
		{`key: "a" key: "b"`, `line 1, column 10: key is given twice`},
		{`key: secret_name`, `line 1, column 6: key must be a quoted string`},
		{`env_var: {}`, `line 1, column 10: env_var takes a single value, not a message or a list`},
		{`group:`, `line 1, column 7: the text ends where the value of group should be`},
		{`key: "k" mount_requirement: DISK`, `line 1, column 29: mount_requirement must be ANY, ENV_VAR, FILE or an int32 number, got DISK`},
		{`mount_requirement: "FILE"`, `line 1, column 20: mount_requirement must be ANY, ENV_VAR, FILE or an int32 number`},
		{`mount_requirement: 2147483648`, `line 1, column 20: mount_requirement must be ANY, ENV_VAR, FILE or an int32 number`},
		{`3: "k"`, `line 1, column 1: field 3 is key: give it by its name`},
		{`0: 1`, `line 1, column 1: field number 0 is out of range (1 to 536870911)`},
		{`-1: 1`, `line 1, column 1: a field number must be a decimal integer from 1 to 536870911`},
		{`"k"`, `line 1, column 1: want a field name (an identifier, a [type.name] or a field number)`},
		{`key: "k",, group: "g"`, `line 1, column 10: want a field name (an identifier, a [type.name] or a field number)`},
		{`[a?b]: 1`, `line 1, column 3: a [type.name] cannot hold this character`},
		{`[a..b]: 1`, `line 1, column 1: a [type.name] needs a word before, between and after its dots`},
		{`[a`, `line 1, column 1: the text ends inside a [type.name]`},
		{`future: `, `line 1, column 9: the text ends where a field's value should be`},
		{`future { a: 1`, `line 1, column 14: the text ends before a '}' closes`},
		{`future < a: 1 }`, `line 1, column 15: a message opened with '<' cannot close with '}'`},
		{`future: [1 2]`, `line 1, column 12: want ',' or ']' after an item of a list`},
		{`future: [[1]]`, `line 1, column 10: a list cannot hold a list`},
		{`future: ?`, `line 1, column 9: want a value (a quoted string, a number, a word such as ENV_VAR, a { message } or a [ list ])`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			_, err := parseSecretText([]byte(tt.text))
			require.Error(t, err)
			assert.Equal(t, tt.wantError, err.Error())
			_, libErr := libraryText([]byte(tt.text))
			assert.Error(t, libErr, "prototext must refuse it too")
		})
	}
}

// textTokens are pieces of the text format, right and wrong, that
// TestProtoTextTokenSoup strings together.
var textTokens = []string{
	"{", "}", "<", ">", "[", "]", ",", ";", ":", " ", "\n", "#c\n", "-",
	"key", "group", "mount_requirement", "env_var", "foo", "x9", "-inf", "true",
	`"s"`, `'t'`, `"\x41"`, `"\xff"`, `"\u00e9"`, `"`, "'",
	"0", "1", "2", "7", "01", "0x1", "1.5", "1e", "1e+", ".", ".5f", "2147483648", "536870912",
	"[a.b]", "[a/b.c]", "[a", "a.b", "ENV_VAR", "FILE", "ANY",
}

// soupValue appends a random value of the text format to toks: mostly
// well-formed, nested at most depth deep.
func soupValue(rng *rand.Rand, toks []string, depth int) []string {
	switch n := rng.IntN(10); {
	case n < 2 && depth > 0: // a message
		open, closer := "{", "}"
		if rng.IntN(2) == 0 {
			open, closer = "<", ">"
		}
		toks = append(toks, open)
		for range rng.IntN(3) {
			toks = soupField(rng, toks, depth-1)
		}
		return append(toks, closer)
	case n < 3 && depth > 0: // a list
		toks = append(toks, "[")
		for i := range rng.IntN(3) {
			if i > 0 {
				toks = append(toks, ",")
			}
			if rng.IntN(3) == 0 {
				toks = append(toks, "{")
				toks = soupField(rng, toks, depth-1)
				toks = append(toks, "}")
			} else {
				toks = soupValue(rng, toks, 0)
			}
		}
		return append(toks, "]")
	}
	return append(toks, textTokens[13+rng.IntN(len(textTokens)-13)])
}

// soupField appends a random field: a name, perhaps a ':', a value and
// perhaps a separator.
func soupField(rng *rand.Rand, toks []string, depth int) []string {
	names := []string{"key", "group", "group_version", "env_var", "mount_requirement", "foo", "[a.b]", "6", "3", "0"}
	toks = append(toks, names[rng.IntN(len(names))])
	if rng.IntN(4) != 0 {
		toks = append(toks, ":")
	}
	toks = soupValue(rng, toks, depth)
	switch rng.IntN(4) {
	case 0:
		toks = append(toks, ",")
	case 1:
		toks = append(toks, ";")
	}
	return toks
}

// TestProtoTextTokenSoup compares the parser with prototext on random
// strings of tokens, built by the grammar and then mutated a little: where
// byte-level fuzzing rarely builds a well-formed nested value, this tries
// their combinations by the thousand.
func TestProtoTextTokenSoup(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	spaces := []string{"", " ", "  ", "\n", "\t", " #c\n"}
	for range 30_000 {
		var toks []string
		for range 1 + rng.IntN(4) {
			toks = soupField(rng, toks, 3)
		}
		for range rng.IntN(3) { // mutations: replace, insert or drop a token
			i := rng.IntN(len(toks))
			switch tok := textTokens[rng.IntN(len(textTokens))]; rng.IntN(3) {
			case 0:
				toks[i] = tok
			case 1:
				toks = append(toks[:i], append([]string{tok}, toks[i:]...)...)
			default:
				toks = append(toks[:i], toks[i+1:]...)
			}
		}
		var b strings.Builder
		for _, tok := range toks {
			b.WriteString(tok)
			b.WriteString(spaces[rng.IntN(len(spaces))])
		}
		compareText(t, []byte(b.String()))
	}
}
