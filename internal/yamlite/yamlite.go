// Package yamlite reads the subset of YAML that kubeconfig files use: block
// mappings and sequences by indentation (compact "- key: value" items
// included), plain, single- and double-quoted scalars, literal and folded
// block scalars, flow sequences and mappings of scalars ("[]", "{}",
// ["a", "b"]), comments and one "---" document. A JSON kubeconfig is YAML
// too, and is read by encoding/json's rules here.
//
// It exists for start-up time: a general YAML library compiles regular
// expressions at package init, which every container start would pay for,
// whether it reads a kubeconfig or not. Anything outside the subset (anchors,
// aliases, tags, multi-document streams, complex keys) is an error naming
// the line, never a guess.
//
// Values come back as map[string]any, []any and string; every scalar is a
// string (kubeconfig fields are strings or booleans, and the caller reads
// "true"/"false"). Errors never quote a value: a kubeconfig holds tokens.
package yamlite

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxDepth bounds nesting.
const MaxDepth = 64

// Parse reads one YAML document.
func Parse(data []byte) (any, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("not UTF-8")
	}
	if t := strings.TrimSpace(string(data)); strings.HasPrefix(t, "{") {
		var v any
		d := json.NewDecoder(strings.NewReader(t))
		d.UseNumber()
		if err := d.Decode(&v); err != nil || d.More() {
			return nil, errors.New("malformed JSON")
		}
		return stringify(v), nil
	}
	p := &parser{}
	for i, raw := range strings.Split(string(data), "\n") {
		raw = strings.TrimSuffix(raw, "\r")
		p.lines = append(p.lines, line{n: i + 1, text: raw})
	}
	p.skipBlank()
	if p.i < len(p.lines) && strings.TrimSpace(p.lines[p.i].text) == "---" {
		p.i++
		p.skipBlank()
	}
	if p.i >= len(p.lines) {
		return map[string]any{}, nil
	}
	v, err := p.block(indentOf(p.lines[p.i].text), 0)
	if err != nil {
		return nil, err
	}
	p.skipBlank()
	if p.i < len(p.lines) {
		t := strings.TrimSpace(p.lines[p.i].text)
		if t == "---" || t == "..." {
			return nil, fmt.Errorf("line %d: more than one document", p.lines[p.i].n)
		}
		return nil, fmt.Errorf("line %d: unexpected indentation", p.lines[p.i].n)
	}
	return v, nil
}

// stringify turns decoded JSON into the same shapes as YAML: every scalar a
// string.
func stringify(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = stringify(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = stringify(e)
		}
		return x
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return string(x)
	}
	return fmt.Sprint(v)
}

type line struct {
	n    int
	text string
}

type parser struct {
	lines []line
	i     int
}

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

// blank reports whether a line holds nothing but a comment.
func blank(s string) bool {
	t := strings.TrimSpace(s)
	return t == "" || strings.HasPrefix(t, "#")
}

func (p *parser) skipBlank() {
	for p.i < len(p.lines) && blank(p.lines[p.i].text) {
		p.i++
	}
}

func (p *parser) errorf(format string, args ...any) error {
	n := 0
	if p.i < len(p.lines) {
		n = p.lines[p.i].n
	} else if len(p.lines) > 0 {
		n = p.lines[len(p.lines)-1].n
	}
	return fmt.Errorf("line %d: %s", n, fmt.Sprintf(format, args...))
}

// block reads the mapping or sequence whose lines start at indent.
func (p *parser) block(indent, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, p.errorf("nested more than %d levels", MaxDepth)
	}
	p.skipBlank()
	if p.i >= len(p.lines) {
		return "", nil
	}
	text := p.lines[p.i].text
	rest := text[min(indent, len(text)):]
	if rest == "-" || strings.HasPrefix(rest, "- ") {
		return p.sequence(indent, depth)
	}
	return p.mapping(indent, depth)
}

