package exec

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Dispositions set with rt_sigaction(2) directly, for the signals the Go
// runtime either keeps for itself (32, 33, 34: os/signal cannot catch them)
// or handles in a way a container's entrypoint must not (SIGQUIT: a
// goroutine dump and exit 2).
const (
	sigDFL = 0
	sigIGN = 1
)

// reserved are signals the Go runtime reserves and leaves at their default
// action (terminate): glibc's SIGCANCEL (32) and musl's SIGSYNCCALL (34).
// os/signal cannot catch them, so the supervisor cannot forward them. The
// runtime's third, 33, is left alone: it is how Go runs setuid and setgid on
// every thread (sigPerThreadSyscall), and its handler drops a stray one.
var reserved = []syscall.Signal{32, 34}

// kernelSigaction is struct sigaction as the Linux kernel takes it on amd64
// and arm64.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// setDisposition makes sig's disposition SIG_DFL or SIG_IGN, behind the Go
// runtime's back. Only for a signal the process will never ask os/signal
// for.
func setDisposition(sig syscall.Signal, handler uintptr) error {
	act := kernelSigaction{handler: handler}
	_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// ignoreReserved makes the signals the Go runtime reserves ignored (on), so
// that a stray one neither kills the supervisor (and with it, through the
// parent-death signal, the command) nor vanishes in a way nobody chose; or
// gives them their default action back (off), before a fork, so that the
// command does not inherit SIG_IGN for them.
func ignoreReserved(on bool) {
	h := uintptr(sigDFL)
	if on {
		h = sigIGN
	}
	for _, s := range reserved {
		_ = setDisposition(s, h)
	}
}
