package exec

import (
	"context"
	"errors"
	"fmt"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exit"
	"os"
	"os/signal"
	"path/filepath"
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
			return 0, fmt.Errorf("%q: want a duration such as 10s or 1m30s", s)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return 0, fmt.Errorf("%q: must not be negative", s)
	}
	return d, nil
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

// Command is what runs: the executable LookPath found, the command line
// (Argv[0] is the name the command sees; empty means {Path}), its whole
// environment, and the user it runs as (nil: the shim's own).
type Command struct {
	// Name is how messages and logs call the command: the word the user
	// gave, when Path was built from a PATH a secret set. "" is Path.
	Name string
	Path string
	Argv []string
	Env  []string
	Cred *Credential
}

// SupervisorOptions says how a Supervisor runs the command.
type SupervisorOptions struct {
	// Grace is how long the rest of the command's process group has between
	// SIGTERM and SIGKILL once the command has exited, and how long a
	// command that is being restarted has. Zero kills at once; the CLI's
	// default is DefaultGrace.
	Grace time.Duration
	// DropPrivileges makes the supervisor itself switch to the command's
	// user once the command has started, so that the shim keeps root no
	// longer than it needs it. Leave it off when the supervisor still has
	// root's work to do (republishing mounts with --watch).
	DropPrivileges bool
	// Logger is where the supervisor logs; nil discards.
	Logger *log.Logger
}

// Supervisor is the one owner of the process's signals in supervise mode,
// from before the start until the command and everything it left are gone.
// Until the command starts, a SIGINT or SIGTERM aborts the start (Aborted,
// During) and other signals are dropped: they were meant for a command that
// does not exist yet. Once it has started, every catchable signal but
// SIGCHLD and SIGURG is forwarded to the command's process group, once.
//
// A process makes one Supervisor, before its first phase that may wait.
type Supervisor struct {
	log   *log.Logger
	grace time.Duration
	drop  bool
	sigs  chan os.Signal // every forwarded signal, from NewSupervisor on
	chld  chan os.Signal // SIGCHLD, a buffer of one: one waiting is as good as many
	abort syscall.Signal // the SIGINT or SIGTERM that aborted the start; 0 for none
}

// NewSupervisor takes the process's signals (signal.Notify) and returns the
// Supervisor that owns them.
func NewSupervisor(opts SupervisorOptions) *Supervisor {
	logger := opts.Logger
	if logger == nil {
		logger = log.Nop()
	}
	s := &Supervisor{
		log:   logger.Named("exec"),
		grace: opts.Grace,
		drop:  opts.DropPrivileges,
		sigs:  make(chan os.Signal, 64),
		chld:  make(chan os.Signal, 1),
	}
	signal.Notify(s.sigs, forwarded()...)
	signal.Notify(s.chld, unix.SIGCHLD)
	return s
}

// Close gives the signals back, for a process that goes on after its
// Supervisor (a test, or a start that was abandoned).
func (s *Supervisor) Close() {
	signal.Stop(s.sigs)
	signal.Stop(s.chld)
}

// takeAbort reads the signals waiting, before the start: a SIGINT or
// SIGTERM among them aborts it; others are dropped.
func (s *Supervisor) takeAbort() {
	for s.abort == 0 {
		select {
		case v := <-s.sigs:
			s.note(v)
		default:
			return
		}
	}
}

// abortSignals are the signals that abort a start that has not happened
// yet: the ones whose default action ends a process and that people send to
// stop one. Others are dropped before the start.
func abortSignal(sig syscall.Signal) bool {
	return sig == unix.SIGHUP || sig == unix.SIGINT || sig == unix.SIGQUIT || sig == unix.SIGTERM
}

func (s *Supervisor) note(v os.Signal) {
	sig, _ := v.(syscall.Signal)
	if abortSignal(sig) {
		s.log.Warn("signal before the start; not starting the command", log.String("signal", unix.SignalName(sig)))
		s.abort = sig
		return
	}
	s.log.Debug("dropped a signal that arrived before the start", log.String("signal", unix.SignalName(sig)))
}

