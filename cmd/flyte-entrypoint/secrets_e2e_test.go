package main_test

// The secret-management commands end to end: the real binary (shimBin, built
// by TestMain), real processes, a real store directory, a real
// pseudo-terminal for the prompts, and a fake docker-credential helper
// script on PATH.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// secretsCLI runs the management commands against one store.
type secretsCLI struct {
	store string // FLYTE_ENTRYPOINT_STORE
	home  string
	env   map[string]string // on top of the minimal environment, for every run
}

func newSecretsCLI(t *testing.T) *secretsCLI {
	tmp := tempDir(t)
	home := filepath.Join(tmp, "home")
	require.NoError(t, os.Mkdir(home, 0o755))
	return &secretsCLI{store: filepath.Join(tmp, "store"), home: home, env: map[string]string{}}
}

func (s *secretsCLI) environ(extra map[string]string) []string {
	env := map[string]string{"PATH": "/usr/bin:/bin", "HOME": s.home, "FLYTE_ENTRYPOINT_STORE": s.store}
	for _, m := range []map[string]string{s.env, extra} {
		for k, v := range m {
			env[k] = v
		}
	}
	var out []string
	for k, v := range env {
		if v != "\x00unset" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// runEnv runs the shim with args, stdin and extra variables.
func (s *secretsCLI) runEnv(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(shimBin, args...)
	cmd.Env = s.environ(env)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return res
}

func (s *secretsCLI) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return s.runEnv(t, nil, stdin, args...)
}

// ok runs a command that must succeed.
func (s *secretsCLI) ok(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	res := s.run(t, stdin, args...)
	require.Equal(t, 0, res.code, "%v\nstdout: %s\nstderr: %s", args, res.stdout, res.stderr)
	return res
}

// reveal is the stored value, or fails the test.
func (s *secretsCLI) reveal(t *testing.T, name string, scope ...string) string {
	t.Helper()
	return s.ok(t, "", append([]string{"get", "secret", name, "--reveal"}, scope...)...).stdout
}

// snapshot is every path under dir with its mode, owner and content hash.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		require.NoError(t, err)
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		st := fi.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v uid=%d gid=%d", fi.Mode(), st.Uid, st.Gid)
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			desc += fmt.Sprintf(" sha256=%x", sha256.Sum256(b))
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = desc
		return nil
	})
	require.NoError(t, err)
	return out
}

// getJSON is `get secret NAME` decoded.
func getJSON(t *testing.T, res result) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &m), res.stdout)
	return m
}

func TestSecretLifecycle(t *testing.T) {
	s := newSecretsCLI(t)
	before := time.Now().Add(-2 * time.Second)
	res := s.ok(t, "", "create", "secret", "db-pass", "--value", "hunter2")
	assert.Equal(t, "Successfully created secret db-pass.\n", res.stdout)

	res = s.ok(t, "", "get", "secret", "db-pass")
	got := getJSON(t, res)
	created, err := time.Parse(time.RFC3339, got["created_time"].(string))
	require.NoError(t, err, "created_time is RFC 3339")
	assert.True(t, created.After(before) && created.Before(time.Now().Add(2*time.Second)), "created_time is now: %v", created)
	assert.Equal(t, map[string]any{"name": "db-pass", "org": "flyte", "project": "", "domain": "", "type": "regular",
		"created_time": got["created_time"]}, got)
	assert.NotContains(t, res.stdout, "hunter2")

	assert.Equal(t, "hunter2", s.reveal(t, "db-pass"), "--reveal prints the raw bytes, no newline added")
	// Flags may come before the name too.
	assert.Equal(t, "hunter2", s.ok(t, "", "get", "secret", "--reveal", "db-pass").stdout)

	// The runtime chain reads what create wrote.
	r := run{args: []string{"--backends", "local", "--secret", "db-pass"}, env: map[string]string{"FLYTE_ENTRYPOINT_STORE": s.store}}.exec(t)
	require.Equal(t, 0, r.code, r.stderr)
	v, _ := r.rec.env("DB_PASS")
	assert.Equal(t, "hunter2", v)

	res = s.ok(t, "", "get", "secret")
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	require.Len(t, lines, 2, res.stdout)
	assert.Equal(t, []string{"PROJECT", "DOMAIN", "NAME", "TYPE", "CREATED"}, strings.Fields(lines[0]))
	assert.Equal(t, []string{"-", "-", "db-pass", "regular", got["created_time"].(string)}, strings.Fields(lines[1]))

	res = s.ok(t, "", "get", "secret", "--output", "json")
	var list []map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &list), res.stdout)
	assert.Equal(t, []map[string]any{got}, list, "the list holds the objects get prints")

	res = s.ok(t, "", "delete", "secret", "db-pass")
	assert.Equal(t, "Successfully deleted secret db-pass.\n", res.stdout)

	res = s.run(t, "", "get", "secret", "db-pass")
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, `secret "db-pass" not found in scope flyte`)
	res = s.run(t, "", "delete", "secret", "db-pass")
	assert.Equal(t, 1, res.code, "a missing secret is an error")
	assert.Contains(t, res.stderr, `secret "db-pass" not found`)

	res = s.ok(t, "", "get", "secret")
	assert.Equal(t, []string{"PROJECT", "DOMAIN", "NAME", "TYPE", "CREATED"}, strings.Fields(res.stdout), "an empty list is the header alone")
	res = s.ok(t, "", "get", "secret", "-o", "json")
	assert.JSONEq(t, `[]`, res.stdout)
}

func TestSecretValueSources(t *testing.T) {
	s := newSecretsCLI(t)
	binary := make([]byte, 512)
	for i := range binary {
		binary[i] = byte(i)
	}
	file := filepath.Join(tempDir(t), "value.bin")
	require.NoError(t, os.WriteFile(file, binary, 0o600))
	emptyFile := filepath.Join(tempDir(t), "empty")
	require.NoError(t, os.WriteFile(emptyFile, nil, 0o600))

	tests := []struct {
		name      string
		args      []string
		stdin     string
		env       map[string]string
		want      string
		wantCode  int
		wantInErr string
		wantNote  string
	}{
		{name: "--value", args: []string{"--value", "from-flag"}, want: "from-flag"},
		{name: "--from-file, raw bytes", args: []string{"--from-file", file}, want: string(binary)},
		{name: "FLYTE_ENTRYPOINT_FROM_FILE", env: map[string]string{"FLYTE_ENTRYPOINT_FROM_FILE": file}, want: string(binary)},
		{name: "all of stdin, newline kept", stdin: "line one\nline two\n", want: "line one\nline two\n",
			wantNote: "note: the value read from stdin ends with a newline, which is kept: it is 18 bytes, the newline included"},
		{name: "stdin binary", stdin: "\x00\xff\xfe", want: "\x00\xff\xfe"},
		{name: "--value wins over stdin", args: []string{"--value", "v"}, stdin: "ignored", want: "v"},
		{name: "empty stdin", wantCode: 65, wantInErr: "the secret's value is empty"},
		{name: "empty --value", args: []string{"--value", ""}, wantCode: 65, wantInErr: "--allow-empty"},
		{name: "empty file", args: []string{"--from-file", emptyFile}, wantCode: 65, wantInErr: "empty"},
		{name: "empty, allowed", args: []string{"--allow-empty"}, want: ""},
		{name: "empty --value, allowed", args: []string{"--value=", "--allow-empty"}, want: ""},
		{name: "missing file", args: []string{"--from-file", "/nonexistent/value"}, wantCode: 65, wantInErr: `--from-file "/nonexistent/value": no such file or directory`},
		{name: "file is a directory", args: []string{"--from-file", tempDir(t)}, wantCode: 65, wantInErr: "is a directory"},
		{name: "--value and --from-file", args: []string{"--value", "v", "--from-file", file}, wantCode: 2, wantInErr: "--value and --from-file are mutually exclusive"},
		{name: "a value never comes from the environment", env: map[string]string{"FLYTE_ENTRYPOINT_VALUE": "from-env"}, wantCode: 65, wantInErr: "empty"},
		{name: "--registry is for image_pull", args: []string{"--value", "v", "--registry", "ghcr.io"}, wantCode: 2, wantInErr: "--registry: only for --type image_pull"},
		{name: "an image_pull variable is ignored for a regular secret", args: []string{"--value", "v"}, env: map[string]string{"FLYTE_ENTRYPOINT_REGISTRY": "ghcr.io"}, want: "v"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("source-%d", i)
			before := snapshot(t, s.store)
			res := s.runEnv(t, tt.env, tt.stdin, append([]string{"create", "secret", name}, tt.args...)...)
			assert.Equal(t, tt.wantCode, res.code, res.stderr)
			if tt.wantCode != 0 {
				assert.Contains(t, res.stderr, tt.wantInErr)
				assert.Equal(t, before, snapshot(t, s.store), "the store is unchanged")
				return
			}
			assert.Equal(t, tt.want, s.reveal(t, name))
			if tt.wantNote != "" {
				assert.Contains(t, res.stderr, tt.wantNote)
			} else {
				assert.NotContains(t, res.stderr, "note:")
			}
			assert.NotContains(t, res.stderr, "line one")
		})
	}
}

