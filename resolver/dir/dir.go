// Package dir is the backend that reads a directory laid out like Flyte's
// secret mounts: <dir>/<key>, or <dir>/<lower(group)>/<lower(key)> when the
// request has a group.
//
// Symlinks are followed, since a Kubernetes volume is a tree of ..data
// symlinks. The backend stays inside its directory: a key or group that
// breaks the file-request name rules (it contains "/", is "." or "..",
// starts with "..", is empty, holds a NUL or other control character, or is
// longer than 253 bytes) is "not found" and nothing is read. A missing file
// (ENOENT, ENOTDIR) is "not found"; any other failure (EACCES, a directory or
// a FIFO where the file should be, EIO, a symlink loop) is an error that
// names the path.
package dir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"unicode"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
)

// maxName is the longest key or group, in bytes.
const maxName = 253

// Backend reads secrets from files under one directory.
type Backend struct {
	dir string
}

var _ resolver.Backend = (*Backend)(nil)

// New returns a backend that reads under dir.
func New(dir string) *Backend {
	if dir != "" {
		dir = filepath.Clean(dir)
	}
	return &Backend{dir: dir}
}

// Path is the file Lookup reads for ref. It fails with a "not found" error,
// without touching the file system, when the key or group breaks the
// file-request name rules.
func (b *Backend) Path(ref resolver.Ref) (string, error) {
	if b.dir == "" {
		return "", resolver.NotFound("no directory set")
	}
	if err := checkName("key", ref.Key); err != nil {
		return "", err
	}
	if ref.Group == "" {
		return b.join(ref.Key), nil
	}
	if err := checkName("group", ref.Group); err != nil {
		return "", err
	}
	group, key := strings.ToLower(ref.Group), strings.ToLower(ref.Key)
	// Lower-casing can change bytes (invalid UTF-8 becomes U+FFFD), so the
	// names actually used are checked too.
	if err := checkName("group", group); err != nil {
		return "", err
	}
	if err := checkName("key", key); err != nil {
		return "", err
	}
	return b.join(group + "/" + key), nil
}

// join puts a checked name (no "/", ".", ".." or empty component) under the
// directory, which New cleaned: no Clean needed on every lookup.
func (b *Backend) join(name string) string {
	if b.dir == "/" {
		return "/" + name
	}
	return b.dir + "/" + name
}

// checkName applies the file-request name rules. A name that breaks them
// cannot name a file in the directory, so it is "not found".
func checkName(what, s string) error {
	why := ""
	switch {
	case s == "":
		why = "it is empty"
	case len(s) > maxName:
		why = fmt.Sprintf("it is longer than %d bytes", maxName)
	case s == "." || s == "..":
		why = "it is " + s
	case strings.HasPrefix(s, ".."):
		why = `it starts with ".."`
	case strings.ContainsRune(s, '/'):
		why = `it contains "/"`
	case strings.IndexFunc(s, isControl) >= 0:
		why = "it holds a control character"
	default:
		return nil
	}
	return resolver.NotFound("%s %q breaks the file name rules: %s", what, s, why)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || unicode.IsControl(r) }

// Lookup reads the file for ref.
func (b *Backend) Lookup(ctx context.Context, ref resolver.Ref) (secret.Value, error) {
	if err := ctx.Err(); err != nil {
		return secret.Value{}, err
	}
	p, err := b.Path(ref)
	if err != nil {
		return secret.Value{}, err
	}
	data, err := readFile(p)
	if err != nil {
		return secret.Value{}, err
	}
	return secret.New(data), nil
}

// readFile reads a regular file. It opens without blocking, so that a FIFO
// planted where a secret should be is an error rather than a hang. It uses
// the system calls directly: every container start reads its secrets here,
// and an *os.File (its poller registration, its finalizer) costs several
// times the read itself.
func readFile(p string) ([]byte, error) {
	fd, err := openNoCtty(p)
	if err != nil {
		if err == syscall.ENOENT || err == syscall.ENOTDIR {
			return nil, resolver.NotFoundText("no file " + p)
		}
		return nil, fmt.Errorf("read secret file %q: %w", p, err)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("read secret file %q: %w", p, err)
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
	case syscall.S_IFDIR:
		return nil, fmt.Errorf("read secret file %q: is a directory", p)
	default:
		return nil, fmt.Errorf("read secret file %q: not a regular file (%s)", p, fileType(st.Mode))
	}
	data := make([]byte, 0, st.Size+1)
	for {
		n, err := syscall.Read(fd, data[len(data):cap(data)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read secret file %q: %w", p, err)
		}
		if n == 0 {
			return data, nil
		}
		short := n < cap(data)-len(data)
		data = data[:len(data)+n]
		if short && int64(len(data)) == st.Size {
			// All fstat said there is, and less than asked: the end, with
			// no read for the EOF. (A file that grew since fills the
			// buffer, and one read short of its size goes on reading.)
			return data, nil
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
}

// fileType names what a stat mode says a file is.
func fileType(mode uint32) string {
	switch mode & syscall.S_IFMT {
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

func openNoCtty(p string) (int, error) {
	for {
		fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

func fstat(fd int, st *syscall.Stat_t) error {
	for {
		err := syscall.Fstat(fd, st)
		if err != syscall.EINTR {
			return err
		}
	}
}

// unwrapPath drops the *fs.PathError around an errno: the caller names the
// path already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
