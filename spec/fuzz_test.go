package spec

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// The fuzz targets check properties, not outputs: no panic; an error is
// short, printable and names its source; and whatever Validate accepts
// obeys the rules, above all that a file never lands outside the mount.
// The seed corpus is in testdata/fuzz/FuzzXxx; TestWriteFuzzCorpus -update
// rewrites its seed-* files. Crashers that the fuzzer finds are kept there
// too, under the fuzzer's own names.

func FuzzParseFlag(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		raw, err := ParseFlag(s, 3)
		if err != nil {
			checkError(t, err, "--secret #3 ")
			return
		}
		require.Equal(t, "--secret #3", raw.Origin)
		require.Equal(t, ShapeSDK, raw.Shape)
		require.NotEmpty(t, raw.Key)
		if !strings.ContainsAny(s, "=,") {
			require.Equal(t, s, raw.Key, "a bare key is taken whole")
		}
		checkValidate(t, []Raw{raw})
	})
}

func FuzzParseSDKJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		raws, err := ParseSDKJSON("FLYTE_SECRETS", data)
		if err != nil {
			checkError(t, err, "FLYTE_SECRETS")
			return
		}
		for i, r := range raws {
			require.Equal(t, "FLYTE_SECRETS secret "+strconv.Itoa(i+1), r.Origin)
			require.Equal(t, ShapeSDK, r.Shape)
		}
		// What the SDK's shape accepts, a --spec file reads the same.
		fromFile, format, err := ParseFile("fuzz.json", data)
		require.NoError(t, err)
		require.Contains(t, []Format{FormatSDKJSON, FormatSecurityContextJSON}, format)
		require.Len(t, fromFile, len(raws))
		for i := range raws {
			r := fromFile[i]
			require.Equal(t, `spec "fuzz.json" secret `+strconv.Itoa(i+1), r.Origin)
			r.Origin = raws[i].Origin
			require.Equal(t, raws[i], r)
		}
		checkValidate(t, raws)
	})
}

func FuzzParseFile(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		raws, format, err := ParseFile("fuzz.spec", data)
		if err != nil {
			checkError(t, err, `spec "fuzz.spec"`)
			return
		}
		require.NotContains(t, format.String(), "Format(", "a format without a name")
		if format == FormatProto {
			require.Empty(t, raws)
		}
		for _, r := range raws {
			require.True(t, strings.HasPrefix(r.Origin, `spec "fuzz.spec" `), r.Origin)
			require.LessOrEqual(t, len(r.Origin), 200)
		}
		checkValidate(t, raws)
	})
}

// checkError checks a parser's error: it names its source, and it is one
// short printable line however hostile the input.
func checkError(t *testing.T, err error, prefix string) {
	msg := err.Error()
	require.True(t, strings.HasPrefix(msg, prefix), "error %q does not begin with %q", msg, prefix)
	require.LessOrEqual(t, len(msg), 1024, "error too long: %q", msg)
	requirePrintable(t, msg)
}

func requirePrintable(t *testing.T, s string) {
	require.True(t, utf8.ValidString(s), "not UTF-8: %q", s)
	for _, r := range s {
		require.False(t, unicode.IsControl(r) && r != '\n', "control character in %q", s)
	}
}

var envName = regexp.MustCompile(`\A[A-Z_][A-Z0-9_]*\z`)

// checkValidate runs Validate and checks what it accepts, or that its error
// is readable.
func checkValidate(t *testing.T, raws []Raw) {
	reqs, err := Validate(raws)
	if err != nil {
		require.Nil(t, reqs)
		var serr *Error
		require.ErrorAs(t, err, &serr)
		require.NotEmpty(t, serr.Problems)
		lines := strings.Split(err.Error(), "\n")
		require.Len(t, lines, len(serr.Problems))
		for _, l := range lines {
			require.LessOrEqual(t, len(l), 2048, "problem too long: %q", l)
			requirePrintable(t, l)
		}
		return
	}
	require.LessOrEqual(t, len(reqs), len(raws))
	envs := make(map[string]bool)
	files := make(map[string]bool)
	dirs := make(map[string]bool)
	for _, r := range reqs {
		for _, name := range []string{r.Key, r.Group} {
			if name == r.Group && name == "" {
				continue
			}
			require.NotEmpty(t, name)
			require.LessOrEqual(t, len(name), 253)
			require.True(t, utf8.ValidString(name))
			for _, c := range name {
				require.False(t, unicode.IsControl(c), "control character in %q", name)
			}
		}
		require.True(t, r.File || r.EnvVar != "", "a request with no target: %+v", r)
		if r.EnvVar != "" {
			require.Regexp(t, envName, r.EnvVar)
			require.False(t, envs[r.EnvVar], "two requests set %s", r.EnvVar)
			envs[r.EnvVar] = true
		}
		if r.EnvIsPath {
			require.True(t, r.File)
		}
		if !r.File {
			require.Empty(t, r.FilePath())
			require.Empty(t, r.LogicalPath())
			continue
		}
		p := r.FilePath()
		parts := strings.Split(p, "/")
		if r.Group == "" {
			require.Len(t, parts, 1, "path %q", p)
		} else {
			require.Len(t, parts, 2, "path %q", p)
		}
		for _, part := range parts {
			require.NotEmpty(t, part)
			require.NotEqual(t, ".", part)
			require.False(t, strings.HasPrefix(part, ".."), "path %q", p)
			require.LessOrEqual(t, len(part), 253)
		}
		logical := r.LogicalPath()
		require.Equal(t, MountPath+"/"+p, logical)
		require.Equal(t, logical, path.Clean(logical), "the path must be clean")
		require.Equal(t, logical, filepath.Join(MountPath, p))
		require.False(t, files[p], "two requests write %s", p)
		files[p] = true
		if len(parts) == 2 {
			dirs[parts[0]] = true
		}
	}
	for p := range files {
		require.False(t, dirs[p], "%s is both a file and a group directory", p)
	}
}