// TestSecretNameTypeAndScopeRules checks the exact texts and codes.
func TestSecretNameTypeAndScopeRules(t *testing.T) {
	s := newSecretsCLI(t)
	tests := []struct {
		name      string
		args      []string
		wantCode  int
		wantInErr string
	}{
		{name: "ok name", args: []string{"create", "secret", "a-Z_09", "--value", "v"}},
		{name: "bad name", args: []string{"create", "secret", "my.secret", "--value", "v"}, wantCode: 65, wantInErr: `invalid secret name "my.secret": must match ^[-a-zA-Z0-9_]+$`},
		{name: "slash in name", args: []string{"create", "secret", "a/b", "--value", "v"}, wantCode: 65, wantInErr: "must match"},
		{name: "bad type", args: []string{"create", "secret", "k", "--type", "generic", "--value", "v"}, wantCode: 65, wantInErr: `invalid secret type "generic": must be regular or image_pull`},
		{name: "project without domain", args: []string{"create", "secret", "k", "-p", "proj", "--value", "v"}, wantCode: 2,
			wantInErr: `project-scoped secrets must also specify a domain, got project="proj" domain=""`},
		{name: "project without domain, get", args: []string{"get", "secret", "-p", "proj"}, wantCode: 2, wantInErr: "project-scoped secrets must also specify a domain"},
		{name: "project without domain, delete", args: []string{"delete", "secret", "k", "--project", "proj"}, wantCode: 2, wantInErr: "project-scoped secrets must also specify a domain"},
		{name: "image pull with a domain", args: []string{"create", "secret", "k", "--type", "image_pull", "-d", "development", "--registry", "r", "--username", "u", "--password", "p"}, wantCode: 65,
			wantInErr: "Project and domain must not be set when creating an image pull secret."},
		{name: "image pull with a project", args: []string{"create", "secret", "k", "--type", "image_pull", "-p", "p", "-d", "d", "--registry", "r", "--username", "u", "--password", "p"}, wantCode: 65,
			wantInErr: "Project and domain must not be set when creating an image pull secret."},
		{name: "bad domain", args: []string{"create", "secret", "k", "-d", "Dev", "--value", "v"}, wantCode: 65, wantInErr: `invalid domain "Dev"`},
		{name: "missing NAME", args: []string{"create", "secret", "--value", "v"}, wantCode: 2, wantInErr: "missing NAME"},
		{name: "two names", args: []string{"delete", "secret", "a", "b"}, wantCode: 2, wantInErr: "too many arguments"},
		{name: "no resource", args: []string{"create"}, wantCode: 2, wantInErr: "create secret NAME"},
		{name: "unknown resource", args: []string{"get", "project"}, wantCode: 2, wantInErr: `unknown resource "project"`},
		{name: "bad flag", args: []string{"create", "secret", "k", "--no-such-flag"}, wantCode: 2, wantInErr: "no-such-flag"},
		{name: "bad flag, get", args: []string{"get", "secret", "--limit"}, wantCode: 2},
		{name: "bad flag, delete", args: []string{"delete", "--nope", "secret", "k"}, wantCode: 2},
		{name: "bad get name", args: []string{"get", "secret", "a.b"}, wantCode: 65, wantInErr: `invalid secret name "a.b"`},
		{name: "bad delete name", args: []string{"delete", "secret", "a.b"}, wantCode: 65, wantInErr: `invalid secret name "a.b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.run(t, "", tt.args...)
			assert.Equal(t, tt.wantCode, res.code, res.stderr)
			assert.Contains(t, res.stderr, tt.wantInErr)
		})
	}
}

// TestSecretScopeFallbackInRun creates one name at three scopes with the
// CLI, then runs the fake command: a run in P/D gets P/D's value, then D's,
// then the org's, as each more specific one is deleted.
func TestSecretScopeFallbackInRun(t *testing.T) {
	s := newSecretsCLI(t)
	pd := []string{"-p", "flytesnacks", "-d", "development"}
	d := []string{"-d", "development"}
	s.ok(t, "", "create", "secret", "api-token", "--value", "org-value")
	s.ok(t, "", append([]string{"create", "secret", "api-token", "--value", "domain-value"}, d...)...)
	s.ok(t, "", append([]string{"create", "secret", "api-token", "--value", "project-value"}, pd...)...)

	got := func(t *testing.T, args []string, env map[string]string) string {
		t.Helper()
		r := run{args: append([]string{"--backends", "local", "--secret", "api-token"}, args...),
			env: merge(env, map[string]string{"FLYTE_ENTRYPOINT_STORE": s.store})}.exec(t)
		require.Equal(t, 0, r.code, r.stderr)
		require.NotNil(t, r.rec)
		v, _ := r.rec.env("API_TOKEN")
		return v
	}
	internal := map[string]string{"FLYTE_INTERNAL_EXECUTION_PROJECT": "flytesnacks", "FLYTE_INTERNAL_EXECUTION_DOMAIN": "development"}
	scoped := map[string]string{"FLYTE_ENTRYPOINT_PROJECT": "flytesnacks", "FLYTE_ENTRYPOINT_DOMAIN": "development"}

	assert.Equal(t, "project-value", got(t, []string{"--project", "flytesnacks", "--domain", "development"}, nil))
	assert.Equal(t, "project-value", got(t, pd, nil), "run takes -p/-d as the secret commands do")
	assert.Equal(t, "project-value", got(t, append([]string{"run"}, pd...), nil))
	assert.Equal(t, "project-value", got(t, nil, internal), "run reads the execution's own project and domain")
	assert.Equal(t, "project-value", got(t, nil, scoped))
	assert.Equal(t, "domain-value", got(t, []string{"--project", "other", "--domain", "development"}, nil))
	assert.Equal(t, "org-value", got(t, []string{"--project", "other", "--domain", "production"}, nil))
	assert.Equal(t, "org-value", got(t, nil, nil))
	assert.Equal(t, "org-value", got(t, []string{"--org", "flyte"}, nil))

	s.ok(t, "", append([]string{"delete", "secret", "api-token"}, pd...)...)
	assert.Equal(t, "domain-value", got(t, nil, internal))
	s.ok(t, "", append([]string{"delete", "secret", "api-token"}, d...)...)
	assert.Equal(t, "org-value", got(t, nil, internal))
	s.ok(t, "", "delete", "secret", "api-token")
	r := run{args: []string{"--backends", "local", "--secret", "api-token"}, env: merge(internal, map[string]string{"FLYTE_ENTRYPOINT_STORE": s.store})}.exec(t)
	assert.Equal(t, 69, r.code, "gone from every scope")

	// Another org is another store space.
	s.ok(t, "", "create", "secret", "api-token", "--org", "acme", "--value", "acme-value")
	assert.Equal(t, "acme-value", got(t, []string{"--org", "acme"}, internal))
	r = run{args: []string{"--backends", "local", "--secret", "api-token"}, env: map[string]string{"FLYTE_ENTRYPOINT_STORE": s.store}}.exec(t)
	assert.Equal(t, 69, r.code, "the flyte org does not see acme's secret")
}

// TestSecretManagementScopeIsExact: get and delete look in exactly the scope
// given, listing selects as Flyte 2's ListSecrets does (an org lists all of
// its secrets, a domain its own and its projects'), and the execution's
// variables play no part in management.
func TestSecretManagementScopeIsExact(t *testing.T) {
	s := newSecretsCLI(t)
	internal := map[string]string{"FLYTE_INTERNAL_EXECUTION_PROJECT": "flytesnacks", "FLYTE_INTERNAL_EXECUTION_DOMAIN": "development"}
	res := s.runEnv(t, internal, "", "create", "secret", "org-secret", "--value", "o")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, "o", s.reveal(t, "org-secret"), "FLYTE_INTERNAL_EXECUTION_* did not scope the create")
	s.ok(t, "", "create", "secret", "dom-secret", "-d", "development", "--value", "d")
	res = s.runEnv(t, map[string]string{"FLYTE_ENTRYPOINT_PROJECT": "flytesnacks", "FLYTE_ENTRYPOINT_DOMAIN": "development"}, "",
		"create", "secret", "proj-secret", "--value", "p")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, "p", s.reveal(t, "proj-secret", "-p", "flytesnacks", "-d", "development"), "FLYTE_ENTRYPOINT_PROJECT/DOMAIN scope the create")

	list := func(t *testing.T, env map[string]string, args ...string) []string {
		t.Helper()
		res := s.runEnv(t, env, "", append([]string{"get", "secret", "-o", "json"}, args...)...)
		require.Equal(t, 0, res.code, res.stderr)
		var items []struct{ Name, Project, Domain string }
		require.NoError(t, json.Unmarshal([]byte(res.stdout), &items))
		var out []string
		for _, it := range items {
			out = append(out, it.Project+"/"+it.Domain+"/"+it.Name)
		}
		return out
	}
	all := []string{"//org-secret", "/development/dom-secret", "flytesnacks/development/proj-secret"}
	assert.ElementsMatch(t, all, list(t, nil), "no -p/-d lists every secret of the org")
	assert.ElementsMatch(t, all, list(t, internal), "the execution's variables do not scope the list")
	assert.ElementsMatch(t, []string{"/development/dom-secret", "flytesnacks/development/proj-secret"}, list(t, nil, "-d", "development"),
		"a domain lists its project-scoped secrets too")
	assert.Equal(t, []string{"flytesnacks/development/proj-secret"}, list(t, nil, "-p", "flytesnacks", "-d", "development"))
	assert.Equal(t, []string{"flytesnacks/development/proj-secret"}, list(t, map[string]string{"FLYTE_ENTRYPOINT_PROJECT": "flytesnacks", "FLYTE_ENTRYPOINT_DOMAIN": "development"}))
	assert.Empty(t, list(t, nil, "--org", "acme"))

	for _, args := range [][]string{
		{"get", "secret", "org-secret", "-d", "development"},
		{"get", "secret", "dom-secret"},
		{"get", "secret", "dom-secret", "-p", "flytesnacks", "-d", "development"},
		{"delete", "secret", "org-secret", "-d", "development"},
		{"delete", "secret", "dom-secret", "-p", "flytesnacks", "-d", "development"},
		{"get", "secret", "org-secret", "--org", "acme"},
	} {
		before := snapshot(t, s.store)
		res := s.run(t, "", args...)
		assert.Equal(t, 1, res.code, "%v: nothing falls back: %s", args, res.stderr)
		assert.Contains(t, res.stderr, "not found", "%v", args)
		assert.Equal(t, before, snapshot(t, s.store))
	}
	res = s.runEnv(t, internal, "", "get", "secret", "proj-secret")
	assert.Equal(t, 1, res.code, "get does not read FLYTE_INTERNAL_EXECUTION_*")
	res = s.runEnv(t, internal, "", "delete", "secret", "org-secret")
	assert.Equal(t, 0, res.code, "delete does not read FLYTE_INTERNAL_EXECUTION_*: %s", res.stderr)
}

func TestSecretListPagesToTheEnd(t *testing.T) {
	s := newSecretsCLI(t)
	var want []string
	for i := range 5 {
		name := fmt.Sprintf("page-%d", i)
		want = append(want, name)
		s.ok(t, "", "create", "secret", name, "-d", "staging", "--value", "v")
	}
	for _, limit := range []string{"1", "2", "5", "100"} {
		res := s.ok(t, "", "get", "secret", "-d", "staging", "--limit", limit)
		lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
		require.Len(t, lines, 6, "limit %s: %s", limit, res.stdout)
		var names []string
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			assert.Equal(t, "-", f[0], "an empty project shows -")
			assert.Equal(t, "staging", f[1])
			names = append(names, f[2])
		}
		assert.Equal(t, want, names, "limit %s", limit)
		res = s.runEnv(t, map[string]string{"FLYTE_ENTRYPOINT_LIMIT": limit}, "", "get", "secret", "-d", "staging", "-o", "json")
		var items []map[string]any
		require.NoError(t, json.Unmarshal([]byte(res.stdout), &items))
		assert.Len(t, items, 5)
	}
	for _, bad := range []string{"0", "-1", "ten"} {
		res := s.run(t, "", "get", "secret", "--limit", bad)
		assert.Equal(t, 2, res.code, bad)
		assert.Contains(t, res.stderr, "--limit")
	}
	res := s.runEnv(t, map[string]string{"FLYTE_ENTRYPOINT_LIMIT": "x"}, "", "get", "secret")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, "FLYTE_ENTRYPOINT_LIMIT")
	res = s.run(t, "", "get", "secret", "-o", "yaml")
	assert.Equal(t, 2, res.code)
	res = s.run(t, "", "get", "secret", "--reveal")
	assert.Equal(t, 2, res.code, "--reveal needs a name")
	res = s.runEnv(t, map[string]string{"FLYTE_ENTRYPOINT_REVEAL": "true"}, "", "get", "secret", "-d", "staging")
	assert.Equal(t, 0, res.code, "FLYTE_ENTRYPOINT_REVEAL does not break the list: %s", res.stderr)
	res = s.runEnv(t, map[string]string{"FLYTE_ENTRYPOINT_REVEAL": "true"}, "", "get", "secret", "page-1", "-d", "staging")
	assert.Equal(t, "v", res.stdout, "FLYTE_ENTRYPOINT_REVEAL reveals, as --reveal does")
}

func TestSecretBackendFlag(t *testing.T) {
	s := newSecretsCLI(t)
	s.ok(t, "", "create", "secret", "k", "--backend", "local", "--value", "v")
	for _, args := range [][]string{
		{"create", "secret", "k2", "--backend", "vault", "--value", "v"},
		{"get", "secret", "k", "--backend", "k8s-v1"},
		{"delete", "secret", "k", "--backend", "aws-v1"},
	} {
		res := s.run(t, "", args...)
		assert.Equal(t, 2, res.code, "%v", args)
		assert.Contains(t, res.stderr, "unknown secret store (known: local, k8s, aws)")
		assert.Contains(t, res.stderr, `flyte-entrypoint: --backend "`, "the flag the user gave is named")
	}
	res := s.runEnv(t, map[string]string{"FLYTE_ENTRYPOINT_BACKEND": "vault"}, "", "get", "secret", "k")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, `FLYTE_ENTRYPOINT_BACKEND "vault": unknown secret store`, "the variable the user set is named")
	assert.Equal(t, "v", s.reveal(t, "k"))

	// k8s with no cluster to talk to says what it looked for.
	res = s.run(t, "", "get", "secret", "k", "--backend", "k8s")
	assert.Equal(t, 1, res.code, res.stderr)
	assert.Contains(t, res.stderr, "no Kubernetes API server: KUBERNETES_SERVICE_HOST is not set (not in a pod), and no kubeconfig file exists")
}

