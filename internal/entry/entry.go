// Package entry runs flyte-entrypoint's phases in their fixed order:
//
//	validation (65) -> resolution (69) -> value checks (65) -> publishing (73)
//
// and leaves the last phase, exec (126/127), to internal/exec. It is the only
// package besides cmd/ that sees every step; each step's own rules live in
// spec, resolver, inject and mountfs. The first phase that fails decides the
// exit code, and its error lists every failure of that phase.
package entry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/inject"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/mountfs"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/registry"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// Exit codes of the shim's own failures (SPEC section 6).
const (
	CodeUsage      = 2
	CodeInvalid    = 65
	CodeUnresolved = 69
	CodeMount      = 73
)

// Error is a failure that carries the exit code of its phase.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func fail(code int, err error) error { return &Error{Code: code, Err: err} }

// Config is everything a run needs, already merged from flags and env.
type Config struct {
	Secrets    []string // --secret values, in order
	Specs      []string // --spec paths, in order
	InlineJSON string   // FLYTE_SECRETS
	Environ    []string // the shim's environment: the env backend's source and the child's base

	Backends []string // the chain, in order
	Dir      string   // the dir backend's directory; "" skips it
	Store    string   // the local store's directory
	Root     string   // prefix for the mount directory only
	Scope    resolver.Scope
	Timeout  time.Duration // overall deadline for resolution

	AllowEnv []string // loader/shell names let through
	PassEnv  []string // credentials let through to the child
	Scrub    []string // the shim's own credentials, removed from the child's environment

	Logger *log.Logger
}

// Plan is a validated set of requests and the chain that will answer them.
type Plan struct {
	cfg      Config
	Requests []spec.Request
	Chain    *resolver.Chain
	log      *log.Logger
}

// Load is the validation phase: it reads every request source, applies the
// Flyte rules and the env-name rules, and builds the chain. No backend is
// asked anything yet.
func Load(cfg Config) (*Plan, error) {
	if cfg.Logger == nil {
		cfg.Logger = log.Nop()
	}
	raws, err := readRequests(cfg)
	if err != nil {
		return nil, fail(CodeInvalid, err)
	}
	reqs, err := spec.Validate(raws)
	if err != nil {
		return nil, fail(CodeInvalid, err)
	}
	if err := inject.CheckNames(nameUses(reqs), cfg.AllowEnv); err != nil {
		return nil, fail(CodeInvalid, err)
	}
	chain, err := NewChain(cfg)
	if err != nil {
		return nil, err
	}
	return &Plan{cfg: cfg, Requests: reqs, Chain: chain, log: cfg.Logger}, nil
}

// NewChain builds the backend chain of cfg. An unknown backend is a usage
// error.
func NewChain(cfg Config) (*resolver.Chain, error) {
	if cfg.Logger == nil {
		cfg.Logger = log.Nop()
	}
	links, err := registry.Build(cfg.Backends, registry.Settings{
		Environ: cfg.Environ,
		Values:  map[string]string{"dir": cfg.Dir, "store": cfg.Store},
		Logger:  cfg.Logger,
	})
	if err != nil {
		return nil, fail(CodeUsage, err)
	}
	return resolver.NewChain(links, cfg.Scope, cfg.Logger.Named("resolver")), nil
}

func readRequests(cfg Config) ([]spec.Raw, error) {
	var raws []spec.Raw
	var errs []error
	for i, s := range cfg.Secrets {
		r, err := spec.ParseFlag(s, i+1)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		raws = append(raws, r)
	}
	for _, name := range cfg.Specs {
		data, err := os.ReadFile(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("read spec %q: %w", name, unwrapPathError(err)))
			continue
		}
		rs, format, err := spec.ParseFile(name, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(rs) == 0 {
			cfg.Logger.Info("spec holds no secret requests", log.String("spec", name), log.String("format", fmt.Sprint(format)))
		}
		raws = append(raws, rs...)
	}
	if cfg.InlineJSON != "" {
		rs, err := spec.ParseSDKJSON("FLYTE_SECRETS", []byte(cfg.InlineJSON))
		if err != nil {
			errs = append(errs, err)
		}
		raws = append(raws, rs...)
	}
	return raws, errors.Join(errs...)
}

// unwrapPathError drops the *PathError wrapper, whose text repeats the path.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func nameUses(reqs []spec.Request) []inject.NameUse {
	var uses []inject.NameUse
	for _, r := range reqs {
		if r.EnvVar != "" {
			uses = append(uses, inject.NameUse{Name: r.EnvVar, Key: r.Key, Group: r.Group, Origin: r.Origin})
		}
	}
	return uses
}

// Outcome is one request and what the chain answered for it.
type Outcome struct {
	Request spec.Request
	Result  resolver.Result
}

// Missing reports whether nothing was found and nothing failed.
func (o Outcome) Missing() bool { return !o.Result.Found && o.Result.Err == nil }