// Aborted returns an *exit.Error with 128+N once a SIGINT or SIGTERM (signal N)
// has arrived before the start, and nil until then.
func (s *Supervisor) Aborted() error {
	s.takeAbort()
	return abortError(s.abort)
}

func abortError(sig syscall.Signal) error {
	if sig == 0 {
		return nil
	}
	code := exit.SignalBase + int(sig)
	return errorf(code, "start aborted by %s: nothing was published and the command did not start", unix.SignalName(sig))
}

// During returns a context that a SIGINT or SIGTERM cancels, for a phase
// that may wait (a remote backend), and a function to call when the phase
// is over. Aborted then reports the signal that came.
func (s *Supervisor) During(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for s.abort == 0 {
			select {
			case v := <-s.sigs:
				s.note(v)
			case <-done:
				return
			}
		}
		cancel()
	}()
	return ctx, func() { close(done); <-stopped; cancel() }
}

// Replaces is false: the supervisor goes on after Start.
func (s *Supervisor) Replaces() bool { return false }

// Start starts the command as a child, unless a SIGINT or SIGTERM aborted
// the start already (an *exit.Error with 128+N). It
//
//   - sets PR_SET_CHILD_SUBREAPER unless it is PID 1, so that orphans are
//     reparented to it;
//   - makes itself non-dumpable (PR_SET_DUMPABLE 0), so that a command
//     running as the same user cannot read the supervisor's environment or
//     memory through /proc (its credentials and the values it resolved);
//   - starts the command in its own process group, as Cred, with
//     PR_SET_PDEATHSIG SIGKILL, so that the command does not run on
//     unsupervised if the supervisor is SIGKILLed; when stdin is the
//     controlling terminal, the command's group is put in the foreground.
//
// Start and the Child's Wait must run on one goroutine: PR_SET_PDEATHSIG is
// bound to the thread that forked, so Start locks the goroutine to it.
//
// A command that cannot start is an *exit.Error with exit.NotFound or
// exit.NotExecutable.
func (s *Supervisor) Start(cmd Command) (*Child, error) {
	if cmd.Path == "" {
		return nil, errorf(exit.NotFound, "supervise: no command given")
	}
	if s.grace < 0 {
		return nil, errorf(exit.Usage, "supervise: grace period %v is negative", s.grace)
	}
	if len(cmd.Argv) == 0 {
		cmd.Argv = []string{cmd.Path}
	}
	if err := s.Aborted(); err != nil {
		return nil, err
	}
	// The supervisor outlives the start and still holds what the command
	// must not see. Non-dumpable, its /proc files belong to root and ptrace
	// is refused, even to a command of the same uid. (execve makes the
	// command dumpable again.)
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		s.log.Warn("cannot make the supervisor non-dumpable", log.Err(err))
	}
	if !IsPID1() {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			s.log.Warn("cannot become a child subreaper; orphans will not be reaped here", log.Err(err))
		}
	}
	runtime.LockOSThread()
	c := &Child{
		s:      s,
		cmd:    cmd,
		self:   os.Getpid(),
		termed: map[int]bool{},
		reqs:   make(chan request),
		done:   make(chan struct{}),
	}
	if err := c.spawn(); err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	return c, nil
}

// DropPrivileges switches the supervisor itself to the command's user, when
// SupervisorOptions.DropPrivileges asks for it and the command has a
// Credential; else it does nothing. A start calls it once the command runs
// and the publish is over: retiring the previous version of the mount
// needs the mount directory's owner, root, and the supervisor can't get
// root back. A failure is a warning: the supervisor keeps its privileges.
func (c *Child) DropPrivileges() {
	s, cred := c.s, c.cmd.Cred
	if !s.drop || cred == nil {
		return
	}
	if err := dropTo(cred); err != nil {
		s.log.Warn("the supervisor keeps its privileges", log.Err(err))
		return
	}
	s.log.Info("the supervisor dropped its privileges", log.Int("uid", int(cred.UID)), log.Int("gid", int(cred.GID)))
}

