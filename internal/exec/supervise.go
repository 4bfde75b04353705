package exec

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
)

// DefaultGrace is the default --grace: how long the rest of the command's
// process group has, after the command exits, between SIGTERM and SIGKILL.
const DefaultGrace = 10 * time.Second

// IsPID1 reports whether this process is its PID namespace's init, where
// supervise mode is the default.
func IsPID1() bool { return os.Getpid() == 1 }

// ParseGrace parses --grace: a Go duration ("10s", "1m30s") or a whole
// number of seconds ("10"), as `docker stop -t` takes it. Negative values
// are refused.
func ParseGrace(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.ParseUint(s, 10, 31)
		if nerr != nil {
			return 0, fmt.Errorf("--grace %q: want a duration such as 10s or 1m30s", s)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return 0, fmt.Errorf("--grace %q: must not be negative", s)
	}
	return d, nil
}

// SuperviseOptions says what Supervise runs and how.
type SuperviseOptions struct {
	// Path is the command's executable, as LookPath found it.
	Path string
	// Argv is the command line; Argv[0] is the name the command sees. Empty
	// means {Path}.
	Argv []string
	// Env is the command's whole environment.
	Env []string
	// Cred, when set, is the user the command runs as. Call CheckCredential
	// first, before anything is published.
	Cred *Credential
	// DropPrivileges makes the supervisor itself switch to Cred once the
	// command has started, so that the shim keeps root no longer than it
	// needs it. Leave it off when the supervisor still has root's work to
	// do (republishing mounts with --watch).
	DropPrivileges bool
	// Grace is how long the rest of the command's process group has between
	// SIGTERM and SIGKILL once the command has exited. Zero kills at once;
	// the CLI's default is DefaultGrace.
	Grace time.Duration
	// Logger is where the supervisor logs; nil discards.
	Logger *log.Logger
	// Signals is optional: a channel the caller already gave to
	// signal.Notify (for SIGINT and SIGTERM, say) while it prepared the
	// start. Supervise extends it to every forwarded signal, so that no
	// signal falls between the two. A SIGINT or SIGTERM already waiting in it
	// aborts the start: the command does not start and Supervise returns
	// 128+N with an *Error. Other signals waiting in it are dropped: they
	// were meant for a command that did not exist yet. Supervise does not
	// Stop this channel. When nil, Supervise makes, registers and stops its
	// own.
	Signals chan os.Signal
}

// forwarded is every catchable signal but SIGCHLD (the supervisor's own
// business) and SIGURG (the Go runtime's preemption signal, which it sends
// itself, all the time). It is built when Supervise runs, not at package
// init: exec mode never needs it.
func forwarded() []os.Signal {
	var sigs []os.Signal
	for s := syscall.Signal(1); s <= 64; s++ {
		switch s {
		case unix.SIGKILL, unix.SIGSTOP, unix.SIGCHLD, unix.SIGURG:
			continue
		}
		sigs = append(sigs, s)
	}
	return sigs
}

