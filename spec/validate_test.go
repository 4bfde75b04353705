package spec

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const envRule = ", must match ^[A-Z_][A-Z0-9_]*$"

func sdk(origin, key string) Raw { return Raw{Origin: origin, Shape: ShapeSDK, Key: key} }

func TestValidateTargets(t *testing.T) {
	tests := []struct {
		name string
		raw  Raw
		want Request
	}{
		{
			name: "bare key derives its variable",
			raw:  sdk("--secret #1", "my-api-key"),
			want: Request{Key: "my-api-key", EnvVar: "MY_API_KEY"},
		},
		{
			name: "group and key derive group_key",
			raw:  Raw{Key: "api-key", Group: "openai"},
			want: Request{Key: "api-key", Group: "openai", EnvVar: "OPENAI_API_KEY"},
		},
		{
			name: "derived name is upper-cased",
			raw:  Raw{Key: "MySecret"},
			want: Request{Key: "MySecret", EnvVar: "MYSECRET"},
		},
		{
			name: "given variable",
			raw:  Raw{Key: "openai-key", AsEnvVar: "OPENAI_API_KEY", GroupVersion: "v2", Optional: true},
			want: Request{Key: "openai-key", GroupVersion: "v2", Optional: true, EnvVar: "OPENAI_API_KEY"},
		},
		{
			name: "mount alone is a file",
			raw:  Raw{Key: "db-config", Mount: MountPath},
			want: Request{Key: "db-config", File: true},
		},
		{
			name: "mount and as_env_var give both, the variable holding the value",
			raw:  Raw{Key: "db-config", Mount: MountPath, AsEnvVar: "DB_CONFIG"},
			want: Request{Key: "db-config", File: true, EnvVar: "DB_CONFIG"},
		},
		{
			name: "core ANY is ENV_VAR with the derived name",
			raw:  Raw{Shape: ShapeCore, Key: "db-password", Group: "postgres", MountRequirement: MountAny},
			want: Request{Key: "db-password", Group: "postgres", EnvVar: "POSTGRES_DB_PASSWORD"},
		},
		{
			name: "core ENV_VAR with env_var",
			raw:  Raw{Shape: ShapeCore, Key: "openai-key", MountRequirement: MountEnvVar, EnvVar: "OPENAI_API_KEY"},
			want: Request{Key: "openai-key", EnvVar: "OPENAI_API_KEY"},
		},
		{
			name: "core FILE",
			raw:  Raw{Shape: ShapeCore, Key: "tls-cert", Group: "certs", MountRequirement: MountFile},
			want: Request{Key: "tls-cert", Group: "certs", File: true},
		},
		{
			name: "core FILE with env_var: the variable holds the path",
			raw:  Raw{Shape: ShapeCore, Key: "ca.pem", Group: "Certs", MountRequirement: MountFile, EnvVar: "CA_PATH"},
			want: Request{Key: "ca.pem", Group: "Certs", File: true, EnvVar: "CA_PATH", EnvIsPath: true},
		},
		{
			name: "core ignores SDK fields",
			raw:  Raw{Shape: ShapeCore, Key: "k", MountRequirement: MountEnvVar, Mount: "/elsewhere", AsEnvVar: "lower"},
			want: Request{Key: "k", EnvVar: "K"},
		},
		{
			name: "dots are fine in a file name",
			raw:  Raw{Key: "config.yaml", Mount: MountPath},
			want: Request{Key: "config.yaml", File: true},
		},
		{
			name: "a key of 253 bytes",
			raw:  Raw{Key: strings.Repeat("K", 253)},
			want: Request{Key: strings.Repeat("K", 253), EnvVar: strings.Repeat("K", 253)},
		},
		{
			name: "an env request may use names a file may not",
			raw:  Raw{Key: "..data", AsEnvVar: "DATA"},
			want: Request{Key: "..data", EnvVar: "DATA"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Validate([]Raw{tt.raw})
			require.NoError(t, err)
			require.Len(t, got, 1)
			tt.want.Origin = tt.raw.Origin
			assert.Equal(t, tt.want, got[0])
		})
	}
}

