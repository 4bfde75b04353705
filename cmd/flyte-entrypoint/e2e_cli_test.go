package main_test

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The command line's own ways in and out: the version, help, and the way
// out of a mistake.

func TestVersion(t *testing.T) {
	// The suite's build has no -X version: the version is the module's, as
	// Go stamped it from the checkout (a pseudo-version; vX for go install
	// ...@vX), which `go version -m` reads back.
	out, err := exec.Command("go", "version", "-m", shimBin).Output()
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^\s+mod\s+\S+\s+(\S+)`).FindSubmatch(out)
	require.NotNil(t, m, "go version -m: %s", out)
	want := string(m[1])
	if want == "(devel)" {
		want = "dev"
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		res := run{noCmd: true, args: args}.exec(t)
		require.Equal(t, 0, res.code, res.stderr)
		assert.Equal(t, "flyte-entrypoint version "+want+"\n", res.stdout, args)
	}

	// The linker's version wins: make build and the Dockerfile set it.
	bin := filepath.Join(t.TempDir(), "flyte-entrypoint")
	build := exec.Command("go", "build", "-trimpath", "-tags", "urfave_cli_no_docs",
		"-ldflags", "-X github.com/flyte-entrypoint/flyte-entrypoint/internal/version.Version=v9.8.7-test", "-o", bin, "./cmd/flyte-entrypoint")
	build.Dir = repo
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := build.CombinedOutput()
	require.NoError(t, err, "%s", b)
	got, err := exec.Command(bin, "version").Output()
	require.NoError(t, err)
	assert.Equal(t, "flyte-entrypoint version v9.8.7-test\n", string(got))

	res := run{noCmd: true, args: []string{"version", "extra"}}.exec(t)
	assert.Equal(t, 2, res.code)
	// -v is no alias: a task command written without "--" that passes -v
	// must not print the shim's version and exit 0.
	res = run{noCmd: true, args: []string{"--secret", "k", "./task.sh", "-v"}}.exec(t)
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, `put the command after "--": flyte-entrypoint [flags] -- ./task.sh ...`)
	// Nor --version: it is the shim's only when it is the only argument.
	res = run{noCmd: true, args: []string{"--secret", "k", "python", "--version"}}.exec(t)
	assert.Equal(t, 2, res.code)
	assert.Empty(t, res.stdout)
	assert.Contains(t, res.stderr, `unexpected argument "python": put the command after "--"`)
}

func TestHelpCommand(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"help", "explain"}, {"help", "create"}, {"create", "help"}, {"create", "secret", "--help"}} {
		res := run{noCmd: true, args: args}.exec(t)
		assert.Equal(t, 0, res.code, "%v: %s", args, res.stderr)
		assert.Contains(t, res.stdout, "USAGE:", args)
	}
	res := run{noCmd: true, args: []string{"help"}}.exec(t)
	assert.Contains(t, res.stdout, "help, h", "help is listed as a command, as create --help advertises it")
	// help X [Y] is X [Y] --help: the subcommands and their flags show.
	res = run{noCmd: true, args: []string{"help", "create"}}.exec(t)
	assert.Contains(t, res.stdout, "secret   create a secret")
	res = run{noCmd: true, args: []string{"help", "create", "secret"}}.exec(t)
	assert.Equal(t, run{noCmd: true, args: []string{"create", "secret", "--help"}}.exec(t).stdout, res.stdout)
	assert.Contains(t, res.stdout, "--from-file value")
	res = run{noCmd: true, args: []string{"help", "explain"}}.exec(t)
	assert.Contains(t, res.stdout, "--group value")
}

// helpFlags is the set of long flags a command's help lists.
func helpFlags(t *testing.T, args ...string) map[string]bool {
	t.Helper()
	res := run{noCmd: true, args: append(args, "--help")}.exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	got := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+--([a-z0-9-]+)`).FindAllStringSubmatch(res.stdout, -1) {
		got[m[1]] = true
	}
	return got
}

