package entry

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exec"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/registry"
)

// WatchOptions say how --watch keeps the secrets current.
type WatchOptions struct {
	// Refresh is how often a remote backend is polled, and a directory
	// that cannot be watched (jittered by up to a tenth either way).
	Refresh time.Duration
	// ReloadSignal goes to the command's process group after each
	// republish; 0 sends nothing.
	ReloadSignal syscall.Signal
	// RestartOnEnvChange restarts the command when a secret it has in its
	// environment changed; else the change is logged.
	RestartOnEnvChange bool
	// Debounce is how long the sources must be quiet before a change is
	// acted on; 0 is DefaultDebounce.
	Debounce time.Duration
	// NoNotify makes every source polled, as when inotify is not
	// available (a test seam, and an escape hatch).
	NoNotify bool
}

// DefaultDebounce is the quiet time after the last event of a burst: one
// kubelet update (a new version directory, a ..data_tmp symlink, its rename
// over ..data, the old version's removal) or one create secret (a temporary
// file, its rename) is one republish.
const DefaultDebounce = 25 * time.Millisecond

// watcher keeps one running command's secrets current. It runs on its own
// goroutine; the command's Wait runs on the start's.
type watcher struct {
	plan    *Plan
	child   *exec.Child
	opts    WatchOptions
	log     *log.Logger
	values  []secret.Value // by request: the value in use (files and env)
	found   []bool
	version string // the mount version in use

	paths   []string // directories to watch
	poll    bool     // some source must be polled
	trigger chan string
}

func newWatcher(plan *Plan, staged *Staged, outs []Outcome, child *exec.Child, opts WatchOptions) *watcher {
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	w := &watcher{
		plan:    plan,
		child:   child,
		opts:    opts,
		log:     plan.log.Named("watch"),
		values:  make([]secret.Value, len(outs)),
		found:   make([]bool, len(outs)),
		trigger: make(chan string, 1),
	}
	for i, o := range outs {
		w.values[i], w.found[i] = o.Result.Value, o.Result.Found
	}
	var groups []string
	for _, r := range plan.Requests {
		if r.Group != "" && !slices.Contains(groups, r.Group) {
			groups = append(groups, r.Group)
		}
	}
	settings := registry.Settings{Environ: plan.cfg.Environ, Values: plan.cfg.Options}
	for _, name := range plan.cfg.Backends {
		b, ok := registry.Find(name)
		switch {
		case !ok:
		case b.Remote:
			w.poll = true
		case b.Watch != nil:
			w.paths = append(w.paths, b.Watch(settings, groups)...)
		}
	}
	return w
}

// start runs the watch until the returned stop is called.
func (w *watcher) start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.run(ctx)
	}()
	return func() { cancel(); wg.Wait() }
}

func (w *watcher) run(ctx context.Context) {
	notify, err := w.notify(ctx)
	if err != nil {
		w.log.Warn("cannot watch for changes; polling instead", log.Err(err), log.Duration("refresh", w.opts.Refresh))
		w.poll = true
	}
	if notify != nil {
		defer notify.Close()
		// A change between the start's resolve and these watches made no
		// event: look once, now that every change from here on makes one.
		// (Nothing changed is a debug line, and no signal.)
		w.poke("watch start")
	}
	w.log.Info("watching the secrets for changes", log.Int("dirs", len(w.paths)), log.Bool("polling", w.poll), log.Duration("refresh", w.opts.Refresh))

	var pollC <-chan time.Time
	var pollT *time.Timer
	if w.poll {
		pollT = time.NewTimer(w.jitter())
		defer pollT.Stop()
		pollC = pollT.C
	}
	var quiet *time.Timer
	var quietC <-chan time.Time
	var first time.Time // the first event of the burst being debounced
	var why string
	for {
		select {
		case <-ctx.Done():
			if quiet != nil {
				quiet.Stop()
			}
			return
		case why = <-w.trigger:
			if first.IsZero() {
				first = time.Now()
			}
			if quiet == nil {
				quiet = time.NewTimer(w.opts.Debounce)
				quietC = quiet.C
			} else {
				quiet.Reset(w.opts.Debounce)
			}
			continue
		case <-quietC:
			quiet, quietC = nil, nil
		case <-pollC:
			pollT.Reset(w.jitter())
			first, why = time.Now(), "poll"
		}
		w.refresh(ctx, first, why)
		first = time.Time{}
	}
}

// jitter is the next poll's wait: Refresh, give or take a tenth.
func (w *watcher) jitter() time.Duration {
	d := w.opts.Refresh
	return d - d/10 + rand.N(d/5+1)
}

// poke asks for a refresh, without blocking: one pending is enough.
func (w *watcher) poke(why string) {
	select {
	case w.trigger <- why:
	default:
	}
}