func TestValidateRules(t *testing.T) {
	long := strings.Repeat("k", 10240)
	tests := []struct {
		name      string
		raw       Raw
		wantRules []string
	}{
		{
			name:      "dot in the derived name",
			raw:       sdk("--secret #2", "my.secret"),
			wantRules: []string{"Invalid environment variable name: MY.SECRET" + envRule + "; did you mean MY_SECRET?"},
		},
		{
			name:      "a given name is not upper-cased",
			raw:       Raw{Key: "k", AsEnvVar: "lowercase"},
			wantRules: []string{"Invalid environment variable name: lowercase" + envRule + "; did you mean LOWERCASE?"},
		},
		{
			name:      "a trailing newline does not match",
			raw:       Raw{Key: "k", AsEnvVar: "MY_VAR\n"},
			wantRules: []string{`Invalid environment variable name: "MY_VAR\n"` + envRule},
		},
		{
			name:      "a leading digit",
			raw:       Raw{Shape: ShapeCore, Key: "k", EnvVar: "1PASSWORD"},
			wantRules: []string{"Invalid environment variable name: 1PASSWORD" + envRule + "; did you mean _1PASSWORD?"},
		},
		{
			name:      "core FILE checks env_var too",
			raw:       Raw{Shape: ShapeCore, Key: "k", MountRequirement: MountFile, EnvVar: "a-path"},
			wantRules: []string{"Invalid environment variable name: a-path" + envRule + "; did you mean A_PATH?"},
		},
		{
			name:      "mount elsewhere",
			raw:       Raw{Key: "k", Mount: "/etc/secrets"},
			wantRules: []string{"Only /etc/flyte/secrets is supported as secret mount path today. Got \"/etc/secrets\": the one accepted path is /etc/flyte/secrets (the files go under it; --root moves it for a test)"},
		},
		{
			name:      "mount with a trailing slash",
			raw:       Raw{Key: "k", Mount: "/etc/flyte/secrets/"},
			wantRules: []string{"Only /etc/flyte/secrets is supported as secret mount path today. Got \"/etc/flyte/secrets/\": the one accepted path is /etc/flyte/secrets (the files go under it; --root moves it for a test)"},
		},
		{
			name:      "empty key",
			raw:       Raw{Key: ""},
			wantRules: []string{"key is required and must not be empty"},
		},
		{
			name:      "a 10 KB key",
			raw:       Raw{Key: long},
			wantRules: []string{"key must be 1 to 253 characters, got 10240 bytes"},
		},
		{
			name:      "a 254-byte group",
			raw:       Raw{Key: "k", Group: strings.Repeat("g", 254)},
			wantRules: []string{`group "gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg"...(254 bytes) must be 1 to 253 characters, got 254 bytes`},
		},
		{
			name:      "NUL in the key",
			raw:       Raw{Key: "a\x00b"},
			wantRules: []string{"key must not contain a NUL or other control character"},
		},
		{
			name:      "newline in the group",
			raw:       Raw{Key: "k", Group: "g\n"},
			wantRules: []string{`group "g\n" must not contain a NUL or other control character`},
		},
		{
			name:      "C1 control character",
			raw:       Raw{Key: "k\u0085"},
			wantRules: []string{"key must not contain a NUL or other control character"},
		},
		{
			name:      "invalid UTF-8",
			raw:       Raw{Key: "k\xff"},
			wantRules: []string{"key must be valid UTF-8"},
		},
		{
			name:      "file key with a slash",
			raw:       Raw{Key: "../x", Mount: MountPath},
			wantRules: []string{`key must not contain "/" in a file request`},
		},
		{
			name:      "file key is a slash",
			raw:       Raw{Shape: ShapeCore, Key: "/", MountRequirement: MountFile},
			wantRules: []string{`key must not contain "/" in a file request`},
		},
		{
			name:      "file key is dot-dot",
			raw:       Raw{Key: "..", Mount: MountPath},
			wantRules: []string{`key must not be "." or ".." in a file request`},
		},
		{
			name:      "file key is dot",
			raw:       Raw{Key: ".", Mount: MountPath},
			wantRules: []string{`key must not be "." or ".." in a file request`},
		},
		{
			name:      "file key is ..data",
			raw:       Raw{Key: "..data", Mount: MountPath},
			wantRules: []string{`key must not start with ".." in a file request: that prefix is reserved for the mount's atomic layout`},
		},
		{
			name:      "file group is ..",
			raw:       Raw{Shape: ShapeCore, Key: "k", Group: "..", MountRequirement: MountFile},
			wantRules: []string{`group ".." must not be "." or ".." in a file request`},
		},
		{
			name:      "file group with a slash",
			raw:       Raw{Key: "k", Group: "a/b", Mount: MountPath},
			wantRules: []string{`group "a/b" must not contain "/" in a file request`},
		},
		{
			name:      "a group that grows past 253 bytes when lower-cased",
			raw:       Raw{Key: "k", Group: strings.Repeat("Ⱥ", 100), Mount: MountPath},
			wantRules: []string{`group "ȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺ"...(200 bytes) must be 1 to 253 characters, got 300 bytes once lower-cased for its path`},
		},
		{
			name:      "unknown mount requirement",
			raw:       Raw{Shape: ShapeCore, Key: "k", MountRequirement: 7},
			wantRules: []string{"mount_requirement 7 is not ANY (0), ENV_VAR (1) or FILE (2)"},
		},
		{
			name: "every problem of one request",
			raw:  Raw{Key: "../x", Mount: "/tmp", AsEnvVar: "bad name"},
			wantRules: []string{
				"Only /etc/flyte/secrets is supported as secret mount path today. Got \"/tmp\": the one accepted path is /etc/flyte/secrets (the files go under it; --root moves it for a test)",
				`key must not contain "/" in a file request`,
				`Invalid environment variable name: "bad name"` + envRule + "; did you mean BAD_NAME?",
			},
		},
		{
			name:      "a bad key does not also report the name derived from it",
			raw:       Raw{Key: "a\x00b"},
			wantRules: []string{"key must not contain a NUL or other control character"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.raw.Origin = "--secret #2"
			got, err := Validate([]Raw{tt.raw})
			assert.Nil(t, got)
			var serr *Error
			require.ErrorAs(t, err, &serr)
			var rules []string
			for _, p := range serr.Problems {
				assert.Equal(t, "--secret #2", p.Origin)
				assert.Equal(t, tt.raw.Key, p.Key)
				rules = append(rules, p.Rule)
			}
			assert.Equal(t, tt.wantRules, rules)
		})
	}
}

