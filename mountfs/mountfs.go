// Package mountfs writes secret files under the mount directory
// (/etc/flyte/secrets, under an optional root prefix) in the atomic layout
// that Kubernetes uses for Secret and ConfigMap volumes:
//
//	/etc/flyte/secrets/
//	    ..2026_11_26_20_15_20.123456789/   version directory, 0500
//	        api-key                        file, 0400
//	        db/                            group directory, 0500
//	            password                   file, 0400
//	    ..data -> ..2026_11_26_20_15_20.123456789
//	    api-key -> ..data/api-key
//	    db -> ..data/db
//
// Publishing a version has two steps, so that a caller can check something
// between writing and making visible (Prepare, then Commit or Abort), and
// Publish does both:
//
//  1. Prepare retires the version directories that ..data does not name
//     (left by a start in exec mode, Tidy, or by a crash), writes every
//     file of the new version into a new version directory, gives each
//     visible name that is new in this version its symlink through ..data
//     (made at a temporary name and renamed into place, never over an
//     existing name), and makes ..data_tmp, a symlink
//     to the new version. A new visible name dangles until ..data names the
//     new version: opening it fails with ENOENT, as for a name that was
//     removed just after a reader listed the directory. Nothing that
//     resolves through ..data has changed.
//  2. Commit renames ..data_tmp onto ..data with one rename(2), the only
//     commit point: before it every name resolves as in the previous
//     version, after it every path through ..data names the new version.
//     Then the visible names the new version no longer has (they dangle
//     since the rename) are removed and older version directories are
//     retired. A name present in both versions keeps its symlink: it goes
//     through ..data, so it switched with the rename.
//
// So a process killed at any point of a publish, even with SIGKILL, leaves
// the previous version or the new one complete and visible (the previous
// one is none on a first publish): the visible names that resolve are
// exactly the set of the version ..data names. Besides, it can leave hidden
// names (a version directory, ..old_*, ..data_tmp, ..link_tmp) and dangling
// visible symlinks through ..data, and the next publish removes them.
//
// # Reading a consistent snapshot
//
// Opening the visible names one by one goes through ..data at each open, so
// a reader that does that while a new version is published can get some
// files of one version and some of the next. A reader that needs all files
// of one version does this:
//
//  1. V := readlink("<dir>/..data"), the version directory's name.
//  2. Read the files under <dir>/V: <dir>/V/<key> and <dir>/V/<group>/<key>.
//  3. Check that <dir>/V still exists (lstat).
//
// If a read in step 2 fails with ENOENT, or step 3 does, V was retired
// meanwhile: start again at step 1. That is not a mix. A version directory
// never changes once ..data has named it, and a retired one is first renamed
// away (to ..old_<timestamp>) before anything in it is removed, so a read
// that found <dir>/V found all of it.
//
// Publishes into one mount directory are serialised, within a process and
// across processes (an init container and the main container sharing an
// emptyDir): a Pending holds an flock(2) on ..lock in the mount directory,
// and its Publisher's mutex, from Prepare until Commit, Finish, Revert or
// Abort. So the last publisher wins whole, and no publisher retires a
// version that another has just made current.
//
// # Beside Flyte's webhook
//
// Flyte 1 mounts each group's Secret read-only at
// /etc/flyte/secrets/<lower(group)>; Flyte 2 mounts a read-only emptyDir at
// /etc/flyte/secrets with a regular file per key. A file that such a mount
// holds already, with the resolved bytes, is not published again (and a
// publish of nothing but such files writes nothing); anything else in the
// way is an *Error naming the path. placed.go has the rules.
//
// A Publisher remembers what it last published (Same), so that a watcher
// republishes only when something changed.
package mountfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
)

// mountPath is the logical mount directory (spec.MountPath).
const mountPath = "/etc/flyte/secrets"

const (
	dataLink    = "..data"
	dataTmp     = "..data_tmp"
	linkTmp     = "..link_tmp"
	oldPrefix   = "..old_"                        // a version directory being retired
	stampLayout = "2006_01_02_15_04_05.000000000" // after ".." in a version's name

	fileMode    os.FileMode = 0o400
	dirMode     os.FileMode = 0o500 // version and group directories, once written
	workDirMode os.FileMode = 0o700 // the same while they are written
	mountMode   os.FileMode = 0o755
)

// Dir is the real mount directory for a root prefix: root + /etc/flyte/secrets.
// An empty root is the real /.
func Dir(root string) string { return filepath.Join(root, mountPath) }

// File is one secret file to publish.
type File struct {
	// Path is the file's path under the mount directory: "key", or
	// "group/key" (the caller lower-cases a grouped path).
	Path  string
	Value secret.Value
	// Key and Group name the secret in logs.
	Key   string
	Group string
}

// Options says where and as whom files are published.
type Options struct {
	// Root prefixes the mount directory (--root). "" is the real /.
	Root string
	// UID and GID own every file, directory and symlink that a publish
	// creates, and the visible symlinks it keeps. -1 leaves that part of the owner as it is.
	UID, GID int
	// Logger gets the warnings (a mount not on tmpfs or ramfs, leftovers that
	// could not be removed). nil logs nothing.
	Logger *log.Logger
}

// Result describes a published version.
type Result struct {
	Dir          string // the real mount directory
	Version      string // the version directory's name, the target of ..data
	MemoryBacked bool   // the mount directory is on tmpfs or ramfs
}