func TestEachCommandListsOnlyItsFlags(t *testing.T) {
	startOnly := []string{"supervise", "grace", "user", "watch", "refresh", "reload-signal", "restart-on-env-change"}
	runs := helpFlags(t, "run")
	for _, f := range append(startOnly, "secret", "spec", "project", "domain", "backends") {
		assert.True(t, runs[f], "run --help lists --%s", f)
	}
	for _, cmd := range []string{"dry-run", "explain", "policy"} {
		flags := helpFlags(t, cmd)
		for _, f := range startOnly {
			assert.False(t, flags[f], "%s --help must not list --%s", cmd, f)
		}
		assert.True(t, flags["project"], "%s takes a scope", cmd)
	}
	explain := helpFlags(t, "explain")
	assert.True(t, explain["group"])
	for _, f := range []string{"secret", "spec", "pass-env", "allow-env", "output"} {
		assert.False(t, explain[f], "explain --help must not list --%s", f)
	}
	assert.True(t, helpFlags(t, "dry-run")["output"])
	// dry-run resolves as run would: it takes a run's whole command line,
	// the start's own flags included, without listing them.
	dry := run{noCmd: true, args: []string{"dry-run", "--user", "65534:65534", "--supervise", "--grace", "5s", "--watch", "--backends", "env", "--secret", "k"},
		env: map[string]string{"_FSEC_K": "v"}}.exec(t)
	assert.Equal(t, 0, dry.code, dry.stderr)
	policy := helpFlags(t, "policy")
	for _, f := range []string{"backend", "service-account", "region", "account", "k8s-namespace", "secret", "spec"} {
		assert.True(t, policy[f], "policy --help lists --%s", f)
	}
	for _, f := range []string{"backends", "timeout", "dir", "store", "root"} {
		assert.False(t, policy[f], "policy reads no backend: --%s", f)
	}
}

func TestShortScopeAndOutputFlags(t *testing.T) {
	s := newSecretsCLI(t)
	s.ok(t, "", "create", "secret", "api-token", "--value", "project-value", "-p", "flytesnacks", "-d", "development")
	env := map[string]string{"FLYTE_ENTRYPOINT_STORE": s.store}

	dry := run{noCmd: true, env: env, args: []string{"dry-run", "-o", "json", "-p", "flytesnacks", "-d", "development", "--backends", "local", "--secret", "api-token"}}.exec(t)
	require.Equal(t, 0, dry.code, dry.stderr)
	assert.Contains(t, dry.stdout, `"status": "ok"`)
	assert.NotContains(t, dry.stdout, "project-value")

	ex := run{noCmd: true, env: env, args: []string{"explain", "api-token", "-p", "flytesnacks", "-d", "development", "--backends", "local"}}.exec(t)
	require.Equal(t, 0, ex.code, ex.stdout+ex.stderr)

	ex = run{noCmd: true, env: env, args: []string{"explain", "api-token", "--backends", "local"}}.exec(t)
	assert.Equal(t, 69, ex.code, "without -p/-d the org scope has no such secret")

	pol := run{noCmd: true, args: []string{"policy", "--backend", "aws", "-p", "flytesnacks", "-d", "development", "--secret", "api-token"}}.exec(t)
	require.Equal(t, 0, pol.code, pol.stderr)
	assert.Contains(t, pol.stdout, "u__org__flyte__domain__development__project__flytesnacks__key__api-token")
}

