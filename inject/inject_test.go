package inject

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
)

func set(name, value string) Assignment {
	return Assignment{Name: name, Value: secret.New([]byte(value)), Key: strings.ToLower(name), Origin: "--secret #1"}
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name string
		base []string
		sets []Assignment
		opts Options
		want []string
	}{
		{
			name: "new names are appended in order",
			base: []string{"A=1", "B=2"},
			sets: []Assignment{set("Z", "z"), set("Y", "y")},
			want: []string{"A=1", "B=2", "Z=z", "Y=y"},
		},
		{
			name: "a secret replaces a set variable in place",
			base: []string{"A=1", "TOKEN=old", "B=2"},
			sets: []Assignment{set("TOKEN", "new")},
			want: []string{"A=1", "TOKEN=new", "B=2"},
		},
		{
			name: "later duplicates of an overridden name are dropped",
			base: []string{"TOKEN=old1", "A=1", "TOKEN=old2", "B=2", "TOKEN=old3"},
			sets: []Assignment{set("TOKEN", "new")},
			want: []string{"TOKEN=new", "A=1", "B=2"},
		},
		{
			name: "duplicates of names no secret touches stay",
			base: []string{"A=1", "A=2", "B=3"},
			sets: []Assignment{set("C", "c")},
			want: []string{"A=1", "A=2", "B=3", "C=c"},
		},
		{
			name: "an entry without '=' is replaced by its name",
			base: []string{"TOKEN", "A=1"},
			sets: []Assignment{set("TOKEN", "new")},
			want: []string{"TOKEN=new", "A=1"},
		},
		{
			name: "a prefix of a name is another name",
			base: []string{"TOKEN_X=1", "TOKENX=2"},
			sets: []Assignment{set("TOKEN", "new")},
			want: []string{"TOKEN_X=1", "TOKENX=2", "TOKEN=new"},
		},
		{
			name: "an empty value is a value",
			base: []string{"A=1"},
			sets: []Assignment{set("A", "")},
			want: []string{"A="},
		},
		{
			name: "nil base",
			sets: []Assignment{set("A", "1")},
			want: []string{"A=1"},
		},
		{
			name: "no secrets leaves base as it is",
			base: []string{"A=1", "A=2"},
			want: []string{"A=1", "A=2"},
		},
		{
			name: "scrub removes every entry of a credential",
			base: []string{"VAULT_TOKEN=t1", "A=1", "FLYTE_ENTRYPOINT_VAULT_TOKEN=t2", "VAULT_TOKEN=t3", "VAULT_ADDR=http://v"},
			opts: Options{Scrub: []string{"VAULT_TOKEN", "FLYTE_ENTRYPOINT_VAULT_TOKEN"}},
			want: []string{"A=1", "VAULT_ADDR=http://v"},
		},
		{
			name: "scrub matches exact names only",
			base: []string{"VAULT_TOKEN_FILE=/x", "XVAULT_TOKEN=1"},
			opts: Options{Scrub: []string{"VAULT_TOKEN"}},
			want: []string{"VAULT_TOKEN_FILE=/x", "XVAULT_TOKEN=1"},
		},
		{
			name: "pass-env lets a scrubbed name through",
			base: []string{"VAULT_TOKEN=t1", "FLYTE_ENTRYPOINT_VAULT_TOKEN=t2"},
			opts: Options{Scrub: []string{"VAULT_TOKEN", "FLYTE_ENTRYPOINT_VAULT_TOKEN"}, PassEnv: []string{"VAULT_TOKEN"}},
			want: []string{"VAULT_TOKEN=t1"},
		},
		{
			name: "pass-env of a name not scrubbed changes nothing",
			base: []string{"A=1"},
			opts: Options{PassEnv: []string{"A", "B"}},
			want: []string{"A=1"},
		},
		{
			name: "a secret of a scrubbed name wins",
			base: []string{"VAULT_TOKEN=shim", "A=1"},
			sets: []Assignment{set("VAULT_TOKEN", "task")},
			opts: Options{Scrub: []string{"VAULT_TOKEN"}},
			want: []string{"VAULT_TOKEN=task", "A=1"},
		},
		{
			name: "default dir is appended last",
			base: []string{"A=1"},
			sets: []Assignment{set("B", "2")},
			opts: Options{DefaultDir: "/etc/flyte/secrets"},
			want: []string{"A=1", "B=2", "FLYTE_SECRETS_DEFAULT_DIR=/etc/flyte/secrets"},
		},
		{
			name: "default dir replaces a set value in place",
			base: []string{"FLYTE_SECRETS_DEFAULT_DIR=/old", "A=1", "FLYTE_SECRETS_DEFAULT_DIR=/older"},
			opts: Options{DefaultDir: "/etc/flyte/secrets"},
			want: []string{"FLYTE_SECRETS_DEFAULT_DIR=/etc/flyte/secrets", "A=1"},
		},
		{
			name: "no default dir leaves the variable alone",
			base: []string{"FLYTE_SECRETS_DEFAULT_DIR=/old"},
			want: []string{"FLYTE_SECRETS_DEFAULT_DIR=/old"},
		},
		{
			name: "a secret named FLYTE_SECRETS_DEFAULT_DIR wins over the default dir",
			base: []string{"A=1"},
			sets: []Assignment{set("FLYTE_SECRETS_DEFAULT_DIR", "/mine")},
			opts: Options{DefaultDir: "/etc/flyte/secrets"},
			want: []string{"A=1", "FLYTE_SECRETS_DEFAULT_DIR=/mine"},
		},
		{
			name: "UTF-8 beyond ASCII is fine",
			sets: []Assignment{set("A", "héllo ✓ 日本")},
			want: []string{"A=héllo ✓ 日本"},
		},
		{
			name: "a value may hold '=' and newlines",
			sets: []Assignment{set("A", "a=b\nc=d\n")},
			want: []string{"A=a=b\nc=d\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			baseCopy := append([]string(nil), tt.base...)
			got, err := Build(tt.base, tt.sets, tt.opts, log.Nop())
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, baseCopy, tt.base, "base must not change")
		})
	}
}

