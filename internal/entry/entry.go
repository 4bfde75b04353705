// Package entry is flyte-entrypoint's pipeline. Run takes one start from the
// requests to the command, in a fixed order:
//
//	validate (65) -> resolve (69) -> value checks (65) -> prepare the mount (73)
//	-> pre-start checks (126/127) -> commit the mount -> start
//
// Every check that can fail runs before the commit, the one rename of
// ..data, so that a start is either done whole (the files published and the
// command started) or undone whole: a failure, or a SIGINT or SIGTERM, up
// to the start leaves the mount as it was. The first phase that fails
// decides the exit code, and its error lists every failure of that phase.
//
// Each phase's own rules live in spec, resolver, inject, mountfs and
// internal/exec; this package orders them, and cmd/ only turns flags into a
// Config and an error into an exit code. dry-run and explain use the same
// phases without the last three.
package entry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/inject"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exec"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exit"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/readfile"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/mountfs"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/registry"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// Config is everything a start needs, already merged from flags and
// variables and checked for form by cmd/.
type Config struct {
	Secrets    []string // --secret values, in order
	Specs      []string // --spec paths, in order
	InlineJSON string   // FLYTE_SECRETS
	Environ    []string // the shim's environment: the env backend's source and the child's base

	Backends []string          // the chain, in order
	Options  map[string]string // the backends' own settings, by option name
	Root     string            // prefix for the mount directory only
	Scope    resolver.Scope
	Timeout  time.Duration // overall deadline for resolution

	AllowEnv []string // loader/shell names let through
	PassEnv  []string // credentials let through to the child

	// Command is the task's command line; Command[0] is looked up on the
	// child's PATH.
	Command []string
	// User is the --user the command runs as (nil: the shim's own), and
	// UserErr why it cannot be used (unknown to the image, or not one this
	// process can switch to): the exec phase reports it, after the phases
	// before it.
	User    *exec.Credential
	UserErr error

	// Watch, when set, keeps the secrets current while the command runs
	// (supervise mode only).
	Watch *WatchOptions

	Logger *log.Logger
	// Began is when the process began, for the start line's time; zero is
	// when Run began.
	Began time.Time
}

func (cfg *Config) logger() *log.Logger {
	if cfg.Logger == nil {
		cfg.Logger = log.Nop()
	}
	return cfg.Logger
}

// Starter is the exec phase: exec mode (exec.Execer) or supervise mode
// (*exec.Supervisor).
type Starter interface {
	// During returns a context that a SIGINT or SIGTERM cancels, for a
	// phase that waits, and a function to call when it is over.
	During(ctx context.Context) (context.Context, func())
	// Aborted is an *exit.Error with 128+N once a SIGINT or SIGTERM (signal
	// N) asked to abort the start.
	Aborted() error
	// Start starts the command. Exec mode returns only on failure; a
	// supervisor returns the running child.
	Start(cmd exec.Command) (*exec.Child, error)
	// Replaces reports whether Start replaces the process (exec mode), so
	// that nothing runs after it.
	Replaces() bool
}

// Run is one start, from the requests to the command. It returns when the
// command has ended, with its code as an exit.Silent error (nil for 0), or
// with the error of the first phase that failed. In exec mode it returns
// only on failure.
func Run(ctx context.Context, cfg Config, st Starter) (err error) {
	logger := cfg.logger()
	if cfg.Began.IsZero() {
		cfg.Began = time.Now()
	}
	// A SIGINT or SIGTERM that came during a phase that then failed wins
	// over that phase's code: the start was aborted.
	defer func() {
		if err != nil && !exit.IsSilent(err) {
			if aerr := st.Aborted(); aerr != nil {
				err = aerr
			}
		}
	}()

	plan, err := Load(cfg)
	if err != nil {
		return err
	}
	rctx, stop := st.During(ctx)
	outs, err := plan.Resolve(rctx)
	stop()
	if aerr := st.Aborted(); aerr != nil {
		return aerr
	}
	if err != nil {
		return err
	}
	staged, err := plan.Stage(outs)
	if err != nil {
		return err
	}
	pending, err := plan.Prepare(staged)
	if err != nil {
		return err
	}
	// Until the commit, a failure leaves nothing behind; a version left
	// behind would be a hidden directory holding values: say so.
	defer func() {
		if err := pending.Abort(); err != nil {
			logger.Error("could not remove the prepared mount version", log.Err(err))
		}
	}()
	cmd, err := plan.Check(staged)
	if err != nil {
		return err
	}
	if err := st.Aborted(); err != nil {
		return err
	}
	if pending != nil {
		if err := pending.Switch(); err != nil {
			return exit.With(exit.CantCreate, err)
		}
		if aerr := st.Aborted(); aerr != nil {
			revert(logger, pending)
			return aerr
		}
	}
	if pending != nil && st.Replaces() {
		// Exec mode: nothing runs after execve, so the quick part of the
		// cleanup happens now; old versions are left for the next publish.
		pending.Tidy()
	}
	logStart(logger, cfg.Began, outs, staged, cmd)
	child, err := st.Start(cmd)
	if err != nil {
		revert(logger, pending)
		return err
	}
	if pending != nil {
		// The command runs: now retire the old versions, which can take
		// long, and which no signal can leave half done any more.
		pending.Finish()
	}
	if child == nil {
		return nil
	}
	// Only now, with the mount directory's work done as its owner: a
	// supervisor that gives up root can't get it back.
	child.DropPrivileges()
	if cfg.Watch != nil {
		w := newWatcher(plan, staged, outs, child, *cfg.Watch)
		if pending != nil {
			w.version = pending.Version()
		}
		stop := w.start(ctx)
		code := child.Wait()
		stop()
		return exit.Silent(code)
	}
	return exit.Silent(child.Wait())
}

