package mountfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
)

func file(path, value string) File {
	key, group := path, ""
	if g, k, ok := strings.Cut(path, "/"); ok {
		key, group = k, g
	}
	return File{Path: path, Value: secret.New([]byte(value)), Key: key, Group: group}
}

func opts(root string) Options { return Options{Root: root, UID: -1, GID: -1, Logger: log.Nop()} }

// names lists a directory's entries, sorted, but for the publish lock
// (TestPublishLockFile checks it).
func names(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := make([]string, 0, len(des))
	for _, d := range des {
		if d.Name() != lockName {
			out = append(out, d.Name())
		}
	}
	return out
}

// visible lists the names a task sees: those that do not start with "..".
func visible(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, n := range names(t, dir) {
		if !strings.HasPrefix(n, "..") {
			out = append(out, n)
		}
	}
	return out
}

// versions lists the version directories (and retired ones) in dir.
func versions(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, n := range names(t, dir) {
		if n != dataLink && strings.HasPrefix(n, "..") {
			out = append(out, n)
		}
	}
	return out
}

// readVisible reads every file through the visible names: path -> content.
func readVisible(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range visible(t, dir) {
		fi, err := os.Stat(filepath.Join(dir, n))
		require.NoError(t, err)
		if !fi.IsDir() {
			b, err := os.ReadFile(filepath.Join(dir, n))
			require.NoError(t, err)
			out[n] = string(b)
			continue
		}
		for _, k := range names(t, filepath.Join(dir, n)) {
			b, err := os.ReadFile(filepath.Join(dir, n, k))
			require.NoError(t, err)
			out[n+"/"+k] = string(b)
		}
	}
	return out
}

func TestDir(t *testing.T) {
	assert.Equal(t, "/etc/flyte/secrets", Dir(""))
	assert.Equal(t, "/etc/flyte/secrets", Dir("/"))
	assert.Equal(t, "/tmp/x/etc/flyte/secrets", Dir("/tmp/x"))
	assert.Equal(t, "/tmp/x/etc/flyte/secrets", Dir("/tmp/x/"))
}

func TestPublishLayout(t *testing.T) {
	root := tempDir(t)
	res, err := Publish(opts(root), []File{
		file("api-key", "v1"),
		file("db/password", "v2"),
		file("db/user", "v3"),
		file("MixedCase", "v4"),
	})
	require.NoError(t, err)
	dir := Dir(root)
	assert.Equal(t, dir, res.Dir)
	assert.True(t, isVersion(res.Version), res.Version)

	// ..data is a relative symlink to the version directory.
	target, err := os.Readlink(filepath.Join(dir, "..data"))
	require.NoError(t, err)
	assert.Equal(t, res.Version, target)
	fi, err := os.Lstat(filepath.Join(dir, res.Version))
	require.NoError(t, err)
	assert.True(t, fi.IsDir())

	// Each visible name is a relative symlink through ..data.
	for _, n := range []string{"api-key", "db", "MixedCase"} {
		target, err := os.Readlink(filepath.Join(dir, n))
		require.NoError(t, err, n)
		assert.Equal(t, "..data/"+n, target)
	}
	assert.Equal(t, []string{res.Version, "..data", "MixedCase", "api-key", "db"}, names(t, dir),
		"no temporary names are left over")
	assert.Equal(t, []string{"password", "user"}, names(t, filepath.Join(dir, res.Version, "db")))
	assert.Equal(t, map[string]string{"api-key": "v1", "db/password": "v2", "db/user": "v3", "MixedCase": "v4"},
		readVisible(t, dir))
}

func TestPublishModes(t *testing.T) {
	old := syscall.Umask(0o077) // a strict umask must not change the modes
	defer syscall.Umask(old)

	root := tempDir(t)
	res, err := Publish(opts(root), []File{file("k", "v"), file("g/k", "v")})
	require.NoError(t, err)
	dir := Dir(root)
	mode := func(p string) fs.FileMode {
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		return fi.Mode()
	}
	assert.Equal(t, fs.ModeDir|0o755, mode(dir), "mount directory")
	assert.Equal(t, fs.ModeDir|0o755, mode(filepath.Join(root, "etc", "flyte")), "created parents")
	assert.Equal(t, fs.ModeDir|0o500, mode(filepath.Join(dir, res.Version)), "version directory")
	assert.Equal(t, fs.ModeDir|0o500, mode(filepath.Join(dir, res.Version, "g")), "group directory")
	assert.Equal(t, fs.FileMode(0o400), mode(filepath.Join(dir, res.Version, "k")), "file")
	assert.Equal(t, fs.FileMode(0o400), mode(filepath.Join(dir, res.Version, "g", "k")), "file in a group")
	assert.Equal(t, fs.ModeSymlink, mode(filepath.Join(dir, "..data"))&fs.ModeType)
	assert.Equal(t, fs.ModeSymlink, mode(filepath.Join(dir, "k"))&fs.ModeType)
}