func TestBuildRefusesValuesAnEnvironmentCannotHold(t *testing.T) {
	const wantFmt = `secret %q has a binary value that is not valid UTF-8 and cannot be set as an environment variable; mount it as a file instead`
	tests := []struct {
		name  string
		key   string
		value []byte
	}{
		{name: "invalid UTF-8", key: "bin-key", value: []byte{0xff, 0xfe, 'a'}},
		{name: "truncated multibyte", key: "cut", value: []byte("caf\xc3")},
		{name: "NUL byte", key: "nul-key", value: []byte("abc\x00def")},
		{name: "only NUL", key: "zero", value: []byte{0}},
		{name: "UTF-8 encoded surrogate", key: "sur", value: []byte("\xed\xa0\x80")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Assignment{Name: "X", Value: secret.New(tt.value), Key: tt.key, Group: "g", Origin: "--secret #3"}
			got, err := Build([]string{"A=1"}, []Assignment{a}, Options{}, log.Nop())
			assert.Nil(t, got)
			var ie *Error
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, fmt.Sprintf(wantFmt, tt.key), err.Error(), "exact text")
			require.Len(t, ie.Problems, 1)
			assert.Equal(t, RuleBinary, ie.Problems[0].Rule)
			assert.Equal(t, "X", ie.Problems[0].Name)
		})
	}
}

func TestBuildListsEveryFailingAssignment(t *testing.T) {
	sets := []Assignment{
		{Name: "A", Value: secret.New([]byte{0xff}), Key: "a"},
		set("OK", "fine"),
		{Name: "B", Value: secret.New([]byte{0}), Key: "b"},
		set("OK", "again"),
		{Name: "", Value: secret.New([]byte("x")), Key: "c", Origin: "--secret #9"},
		{Name: "D=E", Value: secret.New([]byte("x")), Key: "d"},
	}
	got, err := Build(nil, sets, Options{}, log.Nop())
	assert.Nil(t, got)
	var ie *Error
	require.True(t, errors.As(err, &ie))
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 5, err.Error())
	assert.Equal(t, `secret "a" has a binary value that is not valid UTF-8 and cannot be set as an environment variable; mount it as a file instead`, lines[0])
	assert.Equal(t, `secret "b" has a binary value that is not valid UTF-8 and cannot be set as an environment variable; mount it as a file instead`, lines[1])
	assert.Equal(t, `--secret #9 (key "c"): environment variable name "" is empty or holds '=' or NUL`, lines[2])
	assert.Equal(t, `key "d": environment variable name "D=E" is empty or holds '=' or NUL`, lines[3])
	assert.Equal(t, `--secret #1 (key "ok"): environment variable OK is also set by --secret #1 (key "ok")`, lines[4])
	assert.Equal(t, []Rule{RuleBinary, RuleBinary, RuleBadName, RuleBadName, RuleDuplicate},
		[]Rule{ie.Problems[0].Rule, ie.Problems[1].Rule, ie.Problems[2].Rule, ie.Problems[3].Rule, ie.Problems[4].Rule})
}

