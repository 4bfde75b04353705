package resolver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/resolvertest"
)

// failing is a backend that fails every lookup and counts its calls.
func failing(err error, calls *atomic.Int32) *resolvertest.Backend {
	return &resolvertest.Backend{LookupFunc: func(context.Context, resolver.Ref) (secret.Value, error) {
		if calls != nil {
			calls.Add(1)
		}
		return secret.Value{}, err
	}}
}

// scopedMap answers from values keyed by ScopedID, and appends every scope it
// is asked to asked.
func scopedMap(values map[string]string, asked *[]resolver.Scope) *resolvertest.ScopedBackend {
	var mu sync.Mutex
	return &resolvertest.ScopedBackend{LookupScopedFunc: func(_ context.Context, ref resolver.Ref, s resolver.Scope) (secret.Value, error) {
		mu.Lock()
		defer mu.Unlock()
		if asked != nil {
			*asked = append(*asked, s)
		}
		if v, ok := values[resolver.ScopedID(s, ref.Key)]; ok {
			return secret.New([]byte(v)), nil
		}
		return secret.Value{}, resolver.NotFound("no %s", resolver.ScopedID(s, ref.Key))
	}}
}

type step struct {
	backend string
	scope   *resolver.Scope
	outcome resolver.Outcome
}

func trailOf(r resolver.Result) []step {
	var out []step
	for _, a := range r.Trail {
		out = append(out, step{a.Backend, a.Scope, a.Outcome})
	}
	return out
}

func sc(org, project, domain string) *resolver.Scope {
	return &resolver.Scope{Org: org, Project: project, Domain: domain}
}

