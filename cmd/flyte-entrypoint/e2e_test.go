package main_test

// The end-to-end suite: it builds the real, static binary and a fake command
// that records its argv and environment, and runs them as real processes with
// a minimal environment. Files, exit codes and signals are real; nothing below
// the binary is mocked.

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/awstest"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/kubetest"
)

var (
	shimBin string // the built flyte-entrypoint
	fakeBin string // the built fake command
	// reloaderBin is the built long-running command of the --watch tests.
	reloaderBin string
	repo        string // the repository's root
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "flyte-entrypoint-e2e-")
	if err != nil {
		panic(err)
	}
	// The binaries run as other users too (--watch's polling test).
	if err := os.Chmod(dir, 0o755); err != nil {
		panic(err)
	}
	_, file, _, _ := runtime.Caller(0)
	repo = filepath.Join(filepath.Dir(file), "..", "..")
	shimBin = filepath.Join(dir, "flyte-entrypoint")
	fakeBin = filepath.Join(dir, "fakecmd")
	reloaderBin = filepath.Join(dir, "reloader")
	for _, b := range []struct{ out, pkg string }{{shimBin, "./cmd/flyte-entrypoint"}, {fakeBin, "./testdata/fakecmd"}, {reloaderBin, "./testdata/reloader"}} {
		// The same tags as `make build`: urfave_cli_no_docs drops the man-page
		// generator and its markdown parser, which cost start-up time.
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "urfave_cli_no_docs", "-o", b.out, b.pkg)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			panic("build " + b.pkg + ": " + err.Error() + "\n" + string(out))
		}
	}
	// FE_E2E_SHIM runs the suite against another build of the shim, to show
	// that a test fails on an older one.
	if other := os.Getenv("FE_E2E_SHIM"); other != "" {
		shimBin = other
	}
	code := m.Run()
	kubetest.Shutdown()
	awstest.Shutdown()
	os.RemoveAll(dir)
	os.Exit(code)
}

// record is what the fake command saw.
type record struct {
	Argv   []string          `json:"argv"`
	Env    []string          `json:"env"`
	PID    int               `json:"pid"`
	PPID   int               `json:"ppid"`
	UID    int               `json:"uid"`
	GID    int               `json:"gid"`
	Groups []int             `json:"groups"`
	Files  map[string][]byte `json:"files"`
	Errors []string          `json:"errors"`
	// ParentEnv: reading the parent's /proc environ gave "ok" or this error.
	ParentEnv string `json:"parent_env"`
}

