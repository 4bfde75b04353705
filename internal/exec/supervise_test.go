package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exit"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Supervise runs as PID 1 of a new PID namespace (unshare --pid --fork
// --mount-proc), and beside another init, where it is a child subreaper.
var modes = []struct {
	name string
	pid1 bool
}{
	{name: "pid1", pid1: true},
	{name: "subreaper", pid1: false},
}

// supervise is the argv of the supervise role.
func supervise(flags []string, command ...string) []string {
	args := append([]string{"supervise"}, flags...)
	return append(append(args, "--"), command...)
}

// runQuick runs the supervise role once and returns its exit code. It is for
// loops that run many supervisors from several goroutines, where require
// can't be used: in pid1 mode, call needPID1 first.
func runQuick(pid1 bool, marker string, args ...string) (int, string, error) {
	argv := append([]string{testBin}, args...)
	if pid1 {
		unshare, err := unshareArgv()
		if err != nil {
			return 0, "", err
		}
		argv = append(unshare, argv...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := osexec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), envReexec+"=1", envMarker+"="+marker)
	cmd.WaitDelay = 2 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *osexec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return 0, stderr.String(), err
	}
	return cmd.ProcessState.ExitCode(), stderr.String(), nil
}

func TestSuperviseExitCodes(t *testing.T) {
	t.Parallel()
	type job struct {
		script string
		want   int
	}
	var jobs []job
	for code := 0; code <= 255; code++ {
		jobs = append(jobs, job{script: fmt.Sprintf("exit %d", code), want: code})
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL, syscall.SIGSEGV, syscall.SIGINT} {
		// No core file: a SIGSEGV here is on purpose.
		jobs = append(jobs, job{script: fmt.Sprintf("ulimit -c 0; kill -%d $$", sig), want: 128 + int(sig)})
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			if m.pid1 {
				needPID1(t)
			}
			marker := newMarker(t)
			var mu sync.Mutex
			next := 0
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() {
					for {
						mu.Lock()
						if next == len(jobs) || t.Failed() {
							mu.Unlock()
							return
						}
						j := jobs[next]
						next++
						mu.Unlock()
						got, stderr, err := runQuick(m.pid1, marker, supervise([]string{"-loglevel", "warn"}, "/bin/sh", "-c", j.script)...)
						if err != nil {
							t.Errorf("%q: %v\n%s", j.script, err, stderr)
							continue
						}
						if got != j.want {
							t.Errorf("sh -c %q: the supervisor exited %d, want %d\n%s", j.script, got, j.want, stderr)
						}
					}
				})
			}
			wg.Wait()
			assertNothingLeft(t, marker)
		})
	}
}

func TestSuperviseForwardsEachSignalOnce(t *testing.T) {
	t.Parallel()
	forwardedSigs := []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGQUIT}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			rec := filepath.Join(t.TempDir(), "signals")
			r := startRole(t, runConfig{pid1: m.pid1, args: supervise(nil, testBin, "signals", rec)})
			eventually(t, 10*time.Second, "the command to start", func() bool { return count(readLines(rec), "ready") == 1 })

			// The supervisor drops these two. The Go runtime of the
			// supervisor sends itself SIGURG meanwhile, too.
			r.signal(syscall.SIGURG)
			r.signal(syscall.SIGCHLD)
			for _, sig := range forwardedSigs {
				r.signal(sig)
				eventually(t, 5*time.Second, fmt.Sprintf("the command to get %v", sig), func() bool {
					return count(readLines(rec), strconv.Itoa(int(sig))) >= 1
				})
			}
			time.Sleep(300 * time.Millisecond) // time for a duplicate to show
			lines := readLines(rec)
			for _, sig := range forwardedSigs {
				assert.Equal(t, 1, count(lines, strconv.Itoa(int(sig))), "%v reaches the command exactly once; records: %v", sig, lines)
			}
			assert.Zero(t, count(lines, strconv.Itoa(int(syscall.SIGURG))), "no SIGURG reaches the command")
			assert.Zero(t, count(lines, strconv.Itoa(int(syscall.SIGCHLD))), "no SIGCHLD reaches the command")
			assert.Len(t, lines, 1+len(forwardedSigs), "records: %v", lines)

			r.stdin.Close()
			assert.Equal(t, 0, r.wait(10*time.Second), "stderr: %s", r.stderr.String())
			assert.Contains(t, r.stderr.String(), `"msg":"forwarded a signal","signal":"SIGUSR2"`)
		})
	}
}

