package exec

// The tests start real processes. The test binary re-executes itself in a
// role: FE_EXEC_TEST=1 in the environment, and the role as its first
// argument. "supervise" and "exec" drive this package's API as the CLI
// would; the other roles are commands with one behaviour each.

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exit"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/testdir"
)

const (
	envReexec = "FE_EXEC_TEST"
	envMarker = "FE_EXEC_TEST_MARKER"
)

// testBin is a copy of the test binary that any user may execute, so that
// the roles also run as nobody. The go tool builds it in a 0700 directory.
var testBin string

func TestMain(m *testing.M) {
	if os.Getenv(envReexec) == "1" && len(os.Args) > 1 {
		os.Exit(runRole(os.Args[1], os.Args[2:]))
	}
	dir, err := os.MkdirTemp("", "fe-exec-test-")
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err == nil {
		testBin = filepath.Join(dir, "exec.test")
		err = copyFile(os.Args[0], testBin, 0o755)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "set up the test binary:", err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func runRole(role string, args []string) int {
	switch role {
	case "supervise":
		return roleSupervise(args)
	case "exec":
		return roleExec(args)
	case "checkcred":
		return roleCheckCred(args)
	case "signals":
		return roleSignals(args)
	case "pinger":
		return rolePinger()
	case "stubborn":
		return roleStubborn(args)
	case "envrecorder":
		return roleEnvRecorder(args)
	case "stubborn-grandchild":
		return roleStubbornGrandchild(args)
	}
	fmt.Fprintf(os.Stderr, "unknown role %q\n", role)
	return 3
}

// roleFlags are the CLI flags the supervise and exec roles take, then "--"
// and the command.
type roleFlags struct {
	grace      time.Duration
	user       string
	passwd     string
	group      string
	drop       bool
	noLookPath bool
	secretPath bool // as if a secret set PATH
	logLevel   string
	pending    string // a signal (INT, TERM, HUP) raised before the start
	command    []string

	restartAfter time.Duration
	restartEnv   string
	signalAfter  time.Duration
	signal       string
}

func parseRoleFlags(name string, args []string) (roleFlags, error) {
	var f roleFlags
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.DurationVar(&f.grace, "grace", DefaultGrace, "")
	fs.StringVar(&f.user, "user", "", "")
	fs.StringVar(&f.passwd, "passwd", PasswdFile, "")
	fs.StringVar(&f.group, "group", GroupFile, "")
	fs.BoolVar(&f.drop, "drop", false, "")
	fs.BoolVar(&f.noLookPath, "nolookpath", false, "")
	fs.BoolVar(&f.secretPath, "secretpath", false, "")
	fs.StringVar(&f.logLevel, "loglevel", "debug", "")
	fs.StringVar(&f.pending, "pending", "", "")
	fs.DurationVar(&f.restartAfter, "restart-after", 0, "")
	fs.StringVar(&f.restartEnv, "restart-env", "", "")
	fs.DurationVar(&f.signalAfter, "signal-after", 0, "")
	fs.StringVar(&f.signal, "signal", "", "")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	f.command = fs.Args()
	if len(f.command) == 0 {
		return f, fmt.Errorf("%s: no command", name)
	}
	return f, nil
}

// prepare is what the CLI does before exec or supervise: find the command on
// the child's PATH, resolve --user and check it.
func (f roleFlags) prepare() (string, *Credential, error) {
	path := f.command[0]
	if !f.noLookPath {
		var err error
		if path, err = (Search{PATH: os.Getenv("PATH"), Secret: f.secretPath}).LookPath(f.command[0]); err != nil {
			return "", nil, err
		}
	}
	var cred *Credential
	if f.user != "" {
		var err error
		if cred, err = LookupUser(f.user, f.passwd, f.group); err != nil {
			return "", nil, err
		}
		if err := CheckCredential(cred); err != nil {
			return "", nil, err
		}
	}
	return path, cred, nil
}

func failRole(err error) int {
	fmt.Fprintln(os.Stderr, "error:", err)
	if e, ok := err.(*exit.Error); ok {
		return e.Code
	}
	return 3
}

func roleSupervise(args []string) int {
	f, err := parseRoleFlags("supervise", args)
	if err != nil {
		return failRole(err)
	}
	path, cred, err := f.prepare()
	if err != nil {
		return failRole(err)
	}
	// The children are Go programs that record the signals they get; the Go
	// runtime's own preemption signal would be noise in their records.
	env := append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
	level, err := log.ParseLevel(f.logLevel)
	if err != nil {
		return failRole(err)
	}
	// The Supervisor owns the signals from before the start, as in the CLI.
	s := NewSupervisor(SupervisorOptions{DropPrivileges: f.drop, Grace: f.grace, Logger: log.New(os.Stderr, log.FormatJSON, level)})
	// -pending: a signal arrives while the start is prepared.
	if f.pending != "" {
		syscall.Kill(os.Getpid(), unix.SignalNum("SIG"+f.pending))
		for len(s.sigs) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	c, err := s.Start(Command{Path: path, Argv: f.command, Env: env, Cred: cred})
	if err != nil {
		return failRole(err)
	}
	c.DropPrivileges()
	// -restart-after D -restart-env K=V: Restart once, with K=V added.
	// -signal-after D -signal NAME: Signal once. What each call returned
	// goes to stderr as "restart: <err>" or "signal: <err>".
	var calls sync.WaitGroup
	defer calls.Wait()
	if f.restartAfter > 0 {
		calls.Add(1)
		go func() {
			defer calls.Done()
			time.Sleep(f.restartAfter)
			fmt.Fprintf(os.Stderr, "restart: %v\n", c.Restart(append(env, f.restartEnv)))
		}()
	}
	if f.signalAfter > 0 {
		calls.Add(1)
		go func() {
			defer calls.Done()
			time.Sleep(f.signalAfter)
			fmt.Fprintf(os.Stderr, "signal: %v\n", c.Signal(unix.SignalNum("SIG"+f.signal)))
		}()
	}
	code := c.Wait()
	if f.restartAfter > 0 || f.signalAfter > 0 {
		fmt.Fprintf(os.Stderr, "after exit: %v\n", c.Restart(env))
	}
	return code
}

func roleExec(args []string) int {
	f, err := parseRoleFlags("exec", args)
	if err != nil {
		return failRole(err)
	}
	path, cred, err := f.prepare()
	if err != nil {
		return failRole(err)
	}
	return failRole(Exec(Command{Path: path, Argv: f.command, Env: os.Environ(), Cred: cred}))
}

// roleCheckCred: checkcred SPEC runs LookupUser and CheckCredential.
func roleCheckCred(args []string) int {
	cred, err := LookupUser(args[0], PasswdFile, GroupFile)
	if err == nil {
		err = CheckCredential(cred)
	}
	if err != nil {
		return failRole(err)
	}
	return 0
}

// appendLine appends one line to a file, for records several processes
// write.
func appendLine(path, line string) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o666)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(4)
	}
	fmt.Fprintln(f, line)
	f.Close()
}

