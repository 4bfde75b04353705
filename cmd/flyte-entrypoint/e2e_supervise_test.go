package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openDir makes a temporary directory that an unprivileged user can enter,
// for runs that drop to 65534.
func openDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "e2e-open-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(d, 0o777))
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// TestPID1SupervisesAndDropsToTheUser runs the real binary as PID 1 of a new
// PID namespace, as in a container: it supervises by default, the command
// runs as --user with no supplementary groups, the mounted files belong to
// that user, and the command's exit code comes back through the shim.
func TestPID1SupervisesAndDropsToTheUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a PID namespace, and --user to switch to another user")
	}
	unshare, err := exec.LookPath("unshare")
	require.NoError(t, err, "unshare (util-linux) is needed")
	require.NoError(t, os.Chmod(shimBinDir(), 0o755))

	work := openDir(t)
	src := filepath.Join(work, "src")
	writeFile(t, filepath.Join(src, "api-key"), []byte("sk-1"))
	writeFile(t, filepath.Join(src, "db", "password"), []byte("pw"))
	root := filepath.Join(work, "root")
	out := filepath.Join(work, "record.json")

	for _, tc := range []struct {
		name     string
		pid1     bool // run as PID 1 of a new PID namespace
		wantCode int
		wantPPID int // the command's parent: the supervisor (1) in supervise mode
	}{
		{name: "PID 1 supervises by default", pid1: true, wantCode: 7, wantPPID: 1},
		{name: "exec mode keeps the PID", wantCode: 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_ = os.Remove(out)
			shimArgs := []string{"--dir", src, "--root", root, "--user", "65534:65534",
				"--secret", "api-key", "--secret", "key=password,group=db,mount=/etc/flyte/secrets",
				"--", fakeBin, "go"}
			var cmd *exec.Cmd
			if tc.pid1 {
				cmd = exec.Command(unshare, append([]string{"--pid", "--fork", "--kill-child", "--mount-proc", shimBin}, shimArgs...)...)
			} else {
				cmd = exec.Command(shimBin, shimArgs...)
			}
			cmd.Env = []string{"PATH=/usr/bin:/bin", "FAKECMD_OUT=" + out, "FAKECMD_ROOT=" + root, "FAKECMD_EXIT=7"}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee), "want exit %d, got %v: %s", tc.wantCode, err, stderr.String())
			assert.Equal(t, tc.wantCode, ee.ExitCode(), stderr.String())

			b, err := os.ReadFile(out)
			require.NoError(t, err, stderr.String())
			var rec record
			require.NoError(t, json.Unmarshal(b, &rec))
			assert.Equal(t, 65534, rec.UID)
			assert.Equal(t, 65534, rec.GID)
			assert.Empty(t, rec.Groups, "a numeric --user has no supplementary groups")
			if tc.wantPPID != 0 {
				assert.NotEqual(t, 1, rec.PID, "the command is the supervisor's child")
				assert.Equal(t, tc.wantPPID, rec.PPID)
			} else {
				assert.Equal(t, cmd.Process.Pid, rec.PID, "exec mode keeps the shim's PID")
			}
			v, _ := rec.env("API_KEY")
			assert.Equal(t, "sk-1", v)
			assert.Equal(t, []byte("pw"), rec.Files["db/password"], "the user can read its files: %v", rec.Errors)

			for _, p := range []string{"db/password", "db"} {
				info, err := os.Stat(filepath.Join(root, "etc/flyte/secrets", p))
				require.NoError(t, err)
				st := info.Sys().(*syscall.Stat_t)
				assert.Equal(t, uint32(65534), st.Uid, p)
				assert.Equal(t, uint32(65534), st.Gid, p)
			}
		})
	}
}

// TestSupervisorEnvironIsNotReadable: a command that runs as the same user
// as the supervising shim cannot read the shim's environment through /proc.
// Exec mode has no such process: the command replaced the shim. Root reads
// every process's environment, so as root both run as nobody.
func TestSupervisorEnvironIsNotReadable(t *testing.T) {
	require.NoError(t, os.Chmod(shimBinDir(), 0o755))
	work := openDir(t)
	out := filepath.Join(work, "record.json")
	cmd := exec.Command(shimBin, "--supervise", "--secret", "k", "--", fakeBin)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + work, "_FSEC_K=v", "FAKECMD_OUT=" + out, "FAKECMD_READ_PARENT_ENV=1"}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	var rec record
	require.NoError(t, json.Unmarshal(b, &rec))
	assert.Contains(t, rec.ParentEnv, "permission denied", "the supervisor is not dumpable")
}
