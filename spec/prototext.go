package spec

import (
	"bytes"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// The protobuf text format of a core.Secret, in which Flyte writes each
// flyte.secrets/s<N> annotation, is read here by hand, with the rules of
// google.golang.org/protobuf/encoding/prototext's Unmarshal with
// DiscardUnknown:
//
//   - the fields group, group_version, key and env_var take a quoted
//     string, mount_requirement takes ANY, ENV_VAR, FILE or an int32 (in
//     decimal, 0x hex or 0 octal); each comes after a ':' and at most once;
//   - tokens may be parted by spaces, tabs, line ends and # comments, and a
//     field may be followed by one ',' or ';';
//   - a string is in double or single quotes, with C's escapes (\n, \x41,
//     \101, \u00e9, \U0001F600 ...); strings side by side are one; a field's
//     string must be valid UTF-8;
//   - any other field (another name, a [type.name], a field number other
//     than 1 to 5) is skipped whatever its value: a scalar (a string, a
//     number, a word such as inf or true), a { } or < > message, or a [ ]
//     list, however deeply nested, so long as it is well-formed.
//
// Go's prototext.Marshal varies its spacing on purpose, so this is a real
// tokenizer and parser of the format's grammar. prototext itself would do,
// but linking it costs every container start its package initialisation
// (with the rest of the protobuf runtime, about 110,000 instructions),
// whether an annotation is read or not. The tests compare the two on every
// input the fuzzer finds.

// textError is text that is not a core.Secret: where, and which rule it
// breaks. It never quotes the text, which may hold a secret's name.
type textError struct {
	line, column int
	what         string
}

func (e *textError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.line, e.column, e.what)
}

// textParser reads src from pos. Every token it reads takes the spaces and
// comments after it too, so that pos is always where the next token begins.
type textParser struct {
	src []byte
	pos int
}