func TestSuperviseReapsOrphans(t *testing.T) {
	t.Parallel()
	// The inner shell starts 100 sleeps in the background and exits at
	// once: the sleeps are orphans, reparented to the supervisor. The outer
	// shell, the command, waits for stdin to close.
	const orphans = 100
	script := fmt.Sprintf(`sh -c 'i=0; while [ $i -lt %d ]; do sleep 1 & i=$((i+1)); done'; echo spawned; exec cat >/dev/null`, orphans)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			r := startRole(t, runConfig{pid1: m.pid1, args: supervise([]string{"-loglevel", "info"}, "/bin/sh", "-c", script)})
			eventually(t, 10*time.Second, "the orphans to be spawned", func() bool { return r.stdout.String() == "spawned\n" })
			sup := r.supervisorPID()

			sleeps := func() (live, zombies int) {
				for _, p := range childrenOf(sup) {
					if p.comm != "sleep" {
						continue
					}
					if p.state == 'Z' {
						zombies++
					} else {
						live++
					}
				}
				return live, zombies
			}
			// The background jobs are forked shells until they exec sleep.
			eventually(t, 5*time.Second, "every orphan to be the supervisor's child", func() bool {
				live, zombies := sleeps()
				return live+zombies == orphans
			})
			var live, zombies int

			// They exit after a second. If the supervisor did not reap
			// them, they would stay, as zombies.
			eventually(t, 10*time.Second, "the orphans to exit and be reaped", func() bool {
				live, zombies = sleeps()
				return live == 0 && zombies == 0
			})
			for _, p := range childrenOf(sup) {
				assert.NotEqual(t, byte('Z'), p.state, "a zombie is left: %+v", p)
			}
			if m.pid1 {
				// In the namespace nothing else may be left either.
				for _, p := range allProcs() {
					if p.state == 'Z' && p.ppid == sup {
						t.Errorf("zombie in the namespace: %+v", p)
					}
				}
			}

			r.stdin.Close()
			assert.Equal(t, 0, r.wait(10*time.Second), "stderr: %s", r.stderr.String())
		})
	}
}

// TestSuperviseGraceKillsAStubbornTree: the command and its grandchild both
// survive SIGTERM. Once the command exits, the grandchild gets the grace
// period, then SIGKILL.
func TestSuperviseGraceKillsAStubbornTree(t *testing.T) {
	t.Parallel()
	const grace = time.Second
	for _, m := range modes {
		for _, forwardFirst := range []bool{true, false} {
			name := m.name + "/supervisor's SIGTERM"
			if forwardFirst {
				name = m.name + "/forwarded SIGTERM"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				rec := filepath.Join(t.TempDir(), "records")
				r := startRole(t, runConfig{pid1: m.pid1, args: supervise([]string{"-grace", grace.String()}, testBin, "stubborn", rec)})
				eventually(t, 10*time.Second, "the command and its grandchild", func() bool {
					lines := readLines(rec)
					return count(lines, "ready") == 1 && len(lines) >= 2
				})
				term, intr := int(syscall.SIGTERM), int(syscall.SIGINT)
				if forwardFirst {
					r.signal(syscall.SIGTERM)
					eventually(t, 5*time.Second, "both to get SIGTERM", func() bool {
						lines := readLines(rec)
						return count(lines, fmt.Sprintf("child %d", term)) == 1 && count(lines, fmt.Sprintf("grandchild %d", term)) == 1
					})
				}

				exitAt := time.Now()
				r.stdin.Close() // the command exits 7; the grandchild stays
				eventually(t, 5*time.Second, "the grandchild to get one SIGTERM", func() bool {
					return count(readLines(rec), fmt.Sprintf("grandchild %d", term)) == 1
				})
				// During the grace period signals are still forwarded,
				// a second SIGTERM included.
				r.signal(syscall.SIGINT)
				r.signal(syscall.SIGTERM)
				eventually(t, 5*time.Second, "SIGINT and SIGTERM forwarded during shutdown", func() bool {
					lines := readLines(rec)
					return count(lines, fmt.Sprintf("grandchild %d", intr)) == 1 && count(lines, fmt.Sprintf("grandchild %d", term)) == 2
				})

				code := r.wait(grace + 10*time.Second)
				took := time.Since(exitAt)
				assert.Equal(t, 7, code, "the command's own code, whatever happened to the rest; stderr: %s", r.stderr.String())
				assert.GreaterOrEqual(t, took, grace, "the rest of the group had its grace period")
				stderr := r.stderr.String()
				assert.Contains(t, stderr, "the grace period is over")
				assert.Contains(t, stderr, `"signal":"SIGKILL"`)
				lines := readLines(rec)
				assert.Equal(t, 2, count(lines, fmt.Sprintf("grandchild %d", term)), "records: %v", lines)
			})
		}
	}
}

