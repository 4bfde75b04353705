package mountfs

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// Magic numbers of the memory-backed filesystems, from linux/magic.h.
const (
	tmpfsMagic = 0x01021994
	ramfsMagic = 0x858458f6
)

// OnMemoryFS reports whether dir is on tmpfs or ramfs, whose files never
// reach a disk.
func OnMemoryFS(dir string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, &fs.PathError{Op: "statfs", Path: dir, Err: err}
	}
	// Statfs_t.Type is int32, int64 or uint32 depending on the architecture.
	t := uint32(st.Type)
	return t == tmpfsMagic || t == ramfsMagic, nil
}

// renameNoReplace renames oldpath to newpath, failing with EEXIST when
// newpath exists, so that a file that appeared since the scan is never
// clobbered. Filesystems without RENAME_NOREPLACE get a check, then a plain
// rename.
func renameNoReplace(oldpath, newpath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
		return err
	}
	if _, err := os.Lstat(newpath); err == nil {
		return unix.EEXIST
	}
	return os.Rename(oldpath, newpath)
}