// SuperviseOptions says what Supervise runs and how.
type SuperviseOptions struct {
	Path           string
	Argv           []string
	Env            []string
	Cred           *Credential
	DropPrivileges bool
	Grace          time.Duration
	Logger         *log.Logger
}

// Supervise is NewSupervisor, Start and Wait in one call: it runs the
// command as a child and stays its parent until the command and everything
// it left behind are gone. The code is the command's exit code, or 128+N
// when signal N killed it. An error means the command did not start, and is
// an *exit.Error whose Code is the exit code.
func Supervise(opts SuperviseOptions) (int, error) {
	s := NewSupervisor(SupervisorOptions{Grace: opts.Grace, DropPrivileges: opts.DropPrivileges, Logger: opts.Logger})
	defer s.Close()
	c, err := s.Start(Command{Path: opts.Path, Argv: opts.Argv, Env: opts.Env, Cred: opts.Cred})
	if err != nil {
		var e *exit.Error
		errors.As(err, &e)
		return e.Code, e
	}
	c.DropPrivileges()
	return c.Wait(), nil
}

// Child is a started command under its Supervisor. Signal and Restart may
// be called from any goroutine while Wait runs; they are served by Wait's
// loop, which alone touches the state below.
type Child struct {
	s    *Supervisor
	cmd  Command
	self int

	reqs chan request
	done chan struct{} // closed when Wait returns

	pid, pgid int  // the command's pid and process group
	fg        bool // the command's group has the terminal

	exited   bool // the command has been reaped
	code     int  // its exit code
	stopping bool // the command is gone; the rest are being stopped
	killing  bool // the grace period is over: SIGKILL whatever is left
	// groupTermed: the command's group has had SIGTERM, forwarded or ours.
	groupTermed bool
	// termed are children outside the group that have had our SIGTERM.
	termed map[int]bool

	restart  *request // a restart under way
	shutdown bool     // a SIGINT or SIGTERM was forwarded: no more restarts
}

// request is Signal's or Restart's call into Wait's loop.
type request struct {
	sig     syscall.Signal // Signal: the signal; 0 for a Restart
	env     []string       // Restart: the new environment
	replied chan error
}

// ErrExited is what Signal and Restart return once the command has exited.
var ErrExited = errors.New("the command has exited")

// Signal sends sig to the command's process group, as a forwarded signal
// is.
func (c *Child) Signal(sig syscall.Signal) error {
	return c.call(request{sig: sig})
}

// Restart stops the command (SIGTERM to its process group, the grace
// period, then SIGKILL to the group) and starts it again with env as its
// environment. It returns once the new command has started, or with the
// reason it could not; then Wait returns that start's exit code (126 or
// 127). A SIGINT or SIGTERM forwarded before the new start cancels it: the
// supervisor then ends with the stopped command's code.
func (c *Child) Restart(env []string) error {
	return c.call(request{env: append([]string{}, env...)})
}

func (c *Child) call(r request) error {
	r.replied = make(chan error, 1)
	select {
	case c.reqs <- r:
	case <-c.done:
		return ErrExited
	}
	select {
	case err := <-r.replied:
		return err
	case <-c.done:
		return ErrExited
	}
}

func (c Command) name() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Path
}

// spawn forks and execs the command, in a new process group. The Go
// runtime's reserved signals are ignored by the supervisor, but not by the
// command: their default action is back for the fork.
func (c *Child) spawn() error {
	ignoreReserved(false)
	pid, fg, err := start(c.cmd)
	ignoreReserved(true)
	if err != nil {
		return err
	}
	c.pid, c.pgid, c.fg = pid, pid, fg
	c.exited, c.stopping, c.killing, c.groupTermed = false, false, false, false
	c.s.log.Info("started the command", log.String("command", filepath.Base(c.cmd.name())), log.Int("pid", pid), log.Bool("foreground", fg))
	return nil
}