// notify watches each directory that exists with inotify, feeding events
// to the trigger. A directory that does not exist yet is watched through
// its parent; one that cannot be watched at all makes the watch poll.
func (w *watcher) notify(ctx context.Context) (*fsnotify.Watcher, error) {
	if len(w.paths) == 0 {
		return nil, nil
	}
	if w.opts.NoNotify {
		return nil, errors.New("inotify is turned off")
	}
	nw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	watched := map[string]bool{}
	// ensure watches dir, or, while it does not exist, the nearest
	// ancestor that does, to see it appear.
	ensure := func(dir string) error {
		mu.Lock()
		defer mu.Unlock()
		for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
			if watched[d] {
				return nil
			}
			err := nw.Add(d)
			if err == nil {
				watched[d] = true
				return nil
			}
			if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) || d == filepath.Dir(d) {
				return err
			}
		}
	}
	for _, p := range w.paths {
		if err := ensure(p); err != nil {
			nw.Close()
			return nil, err
		}
	}
	// under reports whether a directory just made is one of the paths, or
	// on the way to one.
	under := func(name string) bool {
		name = filepath.Clean(name)
		for _, p := range w.paths {
			p = filepath.Clean(p)
			if p == name || strings.HasPrefix(p, name+string(filepath.Separator)) {
				return true
			}
		}
		return false
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-nw.Events:
				if !ok {
					return
				}
				if ev.Has(fsnotify.Create) && under(ev.Name) {
					for _, p := range w.paths {
						if err := ensure(p); err != nil {
							w.log.Warn("cannot watch a new directory", log.String("dir", p), log.Err(err))
						}
					}
					w.poke("a directory appeared")
				}
				if relevant(ev) {
					w.poke("change")
				}
			case err, ok := <-nw.Errors:
				if !ok {
					return
				}
				// An overflow lost events: look again, to be sure.
				w.log.Warn("the watch reported an error; looking again", log.Err(err))
				w.poke("watch error")
			}
		}
	}()
	return nw, nil
}

// relevant keeps the events that can change a value: a plain file's
// write, create, rename or removal, and Kubernetes' one rename of ..data.
// The steps before that rename (..<timestamp> directories, ..data_tmp)
// and temporary dot-files are skipped, and so are mode changes.
func relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	base := filepath.Base(ev.Name)
	if base == "..data" {
		return ev.Has(fsnotify.Create) // the rename over it
	}
	return !strings.HasPrefix(base, ".")
}

// refresh re-resolves through the same chain and rules as the start, and
// makes what changed current: the files as one new version, then the
// reload signal; a changed environment restarts the command only when
// asked. A failure keeps everything as it is.
func (w *watcher) refresh(ctx context.Context, since time.Time, why string) {
	outs, err := w.plan.Resolve(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("the secrets could not be resolved again; keeping the current ones", log.String("trigger", why), log.Err(err))
		}
		return
	}
	staged, err := w.plan.Stage(outs)
	if err != nil {
		w.log.Error("the new values do not pass the checks; keeping the current ones", log.String("trigger", why), log.Err(err))
		return
	}
	var files, env []string
	for i, o := range outs {
		if o.Result.Found == w.found[i] && (!o.Result.Found || o.Result.Value.Equal(w.values[i])) {
			continue
		}
		r := o.Request
		if r.File {
			files = append(files, r.Describe())
		}
		if r.EnvVar != "" && !r.EnvIsPath {
			env = append(env, r.Describe())
		}
	}
	if len(files) == 0 && len(env) == 0 {
		w.log.Debug("nothing changed", log.String("trigger", why), log.Int("goroutines", runtime.NumGoroutine()))
		return
	}
	old := w.version
	if len(files) > 0 {
		// An empty set is published too when the last file secret is gone
		// (an optional one): its name must go with it.
		pending, err := w.plan.Prepare(staged)
		if err == nil && pending != nil {
			err = pending.Switch()
			if err == nil {
				pending.Finish()
				w.version = pending.Version()
			}
		}
		if err != nil {
			w.log.Error("could not republish the secret files; keeping the current ones", log.Err(err))
			return
		}
	}
	for i, o := range outs {
		w.values[i], w.found[i] = o.Result.Value, o.Result.Found
	}
	restarted := false
	if len(env) > 0 {
		if w.opts.RestartOnEnvChange {
			if err := w.child.Restart(staged.Env); err != nil {
				w.log.Error("could not restart the command with the new environment", log.Strings("secrets", env), log.Err(err))
			} else {
				restarted = true
				w.log.Info("restarted the command: secrets in its environment changed", log.Strings("secrets", env), log.Duration("after", time.Since(since)))
			}
		} else {
			w.log.Warn("secrets in the command's environment changed; a running process's environment cannot change (--restart-on-env-change restarts it)", log.Strings("secrets", env))
		}
	}
	if len(files) == 0 {
		return
	}
	fields := []log.Field{log.Strings("secrets", files), log.String("old_version", old), log.String("new_version", w.version), log.String("trigger", why)}
	if w.opts.ReloadSignal != 0 && !restarted {
		if err := w.child.Signal(w.opts.ReloadSignal); err != nil {
			w.log.Warn("could not signal the command", log.Err(err))
		}
		fields = append(fields, log.String("signal", unix.SignalName(w.opts.ReloadSignal)))
	}
	fields = append(fields, log.Duration("after", time.Since(since)), log.Int("goroutines", runtime.NumGoroutine()))
	w.log.Info("republished the secret files", fields...)
}
