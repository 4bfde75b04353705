// Package resolver turns a secret request into a value by asking an ordered
// chain of backends.
//
// The first backend that has the secret wins. A backend that answers with
// NotFound passes the request on; any other error stops that request at once,
// so that a flaky backend can never let a weaker one answer in its place.
// Scoped backends (the local store, Kubernetes, AWS) are asked for each
// candidate scope in turn: project+domain, then domain, then org.
//
// The chain asks its links one after another, each for every request that
// the links before it did not settle. A link whose backend is a Batcher gets
// all of its questions at once (every request, every candidate scope), so
// that a remote backend can fetch them in parallel, in batch calls, or once
// per remote object; any other backend is asked one question at a time.
//
// Retries are a wrapper (Retrying) that a remote backend's link is built
// with; the chain itself never retries.
//
// The package knows nothing of files or of the environment: each backend
// lives in its own subpackage, and resolver/registry lists them.
package resolver

import (
	"context"
	"errors"
	"fmt"
	"strconv"

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

// Query is one question for a link: a request, in one scope (the zero Scope
// for an unscoped backend).
type Query struct {
	Ref   Ref
	Scope Scope
}

// Answer is a backend's reply to one Query: a value, or an error (NotFound
// for "not here"). Detail says what was asked where and what came back
// (for k8s: the namespace, the object and the HTTP status), for dry-run and
// explain; never a value.
type Answer struct {
	Value  secret.Value
	Err    error
	Detail string
}

// Batcher is a backend that takes many questions at once. LookupBatch
// returns one Answer per Query, in order. The chain gives it every question
// it may ask: a request's less specific scopes are asked too, and their
// answers ignored when a more specific one decides.
type Batcher interface {
	LookupBatch(ctx context.Context, qs []Query) []Answer
}

// Link is one named backend in a chain. Build it with UnscopedLink,
// ScopedLink or SkippedLink.
type Link struct {
	Name    string
	Backend ScopedBackend // nil when skipped
	Scoped  bool          // asked once per candidate scope; else once, in the zero Scope
	Skip    string        // why it is skipped, e.g. "no directory set"
}

// UnscopedLink wraps an unscoped backend as a scoped one that ignores the
// scope and is asked once per request. A Backend that is also a Batcher
// stays one.
func UnscopedLink(name string, b Backend) Link {
	if bb, ok := b.(batchingBackend); ok {
		return Link{Name: name, Backend: unscopedBatcher{unscoped{bb}, bb}}
	}
	return Link{Name: name, Backend: unscoped{b}}
}

// ScopedLink is a link whose backend is asked once per candidate scope.
func ScopedLink(name string, b ScopedBackend) Link {
	return Link{Name: name, Backend: b, Scoped: true}
}

// SkippedLink is a link that answers nothing, for a reason the trail shows.
func SkippedLink(name, why string) Link { return Link{Name: name, Skip: why} }

type unscoped struct{ b Backend }

func (u unscoped) LookupScoped(ctx context.Context, ref Ref, _ Scope) (secret.Value, error) {
	return u.b.Lookup(ctx, ref)
}

type batchingBackend interface {
	Backend
	Batcher
}

type unscopedBatcher struct {
	unscoped
	Batcher
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
	// Skip is why a skipped backend was skipped; Err what a backend that
	// did not have the secret, or failed, answered. Never a value. Reason
	// gives whichever there is.
	Skip string `json:",omitempty"`
	Err  error  `json:"-"`
	// Detail is the backend's account of the question, when it gives one
	// (Answer.Detail).
	Detail string `json:",omitempty"`
}

// Reason is why the attempt ended as it did: the skip reason, or the text
// of the backend's answer; "" when found. The text is made only when asked
// for: a start that succeeds never needs the not-found messages.
func (a Attempt) Reason() string {
	if a.Err != nil {
		return a.Err.Error()
	}
	return a.Skip
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

// settled reports whether the request needs no more links.
func (r *Result) settled() bool { return r.Found || r.Err != nil }

// Chain asks its links in order.
type Chain struct {
	links      []Link
	candidates []Scope
	scopeErr   error
	log        *log.Logger
}

// NewChain builds a chain over links for the current scope. A nil logger
// discards. The scope is checked here; if it is not valid (see
// Scope.Validate), every request that reaches a scoped backend fails with
// that error.
func NewChain(links []Link, scope Scope, logger *log.Logger) *Chain {
	if logger == nil {
		logger = log.Nop()
	}
	return &Chain{
		links:      append([]Link(nil), links...),
		candidates: scope.Candidates(),
		scopeErr:   scope.Validate(),
		log:        logger,
	}
}

// Resolve asks each link in turn until one has the value or one fails.
// Result.Found false with a nil Err means no backend has it.
func (c *Chain) Resolve(ctx context.Context, ref Ref) Result {
	return c.ResolveAll(ctx, []Ref{ref})[0]
}

// ResolveAll resolves every ref and returns the results in the order of
// refs. Each link is asked for the refs that the links before it left open.
func (c *Chain) ResolveAll(ctx context.Context, refs []Ref) []Result {
	out := make([]Result, len(refs))
	open := make([]int, len(refs))
	for i := range open {
		open[i] = i
	}
	for _, l := range c.links {
		if len(open) == 0 {
			break
		}
		switch {
		case l.Skip != "":
			for _, i := range open {
				c.record(&out[i], refs[i], Attempt{Backend: l.Name, Outcome: OutcomeSkipped, Skip: l.Skip})
			}
			continue
		case l.Backend == nil:
			for _, i := range open {
				c.fail(&out[i], refs[i], l.Name, nil, errors.New("no backend configured"), "")
			}
		case l.Scoped && c.scopeErr != nil:
			for _, i := range open {
				c.fail(&out[i], refs[i], l.Name, nil, fmt.Errorf("scope: %w", c.scopeErr), "")
			}
		default:
			c.ask(ctx, l, refs, open, out)
		}
		next := open[:0]
		for _, i := range open {
			if !out[i].settled() {
				next = append(next, i)
			}
		}
		open = next
	}
	return out
}

// scopes lists the scopes a link is asked in: the candidates for a scoped
// link, the zero Scope (and no scope in the trail) for an unscoped one.
func (c *Chain) scopes(l Link) []*Scope {
	if !l.Scoped {
		return []*Scope{nil}
	}
	out := make([]*Scope, len(c.candidates))
	for i := range c.candidates {
		out[i] = &c.candidates[i]
	}
	return out
}

// ask puts the open refs to one link and records the answers: for each
// ref, the first scope whose answer is not "not found" decides.
func (c *Chain) ask(ctx context.Context, l Link, refs []Ref, open []int, out []Result) {
	scopes := c.scopes(l)
	query := func(i int, sc *Scope) Query {
		q := Query{Ref: refs[i]}
		if sc != nil {
			q.Scope = *sc
		}
		return q
	}
	if b, ok := l.Backend.(Batcher); ok {
		qs := make([]Query, 0, len(open)*len(scopes))
		for _, i := range open {
			for _, sc := range scopes {
				qs = append(qs, query(i, sc))
			}
		}
		answers := b.LookupBatch(ctx, qs)
		for n, i := range open {
			for s, sc := range scopes {
				a := Answer{Err: errors.New("the backend gave no answer")}
				if k := n*len(scopes) + s; k < len(answers) {
					a = answers[k]
				}
				if c.take(&out[i], refs[i], l.Name, sc, a) {
					break
				}
			}
		}
		return
	}
	for _, i := range open {
		for _, sc := range scopes {
			var a Answer
			if err := ctx.Err(); err != nil {
				a.Err = err
			} else {
				q := query(i, sc)
				a.Value, a.Err = l.Backend.LookupScoped(ctx, q.Ref, q.Scope)
			}
			if c.take(&out[i], refs[i], l.Name, sc, a) {
				break
			}
		}
	}
}

// take records one answer. It reports whether it decided the request:
// found, or failed.
func (c *Chain) take(res *Result, ref Ref, backend string, sc *Scope, a Answer) bool {
	switch {
	case a.Err == nil:
		c.record(res, ref, Attempt{Backend: backend, Scope: sc, Outcome: OutcomeFound, Detail: a.Detail})
		res.Value, res.Found, res.Backend, res.Scope = a.Value, true, backend, sc
		return true
	case IsNotFound(a.Err):
		c.record(res, ref, Attempt{Backend: backend, Scope: sc, Outcome: OutcomeNotFound, Err: a.Err, Detail: a.Detail})
		return false
	default:
		c.fail(res, ref, backend, sc, a.Err, a.Detail)
		return true
	}
}

func (c *Chain) fail(res *Result, ref Ref, backend string, sc *Scope, err error, detail string) {
	c.record(res, ref, Attempt{Backend: backend, Scope: sc, Outcome: OutcomeFailed, Err: err, Detail: detail})
	res.Err = fmt.Errorf("backend %q: %w", backend, err)
}

// record appends a to the trail and debug-logs it: key, group, backend,
// scope and outcome. Never a value.
func (c *Chain) record(res *Result, ref Ref, a Attempt) {
	if res.Trail == nil {
		// Room for two (a miss, then the answer) in one allocation.
		res.Trail = make([]Attempt, 0, 2)
	}
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
	if d := a.Reason(); d != "" {
		fields = append(fields, log.String("detail", d))
	}
	c.log.Debug("lookup", fields...)
}