// Wait forwards signals, reaps every child, serves Signal and Restart, and
// returns when the command has exited and no child is left. The code is
// the command's exit code, or 128+N when signal N killed it.
//
// Once the command has exited, Wait sends SIGTERM to what is left of its
// process group (unless SIGTERM was already forwarded there) and to any
// other remaining child, waits up to the grace period, then SIGKILLs them
// all; signals that arrive meanwhile are still forwarded.
func (c *Child) Wait() int {
	defer runtime.UnlockOSThread()
	defer close(c.done)
	defer func() {
		if c.fg {
			takeForeground(c.s.log)
		}
	}()
	var grace *time.Timer
	var graceC <-chan time.Time
	setGrace := func() {
		if grace != nil {
			grace.Stop()
		}
		grace, graceC = nil, nil
		if c.s.grace > 0 {
			grace = time.NewTimer(c.s.grace)
			graceC = grace.C
		}
	}
	defer func() {
		if grace != nil {
			grace.Stop()
		}
	}()
	for {
		select {
		case v := <-c.s.sigs:
			sig, ok := v.(syscall.Signal)
			// SIGPIPE is taken (so that a write to a broken stderr does not
			// kill the supervisor) but never forwarded: the kernel raises it
			// for the supervisor's own writes, and forwarding it writes a
			// log line, which raised it again, for ever.
			if !ok || sig == unix.SIGURG || sig == unix.SIGCHLD || sig == unix.SIGPIPE {
				continue
			}
			if sig == unix.SIGINT || sig == unix.SIGTERM {
				c.shutdown = true
			}
			c.forward(sig)
			continue
		case r := <-c.reqs:
			c.serve(r, setGrace)
			continue
		case <-c.s.chld:
		case <-graceC:
			graceC = nil
			if c.restart != nil {
				c.s.log.Warn("the grace period is over; killing the command being restarted", log.Duration("grace", c.s.grace))
				c.signalGroup(c.pgid, unix.SIGKILL)
				continue
			}
			c.killing = true
			c.s.log.Warn("the grace period is over; killing what is left of the command's process group", log.Duration("grace", c.s.grace))
		}

		children := c.reap()
		if !c.exited {
			continue
		}
		if c.restart != nil && c.restarted() {
			if grace != nil {
				grace.Stop()
				grace, graceC = nil, nil
			}
			continue
		}
		if !children {
			return c.code
		}
		if !c.stopping {
			c.stopping = true
			if c.s.grace == 0 {
				c.killing = true
			} else {
				c.s.log.Info("the command exited; stopping the rest of its process group", log.Duration("grace", c.s.grace))
				setGrace()
			}
		}
		c.stopRest()
	}
}

// serve answers a Signal or Restart call inside Wait's loop.
func (c *Child) serve(r request, setGrace func()) {
	switch {
	case c.exited:
		r.replied <- ErrExited
	case r.sig != 0:
		c.forward(r.sig)
		r.replied <- nil
	case c.restart != nil || c.shutdown:
		r.replied <- errors.New("the command is being stopped or restarted already")
	default:
		c.restart = &r
		c.s.log.Info("restarting the command", log.Int("pid", c.pid), log.Duration("grace", c.s.grace))
		c.signalGroup(c.pgid, unix.SIGTERM)
		if c.s.grace == 0 {
			c.signalGroup(c.pgid, unix.SIGKILL)
		} else {
			setGrace()
		}
	}
}

