package env_test

import (
	"strings"
	"testing"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/registry"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/resolvertest"
)

// TestConformance runs the suite every backend shares: the secrets are
// variables a platform injected (_FSEC_ names), and the link is built by the
// registry, as a run builds it.
func TestConformance(t *testing.T) {
	resolvertest.Conformance(t, resolvertest.Harness{
		Name:    "env",
		Grouped: true,
		Link: func(t *testing.T, seeds []resolvertest.Seed, logger *log.Logger) resolver.Link {
			var environ []string
			for _, s := range seeds {
				name := strings.ToUpper(s.Key)
				if s.Group != "" {
					name = strings.ToUpper(s.Group) + "_" + name
				}
				environ = append(environ, "_FSEC_"+name+"="+string(s.Value))
			}
			return build(t, registry.Settings{Environ: environ, Logger: logger})
		},
	})
}

func build(t *testing.T, s registry.Settings) resolver.Link {
	t.Helper()
	links, err := registry.Build([]string{"env"}, s)
	if err != nil {
		t.Fatal(err)
	}
	return links[0]
}