func TestValidateErrorText(t *testing.T) {
	_, err := Validate([]Raw{
		sdk("--secret #1", "ok-key"),
		sdk("--secret #2", "my.secret"),
		{Origin: `spec "task.json" secret 1`, Key: strings.Repeat("x", 10240) + "\x00"},
		{Origin: "FLYTE_SECRETS secret 1", Key: "a\x00b", Mount: MountPath},
	})
	require.Error(t, err)
	want := `--secret #2 (key "my.secret"): Invalid environment variable name: MY.SECRET, must match ^[A-Z_][A-Z0-9_]*$; did you mean MY_SECRET?` + "\n" +
		`spec "task.json" secret 1 (key "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"...(10241 bytes)): key must be 1 to 253 characters, got 10241 bytes` + "\n" +
		`FLYTE_SECRETS secret 1 (key "a\x00b"): key must not contain a NUL or other control character`
	assert.Equal(t, want, err.Error())
	assert.Less(t, len(err.Error()), 1024, "a hostile key must not flood the message")
	var serr *Error
	assert.True(t, errors.As(err, &serr))
	assert.Len(t, serr.Problems, 3)
}

func TestValidateCollisions(t *testing.T) {
	tests := []struct {
		name      string
		raws      []Raw
		wantKeys  []string // of the requests, when valid
		wantError string
	}{
		{
			name: "identical requests merge, keeping the first",
			raws: []Raw{
				sdk("--secret #1", "my-key"),
				{Origin: "FLYTE_SECRETS secret 1", Key: "my-key", AsEnvVar: "MY_KEY"},
				{Origin: `spec "a" secret 1`, Shape: ShapeCore, Key: "my-key", MountRequirement: MountEnvVar},
			},
			wantKeys: []string{"my-key"},
		},
		{
			name: "identical file requests merge",
			raws: []Raw{
				{Origin: "--secret #1", Key: "cert", Group: "tls", Mount: MountPath},
				{Origin: `spec "a" secret 1`, Shape: ShapeCore, Key: "cert", Group: "tls", MountRequirement: MountFile},
			},
			wantKeys: []string{"cert"},
		},
		{
			name:      "two keys give the same variable",
			raws:      []Raw{sdk("--secret #1", "my-secret"), sdk("--secret #2", "my_secret")},
			wantError: `--secret #2 (key "my_secret"): sets the environment variable MY_SECRET, as --secret #1 (key "my-secret") does`,
		},
		{
			name:      "the same key, optional once",
			raws:      []Raw{sdk("--secret #1", "k"), {Origin: "--secret #2", Key: "k", Optional: true}},
			wantError: `--secret #2 (key "k"): sets the environment variable K, as --secret #1 (key "k") does`,
		},
		{
			name: "a derived name and a given one",
			raws: []Raw{
				{Origin: "--secret #1", Key: "api-key", Group: "openai"},
				{Origin: "--secret #2", Key: "other", AsEnvVar: "OPENAI_API_KEY"},
			},
			wantError: `--secret #2 (key "other"): sets the environment variable OPENAI_API_KEY, as --secret #1 (key "api-key", group "openai") does`,
		},
		{
			name: "a path variable counts",
			raws: []Raw{
				{Origin: "--secret #1", Key: "ca", Shape: ShapeCore, MountRequirement: MountFile, EnvVar: "CA"},
				{Origin: "--secret #2", Key: "ca"},
			},
			wantError: `--secret #2 (key "ca"): sets the environment variable CA, as --secret #1 (key "ca") does`,
		},
		{
			name: "two requests write the same file",
			raws: []Raw{
				{Origin: "--secret #1", Key: "Cert", Group: "TLS", Mount: MountPath},
				{Origin: "--secret #2", Key: "cert", Group: "tls", Mount: MountPath, AsEnvVar: "CERT"},
			},
			wantError: `--secret #2 (key "cert"): writes the file /etc/flyte/secrets/tls/cert, as --secret #1 (key "Cert", group "TLS") does`,
		},
		{
			name: "file names keep their case without a group",
			raws: []Raw{
				{Origin: "--secret #1", Key: "Cert", Mount: MountPath},
				{Origin: "--secret #2", Key: "cert", Mount: MountPath},
			},
			wantKeys: []string{"Cert", "cert"},
		},
		{
			name: "a file named like a group directory",
			raws: []Raw{
				{Origin: "--secret #1", Key: "x", Group: "Certs", Mount: MountPath},
				{Origin: "--secret #2", Key: "certs", Mount: MountPath},
			},
			wantError: `--secret #2 (key "certs"): its file /etc/flyte/secrets/certs would have the name of the group directory of --secret #1 (key "x", group "Certs")`,
		},
		{
			name: "a group directory named like a file",
			raws: []Raw{
				{Origin: "--secret #1", Key: "certs", Mount: MountPath},
				{Origin: "--secret #2", Shape: ShapeCore, Key: "x", Group: "CERTS", MountRequirement: MountFile},
			},
			wantError: `--secret #2 (key "x"): its group directory /etc/flyte/secrets/certs would have the name of the file of --secret #1 (key "certs")`,
		},
		{
			name: "an env request may share a file's name",
			raws: []Raw{
				{Origin: "--secret #1", Key: "certs", Mount: MountPath},
				{Origin: "--secret #2", Key: "x", Group: "certs"},
			},
			wantKeys: []string{"certs", "x"},
		},
		{
			name: "a grouped file may share another group's name",
			raws: []Raw{
				{Origin: "--secret #1", Key: "certs", Group: "a", Mount: MountPath},
				{Origin: "--secret #2", Key: "x", Group: "certs", Mount: MountPath},
			},
			wantKeys: []string{"certs", "x"},
		},
		{
			name: "every collision is reported",
			raws: []Raw{
				{Origin: "--secret #1", Key: "a", Mount: MountPath, AsEnvVar: "A"},
				{Origin: "--secret #2", Key: "a", Mount: MountPath, AsEnvVar: "A", Optional: true},
				sdk("--secret #3", "b"),
				sdk("--secret #4", "B"),
			},
			wantError: `--secret #2 (key "a"): sets the environment variable A, as --secret #1 (key "a") does` + "\n" +
				`--secret #2 (key "a"): writes the file /etc/flyte/secrets/a, as --secret #1 (key "a") does` + "\n" +
				`--secret #4 (key "B"): sets the environment variable B, as --secret #3 (key "b") does`,
		},
		{
			name: "an invalid request takes no part in collisions",
			raws: []Raw{sdk("--secret #1", "my.secret"), {Origin: "--secret #2", Key: "k", AsEnvVar: "MY.SECRET"}},
			wantError: `--secret #1 (key "my.secret"): Invalid environment variable name: MY.SECRET` + envRule + "; did you mean MY_SECRET?\n" +
				`--secret #2 (key "k"): Invalid environment variable name: MY.SECRET` + envRule + "; did you mean MY_SECRET?",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Validate(tt.raws)
			if tt.wantError != "" {
				require.Error(t, err)
				assert.Equal(t, tt.wantError, err.Error())
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			var keys []string
			for _, r := range got {
				keys = append(keys, r.Key)
			}
			assert.Equal(t, tt.wantKeys, keys)
			assert.Equal(t, tt.raws[0].Origin, got[0].Origin, "the first of identical requests is kept")
		})
	}
}

