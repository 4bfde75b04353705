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
	buf := make([]byte, 8<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return out, nil
		}
		for b := buf[:n]; len(b) >= 19; {
			reclen := int(b[16]) | int(b[17])<<8
			if reclen < 19 || reclen > len(b) {
				return nil, unix.EIO
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
				out = append(out, dirEntry{name: s, typ: direntType(dir, s, typ)})
			}
		}
	}
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
