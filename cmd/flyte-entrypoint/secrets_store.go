package main

import (
	"context"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/local"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
)

// localStore adapts the embedded local store (resolver/local) to
// manage.Store: it adds the context, and sorts the store's errors into
// manage's kinds without changing their texts.
type localStore struct{ s *local.Store }

var _ manage.Store = localStore{}

// openLocalStore opens the store at dir, or at local.DefaultDir() when dir
// is "". Open refuses a store directory with a loose mode or a foreign owner.
func openLocalStore(dir string) (manage.Store, error) {
	if dir == "" {
		d, err := local.DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	s, err := local.Open(dir)
	if err != nil {
		return nil, err
	}
	return localStore{s: s}, nil
}

func (l localStore) Create(ctx context.Context, scope resolver.Scope, name string, typ manage.Type, value secret.Value) (manage.Meta, error) {
	if err := ctx.Err(); err != nil {
		return manage.Meta{}, err
	}
	m, err := l.s.Create(scope, name, local.Type(typ), value.Bytes())
	return metaOf(m), localErr(err)
}

func (l localStore) Get(ctx context.Context, scope resolver.Scope, name string) (manage.Meta, secret.Value, error) {
	if err := ctx.Err(); err != nil {
		return manage.Meta{}, secret.Value{}, err
	}
	m, v, err := l.s.Get(scope, name)
	return metaOf(m), v, localErr(err)
}

func (l localStore) List(ctx context.Context, scope resolver.Scope, limit int, pageToken string) ([]manage.Meta, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	items, next, err := l.s.List(scope, limit, pageToken)
	if err != nil {
		return nil, "", localErr(err)
	}
	out := make([]manage.Meta, len(items))
	for i, m := range items {
		out[i] = metaOf(m)
	}
	return out, next, nil
}

func (l localStore) Delete(ctx context.Context, scope resolver.Scope, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return localErr(l.s.Delete(scope, name))
}

func metaOf(m local.Meta) manage.Meta {
	return manage.Meta{Name: m.Name, Org: m.Org, Project: m.Project, Domain: m.Domain, Type: manage.Type(m.Type), Created: m.Created}
}

// localErr gives the local store's errors manage's kinds. "Not found" is
// resolver's in both, and stays as it is.
func localErr(err error) error {
	switch {
	case err == nil:
		return nil
	case local.IsInvalid(err):
		return manage.Invalid(err)
	case local.IsExists(err):
		return manage.Exists(err)
	}
	return err
}