// Error is a failure to publish. It names the path and the cause, never a
// value. The caller maps it to exit 73.
type Error struct {
	Op   string // what was being done, e.g. "write secret file"
	Path string // a real path under the mount root, or a File.Path as given
	Err  error  // the cause
}

func (e *Error) Error() string { return fmt.Sprintf("%s %q: %v", e.Op, e.Path, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// fail builds an *Error, keeping only the cause of an os error, whose own
// text would repeat the path.
func fail(op, path string, err error) *Error {
	var pe *fs.PathError
	var le *os.LinkError
	var se *os.SyscallError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	case errors.As(err, &se):
		err = se.Err
	}
	return &Error{Op: op, Path: path, Err: err}
}

// testHook, when set, runs at the named stage of a publish; an error it
// returns fails the publish there. Stages: "written" (the new version is
// complete, nothing visible changed yet), "linked" (the end of Prepare: the
// new visible names and ..data_tmp are made), "commit" (the start of
// Commit, just before the rename).
var testHook func(stage string) error

// now is time.Now; a test stops the clock with it.
var now = time.Now

func hook(stage string) error {
	if testHook == nil {
		return nil
	}
	return testHook(stage)
}

// Publisher publishes versions into one mount directory, one at a time.
type Publisher struct {
	opts Options
	mu   sync.Mutex // held from Prepare until the publish is over
	last []File     // the files of the version this Publisher made current last
}

// NewPublisher returns a publisher into Dir(opts.Root).
func NewPublisher(opts Options) *Publisher {
	if opts.Logger == nil {
		opts.Logger = log.Nop()
	}
	return &Publisher{opts: opts}
}

// Dir is the real mount directory.
func (p *Publisher) Dir() string { return Dir(p.opts.Root) }

// Same reports whether files are exactly what this Publisher last made
// current: the same paths with the same bytes. Before any publish it is
// false.
func (p *Publisher) Same(files []File) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil || len(files) != len(p.last) {
		return false
	}
	byPath := make(map[string][]byte, len(p.last))
	for _, f := range p.last {
		byPath[f.Path] = f.Value.Bytes()
	}
	for _, f := range files {
		b, ok := byPath[f.Path]
		if !ok || !bytes.Equal(b, f.Value.Bytes()) {
			return false
		}
	}
	return true
}

// Publish writes files as a new version under Dir(opts.Root) and makes it
// the current one: Prepare, then Commit. It is all or nothing: on any
// error nothing the publish made is left, and what a reader sees is the
// previous version, unchanged. The error is then an *Error.
func Publish(opts Options, files []File) (Result, error) {
	return NewPublisher(opts).Publish(files)
}

// Publish is Prepare, then Commit.
func (p *Publisher) Publish(files []File) (Result, error) {
	pd, err := p.Prepare(files)
	if err != nil {
		return Result{Dir: p.Dir()}, err
	}
	return pd.Commit()
}

// Prepare is NewPublisher(opts).Prepare(files), for a single publish.
func Prepare(opts Options, files []File) (*Pending, error) {
	return NewPublisher(opts).Prepare(files)
}

// Pending is a version that Prepare wrote. Until the publish is over, every
// other publish into the mount directory waits. A Pending is for one
// goroutine. Its life is one of:
//
//	Prepare -> Abort                    nothing changed
//	Prepare -> Commit                   the version is current; old ones retired
//	Prepare -> Switch -> Finish         the same, in two steps
//	Prepare -> Switch -> Revert         the previous version is current again
type Pending struct {
	p        *Publisher
	pub      *publisher
	lock     int // the flock on ..lock, an open file descriptor
	st       state
	version  string      // the new version directory
	files    []File      // what it holds
	created  []string    // the visible symlinks Prepare made
	chowned  []linkOwner // kept visible symlinks whose owner Prepare changed
	dataTmp  bool        // Prepare made ..data_tmp
	switched bool        // ..data names the new version
	tidied   bool        // Tidy removed the names the new version lacks
	res      Result
	done     bool // the publish is over
	// all is every file asked for: files and those in place already
	// (placed.go), which this version leaves out.
	all []File
	// noop says every file was in place already: there is no version, and
	// the steps of the publish do nothing.
	noop bool
}

// linkOwner is a symlink's owner before Prepare changed it.
type linkOwner struct {
	name     string
	uid, gid int
}

