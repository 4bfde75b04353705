package exec

import (
	"golang.org/x/sys/unix"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exit"
)

// What execve(2) takes, as Linux counts it (fs/exec.c), so that an
// environment it would refuse with E2BIG is found before anything is
// published.
const (
	// MaxArgStrlen is the longest single argument or environment string,
	// its NUL included: MAX_ARG_STRLEN, 32 pages.
	MaxArgStrlen = 32 * 4096
	// minArgMax is the least room for arguments and environment: ARG_MAX,
	// 32 pages.
	minArgMax = 32 * 4096
	// maxArgMax is three quarters of _STK_LIM (8 MiB): the most room,
	// whatever the stack limit.
	maxArgMax = 8 << 20 / 4 * 3
	ptrSize   = 8
)

// ArgMax is the room execve has for the strings and pointers of argv and
// envp: a quarter of the stack limit (RLIMIT_STACK), at least 128 KiB and
// at most 6 MiB.
func ArgMax() int {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_STACK, &lim); err != nil || lim.Cur == unix.RLIM_INFINITY {
		return maxArgMax
	}
	return max(minArgMax, min(maxArgMax, int(lim.Cur/4)))
}

// ArgSize is what execve counts against ArgMax for path, argv and env: each
// string with its NUL, and a pointer for each argument and variable.
func ArgSize(path string, argv, env []string) int {
	n := len(path) + 1 + (max(len(argv), 1)+len(env))*ptrSize
	for _, s := range argv {
		n += len(s) + 1
	}
	for _, s := range env {
		n += len(s) + 1
	}
	return n
}

// CheckArgs refuses what execve would refuse with E2BIG: a string longer
// than MaxArgStrlen, or more than ArgMax in all. The error is an
// *exit.Error with exit.NotExecutable, as a shell reports "Argument list
// too long"; it names the command, never a value.
func CheckArgs(name, path string, argv, env []string) error {
	for i, s := range argv {
		if len(s)+1 > MaxArgStrlen {
			return errorf(exit.NotExecutable, "command %q: argument %d is %d bytes, more than the %d execve takes for one argument", name, i, len(s), MaxArgStrlen-1)
		}
	}
	for _, s := range env {
		if len(s)+1 > MaxArgStrlen {
			return errorf(exit.NotExecutable, "command %q: an environment variable is %d bytes, more than the %d execve takes for one", name, len(s), MaxArgStrlen-1)
		}
	}
	if n, limit := ArgSize(path, argv, env), ArgMax(); n > limit {
		return errorf(exit.NotExecutable, "command %q: its arguments and environment are %d bytes, more than the %d execve takes (a quarter of the stack limit)", name, n, limit)
	}
	return nil
}
