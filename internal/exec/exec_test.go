package exec

import (
	"errors"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exit"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeExec writes a file with the given mode.
func writeFile(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), mode))
	require.NoError(t, os.Chmod(path, mode))
	return path
}

func TestLookPath(t *testing.T) {
	root := t.TempDir()
	bin1, bin2 := filepath.Join(root, "bin1"), filepath.Join(root, "bin2")
	script := "#!/bin/sh\nexit 0\n"
	writeFile(t, filepath.Join(bin1, "ok"), script, 0o755)
	writeFile(t, filepath.Join(bin1, "both"), script, 0o755)
	writeFile(t, filepath.Join(bin1, "noexec"), script, 0o644)
	require.NoError(t, os.MkdirAll(filepath.Join(bin1, "isdir"), 0o755))
	writeFile(t, filepath.Join(bin2, "both"), script, 0o755)
	writeFile(t, filepath.Join(bin2, "noexec"), script, 0o755)
	writeFile(t, filepath.Join(bin2, "onlyhere"), script, 0o755)
	// Empty PATH entries mean the current directory: bin1.
	t.Chdir(bin1)

	tests := []struct {
		name     string
		file     string
		pathEnv  string
		wantPath string
		wantCode int
		wantMsg  []string
	}{
		{name: "found", file: "ok", pathEnv: bin1, wantPath: bin1 + "/ok"},
		{name: "first match wins", file: "both", pathEnv: bin2 + ":" + bin1, wantPath: bin2 + "/both"},
		{name: "later directory", file: "onlyhere", pathEnv: bin1 + ":" + bin2, wantPath: bin2 + "/onlyhere"},
		{name: "not executable skipped for a later match", file: "noexec", pathEnv: bin1 + ":" + bin2, wantPath: bin2 + "/noexec"},
		{name: "not found", file: "nope", pathEnv: bin1 + ":" + bin2, wantCode: exit.NotFound,
			wantMsg: []string{`"nope"`, `not found in PATH "` + bin1 + ":" + bin2 + `"`}},
		{name: "not found in a missing directory", file: "ok", pathEnv: root + "/missing", wantCode: exit.NotFound},
		{name: "only match not executable", file: "noexec", pathEnv: bin1, wantCode: exit.NotExecutable,
			wantMsg: []string{`command "noexec"`, bin1 + "/noexec", "not executable", `PATH "` + bin1 + `"`}},
		{name: "only match a directory", file: "isdir", pathEnv: bin1, wantCode: exit.NotExecutable,
			wantMsg: []string{`command "isdir"`, "is a directory"}},
		{name: "absolute name used as is", file: bin1 + "/ok", pathEnv: "", wantPath: bin1 + "/ok"},
		{name: "relative name with a slash used as is", file: "./ok", pathEnv: bin2, wantPath: "./ok"},
		{name: "slash name missing", file: bin2 + "/ok", pathEnv: bin1, wantCode: exit.NotFound, wantMsg: []string{bin2 + "/ok"}},
		{name: "slash name under a file", file: bin1 + "/ok/x", pathEnv: bin1, wantCode: exit.NotFound},
		{name: "slash name not executable", file: bin1 + "/noexec", wantCode: exit.NotExecutable},
		{name: "slash name a directory", file: bin1 + "/isdir", wantCode: exit.NotExecutable},
		{name: "leading empty entry is the current directory", file: "ok", pathEnv: ":" + bin2, wantPath: "./ok"},
		{name: "trailing empty entry is the current directory", file: "ok", pathEnv: bin2 + ":", wantPath: "./ok"},
		{name: "middle empty entry is the current directory", file: "ok", pathEnv: bin2 + "::" + root, wantPath: "./ok"},
		{name: "empty entry after a match", file: "both", pathEnv: bin2 + ":", wantPath: bin2 + "/both"},
		{name: "empty PATH searches nothing", file: "ok", pathEnv: "", wantCode: exit.NotFound, wantMsg: []string{`PATH ""`}},
		{name: "empty name", file: "", pathEnv: bin1, wantCode: exit.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LookPath(tt.file, tt.pathEnv)
			if tt.wantCode == 0 {
				require.NoError(t, err)
				assert.Equal(t, tt.wantPath, got)
				return
			}
			require.Error(t, err)
			var e *exit.Error
			require.True(t, errors.As(err, &e), "want an *exit.Error, got %T", err)
			assert.Equal(t, tt.wantCode, e.Code)
			assert.Empty(t, got)
			for _, m := range tt.wantMsg {
				assert.Contains(t, err.Error(), m)
			}
		})
	}
}