// Prepare writes files as a new version under the mount directory without
// making it visible. It does everything that can fail for reasons of the
// files or the directory, so that Commit has only the rename left:
//
//   - It checks every File.Path (one or two plain components, none of them
//     ".", "..", empty or starting with ".."; no two files at one path; no
//     name both a file and a group) before anything is created.
//   - It leaves out the files that something else (Flyte's webhook) has put
//     in place already, under a visible name that is not one of ours, with
//     exactly the resolved bytes, and logs that once; anything else under
//     such a name is a conflict, refused before anything is written (see
//     placed.go). When every file is in place, nothing is written at all,
//     and the Pending's steps do nothing. A mount directory that turns out
//     to be read-only is in place only if every file is there already.
//   - It creates the mount directory with its parents if missing, and sets
//     it to 0755. It warns through opts.Logger when the mount directory is
//     not memory-backed.
//   - It refuses to replace anything in the mount directory that is not
//     one of its own symlinks, before anything is written.
//   - It writes the version directory: files 0400, the version and group
//     directories 0500, owned by opts.UID and opts.GID.
//   - It makes the symlinks of the visible names that are new in this
//     version. They dangle until Commit.
//
// On error nothing it made is left but the mount directory (and its
// ..lock), and the error is an *Error. On success the caller must end the
// publish (Commit, Finish, Revert or Abort): the Pending holds the publish
// locks until then.
func (p *Publisher) Prepare(files []File) (*Pending, error) {
	pub := &publisher{
		root:   p.opts.Root,
		dir:    p.Dir(),
		uid:    owner(p.opts.UID),
		gid:    owner(p.opts.GID),
		logger: p.opts.Logger,
	}
	names, err := plan(files)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	in, rest, err := pub.placed(files)
	if err != nil {
		p.mu.Unlock()
		return nil, err
	}
	if len(in) > 0 {
		names, _ = plan(rest) // a subset of checked paths
	}
	lock := -1
	if len(rest) > 0 || len(in) == 0 { // an empty set is published too: it retires the old names
		err = pub.ensureDir()
		if err == nil {
			lock, err = pub.lock()
		}
		if err != nil && isReadOnly(err) {
			in, err = pub.readOnly(err, in, rest)
			rest = nil
		}
		if err != nil {
			p.mu.Unlock()
			return nil, err
		}
	}
	if len(in) > 0 {
		paths := make([]string, len(in))
		for i, f := range in {
			paths[i] = f.Path
		}
		pub.logger.Info("secret files are in place already, with the resolved content, put there by something else (Flyte's webhook?): not published again",
			log.String("dir", pub.dir), log.Int("files", len(in)), log.Strings("paths", paths))
	}
	if len(rest) == 0 && len(in) > 0 {
		// Nothing to write: the publish holds only the Publisher's mutex.
		return &Pending{p: p, pub: pub, lock: -1, noop: true, all: files, res: Result{Dir: pub.dir}}, nil
	}
	pd, err := pub.prepare(names, rest)
	if err != nil {
		unlock(lock)
		p.mu.Unlock()
		return nil, err
	}
	pd.p, pd.lock, pd.files, pd.all = p, lock, rest, files
	return pd, nil
}

func (p *publisher) prepare(names []string, files []File) (*Pending, error) {
	mem, err := p.onMemoryFS()
	switch {
	case err != nil:
		p.logger.Warn("cannot tell whether the secrets directory is memory-backed", log.String("dir", p.dir), log.Err(err))
	case !mem:
		p.logger.Warn("the secrets directory is not on a memory-backed filesystem (tmpfs or ramfs): secret files may reach a disk",
			log.String("dir", p.dir))
	}

	st, err := p.scan(names)
	if err != nil {
		return nil, err
	}
	p.retireLeftovers(&st)
	version, err := p.writeVersion(files)
	if err != nil {
		return nil, err
	}
	pd := &Pending{
		pub:     p,
		st:      st,
		version: version,
		res:     Result{Dir: p.dir, Version: version, MemoryBacked: mem},
	}
	err = pd.link(names)
	if err == nil {
		if err = p.newLink(version, dataTmp); err == nil {
			pd.dataTmp = true
			if herr := hook("linked"); herr != nil {
				err = fail("publish", p.path(version), herr)
			}
		}
	}
	if err != nil {
		pd.rollbackLogged()
		return nil, err
	}
	return pd, nil
}

// Version is the name of the version directory Prepare wrote: "" when every
// file was in place already.
func (pd *Pending) Version() string { return pd.version }

// Commit is Switch, then Finish: the prepared version becomes the current
// one and the older versions are retired. When the rename fails, what a
// reader sees is the previous version, unchanged, and the error is an
// *Error. Commit after the publish is over is an error.
func (pd *Pending) Commit() (Result, error) {
	if err := pd.Switch(); err != nil {
		return Result{Dir: pd.pub.dir, MemoryBacked: pd.res.MemoryBacked}, err
	}
	pd.Finish()
	return pd.res, nil
}

// Switch makes the prepared version the current one with one rename of
// ..data, the commit point. Nothing else changes yet: the previous version
// stays on disk, so that Revert can make it current again, until Finish
// retires it.
//
// When the rename fails, Switch undoes what Prepare made, as Abort does,
// ends the publish, and returns an *Error: what a reader sees is the
// previous version, unchanged.
func (pd *Pending) Switch() error {
	if pd.done || pd.switched {
		return &Error{Op: "commit", Path: pd.pub.path(pd.version), Err: errors.New("the publish is over already")}
	}
	if pd.noop {
		pd.switched = true
		return nil
	}
	p := pd.pub
	var err error
	if herr := hook("commit"); herr != nil {
		err = fail("publish", p.path(dataLink), herr)
	} else if rerr := os.Rename(p.path(dataTmp), p.path(dataLink)); rerr != nil {
		err = fail("publish (rename ..data_tmp to ..data)", p.path(dataLink), rerr)
	}
	if err != nil {
		pd.rollbackLogged()
		pd.end()
		return err
	}
	pd.dataTmp = false // it is ..data now
	pd.switched = true
	// A start's first publish is in its one info line (files=N); a
	// republish (--watch) is news of its own.
	logf := p.logger.Debug
	if pd.p.last != nil {
		logf = p.logger.Info
	}
	logf("published secret files", log.String("dir", p.dir), log.String("version", pd.version), log.Int("files", len(pd.files)))
	return nil
}