// restarted finishes a restart once the command has exited: what it left
// in its group is killed, and the command starts again with the new
// environment. It reports whether the new command runs.
func (c *Child) restarted() bool {
	r := c.restart
	c.restart = nil
	c.signalGroup(c.pgid, unix.SIGKILL)
	if c.shutdown {
		r.replied <- errors.New("a SIGINT or SIGTERM came during the restart; the command is not started again")
		return false
	}
	c.cmd.Env = r.env
	err := c.spawn()
	r.replied <- err
	if err != nil {
		var e *exit.Error
		errors.As(err, &e)
		c.s.log.Error("cannot start the command again", log.Err(err))
		c.code = e.Code
		return false
	}
	return true
}

// signalGroup sends sig to a process group; a group that is gone is fine.
func (c *Child) signalGroup(pgid int, sig syscall.Signal) {
	if err := unix.Kill(-pgid, sig); err == nil {
		c.s.log.Info("signalled the command's process group", log.String("signal", unix.SignalName(sig)), log.Int("pgid", pgid))
	}
}

// start forks and execs the command. It reports whether the command's group
// was made the terminal's foreground group.
func start(cmd Command) (int, bool, error) {
	path, argv, env, cred := cmd.Path, cmd.Argv, cmd.Env, cmd.Cred
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
				return 0, false, errorf(exit.NotExecutable, "open %s for fd %d: %w", os.DevNull, fd, err)
			}
			defer f.Close()
			files[fd] = f.Fd()
		}
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: env, Files: files, Sys: sys})
	if err != nil {
		return 0, false, execError(cmd.name(), path, err)
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

// forward sends sig to the command's process group.
func (c *Child) forward(sig syscall.Signal) {
	err := unix.Kill(-c.pgid, sig)
	switch {
	case err == nil:
		c.s.log.Info("forwarded a signal", log.String("signal", unix.SignalName(sig)), log.Int("pgid", c.pgid))
		if sig == unix.SIGTERM {
			c.groupTermed = true
		}
	case errors.Is(err, unix.ESRCH):
		c.s.log.Debug("no process left to forward a signal to", log.String("signal", unix.SignalName(sig)))
	default:
		c.s.log.Warn("cannot forward a signal", log.String("signal", unix.SignalName(sig)), log.Err(err))
	}
}

// reap collects every child that has exited, and reports whether any child
// is left.
func (c *Child) reap() bool {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ECHILD):
			return false
		case err != nil:
			c.s.log.Error("wait4 failed", log.Err(err))
			return true
		case pid == 0:
			return true
		case pid == c.pid:
			c.exited, c.code = true, exitCode(ws)
			c.s.log.Info("the command exited", log.Int("pid", pid), log.Int("code", c.code))
		default:
			c.s.log.Debug("reaped a process", log.Int("pid", pid), log.Int("code", exitCode(ws)))
		}
	}
}

// stopRest asks what is left to stop, or kills it once the grace period is
// over. It runs after every reap while stopping: an orphan reparented to us
// since the last round is a new child to stop.
func (c *Child) stopRest() {
	sig := unix.SIGTERM
	if c.killing {
		sig = unix.SIGKILL
	}
	if c.killing || !c.groupTermed {
		if err := unix.Kill(-c.pgid, sig); err == nil {
			c.s.log.Info("signalled the command's process group", log.String("signal", unix.SignalName(sig)), log.Int("pgid", c.pgid))
		}
		c.groupTermed = true
	}
	for _, p := range c.children() {
		if p.pgid == c.pgid || (!c.killing && c.termed[p.pid]) {
			continue
		}
		if err := unix.Kill(p.pid, sig); err == nil {
			c.s.log.Info("signalled a child outside the command's process group", log.String("signal", unix.SignalName(sig)), log.Int("pid", p.pid))
		}
		c.termed[p.pid] = true
	}
}

type proc struct{ pid, pgid int }

// children lists the live children of the supervisor from /proc. Orphans
// that left the command's group (daemons) are found here.
func (c *Child) children() []proc {
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
		if ok && ppid == c.self && state != 'Z' {
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
		return exit.SignalBase + int(ws.Signal())
	}
	return exit.SignalBase
}