// waitStdinEOF blocks until stdin closes: how a test tells a role to finish.
func waitStdinEOF() { _, _ = io.Copy(io.Discard, os.Stdin) }

// roleSignals: signals FILE records every signal it gets as its number, one
// a line, after a "ready" line, and exits 0 when stdin closes.
func roleSignals(args []string) int {
	file := args[0]
	c := make(chan os.Signal, 64)
	signal.Notify(c)
	appendLine(file, "ready")
	go func() {
		for s := range c {
			appendLine(file, strconv.Itoa(int(s.(syscall.Signal))))
		}
	}()
	waitStdinEOF()
	return 0
}

// rolePinger writes one byte to stdout for each SIGUSR1, and exits when stdin
// closes.
func rolePinger() int {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	os.Stdout.Write([]byte("r"))
	go func() {
		for range c {
			os.Stdout.Write([]byte("."))
		}
	}()
	waitStdinEOF()
	return 0
}

// roleStubborn: stubborn FILE survives SIGTERM (it records it and carries
// on), starts a grandchild that does the same, and exits 7 when stdin closes,
// leaving the grandchild behind.
func roleStubborn(args []string) int {
	file := args[0]
	c := make(chan os.Signal, 8)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for s := range c {
			appendLine(file, fmt.Sprintf("child %d", s.(syscall.Signal)))
		}
	}()
	gc := osexec.Command(os.Args[0], "stubborn-grandchild", file)
	gc.Stderr = os.Stderr
	if err := gc.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	appendLine(file, "ready")
	waitStdinEOF()
	return 7
}