// TestSuperviseGraceEndsWhenTheRestExits: what is left after the command
// exits gets SIGTERM, and the supervisor does not wait out the grace period
// when that ends it. This holds for the command's group and for children
// that left it.
func TestSuperviseGraceEndsWhenTheRestExits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		script   string
		wantCode int
	}{
		{name: "a background job in the group", script: "sleep 100 & exit 3", wantCode: 3},
		{name: "a daemon in its own session", script: "setsid sleep 100 & sleep 0.2; exit 0", wantCode: 0},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				startedAt := time.Now()
				r := startRole(t, runConfig{pid1: m.pid1, args: supervise([]string{"-grace", "60s"}, "/bin/sh", "-c", tt.script)})
				assert.Equal(t, tt.wantCode, r.wait(30*time.Second), "stderr: %s", r.stderr.String())
				assert.Less(t, time.Since(startedAt), 30*time.Second, "SIGTERM ended the rest before the grace period did")
				assert.Contains(t, r.stderr.String(), `"signal":"SIGTERM"`)
				assert.NotContains(t, r.stderr.String(), "SIGKILL")
			})
		}
	}
}

// TestSuperviseParentDeath: a SIGKILLed supervisor takes the command with it
// (PR_SET_PDEATHSIG), so that it does not run on unsupervised.
func TestSuperviseParentDeath(t *testing.T) {
	t.Parallel()
	r := startRole(t, runConfig{args: supervise(nil, "sleep", "100")})
	sup := r.supervisorPID()
	var child int
	eventually(t, 10*time.Second, "the command to start", func() bool {
		for _, p := range childrenOf(sup) {
			if p.comm == "sleep" {
				child = p.pid
			}
		}
		return child != 0
	})
	require.NoError(t, syscall.Kill(sup, syscall.SIGKILL))
	assert.Equal(t, -1, r.wait(5*time.Second), "killed by a signal")
	start := time.Now()
	eventually(t, 5*time.Second, "the command to die with its supervisor", func() bool {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		// Gone, or a zombie waiting for whoever adopted it.
		return err != nil || bytes.Contains(data, []byte(") Z "))
	})
	t.Logf("the command died %v after its supervisor", time.Since(start))
}

func TestSuperviseAsUser(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		flags      []string
		wantUID    string
		wantGID    string
		wantGroups []string
	}{
		{name: "numeric", flags: []string{"-user", "65534:65534"}, wantUID: "65534", wantGID: "65534", wantGroups: nil},
		{name: "named", flags: []string{"-user", "alice", "-passwd", "testdata/passwd", "-group", "testdata/group"},
			wantUID: "4242", wantGID: "4243", wantGroups: []string{"4243", "5000", "5001", "5002"}},
		{name: "named with a group", flags: []string{"-user", "alice:ops", "-passwd", "testdata/passwd", "-group", "testdata/group"},
			wantUID: "4242", wantGID: "5001", wantGroups: []string{"5000", "5001", "5002"}},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				// The supervisor starts with supplementary groups of its
				// own, which the command must not inherit.
				r := startRole(t, runConfig{pid1: m.pid1, cred: rootWithGroups, args: supervise(tt.flags, "/bin/sh", "-c", printIDs)})
				require.Equal(t, 0, r.wait(10*time.Second), "stderr: %s", r.stderr.String())
				uid, gid, groups := statusIDs(t, r.stdout.String())
				assert.Equal(t, []string{tt.wantUID, tt.wantUID, tt.wantUID, tt.wantUID}, uid)
				assert.Equal(t, []string{tt.wantGID, tt.wantGID, tt.wantGID, tt.wantGID}, gid)
				assert.ElementsMatch(t, tt.wantGroups, groups)
			})
		}
	}
}

