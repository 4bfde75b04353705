package entry

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exec"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exit"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
)

// fakeStarter is a Starter whose answers the test sets, and which records
// what the pipeline asked of it and what the mount looked like then.
type fakeStarter struct {
	mount string // the real mount directory, to look at when Start runs

	abortAfter int   // Aborted returns abortErr from this call on (0: never)
	abortErr   error // e.g. 143
	startErr   error
	replaces   bool // exec mode

	calls        []string
	aborted      int
	started      *exec.Command
	dataAtStart  string   // ..data's target when Start ran
	namesAtStart []string // the mount's entries when Start ran
}

func (f *fakeStarter) During(ctx context.Context) (context.Context, func()) {
	f.calls = append(f.calls, "during")
	return ctx, func() { f.calls = append(f.calls, "during-end") }
}

func (f *fakeStarter) Aborted() error {
	f.aborted++
	f.calls = append(f.calls, "aborted?")
	if f.abortAfter > 0 && f.aborted >= f.abortAfter {
		return f.abortErr
	}
	return nil
}

func (f *fakeStarter) Replaces() bool { return f.replaces }

func (f *fakeStarter) Start(cmd exec.Command) (*exec.Child, error) {
	f.calls = append(f.calls, "start")
	f.started = &cmd
	f.dataAtStart, _ = os.Readlink(filepath.Join(f.mount, "..data"))
	entries, _ := os.ReadDir(f.mount)
	for _, e := range entries {
		f.namesAtStart = append(f.namesAtStart, e.Name())
	}
	return nil, f.startErr
}

// runFixture is a source directory with two secrets, a mount with an old
// version published, and a Config that asks for one file and one variable.
type runFixture struct {
	cfg        Config
	mount      string
	oldVersion string
}