func TestCheckNames(t *testing.T) {
	tests := []struct {
		name    string
		use     string
		allow   []string
		wantErr bool
	}{
		{name: "LD_PRELOAD", use: "LD_PRELOAD", wantErr: true},
		{name: "LD_LIBRARY_PATH", use: "LD_LIBRARY_PATH", wantErr: true},
		{name: "LD_ prefix alone", use: "LD_", wantErr: true},
		{name: "any LD_ name", use: "LD_AUDIT", wantErr: true},
		{name: "PATH", use: "PATH", wantErr: true},
		{name: "HOME", use: "HOME", wantErr: true},
		{name: "LD_PRELOAD allowed", use: "LD_PRELOAD", allow: []string{"LD_PRELOAD"}},
		{name: "LD_LIBRARY_PATH allowed", use: "LD_LIBRARY_PATH", allow: []string{"PATH", "LD_LIBRARY_PATH"}},
		{name: "PATH allowed", use: "PATH", allow: []string{"PATH"}},
		{name: "HOME allowed", use: "HOME", allow: []string{"HOME"}},
		{name: "allowing LD_PRELOAD does not allow LD_AUDIT", use: "LD_AUDIT", allow: []string{"LD_PRELOAD"}, wantErr: true},
		{name: "allow is exact", use: "PATH", allow: []string{"path", "PATH "}, wantErr: true},
		{name: "LDX is not reserved", use: "LDX_PRELOAD"},
		{name: "suffix is not reserved", use: "X_LD_PRELOAD"},
		{name: "PATHS is not reserved", use: "PATHS"},
		{name: "HOMEDIR is not reserved", use: "HOMEDIR"},
		{name: "ordinary name", use: "OPENAI_API_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			use := NameUse{Name: tt.use, Key: "my-key", Group: "grp", Origin: `spec "task.pb" secret 2`}
			err := CheckNames([]NameUse{use}, tt.allow)
			if !tt.wantErr {
				assert.NoError(t, err)
				assert.False(t, Reserved(tt.use) && len(tt.allow) == 0)
				return
			}
			var ie *Error
			require.ErrorAs(t, err, &ie)
			require.Len(t, ie.Problems, 1)
			assert.Equal(t, RuleReserved, ie.Problems[0].Rule)
			assert.Equal(t,
				`spec "task.pb" secret 2 (key "my-key", group "grp"): environment variable `+tt.use+
					` is refused: the loader or the shell interpret it (every LD_* name, PATH and HOME); --allow-env `+tt.use+` lets it through`,
				err.Error())
		})
	}
}

func TestCheckNamesListsEveryRefusedUse(t *testing.T) {
	uses := []NameUse{
		{Name: "PATH", Key: "p", Origin: "--secret #1"},
		{Name: "FINE", Key: "f", Origin: "--secret #2"},
		{Name: "LD_PRELOAD", Key: "l", Origin: "--secret #3"},
		{Name: "HOME", Key: "h", Origin: "--secret #4"},
	}
	err := CheckNames(uses, []string{"HOME"})
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], `--secret #1 (key "p")`)
	assert.Contains(t, lines[0], "--allow-env PATH lets it through")
	assert.Contains(t, lines[1], `--secret #3 (key "l")`)
	assert.Contains(t, lines[1], "--allow-env LD_PRELOAD lets it through")
	assert.NoError(t, CheckNames(nil, nil))
}

// logLines decodes the JSON lines a real logger wrote.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		out = append(out, m)
	}
	return out
}

func TestBuildLogsOverridesByNameAndNeverAValue(t *testing.T) {
	const canary = "CANARY-7f3a9c"
	var buf bytes.Buffer
	logger := log.New(&buf, log.FormatJSON, zapcore.DebugLevel).Named("inject")
	base := []string{
		"TOKEN=" + canary + "-old",
		"SAME=" + canary + "-same",
		"VAULT_TOKEN=" + canary + "-vault",
		"PASSED=" + canary + "-passed",
		"FLYTE_SECRETS_DEFAULT_DIR=" + canary + "-dir",
		"TOKEN=" + canary + "-old-dup",
	}
	sets := []Assignment{
		{Name: "TOKEN", Value: secret.New([]byte(canary + "-new")), Key: "tok", Group: "grp", Origin: "--secret #1"},
		{Name: "SAME", Value: secret.New([]byte(canary + "-same")), Key: "same", Origin: "--secret #2"},
		{Name: "FRESH", Value: secret.New([]byte(canary + "-fresh")), Key: "fresh", Origin: "--secret #3"},
	}
	opts := Options{Scrub: []string{"VAULT_TOKEN", "PASSED"}, PassEnv: []string{"PASSED"}, DefaultDir: "/etc/flyte/secrets"}
	env, err := Build(base, sets, opts, logger)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"TOKEN=" + canary + "-new",
		"SAME=" + canary + "-same",
		"PASSED=" + canary + "-passed",
		"FLYTE_SECRETS_DEFAULT_DIR=/etc/flyte/secrets",
		"FRESH=" + canary + "-fresh",
	}, env)

	lines := logLines(t, &buf)
	byName := map[string]map[string]any{}
	for _, l := range lines {
		byName[l["name"].(string)] = l
		assert.Equal(t, "inject", l["logger"])
	}
	require.Contains(t, byName, "TOKEN")
	assert.Equal(t, "warn", byName["TOKEN"]["level"])
	assert.Equal(t, "tok", byName["TOKEN"]["key"])
	assert.Equal(t, "grp", byName["TOKEN"]["group"])
	require.Contains(t, byName, "SAME")
	assert.Equal(t, "info", byName["SAME"]["level"], "same value: a platform injected it, not worth a warning")
	require.Contains(t, byName, "VAULT_TOKEN")
	assert.Equal(t, "debug", byName["VAULT_TOKEN"]["level"])
	require.Contains(t, byName, "PASSED")
	assert.Equal(t, "info", byName["PASSED"]["level"])
	assert.NotContains(t, byName, "FRESH", "setting a new variable is not an override")
	assert.NotContains(t, buf.String(), canary)

	// The error path too: a binary value that carries the canary.
	buf.Reset()
	bad := []Assignment{{Name: "BAD", Value: secret.New([]byte(canary + "\xff")), Key: "bad"}}
	_, err = Build(base, bad, opts, logger)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), canary)
	assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), canary)
	assert.NotContains(t, buf.String(), canary)
}

