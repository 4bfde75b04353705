package registry_test

import (
	"bytes"
	"context"
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

func TestKnown(t *testing.T) {
	assert.Equal(t, []string{"env", "dir", "local", "k8s", "k8s-v1", "aws", "aws-v1"}, registry.Known())
	assert.Equal(t, []string{"env", "dir", "local"}, strings.Split(registry.DefaultChain, ","))
}

func TestBuild(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	tests := []struct {
		name       string
		names      []string
		cfg        registry.Settings
		wantNames  []string
		wantSkip   []string
		wantScoped []bool
		wantErr    string
	}{
		{
			name:       "default chain",
			names:      strings.Split(registry.DefaultChain, ","),
			cfg:        registry.Settings{Values: map[string]string{"dir": "/d", "store": store}},
			wantNames:  []string{"env", "dir", "local"},
			wantSkip:   []string{"", "", ""},
			wantScoped: []bool{false, false, true},
		},
		{
			name:       "dir without a directory is skipped",
			names:      []string{"dir", "env"},
			cfg:        registry.Settings{},
			wantNames:  []string{"dir", "env"},
			wantSkip:   []string{"no directory set", ""},
			wantScoped: []bool{false, false},
		},
		{
			name:       "order is kept",
			names:      []string{"local", "env"},
			cfg:        registry.Settings{Values: map[string]string{"store": store}},
			wantNames:  []string{"local", "env"},
			wantSkip:   []string{"", ""},
			wantScoped: []bool{true, false},
		},
		{name: "unknown name", names: []string{"env", "vault2"}, wantErr: `unknown backend "vault2" (known: env, dir, local, k8s, k8s-v1, aws, aws-v1)`},
		{name: "empty name", names: []string{"env", ""}, wantErr: `unknown backend "" (known: env, dir, local, k8s, k8s-v1, aws, aws-v1)`},
		{name: "names are case-sensitive", names: []string{"ENV"}, wantErr: `unknown backend "ENV" (known: env, dir, local, k8s, k8s-v1, aws, aws-v1)`},
		{name: "duplicate", names: []string{"env", "dir", "env"}, wantErr: `backend "env" is listed more than once`},
		{name: "every problem is named", names: []string{"x", "env", "env"},
			wantErr: "unknown backend \"x\" (known: env, dir, local, k8s, k8s-v1, aws, aws-v1)\nbackend \"env\" is listed more than once"},
		{name: "nothing", names: nil, wantErr: "no backends given (known: env, dir, local, k8s, k8s-v1, aws, aws-v1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			links, err := registry.Build(tt.names, tt.cfg)
			if tt.wantErr != "" {
				assert.EqualError(t, err, tt.wantErr)
				assert.Nil(t, links)
				return
			}
			require.NoError(t, err)
			var names, skips []string
			for i, l := range links {
				names = append(names, l.Name)
				skips = append(skips, l.Skip)
				if l.Skip != "" {
					assert.Nil(t, l.Backend)
				} else {
					assert.NotNil(t, l.Backend)
				}
				assert.Equal(t, tt.wantScoped[i], l.Scoped, l.Name)
			}
			assert.Equal(t, tt.wantNames, names)
			assert.Equal(t, tt.wantSkip, skips)
		})
	}
}

func TestBuildDefaultStore(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv("HOME", "")
	data := os.Getenv("XDG_DATA_HOME")
	s, err := local.Open(filepath.Join(data, "flyte-entrypoint"))
	require.NoError(t, err)
	_, err = s.Create(context.Background(), resolver.Scope{Org: "flyte"}, "k", manage.TypeRegular, secret.New([]byte("v")))
	require.NoError(t, err)

	links, err := registry.Build([]string{"local"}, registry.Settings{})
	require.NoError(t, err)
	got := resolver.NewChain(links, resolver.Scope{Org: "flyte"}, nil).Resolve(context.Background(), resolver.Ref{Key: "k"})
	require.NoError(t, got.Err)
	assert.Equal(t, "v", string(got.Value.Bytes()))

	t.Setenv("XDG_DATA_HOME", "")
	links, err = registry.Build([]string{"local"}, registry.Settings{})
	require.NoError(t, err)
	assert.Nil(t, links[0].Backend)
	assert.Contains(t, links[0].Skip, "no store directory")
}

func TestBuildLogs(t *testing.T) {
	var buf bytes.Buffer
	_, err := registry.Build([]string{"env", "dir"}, registry.Settings{Logger: log.New(&buf, log.FormatJSON, zapcore.DebugLevel)})
	require.NoError(t, err)
	assert.Contains(t, buf.String(), `"logger":"resolver.registry"`)
	assert.Contains(t, buf.String(), `"reason":"no directory set"`)
}

// TestRows: every row is complete and names nothing twice, so that the CLI
// can build one flag and one variable per option.
func TestRows(t *testing.T) {
	flags, vars := map[string]string{}, map[string]string{}
	for _, b := range registry.All() {
		assert.NotEmpty(t, b.Name)
		assert.NotNil(t, b.Lookup, b.Name)
		for _, o := range b.Options {
			assert.NotEmpty(t, o.Usage, o.Name)
			if prev, dup := flags[o.Name]; dup {
				t.Errorf("option --%s of %s is also %s's", o.Name, b.Name, prev)
			}
			if prev, dup := vars[o.Env]; dup {
				t.Errorf("variable %s of %s is also %s's", o.Env, b.Name, prev)
			}
			flags[o.Name], vars[o.Env] = b.Name, b.Name
		}
	}
	assert.Equal(t, []string{"local", "k8s", "aws"}, registry.Stores())
	assert.Empty(t, registry.Credentials([]string{"env", "dir", "local", "nope"}))

	_, err := registry.OpenStore("env", registry.Settings{})
	assert.EqualError(t, err, `"env": unknown secret store (known: local, k8s, aws)`)
	st, err := registry.OpenStore("local", registry.Settings{Values: map[string]string{"store": filepath.Join(t.TempDir(), "s")}})
	require.NoError(t, err)
	assert.NotNil(t, st)
}