func TestPublishFixesTheMountDirectoryMode(t *testing.T) {
	root := tempDir(t)
	require.NoError(t, os.MkdirAll(Dir(root), 0o700))
	require.NoError(t, os.Chmod(Dir(root), 0o700))
	_, err := Publish(opts(root), []File{file("k", "v")})
	require.NoError(t, err)
	fi, err := os.Stat(Dir(root))
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o755), fi.Mode().Perm())
}

func owners(t *testing.T, p string) (uid, gid uint32) {
	t.Helper()
	fi, err := os.Lstat(p)
	require.NoError(t, err)
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid
}

func TestPublishOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root: run the tests as root to cover ownership")
	}
	root := tempDir(t)
	o := opts(root)
	o.UID, o.GID = 65534, 65533
	res, err := Publish(o, []File{file("k", "v"), file("g/k", "v")})
	require.NoError(t, err)
	dir := Dir(root)
	for _, p := range []string{
		filepath.Join(dir, res.Version),
		filepath.Join(dir, res.Version, "k"),
		filepath.Join(dir, res.Version, "g"),
		filepath.Join(dir, res.Version, "g", "k"),
		filepath.Join(dir, "..data"),
		filepath.Join(dir, "k"),
		filepath.Join(dir, "g"),
	} {
		uid, gid := owners(t, p)
		assert.Equal(t, uint32(65534), uid, p)
		assert.Equal(t, uint32(65533), gid, p)
	}
	// The mount directory keeps its owner: the shim publishes into it.
	uid, _ := owners(t, dir)
	assert.Equal(t, uint32(0), uid)

	// -1 leaves that part of the owner as it is.
	o.UID, o.GID = -1, 65534
	res, err = Publish(o, []File{file("k", "v")})
	require.NoError(t, err)
	uid, gid := owners(t, filepath.Join(dir, res.Version, "k"))
	assert.Equal(t, uint32(0), uid)
	assert.Equal(t, uint32(65534), gid)
}

func TestPublishRootPrefix(t *testing.T) {
	root := filepath.Join(tempDir(t), "some", "root")
	_, err := Publish(opts(root), []File{file("k", "v")})
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(root, "etc", "flyte", "secrets", "k"))
	require.NoError(t, err)
	assert.Equal(t, "v", string(b))
}

func TestPublishWritesBinaryValuesByteExact(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	reversed := bytes.Clone(all)
	for i, j := 0, len(reversed)-1; i < j; i, j = i+1, j-1 {
		reversed[i], reversed[j] = reversed[j], reversed[i]
	}
	big := bytes.Repeat(all, 4096) // 1 MiB, more than one write
	values := map[string][]byte{
		"all":      all,
		"reversed": reversed,
		"g/big":    big,
		"empty":    {},
		"nul":      {0},
		"newline":  []byte("line\n"),
	}
	var files []File
	for p, v := range values {
		files = append(files, File{Path: p, Value: secret.New(v), Key: p})
	}
	root := tempDir(t)
	_, err := Publish(opts(root), files)
	require.NoError(t, err)
	for p, v := range values {
		got, err := os.ReadFile(filepath.Join(Dir(root), p))
		require.NoError(t, err, p)
		assert.True(t, bytes.Equal(v, got), "%s: %d bytes back, want %d", p, len(got), len(v))
	}
}

