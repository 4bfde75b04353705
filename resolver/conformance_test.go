package resolver_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/local"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/registry"
)

// The conformance suite runs the same cases against every backend. Each
// harness seeds secrets through its backend's own medium (the environment,
// files, the store), then the backend is built by the registry and asked
// through a chain, as a run would.

// canary is part of every value the suite stores. No error text and no log
// line may ever hold it.
const canary = "CANARY-conformance-5b2e"

type seed struct {
	group, key string
	value      []byte
}

type harness struct {
	name string
	// config seeds the secrets and returns a config that sees them.
	config func(t *testing.T, seeds []seed) registry.Config
	// broken returns a config in which looking up key "k" fails with a real
	// error; nil for a backend that cannot fail.
	broken func(t *testing.T) registry.Config
	// nul says whether the medium can hold a NUL byte.
	nul bool
}

var conformanceScope = resolver.Scope{Org: "flyte"}

var harnesses = []harness{
	{
		name: "env",
		config: func(t *testing.T, seeds []seed) registry.Config {
			var environ []string
			for _, s := range seeds {
				name := strings.ToUpper(s.key)
				if s.group != "" {
					name = strings.ToUpper(s.group) + "_" + name
				}
				environ = append(environ, "_FSEC_"+name+"="+string(s.value))
			}
			return registry.Config{Environ: environ}
		},
	},
	{
		name: "dir",
		config: func(t *testing.T, seeds []seed) registry.Config {
			d := filepath.Join(t.TempDir(), "secrets")
			require.NoError(t, os.Mkdir(d, 0o700))
			for _, s := range seeds {
				p := filepath.Join(d, s.key)
				if s.group != "" {
					p = filepath.Join(d, strings.ToLower(s.group), strings.ToLower(s.key))
				}
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
				require.NoError(t, os.WriteFile(p, s.value, 0o400))
			}
			return registry.Config{Dir: d}
		},
		broken: func(t *testing.T) registry.Config {
			d := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(d, "k", canary), 0o700))
			return registry.Config{Dir: d}
		},
		nul: true,
	},
	{
		name: "local",
		config: func(t *testing.T, seeds []seed) registry.Config {
			dir := filepath.Join(t.TempDir(), "store")
			s, err := local.Open(dir)
			require.NoError(t, err)
			for _, sd := range seeds {
				_, err := s.Create(context.Background(), conformanceScope, sd.key, manage.TypeRegular, secret.New(sd.value))
				require.NoError(t, err)
			}
			return registry.Config{StoreDir: dir}
		},
		broken: func(t *testing.T) registry.Config {
			dir := filepath.Join(t.TempDir(), "store")
			s, err := local.Open(dir)
			require.NoError(t, err)
			_, err = s.Create(context.Background(), conformanceScope, "k", manage.TypeRegular, secret.New([]byte(canary)))
			require.NoError(t, err)
			p := filepath.Join(dir, "secrets", resolver.ScopedID(conformanceScope, "k"))
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, data[:len(data)-5], 0o600))
			return registry.Config{StoreDir: dir}
		},
		nul: true,
	},
}

func binaryValue(withNUL bool) []byte {
	var b []byte
	if withNUL {
		b = append(b, 0)
	}
	for c := 1; c < 256; c++ {
		b = append(b, byte(c))
	}
	return append(b, canary...)
}

