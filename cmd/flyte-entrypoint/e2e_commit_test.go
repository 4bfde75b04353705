package main_test

// Every check that can fail runs before the commit point (the rename of
// ..data), and a start is either done whole (published and started) or
// undone whole. These tests drive the three ways a start used to end half
// done: a command only root may run under --user, an environment too big
// for execve, and a SIGTERM right after the rename.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// needRootForUser skips a test of --user without root.
func needRootForUser(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: --user switches to another user")
	}
}

// readableByAll is a temporary directory that another user (--user's) can
// read and search, as can the directory it is in.
func readableByAll(t *testing.T) string {
	t.Helper()
	dir := tempDir(t)
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	return dir
}

// TestUserMustBeAbleToRunTheCommand: with --user, the command is checked as
// that user. A command only root may run exits 126 before anything is
// published, in exec and in supervise mode.
func TestUserMustBeAbleToRunTheCommand(t *testing.T) {
	needRootForUser(t)
	dir := readableByAll(t)
	writeFile(t, filepath.Join(dir, "k"), []byte("v"))
	rootOnly := filepath.Join(dir, "root-only")
	b, err := os.ReadFile(fakeBin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(rootOnly, b, 0o700))
	for _, mode := range [][]string{nil, {"--supervise"}} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			res := run{args: append([]string{"--dir", dir, "--user", "65534:65534", "--secret", "key=k,mount=/etc/flyte/secrets"}, mode...),
				command: []string{rootOnly}}.exec(t)
			assert.Equal(t, 126, res.code, "stderr: %s", res.stderr)
			assert.Contains(t, res.stderr, "is not executable as user 65534")
			assertNothingStarted(t, res)

			// The same command as root starts, and the files are there.
			res = run{args: append([]string{"--dir", dir, "--secret", "key=k,mount=/etc/flyte/secrets"}, mode...), command: []string{rootOnly}}.exec(t)
			assert.Equal(t, 0, res.code, "stderr: %s", res.stderr)
			require.NotNil(t, res.rec)
		})
	}
}

// TestEnvironmentTooBigForExecve: an environment variable over execve's
// limit for one string, or an environment over its limit in all, is refused
// in the value checks (65), naming the secret and never its value, before
// anything is published; dry-run reports it as an error too.
func TestEnvironmentTooBigForExecve(t *testing.T) {
	const canary = "CANARY-e2big-"
	dir := tempDir(t)
	writeFile(t, filepath.Join(dir, "big"), []byte(canary+strings.Repeat("x", 128*1024)))
	writeFile(t, filepath.Join(dir, "f"), []byte("file"))
	for i := range 30 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("part-%d", i)), []byte(canary+strings.Repeat("y", 100_000)))
	}
	many := []string{"--dir", dir, "--secret", "key=f,mount=/etc/flyte/secrets"}
	for i := range 30 {
		many = append(many, "--secret", fmt.Sprintf("part-%d", i))
	}
	tests := []struct {
		name    string
		args    []string
		wantErr []string
	}{
		{name: "one variable", args: []string{"--dir", dir, "--secret", "big", "--secret", "key=f,mount=/etc/flyte/secrets"},
			wantErr: []string{`--secret #1 (key "big"): environment variable BIG would be 131089 bytes, more than the 131071 that execve takes for one variable; mount it as a file instead`}},
		{name: "all of them", args: many,
			wantErr: []string{`(key "part-10"): environment variable PART_10 is 100021 bytes of an environment of `, "more than the", "that execve takes (a quarter of the stack limit)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, mode := range [][]string{nil, {"--supervise"}} {
				res := run{args: append(tt.args, mode...)}.exec(t)
				assert.Equal(t, 65, res.code, "stderr: %s", res.stderr)
				for _, w := range tt.wantErr {
					assert.Contains(t, res.stderr, w)
				}
				assert.NotContains(t, res.stderr, canary)
				assertNothingStarted(t, res)
			}

			res := run{args: append([]string{"dry-run", "--output", "json"}, tt.args...)}.exec(t)
			assert.Equal(t, 65, res.code, "stderr: %s", res.stderr)
			assert.NotContains(t, res.stdout+res.stderr, canary)
			var rep struct {
				Secrets []struct {
					Key, Status string
					Error       *string
				}
			}
			require.NoError(t, json.Unmarshal([]byte(res.stdout), &rep), res.stdout)
			var refused []string
			for _, s := range rep.Secrets {
				if s.Status == "error" {
					refused = append(refused, s.Key)
					require.NotNil(t, s.Error)
					assert.Contains(t, *s.Error, "execve")
				}
			}
			assert.NotEmpty(t, refused, "dry-run names what execve would refuse")
			assert.NotContains(t, refused, "f", "the file request is fine")
		})
	}
}