func TestRepublishReplacesTheSet(t *testing.T) {
	root := tempDir(t)
	dir := Dir(root)
	first, err := Publish(opts(root), []File{file("a", "a1"), file("b", "b1"), file("g/x", "x1"), file("h/y", "y1")})
	require.NoError(t, err)

	// A file that is no secret of ours stays, and so does a leftover of a
	// crash: a version directory that ..data does not name.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README"), []byte("not ours"), 0o644))
	crashed := filepath.Join(dir, "..2001_02_03_04_05_06.000000007")
	require.NoError(t, os.MkdirAll(filepath.Join(crashed, "g"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(crashed, "g", "x"), []byte("x0"), 0o400))
	require.NoError(t, os.Chmod(filepath.Join(crashed, "g"), 0o500))
	require.NoError(t, os.Chmod(crashed, 0o500))

	second, err := Publish(opts(root), []File{file("b", "b2"), file("c", "c2"), file("h/z", "z2")})
	require.NoError(t, err)
	assert.NotEqual(t, first.Version, second.Version)

	assert.Equal(t, []string{"README", "b", "c", "h"}, visible(t, dir), "a and g are gone, README stays")
	assert.Equal(t, []string{second.Version}, versions(t, dir), "old and crashed versions are removed")
	got := readVisible(t, dir)
	assert.Equal(t, map[string]string{"README": "not ours", "b": "b2", "c": "c2", "h/z": "z2"}, got)

	// Back to a set with a group where there was a file, and no files at all.
	third, err := Publish(opts(root), []File{file("c/k", "k3")})
	require.NoError(t, err)
	assert.Equal(t, []string{"README", "c"}, visible(t, dir))
	assert.Equal(t, []string{third.Version}, versions(t, dir))
	assert.Equal(t, "k3", readVisible(t, dir)["c/k"])

	fourth, err := Publish(opts(root), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"README"}, visible(t, dir))
	assert.Equal(t, []string{fourth.Version}, versions(t, dir))
}