func TestChainResolve(t *testing.T) {
	boom := errors.New("connection refused")
	pd := resolver.Scope{Org: "flyte", Project: "p", Domain: "d"}
	tests := []struct {
		name        string
		links       func(calls *atomic.Int32) []resolver.Link
		scope       resolver.Scope
		key         string
		wantFound   bool
		wantValue   string
		wantBackend string
		wantScope   *resolver.Scope
		wantTrail   []step
		wantErr     string
		wantCalls   int32 // calls made to the backend counted by calls
	}{
		{
			name: "first backend wins",
			links: func(*atomic.Int32) []resolver.Link {
				return []resolver.Link{
					resolver.UnscopedLink("env", resolvertest.Map(map[string]string{"k": "from-env"})),
					resolver.UnscopedLink("dir", resolvertest.Map(map[string]string{"k": "from-dir"})),
				}
			},
			key: "k", wantFound: true, wantValue: "from-env", wantBackend: "env",
			wantTrail: []step{{"env", nil, resolver.OutcomeFound}},
		},
		{
			name: "not found falls through",
			links: func(*atomic.Int32) []resolver.Link {
				return []resolver.Link{
					resolver.UnscopedLink("env", resolvertest.Map(nil)),
					resolver.UnscopedLink("dir", resolvertest.Map(map[string]string{"k": "from-dir"})),
				}
			},
			key: "k", wantFound: true, wantValue: "from-dir", wantBackend: "dir",
			wantTrail: []step{{"env", nil, resolver.OutcomeNotFound}, {"dir", nil, resolver.OutcomeFound}},
		},
		{
			name: "found nowhere",
			links: func(*atomic.Int32) []resolver.Link {
				return []resolver.Link{resolver.UnscopedLink("env", resolvertest.Map(nil)), resolver.UnscopedLink("dir", resolvertest.Map(nil))}
			},
			key:       "k",
			wantTrail: []step{{"env", nil, resolver.OutcomeNotFound}, {"dir", nil, resolver.OutcomeNotFound}},
		},
		{
			name: "an error stops and does not fall through",
			links: func(calls *atomic.Int32) []resolver.Link {
				return []resolver.Link{
					resolver.UnscopedLink("env", resolvertest.Map(nil)),
					resolver.UnscopedLink("vault", failing(boom, nil)),
					resolver.UnscopedLink("dir", &resolvertest.Backend{LookupFunc: func(context.Context, resolver.Ref) (secret.Value, error) {
						calls.Add(1)
						return secret.New([]byte("weaker")), nil
					}}),
				}
			},
			key:       "k",
			wantTrail: []step{{"env", nil, resolver.OutcomeNotFound}, {"vault", nil, resolver.OutcomeFailed}},
			wantErr:   `backend "vault": connection refused`,
		},
		{
			name: "a wrapped not found falls through",
			links: func(*atomic.Int32) []resolver.Link {
				return []resolver.Link{
					resolver.UnscopedLink("a", failing(fmt.Errorf("outer: %w", resolver.NotFound("inner")), nil)),
					resolver.UnscopedLink("b", resolvertest.Map(map[string]string{"k": "v"})),
				}
			},
			key: "k", wantFound: true, wantValue: "v", wantBackend: "b",
			wantTrail: []step{{"a", nil, resolver.OutcomeNotFound}, {"b", nil, resolver.OutcomeFound}},
		},
		{
			name: "a skipped link is recorded",
			links: func(*atomic.Int32) []resolver.Link {
				return []resolver.Link{
					resolver.SkippedLink("dir", "no directory set"),
					resolver.UnscopedLink("local", resolvertest.Map(map[string]string{"k": "v"})),
				}
			},
			key: "k", wantFound: true, wantValue: "v", wantBackend: "local",
			wantTrail: []step{{"dir", nil, resolver.OutcomeSkipped}, {"local", nil, resolver.OutcomeFound}},
		},
		{
			name: "scopes are asked project+domain, then domain, then org",
			links: func(*atomic.Int32) []resolver.Link {
				return []resolver.Link{resolver.ScopedLink("local", scopedMap(map[string]string{
					resolver.ScopedID(resolver.Scope{Org: "flyte"}, "k"): "org-value",
				}, nil))}
			},
			scope: pd, key: "k", wantFound: true, wantValue: "org-value", wantBackend: "local",
			wantScope: sc("flyte", "", ""),
			wantTrail: []step{
				{"local", sc("flyte", "p", "d"), resolver.OutcomeNotFound},
				{"local", sc("flyte", "", "d"), resolver.OutcomeNotFound},
				{"local", sc("flyte", "", ""), resolver.OutcomeFound},
			},
		},
		{
			name: "the most specific scope wins",
			links: func(*atomic.Int32) []resolver.Link {
				return []resolver.Link{resolver.ScopedLink("local", scopedMap(map[string]string{
					resolver.ScopedID(resolver.Scope{Org: "flyte"}, "k"):              "org-value",
					resolver.ScopedID(resolver.Scope{Org: "flyte", Domain: "d"}, "k"): "domain-value",
				}, nil))}
			},
			scope: pd, key: "k", wantFound: true, wantValue: "domain-value", wantBackend: "local",
			wantScope: sc("flyte", "", "d"),
			wantTrail: []step{
				{"local", sc("flyte", "p", "d"), resolver.OutcomeNotFound},
				{"local", sc("flyte", "", "d"), resolver.OutcomeFound},
			},
		},
		{
			name: "a scoped error stops before the next scope",
			links: func(calls *atomic.Int32) []resolver.Link {
				return []resolver.Link{
					resolver.ScopedLink("k8s", &resolvertest.ScopedBackend{LookupScopedFunc: func(context.Context, resolver.Ref, resolver.Scope) (secret.Value, error) {
						calls.Add(1)
						return secret.Value{}, errors.New("forbidden")
					}}),
					resolver.UnscopedLink("env", resolvertest.Map(map[string]string{"k": "v"})),
				}
			},
			scope: pd, key: "k",
			wantTrail: []step{{"k8s", sc("flyte", "p", "d"), resolver.OutcomeFailed}},
			wantErr:   `backend "k8s": forbidden`, wantCalls: 1,
		},
		{
			name: "unscoped after scoped",
			links: func(*atomic.Int32) []resolver.Link {
				return []resolver.Link{
					resolver.ScopedLink("local", scopedMap(nil, nil)),
					resolver.UnscopedLink("env", resolvertest.Map(map[string]string{"k": "v"})),
				}
			},
			scope: resolver.Scope{Org: "flyte", Domain: "d"}, key: "k", wantFound: true, wantValue: "v", wantBackend: "env",
			wantTrail: []step{
				{"local", sc("flyte", "", "d"), resolver.OutcomeNotFound},
				{"local", sc("flyte", "", ""), resolver.OutcomeNotFound},
				{"env", nil, resolver.OutcomeFound},
			},
		},
		{
			name: "an invalid scope fails at the first scoped backend",
			links: func(*atomic.Int32) []resolver.Link {
				return []resolver.Link{
					resolver.UnscopedLink("env", resolvertest.Map(nil)),
					resolver.ScopedLink("local", scopedMap(nil, nil)),
				}
			},
			scope: resolver.Scope{Org: "flyte", Project: "p"}, key: "k",
			wantTrail: []step{{"env", nil, resolver.OutcomeNotFound}, {"local", nil, resolver.OutcomeFailed}},
			wantErr:   `backend "local": scope: project-scoped secrets must also specify a domain, got project="p" domain=""`,
		},
		{
			name: "a link with no backend and no skip reason fails",
			links: func(*atomic.Int32) []resolver.Link {
				return []resolver.Link{{Name: "ghost"}}
			},
			key:       "k",
			wantTrail: []step{{"ghost", nil, resolver.OutcomeFailed}},
			wantErr:   `backend "ghost": no backend configured`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			scope := tt.scope
			if scope == (resolver.Scope{}) {
				scope = resolver.Scope{Org: "flyte"}
			}
			c := resolver.NewChain(tt.links(&calls), scope, nil)
			got := c.Resolve(context.Background(), resolver.Ref{Key: tt.key})
			assert.Equal(t, tt.wantFound, got.Found)
			assert.Equal(t, tt.wantValue, string(got.Value.Bytes()))
			assert.Equal(t, tt.wantBackend, got.Backend)
			assert.Equal(t, tt.wantScope, got.Scope)
			assert.Equal(t, tt.wantTrail, trailOf(got))
			assert.Equal(t, tt.wantCalls, calls.Load())
			if tt.wantErr == "" {
				assert.NoError(t, got.Err)
			} else {
				assert.EqualError(t, got.Err, tt.wantErr)
			}
		})
	}
}