// TestBadSettingNamesWhatTheUserGave: a bad value is blamed on the flag
// when it was given, and on the variable only when the variable is where it
// came from.
func TestBadSettingNamesWhatTheUserGave(t *testing.T) {
	s := newSecretsCLI(t)
	res := s.runEnv(t, map[string]string{"FLYTE_ENTRYPOINT_LIMIT": "5"}, "", "get", "secret", "--limit", "0")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, `flyte-entrypoint: --limit "0": want a page size of 1 or more`)
	assert.NotContains(t, res.stderr, "FLYTE_ENTRYPOINT_LIMIT")
	res = s.runEnv(t, map[string]string{"FLYTE_ENTRYPOINT_LIMIT": "0"}, "", "get", "secret")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, `flyte-entrypoint: FLYTE_ENTRYPOINT_LIMIT "0": want a page size of 1 or more`)
}

func TestSecretHelpShowsTheVariables(t *testing.T) {
	s := newSecretsCLI(t)
	res := s.ok(t, "", "create", "secret", "--help")
	for _, v := range []string{"BACKEND", "STORE", "ORG", "PROJECT", "DOMAIN", "TYPE", "FROM_FILE", "ALLOW_EMPTY", "REGISTRY", "USERNAME",
		"FROM_DOCKER_CONFIG", "DOCKER_CONFIG_PATH", "REGISTRIES"} {
		assert.Contains(t, res.stdout, "[$FLYTE_ENTRYPOINT_"+v+"]")
	}
	for _, l := range strings.Split(res.stdout, "\n") {
		if strings.Contains(l, "--value") || strings.Contains(l, "--password") {
			assert.NotContains(t, l, "$FLYTE_ENTRYPOINT_", "a value has no variable: %q", l)
		}
	}
	assert.Contains(t, res.stdout, "-p value")
	res = s.ok(t, "", "get", "secret", "--help")
	for _, v := range []string{"OUTPUT", "LIMIT", "REVEAL"} {
		assert.Contains(t, res.stdout, "[$FLYTE_ENTRYPOINT_"+v+"]")
	}
	res = s.ok(t, "", "--help")
	for _, c := range []string{"create", "get", "delete"} {
		assert.Contains(t, res.stdout, "\n   "+c)
	}
}

