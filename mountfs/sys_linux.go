package mountfs

import (
	"encoding/binary"
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

// dirEntry is one name in a directory and its type.
type dirEntry struct {
	name string
	typ  fs.FileMode // fs.ModeDir, fs.ModeSymlink, 0 for a regular file, ...
}

func (e dirEntry) IsDir() bool { return e.typ.IsDir() }

// readDir lists a directory with getdents64 directly. os.ReadDir would
// start the runtime's network poller for the directory's *os.File (an
// epoll instance and its eventfd) in every container start.
func readDir(dir string) ([]dirEntry, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var out []dirEntry
	err = eachEntry(fd, func(name string, typ byte) {
		out = append(out, dirEntry{name: name, typ: direntType(dir, name, typ)})
	})
	return out, err
}

// eachEntry calls fn with the name and d_type of each entry of the open
// directory fd but "." and "..".
func eachEntry(fd int, fn func(name string, typ byte)) error {
	buf := make([]byte, 8<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		for b := buf[:n]; len(b) >= 19; {
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen < 19 || reclen > len(b) {
				return unix.EIO
			}
			typ, name := b[18], b[19:reclen]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			b = b[reclen:]
			if s := string(name); s != "." && s != ".." {
				fn(s, typ)
			}
		}
	}
}

// removeAt removes name, in the directory open as parent, and all it
// holds. A directory is opened with O_NOFOLLOW and made writable through
// its descriptor before its entries are removed relative to it, so a
// symlink put in the tree, even in the middle of the walk, is unlinked and
// never followed. Root opens a 0500 (or 0000) directory regardless of its
// mode; a shim that is not root asks for a mode change by name only when
// the open was refused, on a directory of its own user.
func removeAt(parent int, name string) error {
	fd, err := openDir(parent, name, true)
	if err == unix.EACCES && unix.Geteuid() != 0 {
		if err = unix.Fchmodat(parent, name, uint32(workDirMode), 0); err == nil {
			fd, err = openDir(parent, name, true)
		}
	}
	switch {
	case err == unix.ENOTDIR || err == unix.ELOOP:
		return unix.Unlinkat(parent, name, 0) // a file or a symlink
	case err != nil:
		return err
	}
	defer unix.Close(fd)
	_ = unix.Fchmod(fd, uint32(workDirMode))
	// The names first, then the removals: unlinking while getdents reads
	// the same directory can skip entries.
	var children []string
	if err := eachEntry(fd, func(child string, _ byte) { children = append(children, child) }); err != nil {
		return err
	}
	for _, child := range children {
		if err := removeAt(fd, child); err != nil && err != unix.ENOENT {
			return err
		}
	}
	return unix.Unlinkat(parent, name, unix.AT_REMOVEDIR)
}

// direntType turns a d_type into a file mode type, asking lstat when the
// filesystem does not say.
func direntType(dir, name string, t byte) fs.FileMode {
	switch t {
	case unix.DT_REG:
		return 0
	case unix.DT_DIR:
		return fs.ModeDir
	case unix.DT_LNK:
		return fs.ModeSymlink
	case unix.DT_FIFO:
		return fs.ModeNamedPipe
	case unix.DT_SOCK:
		return fs.ModeSocket
	case unix.DT_CHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.DT_BLK:
		return fs.ModeDevice
	}
	fi, err := os.Lstat(dir + "/" + name)
	if err != nil {
		return fs.ModeIrregular
	}
	return fi.Mode().Type()
}