func TestChainAsksScopesInOrder(t *testing.T) {
	var asked []resolver.Scope
	c := resolver.NewChain([]resolver.Link{resolver.ScopedLink("local", scopedMap(nil, &asked))},
		resolver.Scope{Org: "o", Project: "p", Domain: "d"}, nil)
	got := c.Resolve(context.Background(), resolver.Ref{Key: "k"})
	require.NoError(t, got.Err)
	assert.Equal(t, []resolver.Scope{{Org: "o", Project: "p", Domain: "d"}, {Org: "o", Domain: "d"}, {Org: "o"}}, asked)
}

func TestChainContext(t *testing.T) {
	blocking := &resolvertest.Backend{LookupFunc: func(ctx context.Context, _ resolver.Ref) (secret.Value, error) {
		<-ctx.Done()
		return secret.Value{}, fmt.Errorf("lookup: %w", ctx.Err())
	}}
	tests := []struct {
		name      string
		ctx       func() (context.Context, context.CancelFunc)
		links     []resolver.Link
		wantIs    error
		wantTrail []step
		wantErr   string
	}{
		{
			name: "cancelled before the first backend",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			links:     []resolver.Link{resolver.UnscopedLink("env", resolvertest.Map(map[string]string{"k": "v"}))},
			wantIs:    context.Canceled,
			wantTrail: []step{{"env", nil, resolver.OutcomeFailed}},
			wantErr:   `backend "env": context canceled`,
		},
		{
			name: "cancelled is not not-found: later backends are not asked",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(10*time.Millisecond, cancel)
				return ctx, cancel
			},
			links: []resolver.Link{
				resolver.UnscopedLink("vault", blocking),
				resolver.UnscopedLink("env", resolvertest.Map(map[string]string{"k": "v"})),
			},
			wantIs:    context.Canceled,
			wantTrail: []step{{"vault", nil, resolver.OutcomeFailed}},
			wantErr:   `backend "vault": lookup: context canceled`,
		},
		{
			name: "deadline passed",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 10*time.Millisecond)
			},
			links:     []resolver.Link{resolver.UnscopedLink("vault", blocking)},
			wantIs:    context.DeadlineExceeded,
			wantTrail: []step{{"vault", nil, resolver.OutcomeFailed}},
			wantErr:   `backend "vault": lookup: context deadline exceeded`,
		},
		{
			name: "per-call timeout of a link",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithCancel(context.Background())
			},
			links:     []resolver.Link{resolver.UnscopedLink("vault", blocking).WithRetry(resolver.RetryPolicy{Timeout: 5 * time.Millisecond})},
			wantIs:    context.DeadlineExceeded,
			wantTrail: []step{{"vault", nil, resolver.OutcomeFailed}},
			wantErr:   `backend "vault": lookup: context deadline exceeded`,
		},
		{
			name: "cancelled before a scoped backend",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			links:     []resolver.Link{resolver.ScopedLink("local", scopedMap(nil, nil))},
			wantIs:    context.Canceled,
			wantTrail: []step{{"local", sc("flyte", "", ""), resolver.OutcomeFailed}},
			wantErr:   `backend "local": context canceled`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			got := resolver.NewChain(tt.links, resolver.Scope{Org: "flyte"}, nil).Resolve(ctx, resolver.Ref{Key: "k"})
			assert.False(t, got.Found)
			assert.ErrorIs(t, got.Err, tt.wantIs)
			assert.EqualError(t, got.Err, tt.wantErr)
			assert.Equal(t, tt.wantTrail, trailOf(got))
		})
	}
}