func (r *record) env(name string) (string, bool) {
	for _, kv := range r.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// result is one finished run of the shim.
type result struct {
	code           int
	stdout, stderr string
	pid            int
	rec            *record // nil when the command never ran
	root           string  // the --root used
}

type run struct {
	args    []string          // flags and subcommand, before "--"
	command []string          // after "--"; defaults to the fake command
	env     map[string]string // on top of a minimal environment
	noCmd   bool              // no "--" part at all
	stdin   string
}

// start runs the shim with a minimal environment, a fresh --root and a fake
// command that records to a file.
func (r run) exec(t *testing.T) result {
	t.Helper()
	tmp := tempDir(t)
	root := filepath.Join(tmp, "root")
	out := filepath.Join(tmp, "record.json")
	env := map[string]string{
		"PATH":                  "/usr/bin:/bin",
		"HOME":                  tmp,
		"XDG_DATA_HOME":         filepath.Join(tmp, "xdg"),
		"FLYTE_ENTRYPOINT_ROOT": root,
		"FAKECMD_OUT":           out,
		"FAKECMD_ROOT":          root,
	}
	for k, v := range r.env {
		env[k] = v
	}
	args := append([]string{}, r.args...)
	if !r.noCmd {
		command := r.command
		if command == nil {
			command = []string{fakeBin, "arg one", "--flag"}
		}
		args = append(append(args, "--"), command...)
	}
	cmd := exec.Command(shimBin, args...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader(r.stdin)
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String(), root: root}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	res.pid = cmd.Process.Pid
	if b, err := os.ReadFile(out); err == nil {
		res.rec = &record{}
		require.NoError(t, json.Unmarshal(b, res.rec))
	}
	return res
}

func (res result) mountDir() string { return filepath.Join(res.root, "etc/flyte/secrets") }

// assertNothingStarted checks the all-or-nothing promise: no command, no files.
func assertNothingStarted(t *testing.T, res result) {
	t.Helper()
	assert.Nil(t, res.rec, "the command must not start")
	entries, _ := os.ReadDir(res.mountDir())
	var left []string
	for _, e := range entries {
		if e.Name() != "..lock" { // the publish lock, which holds nothing
			left = append(left, e.Name())
		}
	}
	assert.Empty(t, left, "nothing may be published")
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

func TestRunExposesEnvAndFilesThenExecs(t *testing.T) {
	dir := tempDir(t)
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	writeFile(t, filepath.Join(dir, "db-config"), binary)
	writeFile(t, filepath.Join(dir, "openai", "api-key"), []byte("sk-from-dir"))
	writeFile(t, filepath.Join(dir, "my-api-key"), []byte("from-dir-not-env"))

	res := run{
		args: []string{
			"--dir", dir,
			"--secret", "my-api-key",
			"--secret", "key=api-key,group=openai",
			"--secret", "key=db-config,mount=/etc/flyte/secrets",
			"--secret", "key=api-key,group=openai,mount=/etc/flyte/secrets,env=OPENAI_TOO",
		},
		env: map[string]string{"_FSEC_MY-API-KEY": "from-env", "MY_API_KEY": "old-value"},
	}.exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	require.NotNil(t, res.rec)
	assert.Equal(t, []string{fakeBin, "arg one", "--flag"}, res.rec.Argv)
	assert.Equal(t, res.pid, res.rec.PID, "exec mode keeps the shim's PID")

	v, _ := res.rec.env("MY_API_KEY")
	assert.Equal(t, "from-env", v, "env comes first in the chain and wins over the old value")
	v, _ = res.rec.env("OPENAI_API_KEY")
	assert.Equal(t, "sk-from-dir", v)
	v, _ = res.rec.env("OPENAI_TOO")
	assert.Equal(t, "sk-from-dir", v, "mount plus as_env_var gets both")
	v, _ = res.rec.env("FLYTE_SECRETS_DEFAULT_DIR")
	assert.Equal(t, "/etc/flyte/secrets", v)

	assert.Equal(t, binary, res.rec.Files["db-config"], "a binary secret round-trips byte-exact")
	assert.Equal(t, []byte("sk-from-dir"), res.rec.Files["openai/api-key"])
	assert.Empty(t, res.rec.Errors)

	info, err := os.Stat(filepath.Join(res.mountDir(), "db-config"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o400), info.Mode().Perm())
	info, err = os.Stat(res.mountDir())
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), info.Mode().Perm())
	target, err := os.Readlink(filepath.Join(res.mountDir(), "..data"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(target, ".."), "..data points at a version directory, got %q", target)

	assert.Contains(t, res.stderr, "MY_API_KEY", "the override is logged by name")
	assert.NotContains(t, res.stderr, "old-value")
	assert.NotContains(t, res.stderr, "from-env")
}

func TestRunSubcommandIsTheDefault(t *testing.T) {
	for _, args := range [][]string{{"--secret", "k"}, {"run", "--secret", "k"}, {"--secret", "k", "run"}} {
		res := run{args: args, env: map[string]string{"_UNION_K": "v"}}.exec(t)
		require.Equal(t, 0, res.code, "%v: %s", args, res.stderr)
		require.NotNil(t, res.rec, "%v", args)
		v, _ := res.rec.env("K")
		assert.Equal(t, "v", v, "%v", args)
	}
}

func TestCommandIsLookedUpOnTheChildPath(t *testing.T) {
	bin := tempDir(t)
	require.NoError(t, os.Symlink(fakeBin, filepath.Join(bin, "task-cmd")))
	res := run{
		args:    []string{"--secret", "key=path,env=PATH", "--allow-env", "PATH"},
		env:     map[string]string{"_FSEC_PATH": bin},
		command: []string{"task-cmd", "x"},
	}.exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	require.NotNil(t, res.rec)
	assert.Equal(t, []string{"task-cmd", "x"}, res.rec.Argv)
}

func TestSpecSourcesAreMerged(t *testing.T) {
	dir := tempDir(t)
	writeFile(t, filepath.Join(dir, "openai-key"), []byte("o"))
	writeFile(t, filepath.Join(dir, "postgres", "db-password"), []byte("p"))
	writeFile(t, filepath.Join(dir, "certs", "tls-cert"), []byte("c"))
	writeFile(t, filepath.Join(dir, "inline"), []byte("i"))
	spec := filepath.Join(repo, "testdata/specs/demo-task.json")

	for name, r := range map[string]run{
		"flag":     {args: []string{"--dir", dir, "--spec", spec}},
		"variable": {args: []string{"--dir", dir}, env: map[string]string{"FLYTE_ENTRYPOINT_SPEC": spec}},
	} {
		t.Run(name, func(t *testing.T) {
			r.env = merge(r.env, map[string]string{"FLYTE_SECRETS": `["inline"]`})
			res := r.exec(t)
			require.Equal(t, 0, res.code, res.stderr)
			require.NotNil(t, res.rec)
			for k, want := range map[string]string{"OPENAI_API_KEY": "o", "POSTGRES_DB_PASSWORD": "p", "INLINE": "i"} {
				v, ok := res.rec.env(k)
				assert.True(t, ok, k)
				assert.Equal(t, want, v, k)
			}
			assert.Equal(t, []byte("c"), res.rec.Files["certs/tls-cert"])
		})
	}
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func TestBadInputStopsEverything(t *testing.T) {
	dir := tempDir(t)
	writeFile(t, filepath.Join(dir, "bin"), []byte{0xff, 0xfe, 0x00})
	writeFile(t, filepath.Join(dir, "ok"), []byte("FINE-VALUE-77"))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "is-a-dir"), 0o000))
	notExec := filepath.Join(tempDir(t), "script")
	writeFile(t, notExec, []byte("#!/bin/sh\n"))
	badSpec := filepath.Join(tempDir(t), "bad.json")
	writeFile(t, badSpec, []byte(`{"secrets": [`))
	emptySpec := filepath.Join(tempDir(t), "empty.pb")
	writeFile(t, emptySpec, nil)
	long := strings.Repeat("k", 10*1024)
	nulSpec := filepath.Join(tempDir(t), "nul.json")
	writeFile(t, nulSpec, []byte(`[{"key": "a\u0000b", "mount": "/etc/flyte/secrets"}]`))

	cases := []struct {
		name      string
		r         run
		wantCode  int
		wantInErr []string
	}{
		{name: "invalid env name", r: run{args: []string{"--secret", "my.secret"}}, wantCode: 65,
			wantInErr: []string{"Invalid environment variable name: MY.SECRET, must match ^[A-Z_][A-Z0-9_]*$"}},
		{name: "lowercase given name", r: run{args: []string{"--secret", "key=k,env=lowercase"}}, wantCode: 65,
			wantInErr: []string{"Invalid environment variable name: lowercase, must match ^[A-Z_][A-Z0-9_]*$"}},
		{name: "bad mount", r: run{args: []string{"--secret", "key=k,mount=/etc/flyte/secrets/"}}, wantCode: 65,
			wantInErr: []string{"Only /etc/flyte/secrets is supported as secret mount path today."}},
		{name: "traversal key", r: run{args: []string{"--secret", "key=../x,mount=/etc/flyte/secrets"}}, wantCode: 65, wantInErr: []string{`"../x"`}},
		{name: "slash key", r: run{args: []string{"--secret", "key=/,mount=/etc/flyte/secrets"}}, wantCode: 65, wantInErr: []string{`"/"`}},
		{name: "dotdot key", r: run{args: []string{"--secret", "key=..,mount=/etc/flyte/secrets"}}, wantCode: 65, wantInErr: []string{`".."`}},
		{name: "..data key", r: run{args: []string{"--secret", "key=..data,mount=/etc/flyte/secrets"}}, wantCode: 65, wantInErr: []string{`"..data"`}},
		{name: "NUL key", r: run{args: []string{"--spec", nulSpec}}, wantCode: 65, wantInErr: []string{`\x00`, nulSpec}},
		{name: "10 KB key", r: run{args: []string{"--secret", "key=" + long + ",env=LONG"}}, wantCode: 65, wantInErr: []string{"253"}},
		{name: "colliding names", r: run{args: []string{"--secret", "my-secret", "--secret", "my_secret"}}, wantCode: 65,
			wantInErr: []string{"MY_SECRET", `"my-secret"`, `"my_secret"`}},
		{name: "loader variable", r: run{args: []string{"--secret", "key=k,env=LD_PRELOAD"}}, wantCode: 65, wantInErr: []string{"LD_PRELOAD", "--allow-env"}},
		{name: "malformed spec", r: run{args: []string{"--spec", badSpec}}, wantCode: 65, wantInErr: []string{badSpec}},
		{name: "empty spec", r: run{args: []string{"--spec", emptySpec}}, wantCode: 65, wantInErr: []string{emptySpec}},
		{name: "unreadable spec", r: run{args: []string{"--spec", filepath.Join(dir, "nope.json")}}, wantCode: 65, wantInErr: []string{"nope.json"}},
		{name: "missing secret", r: run{args: []string{"--dir", dir, "--secret", "ok", "--secret", "absent", "--secret", "key=ok,mount=/etc/flyte/secrets"}}, wantCode: 69,
			wantInErr: []string{`"absent"`, "env", "dir", "local"}},
		{name: "dir entry is a directory", r: run{args: []string{"--dir", dir, "--secret", "is-a-dir"}}, wantCode: 69, wantInErr: []string{"is-a-dir"}},
		{name: "binary value as env", r: run{args: []string{"--dir", dir, "--secret", "bin", "--secret", "key=ok,mount=/etc/flyte/secrets"}}, wantCode: 65,
			wantInErr: []string{`secret "bin" has a binary value that is not valid UTF-8 and cannot be set as an environment variable; mount it as a file instead`}},
		{name: "command not found", r: run{args: []string{"--dir", dir, "--secret", "key=ok,mount=/etc/flyte/secrets"}, command: []string{"no-such-command-xyz"}}, wantCode: 127,
			wantInErr: []string{"no-such-command-xyz"}},
		{name: "command not executable", r: run{args: []string{"--dir", dir, "--secret", "key=ok,mount=/etc/flyte/secrets"}, command: []string{notExec}}, wantCode: 126,
			wantInErr: []string{notExec}},
		{name: "mount not writable", r: run{args: []string{"--dir", dir, "--secret", "key=ok,mount=/etc/flyte/secrets"}, env: map[string]string{"FLYTE_ENTRYPOINT_ROOT": notExec}}, wantCode: 73},
		{name: "bad flag", r: run{args: []string{"--no-such-flag"}}, wantCode: 2},
		{name: "bad flag on run", r: run{args: []string{"run", "--no-such-flag"}}, wantCode: 2},
		{name: "bad flag on dry-run", r: run{args: []string{"dry-run", "--no-such-flag"}}, wantCode: 2},
		{name: "bad flag on explain", r: run{args: []string{"explain", "k", "--no-such-flag"}, noCmd: true}, wantCode: 2},
		{name: "bad grace", r: run{args: []string{"--supervise", "--grace", "soon", "--secret", "k"}}, wantCode: 2, wantInErr: []string{"--grace"}},
		{name: "project without domain", r: run{args: []string{"--project", "p", "--secret", "k"}}, wantCode: 2, wantInErr: []string{`"p"`}},
		{name: "bad duration variable", r: run{args: []string{"--secret", "k"}, env: map[string]string{"FLYTE_ENTRYPOINT_TIMEOUT": "soon"}}, wantCode: 2,
			wantInErr: []string{"FLYTE_ENTRYPOINT_TIMEOUT"}},
		{name: "unknown backend", r: run{args: []string{"--backends", "env,nope", "--secret", "k"}}, wantCode: 2, wantInErr: []string{`"nope"`, "env, dir, local"}},
		{name: "no command", r: run{args: []string{"--secret", "k"}, noCmd: true}, wantCode: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.r.exec(t)
			assert.Equal(t, tc.wantCode, res.code, res.stderr)
			for _, s := range tc.wantInErr {
				assert.Contains(t, res.stderr, s)
			}
			if tc.name != "mount not writable" {
				assertNothingStarted(t, res)
			} else {
				assert.Nil(t, res.rec)
			}
			assert.NotContains(t, res.stderr, "FINE-VALUE-77", "a value never reaches stderr")
		})
	}
}