// revert undoes a switched publish; what it cannot undo is logged.
func revert(l *log.Logger, p *mountfs.Pending) {
	if err := p.Revert(); err != nil {
		l.Error("could not put the previous secret files back", log.Err(err))
	}
}

// Plan is a validated set of requests and the chain that will answer them.
type Plan struct {
	cfg      Config
	Requests []spec.Request
	Chain    *resolver.Chain
	log      *log.Logger
	pub      *mountfs.Publisher // made by the first Prepare, kept for --watch
}

// Load is the validation phase: it reads every request source, applies the
// Flyte rules and the env-name rules, and builds the chain. No backend is
// asked anything yet.
func Load(cfg Config) (*Plan, error) {
	logger := cfg.logger()
	raws, err := readRequests(cfg)
	if err != nil {
		return nil, exit.With(exit.Invalid, err)
	}
	reqs, err := spec.Validate(raws)
	if err != nil {
		return nil, exit.With(exit.Invalid, err)
	}
	if err := inject.CheckNames(nameUses(reqs), cfg.AllowEnv); err != nil {
		return nil, exit.With(exit.Invalid, err)
	}
	chain, err := NewChain(cfg)
	if err != nil {
		return nil, err
	}
	return &Plan{cfg: cfg, Requests: reqs, Chain: chain, log: logger}, nil
}

// NewChain builds the backend chain of cfg. An unknown backend, or a bad
// setting of one, is a usage error.
func NewChain(cfg Config) (*resolver.Chain, error) {
	logger := cfg.logger()
	links, err := registry.Build(cfg.Backends, registry.Settings{
		Environ: cfg.Environ,
		Values:  cfg.Options,
		Logger:  logger,
	})
	if err != nil {
		return nil, exit.With(exit.Usage, err)
	}
	return resolver.NewChain(links, cfg.Scope, logger.Named("resolver")), nil
}

