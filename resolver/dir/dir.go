// Package dir is the backend that reads a directory laid out like Flyte's
// secret mounts: <dir>/<key>, or <dir>/<lower(group)>/<lower(key)> when the
// request has a group.
//
// A request with a group whose <dir>/<lower(group)>/<lower(key)> is missing
// is looked up at <dir>/<key> next, the key's case kept: Flyte 2's webhook
// writes /etc/flyte/secrets/<key> and ignores the group, where Flyte 1 mounts
// each group's Secret at /etc/flyte/secrets/<lower(group)>. Only a missing
// file moves on to the second path; any other failure at the first is the
// answer.
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

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/readfile"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
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

// Path is the first file Lookup reads for ref. It fails with a "not found"
// error, without touching the file system, when the key or group breaks the
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

// Paths are the files Lookup reads for ref, in order: Path, then, for a
// request with a group, <dir>/<key>.
func (b *Backend) Paths(ref resolver.Ref) ([]string, error) {
	p, err := b.Path(ref)
	if err != nil {
		return nil, err
	}
	if ref.Group == "" {
		return []string{p}, nil
	}
	return []string{p, b.join(ref.Key)}, nil
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
	return resolver.NotFound("%s %s breaks the file name rules: %s", what, spec.Quote(s), why)
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
	if err != nil && ref.Group != "" && resolver.IsNotFound(err) {
		// Flyte 2's layout: the group ignored, the key as given. Path
		// checked the key already.
		alt := b.join(ref.Key)
		if data, err = readFile(alt); resolver.IsNotFound(err) {
			err = resolver.NotFoundText("no file " + p + " nor " + alt)
		}
	}
	if err != nil {
		return secret.Value{}, err
	}
	return secret.New(data), nil
}

// readFile reads a regular file of at most readfile.MaxValue bytes. It opens
// without blocking, so that a FIFO planted where a secret should be is an
// error rather than a hang, and checks the size before reading, so that a
// huge (or sparse) file is an error rather than an out-of-memory crash.
func readFile(p string) ([]byte, error) {
	data, err := readfile.Regular(p, readfile.MaxValue)
	switch {
	case err == syscall.ENOENT || err == syscall.ENOTDIR:
		return nil, resolver.NotFoundText("no file " + p)
	case errors.Is(err, syscall.EISDIR):
		return nil, fmt.Errorf("read secret file %q: is a directory", p)
	case err != nil:
		return nil, fmt.Errorf("read secret file %q: %w", p, err)
	}
	return data, nil
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
