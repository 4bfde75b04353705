// Package resolvertest holds hand-written fakes of the resolver interfaces.
package resolvertest

import (
	"context"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
)

// Backend is a resolver.Backend whose Lookup calls LookupFunc.
type Backend struct {
	LookupFunc func(ctx context.Context, ref resolver.Ref) (secret.Value, error)
}

var _ resolver.Backend = (*Backend)(nil)

func (b *Backend) Lookup(ctx context.Context, ref resolver.Ref) (secret.Value, error) {
	return b.LookupFunc(ctx, ref)
}

// ScopedBackend is a resolver.ScopedBackend whose LookupScoped calls
// LookupScopedFunc.
type ScopedBackend struct {
	LookupScopedFunc func(ctx context.Context, ref resolver.Ref, scope resolver.Scope) (secret.Value, error)
}

var _ resolver.ScopedBackend = (*ScopedBackend)(nil)

func (b *ScopedBackend) LookupScoped(ctx context.Context, ref resolver.Ref, scope resolver.Scope) (secret.Value, error) {
	return b.LookupScopedFunc(ctx, ref, scope)
}

// Map is a Backend that answers from a map of key to value, and "not found"
// for any other key.
func Map(m map[string]string) *Backend {
	return &Backend{LookupFunc: func(_ context.Context, ref resolver.Ref) (secret.Value, error) {
		if v, ok := m[ref.Key]; ok {
			return secret.New([]byte(v)), nil
		}
		return secret.Value{}, resolver.NotFound("no key %q", ref.Key)
	}}
}