func TestMistakesGetAWayOut(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "secrets", "x"}, `create: unknown resource "secrets": the one resource is secret`},
		{[]string{"creat", "secret", "x"}, `unknown command "creat": did you mean create?`},
		{[]string{"dryrun", "--secret", "k"}, `unknown command "dryrun": did you mean dry-run?`},
		{[]string{"create", "secret", "x", "--vaule", "v"}, `flag provided but not defined: -vaule; did you mean --value?`},
		{[]string{"--bakends", "env"}, `flag provided but not defined: -bakends; did you mean --backends?`},
		{[]string{"explain", "k", "--gruop", "g"}, `did you mean --group?`},
		{[]string{"--secret", "k", "python", "-m", "task"}, `unexpected argument "python": put the command after "--": flyte-entrypoint [flags] -- python ...`},
		{[]string{"--secret", "k", "python", "task.py", "--token=CANARY-argv"}, `unexpected argument "python": put the command after "--": flyte-entrypoint [flags] -- python ...`},
		{[]string{"dry-run", "--secret", "k", "python", "-m", "task"}, `put the command after "--": flyte-entrypoint dry-run [flags] -- python ...`},
		// A command on PATH is no typo of a subcommand: git is not get.
		{[]string{"--secret", "k", "git", "clone", "x"}, `unexpected argument "git": put the command after "--": flyte-entrypoint [flags] -- git ...`},
		{[]string{"--secret", "python", "python", "x"}, `unexpected argument "python": put the command after "--"`},
		// A bool flag's value apart from it, with the command after "--".
		{[]string{"--supervise", "false", "--secret", "k", "--", "/bin/true"}, `unexpected argument "false" before "--": a bool flag takes its value after "=" (--supervise=false)`},
		{[]string{"policy", "extra"}, `unexpected argument "extra": policy takes only flags`},
	} {
		res := run{noCmd: true, args: tc.args}.exec(t)
		assert.Equal(t, 2, res.code, "%v: %s", tc.args, res.stderr)
		assert.Contains(t, res.stderr, tc.want, tc.args)
		assert.NotContains(t, res.stderr, "did you mean get", tc.args)
		assert.NotContains(t, res.stderr, "CANARY-argv", "the task's own words are not echoed")
		assert.Equal(t, 1, strings.Count("\n"+res.stderr, "\nflyte-entrypoint: "), "one message: %q", res.stderr)
	}
	// A far-off flag gets no guess.
	res := run{noCmd: true, args: []string{"--zzzzzz"}}.exec(t)
	assert.Equal(t, 2, res.code)
	assert.NotContains(t, res.stderr, "did you mean")
}

// logLines are the JSON log lines of stderr, decoded; other lines are
// skipped.
func logLines(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

func TestFatalErrorIsAJSONLogLine(t *testing.T) {
	const canary = "CANARY-fatal-5b1e"
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bin-key"), []byte("\xff\xfe"+canary))
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		code int
		keys []any
	}{
		{"unresolved", []string{"--backends", "env", "--secret", "missing-one", "--secret", "key=present", "--secret", "missing-two"}, map[string]string{"_FSEC_PRESENT": canary}, 69, []any{"missing-one", "missing-two"}},
		{"invalid request", []string{"--secret", "key=k,env=bad_name", "--secret", "fine"}, nil, 65, []any{"k"}},
		{"value can't be set", []string{"--dir", dir, "--backends", "dir", "--secret", "bin-key"}, nil, 65, []any{"bin-key"}},
		{"usage", []string{"--timeout", "-1s", "--secret", "k"}, nil, 2, []any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run{args: tc.args, env: tc.env}.exec(t)
			require.Equal(t, tc.code, res.code, res.stderr)
			assert.NotContains(t, res.stderr, canary)
			lines := logLines(t, res.stderr)
			require.NotEmpty(t, lines, res.stderr)
			last := lines[len(lines)-1]
			fatal := 0
			for _, l := range lines {
				if l["msg"] == "fatal" {
					fatal++
				}
			}
			assert.Equal(t, 1, fatal, "one fatal line: %s", res.stderr)
			assert.Equal(t, 1, strings.Count("\n"+res.stderr, "\nflyte-entrypoint: "), "one plain message")
			assert.Equal(t, "error", last["level"])
			assert.Equal(t, "fatal", last["msg"])
			assert.Equal(t, float64(tc.code), last["exit_code"])
			assert.Equal(t, tc.keys, last["secrets"])
			assert.Contains(t, res.stderr, "flyte-entrypoint: ", "the plain message stays")
			assert.Nil(t, res.rec)
		})
	}
	// Console logs (what a terminal gets) carry no JSON line.
	res := run{args: []string{"--log-format", "console", "--backends", "env", "--secret", "missing"}}.exec(t)
	assert.Equal(t, 69, res.code)
	assert.Empty(t, logLines(t, res.stderr), res.stderr)
}

