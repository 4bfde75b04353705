// Package env is the backend that reads secrets a platform already injected
// into the shim's environment.
//
// Names are tried with each prefix in turn: FLYTE_SECRETS_ENV_PREFIX when it
// is set and not empty, then _UNION_, then _FSEC_ (a prefix is tried once,
// even when the platform's is one of the others). With a group the name is
// <prefix><UPPER(group)>_<UPPER(key)>, without one <prefix><UPPER(key)>.
// Under _UNION_, a request with a group is also looked up without it, right
// after the grouped name: Flyte 2 names its variables _UNION_<UPPER(key)>
// and ignores the group. So a grouped request tries _UNION_<G>_<K>, then
// _UNION_<K>, then _FSEC_<G>_<K>. Hyphens are kept, as the platform keeps
// them; group_version plays no part.
// When FLYTE_SECRETS_ENV_PREFIX is set, the request's own target variable
// counts too (Flyte 2 injects a value straight into it), after the prefixed
// names. A variable that is set but empty is found, with an empty value.
package env

import (
	"context"
	"strings"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// PrefixVar names the variable a platform sets to say which prefix its
// injected secrets carry.
const PrefixVar = "FLYTE_SECRETS_ENV_PREFIX"

// unionPrefix is Flyte 2's prefix, under which a group is ignored.
const unionPrefix = "_UNION_"

// defaultPrefixes are tried after the platform's own prefix.
var defaultPrefixes = []string{unionPrefix, "_FSEC_"}

// Backend looks values up in a snapshot of an environment.
type Backend struct {
	vars       map[string]string
	prefixes   []string
	targetVars bool // the request's own EnvVar counts as found
}

var _ resolver.Backend = (*Backend)(nil)

// New snapshots environ ("NAME=value" entries, as os.Environ gives them).
// Entries without "=" are ignored; of two entries with the same name the
// first wins, as with getenv(3).
func New(environ []string) *Backend {
	b := &Backend{}
	for _, kv := range environ {
		if p, ok := strings.CutPrefix(kv, PrefixVar+"="); ok {
			if p != "" {
				b.prefixes = append(b.prefixes, p)
				b.targetVars = true
			}
			break // the first entry of a name is the one getenv(3) finds
		}
	}
	for _, p := range defaultPrefixes {
		if len(b.prefixes) == 0 || b.prefixes[0] != p {
			b.prefixes = append(b.prefixes, p)
		}
	}
	// Without a platform prefix only the default prefixes' variables can
	// answer, and a pod's environment is mostly other variables: the
	// snapshot keeps only theirs, so that a start does not hash the whole
	// environment (and a run with none looks nothing up).
	vars := make(map[string]string)
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" || !b.targetVars && !b.prefixed(name) {
			continue
		}
		if _, dup := vars[name]; !dup {
			vars[name] = value
		}
	}
	b.vars = vars
	return b
}

// prefixed reports whether name begins with one of the prefixes.
func (b *Backend) prefixed(name string) bool {
	for _, p := range b.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Names lists the variables Lookup tries for ref, in order.
func (b *Backend) Names(ref resolver.Ref) []string {
	if ref.Key == "" {
		return nil
	}
	key := strings.ToUpper(ref.Key)
	suffix := key
	if ref.Group != "" {
		suffix = strings.ToUpper(ref.Group) + "_" + key
	}
	names := make([]string, 0, len(b.prefixes)+2)
	for _, p := range b.prefixes {
		names = append(names, p+suffix)
		if p == unionPrefix && ref.Group != "" {
			names = append(names, p+key)
		}
	}
	if b.targetVars && ref.EnvVar != "" {
		names = append(names, ref.EnvVar)
	}
	return names
}

// Lookup returns the first of Names(ref) that is set. It looks the names
// up without making them (every container start asks it for every secret),
// and its "not found" message is made only if someone reads it.
func (b *Backend) Lookup(ctx context.Context, ref resolver.Ref) (secret.Value, error) {
	if err := ctx.Err(); err != nil {
		return secret.Value{}, err
	}
	if ref.Key == "" {
		return secret.Value{}, resolver.NotFound("empty key")
	}
	if len(b.vars) == 0 {
		return secret.Value{}, b.notFound(ref)
	}
	var buf [256]byte
	for _, p := range b.prefixes {
		name := appendUpper(append(buf[:0], p...), ref.Group, ref.Key)
		if v, ok := b.vars[string(name)]; ok {
			return secret.New([]byte(v)), nil
		}
		if p == unionPrefix && ref.Group != "" {
			name = upper(append(buf[:0], p...), ref.Key)
			if v, ok := b.vars[string(name)]; ok {
				return secret.New([]byte(v)), nil
			}
		}
	}
	if b.targetVars && ref.EnvVar != "" {
		if v, ok := b.vars[ref.EnvVar]; ok {
			return secret.New([]byte(v)), nil
		}
	}
	return secret.Value{}, b.notFound(ref)
}

// notFound names the variables tried, when its text is read.
func (b *Backend) notFound(ref resolver.Ref) error {
	return resolver.NotFoundFunc(func() string {
		names := b.Names(ref)
		for i, n := range names {
			names[i] = spec.Bare(n) // derived from the key: a long or odd one is quoted and cut short
		}
		return "no variable " + strings.Join(names, ", ")
	})
}

// appendUpper appends UPPER(group)_UPPER(key), or UPPER(key) without a
// group, as strings.ToUpper makes them.
func appendUpper(b []byte, group, key string) []byte {
	if group != "" {
		b = upper(b, group)
		b = append(b, '_')
	}
	return upper(b, key)
}

// upper appends strings.ToUpper(s), without its allocation for ASCII.
func upper(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return append(b, strings.ToUpper(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}