// TestSignalAfterTheCommitPoint: a SIGTERM that lands right after the
// rename of ..data, while a large old version is still on disk, ends either
// in a start that is done (the new version published, the command started
// and signalled) or in one that is undone (the old version current and
// whole, nothing started, 143). Before, the old version was removed in that
// window, the signal cancelled the start, and the new version stayed
// published with nothing started. In exec mode the shim takes no signal:
// nothing slow runs after the rename any more, and the signal ends the run
// with 143 whichever side of execve it lands on; it is never lost.
func TestSignalAfterTheCommitPoint(t *testing.T) {
	const oldFiles = 2000
	for _, mode := range []string{"exec", "supervise"} {
		t.Run(mode, func(t *testing.T) {
			tmp := tempDir(t)
			root := filepath.Join(tmp, "root")
			src := filepath.Join(tmp, "src")
			var oldArgs []string
			for i := range oldFiles {
				writeFile(t, filepath.Join(src, fmt.Sprintf("old-%d", i)), []byte("old"))
				oldArgs = append(oldArgs, "--secret", fmt.Sprintf("key=old-%d,mount=/etc/flyte/secrets", i))
			}
			writeFile(t, filepath.Join(src, "new"), []byte("new"))
			env := []string{"PATH=/usr/bin:/bin", "HOME=" + tmp, "FLYTE_ENTRYPOINT_ROOT=" + root}
			first := exec.Command(shimBin, append(append([]string{"--dir", src}, oldArgs...), "--", "/bin/true")...)
			first.Env = env
			out, err := first.CombinedOutput()
			require.NoError(t, err, "%s", out)
			mount := filepath.Join(root, "etc/flyte/secrets")
			oldVersion, err := os.Readlink(filepath.Join(mount, "..data"))
			require.NoError(t, err)

			fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
			require.NoError(t, err)
			defer unix.Close(fd)
			_, err = unix.InotifyAddWatch(fd, mount, unix.IN_MOVED_TO)
			require.NoError(t, err)

			started := filepath.Join(tmp, "started")
			args := []string{"--dir", src, "--secret", "key=new,mount=/etc/flyte/secrets", "--log-level", "debug"}
			if mode == "supervise" {
				args = append(args, "--supervise")
			}
			second := exec.Command(shimBin, append(args, "--", "/bin/sh", "-c", `echo > "$0"; exec sleep 30`, started)...)
			second.Env = env
			var stderr bytes.Buffer
			second.Stderr = &stderr
			require.NoError(t, second.Start())
			waitForRename(t, fd, "..data")
			require.NoError(t, second.Process.Signal(syscall.SIGTERM))
			done := make(chan error, 1)
			go func() { done <- second.Wait() }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				second.Process.Kill()
				t.Fatal("the shim did not end after SIGTERM")
			}
			code := second.ProcessState.ExitCode()
			if ws, ok := second.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal())
			}

			current, err := os.Readlink(filepath.Join(mount, "..data"))
			require.NoError(t, err)
			_, startErr := os.Stat(started)
			commandStarted := startErr == nil
			if current == oldVersion {
				assert.False(t, commandStarted, "undone: the command must not have started")
				assert.Equal(t, 143, code, "stderr: %s", stderr.String())
				b, err := os.ReadFile(filepath.Join(mount, "old-7"))
				require.NoError(t, err, "the old version is whole")
				assert.Equal(t, "old", string(b))
				_, err = os.Lstat(filepath.Join(mount, "new"))
				assert.ErrorIs(t, err, os.ErrNotExist, "no name of the new version is left")
				t.Logf("%s: undone (143, the old version current)", mode)
			} else {
				b, err := os.ReadFile(filepath.Join(mount, "new"))
				require.NoError(t, err, "done: the new version is whole")
				assert.Equal(t, "new", string(b))
				// The command started and got the SIGTERM; or, in exec
				// mode only, the signal came in the microseconds between
				// the rename and execve and ended the shim itself. Either
				// way it is never lost: the run ends with 143.
				assert.Equal(t, 143, code, "stderr: %s", stderr.String())
				if mode == "supervise" && !commandStarted {
					assert.Contains(t, stderr.String(), `"msg":"started the command"`, "supervise mode: the command started")
				}
				t.Logf("%s: done (the new version current, exit %d)", mode, code)
			}
		})
	}
}

