// Package inject builds the child's environment: the shim's own environment,
// plus the secrets, minus the shim's own credentials.
//
// Two steps, at two moments of a run:
//
//   - CheckNames runs with validation, before any backend is asked. It
//     refuses the names that the dynamic loader or the shell interpret
//     (every LD_* name, PATH and HOME) unless --allow-env lets one through.
//   - Build runs once the values are known. It checks that every value can
//     live in an environment (valid UTF-8, no NUL byte), lets the secrets win
//     over variables already set, removes the shim's credentials, and returns
//     the environment to hand to execve.
//
// Errors and log lines name variables, keys, groups and request origins,
// never a value. Every error from this package is an *Error; the caller maps
// it to exit 65.
package inject

import (
	"bytes"
	"slices"
	"strings"
	"unicode/utf8"

	"go.uber.org/zap/zapcore"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// DefaultDirVar tells the task where the secret files are. Build sets it
// when Options.DefaultDir is not empty.
const DefaultDirVar = "FLYTE_SECRETS_DEFAULT_DIR"

// Assignment sets one variable of the child's environment from a secret.
// Key, Group and Origin name the request in errors and logs.
type Assignment struct {
	Name   string
	Value  secret.Value
	Key    string
	Group  string
	Origin string // e.g. `--secret #2`
}

// NameUse is a request's target variable, checked before any value exists.
type NameUse struct {
	Name   string
	Key    string
	Group  string
	Origin string
}

// Reserved reports whether the loader or the shell interpret name: every
// LD_* name, PATH and HOME. CheckNames refuses these unless allowed.
func Reserved(name string) bool {
	return strings.HasPrefix(name, "LD_") || name == "PATH" || name == "HOME"
}

// CheckNames refuses every use of a reserved name (see Reserved) that is not
// in allow (the --allow-env names, matched exactly). It returns nil or an
// *Error that lists every refused use.
func CheckNames(uses []NameUse, allow []string) error {
	var problems []Problem
	for _, u := range uses {
		if Reserved(u.Name) && !slices.Contains(allow, u.Name) {
			problems = append(problems, Problem{
				Rule: RuleReserved, Name: u.Name, Key: u.Key, Group: u.Group, Origin: u.Origin,
			})
		}
	}
	if len(problems) > 0 {
		return &Error{Problems: problems}
	}
	return nil
}

// Options says what Build removes and adds besides the secrets.
type Options struct {
	// Scrub lists the shim's own credentials: exact variable names that are
	// removed from the child's environment (e.g. VAULT_TOKEN). The caller
	// computes them from its configuration and its backend chain.
	Scrub []string
	// PassEnv lists names from Scrub that stay anyway (--pass-env).
	PassEnv []string
	// DefaultDir, when not empty, is set as FLYTE_SECRETS_DEFAULT_DIR. The
	// caller passes the logical mount path when a file was written.
	DefaultDir string
	// MaxEntry, when not 0, is the most bytes one "NAME=value" string may
	// take with its NUL: what execve takes for one (MAX_ARG_STRLEN).
	MaxEntry int
	// MaxTotal, when not 0, is the most bytes the whole environment may
	// take, each string with its NUL and a pointer (PointerSize bytes)
	// each, once ArgBytes (the command's path and arguments, counted the
	// same way) are taken.
	MaxTotal, ArgBytes, PointerSize int
}

// entry is one variable that Build sets.
type entry struct {
	name  string
	kv    string      // "NAME=value", a slice of one shared string
	a     *Assignment // nil for FLYTE_SECRETS_DEFAULT_DIR
	seen  bool        // a base entry of that name was replaced
	moved bool        // one of those held a different value
}

// Build returns the child's environment: base (the shim's own environment),
// plus sets, minus opts.Scrub (unless in opts.PassEnv), plus
// FLYTE_SECRETS_DEFAULT_DIR when opts.DefaultDir is set.
//
//   - base keeps its order. A variable that a secret sets is replaced where
//     it first appears, and any later entry of the same name is dropped, so
//     that neither the first-wins nor the last-wins reading of an environment
//     can find the old value. Other duplicates in base are left as they are.
//   - Variables that base does not hold are appended in the order of sets,
//     then FLYTE_SECRETS_DEFAULT_DIR.
//   - A secret wins over a variable already set, over a scrubbed name, and
//     over DefaultDir. Each override is logged by name, key and group: at
//     warn when the old value differs, at info when it was the same (a
//     platform that injected the value itself).
//   - Every value must be valid UTF-8 with no NUL byte. Build checks them
//     all first and returns one *Error that lists every failing assignment;
//     then it returns no environment at all.
//
// base and sets are not modified. A nil logger logs nothing.
func Build(base []string, sets []Assignment, opts Options, logger *log.Logger) ([]string, error) {
	if logger == nil {
		logger = log.Nop()
	}

	// Check every assignment before building anything, and size the one
	// string that will hold all the new entries.
	var problems []Problem
	size := 0
	for i := range sets {
		a := &sets[i]
		if !validName(a.Name) {
			problems = append(problems, a.problem(RuleBadName, ""))
			continue
		}
		v := a.Value.Bytes()
		if !utf8.Valid(v) || bytes.IndexByte(v, 0) >= 0 {
			problems = append(problems, a.problem(RuleBinary, ""))
			continue
		}
		if opts.MaxEntry > 0 && len(a.Name)+1+len(v)+1 > opts.MaxEntry {
			p := a.problem(RuleTooLong, "")
			p.Size, p.Limit = len(a.Name)+1+len(v), opts.MaxEntry
			problems = append(problems, p)
			continue
		}
		size += len(a.Name) + 1 + len(v)
	}
	if opts.DefaultDir != "" {
		size += len(DefaultDirVar) + 1 + len(opts.DefaultDir)
	}

	n := len(sets)
	if opts.DefaultDir != "" {
		n++
	}
	index := make(map[string]int, n)
	for i := range sets {
		a := &sets[i]
		if j, dup := index[a.Name]; dup {
			problems = append(problems, a.problem(RuleDuplicate, sets[j].describe()))
			continue
		}
		index[a.Name] = i
	}
	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}

	// One allocation holds every "NAME=value" string; each entry is a slice
	// of it.
	var sb strings.Builder
	sb.Grow(size)
	for i := range sets {
		sb.WriteString(sets[i].Name)
		sb.WriteByte('=')
		sb.Write(sets[i].Value.Bytes())
	}
	if opts.DefaultDir != "" {
		sb.WriteString(DefaultDirVar)
		sb.WriteByte('=')
		sb.WriteString(opts.DefaultDir)
	}
	all := sb.String()

	entries := make([]entry, 0, n)
	off := 0
	for i := range sets {
		a := &sets[i]
		end := off + len(a.Name) + 1 + a.Value.Len()
		entries = append(entries, entry{name: a.Name, kv: all[off:end], a: a})
		off = end
	}
	if opts.DefaultDir != "" {
		if _, set := index[DefaultDirVar]; set {
			logger.Info("a secret sets "+DefaultDirVar+"; it wins over the mount path",
				log.String("name", DefaultDirVar))
		} else {
			index[DefaultDirVar] = len(entries)
			entries = append(entries, entry{name: DefaultDirVar, kv: all[off:]})
		}
	}

	out := make([]string, 0, len(base)+len(entries))
	for _, kv := range base {
		name := kv
		if eq := strings.IndexByte(kv, '='); eq >= 0 {
			name = kv[:eq]
		}
		if i, ok := index[name]; ok {
			e := &entries[i]
			if kv[len(name):] != e.kv[len(name):] {
				e.moved = true
			}
			if !e.seen {
				e.seen = true
				out = append(out, e.kv)
			}
			continue
		}
		if slices.Contains(opts.Scrub, name) {
			if slices.Contains(opts.PassEnv, name) {
				logger.Info("passing the shim's credential to the command (--pass-env)", log.String("name", name))
				out = append(out, kv)
			} else {
				logger.Debug("removing the shim's credential from the command's environment", log.String("name", name))
			}
			continue
		}
		out = append(out, kv)
	}
	for i := range entries {
		e := &entries[i]
		if !e.seen {
			out = append(out, e.kv)
			continue
		}
		logOverride(logger, e)
	}
	if err := checkTotal(out, entries, opts); err != nil {
		return nil, err
	}
	return out, nil
}

