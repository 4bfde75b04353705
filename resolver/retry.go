package resolver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
)

// transientError marks an error as worth another try.
type transientError struct {
	err   error
	after time.Duration // the server's Retry-After; 0 for none
}

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// Transient marks err as a failure that may pass: a refused connection, a
// timeout, a 429 or a 5xx. Only such errors are retried. A 401 or 403 must
// never be marked: it fails closed at once.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &transientError{err: err}
}

// TransientAfter is Transient with the server's Retry-After: the next try
// waits at least that long.
func TransientAfter(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &transientError{err: err, after: after}
}

// IsTransient reports whether err was marked with Transient.
func IsTransient(err error) bool {
	var t *transientError
	return errors.As(err, &t)
}

func retryAfter(err error) time.Duration {
	var t *transientError
	if errors.As(err, &t) {
		return t.after
	}
	return 0
}

// RetryPolicy says how a remote backend's calls are retried. The zero
// policy tries once, with no timeout of its own.
type RetryPolicy struct {
	// Attempts is the most tries a call gets; 1 or less is one.
	Attempts int
	// Timeout bounds each try; 0 leaves only the caller's context.
	Timeout time.Duration
	// Base is the first backoff; each next one doubles, up to Max. Each
	// wait is drawn at random from [d/2, d] (jitter), and is at least a
	// Retry-After the server gave.
	Base, Max time.Duration
}

// Do calls f until it succeeds, fails with an error that is not transient,
// runs out of attempts, or ctx ends. Each try gets the policy's timeout. It
// returns the number of tries made. After more than one try the error says
// how many, and after ctx ended during a wait, why it gave up.
func (p RetryPolicy) Do(ctx context.Context, f func(context.Context) (secret.Value, error)) (secret.Value, int, error) {
	backoff := p.Base
	for try := 1; ; try++ {
		tctx, cancel := ctx, context.CancelFunc(func() {})
		if p.Timeout > 0 {
			tctx, cancel = context.WithTimeout(ctx, p.Timeout)
		}
		v, err := f(tctx)
		cancel()
		if err == nil || !IsTransient(err) {
			return v, try, err
		}
		if try >= p.Attempts || ctx.Err() != nil {
			if try > 1 {
				err = fmt.Errorf("%w (after %d tries)", err, try)
			}
			return v, try, err
		}
		wait := backoff
		if wait > 0 {
			wait = wait/2 + rand.N(wait/2+1)
		}
		wait = max(wait, retryAfter(err))
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return secret.Value{}, try, fmt.Errorf("%w (after %d tries; gave up waiting to retry: %w)", err, try, ctx.Err())
			case <-t.C:
			}
		}
		if backoff *= 2; p.Max > 0 && backoff > p.Max {
			backoff = p.Max
		}
	}
}

// Retrying wraps b so that each lookup is retried under p.
func Retrying(b ScopedBackend, p RetryPolicy) ScopedBackend {
	return retrying{b: b, p: p}
}

type retrying struct {
	b ScopedBackend
	p RetryPolicy
}

func (r retrying) LookupScoped(ctx context.Context, ref Ref, scope Scope) (secret.Value, error) {
	v, _, err := r.p.Do(ctx, func(ctx context.Context) (secret.Value, error) {
		return r.b.LookupScoped(ctx, ref, scope)
	})
	return v, err
}

// WithRetry is the link with every lookup retried under p. (A Batcher
// applies its policy to each call itself, with RetryPolicy.Do.)
func (l Link) WithRetry(p RetryPolicy) Link {
	if l.Backend != nil {
		l.Backend = Retrying(l.Backend, p)
	}
	return l
}
