// Package readfile reads the files that come from outside (a spec, a store
// record, a secret file, a Docker config) so that none of them can hang the
// shim or exhaust its memory: it opens without blocking, refuses anything
// but a regular file, and refuses a file over a limit before reading it.
//
// It uses the system calls directly: an *os.File would register with the
// runtime's network poller, which every container start would pay for.
package readfile

import (
	"errors"
	"fmt"
	"syscall"
)

// The limits, in bytes (docs/BEHAVIOUR.md).
const (
	// MaxSpec is the largest --spec file.
	MaxSpec = 4 << 20
	// MaxValue is the largest secret value: a Kubernetes Secret's limit.
	MaxValue = 1 << 20
)

// ErrNotRegular is a path that names a FIFO, a device, a socket or a
// directory.
var ErrNotRegular = errors.New("not a regular file")

// TooBigError is a file over its limit.
type TooBigError struct {
	Size, Limit int64
}

func (e *TooBigError) Error() string {
	return fmt.Sprintf("%d bytes, more than the limit of %d", e.Size, e.Limit)
}

// Regular reads the regular file at path, at most limit bytes. A missing
// file is the open's errno (ENOENT, ENOTDIR); a FIFO, device or directory is
// ErrNotRegular (a directory: syscall.EISDIR too); a file over limit is a
// *TooBigError, found from its size before anything is read. Errors name no
// path: the caller does.
func Regular(path string, limit int64) ([]byte, error) {
	fd, err := open(path)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := fstat(fd, &st); err != nil {
		return nil, err
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
	case syscall.S_IFDIR:
		return nil, fmt.Errorf("%w: %w", ErrNotRegular, syscall.EISDIR)
	default:
		return nil, fmt.Errorf("%w (%s)", ErrNotRegular, Type(st.Mode))
	}
	if st.Size > limit {
		return nil, &TooBigError{Size: st.Size, Limit: limit}
	}
	return readAll(fd, st.Size, limit, true)
}

// Stream reads what path gives, a regular file or a pipe (`--from-file
// <(cmd)`, /dev/stdin), at most limit bytes. A FIFO is opened without
// blocking and then read in blocking mode, so a writer that never comes is
// the caller's deadline's to end. Devices and directories are refused.
func Stream(path string, limit int64) ([]byte, error) {
	fd, err := open(path)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := fstat(fd, &st); err != nil {
		return nil, err
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		if st.Size > limit {
			return nil, &TooBigError{Size: st.Size, Limit: limit}
		}
	case syscall.S_IFIFO, syscall.S_IFSOCK:
	case syscall.S_IFDIR:
		return nil, fmt.Errorf("%w: %w", ErrNotRegular, syscall.EISDIR)
	default:
		return nil, fmt.Errorf("%w (%s)", ErrNotRegular, Type(st.Mode))
	}
	return readAll(fd, st.Size, limit, false)
}

// readAll reads to the end, or fails with a *TooBigError past limit. size is
// what fstat said, the first guess at the buffer. For a regular file, a read
// that leaves the buffer's room unfilled once size bytes are in is the end
// (a regular file reads short only there), which saves the read that would
// return 0: one system call per secret file at every start.
func readAll(fd int, size, limit int64, regular bool) ([]byte, error) {
	buf := make([]byte, 0, min(max(size, 512), limit)+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			// A FIFO opened without blocking: wait for its writer.
			if err := setBlocking(fd); err != nil {
				return nil, err
			}
			continue
		case err != nil:
			return nil, err
		case n == 0:
			return buf, nil
		}
		short := n < cap(buf)-len(buf)
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, &TooBigError{Size: int64(len(buf)), Limit: limit}
		}
		if regular && short && int64(len(buf)) >= size {
			return buf, nil
		}
	}
}

func open(path string) (int, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

func fstat(fd int, st *syscall.Stat_t) error {
	for {
		if err := syscall.Fstat(fd, st); err != syscall.EINTR {
			return err
		}
	}
}

func setBlocking(fd int) error {
	return syscall.SetNonblock(fd, false)
}

// Type names what a stat mode says a file is, for messages.
func Type(mode uint32) string {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		return "a regular file"
	case syscall.S_IFDIR:
		return "a directory"
	case syscall.S_IFIFO:
		return "a FIFO"
	case syscall.S_IFSOCK:
		return "a socket"
	case syscall.S_IFCHR:
		return "a character device"
	case syscall.S_IFBLK:
		return "a block device"
	case syscall.S_IFLNK:
		return "a symlink"
	}
	return "not a file"
}
