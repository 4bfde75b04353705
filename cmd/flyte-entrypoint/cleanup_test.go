package main_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// tempDir is t.TempDir for a test that lets the shim publish into it. A
// publish leaves 0500 version directories of 0400 files, which t.TempDir's
// RemoveAll can't empty as another user than root; a cleanup registered
// after it, and so run before it, gives those directories back to their
// owner.
func tempDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	tb.Cleanup(func() { makeWritable(dir) })
	return dir
}

// makeWritable gives the owner rwx on every directory under dir, so that
// the tree can be removed. It never follows a symlink.
func makeWritable(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			if info, err := d.Info(); err == nil && info.Mode().Perm()&0o700 != 0o700 {
				_ = os.Chmod(p, info.Mode().Perm()|0o700)
			}
		}
		return nil
	})
}
