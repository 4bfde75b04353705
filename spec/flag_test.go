package spec

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFlag(t *testing.T) {
	tests := []struct {
		name      string
		value     string
		want      Raw
		wantError string
	}{
		{
			name:  "bare key",
			value: "my-api-key",
			want:  Raw{Key: "my-api-key"},
		},
		{
			name:  "key and env",
			value: "key=openai-key,env=OPENAI_API_KEY",
			want:  Raw{Key: "openai-key", AsEnvVar: "OPENAI_API_KEY"},
		},
		{
			name:  "key and mount",
			value: "key=db-config,mount=/etc/flyte/secrets",
			want:  Raw{Key: "db-config", Mount: "/etc/flyte/secrets"},
		},
		{
			name:  "every field",
			value: "group=openai,group_version=v2,key=api-key,env=OPENAI,mount=/etc/flyte/secrets,optional=true",
			want:  Raw{Key: "api-key", Group: "openai", GroupVersion: "v2", AsEnvVar: "OPENAI", Mount: MountPath, Optional: true},
		},
		{
			name:  "as_env_var is env",
			value: "key=k,as_env_var=K",
			want:  Raw{Key: "k", AsEnvVar: "K"},
		},
		{
			name:  "optional takes strconv's booleans",
			value: "key=k,optional=1",
			want:  Raw{Key: "k", Optional: true},
		},
		{
			name:  "optional false",
			value: "key=k,optional=F",
			want:  Raw{Key: "k"},
		},
		{
			name:  "an empty group is no group",
			value: "key=k,group=",
			want:  Raw{Key: "k"},
		},
		{
			name:  "a value may hold =",
			value: "key=k,env=A=B",
			want:  Raw{Key: "k", AsEnvVar: "A=B"},
		},
		{
			name:  "a bare key is taken as given; the rules come later",
			value: "../x",
			want:  Raw{Key: "../x"},
		},
		{
			name:      "empty",
			value:     "",
			wantError: `--secret #2 "": empty key: give a key (my-api-key) or field=value pairs (key=my-api-key,env=MY_API_KEY)`,
		},
		{
			name:      "empty key field",
			value:     "key=,env=X",
			wantError: `--secret #2 "key=,env=X": empty key: key= needs a name`,
		},
		{
			name:      "no key field",
			value:     "group=g,env=X",
			wantError: `--secret #2 "group=g,env=X": no key: add key=NAME`,
		},
		{
			name:      "unknown field",
			value:     "key=k,as_env=X",
			wantError: `--secret #2 "key=k,as_env=X": unknown field "as_env": the fields are key, group, group_version, env, mount, optional`,
		},
		{
			name:      "field names are exact",
			value:     "Key=k",
			wantError: `--secret #2 "Key=k": unknown field "Key": the fields are key, group, group_version, env, mount, optional`,
		},
		{
			name:      "duplicate field",
			value:     "key=a,key=b",
			wantError: `--secret #2 "key=a,key=b": field key is given twice`,
		},
		{
			name:      "env and as_env_var are one field",
			value:     "key=a,env=A,as_env_var=B",
			wantError: `--secret #2 "key=a,env=A,as_env_var=B": field env is given twice`,
		},
		{
			name:      "pair without =",
			value:     "key=k,mount",
			wantError: `--secret #2 "key=k,mount": "mount" is not a field=value pair`,
		},
		{
			name:      "a comma list without any =",
			value:     "a,b",
			wantError: `--secret #2 "a,b": "a" is not a field=value pair`,
		},
		{
			name:      "trailing comma",
			value:     "key=k,",
			wantError: `--secret #2 "key=k,": "" is not a field=value pair`,
		},
		{
			name:      "bad bool",
			value:     "key=k,optional=yes",
			wantError: `--secret #2 "key=k,optional=yes": optional="yes" is not a boolean: use true or false`,
		},
		{
			name:      "control characters are quoted",
			value:     "key=a\x00b,foo=1",
			wantError: `--secret #2 "key=a\x00b,foo=1": unknown field "foo": the fields are key, group, group_version, env, mount, optional`,
		},
		{
			name:      "a huge value is cut",
			value:     "key=" + strings.Repeat("k", 10240) + ",x=1",
			wantError: `--secret #2 "key=kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"...(10248 bytes): unknown field "x": the fields are key, group, group_version, env, mount, optional`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFlag(tt.value, 2)
			if tt.wantError != "" {
				require.Error(t, err)
				assert.Equal(t, tt.wantError, err.Error())
				return
			}
			require.NoError(t, err)
			tt.want.Origin, tt.want.Shape = "--secret #2", ShapeSDK
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseFlagThenValidate(t *testing.T) {
	r1, err := ParseFlag("key=openai-key,env=OPENAI_API_KEY", 1)
	require.NoError(t, err)
	r2, err := ParseFlag("my.secret", 2)
	require.NoError(t, err)
	_, err = Validate([]Raw{r1, r2})
	require.Error(t, err)
	assert.Equal(t, `--secret #2 (key "my.secret"): Invalid environment variable name: MY.SECRET, must match ^[A-Z_][A-Z0-9_]*$; did you mean MY_SECRET?`, err.Error())
}
