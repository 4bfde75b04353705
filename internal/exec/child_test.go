package exec

import (
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exit"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Child API, with real processes: the supervise role calls Restart or
// Signal from another goroutine while Wait runs, as the watcher will.

// TestChildRestart: Restart stops the command with SIGTERM and starts it
// again with the new environment; the supervisor then goes on as before,
// forwarding signals to the new command and ending with its code.
func TestChildRestart(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			rec := filepath.Join(t.TempDir(), "rec")
			cmd := []string{testBin, "envrecorder", rec}
			r := startRole(t, runConfig{pid1: m.pid1, args: supervise([]string{"-restart-after", "300ms", "-restart-env", "MARK=2"}, cmd...)})
			eventually(t, 10*time.Second, "the restarted command", func() bool { return count(readLines(rec), "start MARK=2") == 1 })
			assert.Equal(t, []string{"start MARK=", "term", "start MARK=2"}, readLines(rec))
			// The new command may record its start before Restart returns.
			eventually(t, 5*time.Second, "Restart to return", func() bool { return strings.Contains(r.stderr.String(), "restart: ") })
			assert.Contains(t, r.stderr.String(), "restart: <nil>")

			r.signal(syscall.SIGTERM)
			assert.Equal(t, 0, r.wait(10*time.Second), "the new command's code; stderr: %s", r.stderr.String())
			assert.Equal(t, []string{"start MARK=", "term", "start MARK=2", "term"}, readLines(rec))
			assert.Contains(t, r.stderr.String(), "after exit: "+ErrExited.Error())
		})
	}
}

// TestChildRestartKillsAStubbornCommand: a command that ignores SIGTERM is
// SIGKILLed after the grace period, then started again.
func TestChildRestartKillsAStubbornCommand(t *testing.T) {
	t.Parallel()
	rec := filepath.Join(t.TempDir(), "rec")
	cmd := []string{"/usr/bin/env", "IGNORE_TERM=1", testBin, "envrecorder", rec}
	r := startRole(t, runConfig{args: supervise([]string{"-grace", "200ms", "-restart-after", "300ms", "-restart-env", "MARK=2"}, cmd...)})
	eventually(t, 10*time.Second, "the restarted command", func() bool { return count(readLines(rec), "start MARK=2") == 1 })
	assert.Equal(t, []string{"start MARK=", "term", "start MARK=2"}, readLines(rec))
	assert.Contains(t, r.stderr.String(), "the grace period is over; killing the command being restarted")
	r.stdin.Close()
	assert.Equal(t, 0, r.wait(10*time.Second), "stderr: %s", r.stderr.String())
}

// TestChildSignal: Signal reaches the command's process group once.
func TestChildSignal(t *testing.T) {
	t.Parallel()
	rec := filepath.Join(t.TempDir(), "rec")
	r := startRole(t, runConfig{args: supervise([]string{"-signal-after", "300ms", "-signal", "HUP"}, testBin, "envrecorder", rec)})
	eventually(t, 10*time.Second, "the SIGHUP", func() bool { return count(readLines(rec), "hup") == 1 })
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, []string{"start MARK=", "hup"}, readLines(rec))
	r.stdin.Close()
	assert.Equal(t, 0, r.wait(10*time.Second))
	assert.Contains(t, r.stderr.String(), "signal: <nil>")
}

// TestChildRestartFailsToStart: when the command can no longer start, the
// restart says why and the supervisor ends with the shell's code for it.
func TestChildRestartFailsToStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rec := filepath.Join(dir, "rec")
	// A copy of the test binary that the test deletes before the restart.
	bin := filepath.Join(dir, "cmd")
	require.NoError(t, copyFile(testBin, bin, 0o755))
	r := startRole(t, runConfig{args: supervise([]string{"-nolookpath", "-restart-after", "500ms", "-restart-env", "MARK=2"}, bin, "envrecorder", rec)})
	eventually(t, 10*time.Second, "the command to start", func() bool { return count(readLines(rec), "start MARK=") == 1 })
	require.NoError(t, removeFile(bin))
	assert.Equal(t, exit.NotFound, r.wait(10*time.Second), "stderr: %s", r.stderr.String())
	assert.True(t, strings.Contains(r.stderr.String(), "restart: exec "), r.stderr.String())
}

func removeFile(p string) error { return syscall.Unlink(p) }