func TestRetrying(t *testing.T) {
	flaky := errors.New("flaky")
	tests := []struct {
		name       string
		failures   int32 // calls that fail before one succeeds
		err        error // what a failing call returns
		attempts   int
		wantFound  bool
		wantCalls  int32
		wantDetail string
		wantErr    string
	}{
		{name: "one attempt", failures: 1, err: resolver.Transient(flaky), attempts: 1, wantCalls: 1,
			wantDetail: "flaky", wantErr: `backend "vault": flaky`},
		{name: "succeeds on the third try", failures: 2, err: resolver.Transient(flaky), attempts: 3, wantFound: true, wantCalls: 3},
		{name: "attempts run out", failures: 5, err: resolver.Transient(flaky), attempts: 3, wantCalls: 3,
			wantDetail: "flaky (after 3 tries)", wantErr: `backend "vault": flaky (after 3 tries)`},
		{name: "an error not marked transient is not retried", failures: 5, err: errors.New("403 forbidden"), attempts: 5, wantCalls: 1,
			wantDetail: "403 forbidden", wantErr: `backend "vault": 403 forbidden`},
		{name: "not found is not retried", failures: 5, err: resolver.NotFound("flaky"), attempts: 4, wantCalls: 1, wantDetail: "flaky"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			b := &resolvertest.Backend{LookupFunc: func(context.Context, resolver.Ref) (secret.Value, error) {
				if calls.Add(1) <= tt.failures {
					return secret.Value{}, tt.err
				}
				return secret.New([]byte("v")), nil
			}}
			links := []resolver.Link{resolver.UnscopedLink("vault", b).WithRetry(resolver.RetryPolicy{Attempts: tt.attempts, Base: time.Millisecond})}
			got := resolver.NewChain(links, resolver.Scope{Org: "flyte"}, nil).Resolve(context.Background(), resolver.Ref{Key: "k"})
			assert.Equal(t, tt.wantFound, got.Found)
			assert.Equal(t, tt.wantCalls, calls.Load())
			require.Len(t, got.Trail, 1)
			assert.Equal(t, tt.wantDetail, got.Trail[0].Reason())
			if tt.wantErr == "" {
				assert.NoError(t, got.Err)
			} else {
				assert.EqualError(t, got.Err, tt.wantErr)
			}
		})
	}
}