// Finish ends a switched publish: it removes the visible names the new
// version no longer has and retires every older version. A failure here is
// only a warning: what it leaves is hidden or dangling, and the next publish
// removes it. Finish before Switch, or after the publish is over, does
// nothing.
func (pd *Pending) Finish() {
	if pd.done || !pd.switched {
		return
	}
	if !pd.noop {
		pd.pub.cleanup(pd.st, pd.version)
	}
	pd.p.last = pd.all
	pd.end()
}

// Tidy is the quick part of Finish, for a caller that cannot wait for the
// rest (exec mode, just before execve): the visible names the new version
// no longer has are removed, and the older version directories are left,
// hidden, for the next publish to retire. The publish stays open: Revert
// still puts the previous version back, names included, and Finish ends it.
func (pd *Pending) Tidy() {
	if pd.done || !pd.switched || pd.tidied || pd.noop {
		return
	}
	pd.pub.tidy(pd.st)
	pd.tidied = true
}

// Revert undoes a switched publish: the previous version is made current
// again with one rename of ..data (or, on a first publish, ..data is
// removed), then what Prepare made is removed. An error (an *Error, or
// several joined) names what could not be undone. Revert before Switch is
// Abort; after the publish is over it does nothing.
func (pd *Pending) Revert() error {
	if pd == nil || pd.done {
		return nil
	}
	if !pd.switched {
		return pd.Abort()
	}
	defer pd.end()
	if pd.noop {
		pd.switched = false
		return nil
	}
	p := pd.pub
	if pd.st.oldTarget == "" {
		if err := os.Remove(p.path(dataLink)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fail("remove the ..data symlink", p.path(dataLink), err)
		}
	} else {
		if err := p.newLink(pd.st.oldTarget, dataTmp); err != nil {
			return err
		}
		if err := os.Rename(p.path(dataTmp), p.path(dataLink)); err != nil {
			_ = os.Remove(p.path(dataTmp))
			return fail("revert (rename ..data_tmp to ..data)", p.path(dataLink), err)
		}
	}
	pd.switched = false
	var errs []error
	if pd.tidied {
		// Put back the visible names of the previous version that Tidy took.
		for name := range pd.st.ours {
			if pd.st.needed[name] {
				continue
			}
			if err := syscall.Symlink(dataLink+"/"+name, p.path(name)); err != nil && err != syscall.EEXIST {
				errs = append(errs, fail("put back a symlink", p.path(name), err))
			}
		}
	}
	return errors.Join(append(errs, pd.rollback(true))...)
}

// Abort removes what Prepare made: the prepared version directory,
// ..data_tmp and the new visible symlinks, and gives the kept visible
// symlinks their previous owner back. The previous version stays as it
// was. After Switch (use Revert), or after the publish is over, it does
// nothing and returns nil, so a caller can defer it right after Prepare. An
// error (an *Error, or several joined) names what could not be removed.
func (pd *Pending) Abort() error {
	if pd == nil || pd.done || pd.switched {
		return nil
	}
	defer pd.end()
	return pd.rollback(false)
}

// end gives back the publish locks.
func (pd *Pending) end() {
	pd.done = true
	unlock(pd.lock)
	pd.p.mu.Unlock()
}

// link gives each visible name that is new its symlink through ..data,
// and each kept one its owner. Nothing a reader resolves changes: a new
// name dangles until ..data names the new version.
func (pd *Pending) link(names []string) error {
	p := pd.pub
	for _, name := range names {
		if pd.st.ours[name] {
			if err := pd.chownKept(name); err != nil {
				return err
			}
			continue
		}
		if err := p.newLink(dataLink+"/"+name, linkTmp); err != nil {
			return err
		}
		if err := renameNoReplace(p.path(linkTmp), p.path(name)); err != nil {
			_ = os.Remove(p.path(linkTmp))
			return fail("create visible symlink", p.path(name), err)
		}
		pd.created = append(pd.created, name)
	}
	return nil
}

// chownKept gives a kept visible symlink the owner asked for, and notes
// its owner before, for a rollback.
func (pd *Pending) chownKept(name string) error {
	p := pd.pub
	if !p.chowns() {
		return nil
	}
	path := p.path(name)
	fi, err := os.Lstat(path)
	if err != nil {
		return fail("stat symlink", path, err)
	}
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fail("stat symlink", path, errors.New("no owner in the stat result"))
	}
	was := linkOwner{name: name, uid: int(sys.Uid), gid: int(sys.Gid)}
	if (p.uid < 0 || p.uid == was.uid) && (p.gid < 0 || p.gid == was.gid) {
		return nil
	}
	if err := os.Lchown(path, p.uid, p.gid); err != nil {
		return fail("chown symlink", path, err)
	}
	pd.chowned = append(pd.chowned, was)
	return nil
}