// roleEnvRecorder: envrecorder FILE appends "start MARK=<$MARK>" when it
// starts, "hup" for each SIGHUP, and "term" for SIGTERM, on which it exits
// 0; with IGNORE_TERM=1 in its environment it records SIGTERM and carries
// on. stdin closing ends it too.
func roleEnvRecorder(args []string) int {
	file := args[0]
	c := make(chan os.Signal, 8)
	signal.Notify(c, syscall.SIGHUP, syscall.SIGTERM)
	appendLine(file, "start MARK="+os.Getenv("MARK"))
	go func() {
		waitStdinEOF()
		os.Exit(0)
	}()
	for s := range c {
		if s == syscall.SIGHUP {
			appendLine(file, "hup")
			continue
		}
		appendLine(file, "term")
		if os.Getenv("IGNORE_TERM") != "1" {
			return 0
		}
	}
	return 0
}

func roleStubbornGrandchild(args []string) int {
	file := args[0]
	c := make(chan os.Signal, 8)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	appendLine(file, fmt.Sprintf("grandchild pid %d", os.Getpid()))
	for s := range c {
		appendLine(file, fmt.Sprintf("grandchild %d", s.(syscall.Signal)))
	}
	return 0
}

// --- the harness ----------------------------------------------------------

// syncBuffer is a bytes.Buffer that a process may write while a test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// run is one re-executed role, as a test sees it.
type run struct {
	t      testing.TB
	cmd    *osexec.Cmd
	pid1   bool
	marker string
	stdin  io.WriteCloser
	stdout syncBuffer
	stderr syncBuffer

	waitOnce sync.Once
	waitErr  error
	done     chan struct{}
}

