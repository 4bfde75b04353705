// Package resolver turns a secret request into a value by asking an ordered
// chain of backends.
//
// The first backend that has the secret wins. A backend that answers with
// NotFound passes the request on; any other error stops that request at once,
// so that a flaky backend can never let a weaker one answer in its place.
// Scoped backends (the local store, Kubernetes) are asked for each candidate
// scope in turn: project+domain, then domain, then org.
//
// The package knows nothing of files or of the environment: each backend
// lives in its own subpackage, and resolver/registry maps names to them.
package resolver

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
)

// Ref is what a backend needs to know about a request.
type Ref struct {
	Key, Group, GroupVersion string
	EnvVar                   string // the variable the request sets, "" for none
}

// Backend is an unscoped backend: it is asked once per request.
type Backend interface {
	Lookup(ctx context.Context, ref Ref) (secret.Value, error)
}

// ScopedBackend is asked once per candidate scope, most specific first.
type ScopedBackend interface {
	LookupScoped(ctx context.Context, ref Ref, scope Scope) (secret.Value, error)
}

// Link is one named backend in a chain.
type Link struct {
	Name    string // "env", "dir", "local", ...
	Backend any    // Backend or ScopedBackend; nil when skipped
	Skip    string // why it is skipped, e.g. "no directory set"

	// Timeout bounds each call to the backend; 0 leaves only ctx to bound it.
	Timeout time.Duration
	// Retries is how many more times a call that failed (with anything but
	// "not found") is tried before the failure stands. It stops early once
	// ctx is done. Local backends leave it 0.
	Retries int
	// Backoff is the wait before the first retry; it doubles for each next one.
	Backoff time.Duration
}

// Outcome is what one backend (in one scope) answered.
type Outcome int

const (
	OutcomeFound Outcome = iota + 1
	OutcomeNotFound
	OutcomeFailed
	OutcomeSkipped
)