// rollback undoes Prepare, newest first. It removes only what Prepare
// made, so the previous version is left as it was. named says that ..data
// has named the new version (a Revert): a reader may have resolved it.
func (pd *Pending) rollback(named bool) error {
	if pd.noop {
		return nil // nothing was made
	}
	p := pd.pub
	var errs []error
	if pd.dataTmp {
		if err := os.Remove(p.path(dataTmp)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fail("remove the ..data_tmp symlink", p.path(dataTmp), err))
		}
		pd.dataTmp = false
	}
	for i := len(pd.created) - 1; i >= 0; i-- {
		path := p.path(pd.created[i])
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fail("remove a symlink of an aborted publish", path, err))
		}
	}
	pd.created = nil
	for i := len(pd.chowned) - 1; i >= 0; i-- {
		o := pd.chowned[i]
		if err := os.Lchown(p.path(o.name), o.uid, o.gid); err != nil {
			errs = append(errs, fail("give a symlink its owner back", p.path(o.name), err))
		}
	}
	pd.chowned = nil
	name := pd.version
	if named {
		// ..data named it: a reader may hold its name.
		old, err := p.renameAway(name)
		if err != nil {
			return errors.Join(append(errs, fail("retire the reverted version", p.path(name), err))...)
		}
		name = old
	}
	if err := p.removeTree(name); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// rollbackLogged is rollback for a publish that failed already: what it
// cannot undo is logged, and the caller returns the first error.
func (pd *Pending) rollbackLogged() {
	if err := pd.rollback(false); err != nil {
		pd.pub.logger.Error("cannot undo all of a failed publish", log.String("dir", pd.pub.dir), log.Err(err))
	}
}

// lockName is the lock file of the mount directory.
const lockName = "..lock"

// lock takes an exclusive flock(2) on the mount directory's ..lock, making
// the file if it is missing. It waits while another publisher holds it.
func (p *publisher) lock() (int, error) {
	path := p.path(lockName)
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CREAT|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return -1, fail("open the publish lock", path, err)
	}
	var st syscall.Stat_t
	err = syscall.Fstat(fd, &st)
	if err == nil && st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		err = errors.New("not a regular file")
	}
	if err != nil {
		syscall.Close(fd)
		return -1, fail("open the publish lock", path, err)
	}
	// A ..lock left by an earlier publish opens on a read-only filesystem
	// too: ask the filesystem itself, so that a read-only mount is taken as
	// one (and compared with what the start would write) rather than failing
	// at the first write. The same answer says whether it is memory-backed.
	if unix.Fstatfs(fd, &p.fs) == nil {
		p.fsSet = true
		if p.fs.Flags&unix.ST_RDONLY != 0 {
			syscall.Close(fd)
			return -1, fail("open the publish lock", path, syscall.EROFS)
		}
	}
	if st.Mode&0o777 != 0o644 {
		_ = syscall.Fchmod(fd, 0o644) // the umask's doing; only its owner can mend it
	}
	for {
		err = syscall.Flock(fd, syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		syscall.Close(fd)
		return -1, fail("lock the secrets directory", path, err)
	}
	return fd, nil
}

// unlock gives the flock back by closing its file.
func unlock(fd int) {
	if fd >= 0 {
		syscall.Close(fd)
	}
}

func owner(id int) int {
	if id < 0 {
		return -1
	}
	return id
}

// plan checks every path and returns the visible top-level names, in the
// order of files.
func plan(files []File) ([]string, error) {
	isGroup := make(map[string]bool, len(files)) // top-level name -> is a group directory
	seen := make(map[string]struct{}, len(files))
	names := make([]string, 0, len(files))
	for _, f := range files {
		if err := checkPath(f.Path); err != nil {
			return nil, &Error{Op: "refuse secret file path", Path: f.Path, Err: err}
		}
		if _, dup := seen[f.Path]; dup {
			return nil, &Error{Op: "refuse secret file path", Path: f.Path, Err: errors.New("two files have this path")}
		}
		seen[f.Path] = struct{}{}
		top, _, group := strings.Cut(f.Path, "/")
		if g, ok := isGroup[top]; ok {
			if g != group {
				return nil, &Error{Op: "refuse secret file path", Path: f.Path,
					Err: fmt.Errorf("%q would be both a file and a group directory", top)}
			}
			continue
		}
		isGroup[top] = group
		names = append(names, top)
	}
	return names, nil
}

// checkPath is defence in depth: spec refuses these paths already.
func checkPath(path string) error {
	if strings.HasPrefix(path, "/") {
		return errors.New("is absolute")
	}
	parts := strings.Split(path, "/")
	if len(parts) > 2 {
		return errors.New("has more than two components")
	}
	for _, c := range parts {
		switch {
		case c == "":
			return errors.New("has an empty component")
		case c == "." || c == "..":
			return fmt.Errorf("has a %q component", c)
		case strings.HasPrefix(c, ".."):
			return errors.New(`has a component that starts with "..", which the atomic layout reserves`)
		case strings.IndexByte(c, 0) >= 0:
			return errors.New("holds a NUL byte")
		}
	}
	return nil
}

type publisher struct {
	root     string // the root prefix (Options.Root)
	dir      string
	uid, gid int
	logger   *log.Logger

	fs    unix.Statfs_t // the mount directory's filesystem, read by lock
	fsSet bool
}

func (p *publisher) chowns() bool { return p.uid >= 0 || p.gid >= 0 }