func TestValidateEmpty(t *testing.T) {
	got, err := Validate(nil)
	assert.NoError(t, err)
	assert.Empty(t, got)
}

func TestRequestPaths(t *testing.T) {
	tests := []struct {
		name        string
		req         Request
		wantPath    string
		wantLogical string
	}{
		{name: "no file", req: Request{Key: "k", EnvVar: "K"}},
		{name: "no group keeps the case", req: Request{Key: "MyCert.pem", File: true}, wantPath: "MyCert.pem", wantLogical: "/etc/flyte/secrets/MyCert.pem"},
		{name: "a group lower-cases both", req: Request{Key: "TLS-Cert", Group: "Certs", File: true}, wantPath: "certs/tls-cert", wantLogical: "/etc/flyte/secrets/certs/tls-cert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.wantPath, tt.req.FilePath())
			assert.Equal(t, tt.wantLogical, tt.req.LogicalPath())
		})
	}
}

func TestDeriveEnvVar(t *testing.T) {
	tests := []struct {
		group, key string
		want       string
		wantValid  bool
	}{
		{key: "my-api-key", want: "MY_API_KEY", wantValid: true},
		{group: "openai", key: "api-key", want: "OPENAI_API_KEY", wantValid: true},
		{key: "MySecret", want: "MYSECRET", wantValid: true},
		{key: "my.secret", want: "MY.SECRET"},
		{group: "my-group", key: "_x", want: "MY_GROUP__X", wantValid: true},
		{key: "9lives", want: "9LIVES"},
		{key: "_9lives", want: "_9LIVES", wantValid: true},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := deriveEnvVar(tt.group, tt.key)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantValid, validEnvVar(got))
		})
	}
}