func TestRetryBackoffStopsWithContext(t *testing.T) {
	var calls atomic.Int32
	b := failing(resolver.Transient(errors.New("flaky")), &calls)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	links := []resolver.Link{resolver.UnscopedLink("vault", b).WithRetry(resolver.RetryPolicy{Attempts: 10, Base: time.Hour})}
	got := resolver.NewChain(links, resolver.Scope{Org: "flyte"}, nil).Resolve(ctx, resolver.Ref{Key: "k"})
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Equal(t, int32(1), calls.Load())
	assert.ErrorIs(t, got.Err, context.DeadlineExceeded)
	assert.EqualError(t, got.Err, `backend "vault": flaky (after 1 tries; gave up waiting to retry: context deadline exceeded)`)
}

// TestRetryHonoursRetryAfter: a server's Retry-After is the least wait
// before the next try, even when the backoff is shorter.
func TestRetryHonoursRetryAfter(t *testing.T) {
	var times []time.Time
	b := &resolvertest.Backend{LookupFunc: func(context.Context, resolver.Ref) (secret.Value, error) {
		times = append(times, time.Now())
		if len(times) == 1 {
			return secret.Value{}, resolver.TransientAfter(errors.New("429 too many requests"), 80*time.Millisecond)
		}
		return secret.New([]byte("v")), nil
	}}
	links := []resolver.Link{resolver.UnscopedLink("aws", b).WithRetry(resolver.RetryPolicy{Attempts: 3, Base: time.Microsecond})}
	got := resolver.NewChain(links, resolver.Scope{Org: "flyte"}, nil).Resolve(context.Background(), resolver.Ref{Key: "k"})
	require.True(t, got.Found)
	require.Len(t, times, 2)
	assert.GreaterOrEqual(t, times[1].Sub(times[0]), 80*time.Millisecond)
}

// TestRetryBackoffGrows: waits double, with jitter in [d/2, d], up to Max.
func TestRetryBackoffGrows(t *testing.T) {
	var times []time.Time
	b := failing(resolver.Transient(errors.New("503")), nil)
	b.LookupFunc = func(context.Context, resolver.Ref) (secret.Value, error) {
		times = append(times, time.Now())
		return secret.Value{}, resolver.Transient(errors.New("503"))
	}
	p := resolver.RetryPolicy{Attempts: 5, Base: 20 * time.Millisecond, Max: 40 * time.Millisecond}
	_, tries, err := p.Do(context.Background(), func(ctx context.Context) (secret.Value, error) {
		return b.Lookup(ctx, resolver.Ref{})
	})
	require.Error(t, err)
	assert.Equal(t, 5, tries)
	require.Len(t, times, 5)
	bounds := []time.Duration{20, 40, 40, 40} // ms: the backoff before each retry
	for i, d := range bounds {
		gap := times[i+1].Sub(times[i])
		assert.GreaterOrEqual(t, gap, d*time.Millisecond/2, "wait %d", i)
	}
}

// batcher records every batch it is given and answers from values keyed by
// ScopedID; keys in fail fail.
type batcher struct {
	values  map[string]string
	fail    map[string]error
	batches [][]resolver.Query
}

func (b *batcher) LookupScoped(ctx context.Context, ref resolver.Ref, s resolver.Scope) (secret.Value, error) {
	panic("a Batcher is asked in batches")
}