// TestSecretStoreModes: directories 0700, files 0600, in --store and in the
// default store under XDG_DATA_HOME.
func TestSecretStoreModes(t *testing.T) {
	s := newSecretsCLI(t)
	s.ok(t, "", "create", "secret", "k", "--value", "v")
	xdg := filepath.Join(tempDir(t), "xdg")
	res := s.runEnv(t, map[string]string{"FLYTE_ENTRYPOINT_STORE": "\x00unset", "XDG_DATA_HOME": xdg}, "", "create", "secret", "k", "-d", "dev", "--value", "v")
	require.Equal(t, 0, res.code, res.stderr)

	for _, store := range []string{s.store, filepath.Join(xdg, "flyte-entrypoint")} {
		files := 0
		err := filepath.WalkDir(store, func(p string, d fs.DirEntry, err error) error {
			require.NoError(t, err)
			fi, err := d.Info()
			require.NoError(t, err)
			if d.IsDir() {
				assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), p)
			} else {
				files++
				assert.True(t, fi.Mode().IsRegular(), p)
				assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), p)
			}
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, 1, files, store)
	}
	res = s.runEnv(t, map[string]string{"FLYTE_ENTRYPOINT_STORE": "\x00unset", "XDG_DATA_HOME": xdg}, "", "get", "secret", "k", "-d", "dev", "--reveal")
	assert.Equal(t, "v", res.stdout)
}

// TestSecretStoreWithLooseModeOrForeignOwnerIsRefused: every command refuses
// the store, says why, and changes nothing.
func TestSecretStoreWithLooseModeOrForeignOwnerIsRefused(t *testing.T) {
	commands := [][]string{
		{"create", "secret", "new", "--value", "v"},
		{"get", "secret", "k"},
		{"get", "secret", "k", "--reveal"},
		{"get", "secret"},
		{"delete", "secret", "k"},
	}
	tests := []struct {
		name      string
		spoil     func(t *testing.T, store string)
		wantInErr []string
		needsRoot string // what the case does that needs root
	}{
		{name: "store dir 0755", spoil: func(t *testing.T, store string) { require.NoError(t, os.Chmod(store, 0o755)) },
			wantInErr: []string{"has mode 0755, which lets group or others in; it must be 0700", "chmod 700"}},
		{name: "secrets dir 0770", spoil: func(t *testing.T, store string) { require.NoError(t, os.Chmod(filepath.Join(store, "secrets"), 0o770)) },
			wantInErr: []string{"has mode 0770"}},
		{name: "store dir owned by another user", spoil: func(t *testing.T, store string) { require.NoError(t, os.Chown(store, 65534, 65534)) },
			wantInErr: []string{"is owned by uid 65534, not by the current user (uid 0)"}, needsRoot: "chowns the store to another user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needsRoot != "" && os.Geteuid() != 0 {
				t.Skip("needs root: " + tt.needsRoot)
			}
			s := newSecretsCLI(t)
			s.ok(t, "", "create", "secret", "k", "--value", "v")
			tt.spoil(t, s.store)
			before := snapshot(t, s.store)
			for _, args := range commands {
				res := s.run(t, "", args...)
				assert.Equal(t, 1, res.code, "%v: %s", args, res.stderr)
				for _, w := range tt.wantInErr {
					assert.Contains(t, res.stderr, w, "%v", args)
				}
				assert.Empty(t, res.stdout, "%v", args)
				assert.Equal(t, before, snapshot(t, s.store), "%v: the store is unchanged", args)
			}
			// The refused store is refused at run time too.
			r := run{args: []string{"--backends", "local", "--secret", "k"}, env: map[string]string{"FLYTE_ENTRYPOINT_STORE": s.store}}.exec(t)
			assert.Equal(t, 69, r.code, r.stderr)
		})
	}
}

// writeFakeCredHelper writes a fake of the external program
// docker-credential-<name>: a shell script that logs its argument and the
// server URL it reads, then answers from a case on that URL.
func writeFakeCredHelper(t *testing.T, dir, name, cases string) (log string) {
	t.Helper()
	log = filepath.Join(dir, name+".log")
	script := "#!/bin/sh\nurl=$(cat)\necho \"$1 $url\" >> " + log + "\ncase \"$url\" in\n" + cases +
		"\n  *) echo 'credentials not found in native keychain'; exit 1 ;;\nesac\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker-credential-"+name), []byte(script), 0o755))
	return log
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// pullAuths decodes an image pull secret's value into registry -> user:password.
func pullAuths(t *testing.T, value string) map[string]string {
	t.Helper()
	var v struct {
		Auths map[string]struct {
			Auth string `json:"auth"`
		} `json:"auths"`
	}
	require.NoError(t, json.Unmarshal([]byte(value), &v), value)
	out := map[string]string{}
	for reg, e := range v.Auths {
		d, err := base64.StdEncoding.DecodeString(e.Auth)
		require.NoError(t, err)
		out[reg] = string(d)
	}
	return out
}