func TestEverySuccessfulStartLogsOneLine(t *testing.T) {
	const canary = "CANARY-start-77d0"
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "db-pass"), []byte(canary))
	res := run{
		args: []string{"--dir", dir, "--secret", "api-key", "--secret", "key=db-pass,mount=/etc/flyte/secrets", "--secret", "key=db-pass,env=DB_PASS"},
		env:  map[string]string{"_FSEC_API-KEY": canary},
	}.exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	require.NotNil(t, res.rec)
	assert.NotContains(t, res.stderr, canary)
	var starts []map[string]any
	infos := 0
	for _, l := range logLines(t, res.stderr) {
		if l["msg"] == "starting the command" {
			starts = append(starts, l)
		}
		if l["level"] == "info" {
			infos++
		}
	}
	require.Len(t, starts, 1, res.stderr)
	assert.Equal(t, 1, infos, "the start line is the start's one info line, its file published included: %s", res.stderr)
	s := starts[0]
	var keys []string
	for k := range s {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"level", "ts", "msg", "secrets", "env", "files", "backends", "ms", "command"}, keys)
	line := ""
	for _, l := range strings.Split(res.stderr, "\n") {
		if strings.Contains(l, `"starting the command"`) {
			line = l
		}
	}
	assert.NotContains(t, line, res.root, "no path from the flags or the environment")
	assert.NotContains(t, line, filepath.Dir(fakeBin), "the command's name, not its path")
	assert.Equal(t, "info", s["level"])
	assert.Equal(t, float64(3), s["secrets"])
	assert.Equal(t, float64(2), s["env"])
	assert.Equal(t, float64(1), s["files"])
	assert.Equal(t, []any{"env", "dir"}, s["backends"], "the backends that answered, each once, in the order of the requests")
	assert.Equal(t, "fakecmd", s["command"], "the command's name, not its path")
	ms, ok := s["ms"].(float64)
	require.True(t, ok)
	assert.Greater(t, ms, 0.0)

	// At --log-level warn, a start is silent.
	res = run{args: []string{"--log-level", "warn", "--secret", "api-key"}, env: map[string]string{"_FSEC_API-KEY": canary}}.exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Empty(t, res.stderr)
}

func TestUnknownSettingVariablesAreNamed(t *testing.T) {
	res := run{
		args: []string{"--log-format", "json", "--backends", "env"},
		env: map[string]string{"FLYTE_ENTRYPOINT_SECRET": "api-key", "FLYTE_ENTRYPOINT_BAKENDS": "env", "FLYTE_ENTRYPOINT_ZZZQQ": "1",
			"FLYTE_ENTRYPOINT_VALUE": "CANARY-envvalue", "_FSEC_API-KEY": "CANARY-envsecret"},
	}.exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	var warns []string
	for _, l := range logLines(t, res.stderr) {
		if l["level"] == "warn" {
			warns = append(warns, l["msg"].(string))
		}
	}
	assert.Equal(t, []string{
		"FLYTE_ENTRYPOINT_BAKENDS is not a flyte-entrypoint setting, and is ignored; did you mean FLYTE_ENTRYPOINT_BACKENDS?",
		"FLYTE_ENTRYPOINT_SECRET is not read: requests come from --secret, --spec (FLYTE_ENTRYPOINT_SPEC) and FLYTE_SECRETS",
		"FLYTE_ENTRYPOINT_VALUE is not read: a value never comes from the environment; give --value, --from-file or stdin",
		"FLYTE_ENTRYPOINT_ZZZQQ is not a flyte-entrypoint setting, and is ignored",
	}, warns)
	require.NotNil(t, res.rec)
	_, set := res.rec.env("API_KEY")
	assert.False(t, set, "the variable is not taken as a request: _FSEC_API-KEY would have answered it")
	assert.NotContains(t, res.stderr, "CANARY-env")
}