// waitForRename blocks until inotify reports name moved into the watched
// directory.
func waitForRename(t *testing.T, fd int, name string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	buf := make([]byte, 64*1024)
	for time.Now().Before(deadline) {
		var pfd = []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, 1000)
		if err == unix.EINTR || n == 0 {
			continue
		}
		require.NoError(t, err)
		m, err := unix.Read(fd, buf)
		require.NoError(t, err)
		for off := 0; off+unix.SizeofInotifyEvent <= m; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameBytes := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			if strings.TrimRight(string(nameBytes), "\x00") == name {
				return
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
	t.Fatalf("no rename of %s within 20s", name)
}

// TestConcurrentShimsPublishWhole: two shims publishing into one mount at
// once (an init container and the main container on one emptyDir), many
// times over. Publishers are serialised by the mount's lock, so each time
// both exit 0, ..data names a whole version, and the visible names are
// exactly the last publisher's set, none dangling. Before, 9 pairs in 200
// left ..data pointing at a deleted version.
func TestConcurrentShimsPublishWhole(t *testing.T) {
	src := tempDir(t)
	for _, k := range []string{"a", "b", "c"} {
		writeFile(t, filepath.Join(src, k), []byte("value-"+k))
	}
	sets := [][]string{{"a", "b"}, {"b", "c"}}
	for i := range 40 {
		root := filepath.Join(tempDir(t), "root")
		var cmds []*exec.Cmd
		for _, set := range sets {
			args := []string{"--dir", src, "--root", root}
			for _, k := range set {
				args = append(args, "--secret", "key="+k+",mount=/etc/flyte/secrets")
			}
			c := exec.Command(shimBin, append(args, "--", "/bin/true")...)
			c.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + src}
			cmds = append(cmds, c)
		}
		for _, c := range cmds {
			require.NoError(t, c.Start())
		}
		for _, c := range cmds {
			require.NoError(t, c.Wait(), "pair %d: both publishers succeed", i)
		}
		mount := filepath.Join(root, "etc/flyte/secrets")
		target, err := os.Readlink(filepath.Join(mount, "..data"))
		require.NoError(t, err)
		_, err = os.Stat(filepath.Join(mount, target))
		require.NoError(t, err, "pair %d: ..data names a version that exists", i)
		var visible []string
		entries, err := os.ReadDir(mount)
		require.NoError(t, err)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "..") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(mount, e.Name()))
			require.NoError(t, err, "pair %d: visible name %s resolves", i, e.Name())
			assert.Equal(t, "value-"+e.Name(), string(b))
			visible = append(visible, e.Name())
		}
		assert.Contains(t, sets, visible, "pair %d: the visible names are one publisher's whole set", i)
	}
}

// TestExecModeStartsDoNotPileUpVersions: in exec mode nothing of the shim
// runs after execve, so a start leaves the version it replaced for the next
// start. That next start retires it before it writes its own: a container
// restarted with the same emptyDir keeps the current version and the one
// before, never every value it was ever given.
func TestExecModeStartsDoNotPileUpVersions(t *testing.T) {
	const canary = "CANARY-old-version-"
	src := tempDir(t)
	root := filepath.Join(tempDir(t), "root")
	mount := filepath.Join(root, "etc", "flyte", "secrets")
	for i := range 4 {
		writeFile(t, filepath.Join(src, "k"), []byte(fmt.Sprintf("%s%d", canary, i)))
		res := run{args: []string{"--dir", src, "--secret", "key=k,mount=/etc/flyte/secrets"},
			env: map[string]string{"FLYTE_ENTRYPOINT_ROOT": root}}.exec(t)
		require.Equal(t, 0, res.code, "start %d: %s", i, res.stderr)
		got, err := os.ReadFile(filepath.Join(mount, "k"))
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("%s%d", canary, i), string(got))

		var versions []string
		des, err := os.ReadDir(mount)
		require.NoError(t, err)
		for _, d := range des {
			if d.IsDir() && strings.HasPrefix(d.Name(), "..") {
				versions = append(versions, d.Name())
			}
		}
		assert.Len(t, versions, min(i+1, 2), "start %d: the current version and the one it replaced: %v", i, versions)
	}
	// The first two values are nowhere on disk any more.
	require.NoError(t, filepath.WalkDir(mount, func(path string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if d.Type().IsRegular() && d.Name() == "k" {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.NotContains(t, []string{canary + "0", canary + "1"}, string(b), path)
		}
		return nil
	}))
}