func TestSecretImagePull(t *testing.T) {
	s := newSecretsCLI(t)
	bin := tempDir(t)
	helperLog := writeFakeCredHelper(t, bin, "fakehelper", `  gcr.io) printf '{"ServerURL":"gcr.io","Username":"oauth2accesstoken","Secret":"gcr-token"}' ;;
  ghcr.io) printf '{"ServerURL":"ghcr.io","Username":"store-user","Secret":"store-pass"}' ;;
  https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"hub","Secret":"hub-pass"}' "$url" ;;
  token.io) printf '{"ServerURL":"token.io","Username":"<token>","Secret":"refresh"}' ;;
  broken.io) echo 'the keychain is locked'; exit 2 ;;`)
	s.env["PATH"] = bin + ":/usr/bin:/bin"

	dockerDir := tempDir(t)
	configPath := filepath.Join(dockerDir, "config.json")
	require.NoError(t, os.WriteFile(configPath, []byte(`{
		"auths": {
			"ghcr.io": {"auth": "`+b64("gh-user:gh-pass")+`"},
			"https://index.docker.io/v1/": {"auth": "`+b64("hub-user:hub-pass")+`"},
			"quay.io": {"auth": "`+b64("q:qp")+`", "email": "x@example.com"}
		},
		"credHelpers": {"gcr.io": "fakehelper", "broken.io": "fakehelper", "nohelper.io": "absent"},
		"psFormat": "table"
	}`), 0o600))
	storeConfig := filepath.Join(tempDir(t), "config.json")
	require.NoError(t, os.WriteFile(storeConfig, []byte(`{"auths":{"ghcr.io":{},"https://index.docker.io/v1/":{}},"credsStore":"fakehelper"}`), 0o600))
	malformed := filepath.Join(tempDir(t), "config.json")
	require.NoError(t, os.WriteFile(malformed, []byte(`{"auths": {"ghcr.io": {"auth": `), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(s.home, ".docker"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(s.home, ".docker", "config.json"), []byte(`{"auths":{"home.io":{"auth":"`+b64("h:hp")+`"}}}`), 0o600))
	envConfig := tempDir(t)
	require.NoError(t, os.WriteFile(filepath.Join(envConfig, "config.json"), []byte(`{"auths":{"env.io":{"auth":"`+b64("e:ep")+`"}}}`), 0o600))

	pull := []string{"--type", "image_pull"}
	tests := []struct {
		name      string
		args      []string
		stdin     string
		env       map[string]string
		want      map[string]string
		wantCalls string // the helper log afterwards
		wantCode  int
		wantInErr string
		wantNote  string
	}{
		{name: "from flags", args: []string{"--registry", "ghcr.io", "--username", "robot", "--password", "p@ss:word"}, want: map[string]string{"ghcr.io": "robot:p@ss:word"}},
		{name: "registry and user from variables", args: []string{"--password", "pw"}, env: map[string]string{"FLYTE_ENTRYPOINT_REGISTRY": "r.io", "FLYTE_ENTRYPOINT_USERNAME": "u"}, want: map[string]string{"r.io": "u:pw"}},
		// A piped password is the rest of stdin, as a piped value is: a
		// trailing newline is kept, and the note says so by length.
		{name: "every answer piped", stdin: "ghcr.io\nrobot\ns3cret\n", want: map[string]string{"ghcr.io": "robot:s3cret\n"},
			wantNote: "note: the password read from stdin ends with a newline, which is kept: it is 7 bytes, the newline included"},
		{name: "password piped", args: []string{"--registry", "ghcr.io", "--username", "robot"}, stdin: "pw\r\n", want: map[string]string{"ghcr.io": "robot:pw\r\n"},
			wantNote: "it is 4 bytes, the newline included"},
		{name: "password piped without a newline", args: []string{"--registry", "ghcr.io", "--username", "robot"}, stdin: "pw", want: map[string]string{"ghcr.io": "robot:pw"}},
		{name: "user and password piped", args: []string{"--registry", "ghcr.io"}, stdin: "robot\npw", want: map[string]string{"ghcr.io": "robot:pw"}},
		{name: "a password never comes from the environment", args: []string{"--registry", "ghcr.io", "--username", "robot"}, env: map[string]string{"FLYTE_ENTRYPOINT_PASSWORD": "env-pw"},
			wantCode: 65, wantInErr: `empty password for registry "ghcr.io"`},
		{name: "empty password, allowed", args: []string{"--registry", "ghcr.io", "--username", "robot", "--password", "", "--allow-empty"}, want: map[string]string{"ghcr.io": "robot:"}},
		{name: "no registry", stdin: "", wantCode: 65, wantInErr: "empty registry"},
		{name: "no user", stdin: "ghcr.io\n", wantCode: 65, wantInErr: `empty user name for registry (line 1 of stdin)`},
		{name: "colon in user", args: []string{"--registry", "r", "--username", "a:b", "--password", "p"}, wantCode: 65, wantInErr: "colon"},

		{name: "docker config, chosen registries", args: []string{"--from-docker-config", "--docker-config-path", configPath, "--registries", "ghcr.io,quay.io"},
			want: map[string]string{"ghcr.io": "gh-user:gh-pass", "quay.io": "q:qp"}},
		{name: "docker config, registries repeated", args: []string{"--from-docker-config", "--docker-config-path", configPath, "--registries", "ghcr.io", "--registries", "docker.io"},
			want: map[string]string{"ghcr.io": "gh-user:gh-pass", "https://index.docker.io/v1/": "hub-user:hub-pass"}},
		{name: "docker config, credHelpers", args: []string{"--from-docker-config", "--docker-config-path", configPath, "--registries", "gcr.io"},
			want: map[string]string{"gcr.io": "oauth2accesstoken:gcr-token"}, wantCalls: "get gcr.io\n"},
		{name: "docker config, credsStore", args: []string{"--from-docker-config", "--docker-config-path", storeConfig},
			want: map[string]string{"ghcr.io": "store-user:store-pass", "https://index.docker.io/v1/": "hub:hub-pass"}, wantCalls: "get ghcr.io\nget https://index.docker.io/v1/\n"},
		{name: "docker config from variables", env: map[string]string{"FLYTE_ENTRYPOINT_FROM_DOCKER_CONFIG": "true", "FLYTE_ENTRYPOINT_DOCKER_CONFIG_PATH": configPath, "FLYTE_ENTRYPOINT_REGISTRIES": "quay.io"},
			want: map[string]string{"quay.io": "q:qp"}},
		{name: "docker config at $DOCKER_CONFIG", args: []string{"--from-docker-config"}, env: map[string]string{"DOCKER_CONFIG": envConfig}, want: map[string]string{"env.io": "e:ep"}},
		{name: "docker config at ~/.docker", args: []string{"--from-docker-config"}, want: map[string]string{"home.io": "h:hp"}},
		{name: "given whole", args: []string{"--value", `{"auths":{"r.io":{"auth":"` + b64("u:p") + `"}}}`}, want: map[string]string{"r.io": "u:p"}},

		{name: "docker config, no entry", args: []string{"--from-docker-config", "--docker-config-path", configPath, "--registries", "nope.io"},
			wantCode: 65, wantInErr: `no entry for registry "nope.io"`},
		{name: "docker config, helper has nothing", args: []string{"--from-docker-config", "--docker-config-path", storeConfig, "--registries", "other.io"},
			wantCode: 65, wantInErr: `docker-credential-fakehelper has no credentials for registry "other.io"`, wantCalls: "get other.io\n"},
		{name: "docker config, helper gives a token", args: []string{"--from-docker-config", "--docker-config-path", storeConfig, "--registries", "token.io"},
			wantCode: 65, wantInErr: "identity token", wantCalls: "get token.io\n"},
		{name: "docker config, helper fails", args: []string{"--from-docker-config", "--docker-config-path", configPath, "--registries", "broken.io"},
			wantCode: 1, wantInErr: "docker-credential-fakehelper get failed (exit status 2); its output is not shown", wantCalls: "get broken.io\n"},
		{name: "docker config, helper missing", args: []string{"--from-docker-config", "--docker-config-path", configPath, "--registries", "nohelper.io"},
			wantCode: 1, wantInErr: "docker-credential-absent is not on PATH"},
		{name: "docker config, malformed", args: []string{"--from-docker-config", "--docker-config-path", malformed}, wantCode: 65, wantInErr: "malformed Docker config " + malformed},
		{name: "docker config, missing file", args: []string{"--from-docker-config", "--docker-config-path", "/nonexistent/config.json"}, wantCode: 65, wantInErr: "/nonexistent/config.json"},
		{name: "given whole, not Docker config", args: []string{"--value", `{"auths":{}}`}, wantCode: 65, wantInErr: `no registry under "auths"`},
		{name: "given whole, not JSON", args: []string{"--value", `user:pass`}, wantCode: 65, wantInErr: "malformed Docker config JSON"},

		{name: "login and docker config", args: []string{"--registry", "r", "--from-docker-config"}, wantCode: 2, wantInErr: "mutually exclusive"},
		{name: "value and docker config", args: []string{"--value", "v", "--from-docker-config"}, wantCode: 2, wantInErr: "--value and --from-docker-config are mutually exclusive"},
		{name: "registries without docker config", args: []string{"--registries", "ghcr.io", "--registry", "r"}, wantCode: 2, wantInErr: "--registries: only with --from-docker-config"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_ = os.Remove(helperLog)
			name := fmt.Sprintf("pull-%d", i)
			before := snapshot(t, s.store)
			res := s.runEnv(t, tt.env, tt.stdin, append(append([]string{"create", "secret", name}, pull...), tt.args...)...)
			assert.Equal(t, tt.wantCode, res.code, res.stderr)
			calls, _ := os.ReadFile(helperLog)
			assert.Equal(t, tt.wantCalls, string(calls), "the helper got `get` and the server URL on stdin")
			if tt.wantCode != 0 {
				assert.Contains(t, res.stderr, tt.wantInErr)
				assert.Equal(t, before, snapshot(t, s.store), "the store is unchanged")
				return
			}
			assert.Equal(t, tt.want, pullAuths(t, s.reveal(t, name)))
			if tt.wantNote != "" {
				assert.Contains(t, res.stderr, tt.wantNote)
			} else {
				assert.NotContains(t, res.stderr, "note:")
			}
			assert.NotContains(t, res.stderr, "s3cret")
			assert.Equal(t, "image_pull", getJSON(t, s.ok(t, "", "get", "secret", name))["type"])
		})
	}
}