func TestGetSecretMissSaysWhereItExists(t *testing.T) {
	s := newSecretsCLI(t)
	s.ok(t, "", "create", "secret", "db-pass", "--value", "CANARY-where-1", "-p", "flytesnacks", "-d", "development")
	s.ok(t, "", "create", "secret", "db-pass", "--value", "CANARY-where-2", "-d", "production")
	for _, args := range [][]string{{"get", "secret", "db-pass"}, {"delete", "secret", "db-pass"}} {
		res := s.run(t, "", args...)
		assert.Equal(t, 1, res.code, res.stderr)
		assert.Contains(t, res.stderr, `secret "db-pass" not found in scope flyte; a secret of that name exists in scope flyte/flytesnacks/development (-p flytesnacks -d development), flyte/-/production (-d production)`, args)
		assert.NotContains(t, res.stderr, "CANARY-where")
	}
	res := s.run(t, "", "get", "secret", "other")
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, `secret "other" not found in scope flyte`)
	assert.NotContains(t, res.stderr, "exists in scope")
	// The hint's flags work.
	assert.Equal(t, "CANARY-where-2", s.reveal(t, "db-pass", "-d", "production"))
}

func TestExplainNamesTheStore(t *testing.T) {
	s := newSecretsCLI(t)
	s.ok(t, "", "create", "secret", "tok", "--value", "v")
	res := run{noCmd: true, args: []string{"explain", "tok", "--backends", "local"}, env: map[string]string{"FLYTE_ENTRYPOINT_STORE": s.store}}.exec(t)
	require.Equal(t, 0, res.code, res.stdout+res.stderr)
	assert.Contains(t, res.stdout, "local store: "+s.store+" (FLYTE_ENTRYPOINT_STORE)\n")
	res = run{noCmd: true, args: []string{"explain", "tok", "--backends", "local", "--store", s.store}}.exec(t)
	assert.Contains(t, res.stdout, "local store: "+s.store+" (--store)\n")
	// Without it, the default store, which has no such secret: explain says
	// which store it read.
	res = run{noCmd: true, args: []string{"explain", "tok", "--backends", "local"}}.exec(t)
	assert.Equal(t, 69, res.code)
	assert.Regexp(t, `local store: \S+/xdg/flyte-entrypoint \(the default; --store or FLYTE_ENTRYPOINT_STORE sets another\)\n`, res.stdout)
	res = run{noCmd: true, args: []string{"explain", "tok", "--backends", "env"}}.exec(t)
	assert.NotContains(t, res.stdout, "local store")
}

// TestDryRunMarksValuesAnEnvVarCantHold: dry-run's exit is 65 for a value
// that can't go into its variable, and its status says error, not ok.
func TestDryRunMarksValuesAnEnvVarCantHold(t *testing.T) {
	const canary = "CANARY-dry-3c9a"
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "not-utf8"), []byte("\xff"+canary))
	writeFile(t, filepath.Join(dir, "fine"), []byte(canary))
	args := []string{"--dir", dir, "--backends", "dir", "--secret", "not-utf8", "--secret", "fine", "--secret", "key=not-utf8,mount=/etc/flyte/secrets,env=AS_FILE_TOO"}
	res := run{noCmd: true, args: append([]string{"dry-run", "-o", "json"}, args...)}.exec(t)
	assert.Equal(t, 65, res.code, res.stderr)
	assert.NotContains(t, res.stdout+res.stderr, canary)
	var rep struct {
		Secrets []struct {
			Key, Target, Status string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &rep), res.stdout)
	require.Len(t, rep.Secrets, 3)
	assert.Equal(t, "error", rep.Secrets[0].Status, "not UTF-8: no variable can hold it")
	assert.Equal(t, "ok", rep.Secrets[1].Status)
	assert.Equal(t, "error", rep.Secrets[2].Status, "a file that is also a variable is refused for the variable")

	table := run{noCmd: true, args: append([]string{"dry-run"}, args...)}.exec(t)
	assert.Equal(t, 65, table.code)
	assert.Regexp(t, `(?m)^not-utf8\s+-\s+env:NOT_UTF8\s+dir\s+-\s+error\s`, table.stdout)
}

