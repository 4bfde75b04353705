// Package exec runs the task's command, after the secrets are in place.
//
// Exec mode replaces the shim with the command, the way berglas does: look the
// command up on the child's PATH (LookPath), drop to the --user if one is
// given, then execve (Exec). The command keeps the shim's PID, and there is
// nothing left to forward or reap.
//
// Supervise mode (Supervise) keeps the shim as the command's parent. This is
// what a container's PID 1 has to do: start the command in its own process
// group, forward each catchable signal to that group exactly once (never
// SIGCHLD or SIGURG), reap every zombie including orphans, and exit with the
// command's code or 128+N when signal N killed it. When the command exits,
// whatever is left of its process group gets SIGTERM, a grace period, then
// SIGKILL.
//
// --user is resolved by LookupUser from the image's /etc/passwd and
// /etc/group (parsed by hand: a static binary has no NSS) and checked by
// CheckCredential before anything starts.
//
// Every failure that decides the shim's exit code is an *exit.Error carrying that
// code: exit.NotExecutable (126) or exit.NotFound (127), as a shell reports them.
package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exit"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

func errorf(code int, format string, args ...any) *exit.Error {
	return &exit.Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Search is how the command is looked up: on the child's PATH, as the
// user it will run as.
type Search struct {
	// PATH is the child's PATH, not the shim's.
	PATH string
	// Secret says a secret set PATH (--allow-env PATH): then no message
	// shows it, nor any path built from it.
	Secret bool
	// Cred is the user the command runs as; nil is this process's own.
	Cred *Credential
}

// LookPath finds the executable for file the way a shell would, searching
// s.PATH. A name with a slash is used as is. An empty PATH entry means the
// current directory, as in POSIX shells (the directory is the image's
// WORKDIR, which the image author controls); an empty PATH searches nothing.
//
// A match must be executable by s.Cred: its mode bits, its owner and group
// against the user's uid, gid and groups, and every directory on the way to
// it searchable by that user, as the kernel will check them after the
// switch. (ACLs and file capabilities are not read.)
//
// A PATH directory this process can't search (stat fails with EACCES) is
// passed over, as a shell does: nothing in it can be found.
//
// A name found nowhere is an *exit.Error with exit.NotFound. A name whose
// only matches are not executable, are directories, or can't be reached by
// s.Cred is an *exit.Error with exit.NotExecutable that names the first
// such match. Messages name the command and the PATH searched, unless
// s.Secret, and the PATH directories that could not be searched.
func (s Search) LookPath(file string) (string, error) {
	if file == "" {
		return "", errorf(exit.NotFound, "command is empty")
	}
	if strings.Contains(file, "/") {
		if err := checkExecutable(file, file, s.Cred, false); err != nil {
			return "", err
		}
		return file, nil
	}
	var denied *exit.Error
	var unsearchable []string
	for _, dir := range filepath.SplitList(s.PATH) {
		if dir == "" {
			dir = "."
		}
		path := dir + "/" + file
		shown := path
		if s.Secret {
			shown = file
		}
		err := checkExecutable(path, shown, s.Cred, true)
		if err == nil {
			return path, nil
		}
		if errors.Is(err, errUnsearchable) {
			if !slices.Contains(unsearchable, dir) {
				unsearchable = append(unsearchable, dir)
			}
			continue
		}
		var e *exit.Error
		if errors.As(err, &e) && e.Code == exit.NotExecutable && denied == nil {
			denied = e
		}
	}
	where := fmt.Sprintf("PATH %q", s.PATH)
	if s.Secret {
		where = "PATH (set by a secret, so not shown)"
	}
	if denied != nil {
		return "", errorf(exit.NotExecutable, "command %q: %w (%s)", file, denied.Err, where)
	}
	switch {
	case len(unsearchable) == 0:
	case s.Secret:
		where = "PATH (set by a secret, so not shown; some of its directories could not be searched)"
	default:
		where += fmt.Sprintf(" (could not search %s)", strings.Join(unsearchable, ", "))
	}
	return "", errorf(exit.NotFound, "command %q not found in %s", file, where)
}

// LookPath is Search{PATH: pathEnv}.LookPath(file): as this process.
func LookPath(file, pathEnv string) (string, error) {
	return Search{PATH: pathEnv}.LookPath(file)
}

// CheckInterpreter catches, before anything is published, the start
// failures of a script that LookPath cannot see: a "#!" interpreter that is
// missing or not executable by cred (execve would fail, exit 126), and a
// script that cred may not read (its interpreter could not open it). It
// reads the first line only; a file without "#!" is left to execve. name is
// how messages call the command.
func CheckInterpreter(path, name string, cred *Credential) error {
	// The system calls directly: an *os.File would start the runtime's
	// network poller in every container start.
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil
	}
	var buf [256]byte
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || m <= 0 {
			break
		}
		n += m
	}
	line := buf[:n]
	if !bytes.HasPrefix(line, []byte("#!")) {
		if n > 0 && !bytes.HasPrefix(line, []byte("\x7fELF")) {
			// execve would fail with ENOEXEC: Go's exec, unlike a
			// shell's, does not hand such a file to /bin/sh.
			return errorf(exit.NotExecutable, "command %q is not a binary and has no #! line", name)
		}
		return nil
	}
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	fields := strings.Fields(string(line[2:]))
	if len(fields) == 0 {
		return errorf(exit.NotExecutable, "command %q: its #! line names no interpreter", name)
	}
	if err := checkExecutable(fields[0], fields[0], cred, false); err != nil {
		return errorf(exit.NotExecutable, "command %q: its interpreter %q cannot be run: %w", name, fields[0], errors.Unwrap(err))
	}
	if cred != nil {
		if err := accessAs(path, 4, cred); err != nil {
			return errorf(exit.NotExecutable, "command %q: a script its interpreter cannot read as user %d: %w", name, cred.UID, err)
		}
	}
	return nil
}

