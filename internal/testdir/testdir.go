// Package testdir gives tests temporary directories that any user can
// remove, whatever the shim published in them. Only tests import it.
package testdir

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// New is t.TempDir for a test that lets the shim publish into it. A publish
// leaves 0500 version directories of 0400 files, which t.TempDir's RemoveAll
// can't empty as a user other than root; a cleanup registered after it, and
// so run before it, gives those directories back to their owner.
func New(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	tb.Cleanup(func() { MakeWritable(dir) })
	return dir
}

// MakeWritable gives the owner rwx on every directory under dir, so that a
// user other than root can remove the tree: a 0500 directory keeps its
// files, a 0600 one can't even be listed. It never follows a symlink.
func MakeWritable(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			if info, err := d.Info(); err == nil && info.Mode().Perm()&0o700 != 0o700 {
				_ = os.Chmod(p, info.Mode().Perm()|0o700)
			}
		}
		return nil
	})
}
