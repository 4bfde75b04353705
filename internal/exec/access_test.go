package exec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exit"
)

// TestLookPathAsTheUser: with a Cred, a match must be executable by that
// user, not by this process: the mode bits for its owner, group or others,
// and every directory on the way searchable. Before, a command only its
// owner could run passed as root and failed with 126 after the publish.
func TestLookPathAsTheUser(t *testing.T) {
	me := uint32(os.Getuid())
	other := &Credential{UID: me + 1000, GID: 54321}
	dir := searchableTempDir(t)
	mk := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte("\x7fELF"), mode))
		require.NoError(t, os.Chmod(p, mode))
		return p
	}
	ownerOnly := mk("owner-only", 0o700)
	everyone := mk("everyone", 0o755)
	groupOnly := mk("group-only", 0o750)
	require.NoError(t, os.Chown(groupOnly, int(me), os.Getgid())) // a no-op for our own gid
	locked := filepath.Join(dir, "locked")
	require.NoError(t, os.Mkdir(locked, 0o700))
	inLocked := filepath.Join(locked, "tool")
	require.NoError(t, os.WriteFile(inLocked, []byte("\x7fELF"), 0o755))
	require.NoError(t, os.Chmod(inLocked, 0o755))

	tests := []struct {
		name     string
		file     string
		cred     *Credential
		wantCode int
		wantMsg  string
	}{
		{name: "the owner runs an owner-only command", file: ownerOnly, cred: &Credential{UID: me, GID: 54321}},
		{name: "another user may not", file: ownerOnly, cred: other, wantCode: exit.NotExecutable, wantMsg: "is not executable as user"},
		{name: "anyone runs a 0755 command", file: everyone, cred: other},
		{name: "group bits for a member of the group", file: groupOnly, cred: &Credential{UID: me + 1000, GID: 1, Groups: []uint32{uint32(os.Getgid())}}},
		{name: "group bits, not a member", file: groupOnly, cred: other, wantCode: exit.NotExecutable},
		{name: "a directory on the way the user cannot search", file: inLocked, cred: other, wantCode: exit.NotExecutable, wantMsg: "not searchable"},
		{name: "root runs a file with any x bit", file: ownerOnly, cred: &Credential{UID: 0, GID: 0}},
		{name: "no cred: this process", file: ownerOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Search{PATH: "/nowhere", Cred: tt.cred}.LookPath(tt.file)
			if tt.wantCode == 0 {
				require.NoError(t, err)
				assert.Equal(t, tt.file, got)
				return
			}
			var e *exit.Error
			require.True(t, errors.As(err, &e), "%v", err)
			assert.Equal(t, tt.wantCode, e.Code)
			assert.Contains(t, err.Error(), tt.wantMsg)
		})
	}

	// On PATH, by name.
	_, err := Search{PATH: dir, Cred: other}.LookPath("owner-only")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `command "owner-only"`)
	p, err := Search{PATH: dir, Cred: other}.LookPath("everyone")
	require.NoError(t, err)
	assert.Equal(t, everyone, p)
}

// TestLookPathNeverShowsASecretPATH: when a secret set PATH, no message
// shows it, nor a path built from it.
func TestLookPathNeverShowsASecretPATH(t *testing.T) {
	const canary = "CANARY-path-7d1e"
	dir := filepath.Join(t.TempDir(), canary)
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "noexec"), []byte("x"), 0o644))
	for _, file := range []string{"absent", "noexec"} {
		_, err := Search{PATH: dir + ":/also/" + canary, Secret: true}.LookPath(file)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), canary)
		assert.Contains(t, err.Error(), "PATH (set by a secret, so not shown)")
		assert.Contains(t, err.Error(), `command "`+file+`"`)
	}
	_, err := Search{PATH: dir}.LookPath("absent")
	assert.Contains(t, err.Error(), dir, "a PATH no secret set is shown, for debugging")
}

// TestCheckInterpreterAsTheUser: the interpreter must be executable and the
// script readable by the user the command runs as.
func TestCheckInterpreterAsTheUser(t *testing.T) {
	other := &Credential{UID: uint32(os.Getuid()) + 1000, GID: 54321}
	dir := searchableTempDir(t)
	interp := filepath.Join(dir, "interp")
	require.NoError(t, os.WriteFile(interp, []byte("\x7fELF"), 0o700))
	script := filepath.Join(dir, "script")
	require.NoError(t, os.WriteFile(script, []byte("#!"+interp+"\n"), 0o755))
	err := CheckInterpreter(script, "script", other)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `its interpreter "`+interp+`" cannot be run`)

	unreadable := filepath.Join(dir, "unreadable")
	require.NoError(t, os.WriteFile(unreadable, []byte("#!/bin/sh\n"), 0o711))
	require.NoError(t, os.Chmod(unreadable, 0o711))
	err = CheckInterpreter(unreadable, "unreadable", other)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a script its interpreter cannot read")
	assert.NoError(t, CheckInterpreter(unreadable, "unreadable", nil))
}

// TestCheckArgs: what execve refuses with E2BIG is found before the start.
func TestCheckArgs(t *testing.T) {
	small := []string{"PATH=/bin", "A=1"}
	assert.NoError(t, CheckArgs("true", "/bin/true", []string{"true"}, small))

	one := "BIG=" + strings.Repeat("x", MaxArgStrlen)
	err := CheckArgs("true", "/bin/true", []string{"true"}, append(small, one))
	var e *exit.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, exit.NotExecutable, e.Code)
	assert.Contains(t, err.Error(), "an environment variable is 131076 bytes, more than the 131071 execve takes for one")
	assert.NotContains(t, err.Error(), "xxxx")
	assert.NoError(t, CheckArgs("true", "/bin/true", []string{"true"}, []string{one[:MaxArgStrlen-1]}), "one byte less fits")

	var many []string
	for range ArgMax()/100_000 + 1 {
		many = append(many, "V="+strings.Repeat("y", 100_000))
	}
	err = CheckArgs("true", "/bin/true", []string{"true"}, many)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "more than the")

	// The limit is the kernel's: execve itself agrees at both sides of it.
	if testing.Short() {
		return
	}
	for _, env := range [][]string{{one}, many} {
		pid, err := syscall.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{Env: env})
		if err == nil {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil)
		}
		assert.ErrorIs(t, err, syscall.E2BIG)
	}
	fits := many[:len(many)-2]
	require.NoError(t, CheckArgs("true", "/bin/true", []string{"true"}, fits))
	pid, err := syscall.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{Env: fits})
	require.NoError(t, err)
	var ws syscall.WaitStatus
	_, _ = syscall.Wait4(pid, &ws, 0, nil)
}

// searchableTempDir is a t.TempDir that every user may search: the go tool
// makes its parent 0700.
func searchableTempDir(t *testing.T) string {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	require.NoError(t, os.Chmod(dir, 0o755))
	return dir
}