func TestPublishRefusesBadPaths(t *testing.T) {
	tests := []struct {
		name    string
		paths   []string
		wantErr string
	}{
		{name: "absolute", paths: []string{"/etc/passwd"}, wantErr: "is absolute"},
		{name: "dot dot", paths: []string{"../x"}, wantErr: `has a ".." component`},
		{name: "dot dot in a group", paths: []string{"g/.."}, wantErr: `has a ".." component`},
		{name: "dot", paths: []string{"."}, wantErr: `has a "." component`},
		{name: "dot group", paths: []string{"./k"}, wantErr: `has a "." component`},
		{name: "empty", paths: []string{""}, wantErr: "has an empty component"},
		{name: "empty key", paths: []string{"g/"}, wantErr: "has an empty component"},
		{name: "empty group", paths: []string{"g//k"}, wantErr: "more than two components"},
		{name: "three components", paths: []string{"a/b/c"}, wantErr: "more than two components"},
		{name: "..data", paths: []string{"..data"}, wantErr: `starts with ".."`},
		{name: "dot dot prefix", paths: []string{"..2026_01_01"}, wantErr: `starts with ".."`},
		{name: "dot dot prefix in a group", paths: []string{"g/..k"}, wantErr: `starts with ".."`},
		{name: "NUL", paths: []string{"a\x00b"}, wantErr: "NUL"},
		{name: "same path twice", paths: []string{"k", "x", "k"}, wantErr: "two files have this path"},
		{name: "same grouped path twice", paths: []string{"g/k", "g/k"}, wantErr: "two files have this path"},
		{name: "file then group", paths: []string{"a", "a/b"}, wantErr: `"a" would be both a file and a group directory`},
		{name: "group then file", paths: []string{"a/b", "a"}, wantErr: `"a" would be both a file and a group directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tempDir(t)
			var files []File
			for _, p := range tt.paths {
				files = append(files, file(p, "CANARY-value"))
			}
			_, err := Publish(opts(root), files)
			var me *Error
			require.ErrorAs(t, err, &me)
			assert.ErrorContains(t, err, tt.wantErr)
			assert.NotContains(t, err.Error(), "CANARY")
			assert.NoDirExists(t, Dir(root), "nothing is created for a refused set")
		})
	}
}

// published takes what a reader can see: ..data's target, the visible
// names and what they read.
type published struct {
	target  string
	names   []string
	content map[string]string
	all     []string
}

func snapshot(t *testing.T, dir string) published {
	t.Helper()
	target, err := os.Readlink(filepath.Join(dir, "..data"))
	require.NoError(t, err)
	return published{target: target, names: visible(t, dir), content: readVisible(t, dir), all: names(t, dir)}
}

func TestPublishFailsBeforeAnythingChangesWhenANameIsTaken(t *testing.T) {
	tests := []struct {
		name    string
		block   func(t *testing.T, p string)
		at      string
		wantErr string
	}{
		{
			name:    "a regular file",
			at:      "c",
			block:   func(t *testing.T, p string) { require.NoError(t, os.WriteFile(p, []byte("x"), 0o644)) },
			wantErr: "a regular file is in the way",
		},
		{
			name:    "a directory",
			at:      "c",
			block:   func(t *testing.T, p string) { require.NoError(t, os.Mkdir(p, 0o755)) },
			wantErr: "a directory is in the way",
		},
		{
			name:    "a symlink elsewhere",
			at:      "c",
			block:   func(t *testing.T, p string) { require.NoError(t, os.Symlink("/etc/passwd", p)) },
			wantErr: "a symlink that does not go through ..data is in the way",
		},
		{
			name:    "a group name held by a file",
			at:      "g",
			block:   func(t *testing.T, p string) { require.NoError(t, os.WriteFile(p, []byte("x"), 0o644)) },
			wantErr: "a regular file is in the way",
		},
		{
			name:    "a temporary name held by a directory",
			at:      "..data_tmp",
			block:   func(t *testing.T, p string) { require.NoError(t, os.Mkdir(p, 0o755)) },
			wantErr: "a directory is in the way of a temporary symlink",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tempDir(t)
			dir := Dir(root)
			_, err := Publish(opts(root), []File{file("a", "a1"), file("b", "b1")})
			require.NoError(t, err)
			tt.block(t, filepath.Join(dir, tt.at))
			before := snapshot(t, dir)

			_, err = Publish(opts(root), []File{file("a", "a2"), file("c", "c2"), file("g/k", "k2")})
			var me *Error
			require.ErrorAs(t, err, &me)
			assert.Equal(t, filepath.Join(dir, tt.at), me.Path)
			assert.ErrorContains(t, err, tt.wantErr)
			assert.Equal(t, before, snapshot(t, dir), "nothing changed")
		})
	}
}

func TestPublishRefusesARealDataDirectory(t *testing.T) {
	root := tempDir(t)
	dir := Dir(root)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "..data"), 0o755))
	_, err := Publish(opts(root), []File{file("a", "a1")})
	var me *Error
	require.ErrorAs(t, err, &me)
	assert.ErrorContains(t, err, "a directory is in the way of the ..data symlink")
	assert.Equal(t, []string{"..data"}, names(t, dir))
}

func setHook(t *testing.T, h func(stage string) error) {
	t.Helper()
	testHook = h
	t.Cleanup(func() { testHook = nil })
}

// failAt is a test hook that fails the publish at one stage.
func failAt(want string) func(stage string) error {
	return func(stage string) error {
		if stage == want {
			return errors.New("injected")
		}
		return nil
	}
}

func TestPublishFailureLeavesThePreviousVersion(t *testing.T) {
	tests := []struct {
		name    string
		hook    func(dir string) func(stage string) error
		wantErr string
	}{
		{
			name:    "failure once the version is written",
			hook:    func(string) func(string) error { return failAt("written") },
			wantErr: "injected",
		},
		{
			name:    "failure once the new names are linked",
			hook:    func(string) func(string) error { return failAt("linked") },
			wantErr: "injected",
		},
		{
			name:    "failure just before the rename of ..data",
			hook:    func(string) func(string) error { return failAt("commit") },
			wantErr: "injected",
		},
		{
			// Something takes a new visible name between the scan and the
			// link: the rename must not clobber it, and the publish is undone.
			name: "a name taken during the publish",
			hook: func(dir string) func(string) error {
				return func(stage string) error {
					if stage == "written" {
						return os.WriteFile(filepath.Join(dir, "new"), []byte("raced"), 0o644)
					}
					return nil
				}
			},
			wantErr: "file exists",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tempDir(t)
			dir := Dir(root)
			_, err := Publish(opts(root), []File{file("a", "a1"), file("b", "b1"), file("g/k", "k1")})
			require.NoError(t, err)
			before := snapshot(t, dir)

			setHook(t, tt.hook(dir))
			_, err = Publish(opts(root), []File{file("a", "a2"), file("c", "c2"), file("h/k", "k2"), file("new", "n2")})
			var me *Error
			require.ErrorAs(t, err, &me)
			assert.ErrorContains(t, err, tt.wantErr)

			after := snapshot(t, dir)
			if tt.name == "a name taken during the publish" {
				// The raced file is the only difference, and it is intact.
				assert.Equal(t, "raced", after.content["new"])
				delete(after.content, "new")
				after.names = without(after.names, "new")
				after.all = without(after.all, "new")
			}
			assert.Equal(t, before, after, "the previous version is intact and visible")
		})
	}
}

func without(s []string, x string) []string {
	var out []string
	for _, v := range s {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

func TestFailedFirstPublishLeavesNothing(t *testing.T) {
	for _, stage := range []string{"written", "linked", "commit"} {
		t.Run(stage, func(t *testing.T) {
			root := tempDir(t)
			setHook(t, failAt(stage))
			_, err := Publish(opts(root), []File{file("a", "a1"), file("g/k", "k1")})
			require.Error(t, err)
			assert.Empty(t, names(t, Dir(root)))
		})
	}
}

func TestPublishNeverPutsAValueInAnErrorOrALogLine(t *testing.T) {
	const canary = "CANARY-5e1d"
	var buf bytes.Buffer
	o := opts(tempDir(t))
	o.Logger = log.New(&buf, log.FormatJSON, zapcore.DebugLevel).Named("mountfs")
	files := []File{file("a", canary), file("g/k", canary+"\xff")}
	_, err := Publish(o, files)
	require.NoError(t, err)
	setHook(t, failAt("commit"))
	_, err = Publish(o, append(files, file("b", canary)))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), canary)
	assert.Contains(t, buf.String(), `"key":"k"`, "the debug lines name keys")
	assert.NotContains(t, buf.String(), canary)
}

func TestOnMemoryFS(t *testing.T) {
	if _, err := os.Stat("/dev/shm"); err == nil {
		mem, err := OnMemoryFS("/dev/shm")
		require.NoError(t, err)
		assert.True(t, mem, "/dev/shm is tmpfs")
	}
	_, err := OnMemoryFS(filepath.Join(tempDir(t), "missing"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestPublishWarnsWhenNotMemoryBacked(t *testing.T) {
	check := func(t *testing.T, root string) {
		var buf bytes.Buffer
		o := opts(root)
		o.Logger = log.New(&buf, log.FormatJSON, zapcore.WarnLevel)
		res, err := Publish(o, []File{file("k", "v")})
		require.NoError(t, err)
		mem, err := OnMemoryFS(Dir(root))
		require.NoError(t, err)
		assert.Equal(t, mem, res.MemoryBacked)
		if mem {
			assert.Empty(t, buf.String())
		} else {
			assert.Contains(t, buf.String(), "not on a memory-backed filesystem")
			assert.Contains(t, buf.String(), fmt.Sprintf(`"dir":%q`, Dir(root)))
		}
	}
	t.Run("t.TempDir", func(t *testing.T) { check(t, tempDir(t)) })
	t.Run("/dev/shm", func(t *testing.T) {
		if _, err := os.Stat("/dev/shm"); err != nil {
			t.Skip("no /dev/shm")
		}
		check(t, shmDir(t))
	})
}

// shmDir is a t.TempDir on /dev/shm.
func shmDir(tb testing.TB) string {
	tb.Helper()
	d, err := os.MkdirTemp("/dev/shm", "mountfs-test-")
	require.NoError(tb, err)
	tb.Cleanup(func() {
		_ = filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				_ = os.Chmod(p, 0o700)
			}
			return nil
		})
		_ = os.RemoveAll(d)
	})
	return d
}

func TestIsVersion(t *testing.T) {
	for name, want := range map[string]bool{
		"..2026_11_26_20_15_20.123456789":    true,
		"..2026_11_26_20_15_20.123456789_1":  true,
		"..2026_11_26_20_15_20.123456789_42": true,
		"..2026_11_26_20_15_20.123456789_":   false,
		"..2026_11_26_20_15_20.123456789x":   false,
		"..2026_11_26_20_15_20.12345678":     false,
		"..data":                             false,
		"..data_tmp":                         false,
		"2026_11_26_20_15_20.123456789":      false,
		"..2026-11-26_20_15_20.123456789":    false,
	} {
		assert.Equal(t, want, isVersion(name), name)
	}
}

func TestVersionNamesAreUniqueWithinOneNanosecond(t *testing.T) {
	stopped := time.Date(2026, 11, 26, 20, 15, 20, 123456789, time.UTC)
	now = func() time.Time { return stopped }
	t.Cleanup(func() { now = time.Now })

	root := tempDir(t)
	var got []string
	for range 3 {
		res, err := Publish(opts(root), []File{file("k", "v")})
		require.NoError(t, err)
		got = append(got, res.Version)
	}
	assert.Equal(t, []string{
		"..2026_11_26_20_15_20.123456789",
		"..2026_11_26_20_15_20.123456789_1",
		"..2026_11_26_20_15_20.123456789", // the first was retired, so its name is free again
	}, got)

	// Names are never reused while a version with that name is on disk.
	p := &publisher{dir: tempDir(t), uid: -1, gid: -1, logger: log.Nop()}
	seen := map[string]bool{}
	for range 20 {
		v, err := p.mkVersionDir()
		require.NoError(t, err)
		assert.False(t, seen[v], v)
		seen[v] = true
	}
}

// TestRepublishAsNonRoot checks that a shim that is not root can retire
// its own 0500 versions. Run as root, it re-runs this test binary as
// 65534; run as another user, the republish tests above cover it already.
func TestRepublishAsNonRoot(t *testing.T) {
	if dir := os.Getenv("MOUNTFS_TEST_NONROOT_ROOT"); dir != "" {
		require.NotZero(t, os.Geteuid(), "the helper must run as non-root")
		first, err := Publish(opts(dir), []File{file("a", "1"), file("g/k", "1")})
		require.NoError(t, err)
		second, err := Publish(opts(dir), []File{file("b", "2"), file("h/k", "2")})
		require.NoError(t, err)
		assert.NotEqual(t, first.Version, second.Version)
		assert.Equal(t, []string{second.Version}, versions(t, Dir(dir)))
		assert.Equal(t, []string{"b", "h"}, visible(t, Dir(dir)))
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("not root: the other republish tests already run as non-root")
	}
	self, err := os.Executable()
	require.NoError(t, err)
	bin, err := os.ReadFile(self)
	require.NoError(t, err)

	// A world-traversable place for the binary and a root owned by 65534.
	base := shmDir(t)
	require.NoError(t, os.Chmod(base, 0o755))
	exe := filepath.Join(base, "mountfs.test")
	require.NoError(t, os.WriteFile(exe, bin, 0o755))
	root := filepath.Join(base, "root")
	require.NoError(t, os.Mkdir(root, 0o755))
	require.NoError(t, os.Chown(root, 65534, 65534))

	cmd := exec.Command(exe, "-test.run=^TestRepublishAsNonRoot$", "-test.count=1")
	cmd.Env = []string{"MOUNTFS_TEST_NONROOT_ROOT=" + root}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "PASS")
}

// TestPublishRefusesASymlinkedMount: the mount directory, or a parent of it
// under the root, being a symlink is refused before anything is written or
// has its mode changed; what the symlink points to is left as it was.
func TestPublishRefusesASymlinkedMount(t *testing.T) {
	for _, link := range []string{"etc/flyte/secrets", "etc/flyte", "etc"} {
		t.Run(link, func(t *testing.T) {
			root := tempDir(t)
			elsewhere := filepath.Join(tempDir(t), "private")
			require.NoError(t, os.MkdirAll(filepath.Join(elsewhere, "flyte", "secrets"), 0o700))
			require.NoError(t, os.Chmod(elsewhere, 0o700))
			target := elsewhere
			switch link {
			case "etc/flyte/secrets":
				target = filepath.Join(elsewhere, "flyte", "secrets")
			case "etc/flyte":
				target = filepath.Join(elsewhere, "flyte")
			}
			require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, link)), 0o755))
			require.NoError(t, os.Symlink(target, filepath.Join(root, link)))
			before := tree(t, elsewhere)

			_, err := Publish(opts(root), []File{file("k", "v")})
			require.Error(t, err)
			var me *Error
			require.ErrorAs(t, err, &me)
			assert.Contains(t, err.Error(), filepath.Join(root, link)+" is a symlink")
			assert.Equal(t, before, tree(t, elsewhere), "nothing outside the mount changed, modes included")
		})
	}
	// The root prefix itself may be a symlink: the user named it.
	real := tempDir(t)
	root := filepath.Join(tempDir(t), "root")
	require.NoError(t, os.Symlink(real, root))
	_, err := Publish(opts(root), []File{file("k", "v")})
	require.NoError(t, err)
	assert.Equal(t, "v", readVisible(t, Dir(real))["k"])
}
