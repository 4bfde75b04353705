package dockerconfig

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const canary = "CANARY-docker-7e1c"

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// auths decodes a pull secret into registry -> decoded auth.
func auths(t *testing.T, value []byte) map[string]string {
	t.Helper()
	var v struct {
		Auths map[string]map[string]string `json:"auths"`
	}
	require.NoError(t, json.Unmarshal(value, &v), string(value))
	out := map[string]string{}
	for reg, e := range v.Auths {
		require.Len(t, e, 1, "an entry holds only its auth")
		d, err := base64.StdEncoding.DecodeString(e["auth"])
		require.NoError(t, err)
		out[reg] = string(d)
	}
	return out
}

func TestBuild(t *testing.T) {
	got, err := Build("ghcr.io", "user", "p@ss:w0rd")
	require.NoError(t, err)
	assert.JSONEq(t, `{"auths":{"ghcr.io":{"auth":"`+b64("user:p@ss:w0rd")+`"}}}`, string(got))
	require.NoError(t, Validate(got))

	tests := []struct {
		name               string
		registry, username string
		wantErr            string
	}{
		{name: "no registry", username: "u", wantErr: "empty registry"},
		{name: "space in registry", registry: "ghcr .io", username: "u", wantErr: "space or a control character"},
		{name: "no user", registry: "r", wantErr: "empty user name"},
		{name: "colon in user", registry: "r", username: "a:b", wantErr: "colon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(tt.registry, tt.username, canary)
			require.Error(t, err)
			assert.True(t, IsInvalid(err))
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), canary)
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		wantErr string
	}{
		{name: "ok", data: `{"auths":{"r":{"auth":"` + b64("u:p") + `"}}}`},
		{name: "ok, other fields", data: `{"auths":{"r":{"auth":"` + b64("u:p") + `","email":"x"}},"HttpHeaders":{}}`},
		{name: "empty", data: ``, wantErr: "empty"},
		{name: "not JSON", data: `{"auths": ` + canary, wantErr: "not valid JSON"},
		{name: "truncated", data: `{"auths":{"r":{"auth":"` + canary, wantErr: "ends too early"},
		{name: "trailing data", data: `{"auths":{"r":{"auth":"` + b64("u:p") + `"}}} {}`, wantErr: "data after"},
		{name: "auths is a list", data: `{"auths":["` + canary + `"]}`, wantErr: "auths is a JSON array"},
		{name: "auth is a number", data: `{"auths":{"r":{"auth":12}}}`, wantErr: "is a JSON number, want a string"},
		{name: "no auths", data: `{}`, wantErr: `no registry under "auths"`},
		{name: "entry without auth", data: `{"auths":{"r":{"username":"u","password":"` + canary + `"}}}`, wantErr: `registry "r" has no auth`},
		{name: "auth not base64", data: `{"auths":{"r":{"auth":"` + canary + `"}}}`, wantErr: "not valid base64"},
		{name: "auth without colon", data: `{"auths":{"r":{"auth":"` + b64(canary) + `"}}}`, wantErr: "user:password"},
		{name: "not UTF-8", data: "{\"auths\":{\"\xff\":{}}}", wantErr: "not UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate([]byte(tt.data))
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, IsInvalid(err), "%v", err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), canary)
			assert.NotContains(t, err.Error(), "CANARY", "no piece of the input is quoted")
		})
	}
}

// fakeHelper answers from a map of helper -> server URL -> credentials, and
// records the calls.
type fakeHelper struct {
	creds map[string]map[string]Credentials
	err   error
	calls []string
}

func (f *fakeHelper) get(name, url string) (Credentials, error) {
	f.calls = append(f.calls, name+" "+url)
	if f.err != nil {
		return Credentials{}, f.err
	}
	c, ok := f.creds[name][url]
	if !ok {
		return Credentials{}, invalidf("credential helper %s has no credentials for registry %q", name, url)
	}
	return c, nil
}