// errUnsearchable is checkExecutable's answer, on a PATH search, for a
// candidate this process can't stat for want of search permission on a
// directory on the way (EACCES): a shell goes on to the next PATH entry.
var errUnsearchable = errors.New("a directory on the way to it is not searchable")

// checkExecutable reports whether path names a file that cred (nil: this
// process) may execute. name is how messages call it. onPath says path is
// a candidate of a PATH search, not a name given with a slash.
func checkExecutable(path, name string, cred *Credential, onPath bool) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return errorf(exit.NotFound, "command %q not found", name)
	case onPath && errors.Is(err, syscall.EACCES):
		return errUnsearchable
	case err != nil:
		return errorf(exit.NotExecutable, "command %q: %w", name, unwrapPathError(err))
	case fi.IsDir():
		return errorf(exit.NotExecutable, "command %q is a directory", name)
	case fi.Mode()&0o111 == 0:
		return errorf(exit.NotExecutable, "command %q is not executable (mode %v)", name, fi.Mode().Perm())
	}
	// The mode bits say someone may execute it; ask whether we may (this
	// also sees a noexec mount).
	if err := unix.Faccessat(unix.AT_FDCWD, path, unix.X_OK, unix.AT_EACCESS); err != nil {
		return errorf(exit.NotExecutable, "command %q is not executable: %w", name, err)
	}
	if cred != nil {
		if err := accessAs(path, 1, cred); err != nil {
			return errorf(exit.NotExecutable, "command %q is not executable as user %d: %w", name, cred.UID, err)
		}
	}
	return nil
}

// accessAs checks, from the mode bits, that cred may open path for want
// (4 read, 1 execute): want on the file, and search (x) on every directory
// on the way to it, as the kernel checks them for that user. Root may read
// anything and execute a file with any x bit.
func accessAs(path string, want os.FileMode, cred *Credential) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return unwrapPathError(err)
	}
	if real, err = filepath.Abs(real); err != nil {
		return err
	}
	for dir := filepath.Dir(real); ; dir = filepath.Dir(dir) {
		if !permits(dir, 1, cred, true) {
			return fmt.Errorf("a directory on the way to it is not searchable (%w)", syscall.EACCES)
		}
		if dir == "/" {
			break
		}
	}
	if !permits(real, want, cred, false) {
		return syscall.EACCES
	}
	return nil
}

