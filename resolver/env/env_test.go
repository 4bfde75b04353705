package env_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/env"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		name      string
		environ   []string
		ref       resolver.Ref
		wantFound bool
		wantValue string
		wantNames []string
	}{
		{
			name:      "_UNION_ without group",
			environ:   []string{"_UNION_MY-KEY=v1"},
			ref:       resolver.Ref{Key: "my-key"},
			wantFound: true, wantValue: "v1",
			wantNames: []string{"_UNION_MY-KEY", "_FSEC_MY-KEY"},
		},
		{
			name:      "_FSEC_ with group, hyphens kept",
			environ:   []string{"_FSEC_OPEN-AI_API-KEY=v2"},
			ref:       resolver.Ref{Key: "api-key", Group: "open-ai", GroupVersion: "3"},
			wantFound: true, wantValue: "v2",
			wantNames: []string{"_UNION_OPEN-AI_API-KEY", "_UNION_API-KEY", "_FSEC_OPEN-AI_API-KEY"},
		},
		{
			// Flyte 2's webhook sets _UNION_<UPPER(key)> and ignores the group.
			name:      "_UNION_ without the group, as Flyte 2 names it",
			environ:   []string{"FLYTE_SECRETS_ENV_PREFIX=_UNION_", "_UNION_API-KEY=flyte2"},
			ref:       resolver.Ref{Key: "api-key", Group: "openai"},
			wantFound: true, wantValue: "flyte2",
			wantNames: []string{"_UNION_OPENAI_API-KEY", "_UNION_API-KEY", "_FSEC_OPENAI_API-KEY"},
		},
		{
			name:      "_UNION_ with the group comes before it without",
			environ:   []string{"_UNION_API-KEY=bare", "_UNION_OPENAI_API-KEY=grouped"},
			ref:       resolver.Ref{Key: "api-key", Group: "openai"},
			wantFound: true, wantValue: "grouped",
			wantNames: []string{"_UNION_OPENAI_API-KEY", "_UNION_API-KEY", "_FSEC_OPENAI_API-KEY"},
		},
		{
			name:      "_UNION_ without the group comes before _FSEC_ with it",
			environ:   []string{"_FSEC_OPENAI_API-KEY=fsec", "_UNION_API-KEY=union"},
			ref:       resolver.Ref{Key: "api-key", Group: "openai"},
			wantFound: true, wantValue: "union",
			wantNames: []string{"_UNION_OPENAI_API-KEY", "_UNION_API-KEY", "_FSEC_OPENAI_API-KEY"},
		},
		{
			name:      "_FSEC_ never drops the group",
			environ:   []string{"_FSEC_API-KEY=fsec"},
			ref:       resolver.Ref{Key: "api-key", Group: "openai"},
			wantNames: []string{"_UNION_OPENAI_API-KEY", "_UNION_API-KEY", "_FSEC_OPENAI_API-KEY"},
		},
		{
			name:      "a platform prefix other than _UNION_ keeps the group",
			environ:   []string{"FLYTE_SECRETS_ENV_PREFIX=_PLAT_", "_PLAT_K=plat"},
			ref:       resolver.Ref{Key: "k", Group: "g"},
			wantNames: []string{"_PLAT_G_K", "_UNION_G_K", "_UNION_K", "_FSEC_G_K"},
		},
		{
			name:      "the platform's prefix is tried once when it is a default one",
			environ:   []string{"FLYTE_SECRETS_ENV_PREFIX=_FSEC_", "_FSEC_K=fsec"},
			ref:       resolver.Ref{Key: "k"},
			wantFound: true, wantValue: "fsec",
			wantNames: []string{"_FSEC_K", "_UNION_K"},
		},
		{
			name:      "_UNION_ before _FSEC_",
			environ:   []string{"_FSEC_K=fsec", "_UNION_K=union"},
			ref:       resolver.Ref{Key: "k"},
			wantFound: true, wantValue: "union",
			wantNames: []string{"_UNION_K", "_FSEC_K"},
		},
		{
			name:      "the platform prefix comes first",
			environ:   []string{"_UNION_K=union", "FLYTE_SECRETS_ENV_PREFIX=_PLAT_", "_PLAT_K=plat"},
			ref:       resolver.Ref{Key: "k"},
			wantFound: true, wantValue: "plat",
			wantNames: []string{"_PLAT_K", "_UNION_K", "_FSEC_K"},
		},
		{
			name:      "the target variable counts when the platform prefix is set",
			environ:   []string{"FLYTE_SECRETS_ENV_PREFIX=_PLAT_", "MY_KEY=target"},
			ref:       resolver.Ref{Key: "my-key", EnvVar: "MY_KEY"},
			wantFound: true, wantValue: "target",
			wantNames: []string{"_PLAT_MY-KEY", "_UNION_MY-KEY", "_FSEC_MY-KEY", "MY_KEY"},
		},
		{
			name:      "the target variable comes after the prefixed names",
			environ:   []string{"FLYTE_SECRETS_ENV_PREFIX=_PLAT_", "MY_KEY=target", "_FSEC_MY-KEY=fsec"},
			ref:       resolver.Ref{Key: "my-key", EnvVar: "MY_KEY"},
			wantFound: true, wantValue: "fsec",
			wantNames: []string{"_PLAT_MY-KEY", "_UNION_MY-KEY", "_FSEC_MY-KEY", "MY_KEY"},
		},
		{
			name:      "the target variable does not count without the platform prefix",
			environ:   []string{"MY_KEY=target"},
			ref:       resolver.Ref{Key: "my-key", EnvVar: "MY_KEY"},
			wantNames: []string{"_UNION_MY-KEY", "_FSEC_MY-KEY"},
		},
		{
			name:      "an empty platform prefix counts as unset",
			environ:   []string{"FLYTE_SECRETS_ENV_PREFIX=", "MY_KEY=target", "K=bare"},
			ref:       resolver.Ref{Key: "k", EnvVar: "MY_KEY"},
			wantNames: []string{"_UNION_K", "_FSEC_K"},
		},
		{
			name:      "set but empty is found",
			environ:   []string{"_FSEC_K="},
			ref:       resolver.Ref{Key: "k"},
			wantFound: true, wantValue: "",
			wantNames: []string{"_UNION_K", "_FSEC_K"},
		},
		{
			name:      "a value may hold =",
			environ:   []string{"_FSEC_K=a=b="},
			ref:       resolver.Ref{Key: "k"},
			wantFound: true, wantValue: "a=b=",
			wantNames: []string{"_UNION_K", "_FSEC_K"},
		},
		{
			name:      "the first of two entries wins",
			environ:   []string{"_FSEC_K=first", "_FSEC_K=second"},
			ref:       resolver.Ref{Key: "k"},
			wantFound: true, wantValue: "first",
			wantNames: []string{"_UNION_K", "_FSEC_K"},
		},
		{
			name:      "entries without = are ignored",
			environ:   []string{"_FSEC_K", "=x"},
			ref:       resolver.Ref{Key: "k"},
			wantNames: []string{"_UNION_K", "_FSEC_K"},
		},
		{
			name:      "the bare name is not a platform name",
			environ:   []string{"K=bare", "k=bare"},
			ref:       resolver.Ref{Key: "k"},
			wantNames: []string{"_UNION_K", "_FSEC_K"},
		},
		{
			name:    "empty key",
			environ: []string{"_FSEC_=x", "_UNION_=x"},
			ref:     resolver.Ref{Key: ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := env.New(tt.environ)
			assert.Equal(t, tt.wantNames, b.Names(tt.ref))
			v, err := b.Lookup(context.Background(), tt.ref)
			if !tt.wantFound {
				require.Error(t, err)
				assert.True(t, resolver.IsNotFound(err), err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantValue, string(v.Bytes()))
		})
	}
}