// Resolve is the resolution phase. It asks the chain for every request under
// one overall deadline. Every required request that fails is named in the
// error, with the backends tried; optional ones that are missing are logged.
func (p *Plan) Resolve(ctx context.Context) ([]Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	refs := make([]resolver.Ref, len(p.Requests))
	for i, r := range p.Requests {
		refs[i] = resolver.Ref{Key: r.Key, Group: r.Group, GroupVersion: r.GroupVersion}
		if !r.EnvIsPath {
			// The env backend may take the target variable itself as the
			// value; a variable that holds the file's path is not one.
			refs[i].EnvVar = r.EnvVar
		}
	}
	results := p.Chain.ResolveAll(ctx, refs)
	outs := make([]Outcome, len(p.Requests))
	var failures []string
	for i, r := range p.Requests {
		res := results[i]
		outs[i] = Outcome{Request: r, Result: res}
		switch {
		case res.Found:
			p.log.Debug("secret resolved", log.String("key", r.Key), log.String("group", r.Group),
				log.String("backend", res.Backend), log.Int("bytes", res.Value.Len()))
		case res.Err != nil:
			failures = append(failures, fmt.Sprintf("%s: %v (tried %s)", describe(r), res.Err, tried(res.Trail)))
		case r.Optional:
			p.log.Warn("optional secret not found", log.String("key", r.Key), log.String("group", r.Group),
				log.String("tried", tried(res.Trail)))
		default:
			failures = append(failures, fmt.Sprintf("%s: not found (tried %s)", describe(r), tried(res.Trail)))
		}
	}
	if len(failures) > 0 {
		return outs, fail(CodeUnresolved, fmt.Errorf("%d secret(s) could not be resolved:\n  %s",
			len(failures), strings.Join(failures, "\n  ")))
	}
	return outs, nil
}

// describe names a request by origin, key and group; never by value.
func describe(r spec.Request) string {
	s := fmt.Sprintf("secret %q", r.Key)
	if r.Group != "" {
		s += fmt.Sprintf(" (group %q)", r.Group)
	}
	if r.Origin != "" {
		s += " from " + r.Origin
	}
	return s
}

// tried lists the backends of a trail once each, in order, with the scopes
// that were asked.
func tried(trail []resolver.Attempt) string {
	var parts []string
	for _, a := range trail {
		s := a.Backend
		if a.Scope != nil {
			s += " " + ScopeString(*a.Scope)
		}
		if a.Outcome == resolver.OutcomeSkipped {
			s += " (skipped: " + a.Detail + ")"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "no backend"
	}
	return strings.Join(parts, ", ")
}

// ScopeString prints a scope compactly: org, org/domain, or
// org/project/domain (a project never comes without a domain).
func ScopeString(s resolver.Scope) string {
	out := s.Org
	if s.Project != "" {
		out += "/" + s.Project
	}
	if s.Domain != "" {
		out += "/" + s.Domain
	}
	return out
}

// Staged is what the value checks accepted: the child's environment and the
// files to publish.
type Staged struct {
	Env   []string
	Files []mountfs.File
}

// Stage is the value-check phase: it builds the child's environment (UTF-8
// and NUL checks, overrides, scrubbing) and the list of files.
func (p *Plan) Stage(outs []Outcome) (*Staged, error) {
	var sets []inject.Assignment
	var files []mountfs.File
	for _, o := range outs {
		if !o.Result.Found {
			continue
		}
		r := o.Request
		if r.File {
			files = append(files, mountfs.File{Path: r.FilePath(), Value: o.Result.Value, Key: r.Key, Group: r.Group})
		}
		if r.EnvVar != "" {
			v := o.Result.Value
			if r.EnvIsPath {
				v = secret.New([]byte(r.LogicalPath()))
			}
			sets = append(sets, inject.Assignment{Name: r.EnvVar, Value: v, Key: r.Key, Group: r.Group, Origin: r.Origin})
		}
	}
	opts := inject.Options{Scrub: p.cfg.Scrub, PassEnv: p.cfg.PassEnv}
	if len(files) > 0 {
		opts.DefaultDir = spec.MountPath
	}
	env, err := inject.Build(p.cfg.Environ, sets, opts, p.log.Named("inject"))
	if err != nil {
		return nil, fail(CodeInvalid, err)
	}
	return &Staged{Env: env, Files: files}, nil
}

// Prepare is the publishing phase up to its commit point: it writes the new
// version of the mount, owned by uid:gid (-1 leaves the owner), where no
// reader sees it yet. The caller makes it visible with Commit, or drops it
// with Abort; a nil Pending (no file requests) does neither.
func (p *Plan) Prepare(s *Staged, uid, gid int) (*mountfs.Pending, error) {
	if len(s.Files) == 0 {
		return nil, nil
	}
	pending, err := mountfs.Prepare(mountfs.Options{
		Root:   p.cfg.Root,
		UID:    uid,
		GID:    gid,
		Logger: p.log.Named("mountfs"),
	}, s.Files)
	if err != nil {
		return nil, fail(CodeMount, err)
	}
	return pending, nil
}

// Commit publishes a prepared version with one rename: all files appear at
// once. A nil Pending has nothing to publish.
func Commit(pending *mountfs.Pending) error {
	if pending == nil {
		return nil
	}
	if _, err := pending.Commit(); err != nil {
		return fail(CodeMount, err)
	}
	return nil
}