// TestSuperviseUnderUserRetiresThePreviousVersion: a supervisor that drops
// to --user gives up root only once the publish is over. It used to drop
// first, and then could neither remove the names the new version lacks
// nor retire the previous version in the root-owned mount directory.
func TestSuperviseUnderUserRetiresThePreviousVersion(t *testing.T) {
	needRootForUser(t)
	const canary = "CANARY-user-version-"
	src := readableByAll(t)
	root := filepath.Join(tempDir(t), "root")
	mount := filepath.Join(root, "etc", "flyte", "secrets")
	for i, key := range []string{"a", "b", "c"} {
		writeFile(t, filepath.Join(src, key), []byte(canary+key))
		res := run{args: []string{"--dir", src, "--supervise", "--user", "65534:65534", "--secret", "key=" + key + ",mount=/etc/flyte/secrets"},
			command: []string{"/bin/true"}, env: map[string]string{"FLYTE_ENTRYPOINT_ROOT": root}}.exec(t)
		require.Equal(t, 0, res.code, "start %d: %s", i, res.stderr)
		assert.NotContains(t, res.stderr, "permission denied", "start %d", i)
		assert.NotContains(t, res.stderr, canary)

		var names, versions []string
		des, err := os.ReadDir(mount)
		require.NoError(t, err)
		for _, d := range des {
			switch {
			case d.IsDir() && strings.HasPrefix(d.Name(), ".."):
				versions = append(versions, d.Name())
			case !strings.HasPrefix(d.Name(), ".."):
				names = append(names, d.Name())
			}
		}
		assert.Equal(t, []string{key}, names, "start %d: only the new version's name", i)
		assert.Len(t, versions, 1, "start %d: the previous version is retired: %v", i, versions)
	}
}

// TestFailedExecUnderUserPutsThePreviousVersionBack: an execve that fails
// after every check passed (here ETXTBSY: the binary is open for writing)
// puts the previous version back with --user too. The shim used to give up
// root for good before execve, and then could not undo the publish in the
// root-owned mount directory: the new version stayed published with
// nothing started.
func TestFailedExecUnderUserPutsThePreviousVersionBack(t *testing.T) {
	needRootForUser(t)
	src := readableByAll(t)
	root := filepath.Join(tempDir(t), "root")
	mount := filepath.Join(root, "etc", "flyte", "secrets")
	writeFile(t, filepath.Join(src, "a"), []byte("first"))
	writeFile(t, filepath.Join(src, "b"), []byte("second"))
	env := map[string]string{"FLYTE_ENTRYPOINT_ROOT": root}
	res := run{args: []string{"--dir", src, "--secret", "key=a,mount=/etc/flyte/secrets"}, command: []string{"/bin/true"}, env: env}.exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	before, err := os.Readlink(filepath.Join(mount, "..data"))
	require.NoError(t, err)

	busy := filepath.Join(src, "busy")
	b, err := os.ReadFile("/bin/true")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(busy, b, 0o755))
	w, err := os.OpenFile(busy, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer w.Close()
	res = run{args: []string{"--dir", src, "--user", "65534:65534", "--secret", "key=b,mount=/etc/flyte/secrets"}, command: []string{busy}, env: env}.exec(t)
	assert.Equal(t, 126, res.code, res.stderr)
	assert.Contains(t, res.stderr, "text file busy")
	assert.NotContains(t, res.stderr, "could not put the previous secret files back")

	after, err := os.Readlink(filepath.Join(mount, "..data"))
	require.NoError(t, err)
	assert.Equal(t, before, after, "..data names the previous version again")
	got, err := os.ReadFile(filepath.Join(mount, "a"))
	require.NoError(t, err, "the previous version's name is back")
	assert.Equal(t, "first", string(got))
	assert.NoFileExists(t, filepath.Join(mount, "b"), "the new version's name is gone")
}

// TestExecUnderUserLeavesNoWayBack: the shim keeps its own IDs as the saved
// ones only until execve; the command runs with every user and group ID
// its own, and with no capabilities.
func TestExecUnderUserLeavesNoWayBack(t *testing.T) {
	needRootForUser(t)
	res := run{args: []string{"--user", "65534:65534"},
		command: []string{"/bin/sh", "-c", "grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapAmb):' /proc/self/status"}}.exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	fields := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
		k, v, _ := strings.Cut(line, ":")
		fields[k] = strings.Join(strings.Fields(v), " ")
	}
	assert.Equal(t, "65534 65534 65534 65534", fields["Uid"], "real, effective, saved and fs uid")
	assert.Equal(t, "65534 65534 65534 65534", fields["Gid"])
	assert.Equal(t, "", fields["Groups"])
	for _, c := range []string{"CapPrm", "CapEff", "CapAmb"} {
		assert.Equal(t, "0000000000000000", fields[c], c)
	}
}