type runConfig struct {
	pid1 bool     // supervise as PID 1 of a new PID namespace
	args []string // the role and its arguments
	// cred, when set, is who the role runs as: that needs root, unless it
	// is who the test runs as already.
	cred *syscall.Credential
	// env is added to the role's environment.
	env []string
	// stdout, when set, replaces the captured stdout.
	stdout *os.File
	// marker, when set, is shared with other runs, and the caller checks
	// the process table itself.
	marker string
	// tty, when set, is the run's stdin, stdout, stderr and controlling
	// terminal, in a session of its own.
	tty *os.File
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

var markerSeq struct {
	sync.Mutex
	n int
}

func newMarker(t testing.TB) string {
	markerSeq.Lock()
	defer markerSeq.Unlock()
	markerSeq.n++
	return fmt.Sprintf("%d-%d-%s", os.Getpid(), markerSeq.n, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
}

// startRole re-executes the test binary in a role. In pid1 mode it runs under
// unshare (see needPID1). Every process the run starts carries a unique
// marker in its environment; when the test ends, none may be left.
func startRole(t testing.TB, cfg runConfig) *run {
	t.Helper()
	cfg.cred = needCred(t, cfg.cred)
	r := &run{t: t, pid1: cfg.pid1, marker: cfg.marker, done: make(chan struct{})}
	if r.marker == "" {
		r.marker = newMarker(t)
	}
	argv := append([]string{testBin}, cfg.args...)
	if cfg.pid1 {
		argv = append(needPID1(t), argv...)
	}
	r.cmd = osexec.Command(argv[0], argv[1:]...)
	r.cmd.Env = append(append(os.Environ(), cfg.env...), envReexec+"=1", envMarker+"="+r.marker)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if cfg.stdout != nil {
		r.cmd.Stdout = cfg.stdout
	}
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cfg.cred}
	if cfg.tty != nil {
		r.cmd.Stdin, r.cmd.Stdout, r.cmd.Stderr = cfg.tty, cfg.tty, cfg.tty
		r.cmd.SysProcAttr.Setsid, r.cmd.SysProcAttr.Setctty, r.cmd.SysProcAttr.Ctty = true, true, 0
	}
	// A straggler that holds our pipes must not hang Wait.
	r.cmd.WaitDelay = 2 * time.Second
	if cfg.tty != nil {
		r.stdin = nopCloser{io.Discard}
	} else {
		var err error
		r.stdin, err = r.cmd.StdinPipe()
		require.NoError(t, err)
	}
	require.NoError(t, r.cmd.Start(), "start %v", argv)
	t.Cleanup(func() {
		r.stdin.Close()
		select {
		case <-r.waitDone():
		case <-time.After(10 * time.Second):
			t.Errorf("%v still runs 10s after the test; killing it", argv)
			r.kill()
		}
		if cfg.marker == "" {
			assertNothingLeft(t, r.marker)
		}
	})
	return r
}

// needCred returns the credential to start a role with: cred itself as
// root. Another user can't start a process as someone else, so the test is
// skipped, unless cred is that user already (then nil: the same process).
func needCred(t testing.TB, cred *syscall.Credential) *syscall.Credential {
	t.Helper()
	if cred == nil || os.Geteuid() == 0 {
		return cred
	}
	groups, err := os.Getgroups()
	require.NoError(t, err)
	if int(cred.Uid) == os.Getuid() && int(cred.Gid) == os.Getgid() && len(cred.Groups) == 0 && len(groups) == 0 {
		return nil
	}
	t.Skipf("needs root: starts a process as uid %d gid %d groups %v", cred.Uid, cred.Gid, cred.Groups)
	return nil
}

// pid1 is how a role starts as PID 1 of a new PID namespace, found once.
var pid1 struct {
	once sync.Once
	argv []string // unshare and its flags
	err  error    // why this user gets no PID namespace
}

// unshareArgv is the argv prefix that runs a role as PID 1 of a new PID
// namespace: unshare --pid --fork --kill-child --mount-proc. Another user
// than root needs a user namespace too (--user --map-root-user), where the
// kernel allows unprivileged ones: the error says when it does not.
func unshareArgv() ([]string, error) {
	pid1.once.Do(func() {
		unshare, err := osexec.LookPath("unshare")
		if err != nil {
			pid1.err = fmt.Errorf("supervise-as-PID-1 tests need util-linux's unshare: %w", err)
			return
		}
		argv := []string{unshare, "--pid", "--fork", "--kill-child", "--mount-proc"}
		if os.Geteuid() != 0 {
			argv = append([]string{unshare, "--user", "--map-root-user"}, argv[1:]...)
			if out, err := osexec.Command(argv[0], append(argv[1:], "true")...).CombinedOutput(); err != nil {
				pid1.err = &noUserNS{fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))}
				return
			}
		}
		pid1.argv = argv
	})
	// A copy: callers append to it, from several goroutines.
	return slices.Clone(pid1.argv), pid1.err
}

// noUserNS: the kernel gives this user no user namespace.
type noUserNS struct{ err error }

func (e *noUserNS) Error() string { return "unshare --user: " + e.err.Error() }

// needPID1 is unshareArgv for a test. Without a user namespace, another
// user than root can't make a PID namespace, and the test is skipped;
// anything else that fails (unshare missing) fails the test, as it does
// for root.
func needPID1(t testing.TB) []string {
	t.Helper()
	argv, err := unshareArgv()
	var no *noUserNS
	if errors.As(err, &no) {
		t.Skipf("needs root or unprivileged user namespaces for a PID namespace: %v", no)
	}
	require.NoError(t, err)
	return argv
}