func (p *parser) sequence(indent, depth int) (any, error) {
	out := []any{}
	for {
		p.skipBlank()
		if p.i >= len(p.lines) {
			return out, nil
		}
		text := p.lines[p.i].text
		in := indentOf(text)
		if in < indent {
			return out, nil
		}
		if in > indent {
			return nil, p.errorf("unexpected indentation")
		}
		rest := text[in:]
		if strings.HasPrefix(rest, "\t") {
			return nil, p.errorf("a tab in the indentation")
		}
		if rest != "-" && !strings.HasPrefix(rest, "- ") {
			return out, nil
		}
		item := strings.TrimLeft(rest[1:], " ")
		if item == "" || strings.HasPrefix(item, "#") {
			p.i++
			p.skipBlank()
			if p.i < len(p.lines) && indentOf(p.lines[p.i].text) > indent {
				v, err := p.block(indentOf(p.lines[p.i].text), depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			} else {
				out = append(out, "")
			}
			continue
		}
		itemIndent := in + (len(rest) - len(item))
		// "- - a" starts a sequence whose items line up after the first "- ".
		if item == "-" || strings.HasPrefix(item, "- ") {
			p.lines[p.i].text = strings.Repeat(" ", itemIndent) + item
			v, err := p.sequence(itemIndent, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			continue
		}
		// "- key: value" starts a mapping whose keys line up after "- ".
		if k, _, ok := splitKey(item); ok && k != "" {
			p.lines[p.i].text = strings.Repeat(" ", itemIndent) + item
			v, err := p.mapping(itemIndent, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			continue
		}
		v, err := p.scalarOrFlow(item, in, depth)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

func (p *parser) mapping(indent, depth int) (any, error) {
	out := map[string]any{}
	for {
		p.skipBlank()
		if p.i >= len(p.lines) {
			return out, nil
		}
		text := p.lines[p.i].text
		in := indentOf(text)
		if in < indent {
			return out, nil
		}
		if in > indent {
			return nil, p.errorf("unexpected indentation")
		}
		rest := text[in:]
		if strings.HasPrefix(rest, "\t") {
			return nil, p.errorf("a tab in the indentation")
		}
		if rest == "-" || strings.HasPrefix(rest, "- ") {
			return out, nil // a sequence at the same indent ends the mapping ("key:\n- a")
		}
		key, value, ok := splitKey(rest)
		if !ok {
			return nil, p.errorf("want key: value")
		}
		if _, dup := out[key]; dup {
			return nil, p.errorf("key %s given twice", strconv.Quote(cut(key)))
		}
		value = strings.TrimSpace(stripComment(value))
		if value == "" {
			p.i++
			p.skipBlank()
			if p.i < len(p.lines) {
				next := p.lines[p.i].text
				nin := indentOf(next)
				nrest := next[nin:]
				if nin > indent || (nin == indent && (nrest == "-" || strings.HasPrefix(nrest, "- "))) {
					v, err := p.block(nin, depth+1)
					if err != nil {
						return nil, err
					}
					out[key] = v
					continue
				}
			}
			out[key] = ""
			continue
		}
		v, err := p.scalarOrFlow(value, indent, depth)
		if err != nil {
			return nil, err
		}
		out[key] = v
	}
}

// splitKey splits "key: value" (or "key:"), with a plain or quoted key.
func splitKey(s string) (key, value string, ok bool) {
	if strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "'") {
		q, n, err := quoted(s)
		if err != nil {
			return "", "", false
		}
		rest := s[n:]
		if rest == ":" {
			return q, "", true
		}
		if strings.HasPrefix(rest, ": ") {
			return q, rest[2:], true
		}
		return "", "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ':' && (i+1 == len(s) || s[i+1] == ' ') {
			k := strings.TrimSpace(s[:i])
			if k == "" || strings.ContainsAny(k[:1], "#&*!|>%@`[]{},") {
				return "", "", false
			}
			return k, strings.TrimPrefix(s[i+1:], " "), true
		}
		if s[i] == '#' && i > 0 && s[i-1] == ' ' {
			return "", "", false
		}
	}
	return "", "", false
}

// scalarOrFlow reads a value on the line at p.i (consuming it), or a block
// scalar starting there.
func (p *parser) scalarOrFlow(v string, indent, depth int) (any, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "|" || v == ">" || strings.HasPrefix(v, "|") || strings.HasPrefix(v, ">"):
		return p.blockScalar(v, indent)
	case strings.HasPrefix(v, "["), strings.HasPrefix(v, "{"):
		f := &flow{s: stripComment(v)}
		val, err := f.value(depth)
		if err != nil {
			return nil, p.errorf("%v", err)
		}
		if strings.TrimSpace(f.s[f.i:]) != "" {
			return nil, p.errorf("text after a flow collection")
		}
		p.i++
		return val, nil
	case strings.HasPrefix(v, "&"), strings.HasPrefix(v, "*"), strings.HasPrefix(v, "!"):
		return nil, p.errorf("anchors, aliases and tags are not supported")
	case strings.HasPrefix(v, `"`), strings.HasPrefix(v, "'"):
		q, n, err := quoted(v)
		if err != nil {
			return nil, p.errorf("%v", err)
		}
		if rest := strings.TrimSpace(v[n:]); rest != "" && !strings.HasPrefix(rest, "#") {
			return nil, p.errorf("text after a quoted scalar")
		}
		p.i++
		return q, nil
	}
	p.i++
	return plain(strings.TrimSpace(stripComment(v))), nil
}

// plain is a plain scalar's value: YAML's null spellings read as empty, as a
// missing field does.
func plain(v string) string {
	switch v {
	case "~", "null", "Null", "NULL":
		return ""
	}
	return v
}

// blockScalar reads a literal (|) or folded (>) scalar: the lines indented
// more than indent.
func (p *parser) blockScalar(head string, indent int) (any, error) {
	literal := head[0] == '|'
	chomp := ""
	for _, c := range strings.TrimSpace(stripComment(head[1:])) {
		switch c {
		case '-', '+':
			chomp = string(c)
		default:
			if c < '1' || c > '9' {
				return nil, p.errorf("a block scalar header with %q", string(c))
			}
		}
	}
	p.i++
	var lines []string
	blockIndent := -1
	for p.i < len(p.lines) {
		t := p.lines[p.i].text
		if strings.TrimSpace(t) == "" {
			lines = append(lines, "")
			p.i++
			continue
		}
		in := indentOf(t)
		if in <= indent {
			break
		}
		if blockIndent < 0 {
			blockIndent = in
		}
		if in < blockIndent {
			return nil, p.errorf("a block scalar line less indented than its first")
		}
		lines = append(lines, t[blockIndent:])
		p.i++
	}
	// Trailing blank lines belong to the chomping, not to the next key.
	trail := 0
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
		trail++
	}
	var s string
	if literal {
		s = strings.Join(lines, "\n")
	} else {
		s = strings.Join(lines, " ")
	}
	switch chomp {
	case "-":
	case "+":
		s += strings.Repeat("\n", trail+1)
	default:
		if len(lines) > 0 {
			s += "\n"
		}
	}
	return s, nil
}

// stripComment drops a " #" comment from a plain value.
func stripComment(s string) string {
	inS, inD := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'' && !inD:
			inS = !inS
		case c == '"' && !inS:
			inD = !inD
		case c == '\\' && inD:
			i++
		case c == '#' && !inS && !inD && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i]
		}
	}
	return s
}