// onMemoryFS is OnMemoryFS for the mount directory, from what lock read
// when it could.
func (p *publisher) onMemoryFS() (bool, error) {
	if !p.fsSet {
		return OnMemoryFS(p.dir)
	}
	t := uint32(p.fs.Type)
	return t == tmpfsMagic || t == ramfsMagic, nil
}

// path is a name in the mount directory. p.dir is clean (Dir) and names
// are checked components (plan), so a plain join is enough; filepath.Join's
// Clean was a measurable part of a container start.
func (p *publisher) path(name string) string { return p.dir + "/" + name }

// ensureDir creates the mount directory and its parents under the root
// (etc, etc/flyte, etc/flyte/secrets), the ones it makes 0755 whatever the
// umask, and makes the mount directory 0755. It walks them with openat and
// O_NOFOLLOW, and refuses one that is a symlink: publishing through it would
// write, and chmod, a directory outside the mount. (The root prefix itself,
// which the user names, may be a symlink.) The mode is changed through the
// directory's own descriptor.
func (p *publisher) ensureDir() error {
	root := p.root
	if root == "" {
		root = "/"
	}
	// The root is there on every real start ("/", or a test's --root made
	// once): open it first, and make it only when that fails.
	fd, err := openDir(unix.AT_FDCWD, root, false)
	if err != nil {
		if err := mkdirAll(root); err != nil {
			return fail("create the root of the secrets directory", root, err)
		}
		if fd, err = openDir(unix.AT_FDCWD, root, false); err != nil {
			return fail("open the root of the secrets directory", root, err)
		}
	}
	comps := strings.Split(strings.TrimPrefix(mountPath, "/"), "/")
	for i, comp := range comps {
		// The path is for messages only: made when one is written, not on
		// every start.
		path := func() string { return filepath.Join(append([]string{root}, comps[:i+1]...)...) }
		next, err := openDir(fd, comp, true)
		created := false
		if err == unix.ENOENT {
			if err = unix.Mkdirat(fd, comp, uint32(mountMode)); err == nil || err == unix.EEXIST {
				created = err == nil
				next, err = openDir(fd, comp, true)
			}
		}
		if err == unix.ELOOP || err == unix.ENOTDIR {
			var st unix.Stat_t
			if unix.Fstatat(fd, comp, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				unix.Close(fd)
				return fail("refuse the secrets directory", p.dir, fmt.Errorf(
					"%s is a symlink: the mount directory and its parents under the root must be real directories, so that nothing outside the mount is written or has its mode changed", path()))
			}
		}
		unix.Close(fd)
		if err != nil {
			return fail("create the secrets directory", path(), err)
		}
		if created {
			if err := unix.Fchmod(next, uint32(mountMode)); err != nil {
				unix.Close(next)
				return fail("make the secrets directory 0755", path(), err)
			}
		}
		fd = next
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fail("stat the secrets directory", p.dir, err)
	}
	if os.FileMode(st.Mode&0o7777) != mountMode {
		if err := unix.Fchmod(fd, uint32(mountMode)); err != nil {
			if err == unix.EPERM && st.Uid == 0 && os.Geteuid() != 0 && unix.Access(p.dir, unix.W_OK|unix.X_OK) == nil {
				// Root's directory that this user may write: a pod's
				// emptyDir, which the kubelet makes root's and 0777, for a
				// shim that runs as the task's user. Only root can change
				// its mode. The files and version directories inside are
				// still this user's, 0400 and 0500, but any user in the pod
				// may rename the names in it, ..data included. Another
				// user's directory is not trusted so: that user could swap
				// ..data at will.
				p.logger.Warn("the secrets directory is root's and open to every user (a pod's emptyDir); publishing into it as it is: any user in the pod could replace its files",
					log.String("dir", p.dir), log.String("mode", fmt.Sprintf("%#o", st.Mode&0o7777)))
				return nil
			}
			return fail("make the secrets directory 0755", p.dir, err)
		}
	}
	return nil
}