func TestStrings(t *testing.T) {
	assert.Equal(t, "sdk", ShapeSDK.String())
	assert.Equal(t, "core", ShapeCore.String())
	assert.Equal(t, "Shape(5)", Shape(5).String())
	assert.Equal(t, "ANY", MountAny.String())
	assert.Equal(t, "ENV_VAR", MountEnvVar.String())
	assert.Equal(t, "FILE", MountFile.String())
	assert.Equal(t, "MountRequirement(9)", MountRequirement(9).String())
}

func TestEnvNameFix(t *testing.T) {
	for in, want := range map[string]string{
		"openai_key": "OPENAI_KEY",
		"MY.SECRET":  "MY_SECRET",
		"my-api-key": "MY_API_KEY",
		"1PASSWORD":  "_1PASSWORD",
		"MY_VAR\n":   "", // a control character: too odd to guess
		"---":        "", // nothing to keep
		"café":       "", // not ASCII
		"":           "",
	} {
		assert.Equal(t, want, envNameFix(in), "%q", in)
	}
}

// TestDeriveEnvVarFastPathIsTheLongWay: the one-pass ASCII path gives what
// ToUpper(ReplaceAll(group_key)) gives, for every name.
func TestDeriveEnvVarFastPathIsTheLongWay(t *testing.T) {
	for _, tc := range [][2]string{
		{"", "my-api-key"}, {"", "MixedCase_1"}, {"grp", "key"}, {"a-b", "c-d"}, {"", ""},
		{"", "ключ"}, {"gröup", "key"}, {"", "a.b"}, {"", "x\x00y"}, {"", "\xff"}, {"g", "straße"},
	} {
		assert.Equal(t, deriveEnvVarUnicode(tc[0], tc[1]), deriveEnvVar(tc[0], tc[1]), "%q %q", tc[0], tc[1])
	}
}