// errorAt is an error at byte off of the text. Columns count characters
// from 1, as prototext's do.
func (p *textParser) errorAt(off int, format string, args ...any) error {
	before := p.src[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	if i := bytes.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	return &textError{line: line, column: utf8.RuneCount(before) + 1, what: fmt.Sprintf(format, args...)}
}

// parseSecretText reads one core.Secret in protobuf text format.
func parseSecretText(text []byte) (Raw, error) {
	p := &textParser{src: text, pos: skipSpace(text, 0)}
	r := Raw{Shape: ShapeCore}
	var seen [fieldSecretEnvVar + 1]bool
	for p.pos < len(p.src) {
		at := p.pos
		name, err := p.fieldName()
		if err != nil {
			return Raw{}, err
		}
		var field string
		switch name.kind {
		case nameNumber:
			// As in prototext: a field number names an unknown field only.
			if name.num < 1 || name.num > maxFieldNumber {
				return Raw{}, p.errorAt(at, "field number %d is out of range (1 to %d)", name.num, maxFieldNumber)
			}
			if name.num <= fieldSecretEnvVar {
				return Raw{}, p.errorAt(at, "field %d is %s: give it by its name", name.num, secretFieldName(int(name.num)))
			}
		case nameIdent:
			field = string(p.src[at:name.end])
		}
		if num := secretFieldNumber(field); num == 0 {
			// Not a field of core.Secret: skipped, whatever its value.
			if err := p.skipValue(); err != nil {
				return Raw{}, err
			}
		} else {
			if !name.colon {
				return Raw{}, p.errorAt(at, "%s needs a ':' before its value", field)
			}
			if seen[num] {
				return Raw{}, p.errorAt(at, "%s is given twice", field)
			}
			seen[num] = true
			if err := p.secretField(&r, num, field); err != nil {
				return Raw{}, err
			}
		}
		if p.pos < len(p.src) && (p.src[p.pos] == ',' || p.src[p.pos] == ';') {
			p.pos = skipSpace(p.src, p.pos+1)
		}
	}
	return r, nil
}

// secretFieldNumber returns the number of the core.Secret field of that
// text name, or 0.
func secretFieldNumber(name string) int {
	switch name {
	case "group":
		return fieldSecretGroup
	case "group_version":
		return fieldSecretGroupVersion
	case "key":
		return fieldSecretKey
	case "mount_requirement":
		return fieldSecretMountRequirement
	case "env_var":
		return fieldSecretEnvVar
	}
	return 0
}

// secretFieldName is the text name of core.Secret field num (1 to 5).
func secretFieldName(num int) string {
	return [...]string{"", "group", "group_version", "key", "mount_requirement", "env_var"}[num]
}

// secretField reads the value of field num of a core.Secret into r.
func (p *textParser) secretField(r *Raw, num int, field string) error {
	at := p.pos
	if at == len(p.src) {
		return p.errorAt(at, "the text ends where the value of %s should be", field)
	}
	if c := p.src[at]; c == '{' || c == '<' || c == '[' {
		return p.errorAt(at, "%s takes a single value, not a message or a list", field)
	}
	v, err := p.scalar()
	if err != nil {
		return err
	}
	if num == fieldSecretMountRequirement {
		m, ok := v.mountRequirement(p.src)
		if !ok {
			got := ""
			if v.kind == scalarWord {
				got = ", got " + bare(string(p.src[at:v.end]))
			}
			return p.errorAt(at, "mount_requirement must be ANY, ENV_VAR, FILE or an int32 number%s", got)
		}
		r.MountRequirement = m
		return nil
	}
	if v.kind != scalarString {
		return p.errorAt(at, "%s must be a quoted string", field)
	}
	if !utf8.ValidString(v.str) {
		return p.errorAt(at, "%s is not valid UTF-8", field)
	}
	switch num {
	case fieldSecretGroup:
		r.Group = v.str
	case fieldSecretGroupVersion:
		r.GroupVersion = v.str
	case fieldSecretKey:
		r.Key = v.str
	case fieldSecretEnvVar:
		r.EnvVar = v.str
	}
	return nil
}

// skipSpace returns the offset of the first byte at or after i that is not
// a space, tab, line end or part of a # comment.
func skipSpace(src []byte, i int) int {
	for i < len(src) {
		switch src[i] {
		case ' ', '\t', '\n', '\r':
			i++
		case '#':
			end := bytes.IndexByte(src[i:], '\n')
			if end < 0 {
				return len(src)
			}
			i += end + 1
		default:
			return i
		}
	}
	return i
}

func isLetter(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isOctal(c byte) bool  { return '0' <= c && c <= '7' }
func isHex(c byte) bool    { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// endsWord reports whether a word (a name or a number) may end before
// src[i]: at the end, or before a byte that cannot be part of one.
func endsWord(src []byte, i int) bool {
	if i == len(src) {
		return true
	}
	c := src[i]
	return !(isLetter(c) || isDigit(c) || c == '-' || c == '+' || c == '.')
}

// identEnd returns the end of the identifier at src[i]
// ([_a-zA-Z][_a-zA-Z0-9]*, after a '-' if minus), or -1.
func identEnd(src []byte, i int, minus bool) int {
	if minus && i < len(src) && src[i] == '-' {
		i++
	}
	if i == len(src) || !isLetter(src[i]) {
		return -1
	}
	for i++; i < len(src) && (isLetter(src[i]) || isDigit(src[i])); i++ {
	}
	if !endsWord(src, i) {
		return -1
	}
	return i
}

// textNumber is a number token.
type textNumber struct {
	end    int // just past it
	neg    bool
	float  bool   // it has a '.', an exponent or an f suffix
	base   uint64 // 10, 16 or 8, for an integer
	digits []byte // an integer's digits, without its sign and base prefix
}

// scanNumber reads the number at src[i], by the grammar of prototext's
// tokenizer:
//
//	integer: -?([1-9][0-9]*|0[xX][0-9a-fA-F]+|0[0-7]*)
//	float:   -?((0|[1-9][0-9]*)?([.][0-9]*)?([eE][+-]?[0-9]+)?[fF]?)
//
// with its leniencies, which matter for what a skipped field may hold:
// spaces and comments may follow the '-'; an exponent may have no digits
// when something follows its 'e' or its sign ("1e " is a float); a lone
// "." is a float when something follows it. A number must end a word.
func scanNumber(src []byte, i int) (textNumber, bool) {
	var n textNumber
	if i < len(src) && src[i] == '-' {
		n.neg = true
		i = skipSpace(src, i+1)
	}
	if i == len(src) {
		return n, false
	}
	start := i
	switch c := src[i]; {
	case c == '0' && i+1 < len(src) && (src[i+1] == 'x' || src[i+1] == 'X'):
		for i += 2; i < len(src) && isHex(src[i]); i++ {
		}
		n.base, n.digits, n.end = 16, src[start+2:i], i
		return n, i > start+2 && endsWord(src, i)
	case c == '0' && i+1 < len(src) && isOctal(src[i+1]):
		for i += 2; i < len(src) && isOctal(src[i]); i++ {
		}
		n.base, n.digits, n.end = 8, src[start+1:i], i
		return n, endsWord(src, i)
	case c == '0':
		i++
	case '1' <= c && c <= '9':
		for i++; i < len(src) && isDigit(src[i]); i++ {
		}
	case c == '.':
		n.float = true
	default:
		return n, false
	}
	n.base, n.digits = 10, src[start:i]
	if i < len(src) && src[i] == '.' {
		i++
		if i == len(src) && start == i-1 {
			return n, false // "." alone at the end
		}
		for ; i < len(src) && isDigit(src[i]); i++ {
		}
		n.float = true
	}
	if len(src)-i >= 2 && (src[i] == 'e' || src[i] == 'E') {
		n.float = true
		i++
		if src[i] == '+' || src[i] == '-' {
			i++
			if i == len(src) {
				return n, false
			}
		}
		for ; i < len(src) && isDigit(src[i]); i++ {
		}
	}
	if i < len(src) && (src[i] == 'f' || src[i] == 'F') {
		n.float = true
		i++
	}
	n.end = i
	return n, endsWord(src, i)
}

// value returns the integer's value, if it is an integer of at most max
// (the sign aside; -max-1 is taken too when neg).
func (n textNumber) value(max uint64) (uint64, bool) {
	if n.float {
		return 0, false
	}
	limit := max
	if n.neg {
		limit++
	}
	var v uint64
	for _, c := range n.digits {
		d := uint64(c - '0')
		if c > '9' {
			d = uint64((c|0x20)-'a') + 10
		}
		if v = v*n.base + d; v > limit {
			return 0, false
		}
	}
	return v, true
}

// nameKind is how a field is named.
type nameKind int

const (
	nameIdent  nameKind = iota + 1 // key
	nameType                       // [ext.name] or [type.url/name]
	nameNumber                     // 3
)

// textName is a field name token, and the ':' after it if there is one.
type textName struct {
	kind  nameKind
	end   int   // the end of an identifier
	num   int64 // a field number
	colon bool
}

// fieldName reads a field name; p.pos is not at the end.
func (p *textParser) fieldName() (textName, error) {
	src, at := p.src, p.pos
	var name textName
	end := -1
	switch {
	case src[at] == '[':
		var err error
		if end, err = p.typeName(); err != nil {
			return name, err
		}
		name.kind = nameType
	case identEnd(src, at, false) >= 0:
		end = identEnd(src, at, false)
		name.kind, name.end = nameIdent, end
	default:
		n, ok := scanNumber(src, at)
		if !ok {
			return name, p.errorAt(at, "want a field name (an identifier, a [type.name] or a field number)")
		}
		v, ok := n.value(maxTagNumber)
		if n.neg || n.base != 10 || !ok {
			return name, p.errorAt(at, "a field number must be a decimal integer from 1 to %d", maxFieldNumber)
		}
		name.kind, name.num, end = nameNumber, int64(v), n.end
	}
	p.pos = skipSpace(src, end)
	if p.pos < len(src) && src[p.pos] == ':' {
		name.colon = true
		p.pos = skipSpace(src, p.pos+1)
	}
	return name, nil
}

// typeName reads a [type.name] (an extension's name, or an Any's type URL)
// at p.pos, by prototext's rules: spaces and comments may come between its
// characters; a URL prefix may hold the characters of a URL, %-escapes and
// '/', but may not begin with '/'; the name after the last '/' is
// dot-separated words of letters, digits, '_' and '-'. It returns the offset
// just past the ']'.
func (p *textParser) typeName() (int, error) {
	src, at := p.src, p.pos
	var name []byte
	i := skipSpace(src, at+1)
	for {
		if i == len(src) {
			return 0, p.errorAt(at, "the text ends inside a [type.name]")
		}
		c := src[i]
		switch {
		case c == ']':
			return i + 1, p.checkTypeName(at, name)
		case c == '/' || isLetter(c) || isDigit(c) || c == '-' || isURLChar(c):
			name = append(name, c)
			i = skipSpace(src, i+1)
		case c == '%':
			if len(src)-i < 3 || !isHex(src[i+1]) || !isHex(src[i+2]) {
				return 0, p.errorAt(i, "a %% in a [type.name] must begin a %%XX escape")
			}
			name = append(name, src[i:i+3]...)
			i = skipSpace(src, i+3)
		default:
			return 0, p.errorAt(i, "a [type.name] cannot hold this character")
		}
	}
}

// isURLChar reports whether c may be in a type URL's prefix, besides
// letters, digits, '_', '-' and '/'.
func isURLChar(c byte) bool {
	switch c {
	case '.', '~', '!', '$', '&', '(', ')', '*', '+', ',', ';', '=':
		return true
	}
	return false
}

func (p *textParser) checkTypeName(at int, name []byte) error {
	typ := name
	if i := bytes.LastIndexByte(name, '/'); i >= 0 {
		if i > 0 && name[0] == '/' {
			return p.errorAt(at, "the URL prefix of a [type.name] cannot begin with '/'")
		}
		typ = name[i+1:]
	}
	for _, word := range bytes.Split(typ, []byte(".")) {
		if len(word) == 0 {
			return p.errorAt(at, "a [type.name] needs a word before, between and after its dots")
		}
		for _, c := range word {
			if c == '%' || isURLChar(c) {
				return p.errorAt(at, "the type in a [type.name] is words of letters, digits, '_' and '-' parted by dots")
			}
		}
	}
	return nil
}

// scalarKind is the kind of a scalar value.
type scalarKind int

const (
	scalarString scalarKind = iota + 1
	scalarWord              // an identifier, perhaps after a '-': ENV_VAR, true, -inf
	scalarNumber
)

// textScalar is a scalar value.
type textScalar struct {
	kind scalarKind
	end  int    // just past it, before the spaces after it
	str  string // a string's value
	num  textNumber
	word []byte
}

// mountRequirement reads the scalar as a MountType: a name, or an int32.
func (v textScalar) mountRequirement(src []byte) (MountRequirement, bool) {
	switch v.kind {
	case scalarWord:
		switch string(v.word) {
		case "ANY":
			return MountAny, true
		case "ENV_VAR":
			return MountEnvVar, true
		case "FILE":
			return MountFile, true
		}
	case scalarNumber:
		if n, ok := v.num.value(1<<31 - 1); ok {
			if v.num.neg {
				return MountRequirement(-int64(n)), true
			}
			return MountRequirement(n), true
		}
	}
	return 0, false
}

// scalar reads a scalar value: a string, a word or a number.
func (p *textParser) scalar() (textScalar, error) {
	src, at := p.src, p.pos
	if at == len(src) {
		return textScalar{}, p.errorAt(at, "the text ends where a value should be")
	}
	if c := src[at]; c == '"' || c == '\'' {
		return p.str()
	}
	if end := identEnd(src, at, true); end >= 0 {
		p.pos = skipSpace(src, end)
		return textScalar{kind: scalarWord, end: end, word: src[at:end]}, nil
	}
	if n, ok := scanNumber(src, at); ok {
		p.pos = skipSpace(src, n.end)
		return textScalar{kind: scalarNumber, end: n.end, num: n}, nil
	}
	return textScalar{}, p.errorAt(at, "want a value (a quoted string, a number, a word such as ENV_VAR, a { message } or a [ list ])")
}

// str reads one or more quoted strings side by side, and returns them
// joined.
func (p *textParser) str() (textScalar, error) {
	src := p.src
	var out []byte
	end := p.pos
	for p.pos < len(src) && (src[p.pos] == '"' || src[p.pos] == '\'') {
		var err error
		if out, end, err = p.quoted(out, p.pos); err != nil {
			return textScalar{}, err
		}
		p.pos = skipSpace(src, end)
	}
	return textScalar{kind: scalarString, end: end, str: string(out)}, nil
}

// quoted appends the value of the quoted string at src[at] to out, and
// returns the offset just past its closing quote.
func (p *textParser) quoted(out []byte, at int) ([]byte, int, error) {
	src := p.src
	quote := src[at]
	for i := at + 1; ; {
		if i == len(src) {
			return nil, 0, p.errorAt(at, "the text ends inside this string")
		}
		c := src[i]
		switch {
		case c == quote:
			return out, i + 1, nil
		case c == '\\':
			var err error
			if out, i, err = p.escape(out, i); err != nil {
				return nil, 0, err
			}
		case c == 0:
			return nil, 0, p.errorAt(i, "a string cannot hold a NUL byte (write \\0)")
		case c == '\n':
			return nil, 0, p.errorAt(i, "a string cannot hold a line end (write \\n)")
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, n := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && n == 1 {
				return nil, 0, p.errorAt(i, "a string holds a byte that is not UTF-8")
			}
			out = append(out, src[i:i+n]...)
			i += n
		}
	}
}

// escape appends the value of the escape sequence at src[i] (a '\') to out,
// and returns the offset just past it.
func (p *textParser) escape(out []byte, i int) ([]byte, int, error) {
	src := p.src
	if len(src)-i < 2 {
		return nil, 0, p.errorAt(i, "the text ends inside an escape sequence")
	}
	switch c := src[i+1]; c {
	case '"', '\'', '\\', '?':
		return append(out, c), i + 2, nil
	case 'a':
		return append(out, '\a'), i + 2, nil
	case 'b':
		return append(out, '\b'), i + 2, nil
	case 'f':
		return append(out, '\f'), i + 2, nil
	case 'n':
		return append(out, '\n'), i + 2, nil
	case 'r':
		return append(out, '\r'), i + 2, nil
	case 't':
		return append(out, '\t'), i + 2, nil
	case 'v':
		return append(out, '\v'), i + 2, nil
	case '0', '1', '2', '3', '4', '5', '6', '7':
		// One to three octal digits, at most \377.
		j, v := i+1, 0
		for ; j < len(src) && j < i+4 && isOctal(src[j]); j++ {
			v = v*8 + int(src[j]-'0')
		}
		if v > 0xff {
			return nil, 0, p.errorAt(i, "an octal escape goes up to \\377")
		}
		return append(out, byte(v)), j, nil
	case 'x':
		// One or two hex digits.
		j, v := i+2, 0
		for ; j < len(src) && j < i+4 && isHex(src[j]); j++ {
			v = v*16 + hexValue(src[j])
		}
		if j == i+2 {
			return nil, 0, p.errorAt(i, "\\x needs one or two hex digits")
		}
		return append(out, byte(v)), j, nil
	case 'u', 'U':
		// Four or eight hex digits; a UTF-16 surrogate must be followed by
		// the other half of its pair, as \uXXXX.
		size := 4
		if c == 'U' {
			size = 8
		}
		r, ok, err := p.hexRune(i, size)
		if err != nil || !ok {
			return nil, 0, err
		}
		i += 2 + size
		if utf16.IsSurrogate(r) {
			low, ok, err := p.hexRune(i, 4)
			if err != nil {
				return nil, 0, err
			}
			if r = utf16.DecodeRune(r, low); !ok || src[i+1] != 'u' || r == utf8.RuneError {
				return nil, 0, p.errorAt(i, "a UTF-16 surrogate in a \\u escape must be followed by the other half of its pair, as \\uXXXX")
			}
			i += 6
		}
		return utf8.AppendRune(out, r), i, nil
	}
	return nil, 0, p.errorAt(i, "a string holds an unknown escape sequence")
}

// hexRune reads the size hex digits after the escape \u or \U at src[i].
// ok is false when src[i] is not a '\'; an error is returned when the digits
// are missing or not a Unicode code point.
func (p *textParser) hexRune(i, size int) (rune, bool, error) {
	src := p.src
	if len(src)-i < 2+size {
		return 0, false, p.errorAt(i, "the text ends inside a \\u or \\U escape")
	}
	if src[i] != '\\' {
		return 0, false, nil
	}
	var v uint64
	for _, c := range src[i+2 : i+2+size] {
		if !isHex(c) {
			return 0, false, p.errorAt(i, "a \\u escape needs 4 hex digits, a \\U escape 8")
		}
		v = v*16 + uint64(hexValue(c))
	}
	if v > utf8.MaxRune {
		return 0, false, p.errorAt(i, "a \\U escape above \\U0010FFFF is no Unicode character")
	}
	return rune(v), true, nil
}

func hexValue(c byte) int {
	if c <= '9' {
		return int(c - '0')
	}
	return int((c|0x20)-'a') + 10
}

// skipValue skips the value of a field that is not ours: a scalar, a
// message in { } or < >, or a list in [ ] of scalars and messages. Inside a
// message, any name may come with or without a ':', and any field may be
// followed by one ',' or ';'. It keeps its own stack rather than recursing,
// so that no nesting is too deep.
func (p *textParser) skipValue() error {
	const (
		wantValue     = iota // after a field name
		wantItemOrEnd        // after a list's '['
		wantItem             // after a ',' in a list
		wantName             // after a message's '{' or '<', or a ',' or ';' in it
		afterValue
	)
	var open []byte // the closing characters awaited, innermost last
	state := wantValue
	src := p.src
	for {
		if state == afterValue && len(open) == 0 {
			return nil
		}
		at := p.pos
		if at == len(src) {
			if len(open) == 0 {
				return p.errorAt(at, "the text ends where a field's value should be")
			}
			return p.errorAt(at, "the text ends before a %q closes", open[len(open)-1])
		}
		c := src[at]
		var closer byte
		if len(open) > 0 {
			closer = open[len(open)-1]
		}
		switch {
		case state <= wantItem && (c == '{' || c == '<'):
			open = append(open, closing(c))
			p.pos, state = skipSpace(src, at+1), wantName
		case state == wantValue && c == '[':
			open = append(open, ']')
			p.pos, state = skipSpace(src, at+1), wantItemOrEnd
		case state <= wantItem && c == '[':
			return p.errorAt(at, "a list cannot hold a list")
		case state <= wantItem && !(state == wantItemOrEnd && c == ']'):
			if _, err := p.scalar(); err != nil {
				return err
			}
			state = afterValue
		case c == closer && (state == wantItemOrEnd || state == wantName || state == afterValue):
			open = open[:len(open)-1]
			p.pos, state = skipSpace(src, at+1), afterValue
		case closer == ']':
			// After a list's item: only a ',' or the ']'.
			if state != afterValue || c != ',' {
				return p.errorAt(at, "want ',' or ']' after an item of a list")
			}
			p.pos, state = skipSpace(src, at+1), wantItem
		case c == '}' || c == '>':
			return p.errorAt(at, "a message opened with %q cannot close with %q", opening(closer), c)
		case state == afterValue && (c == ',' || c == ';'):
			p.pos, state = skipSpace(src, at+1), wantName
		default:
			if _, err := p.fieldName(); err != nil {
				return err
			}
			state = wantValue
		}
	}
}

// closing is the character that closes a message opened with c, and
// opening the one that opens a message closed with c.
func closing(c byte) byte {
	if c == '<' {
		return '>'
	}
	return '}'
}

func opening(c byte) byte {
	if c == '>' {
		return '<'
	}
	return '{'
}
