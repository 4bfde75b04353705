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
// Every failure that decides the shim's exit code is an *Error carrying that
// code: CodeNotExecutable (126) or CodeNotFound (127), as a shell reports them.
package exec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exit codes carried by *Error.
const (
	// CodeUsage is a malformed --user value. It is the CLI's code for bad flags.
	CodeUsage = 2
	// CodeNotExecutable: the command was found but can't be executed (not
	// executable, a directory, permission denied, a bad interpreter), or it
	// can't be run as the requested user.
	CodeNotExecutable = 126
	// CodeNotFound: the command was not found.
	CodeNotFound = 127
	// CodeSignalBase plus N is the exit code when signal N ended the command.
	CodeSignalBase = 128
)

// Error is a failure that decides the shim's exit code.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// LookPath finds the executable for file the way a shell would, searching
// pathEnv: the child's PATH, not the shim's. A name with a slash is used as
// is. An empty PATH entry means the current directory, as in POSIX shells
// (the directory is the image's WORKDIR, which the image author controls);
// an empty pathEnv searches nothing.
//
// A name found nowhere is an *Error with CodeNotFound. A name whose only
// matches are not executable, are directories, or can't be reached is an
// *Error with CodeNotExecutable that names the first such match. Messages
// name the command and the PATH searched.
func LookPath(file, pathEnv string) (string, error) {
	if file == "" {
		return "", errorf(CodeNotFound, "command is empty")
	}
	if strings.Contains(file, "/") {
		if err := checkExecutable(file); err != nil {
			return "", err
		}
		return file, nil
	}
	var denied *Error
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		path := dir + "/" + file
		err := checkExecutable(path)
		if err == nil {
			return path, nil
		}
		var e *Error
		if errors.As(err, &e) && e.Code == CodeNotExecutable && denied == nil {
			denied = e
		}
	}
	if denied != nil {
		return "", errorf(CodeNotExecutable, "command %q: %w (PATH %q)", file, denied.Err, pathEnv)
	}
	return "", errorf(CodeNotFound, "command %q not found in PATH %q", file, pathEnv)
}

// CheckInterpreter catches, before anything is published, the one start
// failure LookPath cannot see that is common in task images: a script whose
// "#!" interpreter is missing (execve would fail with ENOENT, exit 126). It
// reads the first line only; a file it cannot read, or one without "#!", is
// left to execve.
func CheckInterpreter(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var buf [256]byte
	n, _ := io.ReadFull(f, buf[:])
	line := buf[:n]
	if !bytes.HasPrefix(line, []byte("#!")) {
		return nil
	}
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	fields := strings.Fields(string(line[2:]))
	if len(fields) == 0 {
		return errorf(CodeNotExecutable, "command %q: its #! line names no interpreter", path)
	}
	if err := checkExecutable(fields[0]); err != nil {
		return errorf(CodeNotExecutable, "command %q: its interpreter %q cannot be run: %w", path, fields[0], errors.Unwrap(err))
	}
	return nil
}

// checkExecutable reports whether path names a file this process may execute.
func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return errorf(CodeNotFound, "command %q not found", path)
	case err != nil:
		return errorf(CodeNotExecutable, "command %q: %w", path, unwrapPathError(err))
	case fi.IsDir():
		return errorf(CodeNotExecutable, "command %q is a directory", path)
	case fi.Mode()&0o111 == 0:
		return errorf(CodeNotExecutable, "command %q is not executable (mode %v)", path, fi.Mode().Perm())
	}
	// The mode bits say someone may execute it; ask whether we may.
	if err := unix.Faccessat(unix.AT_FDCWD, path, unix.X_OK, unix.AT_EACCESS); err != nil {
		return errorf(CodeNotExecutable, "command %q is not executable: %w", path, err)
	}
	return nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Exec replaces the shim with path, the berglas way. With cred set it first
// drops to that user: setgroups, setgid, setuid, in that order (Go applies
// each to every thread). argv[0] is the name the command sees; an empty argv
// becomes {path}. env is the child's whole environment.
//
// Exec returns only on failure, and then always with an *Error:
// CodeNotFound when path does not exist, CodeNotExecutable otherwise
// (EACCES, ENOEXEC, EISDIR, a missing interpreter, a user it can't switch to).
func Exec(path string, argv, env []string, cred *Credential) error {
	if len(argv) == 0 {
		argv = []string{path}
	}
	if cred != nil {
		if err := dropTo(cred); err != nil {
			return err
		}
	}
	return execError(path, syscall.Exec(path, argv, env))
}

// execError turns a failed execve into an *Error with the shell's code.
func execError(path string, err error) error {
	if err == nil {
		return nil
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return errorf(CodeNotExecutable, "exec %q: %w", path, err)
	}
	switch errno {
	case syscall.ENOENT:
		if _, statErr := os.Stat(path); statErr == nil {
			// The file is there: what is missing is its #! interpreter or
			// its dynamic loader. A shell says 126 here too.
			return errorf(CodeNotExecutable, "exec %q: %w (its interpreter or dynamic loader is missing)", path, err)
		}
		return errorf(CodeNotFound, "exec %q: %w", path, err)
	case syscall.ENOTDIR:
		return errorf(CodeNotFound, "exec %q: %w", path, err)
	case syscall.ENOEXEC:
		return errorf(CodeNotExecutable, "exec %q: %w (not a binary and no #! line)", path, err)
	}
	return errorf(CodeNotExecutable, "exec %q: %w", path, err)
}
