package dir_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/registry"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/resolvertest"
)

// TestConformance runs the suite every backend shares: the secrets are files
// in Flyte's mount layout, and the link is built by the registry from --dir,
// as a run builds it.
func TestConformance(t *testing.T) {
	resolvertest.Conformance(t, resolvertest.Harness{
		Name:    "dir",
		NUL:     true,
		Grouped: true,
		Link: func(t *testing.T, seeds []resolvertest.Seed, logger *log.Logger) resolver.Link {
			d := filepath.Join(t.TempDir(), "secrets")
			require.NoError(t, os.Mkdir(d, 0o700))
			for _, s := range seeds {
				p := filepath.Join(d, s.Key)
				if s.Group != "" {
					p = filepath.Join(d, strings.ToLower(s.Group), strings.ToLower(s.Key))
				}
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
				require.NoError(t, os.WriteFile(p, s.Value, 0o400))
			}
			return build(t, d, logger)
		},
		Broken: func(t *testing.T, logger *log.Logger) resolver.Link {
			d := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(d, "k", resolvertest.Canary), 0o700))
			return build(t, d, logger)
		},
	})
}

func build(t *testing.T, d string, logger *log.Logger) resolver.Link {
	t.Helper()
	links, err := registry.Build([]string{"dir"}, registry.Settings{Values: map[string]string{"dir": d}, Logger: logger})
	require.NoError(t, err)
	return links[0]
}