func TestExtract(t *testing.T) {
	config := `{
		"auths": {
			"ghcr.io": {"auth": "` + b64("gh:"+canary) + `"},
			"https://index.docker.io/v1/": {"auth": "` + b64("hub:pw") + `"},
			"quay.io": {"username": "q", "password": "qpw"},
			"empty.example": {},
			"token.example": {"identitytoken": "` + canary + `"},
			"bad.example": {"auth": "` + canary + `"}
		},
		"credHelpers": {"gcr.io": "gcloud", "ecr.example": "ecr-login"},
		"psFormat": "table"
	}`
	c, err := Parse("config.json", []byte(config))
	require.NoError(t, err)
	helper := &fakeHelper{creds: map[string]map[string]Credentials{
		"gcloud":    {"gcr.io": {Username: "oauth2accesstoken", Secret: "gtok"}},
		"ecr-login": {"ecr.example": {Username: "<token>", Secret: canary}},
	}}

	tests := []struct {
		name       string
		registries []string
		want       map[string]string
		wantErr    string
		wantCalls  []string
	}{
		{name: "auth copied as is", registries: []string{"ghcr.io"}, want: map[string]string{"ghcr.io": "gh:" + canary}},
		{name: "same host, other spelling", registries: []string{"https://ghcr.io"}, want: map[string]string{"ghcr.io": "gh:" + canary}},
		{name: "docker hub by its short name", registries: []string{"docker.io"}, want: map[string]string{"https://index.docker.io/v1/": "hub:pw"}},
		{name: "user and password encoded", registries: []string{"quay.io"}, want: map[string]string{"quay.io": "q:qpw"}},
		{name: "credHelpers asks the helper", registries: []string{"gcr.io"}, want: map[string]string{"gcr.io": "oauth2accesstoken:gtok"},
			wantCalls: []string{"gcloud gcr.io"}},
		{name: "several", registries: []string{"ghcr.io", "quay.io"}, want: map[string]string{"ghcr.io": "gh:" + canary, "quay.io": "q:qpw"}},
		{name: "no entry", registries: []string{"nope.example"}, wantErr: `no entry for registry "nope.example"`},
		{name: "entry without credentials", registries: []string{"empty.example"}, wantErr: `no credentials for registry "empty.example"`},
		{name: "identity token only", registries: []string{"token.example"}, wantErr: "identity token"},
		{name: "bad auth", registries: []string{"bad.example"}, wantErr: "not valid base64"},
		{name: "helper gives an identity token", registries: []string{"ecr.example"}, wantErr: "identity token", wantCalls: []string{"ecr-login ecr.example"}},
		{name: "space in a registry", registries: []string{"a b"}, wantErr: "space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			helper.calls = nil
			got, err := c.Extract(tt.registries, helper.get)
			assert.Equal(t, tt.wantCalls, helper.calls)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.True(t, IsInvalid(err), "%v", err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), canary)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, auths(t, got))
			assert.NoError(t, Validate(got), "an extracted value is a valid pull secret")
		})
	}
}

func TestExtractEveryRegistry(t *testing.T) {
	c, err := Parse("c", []byte(`{"auths":{"a.io":{"auth":"`+b64("a:1")+`"},"b.io":{"auth":"`+b64("b:2")+`"}}}`))
	require.NoError(t, err)
	got, err := c.Extract(nil, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"a.io": "a:1", "b.io": "b:2"}, auths(t, got))

	c, err = Parse("c", []byte(`{"psFormat":"x"}`))
	require.NoError(t, err)
	_, err = c.Extract(nil, nil)
	assert.True(t, IsInvalid(err))
	assert.ErrorContains(t, err, "names no registry")
}

func TestExtractCredsStore(t *testing.T) {
	// docker login with a credsStore leaves {} entries in auths.
	c, err := Parse("c", []byte(`{"auths":{"ghcr.io":{},"https://index.docker.io/v1/":{}},"credsStore":"desktop"}`))
	require.NoError(t, err)
	helper := &fakeHelper{creds: map[string]map[string]Credentials{"desktop": {
		"ghcr.io":                     {Username: "u", Secret: "s"},
		"https://index.docker.io/v1/": {Username: "hub", Secret: "h"},
		"other.io":                    {Username: "o", Secret: "x"},
	}}}
	got, err := c.Extract([]string{"ghcr.io", "docker.io", "other.io"}, helper.get)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"ghcr.io": "u:s", "https://index.docker.io/v1/": "hub:h", "other.io": "o:x"}, auths(t, got))
	assert.Equal(t, []string{"desktop ghcr.io", "desktop https://index.docker.io/v1/", "desktop other.io"}, helper.calls)

	_, err = c.Extract([]string{"missing.io"}, helper.get)
	assert.True(t, IsInvalid(err))
	assert.ErrorContains(t, err, `no credentials for registry "missing.io"`)

	helper.err = errors.New("helper broke")
	_, err = c.Extract([]string{"ghcr.io"}, helper.get)
	assert.ErrorContains(t, err, "helper broke")
	assert.False(t, IsInvalid(err), "a helper that fails is not the input's fault")
}

func TestParseRefusesHelperNamesThatArePaths(t *testing.T) {
	for _, cfg := range []string{
		`{"credsStore":"../../bin/sh"}`,
		`{"credHelpers":{"r":"/bin/sh"}}`,
		`{"credHelpers":{"r":""}}`,
		`{"credsStore":"-x"}`,
	} {
		_, err := Parse("c", []byte(cfg))
		require.Error(t, err, cfg)
		assert.True(t, IsInvalid(err))
		assert.Contains(t, err.Error(), "not a plain name")
	}
}