func (b *batcher) LookupBatch(_ context.Context, qs []resolver.Query) []resolver.Answer {
	b.batches = append(b.batches, qs)
	out := make([]resolver.Answer, len(qs))
	for i, q := range qs {
		id := resolver.ScopedID(q.Scope, q.Ref.Key)
		switch {
		case b.fail[id] != nil:
			out[i].Err = b.fail[id]
		case b.values[id] != "":
			out[i].Value = secret.New([]byte(b.values[id]))
		default:
			out[i].Err = resolver.NotFound("no %s", id)
		}
	}
	return out
}

// TestChainBatches: a Batcher is asked once, for every open request in
// every candidate scope; the most specific answer that is not "not found"
// decides, so an error in a specific scope is not hidden by a value in a
// broader one; and requests an earlier link settled are not asked.
func TestChainBatches(t *testing.T) {
	pd := resolver.Scope{Org: "flyte", Project: "p", Domain: "d"}
	d := resolver.Scope{Org: "flyte", Domain: "d"}
	org := resolver.Scope{Org: "flyte"}
	b := &batcher{
		values: map[string]string{
			resolver.ScopedID(org, "a"): "a-org",
			resolver.ScopedID(d, "a"):   "a-domain",
			resolver.ScopedID(org, "b"): "b-org",
			resolver.ScopedID(org, "c"): "c-org",
		},
		fail: map[string]error{resolver.ScopedID(d, "c"): errors.New("403 forbidden")},
	}
	links := []resolver.Link{
		resolver.UnscopedLink("env", resolvertest.Map(map[string]string{"e": "from-env"})),
		resolver.ScopedLink("k8s", b),
	}
	refs := []resolver.Ref{{Key: "a"}, {Key: "b"}, {Key: "c"}, {Key: "e"}, {Key: "z"}}
	got := resolver.NewChain(links, pd, nil).ResolveAll(context.Background(), refs)

	require.Len(t, b.batches, 1, "one batch for the link")
	var asked []string
	for _, q := range b.batches[0] {
		asked = append(asked, resolver.ScopedID(q.Scope, q.Ref.Key))
	}
	var want []string
	for _, k := range []string{"a", "b", "c", "z"} {
		for _, s := range []resolver.Scope{pd, d, org} {
			want = append(want, resolver.ScopedID(s, k))
		}
	}
	assert.Equal(t, want, asked, "every open request, every candidate scope, in order; e was settled by env")

	assert.Equal(t, "a-domain", string(got[0].Value.Bytes()))
	assert.Equal(t, sc("flyte", "", "d"), got[0].Scope)
	assert.Equal(t, []step{{"env", nil, resolver.OutcomeNotFound}, {"k8s", sc("flyte", "p", "d"), resolver.OutcomeNotFound},
		{"k8s", sc("flyte", "", "d"), resolver.OutcomeFound}}, trailOf(got[0]), "the trail stops where the answer was decided")
	assert.Equal(t, "b-org", string(got[1].Value.Bytes()))
	assert.False(t, got[2].Found)
	assert.EqualError(t, got[2].Err, `backend "k8s": 403 forbidden`, "a broader scope's value does not hide the error")
	assert.Equal(t, "from-env", string(got[3].Value.Bytes()))
	assert.Equal(t, []step{{"env", nil, resolver.OutcomeFound}}, trailOf(got[3]))
	assert.False(t, got[4].Found)
	assert.NoError(t, got[4].Err)
	assert.Len(t, trailOf(got[4]), 4)
}

// TestChainBatchShortAnswer: a Batcher that answers fewer queries than it
// was asked fails the rest instead of reading past its answers.
func TestChainBatchShortAnswer(t *testing.T) {
	short := &shortBatcher{}
	got := resolver.NewChain([]resolver.Link{resolver.ScopedLink("k8s", short)}, resolver.Scope{Org: "flyte"}, nil).
		ResolveAll(context.Background(), []resolver.Ref{{Key: "a"}, {Key: "b"}})
	assert.True(t, got[0].Found)
	assert.EqualError(t, got[1].Err, `backend "k8s": the backend gave no answer`)
}