// openDir opens a directory relative to dirfd, without following a symlink
// in its last component when nofollow.
func openDir(dirfd int, name string, nofollow bool) (int, error) {
	flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	if nofollow {
		flags |= unix.O_NOFOLLOW
	}
	for {
		fd, err := unix.Openat(dirfd, name, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// mkdirAll is os.MkdirAll, except that the directories it creates are 0755
// whatever the umask: a task that runs as another user must be able to
// reach the mount directory. It makes the root prefix (--root), which may go
// through symlinks; ensureDir makes what is under it.
func mkdirAll(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, mountMode); err != nil {
		if fi, serr := os.Stat(dir); serr == nil && fi.IsDir() {
			return nil // made meanwhile
		}
		return err
	}
	return os.Chmod(dir, mountMode)
}

// state is what the mount directory holds before a publish.
type state struct {
	oldTarget string          // what ..data names, "" when there is no ..data
	ours      map[string]bool // visible names that are our symlinks (name -> ..data/name)
	needed    map[string]bool // visible names of the new version
	versions  []string        // version directories, current and left over
}

// scan reads the mount directory, and refuses to go on when a name that
// the new version needs is held by anything but one of our symlinks.
func (p *publisher) scan(names []string) (state, error) {
	st := state{ours: map[string]bool{}, needed: make(map[string]bool, len(names))}
	entries, err := readDir(p.dir)
	if err != nil {
		return st, fail("read the secrets directory", p.dir, err)
	}
	needed := st.needed
	for _, n := range names {
		needed[n] = true
	}
	for _, e := range entries {
		name := e.name
		symlink := e.typ&fs.ModeSymlink != 0
		switch {
		case name == dataLink:
			if !symlink {
				return st, fail("refuse to replace", p.path(name), errors.New(describeType(e.typ)+" is in the way of the ..data symlink"))
			}
			if st.oldTarget, err = os.Readlink(p.path(name)); err != nil {
				return st, fail("read the ..data symlink", p.path(name), err)
			}
		case name == dataTmp || name == linkTmp:
			if !symlink {
				return st, fail("refuse to replace", p.path(name), errors.New(describeType(e.typ)+" is in the way of a temporary symlink"))
			}
		case strings.HasPrefix(name, ".."):
			if e.IsDir() && (isVersion(name) || isVersion(".."+strings.TrimPrefix(name, oldPrefix))) {
				st.versions = append(st.versions, name)
			}
		case symlink:
			target, err := os.Readlink(p.path(name))
			if err != nil {
				return st, fail("read symlink", p.path(name), err)
			}
			if target == dataLink+"/"+name {
				st.ours[name] = true
			} else if needed[name] {
				return st, fail("refuse to replace", p.path(name),
					errors.New("a symlink that does not go through ..data is in the way"))
			}
		case needed[name]:
			return st, fail("refuse to replace", p.path(name), errors.New(describeType(e.typ)+" is in the way"))
		}
	}
	return st, nil
}

func describeType(t fs.FileMode) string {
	switch {
	case t.IsDir():
		return "a directory"
	case t.IsRegular():
		return "a regular file"
	case t&fs.ModeSymlink != 0:
		return "a symlink"
	}
	return "a special file"
}

// isVersion reports whether name is a version directory's name:
// ".." + stampLayout, with an optional "_N" suffix.
func isVersion(name string) bool {
	if !strings.HasPrefix(name, "..") || len(name) < 2+len(stampLayout) {
		return false
	}
	stamp, suffix := name[2:2+len(stampLayout)], name[2+len(stampLayout):]
	for i := 0; i < len(stampLayout); i++ {
		switch stampLayout[i] {
		case '_', '.':
			if stamp[i] != stampLayout[i] {
				return false
			}
		default:
			if stamp[i] < '0' || stamp[i] > '9' {
				return false
			}
		}
	}
	if suffix == "" {
		return true
	}
	if len(suffix) < 2 || suffix[0] != '_' {
		return false
	}
	_, err := strconv.ParseUint(suffix[1:], 10, 32)
	return err == nil
}

// writeVersion writes every file into a new version directory and returns
// its name. On error it removes the directory.
func (p *publisher) writeVersion(files []File) (string, error) {
	version, err := p.mkVersionDir()
	if err != nil {
		return "", err
	}
	if err := p.fillVersion(version, files); err != nil {
		p.removeTreeLogged(version)
		return "", err
	}
	if err := hook("written"); err != nil {
		p.removeTreeLogged(version)
		return "", fail("publish", p.path(version), err)
	}
	return version, nil
}

// mkVersionDir creates ..<timestamp>, adding _1, _2, ... when a version of
// the same nanosecond exists.
func (p *publisher) mkVersionDir() (string, error) {
	stamp := ".." + now().UTC().Format(stampLayout)
	name := stamp
	for i := 1; ; i++ {
		err := os.Mkdir(p.path(name), workDirMode)
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, fs.ErrExist) || i > 1000 {
			return "", fail("create version directory", p.path(name), err)
		}
		name = stamp + "_" + strconv.Itoa(i)
	}
}

func (p *publisher) fillVersion(version string, files []File) error {
	vdir := p.path(version)
	var groups []string
	made := map[string]bool{}
	for i := range files {
		f := &files[i]
		if g, _, ok := strings.Cut(f.Path, "/"); ok && !made[g] {
			gdir := vdir + "/" + g
			if err := os.Mkdir(gdir, workDirMode); err != nil {
				return fail("create group directory", gdir, err)
			}
			made[g] = true
			groups = append(groups, g)
		}
		if err := p.writeFile(vdir+"/"+f.Path, f.Value.Bytes()); err != nil {
			return err
		}
		p.logger.Debug("wrote secret file", log.String("key", f.Key), log.String("group", f.Group), log.String("path", f.Path))
	}
	for _, g := range groups {
		if err := p.seal(vdir + "/" + g); err != nil {
			return err
		}
	}
	return p.seal(vdir)
}

func (p *publisher) writeFile(path string, b []byte) error {
	// The system calls directly: an *os.File per secret file (its poller
	// registration, its finalizer) costs more than the write.
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, uint32(fileMode))
	if err != nil {
		return fail("create secret file", path, err)
	}
	for len(b) > 0 && err == nil {
		var n int
		n, err = syscall.Write(fd, b)
		if err == syscall.EINTR {
			err = nil
			continue
		}
		b = b[n:]
	}
	if err != nil {
		syscall.Close(fd)
		return fail("write secret file", path, err)
	}
	if p.chowns() {
		if err := syscall.Fchown(fd, p.uid, p.gid); err != nil {
			syscall.Close(fd)
			return fail("chown secret file", path, err)
		}
	}
	// The umask may have taken bits from the mode given to open.
	if err := syscall.Fchmod(fd, uint32(fileMode)); err != nil {
		syscall.Close(fd)
		return fail("chmod secret file", path, err)
	}
	if err := syscall.Close(fd); err != nil {
		return fail("write secret file", path, err)
	}
	return nil
}