func readRequests(cfg Config) ([]spec.Raw, error) {
	raws := make([]spec.Raw, 0, len(cfg.Secrets))
	var errs []error
	if len(cfg.Secrets) > spec.MaxRequests {
		return nil, fmt.Errorf("%d --secret flags, more than the limit of %d", len(cfg.Secrets), spec.MaxRequests)
	}
	for i, s := range cfg.Secrets {
		r, err := spec.ParseFlag(s, i+1)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		raws = append(raws, r)
	}
	for _, name := range cfg.Specs {
		data, err := readfile.Regular(name, readfile.MaxSpec)
		if err != nil {
			errs = append(errs, fmt.Errorf("read spec %q: %w", name, err))
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
	if len(raws) > spec.MaxRequests {
		errs = append(errs, fmt.Errorf("%d secret requests from every source together, more than the limit of %d", len(raws), spec.MaxRequests))
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
	uses := make([]inject.NameUse, 0, len(reqs))
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
	var failures, keys []string
	for i, r := range p.Requests {
		res := results[i]
		outs[i] = Outcome{Request: r, Result: res}
		switch {
		case res.Found:
			p.log.Debug("secret resolved", log.String("key", r.Key), log.String("group", r.Group),
				log.String("backend", res.Backend), log.Int("bytes", res.Value.Len()))
		case res.Err != nil:
			failures = append(failures, fmt.Sprintf("%s: %v (tried %s)", r.Describe(), res.Err, Tried(res.Trail)))
			keys = append(keys, r.Key)
		case r.Optional:
			p.log.Warn("optional secret not found", log.String("key", r.Key), log.String("group", r.Group),
				log.String("tried", Tried(res.Trail)))
		default:
			failures = append(failures, fmt.Sprintf("%s: not found (tried %s)", r.Describe(), Tried(res.Trail)))
			keys = append(keys, r.Key)
		}
	}
	if len(failures) > 0 {
		err := fmt.Errorf("%d secret(s) could not be resolved:\n  %s", len(failures), strings.Join(failures, "\n  "))
		return outs, &exit.Error{Code: exit.Unresolved, Err: err, Keys: keys}
	}
	return outs, nil
}

// Tried lists the backends of a trail in order, with the scopes that were
// asked.
func Tried(trail []resolver.Attempt) string {
	var parts []string
	for _, a := range trail {
		s := a.Backend
		if a.Scope != nil {
			s += " " + a.Scope.String()
		}
		if a.Outcome == resolver.OutcomeSkipped {
			s += " (skipped: " + a.Skip + ")"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "no backend"
	}
	return strings.Join(parts, ", ")
}

// Staged is what the value checks accepted: the child's environment and the
// files to publish.
type Staged struct {
	Env   []string
	Files []mountfs.File
	// SecretPATH says a secret sets PATH (--allow-env PATH): no message
	// may show it.
	SecretPATH bool
}

// Stage is the value-check phase: it builds the child's environment (UTF-8
// and NUL checks, overrides, scrubbing, and the sizes execve takes) and the
// list of files.
func (p *Plan) Stage(outs []Outcome) (*Staged, error) {
	sets := make([]inject.Assignment, 0, len(outs))
	var files []mountfs.File
	st := &Staged{}
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
			st.SecretPATH = st.SecretPATH || r.EnvVar == "PATH"
		}
	}
	opts := inject.Options{
		Scrub:       registry.Credentials(p.cfg.Backends),
		PassEnv:     p.cfg.PassEnv,
		MaxEntry:    exec.MaxArgStrlen,
		MaxTotal:    exec.ArgMax(),
		PointerSize: 8,
	}
	if len(p.cfg.Command) > 0 {
		// The command's path is not known yet; its name stands in for it,
		// and the pre-start checks count again with the real one.
		opts.ArgBytes = exec.ArgSize(p.cfg.Command[0], p.cfg.Command, nil)
	}
	if len(files) > 0 {
		opts.DefaultDir = spec.MountPath
	}
	env, err := inject.Build(p.cfg.Environ, sets, opts, p.log.Named("inject"))
	if err != nil {
		return nil, exit.With(exit.Invalid, err)
	}
	st.Env, st.Files = env, files
	return st, nil
}

// Prepare is the publishing phase up to its commit point: it writes the new
// version of the mount, owned by the command's user, where no reader sees it
// yet. A nil Pending (no file requests) has nothing to commit.
func (p *Plan) Prepare(s *Staged) (*mountfs.Pending, error) {
	if len(s.Files) == 0 && p.pub == nil {
		// Nothing to write, and nothing written before to take away (a
		// republish of no files, after some, removes their names).
		return nil, nil
	}
	if p.pub == nil {
		uid, gid := -1, -1
		if u := p.cfg.User; u != nil && p.cfg.UserErr == nil {
			uid, gid = int(u.UID), int(u.GID)
		}
		p.pub = mountfs.NewPublisher(mountfs.Options{
			Root:   p.cfg.Root,
			UID:    uid,
			GID:    gid,
			Logger: p.log.Named("mountfs"),
		})
	}
	pending, err := p.pub.Prepare(s.Files)
	if err != nil {
		return nil, exit.With(exit.CantCreate, mountHint(err, p.cfg.Root))
	}
	return pending, nil
}

// mountHint adds the way out to a mount that a user other than root may
// not write, without --root: the three set-ups that work.
func mountHint(err error, root string) error {
	if root != "" || !errors.Is(err, fs.ErrPermission) || os.Geteuid() == 0 {
		return err
	}
	return fmt.Errorf("%w; as uid %d the shim can't write %s: mount a writable memory-backed emptyDir there (emptyDir: {medium: Memory}), or run the shim as root with --user for the command, or give --root DIR to publish under DIR instead (for a test)",
		err, os.Geteuid(), spec.MountPath)
}

// Check is the pre-start phase: everything that could stop the command from
// starting, checked before the commit. The user must be usable; the command
// must be found on the child's PATH and be executable by that user, with
// an interpreter it may run; and its arguments and environment must fit
// what execve takes.
func (p *Plan) Check(s *Staged) (exec.Command, error) {
	if p.cfg.UserErr != nil {
		return exec.Command{}, p.cfg.UserErr
	}
	if len(p.cfg.Command) == 0 {
		return exec.Command{}, exit.Errorf(exit.Usage, "no command")
	}
	name := p.cfg.Command[0]
	search := exec.Search{PATH: lookupEnv(s.Env, "PATH"), Secret: s.SecretPATH, Cred: p.cfg.User}
	path, err := search.LookPath(name)
	if err != nil {
		return exec.Command{}, err
	}
	cmd := exec.Command{Name: name, Path: path, Argv: p.cfg.Command, Env: s.Env, Cred: p.cfg.User}
	if !s.SecretPATH {
		cmd.Name = path
	}
	if err := exec.CheckInterpreter(path, cmd.Name, p.cfg.User); err != nil {
		return exec.Command{}, err
	}
	if err := exec.CheckArgs(cmd.Name, path, cmd.Argv, cmd.Env); err != nil {
		return exec.Command{}, err
	}
	return cmd, nil
}

func lookupEnv(environ []string, name string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == name {
			return v
		}
	}
	return ""
}