// TestSecretFlagIsTakenAsGiven: whitespace in a --secret value reaches the
// name rule, on a start and on dry-run alike.
func TestSecretFlagIsTakenAsGiven(t *testing.T) {
	for _, args := range [][]string{
		{"--secret", "key=k,env=GOOD\n"},
		{"run", "--secret", "key=k,env=GOOD\n"},
		// A flag before the command name: urfave's parse, not the start's.
		{"--log-level", "info", "run", "--secret", "key=k,env=GOOD\n"},
	} {
		res := run{args: args, env: map[string]string{"_FSEC_K": "v"}}.exec(t)
		assert.Equal(t, 65, res.code, "%q: %s", args, res.stderr)
		assert.Contains(t, res.stderr, `Invalid environment variable name: "GOOD\n"`)
		assert.Nil(t, res.rec)
	}
	res := run{noCmd: true, args: []string{"dry-run", "--secret", " k "}, env: map[string]string{"_FSEC_K": "v"}}.exec(t)
	assert.Equal(t, 65, res.code, "a key with spaces is not the key k: %s", res.stderr)
}

// TestFlyteTextsComeFirstThenTheWayOut: the rule's own text, as Flyte
// words it, then what to write instead.
func TestFlyteTextsComeFirstThenTheWayOut(t *testing.T) {
	for _, tc := range []struct {
		secret, want string
	}{
		{"key=k,mount=/tmp/secrets", `--secret #1 (key "k"): Only /etc/flyte/secrets is supported as secret mount path today. Got "/tmp/secrets": the one accepted path is /etc/flyte/secrets (the files go under it; --root moves it for a test)`},
		{"key=k,env=openai_key", `--secret #1 (key "k"): Invalid environment variable name: openai_key, must match ^[A-Z_][A-Z0-9_]*$; did you mean OPENAI_KEY?`},
		{"my.secret", `--secret #1 (key "my.secret"): Invalid environment variable name: MY.SECRET, must match ^[A-Z_][A-Z0-9_]*$; did you mean MY_SECRET?`},
	} {
		res := run{args: []string{"--secret", tc.secret}}.exec(t)
		assert.Equal(t, 65, res.code, res.stderr)
		assert.Contains(t, res.stderr, "flyte-entrypoint: "+tc.want+"\n")
		assertNothingStarted(t, res)
	}
}

// runAsNonRoot runs the shim as this user when it isn't root, and as
// nobody (65534) when it is, with the given environment only.
func runAsNonRoot(t *testing.T, env []string, args ...string) (code int, stderr string) {
	t.Helper()
	cmd := exec.Command(shimBin, args...)
	cmd.Env = env
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var errb strings.Builder
	cmd.Stderr = &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), errb.String()
	}
	require.NoError(t, err, errb.String())
	return 0, errb.String()
}

// TestNonRootMountSaysWhatToDo: without --root, a user that can't write
// /etc/flyte/secrets is told the three set-ups that work.
func TestNonRootMountSaysWhatToDo(t *testing.T) {
	if fi, err := os.Stat("/etc/flyte/secrets"); err == nil && fi.Mode().Perm()&0o002 != 0 {
		t.Skip("/etc/flyte/secrets is writable by everyone on this machine: nothing to refuse")
	}
	code, stderr := runAsNonRoot(t, []string{"PATH=/usr/bin:/bin", "_UNION_MY=CANARY-nonroot-8e1f"},
		"--backends", "env", "--secret", "key=my,mount=/etc/flyte/secrets", "--", "/bin/true")
	assert.Equal(t, 73, code, stderr)
	assert.Contains(t, stderr, "the shim can't write /etc/flyte/secrets: mount a writable memory-backed emptyDir there (emptyDir: {medium: Memory}), or run the shim as root with --user for the command, or give --root DIR to publish under DIR instead (for a test)")
	assert.NotContains(t, stderr, "CANARY-nonroot")
}

