package mountfs

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Files that something else has put in place already.
//
// Flyte's own webhook may have written the files before the shim starts,
// into a mount the task's container sees read-only:
//
//   - Flyte 1 mounts each group's Kubernetes Secret at
//     /etc/flyte/secrets/<lower(group)>, the kubelet's ..data layout inside,
//     one item per key at <lower(key)>;
//   - Flyte 2 mounts an emptyDir at /etc/flyte/secrets, which an init
//     container filled with one regular file per key, /etc/flyte/secrets/<key>.
//
// A file whose visible name in the mount directory is not one of ours (not
// a symlink to ..data/<name>) is someone else's. When it holds exactly the
// resolved bytes at the file's own path, the file is in place: it is left
// out of the publish, and when every file is in place nothing is written
// at all, not even the mount directory's mode or its ..lock, so that a
// read-only mount is never written to. Anything else at such a name (other
// bytes, no file, a directory where a file belongs) is a conflict, an
// *Error naming the path, before anything is written.

// foreign is what lies at a visible name that is not ours.
type foreign struct {
	typ uint32 // S_IFMT bits of the name itself (lstat)
}

func (f foreign) describe() string {
	switch f.typ {
	case unix.S_IFREG:
		return "a regular file"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFLNK:
		return "a symlink that does not go through ..data"
	}
	return "a special file"
}

// placed splits files into those in place already and the rest, which are
// to be published, keeping their order. It only reads: the mount directory
// and its parents under the root are opened without following a symlink,
// and a missing one means that nothing is in place. A visible name of
// someone else's that does not hold the resolved file is a conflict: the
// error joins one *Error for each.
func (p *publisher) placed(files []File) (in, rest []File, err error) {
	mfd, ok := p.openMount()
	if !ok {
		return nil, files, nil
	}
	defer unix.Close(mfd)
	var conflicts []error
	for _, f := range files {
		top, _, grouped := strings.Cut(f.Path, "/")
		fr, theirs := p.theirs(mfd, top)
		if !theirs {
			rest = append(rest, f)
			continue
		}
		why := p.compare(mfd, f)
		if why == "" {
			in = append(in, f)
			continue
		}
		if grouped && fr.typ == unix.S_IFDIR {
			conflicts = append(conflicts, &Error{Op: "refuse to replace", Path: p.path(f.Path), Err: fmt.Errorf(
				"the group directory %s is not the shim's (something else, such as Flyte 1's webhook, put it there), and %s", p.path(top), why)})
			continue
		}
		conflicts = append(conflicts, &Error{Op: "refuse to replace", Path: p.path(top), Err: fmt.Errorf(
			"%s is in the way, and %s: something else, such as Flyte 2's webhook, put it there", fr.describe(), why)})
	}
	if len(conflicts) > 0 {
		return nil, nil, errors.Join(conflicts...)
	}
	return in, rest, nil
}

// openMount opens the mount directory for reading, walking from the root
// without following a symlink below it, as ensureDir does. ok is false when
// it can't be opened: then nothing is in place, and the publish says why.
func (p *publisher) openMount() (int, bool) {
	root := p.root
	if root == "" {
		root = "/"
	}
	fd, err := openDir(unix.AT_FDCWD, root, false)
	if err != nil {
		return -1, false
	}
	for _, comp := range strings.Split(strings.TrimPrefix(mountPath, "/"), "/") {
		next, err := openDir(fd, comp, true)
		unix.Close(fd)
		if err != nil {
			return -1, false
		}
		fd = next
	}
	return fd, true
}

