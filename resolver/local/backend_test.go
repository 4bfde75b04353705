package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
)

func TestBackendLookup(t *testing.T) {
	s := newStore(t)
	_, err := s.Create(ctx, domain, "db-pass", manage.TypeRegular, secret.New([]byte("domain-value")))
	require.NoError(t, err)
	_, err = s.Create(ctx, org, "token", manage.TypeRegular, secret.New([]byte("org-value")))
	require.NoError(t, err)
	b := NewBackend(s.Dir())

	tests := []struct {
		name        string
		ref         resolver.Ref
		scope       resolver.Scope
		wantValue   string
		wantMissing string
	}{
		{name: "found in its scope", ref: resolver.Ref{Key: "db-pass"}, scope: domain, wantValue: "domain-value"},
		{name: "the group is ignored", ref: resolver.Ref{Key: "db-pass", Group: "anything", GroupVersion: "2"}, scope: domain,
			wantValue: "domain-value"},
		{name: "only the scope asked", ref: resolver.Ref{Key: "db-pass"}, scope: org, wantMissing: `secret "db-pass" not found in scope flyte`},
		{name: "names are case-sensitive", ref: resolver.Ref{Key: "TOKEN"}, scope: org, wantMissing: "not found"},
		{name: "a path is not a name", ref: resolver.Ref{Key: "../token"}, scope: org, wantMissing: `key "../token" is not a local store name`},
		{name: "a dot is not a name", ref: resolver.Ref{Key: "a.b"}, scope: org, wantMissing: "is not a local store name"},
		{name: "empty key", ref: resolver.Ref{Key: ""}, scope: org, wantMissing: "is not a local store name"},
		{name: "NUL", ref: resolver.Ref{Key: "token\x00"}, scope: org, wantMissing: "is not a local store name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := b.LookupScoped(context.Background(), tt.ref, tt.scope)
			if tt.wantMissing != "" {
				require.Error(t, err)
				assert.True(t, resolver.IsNotFound(err), err)
				assert.ErrorContains(t, err, tt.wantMissing)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantValue, string(v.Bytes()))
		})
	}
}

func TestBackendLongKey(t *testing.T) {
	s := newStore(t)
	_, err := s.Create(ctx, org, "k", manage.TypeRegular, secret.New([]byte("v")))
	require.NoError(t, err)
	_, err = NewBackend(s.Dir()).LookupScoped(context.Background(), resolver.Ref{Key: strings.Repeat("a", 300)}, org)
	assert.True(t, resolver.IsNotFound(err), err)
}

func TestBackendMissingStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nowhere")
	_, err := NewBackend(dir).LookupScoped(context.Background(), resolver.Ref{Key: "k"}, org)
	assert.True(t, resolver.IsNotFound(err), err)
	assert.NoDirExists(t, dir, "a lookup makes no store")
}

func TestBackendInsecureStoreFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.NoError(t, os.Chmod(dir, 0o777))
	b := NewBackend(dir)
	for range 2 {
		_, err := b.LookupScoped(context.Background(), resolver.Ref{Key: "k"}, org)
		require.Error(t, err)
		assert.False(t, resolver.IsNotFound(err), "an insecure store is an error, not an empty one")
		assert.ErrorContains(t, err, "has mode 0777")
	}
}

func TestBackendCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewBackend(t.TempDir()).LookupScoped(ctx, resolver.Ref{Key: "k"}, org)
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, resolver.IsNotFound(err))
}