// TestSuperviseDropsItsOwnPrivileges: with DropPrivileges the supervisor
// keeps root only to start the command, and still forwards and reaps.
func TestSuperviseDropsItsOwnPrivileges(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			rec := filepath.Join(worldDir(t), "signals")
			r := startRole(t, runConfig{pid1: m.pid1, cred: rootWithGroups, args: supervise([]string{"-user", "65534:65534", "-drop"}, testBin, "signals", rec)})
			eventually(t, 10*time.Second, "the command to start", func() bool { return count(readLines(rec), "ready") == 1 })
			sup := r.supervisorPID()
			eventually(t, 5*time.Second, "the supervisor to drop its privileges", func() bool {
				return strings.Contains(r.stderr.String(), "the supervisor dropped its privileges")
			})
			status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", sup))
			require.NoError(t, err)
			uid, gid, groups := statusIDs(t, string(status))
			assert.Equal(t, []string{"65534", "65534", "65534", "65534"}, uid)
			assert.Equal(t, []string{"65534", "65534", "65534", "65534"}, gid)
			assert.Empty(t, groups)

			r.signal(syscall.SIGUSR1)
			eventually(t, 5*time.Second, "SIGUSR1 forwarded by the unprivileged supervisor", func() bool {
				return count(readLines(rec), strconv.Itoa(int(syscall.SIGUSR1))) == 1
			})
			r.stdin.Close()
			assert.Equal(t, 0, r.wait(10*time.Second), "stderr: %s", r.stderr.String())
		})
	}
}

// TestSuperviseIdleCostsNothing: the supervisor sleeps in the kernel while
// nothing happens. This is a busy-loop check, not a speed test: a loop that
// polls, even every millisecond, burns far more than 100ms in 5s.
func TestSuperviseIdleCostsNothing(t *testing.T) {
	t.Parallel()
	r := startRole(t, runConfig{pid1: true, args: supervise(nil, "/bin/sh", "-c", "exec cat >/dev/null")})
	sup := r.supervisorPID()
	eventually(t, 10*time.Second, "the command to start", func() bool { return len(childrenOf(sup)) == 1 })
	time.Sleep(200 * time.Millisecond) // start-up is not idle time

	before, beforeRun := cpuTime(t, sup), runTime(sup)
	time.Sleep(5 * time.Second)
	used := cpuTime(t, sup) - before
	t.Logf("supervisor CPU time over 5 idle seconds: %v (utime+stime, 10ms ticks); %v on CPU (schedstat, all threads)", used, runTime(sup)-beforeRun)
	assert.Less(t, used, 100*time.Millisecond, "the supervisor is busy while idle")

	r.stdin.Close()
	assert.Equal(t, 0, r.wait(10*time.Second))
}

// runTime is the time every thread of pid has spent on a CPU, from
// /proc/<pid>/task/*/schedstat, in nanoseconds: finer than cpuTime's ticks.
func runTime(pid int) time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum time.Duration
	for _, task := range tasks {
		data, err := os.ReadFile(task)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(data)); len(f) > 0 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			sum += time.Duration(n)
		}
	}
	return sum
}