// quoted reads a quoted scalar at the start of s; n is how many bytes it
// took.
func quoted(s string) (string, int, error) {
	if s[0] == '\'' {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				return b.String(), i + 1, nil
			}
			b.WriteByte(s[i])
		}
		return "", 0, errors.New("a single-quoted scalar does not end on its line")
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			v, err := strconv.Unquote(yamlToGoEscapes(s[:i+1]))
			if err != nil {
				return "", 0, errors.New("a double-quoted scalar with a bad escape")
			}
			return v, i + 1, nil
		}
	}
	return "", 0, errors.New("a double-quoted scalar does not end on its line")
}

// yamlToGoEscapes rewrites the escapes YAML has and Go's strconv lacks.
func yamlToGoEscapes(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	r := strings.NewReplacer(`\/`, `/`, `\ `, ` `, `\0`, `\x00`, `\e`, `\x1b`, `\N`, "\u0085", `\_`, "\u00a0", `\L`, "\u2028", `\P`, "\u2029")
	return r.Replace(s)
}

func cut(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// flow reads a flow collection of scalars and flow collections.
type flow struct {
	s string
	i int
}

func (f *flow) ws() {
	for f.i < len(f.s) && (f.s[f.i] == ' ' || f.s[f.i] == '\t') {
		f.i++
	}
}

func (f *flow) value(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("nested more than %d levels", MaxDepth)
	}
	f.ws()
	if f.i >= len(f.s) {
		return nil, errors.New("a flow collection does not end on its line")
	}
	switch f.s[f.i] {
	case '[':
		f.i++
		out := []any{}
		for {
			f.ws()
			if f.i < len(f.s) && f.s[f.i] == ']' {
				f.i++
				return out, nil
			}
			v, err := f.value(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			f.ws()
			if f.i < len(f.s) && f.s[f.i] == ',' {
				f.i++
				continue
			}
			if f.i < len(f.s) && f.s[f.i] == ']' {
				f.i++
				return out, nil
			}
			return nil, errors.New("a flow sequence without ',' or ']'")
		}
	case '{':
		f.i++
		out := map[string]any{}
		for {
			f.ws()
			if f.i < len(f.s) && f.s[f.i] == '}' {
				f.i++
				return out, nil
			}
			k, err := f.scalar(true)
			if err != nil {
				return nil, err
			}
			f.ws()
			if f.i >= len(f.s) || f.s[f.i] != ':' {
				return nil, errors.New("a flow mapping key without ':'")
			}
			f.i++
			v, err := f.value(depth + 1)
			if err != nil {
				return nil, err
			}
			if _, dup := out[k]; dup {
				return nil, fmt.Errorf("key %s given twice", strconv.Quote(cut(k)))
			}
			out[k] = v
			f.ws()
			if f.i < len(f.s) && f.s[f.i] == ',' {
				f.i++
				continue
			}
			if f.i < len(f.s) && f.s[f.i] == '}' {
				f.i++
				return out, nil
			}
			return nil, errors.New("a flow mapping without ',' or '}'")
		}
	}
	return f.scalar(false)
}

func (f *flow) scalar(key bool) (string, error) {
	f.ws()
	if f.i < len(f.s) && (f.s[f.i] == '"' || f.s[f.i] == '\'') {
		v, n, err := quoted(f.s[f.i:])
		if err != nil {
			return "", err
		}
		f.i += n
		return v, nil
	}
	start := f.i
	for f.i < len(f.s) {
		c := f.s[f.i]
		if c == ',' || c == ']' || c == '}' {
			break
		}
		// In a flow collection ':' is an indicator only before a space, a
		// flow indicator or the end; elsewhere it is part of the scalar.
		if key && c == ':' && (f.i+1 == len(f.s) || strings.IndexByte(" ,]}", f.s[f.i+1]) >= 0) {
			break
		}
		if c == '#' && f.i > start && f.s[f.i-1] == ' ' {
			break
		}
		f.i++
	}
	v := strings.TrimSpace(f.s[start:f.i])
	if !key {
		v = plain(v)
	}
	if v != "" && strings.ContainsAny(v[:1], "&*!|>%@`?-") && (len(v) == 1 || v[1] == ' ' || strings.ContainsAny(v[:1], "&*!|>%@`")) {
		return "", errors.New("an indicator YAML reads otherwise")
	}
	return v, nil
}
