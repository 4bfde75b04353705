// Package managetest holds a hand-written fake of manage.Store and the
// conformance suite that every store runs: the local store now, the
// Kubernetes and AWS stores when they come.
package managetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
)

// Store is a manage.Store whose methods call its function fields.
type Store struct {
	CreateFunc func(ctx context.Context, scope resolver.Scope, name string, typ manage.Type, value secret.Value) (manage.Meta, error)
	GetFunc    func(ctx context.Context, scope resolver.Scope, name string) (manage.Meta, secret.Value, error)
	ListFunc   func(ctx context.Context, scope resolver.Scope, limit int, pageToken string) ([]manage.Meta, string, error)
	DeleteFunc func(ctx context.Context, scope resolver.Scope, name string) error
}

var _ manage.Store = (*Store)(nil)

func (s *Store) Create(ctx context.Context, scope resolver.Scope, name string, typ manage.Type, value secret.Value) (manage.Meta, error) {
	return s.CreateFunc(ctx, scope, name, typ, value)
}

func (s *Store) Get(ctx context.Context, scope resolver.Scope, name string) (manage.Meta, secret.Value, error) {
	return s.GetFunc(ctx, scope, name)
}

func (s *Store) List(ctx context.Context, scope resolver.Scope, limit int, pageToken string) ([]manage.Meta, string, error) {
	return s.ListFunc(ctx, scope, limit, pageToken)
}

func (s *Store) Delete(ctx context.Context, scope resolver.Scope, name string) error {
	return s.DeleteFunc(ctx, scope, name)
}

var (
	org     = resolver.Scope{Org: "flyte"}
	domain  = resolver.Scope{Org: "flyte", Domain: "development"}
	project = resolver.Scope{Org: "flyte", Project: "flytesnacks", Domain: "development"}
)

