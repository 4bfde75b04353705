package local_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/local"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/registry"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/resolvertest"
)

// TestConformance runs the suite every backend shares: the secrets are
// written by the store, and the link is built by the registry from --store,
// as a run builds it.
func TestConformance(t *testing.T) {
	resolvertest.Conformance(t, resolvertest.Harness{
		Name: "local",
		NUL:  true,
		Link: func(t *testing.T, seeds []resolvertest.Seed, logger *log.Logger) resolver.Link {
			dir := filepath.Join(t.TempDir(), "store")
			s, err := local.Open(dir)
			require.NoError(t, err)
			for _, sd := range seeds {
				_, err := s.Create(context.Background(), resolvertest.Scope, sd.Key, manage.TypeRegular, secret.New(sd.Value))
				require.NoError(t, err)
			}
			return build(t, dir, logger)
		},
		Broken: func(t *testing.T, logger *log.Logger) resolver.Link {
			dir := filepath.Join(t.TempDir(), "store")
			s, err := local.Open(dir)
			require.NoError(t, err)
			_, err = s.Create(context.Background(), resolvertest.Scope, "k", manage.TypeRegular, secret.New([]byte(resolvertest.Canary)))
			require.NoError(t, err)
			p := filepath.Join(dir, "secrets", resolver.ScopedID(resolvertest.Scope, "k"))
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, data[:len(data)-5], 0o600))
			return build(t, dir, logger)
		},
	})
}

func build(t *testing.T, dir string, logger *log.Logger) resolver.Link {
	t.Helper()
	links, err := registry.Build([]string{"local"}, registry.Settings{Values: map[string]string{"store": dir}, Logger: logger})
	require.NoError(t, err)
	return links[0]
}