// cpuTime is utime+stime of pid, from /proc/<pid>/stat, in USER_HZ (100) ticks.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	// After the comm: state(0) ppid pgrp session tty_nr tpgid flags minflt
	// cminflt majflt cmajflt utime(11) stime(12).
	utime, err := strconv.Atoi(f[11])
	require.NoError(t, err)
	stime, err := strconv.Atoi(f[12])
	require.NoError(t, err)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func TestSuperviseBadInput(t *testing.T) {
	t.Parallel()
	dir := worldDir(t)
	noexec := writeFile(t, filepath.Join(dir, "noexec"), "#!/bin/sh\n", 0o644)
	badInterp := writeFile(t, filepath.Join(dir, "badinterp"), "#!/nonexistent/interpreter\n", 0o755)
	started := filepath.Join(dir, "started")
	touch := []string{"/bin/sh", "-c", "touch " + started}

	tests := []struct {
		name     string
		pid1     bool
		cred     *syscall.Credential
		flags    []string
		command  []string
		wantCode int
		wantMsg  []string
	}{
		{name: "missing command", command: []string{"no-such-command"}, wantCode: 127,
			wantMsg: []string{`command "no-such-command" not found in PATH "` + os.Getenv("PATH") + `"`}},
		{name: "missing command as PID 1", pid1: true, command: []string{"no-such-command"}, wantCode: 127},
		{name: "missing path at start", flags: []string{"-nolookpath"}, command: []string{dir + "/missing"}, wantCode: 127,
			wantMsg: []string{`exec "` + dir + `/missing": no such file or directory`}},
		{name: "not executable", command: []string{noexec}, wantCode: 126, wantMsg: []string{"is not executable"}},
		{name: "not executable at start", flags: []string{"-nolookpath"}, command: []string{noexec}, wantCode: 126,
			wantMsg: []string{"permission denied"}},
		{name: "directory at start", flags: []string{"-nolookpath"}, command: []string{dir}, wantCode: 126},
		{name: "missing interpreter", flags: []string{"-nolookpath"}, command: []string{badInterp}, wantCode: 126,
			wantMsg: []string{"interpreter"}},
		{name: "unknown user", flags: []string{"-user", "no-such-user"}, command: touch, wantCode: 126,
			wantMsg: []string{`user "no-such-user" not found in /etc/passwd`}},
		{name: "unknown group", flags: []string{"-user", "65534:no-such-group"}, command: touch, wantCode: 126,
			wantMsg: []string{`group "no-such-group" not found in /etc/group`}},
		{name: "malformed user", flags: []string{"-user", "a:b:c"}, command: touch, wantCode: 2},
		{name: "a user it can't switch to", cred: &syscall.Credential{Uid: 65534, Gid: 65534},
			flags: []string{"-user", "0:0"}, command: touch, wantCode: 126, wantMsg: []string{"cannot run as user 0:0"}},
		{name: "SIGTERM before the start", flags: []string{"-pending", "TERM"}, command: touch, wantCode: 143,
			wantMsg: []string{"start aborted by SIGTERM: nothing was published and the command did not start"}},
		{name: "SIGINT before the start", pid1: true, flags: []string{"-pending", "INT"}, command: touch, wantCode: 130},
		{name: "SIGHUP before the start, as PID 1", pid1: true, flags: []string{"-pending", "HUP"}, command: touch, wantCode: 129,
			wantMsg: []string{"start aborted by SIGHUP"}},
		{name: "SIGQUIT before the start: one line, no goroutine dump", flags: []string{"-pending", "QUIT"}, command: touch, wantCode: 131,
			wantMsg: []string{"start aborted by SIGQUIT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startRole(t, runConfig{pid1: tt.pid1, cred: tt.cred, args: supervise(tt.flags, tt.command...)})
			assert.Equal(t, tt.wantCode, r.wait(10*time.Second), "stderr: %s", r.stderr.String())
			for _, m := range tt.wantMsg {
				assert.Contains(t, r.stderr.String(), m)
			}
			assert.NoFileExists(t, started, "the command must not have started")
			assert.NotContains(t, r.stderr.String(), "goroutine ", "no goroutine dump")
		})
	}

	t.Run("another signal before the start is dropped", func(t *testing.T) {
		r := startRole(t, runConfig{args: supervise([]string{"-pending", "USR1"}, "/bin/sh", "-c", "exit 5")})
		assert.Equal(t, 5, r.wait(10*time.Second), "stderr: %s", r.stderr.String())
	})
	t.Run("options", func(t *testing.T) {
		// These fail before Supervise touches signals or starts anything.
		_, err := Supervise(SuperviseOptions{Path: "/bin/true", Grace: -time.Second})
		var e *exit.Error
		require.True(t, errors.As(err, &e))
		assert.Equal(t, exit.Usage, e.Code)
		assert.Contains(t, err.Error(), "grace period -1s is negative")

		code, err := Supervise(SuperviseOptions{})
		assert.Equal(t, exit.NotFound, code)
		require.Error(t, err)
	})
}