func TestBuildNilLogger(t *testing.T) {
	env, err := Build([]string{"A=1"}, []Assignment{set("A", "2")}, Options{}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"A=2"}, env)
}

// realisticBase is a container's environment of 40 variables.
func realisticBase() []string {
	base := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOSTNAME=task-abc123-n0-0",
		"HOME=/root",
		"LANG=C.UTF-8",
		"PYTHONUNBUFFERED=1",
		"FLYTE_INTERNAL_EXECUTION_PROJECT=flytesnacks",
		"FLYTE_INTERNAL_EXECUTION_DOMAIN=development",
		"FLYTE_INTERNAL_EXECUTION_ID=a8x2k9",
		"FLYTE_INTERNAL_EXECUTION_WORKFLOW=flytesnacks:development:wf",
		"FLYTE_INTERNAL_TASK_PROJECT=flytesnacks",
		"FLYTE_INTERNAL_TASK_DOMAIN=development",
		"FLYTE_INTERNAL_TASK_NAME=workflows.example.say_hello",
		"FLYTE_INTERNAL_TASK_VERSION=v1",
		"FLYTE_ATTEMPT_NUMBER=0",
		"FLYTE_SECRETS_ENV_PREFIX=_FSEC_",
		"KUBERNETES_SERVICE_HOST=10.96.0.1",
		"KUBERNETES_SERVICE_PORT=443",
		"KUBERNETES_SERVICE_PORT_HTTPS=443",
		"KUBERNETES_PORT=tcp://10.96.0.1:443",
		"KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443",
		"KUBERNETES_PORT_443_TCP_PROTO=tcp",
		"KUBERNETES_PORT_443_TCP_PORT=443",
		"KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1",
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_ROLE_ARN=arn:aws:iam::123456789012:role/flyte",
		"AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
		"AWS_STS_REGIONAL_ENDPOINTS=regional",
		"VAULT_ADDR=https://vault.internal:8200",
		"VAULT_TOKEN=hvs.notarealtoken",
		"FLYTE_ENTRYPOINT_BACKENDS=env,dir,vault",
		"FLYTE_ENTRYPOINT_LOG_LEVEL=info",
		"_FSEC_OPENAI_API_KEY=sk-notreal",
		"_FSEC_DB_PASSWORD=notreal",
		"GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305",
		"PYTHON_VERSION=3.12.4",
		"PYTHON_SHA256=f6d419a6d8743ab26700801b4908d26d97e8b986e14f95de31b32de2b0e79554",
		"TERM=xterm",
		"SHLVL=1",
		"OPENAI_API_KEY=stale",
	}
	return base
}

func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("sets=%d", n), func(b *testing.B) {
			base := realisticBase()
			sets := make([]Assignment, n)
			for i := range sets {
				name := fmt.Sprintf("SECRET_%04d", i)
				if i == 0 {
					name = "OPENAI_API_KEY" // one override
				}
				sets[i] = Assignment{
					Name:  name,
					Value: secret.New([]byte(strings.Repeat("v", 64))),
					Key:   strings.ToLower(name), Origin: "--secret",
				}
			}
			opts := Options{Scrub: []string{"VAULT_TOKEN", "FLYTE_ENTRYPOINT_VAULT_TOKEN"}, DefaultDir: "/etc/flyte/secrets"}
			logger := log.Nop()
			b.ReportAllocs()
			for b.Loop() {
				env, err := Build(base, sets, opts, logger)
				if err != nil || len(env) != len(base)-1+n {
					b.Fatal(err, len(env))
				}
			}
		})
	}
}