// Conformance runs the behaviour every store shares against a fresh, empty
// store from open for each case.
func Conformance(t *testing.T, open func(t *testing.T) manage.Store) {
	ctx := context.Background()

	t.Run("create then get", func(t *testing.T) {
		s := open(t)
		before := time.Now().Add(-2 * time.Second)
		binary := []byte{0, 0xff, '\n', 'x', 0}
		m, err := s.Create(ctx, project, "db-pass", manage.TypeRegular, secret.New(binary))
		require.NoError(t, err)
		assert.Equal(t, manage.Meta{Name: "db-pass", Org: "flyte", Project: "flytesnacks", Domain: "development", Type: manage.TypeRegular, Created: m.Created}, m)
		assert.True(t, m.Created.After(before) && m.Created.Before(time.Now().Add(2*time.Second)), "created_time is now: %v", m.Created)

		got, v, err := s.Get(ctx, project, "db-pass")
		require.NoError(t, err)
		assert.Equal(t, m.Name, got.Name)
		assert.Equal(t, m.Scope(), got.Scope())
		assert.True(t, m.Created.Equal(got.Created))
		assert.Equal(t, binary, v.Bytes())
	})

	t.Run("never overwrites", func(t *testing.T) {
		s := open(t)
		_, err := s.Create(ctx, org, "k", manage.TypeRegular, secret.New([]byte("first")))
		require.NoError(t, err)
		_, err = s.Create(ctx, org, "k", manage.TypeRegular, secret.New([]byte("second")))
		require.Error(t, err)
		assert.True(t, manage.IsExists(err), "%v", err)
		assert.NotContains(t, err.Error(), "second")
		_, v, err := s.Get(ctx, org, "k")
		require.NoError(t, err)
		assert.Equal(t, "first", string(v.Bytes()))
	})

	t.Run("scopes are exact", func(t *testing.T) {
		s := open(t)
		for i, sc := range []resolver.Scope{org, domain, project} {
			_, err := s.Create(ctx, sc, "k", manage.TypeRegular, secret.New([]byte{byte('0' + i)}))
			require.NoError(t, err)
		}
		_, err := s.Create(ctx, org, "org-only", manage.TypeRegular, secret.New([]byte("o")))
		require.NoError(t, err)
		for i, sc := range []resolver.Scope{org, domain, project} {
			_, v, err := s.Get(ctx, sc, "k")
			require.NoError(t, err)
			assert.Equal(t, []byte{byte('0' + i)}, v.Bytes(), "scope %s", sc)
		}
		_, _, err = s.Get(ctx, project, "org-only")
		assert.True(t, manage.IsNotFound(err), "nothing falls back: %v", err)
	})

	// Listing selects as Flyte 2's ListSecrets does: the org lists all of
	// its secrets, a domain its own and its projects', a project its own.
	t.Run("list selects as ListSecrets", func(t *testing.T) {
		s := open(t)
		other := resolver.Scope{Org: "flyte", Project: "other", Domain: "development"}
		prod := resolver.Scope{Org: "flyte", Domain: "production"}
		for _, sc := range []resolver.Scope{org, domain, project, other, prod} {
			_, err := s.Create(ctx, sc, "k", manage.TypeRegular, secret.New([]byte("v")))
			require.NoError(t, err)
		}
		for _, tc := range []struct {
			asked resolver.Scope
			want  []resolver.Scope
		}{
			{org, []resolver.Scope{org, domain, project, other, prod}},
			{domain, []resolver.Scope{domain, project, other}},
			{project, []resolver.Scope{project}},
			{prod, []resolver.Scope{prod}},
			{resolver.Scope{Org: "acme"}, nil},
		} {
			items, err := manage.ListAll(ctx, s, tc.asked, 2)
			require.NoError(t, err)
			var got []resolver.Scope
			for _, m := range items {
				assert.Equal(t, "k", m.Name)
				got = append(got, m.Scope())
			}
			assert.ElementsMatch(t, tc.want, got, "listing %s", tc.asked)
		}
	})

	t.Run("list pages", func(t *testing.T) {
		s := open(t)
		var want []string
		for i := range 7 {
			name := fmt.Sprintf("s-%02d", i)
			want = append(want, name)
			_, err := s.Create(ctx, domain, name, manage.TypeRegular, secret.New([]byte("v")))
			require.NoError(t, err)
		}
		first, next, err := s.List(ctx, domain, 3, "")
		require.NoError(t, err)
		assert.Len(t, first, 3)
		assert.NotEmpty(t, next, "a full page says where the next begins")
		for _, limit := range []int{1, 2, 3, 7, 100} {
			items, err := manage.ListAll(ctx, s, domain, limit)
			require.NoError(t, err)
			assert.ElementsMatch(t, want, names(items), "limit %d", limit)
		}
		items, err := manage.ListAll(ctx, s, project, 2)
		require.NoError(t, err)
		assert.Empty(t, items)
	})

	t.Run("delete", func(t *testing.T) {
		s := open(t)
		_, err := s.Create(ctx, domain, "k", manage.TypeRegular, secret.New([]byte("v")))
		require.NoError(t, err)
		assert.True(t, manage.IsNotFound(s.Delete(ctx, org, "k")), "delete looks in exactly its scope")
		require.NoError(t, s.Delete(ctx, domain, "k"))
		_, _, err = s.Get(ctx, domain, "k")
		assert.True(t, manage.IsNotFound(err), "%v", err)
		err = s.Delete(ctx, domain, "k")
		assert.True(t, manage.IsNotFound(err), "%v", err)
	})

	t.Run("image pull", func(t *testing.T) {
		s := open(t)
		value := []byte(`{"auths":{"ghcr.io":{"auth":"dTpw"}}}`)
		m, err := s.Create(ctx, org, "pull", manage.TypeImagePull, secret.New(value))
		require.NoError(t, err)
		assert.Equal(t, manage.TypeImagePull, m.Type)
		_, v, err := s.Get(ctx, org, "pull")
		require.NoError(t, err)
		assert.True(t, bytes.Equal(value, v.Bytes()))
		_, err = s.Create(ctx, domain, "pull2", manage.TypeImagePull, secret.New(value))
		assert.True(t, manage.IsInvalid(err), "%v", err)
		assert.EqualError(t, err, manage.ImagePullScopeError)
	})

	t.Run("invalid input", func(t *testing.T) {
		s := open(t)
		for _, tc := range []struct {
			scope   resolver.Scope
			name    string
			typ     manage.Type
			wantErr string
		}{
			{org, "bad.name", manage.TypeRegular, `invalid secret name "bad.name": must match ^[-a-zA-Z0-9_]+$`},
			{org, "", manage.TypeRegular, "invalid secret name"},
			{org, "k", "secret", `invalid secret type "secret"`},
			{resolver.Scope{Org: "flyte", Project: "p"}, "k", manage.TypeRegular, `project-scoped secrets must also specify a domain, got project="p" domain=""`},
			{resolver.Scope{Org: "flyte", Domain: "Dev"}, "k", manage.TypeRegular, `invalid domain "Dev"`},
		} {
			_, err := s.Create(ctx, tc.scope, tc.name, tc.typ, secret.New([]byte("v")))
			require.Error(t, err, "%+v", tc)
			assert.True(t, manage.IsInvalid(err), "%+v: %v", tc, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		}
		items, err := manage.ListAll(ctx, s, org, 0)
		require.NoError(t, err)
		assert.Empty(t, items, "nothing was stored")
	})
}

func names(items []manage.Meta) []string {
	out := make([]string, len(items))
	for i, m := range items {
		out[i] = m.Name
	}
	return out
}