// TestSecretBadInputLeavesTheStoreUnchanged: each bad input has a clear
// error and a non-zero exit, and the store's files are as they were.
func TestSecretBadInputLeavesTheStoreUnchanged(t *testing.T) {
	s := newSecretsCLI(t)
	s.ok(t, "", "create", "secret", "existing", "--value", "original")
	s.ok(t, "", "create", "secret", "pull", "--type", "image_pull", "--registry", "r", "--username", "u", "--password", "p")
	malformed := filepath.Join(tempDir(t), "config.json")
	require.NoError(t, os.WriteFile(malformed, []byte(`not json`), 0o600))
	other := filepath.Join(tempDir(t), "config.json")
	require.NoError(t, os.WriteFile(other, []byte(`{"auths":{"a.io":{"auth":"`+b64("a:b")+`"}}}`), 0o600))

	tests := []struct {
		name      string
		args      []string
		stdin     string
		wantCode  int
		wantInErr string
	}{
		{name: "exists", args: []string{"create", "secret", "existing", "--value", "new"}, wantCode: 1, wantInErr: `secret "existing" already exists in scope flyte`},
		{name: "exists, piped value", args: []string{"create", "secret", "existing"}, stdin: "new", wantCode: 1, wantInErr: "already exists"},
		{name: "exists, other type", args: []string{"create", "secret", "pull", "--value", "v"}, wantCode: 1, wantInErr: "already exists"},
		{name: "bad name", args: []string{"create", "secret", "bad name", "--value", "v"}, wantCode: 65, wantInErr: "invalid secret name"},
		{name: "bad type", args: []string{"create", "secret", "k", "--type", "docker", "--value", "v"}, wantCode: 65, wantInErr: "invalid secret type"},
		{name: "scope contradicts type", args: []string{"create", "secret", "k", "--type", "image_pull", "-d", "dev"}, wantCode: 65, wantInErr: "Project and domain must not be set"},
		{name: "missing --from-file", args: []string{"create", "secret", "k", "--from-file", "/nonexistent"}, wantCode: 65, wantInErr: "/nonexistent"},
		{name: "empty value", args: []string{"create", "secret", "k"}, wantCode: 65, wantInErr: "empty"},
		{name: "malformed Docker config", args: []string{"create", "secret", "k", "--type", "image_pull", "--from-docker-config", "--docker-config-path", malformed}, wantCode: 65, wantInErr: "malformed Docker config"},
		{name: "no entry for the registry", args: []string{"create", "secret", "k", "--type", "image_pull", "--from-docker-config", "--docker-config-path", other, "--registries", "b.io"}, wantCode: 65, wantInErr: `no entry for registry "b.io"`},
		{name: "project without domain", args: []string{"create", "secret", "k", "-p", "p", "--value", "v"}, wantCode: 2, wantInErr: "project-scoped secrets must also specify a domain"},
		{name: "unknown backend", args: []string{"create", "secret", "k", "--backend", "vault", "--value", "v"}, wantCode: 2, wantInErr: "known: local"},
		{name: "delete missing", args: []string{"delete", "secret", "absent"}, wantCode: 1, wantInErr: "not found"},
		{name: "delete in another scope", args: []string{"delete", "secret", "existing", "-d", "dev"}, wantCode: 1, wantInErr: "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, s.store)
			res := s.run(t, tt.stdin, tt.args...)
			assert.Equal(t, tt.wantCode, res.code, res.stderr)
			assert.Contains(t, res.stderr, tt.wantInErr)
			assert.True(t, strings.HasPrefix(res.stderr, "flyte-entrypoint: "), "one clear line: %q", res.stderr)
			assert.Equal(t, before, snapshot(t, s.store), "the store is unchanged")
		})
	}
	assert.Equal(t, "original", s.reveal(t, "existing"))
}

// ptyRun is the shim with its stdin and stderr on a pseudo-terminal, as a
// user at a terminal runs it; stdout is a pipe.
type ptyRun struct {
	cmd       *exec.Cmd
	ptmx, tty *os.File
	stdout    bytes.Buffer
	mu        sync.Mutex
	out       bytes.Buffer  // everything the terminal showed
	read      chan struct{} // closed when the terminal's output ended
	exited    chan struct{} // closed when the shim exited
}

func startOnPTY(t *testing.T, env []string, args ...string) *ptyRun {
	t.Helper()
	ptmx, tty, err := pty.Open()
	require.NoError(t, err)
	p := &ptyRun{ptmx: ptmx, tty: tty, read: make(chan struct{}), exited: make(chan struct{})}
	require.True(t, p.echo(t), "a new terminal echoes")
	p.cmd = exec.Command(shimBin, args...)
	p.cmd.Env = env
	p.cmd.Stdin, p.cmd.Stderr, p.cmd.Stdout = tty, tty, &p.stdout
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	require.NoError(t, p.cmd.Start())
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	go func() {
		defer close(p.read)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		_ = tty.Close()
		_ = ptmx.Close()
	})
	return p
}

func (p *ptyRun) shown() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// echo reports whether the terminal echoes input now.
func (p *ptyRun) echo(t *testing.T) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(p.tty.Fd()), unix.TCGETS)
	require.NoError(t, err)
	return tio.Lflag&unix.ECHO != 0
}

// waitShown waits until the terminal has shown s, count times in all.
func (p *ptyRun) waitShown(t *testing.T, s string, count int) {
	t.Helper()
	waitFor(t, func() bool { return strings.Count(p.shown(), s) >= count })
}

// typeHidden waits for echo to be off, then types a line: the program asked
// for a secret, and nothing typed may show.
func (p *ptyRun) typeHidden(t *testing.T, line string) {
	t.Helper()
	waitFor(t, func() bool { return !p.echo(t) })
	_, err := p.ptmx.Write([]byte(line))
	require.NoError(t, err)
}