// theirs reports whether the visible name top exists and is not one of our
// symlinks, and what it is.
func (p *publisher) theirs(mfd int, top string) (foreign, bool) {
	var st unix.Stat_t
	if err := unix.Fstatat(mfd, top, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return foreign{}, false // missing, or the publish reports it
	}
	fr := foreign{typ: st.Mode & unix.S_IFMT}
	if fr.typ == unix.S_IFLNK && len(top) <= 255 { // NAME_MAX: lstat found it
		// One byte more than ..data/<top>, to tell a longer target.
		var arr [len(dataLink) + 1 + 255 + 1]byte
		buf := arr[:len(dataLink)+1+len(top)+1]
		n, err := unix.Readlinkat(mfd, top, buf)
		if err == nil && n == len(buf)-1 && string(buf[:len(dataLink)]) == dataLink && buf[len(dataLink)] == '/' && string(buf[len(dataLink)+1:n]) == top {
			return foreign{}, false // ours
		}
	}
	return fr, true
}

// compare reads the file at f.Path below the mount directory and returns ""
// when it holds exactly f's value, or else why not, naming no value. The
// file is opened without blocking (a FIFO is not waited on), only a regular
// file is read, and no more than the value's length; symlinks are followed
// only while they stay below the mount directory (the kubelet's ..data
// layout), where the kernel can tell.
func (p *publisher) compare(mfd int, f File) string {
	fd, err := openBeneath(mfd, f.Path)
	switch {
	case err == unix.ENOENT || err == unix.ENOTDIR:
		return "there is no such file"
	case err == unix.EXDEV:
		return "the file leads out of the secrets directory"
	case err != nil:
		return "the file can't be read: " + err.Error()
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "the file can't be read: " + err.Error()
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return "what is there is not a regular file"
	}
	want := f.Value.Bytes()
	if st.Size != int64(len(want)) {
		return "the file holds other content than the resolved value"
	}
	got := make([]byte, len(want)+1) // one more, to see a file that grew
	n := 0
	for n < len(got) {
		m, err := unix.Read(fd, got[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "the file can't be read: " + err.Error()
		}
		if m == 0 {
			break
		}
		n += m
	}
	same := bytes.Equal(got[:n], want)
	clear(got)
	if !same {
		return "the file holds other content than the resolved value"
	}
	return ""
}

// openBeneath opens path below dirfd for reading, following symlinks only
// while they stay below it (openat2 with RESOLVE_BENEATH). Where openat2 is
// not there (before Linux 5.6, or refused by a seccomp filter) it opens the
// path with openat, following symlinks: compare only reads, and a file that
// differs is a conflict either way.
func openBeneath(dirfd int, path string) (int, error) {
	const flags = unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_NOCTTY
	for {
		fd, err := unix.Openat2(dirfd, path, &unix.OpenHow{
			Flags:   flags,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
		})
		switch err {
		case unix.EINTR:
			continue
		case unix.ENOSYS, unix.EPERM:
			for {
				fd, err = unix.Openat(dirfd, path, flags, 0)
				if err != unix.EINTR {
					return fd, err
				}
			}
		}
		return fd, err
	}
}

// readOnly is for a mount directory that turned out to be read-only (cause,
// EROFS, from making it 0755 or its ..lock): nothing can be published there,
// so the files still to publish are in place only if each already holds the
// resolved bytes at its path, whoever made it (a kubelet's ..data layout
// looks like ours). It returns the files now in place, or an error that
// names, besides cause, each file that is not.
func (p *publisher) readOnly(cause error, in, rest []File) ([]File, error) {
	if len(rest) == 0 {
		return nil, cause // an empty set: it can't be published there
	}
	mfd, ok := p.openMount()
	if ok {
		defer unix.Close(mfd)
	}
	var errs []error
	for _, f := range rest {
		why := "the secrets directory can't be opened"
		if ok {
			why = p.compare(mfd, f)
		}
		if why == "" {
			in = append(in, f)
			continue
		}
		errs = append(errs, &Error{Op: "publish secret file", Path: p.path(f.Path), Err: fmt.Errorf(
			"the secrets directory is on a read-only filesystem (a read-only mount, such as Flyte's webhook makes), and %s", why)})
	}
	if len(errs) > 0 {
		return nil, errors.Join(append([]error{cause}, errs...)...)
	}
	return in, nil
}

// isReadOnly reports whether err says the filesystem is read-only.
func isReadOnly(err error) bool { return errors.Is(err, syscall.EROFS) }