func TestCanaryValuesNeverLeak(t *testing.T) {
	const canary = "CANARY-3b9f-do-not-print"
	dir := tempDir(t)
	writeFile(t, filepath.Join(dir, "file-secret"), []byte(canary+"-file"))
	writeFile(t, filepath.Join(dir, "env-secret"), []byte(canary+"-env"))
	writeFile(t, filepath.Join(dir, "binary"), []byte(canary+"\xff"))
	env := map[string]string{"_FSEC_PLATFORM": canary + "-platform", "ENV_SECRET": canary + "-old", "FLYTE_ENTRYPOINT_LOG_LEVEL": "debug"}
	base := []string{"--dir", dir, "--secret", "env-secret", "--secret", "platform", "--secret", "key=file-secret,mount=/etc/flyte/secrets"}

	runs := map[string]run{
		"run":          {args: base, env: env},
		"dry-run":      {args: append([]string{"dry-run"}, base...), env: env},
		"dry-run json": {args: append([]string{"dry-run", "--output", "json"}, base...), env: env},
		"explain":      {args: []string{"explain", "env-secret", "--dir", dir}, env: env, noCmd: true},
		"binary env":   {args: append(append([]string{}, base...), "--secret", "binary"), env: env},
		"missing":      {args: append(append([]string{}, base...), "--secret", "absent"), env: env},
	}
	for name, r := range runs {
		t.Run(name, func(t *testing.T) {
			res := r.exec(t)
			assert.NotContains(t, res.stderr, "CANARY", "stderr at debug level")
			assert.NotContains(t, res.stdout, "CANARY", "stdout")
			assert.Contains(t, res.stderr, "debug", "debug logging is on")
		})
	}
}