func TestDefaultPath(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	p, err := DefaultPath(env(map[string]string{"DOCKER_CONFIG": "/dc", "HOME": "/h"}))
	require.NoError(t, err)
	assert.Equal(t, "/dc/config.json", p)
	p, err = DefaultPath(env(map[string]string{"HOME": "/h"}))
	require.NoError(t, err)
	assert.Equal(t, "/h/.docker/config.json", p)
	_, err = DefaultPath(env(nil))
	assert.ErrorContains(t, err, "--docker-config-path")
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "missing.json"))
	assert.True(t, IsInvalid(err))
	assert.ErrorContains(t, err, "missing.json")

	p := filepath.Join(dir, "config.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"auths": {`), 0o600))
	_, err = Load(p)
	assert.True(t, IsInvalid(err))
	assert.ErrorContains(t, err, "malformed Docker config "+p)
}

// writeFakeHelper puts a fake docker-credential-<name> on PATH: a shell
// script that stands in for the real external program.
func writeFakeHelper(t *testing.T, name, script string) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker-credential-"+name), []byte("#!/bin/sh\n"+script), 0o755))
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
}

func TestRunnerSpeaksTheHelperProtocol(t *testing.T) {
	log := filepath.Join(t.TempDir(), "calls")
	writeFakeHelper(t, "fake", `echo "$@" >> `+log+`
url=$(cat)
case "$url" in
  ghcr.io) printf '{"ServerURL":"%s","Username":"u","Secret":"`+canary+`"}' "$url" ;;
  slow.io) exec sleep 30 ;;
  garbage.io) echo 'not json `+canary+`' ;;
  broken.io) echo 'keychain locked'; exit 3 ;;
  leaky.io) printf '{"ServerURL":"%s","Username":"u","Secret":"`+canary+`"}' "$url"; exit 1 ;;
  leaky2.io) echo 'auth `+canary+` rejected: password expired'; echo '`+canary+`' >&2; exit 1 ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac
`)
	run := Runner(context.Background())
	c, err := run("fake", "ghcr.io")
	require.NoError(t, err)
	assert.Equal(t, Credentials{ServerURL: "ghcr.io", Username: "u", Secret: canary}, c)
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	assert.Equal(t, "get\n", string(b), "the helper is run with the one argument get")

	_, err = run("fake", "other.io")
	assert.True(t, IsInvalid(err), "%v", err)
	assert.ErrorContains(t, err, `docker-credential-fake has no credentials for registry "other.io"`)

	_, err = run("fake", "broken.io")
	assert.False(t, IsInvalid(err))
	assert.ErrorContains(t, err, "docker-credential-fake get failed (exit status 3)")
	assert.NotContains(t, err.Error(), "keychain locked", "a helper's output is never shown")

	// A helper that printed the credentials and then failed: its output
	// may hold them, so it is not shown, on stdout or stderr.
	for _, host := range []string{"leaky.io", "leaky2.io"} {
		_, err = run("fake", host)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), canary, host)
		assert.ErrorContains(t, err, "its output is not shown, since it may hold credentials", host)
	}

	_, err = run("fake", "garbage.io")
	assert.ErrorContains(t, err, "malformed output")
	assert.NotContains(t, err.Error(), canary)

	_, err = run("absent-helper", "ghcr.io")
	assert.ErrorContains(t, err, "docker-credential-absent-helper is not on PATH")

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Runner(ctx)("fake", "slow.io")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 20*time.Second, "the deadline stops the helper, not its end")

	_, err = run("../fake", "ghcr.io")
	assert.True(t, IsInvalid(err))
}

func TestExtractThroughARealHelper(t *testing.T) {
	writeFakeHelper(t, "fakestore", `read url
printf '{"ServerURL":"%s","Username":"robot","Secret":"tok"}' "$url"
`)
	c, err := Parse("c", []byte(`{"credHelpers":{"registry.example:5000":"fakestore"}}`))
	require.NoError(t, err)
	got, err := c.Extract([]string{"registry.example:5000"}, Runner(context.Background()))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"registry.example:5000": "robot:tok"}, auths(t, got))
}

func TestErrorsNeverQuoteTheInput(t *testing.T) {
	// A few hostile documents: whatever fails, the message holds no canary.
	for _, doc := range []string{
		`{"auths":{"r":{"auth":"` + canary + `"}}}`,
		`{"auths":{"r":{"auth":` + canary + `}}}`,
		`{"auths":{"r":{"auth":["` + canary + `"]}}}`,
		`{"auths":{"r":"` + canary + `"}}`,
		`"` + canary + `"`,
		canary,
	} {
		c, err := Parse("c", []byte(doc))
		if err == nil {
			_, err = c.Extract(nil, nil)
		}
		require.Error(t, err, doc)
		assert.NotContains(t, err.Error(), canary, doc)
		assert.NotContains(t, strings.ToUpper(err.Error()), "CANARY", doc)
		assert.Error(t, Validate([]byte(doc)))
		assert.NotContains(t, Validate([]byte(doc)).Error(), "CANARY")
	}
}