func TestErrorUnwraps(t *testing.T) {
	err := execError("/x", "/x", syscall.EACCES)
	var e *exit.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, exit.NotExecutable, e.Code)
	assert.ErrorIs(t, err, syscall.EACCES)
	assert.Equal(t, `exec "/x": permission denied`, err.Error())
}

// statusIDs reads the Uid, Gid and Groups lines that grep printed from
// /proc/self/status.
func statusIDs(t *testing.T, out string) (uid, gid, groups []string) {
	t.Helper()
	found := 0
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "Uid":
			uid, found = strings.Fields(v), found+1
		case "Gid":
			gid, found = strings.Fields(v), found+1
		case "Groups":
			groups, found = strings.Fields(v), found+1
		}
	}
	require.Equal(t, 3, found, "want Uid, Gid and Groups lines in:\n%s", out)
	return uid, gid, groups
}

const printIDs = `echo pid=$$; grep -E '^(Uid|Gid|Groups):' /proc/self/status`

// rootWithGroups runs a role as root with supplementary groups, so that a
// test can see them cleared.
var rootWithGroups = &syscall.Credential{Uid: 0, Gid: 0, Groups: []uint32{4, 27, 100}}

func TestExecReplacesTheProcessAndKeepsItsPID(t *testing.T) {
	t.Parallel()
	r := startRole(t, runConfig{args: []string{"exec", "--", "sh", "-c", "echo $$; readlink /proc/$$/exe"}})
	require.Equal(t, 0, r.wait(10*time.Second), "stderr: %s", r.stderr.String())
	lines := strings.Fields(r.stdout.String())
	require.Len(t, lines, 2, "stdout: %q", r.stdout.String())
	assert.Equal(t, strconv.Itoa(r.cmd.Process.Pid), lines[0], "the command keeps the shim's PID")
	exe, err := filepath.EvalSymlinks(testBin)
	require.NoError(t, err)
	assert.NotEqual(t, exe, lines[1], "the process is the command now, not the shim")
	assert.Contains(t, filepath.Base(lines[1]), "sh")
}

func TestExecAsUser(t *testing.T) {
	t.Parallel()
	r := startRole(t, runConfig{cred: rootWithGroups, args: []string{"exec", "-user", "65534:65534", "--", "/bin/sh", "-c", printIDs}})
	require.Equal(t, 0, r.wait(10*time.Second), "stderr: %s", r.stderr.String())
	out := r.stdout.String()
	assert.Contains(t, out, "pid="+strconv.Itoa(r.cmd.Process.Pid)+"\n")
	uid, gid, groups := statusIDs(t, out)
	assert.Equal(t, []string{"65534", "65534", "65534", "65534"}, uid, "real, effective, saved and fs uid")
	assert.Equal(t, []string{"65534", "65534", "65534", "65534"}, gid)
	assert.Empty(t, groups, "a numeric --user clears the supplementary groups")
}