// BenchmarkSignalForward measures a signal's trip through the supervisor:
// from kill(2) on the supervisor to the command noticing it (the command
// writes a byte to a pipe for each SIGUSR1). "direct" sends the signal to
// the same command without a supervisor: the difference is the supervisor's
// share.
func BenchmarkSignalForward(b *testing.B) {
	bench := func(b *testing.B, pid1, supervised bool) {
		pr, pw, err := os.Pipe()
		require.NoError(b, err)
		defer pr.Close()
		args := []string{"pinger"}
		if supervised {
			args = supervise([]string{"-loglevel", "info"}, testBin, "pinger")
		}
		r := startRole(b, runConfig{pid1: pid1, args: args, stdout: pw})
		pw.Close()
		buf := make([]byte, 1)
		_, err = pr.Read(buf)
		require.NoError(b, err, "the pinger's ready byte")
		pid := r.supervisorPID()

		for b.Loop() {
			if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
				b.Fatal(err)
			}
			if _, err := pr.Read(buf); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		r.stdin.Close()
		r.wait(10 * time.Second)
	}
	b.Run("direct", func(b *testing.B) { bench(b, false, false) })
	b.Run("supervised/subreaper", func(b *testing.B) { bench(b, false, true) })
	b.Run("supervised/pid1", func(b *testing.B) { bench(b, true, true) })
}

// TestSuperviseOnATerminal: with stdin on its controlling terminal (docker
// run -it), the supervisor hands the terminal's foreground to the command's
// group. The command can read it, and Ctrl-C reaches it once, from the
// terminal, not through the supervisor.
func TestSuperviseOnATerminal(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			ptm, tty, err := pty.Open()
			require.NoError(t, err)
			defer ptm.Close()
			var screen syncBuffer
			go io.Copy(&screen, ptm) //nolint:errcheck // ends with the pty

			rec := filepath.Join(t.TempDir(), "signals")
			r := startRole(t, runConfig{pid1: m.pid1, tty: tty, args: supervise(nil, "/bin/sh", "-c",
				`read line; echo "got:$line"; exec "$0" signals "$1"`, testBin, rec)})
			tty.Close()

			// In a background group, the shell's read would stop it.
			_, err = ptm.Write([]byte("hello\n"))
			require.NoError(t, err)
			eventually(t, 10*time.Second, "the command to read the terminal", func() bool {
				return strings.Contains(screen.String(), "got:hello") && count(readLines(rec), "ready") == 1
			})

			_, err = ptm.Write([]byte{3}) // Ctrl-C
			require.NoError(t, err)
			eventually(t, 5*time.Second, "Ctrl-C to reach the command", func() bool {
				return count(readLines(rec), strconv.Itoa(int(syscall.SIGINT))) == 1
			})
			time.Sleep(300 * time.Millisecond)
			assert.Equal(t, 1, count(readLines(rec), strconv.Itoa(int(syscall.SIGINT))), "once")
			assert.NotContains(t, screen.String(), `"msg":"forwarded a signal","signal":"SIGINT"`, "the terminal sent it, not the supervisor")

			_, err = ptm.Write([]byte{4}) // Ctrl-D: end of input
			require.NoError(t, err)
			assert.Equal(t, 0, r.wait(10*time.Second), "screen: %s", screen.String())
			assert.Contains(t, screen.String(), `"foreground":true`)
		})
	}
}

// TestSuperviseReservedSignals: the Go runtime reserves 32, 33 and 34, and
// takes SIGPROF for its profiler: os/signal never sees them. A stray one
// must neither kill the supervisor (and the command with it) nor reach the
// command: 32 and 34 are ignored, 33 and SIGPROF are dropped by the
// runtime's own handler.
func TestSuperviseReservedSignals(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			rec := filepath.Join(t.TempDir(), "signals")
			r := startRole(t, runConfig{pid1: m.pid1, args: supervise(nil, testBin, "signals", rec)})
			eventually(t, 10*time.Second, "the command to start", func() bool { return count(readLines(rec), "ready") == 1 })
			for _, sig := range []syscall.Signal{32, 33, 34} {
				r.signal(sig)
			}
			r.signal(syscall.SIGPROF)
			// SIGPIPE is the supervisor's own: a write of its own to a
			// broken stderr raises it, and forwarding it logged again, to the
			// same stderr, for ever.
			r.signal(syscall.SIGPIPE)
			r.signal(syscall.SIGUSR1) // a signal that is forwarded, to know the others had their time
			eventually(t, 5*time.Second, "SIGUSR1 to reach the command", func() bool { return count(readLines(rec), "10") == 1 })
			time.Sleep(200 * time.Millisecond)
			assert.Equal(t, []string{"ready", "10"}, readLines(rec), "none of them reached the command")
			r.stdin.Close()
			assert.Equal(t, 0, r.wait(10*time.Second), "the supervisor and the command lived on; stderr: %s", r.stderr.String())
		})
	}
}
