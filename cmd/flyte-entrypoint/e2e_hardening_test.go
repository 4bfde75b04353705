package main_test

// The classes of breaks found by probing the binary as an attacker would:
// values printed in errors or logs, reads that never end, and corrupt store
// records. Each test runs the real binary with canary values and greps every
// output for them.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
)

const hardCanary = "CANARY-hardening-91c4"

// TestPATHFromASecretIsNeverShown: a secret allowed onto PATH names
// directories; no error, and no log line at debug level, may show it.
func TestPATHFromASecretIsNeverShown(t *testing.T) {
	dir := t.TempDir()
	bindir := filepath.Join(t.TempDir(), hardCanary)
	require.NoError(t, os.Mkdir(bindir, 0o755))
	writeFile(t, filepath.Join(bindir, "noexec"), []byte("x"))
	require.NoError(t, os.Chmod(filepath.Join(bindir, "noexec"), 0o644))
	b, err := os.ReadFile(fakeBin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(bindir, "tool"), b, 0o755))
	writeFile(t, filepath.Join(dir, "p"), []byte(bindir+":/also/"+hardCanary))
	base := []string{"--dir", dir, "--allow-env", "PATH", "--secret", "key=p,env=PATH", "--log-level", "debug"}

	for _, c := range []struct {
		name     string
		args     []string
		command  []string
		wantCode int
	}{
		{"not found", base, []string{"absent"}, 127},
		{"not executable", base, []string{"noexec"}, 126},
		{"started, supervised", append(base, "--supervise"), []string{"tool"}, 0},
		{"started, exec", base, []string{"tool"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := run{args: c.args, command: c.command}.exec(t)
			assert.Equal(t, c.wantCode, res.code, res.stderr)
			assert.NotContains(t, res.stderr, hardCanary)
			assert.NotContains(t, res.stdout, hardCanary)
			if c.wantCode != 0 {
				assert.Contains(t, res.stderr, "PATH (set by a secret, so not shown)")
			}
		})
	}
}

// TestReadsThatNeverEnd: a FIFO in the store, a FIFO or /dev/zero as
// --spec, and a huge sparse file in --dir each end the start at once with a
// clear error and its exit code; nothing hangs, nothing runs out of memory.
func TestReadsThatNeverEnd(t *testing.T) {
	tmp := t.TempDir()
	fifo := filepath.Join(tmp, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	sparseDir := filepath.Join(tmp, "src")
	require.NoError(t, os.Mkdir(sparseDir, 0o700))
	f, err := os.Create(filepath.Join(sparseDir, "huge"))
	require.NoError(t, err)
	require.NoError(t, f.Truncate(20<<30)) // 20 GB, no blocks
	require.NoError(t, f.Close())

	store := filepath.Join(tmp, "store")
	s := &secretsCLI{store: store, home: tmp, env: map[string]string{}}
	s.ok(t, "", "create", "secret", "k", "--value", hardCanary)
	rec := filepath.Join(store, "secrets", resolver.ScopedID(resolver.Scope{Org: "flyte"}, "k"))
	require.NoError(t, os.Remove(rec))
	require.NoError(t, syscall.Mkfifo(rec, 0o600))

	cases := []struct {
		name     string
		args     []string
		env      map[string]string
		noCmd    bool
		wantCode int
		wantErr  string
	}{
		{name: "spec is a FIFO", args: []string{"--spec", fifo, "--secret", "x"}, wantCode: 65, wantErr: "not a regular file (a FIFO)"},
		{name: "spec is /dev/zero", args: []string{"--spec", "/dev/zero", "--secret", "x"}, wantCode: 65, wantErr: "not a regular file (a character device)"},
		{name: "dir holds a 20 GB file", args: []string{"--dir", sparseDir, "--secret", "key=huge,mount=/etc/flyte/secrets"}, wantCode: 69,
			wantErr: "21474836480 bytes, more than the limit of 1048576"},
		{name: "the store holds a FIFO: run", args: []string{"--backends", "local", "--secret", "k"}, env: map[string]string{"FLYTE_ENTRYPOINT_STORE": store},
			wantCode: 69, wantErr: "not a regular file (a FIFO)"},
		{name: "the store holds a FIFO: run supervised", args: []string{"--backends", "local", "--secret", "k", "--supervise"}, env: map[string]string{"FLYTE_ENTRYPOINT_STORE": store},
			wantCode: 69, wantErr: "not a regular file (a FIFO)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			done := make(chan result, 1)
			go func() { done <- run{args: c.args, env: c.env}.exec(t) }()
			select {
			case res := <-done:
				assert.Equal(t, c.wantCode, res.code, res.stderr)
				assert.Contains(t, res.stderr, c.wantErr)
				assertNothingStarted(t, res)
			case <-time.After(20 * time.Second):
				t.Fatal("the start hangs")
			}
		})
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, shimBin, "get", "secret", "k")
	cmd.Env = s.environ(nil)
	out, err := cmd.CombinedOutput()
	require.NoError(t, ctx.Err(), "get secret hangs")
	assert.Error(t, err)
	assert.Equal(t, 1, cmd.ProcessState.ExitCode())
	assert.Contains(t, string(out), "not a regular file (a FIFO)")
}