func TestDryRunPrintsThePlanAndWritesNothing(t *testing.T) {
	dir := tempDir(t)
	writeFile(t, filepath.Join(dir, "certs", "tls-cert"), []byte("12345"))
	args := []string{"dry-run", "--output", "json", "--dir", dir,
		"--secret", "key=tls-cert,group=certs,mount=/etc/flyte/secrets",
		"--secret", "key=api,optional=true",
		"--secret", "key=platform"}
	res := run{args: args, env: map[string]string{"_UNION_PLATFORM": "abc"}, command: []string{"python", "-m", "task"}}.exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	assertNothingStarted(t, res)

	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &got), res.stdout)
	assert.Equal(t, []any{"python", "-m", "task"}, got["command"])
	secrets := got["secrets"].([]any)
	require.Len(t, secrets, 3)
	want := []map[string]any{
		{"key": "tls-cert", "group": "certs", "target": "file", "env_var": nil, "path": "/etc/flyte/secrets/certs/tls-cert",
			"backend": "dir", "scope": nil, "status": "ok", "bytes": float64(5), "error": nil},
		{"key": "api", "group": nil, "target": "env", "env_var": "API", "path": nil,
			"backend": nil, "scope": nil, "status": "missing", "bytes": nil},
		{"key": "platform", "group": nil, "target": "env", "env_var": "PLATFORM", "path": nil,
			"backend": "env", "scope": nil, "status": "ok", "bytes": float64(3), "error": nil},
	}
	for i, w := range want {
		s := secrets[i].(map[string]any)
		for k, v := range w {
			assert.Equal(t, v, s[k], "secret %d field %s", i, k)
		}
		assert.Len(t, s, 11, "every field is present, null when it does not apply")
		assert.Nil(t, s["lookup"], "only a remote backend says what it asked")
	}

	res = run{args: []string{"dry-run", "--dir", dir, "--secret", "absent"}}.exec(t)
	assert.Equal(t, 69, res.code)
	assert.Contains(t, res.stdout, "missing")
	res = run{args: []string{"dry-run", "--secret", "bad.name"}}.exec(t)
	assert.Equal(t, 65, res.code)
}