// checkTotal refuses an environment that execve would refuse as too big,
// naming the secrets that take the most of it: without them it might fit.
func checkTotal(env []string, entries []entry, opts Options) error {
	if opts.MaxTotal <= 0 {
		return nil
	}
	total := opts.ArgBytes
	for _, kv := range env {
		total += len(kv) + 1 + opts.PointerSize
	}
	if total <= opts.MaxTotal {
		return nil
	}
	var big []*entry
	for i := range entries {
		if entries[i].a != nil {
			big = append(big, &entries[i])
		}
	}
	if len(big) == 0 {
		return nil // the command's own arguments and environment: execve's to refuse
	}
	slices.SortStableFunc(big, func(a, b *entry) int { return len(b.kv) - len(a.kv) })
	var problems []Problem
	for _, e := range big[:min(3, len(big))] {
		p := e.a.problem(RuleTooBig, "")
		p.Size, p.Total, p.Limit = len(e.kv), total, opts.MaxTotal
		problems = append(problems, p)
	}
	return &Error{Problems: problems}
}

func logOverride(logger *log.Logger, e *entry) {
	if e.a == nil {
		logger.Debug("replacing "+DefaultDirVar+" with the mount path", log.String("name", e.name))
		return
	}
	level := zapcore.InfoLevel
	if e.moved {
		level = zapcore.WarnLevel
	}
	if !logger.Enabled(level) {
		return
	}
	fields := []log.Field{log.String("name", e.name), log.String("key", e.a.Key)}
	if e.a.Group != "" {
		fields = append(fields, log.String("group", e.a.Group))
	}
	if e.a.Origin != "" {
		fields = append(fields, log.String("origin", e.a.Origin))
	}
	if e.moved {
		logger.Warn("secret overrides an environment variable that was already set", fields...)
	} else {
		logger.Info("secret sets an environment variable that already held the same value", fields...)
	}
}

// validName is the least an execve environment needs: a name, and no '=' or
// NUL in it. spec enforces the Flyte rule (^[A-Z_][A-Z0-9_]*$) before this.
func validName(name string) bool {
	return name != "" && strings.IndexByte(name, '=') < 0 && strings.IndexByte(name, 0) < 0
}

func (a *Assignment) problem(r Rule, detail string) Problem {
	return Problem{Rule: r, Name: a.Name, Key: a.Key, Group: a.Group, Origin: a.Origin, Detail: detail}
}

func (a *Assignment) describe() string {
	return spec.Describe(a.Origin, a.Key, a.Group)
}