func TestConformance(t *testing.T) {
	hostile := []string{"../x", "a/b", "..", ".", "", "x\x00y", "x\ny", "/x", strings.Repeat("x", 300)}
	tests := []struct {
		name      string
		seeds     []seed
		ref       resolver.Ref
		needNUL   bool
		wantFound bool
		wantValue []byte
	}{
		{
			name:      "found",
			seeds:     []seed{{key: "api-token", value: []byte(canary + "-1")}, {key: "other", value: []byte(canary + "-2")}},
			ref:       resolver.Ref{Key: "api-token"},
			wantFound: true, wantValue: []byte(canary + "-1"),
		},
		{
			name:  "not found",
			seeds: []seed{{key: "other", value: []byte(canary)}},
			ref:   resolver.Ref{Key: "missing"},
		},
		{
			name:      "binary value is byte-exact",
			seeds:     []seed{{key: "bin", value: binaryValue(false)}},
			ref:       resolver.Ref{Key: "bin"},
			wantFound: true, wantValue: binaryValue(false),
		},
		{
			name:      "binary value with NUL is byte-exact",
			seeds:     []seed{{key: "bin", value: binaryValue(true)}},
			ref:       resolver.Ref{Key: "bin"},
			needNUL:   true,
			wantFound: true, wantValue: binaryValue(true),
		},
		{
			name:      "empty value is found",
			seeds:     []seed{{key: "empty", value: []byte{}}},
			ref:       resolver.Ref{Key: "empty"},
			wantFound: true, wantValue: []byte{},
		},
		{
			name:      "with a group",
			seeds:     []seed{{group: "openai", key: "api-key", value: []byte(canary + "-g")}},
			ref:       resolver.Ref{Key: "api-key", Group: "openai", GroupVersion: "1"},
			wantFound: true, wantValue: []byte(canary + "-g"),
		},
	}
	for _, key := range hostile {
		tests = append(tests, struct {
			name      string
			seeds     []seed
			ref       resolver.Ref
			needNUL   bool
			wantFound bool
			wantValue []byte
		}{
			name:  fmt.Sprintf("hostile key %.20q", key),
			seeds: []seed{{key: "x", value: []byte(canary)}},
			ref:   resolver.Ref{Key: key},
		})
	}

	for _, h := range harnesses {
		t.Run(h.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					if tt.needNUL && !h.nul {
						t.Skipf("%s cannot hold a NUL byte", h.name)
					}
					var logs bytes.Buffer
					got := resolveWith(t, h.name, h.config(t, tt.seeds), &logs, tt.ref)
					require.NoError(t, got.Err)
					assert.Equal(t, tt.wantFound, got.Found)
					require.Len(t, got.Trail, 1)
					if tt.wantFound {
						assert.Equal(t, tt.wantValue, got.Value.Bytes())
						assert.Equal(t, h.name, got.Backend)
						assert.Equal(t, resolver.OutcomeFound, got.Trail[0].Outcome)
					} else {
						assert.Equal(t, 0, got.Value.Len())
						assert.Equal(t, resolver.OutcomeNotFound, got.Trail[0].Outcome)
					}
					assertNoCanary(t, logs.String(), got)
				})
			}
			t.Run("real error", func(t *testing.T) {
				if h.broken == nil {
					t.Skipf("%s cannot fail", h.name)
				}
				var logs bytes.Buffer
				got := resolveWith(t, h.name, h.broken(t), &logs, resolver.Ref{Key: "k"})
				require.Error(t, got.Err)
				assert.False(t, resolver.IsNotFound(got.Err))
				assert.False(t, got.Found)
				assert.True(t, strings.HasPrefix(got.Err.Error(), fmt.Sprintf("backend %q: ", h.name)), got.Err.Error())
				assertNoCanary(t, logs.String(), got)
			})
		})
	}
}

// resolveWith builds the one backend through the registry and resolves ref
// with a debug logger writing into logs.
func resolveWith(t *testing.T, name string, cfg registry.Config, logs *bytes.Buffer, ref resolver.Ref) resolver.Result {
	t.Helper()
	logger := log.New(logs, log.FormatJSON, zapcore.DebugLevel)
	cfg.Logger = logger
	links, err := registry.Build([]string{name}, cfg)
	require.NoError(t, err)
	return resolver.NewChain(links, conformanceScope, logger.Named("resolver")).Resolve(context.Background(), ref)
}

func assertNoCanary(t *testing.T, logs string, got resolver.Result) {
	t.Helper()
	b64 := base64.StdEncoding.EncodeToString([]byte(canary))[:16]
	texts := []string{logs, fmt.Sprintf("%v|%+v|%#v|%s", got, got, got, got.Value)}
	if got.Err != nil {
		texts = append(texts, got.Err.Error())
	}
	for _, a := range got.Trail {
		texts = append(texts, a.Detail)
	}
	for _, s := range texts {
		assert.NotContains(t, s, canary)
		assert.NotContains(t, s, b64)
	}
}