func TestExplainPrintsTheTrail(t *testing.T) {
	dir := tempDir(t)
	writeFile(t, filepath.Join(dir, "grp", "k"), []byte("v"))
	res := run{args: []string{"explain", "k", "--group", "grp", "--dir", dir}, noCmd: true}.exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "env")
	assert.Contains(t, res.stdout, "dir")
	assert.Contains(t, res.stdout, "found")
	assert.Less(t, strings.Index(res.stdout, "env"), strings.Index(res.stdout, "dir"), "the trail is in chain order")

	res = run{args: []string{"explain", "nope"}, noCmd: true}.exec(t)
	assert.Equal(t, 69, res.code)
	assert.Contains(t, res.stdout, "no directory set", "explain says why dir was skipped")
	assert.Contains(t, res.stdout, "local")
}

// TestSignalBeforeStartAbortsTheStart sends SIGTERM while the start is in
// progress. In supervise mode the shim catches it and exits 128+N itself; in
// exec mode it keeps the default action until execve, so it ends by the
// signal and its parent sees the same 128+N. Either way nothing is published
// and the command does not start.
func TestSignalBeforeStartAbortsTheStart(t *testing.T) {
	for _, c := range []struct {
		mode string
		sig  syscall.Signal
	}{{"exec", syscall.SIGTERM}, {"exec", syscall.SIGQUIT}, {"supervise", syscall.SIGTERM}, {"supervise", syscall.SIGHUP}, {"supervise", syscall.SIGQUIT}} {
		mode, sig := c.mode, c.sig
		t.Run(mode+"/"+sig.String(), func(t *testing.T) {
			dir := tempDir(t)
			writeFile(t, filepath.Join(dir, "k"), []byte("v"))
			// The test holds the mount's publish lock, as another publisher
			// would: the start waits for it in the prepare phase, so the
			// signal surely lands while the start is in progress.
			root := filepath.Join(tempDir(t), "root")
			mount := filepath.Join(root, "etc/flyte/secrets")
			require.NoError(t, os.MkdirAll(mount, 0o755))
			lock, err := os.OpenFile(filepath.Join(mount, "..lock"), os.O_RDONLY|os.O_CREATE, 0o644)
			require.NoError(t, err)
			require.NoError(t, syscall.Flock(int(lock.Fd()), syscall.LOCK_EX))
			out := filepath.Join(tempDir(t), "rec.json")
			args := []string{"--dir", dir, "--root", root, "--secret", "key=k,mount=/etc/flyte/secrets"}
			if mode == "supervise" {
				args = append(args, "--supervise")
			}
			cmd := exec.Command(shimBin, append(args, "--", fakeBin)...)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "FAKECMD_OUT=" + out, "HOME=" + dir}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			waitFor(t, func() bool { return waitsForLock(cmd.Process.Pid, lock.Name()) })
			require.NoError(t, cmd.Process.Signal(sig))
			time.Sleep(20 * time.Millisecond) // let the signal land before the lock is free
			lock.Close()
			err = cmd.Wait()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, stderr.String())
			ws := ee.Sys().(syscall.WaitStatus)
			if mode == "exec" {
				assert.True(t, ws.Signaled() && ws.Signal() == sig, "ended by %v (a shell shows 128+N), got %v; %s", sig, ws, stderr.String())
				assert.False(t, ws.CoreDump(), "no core: the shim's memory holds secrets")
			} else {
				assert.Equal(t, 128+int(sig), ee.ExitCode(), stderr.String())
				assert.Contains(t, stderr.String(), "start aborted by "+unix.SignalName(sig))
			}
			assert.NotContains(t, stderr.String(), "goroutine ", "one line, not a goroutine dump")
			_, err = os.Stat(out)
			assert.True(t, os.IsNotExist(err), "the command must not start")
			entries, _ := os.ReadDir(mount)
			var left []string
			for _, e := range entries {
				if e.Name() != "..lock" {
					left = append(left, e.Name())
				}
			}
			assert.Empty(t, left, "nothing may be published")
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitsForLock reports whether pid waits for a flock on the file at path:
// /proc/locks lists such a request with "->" before it, then the pid and
// the file's device:inode. Unlike a thread's wchan, which only root may read
// for a process that is not dumpable (the shim in exec mode), /proc/locks is
// readable by every user.
func waitsForLock(pid int, path string) bool {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		return false
	}
	ino := ":" + strconv.FormatUint(st.Ino, 10)
	for _, line := range strings.Split(string(b), "\n") {
		// 2: -> FLOCK  ADVISORY  WRITE 1234 fe:00:9986620 0 EOF
		f := strings.Fields(line)
		if len(f) >= 7 && f[1] == "->" && f[2] == "FLOCK" && f[5] == itoa(pid) && strings.HasSuffix(f[6], ino) {
			return true
		}
	}
	return false
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestUnreadableDirIsAnError runs the shim as an unprivileged user against a
// directory it may not read: that is a failure (69), not "not found". Root
// runs the shim as nobody against its own 0700 directory; another user runs
// it as itself against a 0000 one.
func TestUnreadableDirIsAnError(t *testing.T) {
	base := tempDir(t)
	require.NoError(t, os.Chmod(filepath.Dir(base), 0o755))
	require.NoError(t, os.Chmod(base, 0o755))
	locked := filepath.Join(base, "locked")
	require.NoError(t, os.Mkdir(locked, 0o700))
	writeFile(t, filepath.Join(locked, "k"), []byte("v"))
	require.NoError(t, os.Chmod(shimBinDir(), 0o755))

	cmd := exec.Command(shimBin, "--dir", locked, "--secret", "k", "--", fakeBin)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + base}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	} else {
		require.NoError(t, os.Chmod(locked, 0o000))
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, stderr.String())
	assert.Equal(t, 69, ee.ExitCode(), stderr.String())
	assert.Contains(t, stderr.String(), "permission denied")
	assert.Contains(t, stderr.String(), locked)
}

