package testdir

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// ReadOnlyMount makes dir a mount the shim can't write, after fill has
// filled it: as root a tmpfs remounted read-only (EROFS, as a kubelet's
// readOnly volume), else a tree of 0500 directories and 0444 files. A test
// that needs EROFS itself says so with wantEROFS, and is skipped without
// root: a 0500 directory does not stop its owner from chmod. Cleanup undoes
// it, so that t.TempDir can remove the tree.
func ReadOnlyMount(t *testing.T, dir string, wantEROFS bool, fill func(dir string)) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	if os.Geteuid() != 0 {
		if wantEROFS {
			t.Skip("needs root to mount a read-only tmpfs; a 0500 directory does not stop its owner from chmod")
		}
		fill(dir)
		t.Cleanup(func() { MakeWritable(dir) })
		lockDown(t, dir)
		return
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0755"); err != nil {
		t.Skipf("cannot mount a tmpfs (%v): the read-only mount needs CAP_SYS_ADMIN", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	fill(dir)
	require.NoError(t, unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""))
	require.ErrorIs(t, os.WriteFile(filepath.Join(dir, "probe"), nil, 0o644), syscall.EROFS)
}

// lockDown makes every file under dir 0444 and every directory 0500,
// deepest first.
func lockDown(t *testing.T, dir string) {
	t.Helper()
	var dirs []string
	require.NoError(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		require.NoError(t, err)
		switch {
		case fi.IsDir():
			dirs = append(dirs, p)
		case fi.Mode().IsRegular():
			require.NoError(t, os.Chmod(p, 0o444))
		}
		return nil
	}))
	for i := len(dirs) - 1; i >= 0; i-- {
		require.NoError(t, os.Chmod(dirs[i], 0o500))
	}
}