func TestExecFailures(t *testing.T) {
	t.Parallel()
	dir := worldDir(t)
	noexec := writeFile(t, filepath.Join(dir, "noexec"), "#!/bin/sh\n", 0o644)
	garbage := writeFile(t, filepath.Join(dir, "garbage"), "\x00\x01\x02 not a program\n", 0o755)
	badInterp := writeFile(t, filepath.Join(dir, "badinterp"), "#!/nonexistent/interpreter\n", 0o755)
	marker := filepath.Join(dir, "started")
	touch := []string{"/bin/sh", "-c", "touch " + marker}

	tests := []struct {
		name     string
		cred     *syscall.Credential
		args     []string
		wantCode int
		wantMsg  []string
	}{
		{name: "missing command on PATH", args: []string{"does-not-exist-anywhere"}, wantCode: 127,
			wantMsg: []string{`command "does-not-exist-anywhere" not found in PATH`}},
		{name: "missing path", args: []string{"-nolookpath", "--", dir + "/missing"}, wantCode: 127,
			wantMsg: []string{dir + "/missing", "no such file or directory"}},
		{name: "not executable found by LookPath", args: []string{"--", noexec}, wantCode: 126, wantMsg: []string{"not executable"}},
		{name: "not executable at exec", args: []string{"-nolookpath", "--", noexec}, wantCode: 126, wantMsg: []string{"permission denied"}},
		{name: "directory at exec", args: []string{"-nolookpath", "--", dir}, wantCode: 126},
		{name: "not a program", args: []string{"-nolookpath", "--", garbage}, wantCode: 126, wantMsg: []string{"exec format error"}},
		{name: "missing interpreter", args: []string{"-nolookpath", "--", badInterp}, wantCode: 126, wantMsg: []string{"interpreter"}},
		{name: "unknown user", args: append([]string{"-user", "no-such-user", "--"}, touch...), wantCode: 126,
			wantMsg: []string{`user "no-such-user" not found in /etc/passwd`}},
		{name: "malformed user", args: append([]string{"-user", "1000:", "--"}, touch...), wantCode: 2},
		{name: "a user it can't switch to", cred: &syscall.Credential{Uid: 65534, Gid: 65534},
			args: append([]string{"-user", "0:0", "--"}, touch...), wantCode: 126,
			wantMsg: []string{"cannot run as user 0:0", "uid 65534", "CAP_SETUID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startRole(t, runConfig{cred: tt.cred, args: append([]string{"exec"}, tt.args...)})
			assert.Equal(t, tt.wantCode, r.wait(10*time.Second), "stderr: %s", r.stderr.String())
			for _, m := range tt.wantMsg {
				assert.Contains(t, r.stderr.String(), m)
			}
			assert.NoFileExists(t, marker, "the command must not have run")
		})
	}
}

// TestLookPathPassesOverAnUnsearchableDirectory: a PATH directory the
// process can't search hides nothing from the search, as in a shell: a
// command found nowhere else is 127, not 126, and a later match runs. A
// file found but not executable is still 126. Root searches every
// directory, so as root the lookup runs as nobody.
func TestLookPathPassesOverAnUnsearchableDirectory(t *testing.T) {
	t.Parallel()
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	dir := worldDir(t)
	locked := filepath.Join(dir, "locked")
	writeFile(t, filepath.Join(locked, "tool"), "#!/bin/sh\necho locked\n", 0o755)
	require.NoError(t, os.Chmod(locked, 0o600)) // rw, no search, even for its owner
	later := filepath.Join(dir, "later")
	writeFile(t, filepath.Join(later, "tool"), "#!/bin/sh\necho later\n", 0o755)
	noexec := filepath.Join(dir, "noexec")
	writeFile(t, filepath.Join(noexec, "tool"), "#!/bin/sh\necho noexec\n", 0o644)

	tests := []struct {
		name       string
		path       string
		flags      []string
		command    []string
		wantCode   int
		wantStdout string
		wantMsg    []string
		notMsg     []string
	}{
		{name: "found nowhere else", path: locked + ":/nowhere", command: []string{"tool"}, wantCode: 127,
			wantMsg: []string{`command "tool" not found in PATH "` + locked + `:/nowhere" (could not search ` + locked + `)`}},
		{name: "a shell agrees", path: locked + ":/nowhere", flags: []string{"-nolookpath"}, command: []string{"/bin/sh", "-c", "tool"}, wantCode: 127},
		{name: "a later match runs", path: locked + ":" + later, command: []string{"tool"}, wantStdout: "later\n"},
		{name: "a later file that is not executable", path: locked + ":" + noexec, command: []string{"tool"}, wantCode: 126,
			wantMsg: []string{noexec + "/tool", "not executable"}},
		{name: "an earlier file that is not executable", path: noexec + ":" + locked, command: []string{"tool"}, wantCode: 126,
			wantMsg: []string{noexec + "/tool", "not executable"}},
		{name: "a PATH a secret set", path: locked + ":/nowhere", flags: []string{"-secretpath"}, command: []string{"tool"}, wantCode: 127,
			wantMsg: []string{`command "tool" not found in PATH (set by a secret, so not shown; some of its directories could not be searched)`},
			notMsg:  []string{dir}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"exec"}, tt.flags...), "--")
			r := startRole(t, runConfig{cred: cred, env: []string{"PATH=" + tt.path}, args: append(args, tt.command...)})
			assert.Equal(t, tt.wantCode, r.wait(10*time.Second), "stderr: %s", r.stderr.String())
			assert.Equal(t, tt.wantStdout, r.stdout.String())
			for _, m := range tt.wantMsg {
				assert.Contains(t, r.stderr.String(), m)
			}
			for _, m := range tt.notMsg {
				assert.NotContains(t, r.stderr.String(), m)
			}
		})
	}
}