// String gives "found", "not found", "failed" or "skipped".
func (o Outcome) String() string {
	switch o {
	case OutcomeFound:
		return "found"
	case OutcomeNotFound:
		return "not found"
	case OutcomeFailed:
		return "failed"
	case OutcomeSkipped:
		return "skipped"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// MarshalText prints String, so JSON reports read "not found", not a number.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Attempt is one question asked of one backend, and its answer.
type Attempt struct {
	Backend string
	Scope   *Scope // the scope asked, for a scoped backend
	Outcome Outcome
	Detail  string // why: the not-found reason, the error, the skip reason; never a value
}

// Result is the answer to one request.
type Result struct {
	Value   secret.Value
	Found   bool
	Backend string    // which backend answered
	Scope   *Scope    // which scope answered, for a scoped backend
	Trail   []Attempt // every backend (and scope) tried, in order, and what it answered
	Err     error     // set when a backend failed with anything but "not found"
}

// Chain asks its links in order.
type Chain struct {
	links      []Link
	candidates []Scope
	scopeErr   error
	log        *log.Logger
	parallel   int
}

// Option tunes a Chain.
type Option func(*Chain)

// WithParallelism bounds how many requests ResolveAll resolves at once
// (default 8). 1 or less resolves them one after another.
func WithParallelism(n int) Option { return func(c *Chain) { c.parallel = n } }

// NewChain builds a chain over links for the current scope. A nil logger
// discards. The scope is checked here; if it is not valid (see
// Scope.Validate), every request that reaches a scoped backend fails with
// that error.
func NewChain(links []Link, scope Scope, logger *log.Logger, opts ...Option) *Chain {
	if logger == nil {
		logger = log.Nop()
	}
	c := &Chain{
		links:      append([]Link(nil), links...),
		candidates: scope.Candidates(),
		scopeErr:   scope.Validate(),
		log:        logger,
		parallel:   8,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Resolve asks each link in turn until one has the value or one fails.
// Result.Found false with a nil Err means no backend has it.
func (c *Chain) Resolve(ctx context.Context, ref Ref) Result {
	var res Result
	for _, l := range c.links {
		if l.Skip != "" {
			c.record(&res, ref, Attempt{Backend: l.Name, Outcome: OutcomeSkipped, Detail: l.Skip})
			continue
		}
		var done bool
		switch b := l.Backend.(type) {
		case ScopedBackend:
			if c.scopeErr != nil {
				c.fail(&res, ref, l.Name, nil, fmt.Errorf("scope: %w", c.scopeErr))
				return res
			}
			for i := range c.candidates {
				sc := &c.candidates[i]
				done = c.ask(ctx, &res, ref, l, sc, func(ctx context.Context) (secret.Value, error) {
					return b.LookupScoped(ctx, ref, *sc)
				})
				if done {
					break
				}
			}
		case Backend:
			done = c.ask(ctx, &res, ref, l, nil, func(ctx context.Context) (secret.Value, error) {
				return b.Lookup(ctx, ref)
			})
		case nil:
			c.fail(&res, ref, l.Name, nil, errors.New("no backend configured"))
			return res
		default:
			c.fail(&res, ref, l.Name, nil, fmt.Errorf("%T is not a resolver.Backend or resolver.ScopedBackend", l.Backend))
			return res
		}
		if done {
			return res
		}
	}
	return res
}

// ask makes one question (with its retries) and records the answer. It
// reports whether resolution is over: found, or failed.
func (c *Chain) ask(ctx context.Context, res *Result, ref Ref, l Link, sc *Scope, f func(context.Context) (secret.Value, error)) bool {
	if err := ctx.Err(); err != nil {
		c.fail(res, ref, l.Name, sc, err)
		return true
	}
	v, tries, err := call(ctx, l, f)
	switch {
	case err == nil:
		a := Attempt{Backend: l.Name, Scope: sc, Outcome: OutcomeFound}
		if tries > 1 {
			a.Detail = "after " + strconv.Itoa(tries) + " tries"
		}
		c.record(res, ref, a)
		res.Value, res.Found, res.Backend, res.Scope = v, true, l.Name, sc
		return true
	case IsNotFound(err):
		c.record(res, ref, Attempt{Backend: l.Name, Scope: sc, Outcome: OutcomeNotFound, Detail: err.Error()})
		return false
	default:
		if tries > 1 {
			err = fmt.Errorf("%w (after %d tries)", err, tries)
		}
		c.fail(res, ref, l.Name, sc, err)
		return true
	}
}

// call runs f under the link's per-call timeout, retrying failures with
// backoff. It returns the number of tries made.
func call(ctx context.Context, l Link, f func(context.Context) (secret.Value, error)) (secret.Value, int, error) {
	backoff := l.Backoff
	for try := 1; ; try++ {
		cctx, cancel := ctx, context.CancelFunc(func() {})
		if l.Timeout > 0 {
			cctx, cancel = context.WithTimeout(ctx, l.Timeout)
		}
		v, err := f(cctx)
		cancel()
		if err == nil || IsNotFound(err) || try > l.Retries || ctx.Err() != nil {
			return v, try, err
		}
		if backoff > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return secret.Value{}, try, fmt.Errorf("%w; gave up retrying: %w", err, ctx.Err())
			case <-t.C:
			}
			backoff *= 2
		}
	}
}

func (c *Chain) fail(res *Result, ref Ref, backend string, sc *Scope, err error) {
	c.record(res, ref, Attempt{Backend: backend, Scope: sc, Outcome: OutcomeFailed, Detail: err.Error()})
	res.Err = fmt.Errorf("backend %q: %w", backend, err)
}

// record appends a to the trail and debug-logs it: key, group, backend,
// scope and outcome. Never a value.
func (c *Chain) record(res *Result, ref Ref, a Attempt) {
	res.Trail = append(res.Trail, a)
	if !c.log.Enabled(zapcore.DebugLevel) {
		return
	}
	fields := []log.Field{
		log.String("key", ref.Key),
		log.String("group", ref.Group),
		log.String("backend", a.Backend),
		log.String("outcome", a.Outcome.String()),
	}
	if a.Scope != nil {
		fields = append(fields, log.String("scope", a.Scope.String()))
	}
	if a.Detail != "" {
		fields = append(fields, log.String("detail", a.Detail))
	}
	c.log.Debug("lookup", fields...)
}

// ResolveAll resolves every ref, a bounded number at a time, and returns the
// results in the order of refs.
func (c *Chain) ResolveAll(ctx context.Context, refs []Ref) []Result {
	out := make([]Result, len(refs))
	n := min(c.parallel, len(refs))
	if n <= 1 {
		for i := range refs {
			out[i] = c.Resolve(ctx, refs[i])
		}
		return out
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(refs) {
					return
				}
				out[i] = c.Resolve(ctx, refs[i])
			}
		})
	}
	wg.Wait()
	return out
}