// seal gives a written directory its owner and makes it 0500.
func (p *publisher) seal(dir string) error {
	if p.chowns() {
		if err := os.Chown(dir, p.uid, p.gid); err != nil {
			return fail("chown directory", dir, err)
		}
	}
	if err := os.Chmod(dir, dirMode); err != nil {
		return fail("chmod directory", dir, err)
	}
	return nil
}

// newLink makes a symlink to target at the temporary name tmp, owned as
// asked, ready to be renamed into place.
func (p *publisher) newLink(target, tmp string) error {
	path := p.path(tmp)
	err := syscall.Symlink(target, path)
	if err == syscall.EEXIST {
		// A leftover of a publish that was killed: replace it.
		if err := syscall.Unlink(path); err != nil && err != syscall.ENOENT {
			return fail("remove leftover symlink", path, err)
		}
		err = syscall.Symlink(target, path)
	}
	if err != nil {
		return fail("create symlink", path, err)
	}
	if p.chowns() {
		if err := os.Lchown(path, p.uid, p.gid); err != nil {
			_ = os.Remove(path)
			return fail("chown symlink", path, err)
		}
	}
	return nil
}

// cleanup removes the visible names the new version no longer has, a
// leftover ..link_tmp, and retires every other version directory. The new
// version is published already, so a failure here is a warning: what is
// left over is a dangling symlink or a hidden name, and the next publish
// tries again.
func (p *publisher) cleanup(st state, version string) {
	p.tidy(st)
	p.retire(st, version)
}

// tidy removes the visible names the new version no longer has (they
// dangle since the switch) and a leftover ..link_tmp: a few unlinks.
func (p *publisher) tidy(st state) {
	for name := range st.ours {
		if st.needed[name] {
			continue
		}
		if err := os.Remove(p.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			p.logger.Warn("cannot remove a stale secret symlink", log.String("path", p.path(name)), log.Err(err))
		}
	}
	// A symlink: one unlink (os.Remove would try rmdir after it too).
	if err := unix.Unlink(p.path(linkTmp)); err != nil && err != unix.ENOENT {
		p.logger.Warn("cannot remove a leftover temporary symlink", log.String("path", p.path(linkTmp)), log.Err(err))
	}
}

// retireLeftovers retires, before anything new is written, the version
// directories that ..data does not name: those an exec-mode start left
// (nothing of the shim runs after its execve to retire them), and those a
// crash left. Only the current version stays, for Revert. Without this, a
// container restarted N times with one emptyDir would keep N versions,
// old values included, on its tmpfs. A fresh mount directory has none, so a
// pod's first start pays nothing.
func (p *publisher) retireLeftovers(st *state) {
	kept := st.versions[:0]
	for _, v := range st.versions {
		if v == st.oldTarget {
			kept = append(kept, v)
		} else {
			p.retireOne(v)
		}
	}
	st.versions = kept
}

// retire removes every version directory but version, the new one: the
// part of a publish that can take long.
func (p *publisher) retire(st state, version string) {
	for _, v := range st.versions {
		if v != version {
			p.retireOne(v)
		}
	}
}

// retireOne renames version directory v away, unless it is retired
// already, and removes it. A failure is a warning: what is left is hidden,
// and the next publish tries again.
func (p *publisher) retireOne(v string) {
	old := v
	if !strings.HasPrefix(v, oldPrefix) {
		var err error
		if old, err = p.renameAway(v); err != nil {
			p.logger.Warn("cannot retire an old secrets version", log.String("path", p.path(v)), log.Err(err))
			return
		}
	}
	p.removeTreeLogged(old)
}

// renameAway renames version directory v to its retired name, ..old_*,
// which it returns, before anything in it is removed: a reader that holds
// v gets ENOENT from then on, never a half-removed version.
func (p *publisher) renameAway(v string) (string, error) {
	old := oldPrefix + strings.TrimPrefix(v, "..")
	return old, os.Rename(p.path(v), p.path(old))
}

// removeTree removes a version directory of the mount directory. Its
// directories are 0500, so it makes each writable first: that is what lets
// a non-root shim remove them. Every step is taken relative to a directory
// opened with O_NOFOLLOW, never by path: under --user the tree is the
// command's, which can swap a directory in it for a symlink at any moment,
// and a walk by path would then chmod or remove what the symlink names,
// anywhere, as root (--watch keeps the supervisor root).
func (p *publisher) removeTree(name string) error {
	dir, err := openDir(unix.AT_FDCWD, p.dir, false)
	if err == nil {
		err = removeAt(dir, name)
		unix.Close(dir)
	}
	if err != nil && err != unix.ENOENT {
		return fail("remove a secrets version directory", p.path(name), err)
	}
	return nil
}

// removeTreeLogged is removeTree where a failure is only a warning.
func (p *publisher) removeTreeLogged(name string) {
	if err := p.removeTree(name); err != nil {
		p.logger.Warn("cannot remove a secrets version directory", log.String("path", p.path(name)), log.Err(err))
	}
}