// TestWriteFuzzCorpus rewrites the seed-* files of the seed corpus from the
// fixtures and the cases below: go test ./spec -run TestWriteFuzzCorpus -update.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("only with -update")
	}
	flags := map[string]string{
		"bare":       "my-api-key",
		"env":        "key=openai-key,env=OPENAI_API_KEY",
		"mount":      "key=db-config,mount=/etc/flyte/secrets",
		"all":        "key=api-key,group=openai,group_version=v2,env=OPENAI,mount=/etc/flyte/secrets,optional=true",
		"dot":        "my.secret",
		"traversal":  "key=../x,mount=/etc/flyte/secrets",
		"dotdata":    "key=..data,group=g,mount=/etc/flyte/secrets",
		"nul":        "key=a\x00b,env=A",
		"badbool":    "key=k,optional=maybe",
		"duplicate":  "key=a,key=b",
		"nopair":     "key=k,mount",
		"slashgroup": "key=k,group=/,mount=/etc/flyte/secrets",
	}
	jsons := map[string]string{
		"string":  `"my-api-key"`,
		"object":  `{"key": "api-key", "group": "openai", "group_version": "v1", "mount": "/etc/flyte/secrets", "as_env_var": "OPENAI", "optional": true}`,
		"secrets": `{"secrets": ["a", {"key": "b", "as_env_var": "B"}]}`,
		"hostile": `[{"key": "..", "mount": "/etc/flyte/secrets"}, {"key": "a\u0000b"}, {"key": "x", "group": "../..", "mount": "/etc/flyte/secrets"}]`,
		"clash":   `["my-secret", "my_secret", {"key": "certs", "mount": "/etc/flyte/secrets"}, {"key": "x", "group": "Certs", "mount": "/etc/flyte/secrets"}]`,
	}
	files := map[string][]byte{
		"core-secret":           []byte(`{"key": "k", "mount_requirement": "FILE", "envVar": "K_PATH"}`),
		"mixed-secrets":         []byte(`{"secrets": ["a", {"key": "c", "envVar": "C"}, {"key": "d", "mountRequirement": 2}]}`),
		"bad-enum":              []byte(`{"taskTemplate": {"securityContext": {"secrets": [{"key": "k", "mountRequirement": "File"}]}}}`),
		"template-first":        pbBytes(nil, 8, pbSecurityContext(pbSecret{key: "k", mount: 2, envVar: "P"})),
		"quote-first":           pbBytes(pbBytes(nil, 4, nil), 8, pbSecurityContext(pbSecret{key: "../k", mount: 2})),
		"annotation-bad":        []byte("flyte.secrets/s0=\"NNSX\"\n"),
		"annotation-nul":        []byte("flyte.secrets/s1=" + strconv.Quote(annotationValue(`key: "a\x00b" mount_requirement: FILE`)) + "\n"),
		"text":                  []byte("h1h2h3"),
		"annotation-value":      []byte(annotationValue(`group: "certs" key: "tls-cert" mount_requirement: FILE`) + "\n"),
		"annotation-value-rfc":  []byte("NNSXSORAEJWXSX2LMV3SECQ="),
		"annotation-any-suffix": []byte("flyte.secrets/s=" + strconv.Quote(annotationValue(`key: "a"`)) + "\nflyte.secrets/sx=" + strconv.Quote(annotationValue(`key: "../b" mount_requirement: FILE`)) + "\n"),
		"admin-taskspec":        []byte(`{"template": {"securityContext": {"secrets": [{"key": "k", "group": "G", "mountRequirement": "FILE"}]}}, "description": {}}`),
		"admin-taskspec-binary": pbBytes(pbTaskSpec(pbTaskTemplate(pbSecurityContext(pbSecret{key: "k", mount: 2}))), 2, pbString(nil, 2, "d")),
	}
	entries, err := os.ReadDir(fixtureDir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Name() == "README.md" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(fixtureDir, e.Name()))
		require.NoError(t, err)
		files["fixture-"+e.Name()] = data
		if strings.HasSuffix(e.Name(), ".json") && !strings.Contains(string(data), "Template") && !strings.Contains(string(data), "envVar") && !strings.Contains(string(data), "_requirement") {
			jsons["fixture-"+e.Name()] = string(data)
		}
	}
	writeCorpus(t, "FuzzParseFlag", "string", flags)
	writeCorpus(t, "FuzzParseSDKJSON", "[]byte", jsons)
	bs := make(map[string]string, len(files))
	for k, v := range files {
		bs[k] = string(v)
	}
	writeCorpus(t, "FuzzParseFile", "[]byte", bs)
}

func writeCorpus(t *testing.T, target, typ string, seeds map[string]string) {
	dir := filepath.Join("testdata", "fuzz", target)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	old, err := filepath.Glob(filepath.Join(dir, "seed-*"))
	require.NoError(t, err)
	for _, f := range old {
		require.NoError(t, os.Remove(f))
	}
	for name, v := range seeds {
		body := "go test fuzz v1\n" + typ + "(" + strconv.Quote(v) + ")\n"
		require.NoError(t, os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(body), 0o644))
	}
}