func FuzzDeriveEnvVar(f *testing.F) {
	f.Add("grp", "my-key")
	f.Add("", "ключ")
	f.Fuzz(func(t *testing.T, group, key string) {
		if got, want := deriveEnvVar(group, key), deriveEnvVarUnicode(group, key); got != want {
			t.Fatalf("%q, the long way gives %q", got, want)
		}
	})
}

// FuzzValidateTakesARepeatOnce: giving every request a second time, from
// other origins and in another order, changes nothing: the same requests
// come out, or the same rules are broken. A repeat that Validate failed to
// see would collide with its first and make an error of a valid set.
func FuzzValidateTakesARepeatOnce(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7})
	f.Add([]byte{9, 9, 18, 27, 200, 201})
	keys := []string{"a", "b", "my-key", "my_key", "Cert", "cert"}
	groups := []string{"", "tls", "TLS"}
	mounts := []string{"", MountPath}
	envs := []string{"", "A", "MY_KEY"}
	f.Fuzz(func(t *testing.T, b []byte) {
		var raws []Raw
		for i, c := range b {
			if len(raws) == 12 {
				break
			}
			raw := Raw{Origin: "--secret #" + string(rune('a'+i)), Key: keys[int(c)%len(keys)],
				Group: groups[int(c>>3)%len(groups)], Optional: c&0x80 != 0}
			switch c >> 5 & 3 {
			case 0, 1:
				raw.Shape = ShapeSDK
				raw.Mount = mounts[int(c>>5)%len(mounts)]
				if raw.Mount == "" {
					raw.AsEnvVar = envs[int(c>>2)%len(envs)]
				}
			case 2:
				raw.Shape, raw.MountRequirement = ShapeCore, MountEnvVar
			default:
				raw.Shape, raw.MountRequirement = ShapeCore, MountFile
				raw.EnvVar = envs[int(c>>1)%len(envs)]
			}
			raws = append(raws, raw)
		}
		once, onceErr := Validate(raws)
		twice := append([]Raw{}, raws...)
		for i := len(raws) - 1; i >= 0; i-- {
			r := raws[i]
			r.Origin = "repeat of " + r.Origin
			twice = append(twice, r)
		}
		again, againErr := Validate(twice)
		if onceErr != nil {
			require.Error(t, againErr, "a set with a broken rule stays broken")
			return
		}
		require.NoError(t, againErr, "repeats alone broke a valid set")
		assert.Equal(t, once, again)
	})
}