func (r *run) waitDone() <-chan struct{} {
	r.waitOnce.Do(func() {
		go func() {
			r.waitErr = r.cmd.Wait()
			close(r.done)
		}()
	})
	return r.done
}

// wait waits for the run to end and returns its exit code.
func (r *run) wait(timeout time.Duration) int {
	r.t.Helper()
	select {
	case <-r.waitDone():
	case <-time.After(timeout):
		r.kill()
		r.t.Fatalf("the run did not end within %v\nstderr:\n%s", timeout, r.stderr.String())
	}
	return r.cmd.ProcessState.ExitCode()
}

// kill ends a run that overstays: the supervisor (unshare takes the rest of
// the namespace with it) and what carries the run's marker.
func (r *run) kill() {
	r.cmd.Process.Kill()
	for _, p := range withMarker(r.marker) {
		syscall.Kill(p.pid, syscall.SIGKILL)
	}
	<-r.waitDone()
}

// supervisorPID is the supervisor's PID as this test sees it: under unshare
// it is unshare's child.
func (r *run) supervisorPID() int {
	r.t.Helper()
	if !r.pid1 {
		return r.cmd.Process.Pid
	}
	var pid int
	eventually(r.t, 5*time.Second, "unshare's child to appear", func() bool {
		kids := childrenOf(r.cmd.Process.Pid)
		if len(kids) == 1 {
			pid = kids[0].pid
		}
		return pid != 0
	})
	return pid
}

func (r *run) signal(sig syscall.Signal) {
	r.t.Helper()
	require.NoError(r.t, syscall.Kill(r.supervisorPID(), sig))
}

// eventually polls cond every few milliseconds until it holds, and fails the
// test when it does not within timeout.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readLines reads a record file; a missing file has no lines.
func readLines(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func count(lines []string, want string) int {
	n := 0
	for _, l := range lines {
		if l == want {
			n++
		}
	}
	return n
}

// worldDir is a temporary directory any user may write, for roles that run
// as nobody. Whatever a test locked in it is unlocked to be removed.
func worldDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "fe-exec-world-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o777))
	t.Cleanup(func() {
		makeWritable(dir)
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove the test's directory: %v", err)
		}
	})
	return dir
}

// makeWritable lets any user remove the tree: see package testdir.
var makeWritable = testdir.MakeWritable

// --- the process table ----------------------------------------------------

type procInfo struct {
	pid, ppid, pgid int
	state           byte
	comm            string
}

func allProcs() []procInfo {
	entries, _ := os.ReadDir("/proc")
	var out []procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(data)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		f := strings.Fields(s[closing+1:])
		if len(f) < 3 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pgid, _ := strconv.Atoi(f[2])
		out = append(out, procInfo{pid: pid, ppid: ppid, pgid: pgid, state: f[0][0], comm: s[open+1 : closing]})
	}
	return out
}

func childrenOf(ppid int) []procInfo {
	var out []procInfo
	for _, p := range allProcs() {
		if p.ppid == ppid {
			out = append(out, p)
		}
	}
	return out
}

// withMarker lists the processes whose environment carries marker.
func withMarker(marker string) []procInfo {
	needle := []byte(envMarker + "=" + marker + "\x00")
	var out []procInfo
	for _, p := range allProcs() {
		env, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/environ")
		if err == nil && bytes.Contains(env, needle) {
			out = append(out, p)
		}
	}
	return out
}

// assertNothingLeft checks the process table: no process of the run may be
// left. Stragglers are reported, then killed.
func assertNothingLeft(t testing.TB, marker string) {
	t.Helper()
	var left []procInfo
	deadline := time.Now().Add(3 * time.Second)
	for {
		left = withMarker(marker)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, p := range left {
		t.Errorf("left running after the run: pid %d (%s) state %c ppid %d", p.pid, p.comm, p.state, p.ppid)
		syscall.Kill(p.pid, syscall.SIGKILL)
	}
}