// TestCorruptRecordFieldsAreQuotedShort: a record whose fields were
// tampered with (a long or binary name, type, org, time) is reported with
// its fields quoted and cut short, in get, the list, run and dry-run's JSON,
// and a bad type or org is a store error (1), not invalid input (65).
func TestCorruptRecordFieldsAreQuotedShort(t *testing.T) {
	long := strings.Repeat(hardCanary, 20)
	for _, c := range []struct {
		name  string
		field string
		value string
	}{
		{"type", "type", long},
		{"org", "org", long},
		{"created_time", "created_time", long},
		{"name", "name", long},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSecretsCLI(t)
			s.ok(t, "", "create", "secret", "k", "--value", "v")
			rec := filepath.Join(s.store, "secrets", resolver.ScopedID(resolver.Scope{Org: "flyte"}, "k"))
			b, err := os.ReadFile(rec)
			require.NoError(t, err)
			doc := strings.Replace(string(b), jsonField(t, b, c.field), `"`+c.field+`":"`+c.value+`"`, 1)
			require.NoError(t, os.WriteFile(rec, []byte(doc), 0o600))

			for _, args := range [][]string{{"get", "secret", "k"}, {"get", "secret"}, {"get", "secret", "-o", "json"}} {
				res := s.run(t, "", args...)
				assert.Equal(t, 1, res.code, "%v: %s", args, res.stderr)
				assertQuotedShort(t, res.stdout+res.stderr)
			}
			env := map[string]string{"FLYTE_ENTRYPOINT_STORE": s.store}
			res := run{args: []string{"--backends", "local", "--secret", "k"}, env: env}.exec(t)
			assert.Equal(t, 69, res.code, res.stderr)
			assertQuotedShort(t, res.stdout+res.stderr)
			res = run{args: []string{"dry-run", "-o", "json", "--backends", "local", "--secret", "k"}, env: env, noCmd: true}.exec(t)
			assert.Equal(t, 69, res.code, res.stderr)
			assertQuotedShort(t, res.stdout+res.stderr)
		})
	}
}

// jsonField finds `"name":"value"` in a one-line JSON record.
func jsonField(t *testing.T, b []byte, name string) string {
	t.Helper()
	s := string(b)
	i := strings.Index(s, `"`+name+`":"`)
	require.GreaterOrEqual(t, i, 0, "%s in %s", name, s)
	j := strings.Index(s[i+len(name)+4:], `"`)
	return s[i : i+len(name)+4+j+1]
}

// assertQuotedShort: the tampered field shows at most once a line (the
// error, and the fatal log line that repeats it), cut short.
func assertQuotedShort(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		assert.LessOrEqual(t, strings.Count(line, hardCanary), 3*2, "a field is cut after 64 bytes: %s", line)
	}
	assert.NotContains(t, out, strings.Repeat(hardCanary, 4))
}