func (p *ptyRun) typeLine(t *testing.T, line string) {
	t.Helper()
	_, err := p.ptmx.Write([]byte(line))
	require.NoError(t, err)
}

// waitExit waits for the shim to exit, at most 20s.
func (p *ptyRun) waitExit(t *testing.T) *os.ProcessState {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("the shim did not exit; the terminal shows %q", p.shown())
	}
	return p.cmd.ProcessState
}

// wait waits for the shim, then for the terminal's last output.
func (p *ptyRun) wait(t *testing.T) *os.ProcessState {
	t.Helper()
	p.waitExit(t)
	_ = p.tty.Close() // the last slave closed: the reader sees EIO and stops
	select {
	case <-p.read:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal's output did not end")
	}
	return p.cmd.ProcessState
}

func TestSecretPromptsOnATerminal(t *testing.T) {
	const typed = "CANARY-typed-4d2f"
	s := newSecretsCLI(t)

	t.Run("value, hidden", func(t *testing.T) {
		p := startOnPTY(t, s.environ(map[string]string{"FLYTE_ENTRYPOINT_LOG_LEVEL": "debug"}), "create", "secret", "typed")
		p.waitShown(t, "Enter secret value", 1)
		p.typeHidden(t, typed+"\r")
		st := p.wait(t)
		require.Equal(t, 0, st.ExitCode(), p.shown())
		assert.NotContains(t, p.shown(), typed, "nothing typed is echoed")
		assert.NotContains(t, p.stdout.String(), typed)
		assert.Equal(t, "Successfully created secret typed.\n", p.stdout.String())
		assert.Equal(t, typed, s.reveal(t, "typed"), "the typed line, without its newline")
	})

	t.Run("image pull: registry and user shown, password hidden", func(t *testing.T) {
		p := startOnPTY(t, s.environ(nil), "create", "secret", "typed-pull", "--type", "image_pull")
		p.waitShown(t, "Registry: ", 1)
		p.typeLine(t, "ghcr.io\r")
		p.waitShown(t, "Username: ", 1)
		p.typeLine(t, "robot\r")
		p.waitShown(t, "Password: ", 1)
		p.typeHidden(t, typed+"\r")
		st := p.wait(t)
		require.Equal(t, 0, st.ExitCode(), p.shown())
		shown := p.shown()
		assert.Contains(t, shown, "ghcr.io", "the registry is echoed as typed")
		assert.Contains(t, shown, "robot")
		assert.NotContains(t, shown, typed, "the password is not echoed")
		assert.Equal(t, map[string]string{"ghcr.io": "robot:" + typed}, pullAuths(t, s.reveal(t, "typed-pull")))
	})

	t.Run("an empty line is refused", func(t *testing.T) {
		before := snapshot(t, s.store)
		p := startOnPTY(t, s.environ(nil), "create", "secret", "typed-empty")
		p.waitShown(t, "Enter secret value", 1)
		p.typeHidden(t, "\r")
		st := p.wait(t)
		assert.Equal(t, 65, st.ExitCode())
		assert.Contains(t, p.shown(), "the secret's value is empty")
		assert.Equal(t, before, snapshot(t, s.store))
	})

	t.Run("Ctrl-C at the prompt restores echo", func(t *testing.T) {
		before := snapshot(t, s.store)
		p := startOnPTY(t, s.environ(nil), "create", "secret", "typed-abort")
		p.waitShown(t, "Enter secret value", 1)
		p.typeHidden(t, "half-typed\x03")
		ws := p.waitExit(t).Sys().(syscall.WaitStatus)
		assert.True(t, ws.Signaled() && ws.Signal() == syscall.SIGINT, "it dies of SIGINT as it would have: %v", ws)
		assert.True(t, p.echo(t), "the terminal echoes again")
		p.wait(t)
		assert.NotContains(t, p.shown(), "half-typed")
		assert.Equal(t, before, snapshot(t, s.store), "nothing was stored")
	})
}

// TestSecretValuesNeverLeak: with debug logs on, no command's stdout or
// stderr shows a value, except get secret NAME --reveal.
func TestSecretValuesNeverLeak(t *testing.T) {
	const canary = "CANARY-9c41-never-print"
	s := newSecretsCLI(t)
	s.env["FLYTE_ENTRYPOINT_LOG_LEVEL"] = "debug"
	dir := tempDir(t)
	valueFile := filepath.Join(dir, "value")
	require.NoError(t, os.WriteFile(valueFile, []byte(canary+"-file"), 0o600))
	config := filepath.Join(dir, "config.json")
	require.NoError(t, os.WriteFile(config, []byte(`{"auths":{"ghcr.io":{"auth":"`+b64("u:"+canary+"-docker")+`"}},"credHelpers":{"gcr.io":"leaky"}}`), 0o600))
	badConfig := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(badConfig, []byte(`{"auths":{"ghcr.io":{"auth":"`+canary+`"}}}`), 0o600))
	junkConfig := filepath.Join(dir, "junk.json")
	require.NoError(t, os.WriteFile(junkConfig, []byte(`{"auths":{"ghcr.io":{"auth":`+canary+`}}}`), 0o600))
	bin := tempDir(t)
	writeFakeCredHelper(t, bin, "leaky", `  gcr.io) printf '{"ServerURL":"gcr.io","Username":"u","Secret":"`+canary+`-helper"}' ;;`)
	s.env["PATH"] = bin + ":/usr/bin:/bin"

	type step struct {
		args  []string
		stdin string
	}
	steps := []step{
		{args: []string{"create", "secret", "by-value", "--value", canary + "-value"}},
		{args: []string{"create", "secret", "by-file", "--from-file", valueFile}},
		{args: []string{"create", "secret", "by-stdin"}, stdin: canary + "-stdin"},
		{args: []string{"create", "secret", "by-login", "--type", "image_pull", "--registry", "r.io", "--username", "u", "--password", canary + "-password"}},
		{args: []string{"create", "secret", "by-piped-login", "--type", "image_pull"}, stdin: "r.io\nu\n" + canary + "-piped\n"},
		{args: []string{"create", "secret", "by-docker", "--type", "image_pull", "--from-docker-config", "--docker-config-path", config}},
		{args: []string{"create", "secret", "by-whole", "--type", "image_pull", "--value", `{"auths":{"r.io":{"auth":"` + b64("u:"+canary+"-whole") + `"}}}`}},
		{args: []string{"get", "secret", "by-value"}},
		{args: []string{"get", "secret", "by-docker"}},
		{args: []string{"get", "secret"}},
		{args: []string{"get", "secret", "-o", "json", "--limit", "2"}},
		// errors
		{args: []string{"create", "secret", "by-value", "--value", canary + "-again"}},
		{args: []string{"create", "secret", "bad.name", "--value", canary + "-badname"}},
		{args: []string{"create", "secret", "x", "--type", "nope", "--value", canary + "-badtype"}},
		{args: []string{"create", "secret", "x", "--type", "image_pull", "-d", "dev", "--value", canary + "-scope"}},
		{args: []string{"create", "secret", "x", "--type", "image_pull", "--value", canary + "-notjson"}},
		{args: []string{"create", "secret", "x", "--type", "image_pull", "--value", `{"auths":{"r":{"auth":"` + canary + `"}}}`}},
		{args: []string{"create", "secret", "x", "--type", "image_pull", "--from-docker-config", "--docker-config-path", badConfig}},
		{args: []string{"create", "secret", "x", "--type", "image_pull", "--from-docker-config", "--docker-config-path", junkConfig}},
		{args: []string{"create", "secret", "x", "--type", "image_pull", "--from-docker-config", "--docker-config-path", config, "--registries", "none.io"}},
		{args: []string{"create", "secret", "x", "--value", canary + "-both", "--from-file", valueFile}},
		{args: []string{"create", "secret", "x", "-p", "p", "--value", canary + "-nodomain"}},
		{args: []string{"get", "secret", "absent"}},
		{args: []string{"get", "secret", "by-value", "--backend", "vault"}},
		{args: []string{"delete", "secret", "by-value"}},
		{args: []string{"delete", "secret", "by-value"}},
	}
	secrets := []string{canary, b64("u:" + canary), base64.StdEncoding.EncodeToString([]byte(canary))}
	for _, st := range steps {
		res := s.run(t, st.stdin, st.args...)
		for _, c := range secrets {
			assert.NotContains(t, res.stdout, c, "%v stdout", st.args)
			assert.NotContains(t, res.stderr, c, "%v stderr", st.args)
		}
		assert.NotContains(t, res.stdout+res.stderr, "CANARY", "%v", st.args)
	}
	// The debug log is on, so the absence means something.
	res := s.run(t, "", "create", "secret", "logged", "--value", canary+"-logged")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, `"created secret"`)
	assert.NotContains(t, res.stderr, "CANARY")

	// The one way out.
	assert.Equal(t, canary+"-file", s.reveal(t, "by-file"))
	assert.Equal(t, canary+"-stdin", s.reveal(t, "by-stdin"))
	assert.Equal(t, map[string]string{"ghcr.io": "u:" + canary + "-docker", "gcr.io": "u:" + canary + "-helper"}, pullAuths(t, s.reveal(t, "by-docker")))

	// And the runtime that reads them.
	for _, args := range [][]string{
		{"--backends", "local", "--secret", "by-file"},
		{"dry-run", "--backends", "local", "--secret", "by-file", "--secret", "by-stdin"},
		{"explain", "by-file", "--backends", "local"},
	} {
		r := run{args: args, env: map[string]string{"FLYTE_ENTRYPOINT_STORE": s.store, "FLYTE_ENTRYPOINT_LOG_LEVEL": "debug"}, noCmd: args[0] == "explain"}.exec(t)
		assert.NotContains(t, r.stdout+r.stderr, "CANARY", "%v", args)
	}
}