// openMount makes a --root whose mount directory is mode 0777 and owned by
// uid, as the kubelet makes an emptyDir (uid 0), with every directory above
// it open to nobody.
func openMount(t *testing.T, uid int) (root, mount string) {
	t.Helper()
	root = filepath.Join(t.TempDir(), "root")
	mount = filepath.Join(root, "etc/flyte/secrets")
	require.NoError(t, os.MkdirAll(mount, 0o755))
	require.NoError(t, os.Chmod(mount, 0o777))
	require.NoError(t, os.Chown(mount, uid, uid))
	for p := root; p != filepath.Clean(os.TempDir()) && p != "/"; p = filepath.Dir(p) {
		require.NoError(t, os.Chmod(p, 0o755))
	}
	return root, mount
}

// TestNonRootPublishesIntoAPodsEmptyDir: the kubelet makes an emptyDir
// root's and 0777; a shim that runs as the task's user publishes into it as
// it is, with a warning, since only root may change its mode.
func TestNonRootPublishesIntoAPodsEmptyDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: makes a root-owned 0777 directory, as the kubelet does, for a shim that runs as nobody")
	}
	root, mount := openMount(t, 0)
	out := filepath.Join(mount, "..out")
	code, stderr := runAsNonRoot(t, []string{"PATH=/usr/bin:/bin", "_UNION_MY=CANARY-emptydir-1"},
		"--root", root, "--backends", "env", "--secret", "key=my,mount=/etc/flyte/secrets", "--",
		"/bin/sh", "-c", `cat "$0/my" > "$1"`, mount, out)
	require.Equal(t, 0, code, stderr)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "CANARY-emptydir-1", string(got))
	assert.Contains(t, stderr, "the secrets directory is root's and open to every user (a pod's emptyDir); publishing into it as it is: any user in the pod could replace its files")
	assert.NotContains(t, stderr, "CANARY-emptydir")
	fi, err := os.Stat(mount)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o777), fi.Mode().Perm(), "its mode is the kubelet's")
	fi, err = os.Stat(filepath.Join(mount, "my"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o400), fi.Mode().Perm())
	assert.Equal(t, uint32(65534), fi.Sys().(*syscall.Stat_t).Uid)
}

// TestNonRootRefusesAnotherUsersOpenMount: a 0777 mount directory of a user
// other than root is not trusted: its owner could swap ..data at will.
func TestNonRootRefusesAnotherUsersOpenMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: makes a directory of uid 1000's for a shim that runs as nobody")
	}
	root, mount := openMount(t, 1000)
	code, stderr := runAsNonRoot(t, []string{"PATH=/usr/bin:/bin", "_UNION_MY=CANARY-foreign-1"},
		"--root", root, "--backends", "env", "--secret", "key=my,mount=/etc/flyte/secrets", "--", "/bin/true")
	assert.Equal(t, 73, code, stderr)
	assert.Contains(t, stderr, `make the secrets directory 0755 "`+mount+`": operation not permitted`)
	assert.NotContains(t, stderr, "CANARY-foreign")
	entries, err := os.ReadDir(mount)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing is published there")
}