func shimBinDir() string { return filepath.Dir(shimBin) }

// TestPathVariableIsNotTakenForTheValue: a core.Secret FILE request whose
// env_var holds the file's path. With FLYTE_SECRETS_ENV_PREFIX set, the env
// backend may take a request's own target variable as its value, but not a
// variable that holds a path: the file must get the real value.
func TestPathVariableIsNotTakenForTheValue(t *testing.T) {
	dir := tempDir(t)
	writeFile(t, filepath.Join(dir, "k"), []byte("the-real-value"))
	spec := filepath.Join(tempDir(t), "secret.json")
	writeFile(t, spec, []byte(`{"key": "k", "mountRequirement": "FILE", "envVar": "K_PATH"}`))
	res := run{
		args: []string{"--dir", dir, "--spec", spec},
		env:  map[string]string{"FLYTE_SECRETS_ENV_PREFIX": "_X_", "K_PATH": "/etc/flyte/secrets/k"},
	}.exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	require.NotNil(t, res.rec)
	assert.Equal(t, []byte("the-real-value"), res.rec.Files["k"])
	v, _ := res.rec.env("K_PATH")
	assert.Equal(t, "/etc/flyte/secrets/k", v, "the variable holds the file's path")
}

// TestConfigVariables: lists in variables are comma-separated with spaces
// allowed, as on the command line; a variable that belongs to another
// command does not stop a run; a bad scope id is a usage error.
func TestConfigVariables(t *testing.T) {
	dir := tempDir(t)
	writeFile(t, filepath.Join(dir, "k"), []byte("v"))
	res := run{args: []string{"--secret", "k"}, env: map[string]string{
		"FLYTE_ENTRYPOINT_BACKENDS":    "env, dir",
		"FLYTE_ENTRYPOINT_DIR":         dir,
		"FLYTE_ENTRYPOINT_ALLOW_EMPTY": "maybe", // create secret's; not run's business
		"FLYTE_ENTRYPOINT_REVEAL":      "x",
	}}.exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	v, _ := res.rec.env("K")
	assert.Equal(t, "v", v)

	res = run{args: []string{"--secret", "key=p,env=PATH"}, env: map[string]string{
		"_FSEC_P": "/usr/bin:/bin", "FLYTE_ENTRYPOINT_ALLOW_ENV": " HOME , PATH ",
	}}.exec(t)
	assert.Equal(t, 0, res.code, "a name with spaces around it still matches: %s", res.stderr)

	res = run{args: []string{"--secret", "k"}, env: map[string]string{"FLYTE_ENTRYPOINT_TIMEOUT": "soon"}}.exec(t)
	assert.Equal(t, 2, res.code, "run's own variable that does not parse is a usage error")
	res = run{args: []string{"--secret", "k", "--timeout", "5s"}, env: map[string]string{"FLYTE_ENTRYPOINT_TIMEOUT": "soon"}}.exec(t)
	assert.Equal(t, 69, res.code, "the flag overrides the bad variable: %s", res.stderr)

	res = run{args: []string{"--secret", "k", "--project", "Bad_Project", "--domain", "development"}}.exec(t)
	assert.Equal(t, 2, res.code, res.stderr)
	assert.Contains(t, res.stderr, "Bad_Project")
}

