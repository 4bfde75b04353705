package spec

import (
	"strconv"
	"strings"
)

// Problem is one broken rule of one request.
type Problem struct {
	Origin string // where the request came from, e.g. `--secret #2`
	Key    string // the request's key as given; it may be hostile, String quotes it
	Rule   string // what is wrong; names in it are already quoted where needed
}

// String reads `--secret #2 (key "my.secret"): Invalid environment variable name: ...`.
func (p Problem) String() string {
	return Describe(p.Origin, p.Key, "") + ": " + p.Rule
}

// Describe is the one way messages name a request: by where it came from,
// its key and its group, `--secret #2 (key "k", group "g")`, or `key "k"`
// without an origin. Names are quoted and cut short (Quote); a value never
// appears.
func Describe(origin, key, group string) string {
	var b strings.Builder
	if origin != "" {
		b.WriteString(origin)
		b.WriteString(" (")
	}
	b.WriteString("key ")
	b.WriteString(quote(key))
	if group != "" {
		b.WriteString(", group ")
		b.WriteString(quote(group))
	}
	if origin != "" {
		b.WriteByte(')')
	}
	return b.String()
}

// Describe names the request, as the package-level Describe does.
func (r Request) Describe() string { return Describe(r.Origin, r.Key, r.Group) }

// Bare shows a name as it is when it is short printable ASCII without
// spaces, and as Quote does otherwise.
func Bare(s string) string { return bare(s) }

// Quote quotes a name for a message as Go's %q does, keeping the first 64
// bytes of a longer one and saying how long it was: a hostile 10 KB key must
// not flood the terminal or the logs.
func Quote(s string) string { return quote(s) }

// Error is what Validate returns: every problem of every request, so that a
// user fixes them all in one go.
type Error struct {
	Problems []Problem
}

// Error lists the problems one per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// maxShown is how many bytes of a name or flag value a message shows. A
// hostile 10 KB key must not flood the terminal or the logs.
const maxShown = 64

// quote quotes s as Go's %q does (a NUL shows as \x00), keeping the first
// maxShown bytes of a longer s and saying how long it was.
func quote(s string) string {
	if len(s) <= maxShown {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:maxShown]) + "...(" + strconv.Itoa(len(s)) + " bytes)"
}

// bare shows a name as it is when it is short printable ASCII without
// spaces, so that the exact Flyte texts read as Flyte prints them
// (`Invalid environment variable name: MY.SECRET, ...`), and quotes it
// otherwise.
func bare(s string) string {
	if s == "" || len(s) > maxShown {
		return quote(s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return quote(s)
		}
	}
	return s
}