// permits applies the owner, group or other bits of path's mode for cred.
func permits(path string, want os.FileMode, cred *Credential, dir bool) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	mode := fi.Mode().Perm()
	if cred.UID == 0 {
		return want != 1 || dir || mode&0o111 != 0
	}
	switch {
	case st.Uid == cred.UID:
		mode >>= 6
	case st.Gid == cred.GID || slices.Contains(cred.Groups, st.Gid):
		mode >>= 3
	}
	return mode&want == want
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Exec replaces the shim with the command, the berglas way. With Cred set
// it first switches to that user: setgroups, then the real and effective
// group and user IDs (Go applies each to every thread), keeping its own as
// the saved IDs until execve succeeds. Argv[0] is the name the command
// sees; an empty Argv becomes {Path}. Env is the child's whole environment.
//
// Exec returns only on failure, and then always with an *exit.Error:
// exit.NotFound when path does not exist, exit.NotExecutable otherwise
// (EACCES, ENOEXEC, EISDIR, a missing interpreter, a user it can't switch to).
// After a failed execve the shim has its own IDs back, so that the caller
// can undo what it published; if it can't take them back, the error says
// so too.
func Exec(cmd Command) error {
	argv := cmd.Argv
	if len(argv) == 0 {
		argv = []string{cmd.Path}
	}
	undo := func() error { return nil }
	if cmd.Cred != nil {
		var err error
		if undo, err = dropForExec(cmd.Cred); err != nil {
			return err
		}
	}
	err := execError(cmd.name(), cmd.Path, syscall.Exec(cmd.Path, argv, cmd.Env))
	if uerr := undo(); uerr != nil {
		return errorf(exit.CodeOf(err), "%w; and the shim could not take its own user back: %v", err, uerr)
	}
	return err
}

// execError turns a failed execve into an *exit.Error with the shell's code.
func execError(name, path string, err error) error {
	if err == nil {
		return nil
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return errorf(exit.NotExecutable, "exec %q: %w", name, err)
	}
	switch errno {
	case syscall.ENOENT:
		if _, statErr := os.Stat(path); statErr == nil {
			// The file is there: what is missing is its #! interpreter or
			// its dynamic loader. A shell says 126 here too.
			return errorf(exit.NotExecutable, "exec %q: %w (its interpreter or dynamic loader is missing)", name, err)
		}
		return errorf(exit.NotFound, "exec %q: %w", name, err)
	case syscall.ENOTDIR:
		return errorf(exit.NotFound, "exec %q: %w", name, err)
	case syscall.ENOEXEC:
		return errorf(exit.NotExecutable, "exec %q: %w (not a binary and no #! line)", name, err)
	}
	return errorf(exit.NotExecutable, "exec %q: %w", name, err)
}

// Execer is exec mode's side of a start. It takes no signal: until execve
// a SIGHUP, SIGINT, SIGQUIT or SIGTERM ends the shim by its default action
// (128+N, or ignored when the shim is PID 1, as the kernel does for an init
// without handlers), which costs no start-up time and can never lose a
// signal. Nothing slow runs between the mount's commit point and execve
// (old versions are left for the next publish to retire), so that window is
// a few microseconds. Make one with NewExecer.
type Execer struct{}

// NewExecer gives SIGHUP, SIGINT, SIGQUIT and SIGTERM the kernel's default
// action, behind the Go runtime's back: its own handlers would dump every
// goroutine on SIGQUIT and exit 2, and exit 2 for any of them at PID 1. The
// command inherits nothing from this: execve resets handlers anyway.
//
// It also makes the shim non-dumpable until execve (which makes the command
// dumpable again): SIGQUIT's default action dumps core, and the shim's
// memory holds the values it resolved; non-dumpable, it leaves no core, and
// no process of the same user can read its /proc files.
func NewExecer() Execer {
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	for _, s := range []syscall.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM} {
		_ = setDisposition(s, sigDFL)
	}
	return Execer{}
}

// During returns ctx as it is: in exec mode a signal ends the process.
func (Execer) During(ctx context.Context) (context.Context, func()) { return ctx, func() {} }

// Aborted is always nil: a signal has ended the process instead.
func (Execer) Aborted() error { return nil }

// Start execs the command; it returns only on failure.
func (Execer) Start(cmd Command) (*Child, error) { return nil, Exec(cmd) }

// Replaces says that Start replaces the process: nothing runs after it.
func (Execer) Replaces() bool { return true }