// TestFirstFailingPhaseDecidesTheCode: validation (65), resolution (69),
// value checks (65), publishing (73), exec (126/127), whatever fails later
// too. And a command that cannot start leaves nothing published.
func TestFirstFailingPhaseDecidesTheCode(t *testing.T) {
	dir := tempDir(t)
	writeFile(t, filepath.Join(dir, "ok"), []byte("fine"))
	writeFile(t, filepath.Join(dir, "bin"), []byte{0xff})
	aFile := filepath.Join(dir, "ok") // a --root that cannot hold a directory
	badInterp := filepath.Join(tempDir(t), "task.py")
	writeFile(t, badInterp, []byte("#!/no/such/python3\nprint('hi')\n"))
	require.NoError(t, os.Chmod(badInterp, 0o755))
	file := "key=ok,mount=/etc/flyte/secrets"
	cases := []struct {
		name     string
		r        run
		wantCode int
	}{
		{name: "invalid request beats unknown user", wantCode: 65,
			r: run{args: []string{"--dir", dir, "--user", "no-such-user", "--secret", "bad.name"}}},
		{name: "missing secret beats unknown user and missing command", wantCode: 69,
			r: run{args: []string{"--dir", dir, "--user", "no-such-user", "--secret", "absent"}, command: []string{"no-such-cmd"}}},
		{name: "binary env value beats unwritable mount", wantCode: 65,
			r: run{args: []string{"--dir", dir, "--secret", "bin", "--secret", file}, env: map[string]string{"FLYTE_ENTRYPOINT_ROOT": aFile}}},
		{name: "unwritable mount beats missing command", wantCode: 73,
			r: run{args: []string{"--dir", dir, "--secret", file}, command: []string{"no-such-cmd"}, env: map[string]string{"FLYTE_ENTRYPOINT_ROOT": aFile}}},
		{name: "unwritable mount beats unknown user", wantCode: 73,
			r: run{args: []string{"--dir", dir, "--user", "no-such-user", "--secret", file}, env: map[string]string{"FLYTE_ENTRYPOINT_ROOT": aFile}}},
		{name: "unknown user", wantCode: 126,
			r: run{args: []string{"--dir", dir, "--user", "no-such-user", "--secret", file}}},
		{name: "missing command", wantCode: 127,
			r: run{args: []string{"--dir", dir, "--secret", file}, command: []string{"no-such-cmd"}}},
		{name: "missing interpreter", wantCode: 126,
			r: run{args: []string{"--dir", dir, "--secret", file}, command: []string{badInterp}}},
		{name: "malformed user is a bad flag", wantCode: 2,
			r: run{args: []string{"--dir", dir, "--user", "1:2:3", "--secret", "bad.name"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.r.exec(t)
			assert.Equal(t, tc.wantCode, res.code, res.stderr)
			assertNothingStarted(t, res)
		})
	}
}

// TestHelpOnEveryCommand: -h and --help work on every command and
// subcommand, exit 0, and print the flags' variables.
func TestHelpOnEveryCommand(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"--help"}, {"run", "-h"}, {"dry-run", "--help"}, {"explain", "-h"},
		{"create", "secret", "-h"}, {"get", "secret", "--help"}, {"delete", "secret", "-h"},
	} {
		res := run{args: args, noCmd: true}.exec(t)
		assert.Equal(t, 0, res.code, "%v: %s", args, res.stderr)
		assert.Contains(t, res.stdout, "USAGE", "%v", args)
		assert.Contains(t, res.stdout, "$FLYTE_ENTRYPOINT_", "%v", args)
		assert.NotContains(t, res.stdout, "show help (default", "%v", args)
	}
}