type shortBatcher struct{}

func (shortBatcher) LookupScoped(context.Context, resolver.Ref, resolver.Scope) (secret.Value, error) {
	panic("a Batcher is asked in batches")
}

func (shortBatcher) LookupBatch(_ context.Context, qs []resolver.Query) []resolver.Answer {
	return []resolver.Answer{{Value: secret.New([]byte("v"))}}
}

func TestResolveAllKeepsOrderAndEmpty(t *testing.T) {
	c := resolver.NewChain([]resolver.Link{resolver.UnscopedLink("env", resolvertest.Map(map[string]string{"a": "1", "b": "2"}))},
		resolver.Scope{Org: "flyte"}, nil)
	got := c.ResolveAll(context.Background(), []resolver.Ref{{Key: "b"}, {Key: "a"}, {Key: "c"}})
	require.Len(t, got, 3)
	assert.Equal(t, "2", string(got[0].Value.Bytes()))
	assert.Equal(t, "1", string(got[1].Value.Bytes()))
	assert.False(t, got[2].Found)
	assert.Empty(t, c.ResolveAll(context.Background(), nil))
}

func TestChainLogsEachAttemptWithoutValues(t *testing.T) {
	const canary = "CANARY-value-3f9a1c"
	var buf bytes.Buffer
	logger := log.New(&buf, log.FormatJSON, zapcore.DebugLevel)
	links := []resolver.Link{
		resolver.UnscopedLink("env", resolvertest.Map(nil)),
		resolver.SkippedLink("dir", "no directory set"),
		resolver.ScopedLink("local", scopedMap(map[string]string{
			resolver.ScopedID(resolver.Scope{Org: "flyte", Domain: "d"}, "k"): canary,
		}, nil)),
	}
	c := resolver.NewChain(links, resolver.Scope{Org: "flyte", Project: "p", Domain: "d"}, logger.Named("resolver"))
	got := c.Resolve(context.Background(), resolver.Ref{Key: "k", Group: "g"})
	require.True(t, got.Found)
	assert.Equal(t, canary, string(got.Value.Bytes()))
	assert.NotContains(t, buf.String(), canary)
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", got, got, got), canary)

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		lines = append(lines, m)
	}
	require.Len(t, lines, 4)
	want := []struct{ backend, scope, outcome string }{
		{"env", "", "not found"},
		{"dir", "", "skipped"},
		{"local", "flyte/p/d", "not found"},
		{"local", "flyte/-/d", "found"},
	}
	for i, w := range want {
		assert.Equal(t, "resolver", lines[i]["logger"])
		assert.Equal(t, "debug", lines[i]["level"])
		assert.Equal(t, "k", lines[i]["key"])
		assert.Equal(t, "g", lines[i]["group"])
		assert.Equal(t, w.backend, lines[i]["backend"])
		assert.Equal(t, w.outcome, lines[i]["outcome"])
		if w.scope != "" {
			assert.Equal(t, w.scope, lines[i]["scope"])
		} else {
			assert.NotContains(t, lines[i], "scope")
		}
	}
	assert.Equal(t, "no directory set", lines[1]["detail"])
}

func TestOutcomeString(t *testing.T) {
	tests := []struct {
		outcome resolver.Outcome
		want    string
	}{
		{resolver.OutcomeFound, "found"},
		{resolver.OutcomeNotFound, "not found"},
		{resolver.OutcomeFailed, "failed"},
		{resolver.OutcomeSkipped, "skipped"},
		{resolver.Outcome(0), "outcome(0)"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.outcome.String())
	}
	b, err := json.Marshal(resolver.Attempt{Backend: "env", Outcome: resolver.OutcomeNotFound})
	require.NoError(t, err)
	assert.JSONEq(t, `{"Backend":"env","Scope":null,"Outcome":"not found"}`, string(b))
}