// Supervise runs the command as a child and stays its parent until the
// command and everything it left behind are gone. It
//
//   - sets PR_SET_CHILD_SUBREAPER unless it is PID 1, so that orphans are
//     reparented to it;
//   - makes itself non-dumpable (PR_SET_DUMPABLE 0), so that a command
//     running as the same user cannot read the supervisor's environment or
//     memory through /proc (its credentials and the values it resolved);
//   - starts the command in its own process group, as Cred, with
//     PR_SET_PDEATHSIG SIGKILL, so that the command does not run on
//     unsupervised if the supervisor is SIGKILLed; when stdin is the
//     controlling terminal, the command's group is put in the foreground;
//   - forwards each catchable signal it receives, once, to the command's
//     process group, except SIGCHLD and SIGURG;
//   - reaps every child on SIGCHLD with wait4(-1, WNOHANG), orphans
//     included; it never polls;
//   - once the command has exited, sends SIGTERM to what is left of its
//     process group (unless SIGTERM was already forwarded there) and to any
//     other remaining child, waits up to Grace, then SIGKILLs them all;
//     signals that arrive meanwhile are still forwarded;
//   - returns when the command has exited and no child is left.
//
// The code is the command's exit code, or 128+N when signal N killed it. An
// error means the command did not start, and is an *Error whose Code is the
// exit code: CodeNotFound or CodeNotExecutable, or 128+N for a start aborted
// by a waiting SIGINT or SIGTERM (see Signals).
//
// Supervise owns the process's signal handling while it runs: it is meant to
// be called once, by the process that will exit with its code.
func Supervise(opts SuperviseOptions) (int, error) {
	logger := opts.Logger
	if logger == nil {
		logger = log.Nop()
	}
	logger = logger.Named("exec")
	if opts.Path == "" {
		return CodeNotFound, errorf(CodeNotFound, "supervise: no command given")
	}
	if opts.Grace < 0 {
		return CodeUsage, errorf(CodeUsage, "supervise: grace period %v is negative", opts.Grace)
	}
	argv := opts.Argv
	if len(argv) == 0 {
		argv = []string{opts.Path}
	}

	// PR_SET_PDEATHSIG fires when the thread that forked the child exits,
	// not the process. Keep this goroutine, and so the forking thread, in
	// one place until the end.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	sigs := opts.Signals
	if sigs == nil {
		sigs = make(chan os.Signal, 64)
		defer signal.Stop(sigs)
	}
	signal.Notify(sigs, forwarded()...)
	// SIGCHLD has its own channel of one: one waiting SIGCHLD is as good as
	// many, since each reaps everything there is.
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, unix.SIGCHLD)
	defer signal.Stop(chld)

	if opts.Signals != nil {
		if sig, ok := pendingStop(sigs, logger); ok {
			code := CodeSignalBase + int(sig)
			return code, errorf(code, "%s arrived before the command started; it was not started", unix.SignalName(sig))
		}
	}

	// The supervisor outlives the start and still holds what the command
	// must not see. Non-dumpable, its /proc files belong to root and ptrace
	// is refused, even to a command of the same uid. (execve makes the
	// command dumpable again.)
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		logger.Warn("cannot make the supervisor non-dumpable", log.Err(err))
	}
	if !IsPID1() {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			logger.Warn("cannot become a child subreaper; orphans will not be reaped here", log.Err(err))
		}
	}

	s := &supervisor{log: logger, grace: opts.Grace, self: os.Getpid(), termed: map[int]bool{}}
	pid, fg, err := start(opts.Path, argv, opts.Env, opts.Cred)
	if err != nil {
		var e *Error
		errors.As(err, &e)
		return e.Code, e
	}
	s.pid, s.pgid = pid, pid
	logger.Info("started the command", log.String("path", opts.Path), log.Int("pid", pid), log.Bool("foreground", fg))
	if fg {
		defer takeForeground(logger)
	}

	if opts.DropPrivileges && opts.Cred != nil {
		if err := dropTo(opts.Cred); err != nil {
			logger.Warn("the supervisor keeps its privileges", log.Err(err))
		} else {
			logger.Info("the supervisor dropped its privileges", log.Int("uid", int(opts.Cred.UID)), log.Int("gid", int(opts.Cred.GID)))
		}
	}
	return s.run(sigs, chld), nil
}

// pendingStop drains signals that arrived before the start. A SIGINT or
// SIGTERM among them aborts it.
func pendingStop(sigs <-chan os.Signal, logger *log.Logger) (syscall.Signal, bool) {
	for {
		select {
		case v := <-sigs:
			sig, _ := v.(syscall.Signal)
			if sig == unix.SIGINT || sig == unix.SIGTERM {
				logger.Warn("signal before the start; not starting the command", log.String("signal", unix.SignalName(sig)))
				return sig, true
			}
			logger.Debug("dropped a signal that arrived before the start", log.String("signal", unix.SignalName(sig)))
		default:
			return 0, false
		}
	}
}

// start forks and execs the command. It reports whether the command's group
// was made the terminal's foreground group.
func start(path string, argv, env []string, cred *Credential) (int, bool, error) {
	sys := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// With stdin on our controlling terminal (docker run -it), a command in
	// a background process group would stop on SIGTTIN at its first read.
	// Make its group the foreground one, as tini does; Ctrl-C then reaches it
	// from the terminal, and not through us.
	// Only a group that holds the terminal hands it on.
	fg := false
	if pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err == nil && pgrp == unix.Getpgrp() {
		sys.Foreground, sys.Ctty, fg = true, 0, true
	}
	if cred != nil {
		sys.Credential = sysCredential(cred)
	}
	files := make([]uintptr, 3)
	for fd := range files {
		files[fd] = uintptr(fd)
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			// A closed stdio descriptor can't be passed on; give the
			// command /dev/null in its place.
			f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
			if err != nil {
				return 0, false, errorf(CodeNotExecutable, "open %s for fd %d: %w", os.DevNull, fd, err)
			}
			defer f.Close()
			files[fd] = f.Fd()
		}
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: env, Files: files, Sys: sys})
	if err != nil {
		return 0, false, execError(path, err)
	}
	return pid, fg, nil
}

// takeForeground gives the terminal back to the supervisor's process group
// once the command is gone, so that a shell around the shim finds it as it
// left it. SIGTTOU is blocked on this (locked) thread meanwhile: a background
// group may then change the foreground group.
func takeForeground(logger *log.Logger) {
	var set, old unix.Sigset_t
	const bits = 8 * unsafe.Sizeof(set.Val[0])
	bit := uintptr(unix.SIGTTOU) - 1
	set.Val[bit/bits] |= 1 << (bit % bits)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, &old); err != nil {
		return
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil) //nolint:errcheck // best effort
	if err := unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, unix.Getpgrp()); err != nil {
		logger.Debug("cannot take the terminal back", log.Err(err))
	}
}