// TestSecretConcurrentProcesses races 50 create processes for distinct
// names against 50 readers (get NAME --reveal, list as table and as JSON).
// Every process succeeds; afterwards every record is whole and no
// temporary file is left.
func TestSecretConcurrentProcesses(t *testing.T) {
	const n = 50
	s := newSecretsCLI(t)
	s.ok(t, "", "create", "secret", "base", "--value", "base-value")
	valueOf := func(i int) string { return fmt.Sprintf("value-%02d-%s", i, strings.Repeat("x", i*97)) }

	type outcome struct {
		args []string
		res  result
		err  error
	}
	var wg sync.WaitGroup
	outs := make(chan outcome, 2*n)
	start := make(chan struct{})
	launch := func(stdin string, args ...string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, shimBin, args...)
			cmd.Env = s.environ(nil)
			cmd.Stdin = strings.NewReader(stdin)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			outs <- outcome{args: args, res: result{stdout: stdout.String(), stderr: stderr.String()}, err: err}
		}()
	}
	for i := range n {
		name := fmt.Sprintf("conc-%02d", i)
		if i%2 == 0 {
			launch("", "create", "secret", name, "--value", valueOf(i))
		} else {
			launch(valueOf(i), "create", "secret", name) // the value on stdin
		}
		switch i % 3 {
		case 0:
			launch("", "get", "secret", "base", "--reveal")
		case 1:
			launch("", "get", "secret", "--limit", "7")
		default:
			launch("", "get", "secret", "-o", "json")
		}
	}
	close(start)
	wg.Wait()
	close(outs)
	for o := range outs {
		require.NoError(t, o.err, "%v: %s", o.args, o.res.stderr)
		if o.args[2] == "base" {
			assert.Equal(t, "base-value", o.res.stdout)
		}
		if len(o.args) > 3 && o.args[3] == "json" {
			var items []map[string]any
			assert.NoError(t, json.Unmarshal([]byte(o.res.stdout), &items), "a list during the race is whole JSON")
		}
	}

	res := s.ok(t, "", "get", "secret", "-o", "json")
	var items []struct{ Name string }
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &items))
	assert.Len(t, items, n+1)
	for i := range n {
		assert.Equal(t, valueOf(i), s.reveal(t, fmt.Sprintf("conc-%02d", i)))
	}
	entries, err := os.ReadDir(filepath.Join(s.store, "secrets"))
	require.NoError(t, err)
	assert.Len(t, entries, n+1, "one file per secret")
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), "."), "no temporary file is left: %s", e.Name())
	}
}

// TestSecretKilledMidWrite kills create secret at random points of a large
// write (a value of the 1 MiB limit), and at the moment its temporary file appears (surely mid-write).
// Afterwards each secret is either absent or whole, never torn, and every
// record in the store decodes.
func TestSecretKilledMidWrite(t *testing.T) {
	s := newSecretsCLI(t)
	big := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	file := filepath.Join(tempDir(t), "big")
	require.NoError(t, os.WriteFile(file, big, 0o600))
	secretsDir := filepath.Join(s.store, "secrets")

	// How long one whole create takes sets the range of the kill points.
	start := time.Now()
	s.ok(t, "", "create", "secret", "big-whole", "--from-file", file)
	full := time.Since(start)
	t.Logf("one create of %d KiB takes %v", len(big)>>10, full)

	tmpFiles := func() map[string]bool {
		entries, err := os.ReadDir(secretsDir)
		require.NoError(t, err)
		out := map[string]bool{}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".tmp-") {
				out[e.Name()] = true
			}
		}
		return out
	}
	// create starts a create and kills it: after a random time, or as soon
	// as a new temporary file shows. It reports whether it killed mid-write.
	create := func(name string, atTmp bool) (midWrite bool) {
		old := tmpFiles()
		cmd := exec.Command(shimBin, "create", "secret", name, "--from-file", file)
		cmd.Env = s.environ(nil)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		require.NoError(t, cmd.Start())
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		if !atTmp {
			// Over twice a create's time: some land mid-way, some after.
			time.Sleep(time.Duration(r.Int64N(2*int64(full) + 1)))
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
			return false
		}
		for {
			select {
			case <-done:
				return false // it finished before a new temporary file showed
			default:
			}
			for name := range tmpFiles() {
				if !old[name] {
					_ = cmd.Process.Signal(syscall.SIGKILL)
					<-done
					return true
				}
			}
		}
	}
	check := func(name string) (exists bool) {
		res := s.run(t, "", "get", "secret", name, "--reveal")
		switch res.code {
		case 0:
			assert.True(t, bytes.Equal(big, []byte(res.stdout)), "secret %s is whole", name)
			return true
		case 1:
			assert.Contains(t, res.stderr, "not found", "secret %s is absent, not corrupt", name)
		default:
			t.Errorf("get %s: code %d: %s", name, res.code, res.stderr)
		}
		return false
	}

	var absent []string
	whole, midWrite := 0, 0
	for i := 0; i < 16 && (i < 8 || midWrite < 2); i++ {
		name := fmt.Sprintf("big-%d", i)
		if create(name, i%2 == 1) {
			midWrite++
		}
		if check(name) {
			whole++
		} else {
			absent = append(absent, name)
		}
	}
	t.Logf("%d absent (%d killed mid-write), %d whole", len(absent), midWrite, whole)
	assert.GreaterOrEqual(t, midWrite, 2, "some kills landed while the temporary file was being written")

	// Every record in the store decodes: the list reads each one.
	res := s.ok(t, "", "get", "secret", "-o", "json")
	var items []map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &items))
	assert.Len(t, items, whole+1)
	// A killed create left its name free; its temporary file is ignored.
	for _, name := range absent {
		s.ok(t, "", "create", "secret", name, "--value", "after")
		assert.Equal(t, "after", s.reveal(t, name))
	}
}