// TestSecretCommandsNeverEchoWhatWasTypedInAValuesPlace: a value typed as a
// second argument, or piped where the registry is read, is not quoted back.
func TestSecretCommandsNeverEchoWhatWasTypedInAValuesPlace(t *testing.T) {
	const canary = "CANARY-echo-9d2b"
	s := newSecretsCLI(t)
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"", []string{"create", "secret", "name", canary}, 2, "too many arguments (2, want one NAME)"},
		{"", []string{"delete", "secret", "name", canary}, 2, "too many arguments (2, want one NAME)"},
		{"", []string{"get", "secret", "name", canary}, 2, "too many arguments (2, want at most one NAME)"},
		{canary, []string{"create", "secret", "pull", "--type", "image_pull"}, 65, "empty user name for registry (line 1 of stdin)"},
		{canary + "\nuser:x\npw", []string{"create", "secret", "pull", "--type", "image_pull"}, 65, "user name for registry (line 1 of stdin) holds a colon"},
		{canary + "\nrobot\n", []string{"create", "secret", "pull", "--type", "image_pull", "--password", ""}, 65, "empty password for registry (line 1 of stdin)"},
		{`{"auths":{"r":{"auth":"` + canary + `"}}}`, []string{"create", "secret", "pull", "--type", "image_pull"}, 65, "stdin starts with JSON"},
	} {
		res := s.run(t, tc.stdin, tc.args...)
		assert.Equal(t, tc.code, res.code, "%v: %s", tc.args, res.stderr)
		assert.Contains(t, res.stderr, tc.want, tc.args)
		assert.NotContains(t, res.stdout+res.stderr, canary, tc.args)
	}
	// A registry given as a flag is the user's own, and is named.
	res := s.run(t, "", "create", "secret", "pull", "--type", "image_pull", "--registry", "ghcr.io", "--username", "a:b", "--password", "p")
	assert.Contains(t, res.stderr, `user name for registry "ghcr.io" holds a colon`)
}

// TestGoInstallReportsTheModuleVersion: `go install ...@vX` of this module
// reports vX. The module is served at v0.99.0 from a file-system module
// proxy made of the checkout's tracked files, its dependencies from the
// module cache's own download directory; nothing comes from the network.
func TestGoInstallReportsTheModuleVersion(t *testing.T) {
	const mod, ver = "github.com/flyte-entrypoint/flyte-entrypoint", "v0.99.0"
	ls := exec.Command("git", "ls-files", "-z")
	ls.Dir = repo
	files, err := ls.Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): the module's files can't be listed", err)
	}
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	require.NoError(t, err)
	tmp := t.TempDir()
	at := filepath.Join(tmp, "proxy", mod, "@v")
	require.NoError(t, os.MkdirAll(at, 0o755))
	zf, err := os.Create(filepath.Join(at, ver+".zip"))
	require.NoError(t, err)
	zw := zip.NewWriter(zf)
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(repo, f))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the working tree
		}
		require.NoError(t, err)
		w, err := zw.Create(mod + "@" + ver + "/" + f)
		require.NoError(t, err)
		_, err = w.Write(b)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.NoError(t, zf.Close())
	gomod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(at, ver+".mod"), gomod, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(at, ver+".info"), []byte(`{"Version":"`+ver+`","Time":"2026-12-01T00:00:00Z"}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(at, "list"), []byte(ver+"\n"), 0o644))

	install := exec.Command("go", "install", "-tags", "urfave_cli_no_docs", mod+"/cmd/flyte-entrypoint@"+ver)
	install.Dir = tmp
	install.Env = append(os.Environ(),
		"GOPROXY=file://"+filepath.Join(tmp, "proxy")+",file://"+filepath.Join(strings.TrimSpace(string(modcache)), "cache", "download"),
		"GOMODCACHE="+filepath.Join(tmp, "modcache"), "GOFLAGS=-modcacherw", "GOSUMDB=off",
		"GOBIN="+filepath.Join(tmp, "bin"), "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	out, err := install.CombinedOutput()
	require.NoError(t, err, "%s", out)
	got, err := exec.Command(filepath.Join(tmp, "bin", "flyte-entrypoint"), "--version").Output()
	require.NoError(t, err)
	assert.Equal(t, "flyte-entrypoint version "+ver+"\n", string(got))
}