func TestNotFoundNamesTheVariables(t *testing.T) {
	_, err := env.New(nil).Lookup(context.Background(), resolver.Ref{Key: "k", Group: "g"})
	assert.EqualError(t, err, "no variable _UNION_G_K, _UNION_K, _FSEC_G_K")
}

func TestSnapshot(t *testing.T) {
	environ := []string{"_FSEC_K=before"}
	b := env.New(environ)
	environ[0] = "_FSEC_K=after"
	v, err := b.Lookup(context.Background(), resolver.Ref{Key: "k"})
	require.NoError(t, err)
	assert.Equal(t, "before", string(v.Bytes()))
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := env.New([]string{"_FSEC_K=v"}).Lookup(ctx, resolver.Ref{Key: "k"})
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, resolver.IsNotFound(err))
}

// TestLookupNamesAsNames: Lookup finds exactly the variables Names lists,
// for ASCII and for keys that strings.ToUpper changes beyond ASCII.
func TestLookupNamesAsNames(t *testing.T) {
	for _, ref := range []resolver.Ref{
		{Key: "my-key"}, {Key: "Mixed_Case-9", Group: "grp"}, {Key: "straße", Group: "ǆ"}, {Key: "ﬃ"},
	} {
		for _, name := range env.New([]string{"FLYTE_SECRETS_ENV_PREFIX=_P_"}).Names(ref) {
			b := env.New([]string{"FLYTE_SECRETS_ENV_PREFIX=_P_", name + "=v"})
			v, err := b.Lookup(context.Background(), ref)
			if assert.NoError(t, err, "%q via %s", ref, name) {
				assert.Equal(t, "v", string(v.Bytes()))
			}
		}
	}
}
