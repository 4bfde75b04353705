package local

import (
	"context"
	"sync"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// Backend is the "local" backend: it looks a request up in the store by its
// key and the scope asked, ignoring the group, as Flyte 2's secret manager
// does. A key that is not a valid secret name is "not found".
//
// The store is opened on the first lookup, so that a run whose secrets all
// come from earlier backends never touches it. If Open refuses the store,
// every lookup fails with that error.
type Backend struct {
	dir   string
	once  sync.Once
	store *Store
	err   error
}

var _ resolver.ScopedBackend = (*Backend)(nil)

// NewBackend returns the backend over the store at dir.
func NewBackend(dir string) *Backend { return &Backend{dir: dir} }

// LookupScoped reads the secret named ref.Key in exactly scope.
func (b *Backend) LookupScoped(ctx context.Context, ref resolver.Ref, scope resolver.Scope) (secret.Value, error) {
	if err := ctx.Err(); err != nil {
		return secret.Value{}, err
	}
	if !resolver.ValidName(ref.Key) {
		return secret.Value{}, resolver.NotFound("key %s is not a local store name (it must match %s)", spec.Quote(ref.Key), manage.NamePattern)
	}
	b.once.Do(func() { b.store, b.err = Open(b.dir) })
	if b.err != nil {
		return secret.Value{}, b.err
	}
	_, v, err := b.store.Get(ctx, scope, ref.Key)
	return v, err
}