func newRunFixture(t *testing.T) runFixture {
	t.Helper()
	tmp := tempDir(t)
	src := filepath.Join(tmp, "src")
	require.NoError(t, os.Mkdir(src, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(src, "token"), []byte("CANARY-run-token"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(src, "cert"), []byte("new-cert"), 0o600))
	root := filepath.Join(tmp, "root")
	cfg := Config{
		Secrets:  []string{"token", "key=cert,mount=/etc/flyte/secrets"},
		Environ:  []string{"PATH=/usr/bin:/bin"},
		Backends: []string{"env", "dir"},
		Options:  map[string]string{"dir": src},
		Root:     root,
		Scope:    resolver.Scope{Org: "flyte"},
		Timeout:  10 * time.Second,
		Command:  []string{"true", "arg"},
	}
	// An old version, as an earlier start would have left it.
	old := cfg
	old.Secrets = []string{"key=token,mount=/etc/flyte/secrets"}
	require.NoError(t, Run(context.Background(), old, &fakeStarter{mount: filepath.Join(root, "etc/flyte/secrets")}))
	mount := filepath.Join(root, "etc/flyte/secrets")
	v, err := os.Readlink(filepath.Join(mount, "..data"))
	require.NoError(t, err)
	return runFixture{cfg: cfg, mount: mount, oldVersion: v}
}

// TestRunOrdersThePhases: the command is started after the new version is
// current, with the secret in its environment, and the old version is
// retired only once the command has started.
func TestRunOrdersThePhases(t *testing.T) {
	fx := newRunFixture(t)
	st := &fakeStarter{mount: fx.mount}
	require.NoError(t, Run(context.Background(), fx.cfg, st))

	require.NotNil(t, st.started)
	assert.Equal(t, []string{"true", "arg"}, st.started.Argv)
	assert.True(t, strings.HasSuffix(st.started.Path, "/true"), st.started.Path)
	assert.Contains(t, st.started.Env, "TOKEN=CANARY-run-token")
	assert.Contains(t, st.started.Env, "FLYTE_SECRETS_DEFAULT_DIR=/etc/flyte/secrets")
	assert.NotEqual(t, fx.oldVersion, st.dataAtStart, "the new version is current when the command starts")
	assert.Contains(t, st.namesAtStart, fx.oldVersion, "the old version is still there when the command starts")
	b, err := os.ReadFile(filepath.Join(fx.mount, "cert"))
	require.NoError(t, err)
	assert.Equal(t, "new-cert", string(b))
	_, err = os.Stat(filepath.Join(fx.mount, fx.oldVersion))
	assert.ErrorIs(t, err, os.ErrNotExist, "retired after the start")
	_, err = os.Lstat(filepath.Join(fx.mount, "token"))
	assert.ErrorIs(t, err, os.ErrNotExist, "a name the new version lacks is gone")

	assert.Equal(t, []string{"during", "during-end", "aborted?", "aborted?", "aborted?", "start"}, st.calls,
		"resolution runs under During; aborts are looked for after it, before the commit and after it")
}

// TestRunAbortAfterTheCommitPoint: an abort seen right after the rename
// puts the old version back, and nothing starts.
func TestRunAbortAfterTheCommitPoint(t *testing.T) {
	fx := newRunFixture(t)
	st := &fakeStarter{mount: fx.mount, abortAfter: 3, abortErr: exit.Errorf(143, "start aborted by SIGTERM")}
	err := Run(context.Background(), fx.cfg, st)
	assert.Equal(t, 143, exit.CodeOf(err))
	assert.Nil(t, st.started)
	assertOldVersion(t, fx)
}

// TestRunFailedStartIsUndone: a start that fails (execve's own refusal)
// puts the old version back, and its error decides the code.
func TestRunFailedStartIsUndone(t *testing.T) {
	fx := newRunFixture(t)
	st := &fakeStarter{mount: fx.mount, startErr: exit.Errorf(exit.NotExecutable, "exec: text file busy")}
	err := Run(context.Background(), fx.cfg, st)
	assert.Equal(t, exit.NotExecutable, exit.CodeOf(err))
	assertOldVersion(t, fx)
}

// TestRunPreStartChecksComeBeforeTheCommit: an unusable user, a command not
// found, an environment too big: each fails before anything is visible,
// with its phase's code.
func TestRunPreStartChecksComeBeforeTheCommit(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*Config)
		wantCode int
		wantErr  string
	}{
		{"unusable user", func(c *Config) {
			c.User, c.UserErr = &exec.Credential{UID: 4242}, exit.Errorf(exit.NotExecutable, `user "x" not found`)
		}, exit.NotExecutable, `user "x" not found`},
		{"command not found", func(c *Config) { c.Command = []string{"no-such-command-xyz"} }, exit.NotFound, "not found"},
		{"value too long for execve", func(c *Config) {
			big := filepath.Join(c.Options["dir"], "big")
			require.NoError(t, os.WriteFile(big, []byte(strings.Repeat("x", exec.MaxArgStrlen)), 0o600))
			c.Secrets = append(c.Secrets, "big")
		}, exit.Invalid, "more than the 131071 that execve takes for one variable"},
		{"invalid spec beats an unusable user", func(c *Config) {
			c.Secrets = append(c.Secrets, "key=x,mount=/tmp")
			c.User, c.UserErr = &exec.Credential{UID: 4242}, exit.Errorf(exit.NotExecutable, "user")
		}, exit.Invalid, "Only /etc/flyte/secrets is supported"},
		{"unresolved beats a missing command", func(c *Config) {
			c.Secrets = append(c.Secrets, "absent")
			c.Command = []string{"no-such-command-xyz"}
		}, exit.Unresolved, `key "absent"): not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newRunFixture(t)
			tt.edit(&fx.cfg)
			st := &fakeStarter{mount: fx.mount}
			err := Run(context.Background(), fx.cfg, st)
			assert.Equal(t, tt.wantCode, exit.CodeOf(err), "%v", err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), "CANARY")
			assert.Nil(t, st.started)
			assertOldVersion(t, fx)
		})
	}
}

// TestRunAbortWinsOverAFailedPhase: a signal that came during a phase that
// then failed gives 128+N, not the phase's code.
func TestRunAbortWinsOverAFailedPhase(t *testing.T) {
	fx := newRunFixture(t)
	fx.cfg.Secrets = append(fx.cfg.Secrets, "absent")
	st := &fakeStarter{mount: fx.mount, abortAfter: 1, abortErr: exit.Errorf(130, "start aborted by SIGINT")}
	err := Run(context.Background(), fx.cfg, st)
	assert.Equal(t, 130, exit.CodeOf(err))
	assertOldVersion(t, fx)
	assert.False(t, errors.Is(err, context.Canceled))
}

func assertOldVersion(t *testing.T, fx runFixture) {
	t.Helper()
	v, err := os.Readlink(filepath.Join(fx.mount, "..data"))
	require.NoError(t, err)
	assert.Equal(t, fx.oldVersion, v, "the old version is current")
	b, err := os.ReadFile(filepath.Join(fx.mount, "token"))
	require.NoError(t, err, "and whole")
	assert.Equal(t, "CANARY-run-token", string(b))
	_, err = os.Lstat(filepath.Join(fx.mount, "cert"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no name of the new version is left")
	entries, err := os.ReadDir(fx.mount)
	require.NoError(t, err)
	versions := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..2") {
			versions++
		}
	}
	assert.Equal(t, 1, versions, "no new version directory is left")
}

// TestRunExecModeTidiesBeforeExec: in exec mode nothing runs after execve,
// so the names the new version lacks are gone when the command starts, and
// the old version directory is left for the next publish; a start that
// fails still puts the previous version back whole, names included.
func TestRunExecModeTidiesBeforeExec(t *testing.T) {
	fx := newRunFixture(t)
	st := &fakeStarter{mount: fx.mount, replaces: true}
	require.NoError(t, Run(context.Background(), fx.cfg, st))
	assert.NotContains(t, st.namesAtStart, "token", "the stale name is gone before execve")
	assert.Contains(t, st.namesAtStart, fx.oldVersion, "the old version is left, hidden")

	fx = newRunFixture(t)
	st = &fakeStarter{mount: fx.mount, replaces: true, startErr: exit.Errorf(exit.NotExecutable, "exec: exec format error")}
	err := Run(context.Background(), fx.cfg, st)
	assert.Equal(t, exit.NotExecutable, exit.CodeOf(err))
	assertOldVersion(t, fx)
}