// supervisor is the state of one Supervise run. Only its run loop touches
// it.
type supervisor struct {
	log   *log.Logger
	grace time.Duration
	self  int

	pid, pgid int // the command's pid and process group

	exited   bool // the command has been reaped
	code     int  // its exit code
	stopping bool // the command is gone; the rest are being stopped
	killing  bool // the grace period is over: SIGKILL whatever is left
	// groupTermed: the command's group has had SIGTERM, forwarded or ours.
	groupTermed bool
	// termed are children outside the group that have had our SIGTERM.
	termed map[int]bool
}

func (s *supervisor) run(sigs, chld <-chan os.Signal) int {
	var grace *time.Timer
	defer func() {
		if grace != nil {
			grace.Stop()
		}
	}()
	var graceC <-chan time.Time
	for {
		select {
		case v := <-sigs:
			sig, ok := v.(syscall.Signal)
			if !ok || sig == unix.SIGURG {
				continue
			}
			if sig != unix.SIGCHLD {
				s.forward(sig)
				continue
			}
		case <-chld:
		case <-graceC:
			graceC = nil
			s.killing = true
			s.log.Warn("the grace period is over; killing what is left of the command's process group", log.Duration("grace", s.grace))
		}

		children := s.reap()
		if !s.exited {
			continue
		}
		if !children {
			return s.code
		}
		if !s.stopping {
			s.stopping = true
			if s.grace == 0 {
				s.killing = true
			} else {
				s.log.Info("the command exited; stopping the rest of its process group", log.Duration("grace", s.grace))
				grace = time.NewTimer(s.grace)
				graceC = grace.C
			}
		}
		s.stopRest()
	}
}

// forward sends sig to the command's process group.
func (s *supervisor) forward(sig syscall.Signal) {
	err := unix.Kill(-s.pgid, sig)
	switch {
	case err == nil:
		s.log.Info("forwarded a signal", log.String("signal", unix.SignalName(sig)), log.Int("pgid", s.pgid))
		if sig == unix.SIGTERM {
			s.groupTermed = true
		}
	case errors.Is(err, unix.ESRCH):
		s.log.Debug("no process left to forward a signal to", log.String("signal", unix.SignalName(sig)))
	default:
		s.log.Warn("cannot forward a signal", log.String("signal", unix.SignalName(sig)), log.Err(err))
	}
}

// reap collects every child that has exited, and reports whether any child
// is left.
func (s *supervisor) reap() bool {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ECHILD):
			return false
		case err != nil:
			s.log.Error("wait4 failed", log.Err(err))
			return true
		case pid == 0:
			return true
		case pid == s.pid:
			s.exited, s.code = true, exitCode(ws)
			s.log.Info("the command exited", log.Int("pid", pid), log.Int("code", s.code))
		default:
			s.log.Debug("reaped a process", log.Int("pid", pid), log.Int("code", exitCode(ws)))
		}
	}
}

// stopRest asks what is left to stop, or kills it once the grace period is
// over. It runs after every reap while stopping: an orphan reparented to us
// since the last round is a new child to stop.
func (s *supervisor) stopRest() {
	sig := unix.SIGTERM
	if s.killing {
		sig = unix.SIGKILL
	}
	if s.killing || !s.groupTermed {
		if err := unix.Kill(-s.pgid, sig); err == nil {
			s.log.Info("signalled the command's process group", log.String("signal", unix.SignalName(sig)), log.Int("pgid", s.pgid))
		}
		s.groupTermed = true
	}
	for _, c := range s.children() {
		if c.pgid == s.pgid || (!s.killing && s.termed[c.pid]) {
			continue
		}
		if err := unix.Kill(c.pid, sig); err == nil {
			s.log.Info("signalled a child outside the command's process group", log.String("signal", unix.SignalName(sig)), log.Int("pid", c.pid))
		}
		s.termed[c.pid] = true
	}
}

type proc struct{ pid, pgid int }

// children lists the live children of the supervisor from /proc. Orphans
// that left the command's group (daemons) are found here.
func (s *supervisor) children() []proc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, ppid, pgid, ok := procStat(pid)
		if ok && ppid == s.self && state != 'Z' {
			out = append(out, proc{pid: pid, pgid: pgid})
		}
	}
	return out
}

// procStat reads the state, parent and process group of pid.
func procStat(pid int) (state byte, ppid, pgid int, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, 0, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgid, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil {
		return 0, 0, 0, false
	}
	return f[0][0], ppid, pgid, true
}

// exitCode is the shell's view of a wait status: the exit code, or 128+N
// when signal N ended the process.
func exitCode(ws unix.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return CodeSignalBase + int(ws.Signal())
	}
	return CodeSignalBase
}
