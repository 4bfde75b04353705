package main_test

// The --watch end-to-end tests: the real binary supervising a real
// long-running command (testdata/reloader), a source directory updated the
// way the kubelet updates a Secret volume, and the command's own record of
// every signal it got and every set of files it read.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const watchCanary = "CANARY-watch-61af"

// kubeletDir is a directory laid out and updated as the kubelet's atomic
// writer lays out a Secret volume: the files live in a ..<timestamp>
// directory, ..data is a symlink to it, and each visible name is a stable
// symlink into ..data. An update writes a new version directory, points a
// ..data_tmp symlink at it, renames that over ..data, then drops the names
// and the version that are gone.
type kubeletDir struct {
	dir     string
	n       int
	version string
}

func newKubeletDir(t testing.TB, values map[string]string) *kubeletDir {
	k := &kubeletDir{dir: tempDir(t)}
	k.update(t, values)
	return k
}

func (k *kubeletDir) update(t testing.TB, values map[string]string) time.Time {
	t.Helper()
	k.n++
	version := fmt.Sprintf("..2026_12_01_00_00_00.%09d", k.n)
	vdir := filepath.Join(k.dir, version)
	require.NoError(t, os.Mkdir(vdir, 0o755))
	for name, v := range values {
		require.NoError(t, os.WriteFile(filepath.Join(vdir, name), []byte(v), 0o644))
	}
	for name := range values {
		link := filepath.Join(k.dir, name)
		if _, err := os.Lstat(link); err != nil {
			require.NoError(t, os.Symlink(filepath.Join("..data", name), link))
		}
	}
	tmp := filepath.Join(k.dir, "..data_tmp")
	require.NoError(t, os.Symlink(version, tmp))
	swapped := time.Now()
	require.NoError(t, os.Rename(tmp, filepath.Join(k.dir, "..data")))
	entries, err := os.ReadDir(k.dir)
	require.NoError(t, err)
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "..") {
			continue
		}
		if _, ok := values[name]; !ok {
			require.NoError(t, os.Remove(filepath.Join(k.dir, name)))
		}
	}
	if k.version != "" {
		require.NoError(t, os.RemoveAll(filepath.Join(k.dir, k.version)))
	}
	k.version = version
	return swapped
}

// reloaderEvent is one line of the reloader's record.
type reloaderEvent struct {
	Event   string            `json:"event"`
	PID     int               `json:"pid"`
	Env     string            `json:"env"`
	Signal  string            `json:"signal"`
	Time    int64             `json:"time_ns"`
	Files   map[string]string `json:"files"`
	Errors  []string          `json:"errors"`
	Sets    int64             `json:"sets"`
	Torn    int64             `json:"torn"`
	Failed  int64             `json:"failed"`
	Retries int64             `json:"retries"`
}

// watched is a shim running --watch over the reloader.
type watched struct {
	cmd    *exec.Cmd
	out    string // the reloader's record
	stderr string // the shim's stderr, a file
	root   string
	done   chan struct{}
	code   int
}

type watchRun struct {
	args  []string          // flags, before "--"
	env   map[string]string // on top of a minimal environment
	files []string          // the names the reloader reads
	loop  bool              // reread them in a loop
	envOf string            // the variable the reloader reports
	cred  *syscall.Credential
	root  string // --root; a fresh one when ""
}

func (r watchRun) start(t *testing.T) *watched {
	t.Helper()
	tmp := tempDir(t)
	if r.cred != nil { // another user writes the record and the mount
		require.NoError(t, os.Chmod(filepath.Dir(tmp), 0o755))
		require.NoError(t, os.Chmod(tmp, 0o777))
	}
	w := &watched{out: filepath.Join(tmp, "reloader.jsonl"), stderr: filepath.Join(tmp, "stderr"), root: r.root, done: make(chan struct{})}
	if w.root == "" {
		w.root = filepath.Join(tmp, "root")
	}
	env := map[string]string{
		"PATH":                  "/usr/bin:/bin",
		"HOME":                  tmp,
		"XDG_DATA_HOME":         filepath.Join(tmp, "xdg"),
		"FLYTE_ENTRYPOINT_ROOT": w.root,
		"RELOADER_OUT":          w.out,
		"RELOADER_ROOT":         w.root,
		"RELOADER_FILES":        strings.Join(r.files, ","),
		"RELOADER_ENV":          r.envOf,
	}
	if r.loop {
		env["RELOADER_LOOP"] = "1"
	}
	for k, v := range r.env {
		env[k] = v
	}
	args := append(append([]string{"--watch", "--grace", "2s"}, r.args...), "--", reloaderBin)
	w.cmd = exec.Command(shimBin, args...)
	for k, v := range env {
		w.cmd.Env = append(w.cmd.Env, k+"="+v)
	}
	errf, err := os.Create(w.stderr)
	require.NoError(t, err)
	w.cmd.Stderr = errf
	if r.cred != nil {
		w.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	}
	require.NoError(t, w.cmd.Start())
	go func() {
		err := w.cmd.Wait()
		errf.Close()
		w.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			w.code = ee.ExitCode()
		}
		close(w.done)
	}()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			_ = w.cmd.Process.Kill()
			<-w.done
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for len(w.events(t, "start")) == 0 {
		select {
		case <-w.done:
			t.Fatalf("the shim exited with %d before the command started: %s", w.code, w.log(t))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command did not start: %s", w.log(t))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return w
}

// events reads the reloader's record, the events of kind (all for "").
func (w *watched) events(t *testing.T, kind string) []reloaderEvent {
	t.Helper()
	f, err := os.Open(w.out)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []reloaderEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e reloaderEvent
		if json.Unmarshal(sc.Bytes(), &e) == nil && (kind == "" || e.Event == kind) {
			out = append(out, e)
		}
	}
	return out
}

func (w *watched) log(t *testing.T) string {
	b, _ := os.ReadFile(w.stderr)
	return string(b)
}

// stop sends SIGTERM to the shim and returns its exit code.
func (w *watched) stop(t *testing.T) int {
	t.Helper()
	require.NoError(t, w.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-w.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the shim did not stop")
	}
	return w.code
}

func eventually(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func versioned(n int, names ...string) map[string]string {
	m := map[string]string{}
	for _, name := range names {
		m[name] = fmt.Sprintf("%d:%s:%s", n, name, watchCanary)
	}
	return m
}

func fdCount(pid int) int {
	entries, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(entries)
}

// lastGoroutines is the goroutine count the shim logged last.
func lastGoroutines(log string) int {
	n := -1
	for _, line := range strings.Split(log, "\n") {
		var m struct {
			Goroutines *int `json:"goroutines"`
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.Goroutines != nil {
			n = *m.Goroutines
		}
	}
	return n
}

// rotate makes n kubelet updates in a row, each waiting for the reloader
// to report the signal for it, and returns the latency of each: from the
// rename of ..data in the source to the signal reaching the command.
func rotate(t *testing.T, w *watched, k *kubeletDir, names []string, from, n int) []time.Duration {
	t.Helper()
	var lat []time.Duration
	for i := from; i < from+n; i++ {
		want := len(w.events(t, "signal")) + 1
		swapped := k.update(t, versioned(i, names...))
		var got reloaderEvent
		eventually(t, 10*time.Second, fmt.Sprintf("the signal for rotation %d", i), func() bool {
			sigs := w.events(t, "signal")
			if len(sigs) >= want {
				got = sigs[len(sigs)-1]
				return true
			}
			return false
		})
		require.Empty(t, got.Errors, "rotation %d: the files read at the signal", i)
		for _, name := range names {
			require.Equal(t, versioned(i, name)[name], got.Files[name], "rotation %d: the new files are in place when the signal comes", i)
		}
		lat = append(lat, time.Duration(got.Time-swapped.UnixNano()))
	}
	return lat
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

// rotations is how many updates TestWatchKubeletRotations makes.
const rotations = 1000

// TestWatchKubeletRotations: 1,000 Secret-volume updates in a row, with the
// command rereading the set in a loop all along: one signal per change,
// after the new files are in place; never a torn set, never ENOENT; no file
// descriptor or goroutine left over; canaries in no log line at debug level.
// It logs the swap-to-signal latency of 200 of them (bench/watch.sh).
func TestWatchKubeletRotations(t *testing.T) {
	names := []string{"db-pass", "api-key", "tls-cert"}
	k := newKubeletDir(t, versioned(0, names...))
	var args []string
	for _, n := range names {
		args = append(args, "--secret", "key="+n+",mount=/etc/flyte/secrets")
	}
	w := watchRun{args: append([]string{"--backends", "dir", "--dir", k.dir, "--log-level", "debug"}, args...), files: names, loop: true}.start(t)
	rotate(t, w, k, names, 1, 20)
	fds, gor := fdCount(w.cmd.Process.Pid), lastGoroutines(w.log(t))
	require.Positive(t, gor)
	lat := rotate(t, w, k, names, 21, 200)
	t.Logf("200 rotations (debounce %v): ..data swap to signal median %v, p99 %v, max %v", 25*time.Millisecond, percentile(lat, 0.5), percentile(lat, 0.99), percentile(lat, 1))
	rotate(t, w, k, names, 221, rotations-220)
	assert.Equal(t, fds, fdCount(w.cmd.Process.Pid), "no file descriptor left over after %d rotations", rotations)
	assert.Equal(t, gor, lastGoroutines(w.log(t)), "no goroutine left over after %d rotations", rotations)

	code := w.stop(t)
	assert.Equal(t, 7, code, "the exit code is the command's own")
	exits := w.events(t, "exit")
	require.Len(t, exits, 1)
	assert.Greater(t, exits[0].Sets, int64(1000), "the reader loop ran")
	assert.Zero(t, exits[0].Torn, "no torn set")
	assert.Zero(t, exits[0].Failed, "no failed read (ENOENT)")
	t.Logf("the reader read %d sets; %d reads found their version retired and started again", exits[0].Sets, exits[0].Retries)
	assert.Len(t, w.events(t, "signal"), rotations, "one signal per change")
	assert.Len(t, w.events(t, "start"), 1, "never restarted")

	log := w.log(t)
	assert.NotContains(t, log, watchCanary)
	assert.Contains(t, log, `"msg":"republished the secret files"`)
	assert.Contains(t, log, `"old_version":"..20`)
	// Old versions are gone from the mount.
	entries, err := os.ReadDir(filepath.Join(w.root, "etc/flyte/secrets"))
	require.NoError(t, err)
	var versions []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..20") {
			versions = append(versions, e.Name())
		}
	}
	assert.Len(t, versions, 1, "only the current version is left: %v", versions)
}

// TestWatchKeepsTheLastGoodSet: an update that drops a required secret is
// not published; the old set stays, and an error names the secret. The
// next good update goes through.
func TestWatchKeepsTheLastGoodSet(t *testing.T) {
	k := newKubeletDir(t, versioned(0, "a", "b"))
	w := watchRun{args: []string{"--backends", "dir", "--dir", k.dir, "--secret", "key=a,mount=/etc/flyte/secrets", "--secret", "key=b,mount=/etc/flyte/secrets"}, files: []string{"a", "b"}}.start(t)
	k.update(t, versioned(1, "a")) // b is gone
	eventually(t, 10*time.Second, "the error", func() bool {
		return strings.Contains(w.log(t), "the secrets could not be resolved again; keeping the current ones")
	})
	assert.Contains(t, w.log(t), `key \"b\"`, "the error names the secret")
	time.Sleep(100 * time.Millisecond)
	assert.Empty(t, w.events(t, "signal"), "nothing was republished, so nothing was signalled")
	b, err := os.ReadFile(filepath.Join(w.root, "etc/flyte/secrets/a"))
	require.NoError(t, err)
	assert.Equal(t, versioned(0, "a")["a"], string(b), "the old set stays")

	rotate(t, w, k, []string{"a", "b"}, 2, 1)
	w.stop(t)
	assert.NotContains(t, w.log(t), watchCanary)
}

// TestWatchEnvChange: a secret in the environment that changed restarts the
// command only with --restart-on-env-change; without it, the command keeps
// running and the change is logged by name.
func TestWatchEnvChange(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			k := newKubeletDir(t, map[string]string{"token": "old-" + watchCanary})
			args := []string{"--backends", "dir", "--dir", k.dir, "--secret", "key=token,env=TOKEN"}
			if restart {
				args = append(args, "--restart-on-env-change")
			}
			w := watchRun{args: args, envOf: "TOKEN"}.start(t)
			first := w.events(t, "start")[0]
			assert.Equal(t, "old-"+watchCanary, first.Env)
			k.update(t, map[string]string{"token": "new-" + watchCanary})
			if restart {
				eventually(t, 10*time.Second, "the restart", func() bool { return len(w.events(t, "start")) == 2 })
				second := w.events(t, "start")[1]
				assert.Equal(t, "new-"+watchCanary, second.Env, "the new process sees the new value")
				assert.NotEqual(t, first.PID, second.PID)
				assert.Len(t, w.events(t, "exit"), 1, "the old one was stopped with SIGTERM")
			} else {
				eventually(t, 10*time.Second, "the log", func() bool {
					return strings.Contains(w.log(t), "secrets in the command's environment changed")
				})
				assert.Contains(t, w.log(t), `key \"token\"`)
				assert.Len(t, w.events(t, "start"), 1, "the command keeps running")
				assert.Empty(t, w.events(t, "signal"), "no file changed: no signal")
			}
			assert.Equal(t, 7, w.stop(t), "the exit code is the running command's own")
			assert.NotContains(t, w.log(t), watchCanary)
		})
	}
}

// TestWatchAChangeAsTheCommandStarts: the command itself swaps the Secret
// volume's ..data as its first act, which may come before the shim's
// inotify watches are in place; the shim looks once when they are, so the
// change is republished and signalled all the same.
func TestWatchAChangeAsTheCommandStarts(t *testing.T) {
	for i := range 5 {
		k := newKubeletDir(t, versioned(0, "a"))
		// The next version, ready; the command renames its link over ..data.
		version := "..2026_12_01_00_00_01.000000000"
		require.NoError(t, os.Mkdir(filepath.Join(k.dir, version), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(k.dir, version, "a"), []byte(versioned(1, "a")["a"]), 0o644))
		require.NoError(t, os.Symlink(version, filepath.Join(k.dir, "..data_next")))
		w := watchRun{
			args:  []string{"--backends", "dir", "--dir", k.dir, "--secret", "key=a,mount=/etc/flyte/secrets"},
			files: []string{"a"},
			env:   map[string]string{"RELOADER_SWAP": filepath.Join(k.dir, "..data_next") + ":" + filepath.Join(k.dir, "..data")},
		}.start(t)
		eventually(t, 10*time.Second, fmt.Sprintf("run %d: the signal for the change made as the command started", i), func() bool {
			sigs := w.events(t, "signal")
			return len(sigs) == 1 && sigs[0].Files["a"] == versioned(1, "a")["a"]
		})
		w.stop(t)
	}
}

func TestWatchReloadSignal(t *testing.T) {
	for _, tc := range []struct{ flag, want string }{{"SIGUSR1", "user defined signal 1"}, {"usr2", "user defined signal 2"}, {"none", ""}} {
		t.Run(tc.flag, func(t *testing.T) {
			k := newKubeletDir(t, versioned(0, "a"))
			w := watchRun{args: []string{"--backends", "dir", "--dir", k.dir, "--secret", "key=a,mount=/etc/flyte/secrets", "--reload-signal", tc.flag}, files: []string{"a"}}.start(t)
			k.update(t, versioned(1, "a"))
			eventually(t, 10*time.Second, "the republish", func() bool {
				return strings.Contains(w.log(t), "republished the secret files")
			})
			if tc.want == "" {
				time.Sleep(100 * time.Millisecond)
				assert.Empty(t, w.events(t, "signal"))
			} else {
				eventually(t, 5*time.Second, "the signal", func() bool { return len(w.events(t, "signal")) == 1 })
				assert.Equal(t, tc.want, w.events(t, "signal")[0].Signal)
			}
			w.stop(t)
		})
	}
	for _, bad := range []string{"SIGNOPE", "9", "SIGKILL", ""} {
		res := run{args: []string{"--watch", "--reload-signal", bad, "--secret", "k"}}.exec(t)
		assert.Equal(t, 2, res.code, "--reload-signal %q: %s", bad, res.stderr)
		assert.Contains(t, res.stderr, "--reload-signal")
		assertNothingStarted(t, res)
	}
	res := run{args: []string{"--watch", "--supervise=false", "--secret", "k"}}.exec(t)
	assert.Equal(t, 2, res.code, res.stderr)
	assert.Contains(t, res.stderr, "--watch needs supervise mode")
}

// TestWatchLocalStore: a secret created in the local store while the
// command runs is republished.
func TestWatchLocalStore(t *testing.T) {
	store := filepath.Join(tempDir(t), "store")
	s := run{noCmd: true, args: []string{"create", "secret", "db-pass", "--value", "1:db-pass", "--store", store}}.exec(t)
	require.Equal(t, 0, s.code, s.stderr)
	w := watchRun{args: []string{"--backends", "local", "--store", store, "--secret", "key=db-pass,mount=/etc/flyte/secrets"}, files: []string{"db-pass"}}.start(t)
	s = run{noCmd: true, args: []string{"delete", "secret", "db-pass", "--store", store}}.exec(t)
	require.Equal(t, 0, s.code, s.stderr)
	s = run{noCmd: true, args: []string{"create", "secret", "db-pass", "--value", "2:db-pass", "--store", store}}.exec(t)
	require.Equal(t, 0, s.code, s.stderr)
	eventually(t, 10*time.Second, "the signal", func() bool {
		sigs := w.events(t, "signal")
		return len(sigs) > 0 && sigs[len(sigs)-1].Files["db-pass"] == "2:db-pass"
	})
	w.stop(t)
}

// TestWatchFallsBackToPolling: with no inotify instance left for the user
// the shim runs as, the watch polls at --refresh, says so once, and still
// delivers the change.
func TestWatchFallsBackToPolling(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it runs the shim as another user whose inotify instances it uses up")
	}
	const uid = 65534
	hog := exec.Command(reloaderBin)
	hog.Env = []string{"RELOADER_HOG=1"}
	hog.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	stdout, err := hog.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, hog.Start())
	t.Cleanup(func() { _ = hog.Process.Kill(); _ = hog.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	n, _ := strconv.Atoi(strings.TrimSpace(line))
	t.Logf("the hog holds %d inotify instances of uid %d", n, uid)

	base := tempDir(t)
	require.NoError(t, os.Chmod(base, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(base), 0o755))
	k := newKubeletDir(t, versioned(0, "a"))
	require.NoError(t, os.Chmod(k.dir, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(k.dir), 0o755))
	root := filepath.Join(base, "root")
	require.NoError(t, os.Mkdir(root, 0o755))
	require.NoError(t, os.Chown(root, uid, uid))
	w := watchRun{args: []string{"--backends", "dir", "--dir", k.dir, "--refresh", "200ms", "--secret", "key=a,mount=/etc/flyte/secrets"},
		files: []string{"a"}, root: root, cred: &syscall.Credential{Uid: uid, Gid: uid},
		env: map[string]string{"HOME": base}}.start(t)
	assert.Equal(t, 1, strings.Count(w.log(t), "cannot watch for changes; polling instead"), w.log(t))
	rotate(t, w, k, []string{"a"}, 1, 3)
	assert.Equal(t, 1, strings.Count(w.log(t), "cannot watch for changes"), "said once")
	w.stop(t)
}

// TestWatchIdleCostsNothing: between changes the shim sleeps in the kernel.
func TestWatchIdleCostsNothing(t *testing.T) {
	k := newKubeletDir(t, versioned(0, "a"))
	w := watchRun{args: []string{"--backends", "dir", "--dir", k.dir, "--secret", "key=a,mount=/etc/flyte/secrets"}, files: []string{"a"}}.start(t)
	time.Sleep(300 * time.Millisecond)
	pid := w.cmd.Process.Pid
	before := shimRunTime(pid)
	require.Positive(t, before, "schedstat counts the shim's start")
	idle := 3 * time.Second
	if d, err := time.ParseDuration(os.Getenv("FE_WATCH_IDLE")); err == nil {
		idle = d // bench/watch.sh: 60s
	}
	time.Sleep(idle)
	used := shimRunTime(pid) - before
	t.Logf("the shim's CPU over %v idle: %v (schedstat, all threads)", idle, used)
	assert.Less(t, used, 20*time.Millisecond, "the watch is busy while idle")
	rotate(t, w, k, []string{"a"}, 1, 1)
	w.stop(t)
}

// shimRunTime is the time every thread of pid has spent on a CPU
// (/proc/<pid>/task/*/schedstat).
func shimRunTime(pid int) time.Duration {
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

// TestWatchPlainDirectory: a directory that is not a Kubernetes volume
// counts too: a file written in place, and one replaced by a rename.
func TestWatchPlainDirectory(t *testing.T) {
	dir := tempDir(t)
	writeFile(t, filepath.Join(dir, "a"), []byte("0:a"))
	writeFile(t, filepath.Join(dir, "g", "b"), []byte("0:b"))
	w := watchRun{args: []string{"--backends", "dir", "--dir", dir, "--secret", "key=a,mount=/etc/flyte/secrets", "--secret", "key=b,group=g,mount=/etc/flyte/secrets"}, files: []string{"a", "g/b"}}.start(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a"), []byte("1:a"), 0o644))
	eventually(t, 10*time.Second, "the signal for the write", func() bool {
		sigs := w.events(t, "signal")
		return len(sigs) == 1 && sigs[0].Files["a"] == "1:a"
	})
	writeFile(t, filepath.Join(dir, "g", ".b.tmp"), []byte("1:b"))
	require.NoError(t, os.Rename(filepath.Join(dir, "g", ".b.tmp"), filepath.Join(dir, "g", "b")))
	eventually(t, 10*time.Second, "the signal for the rename in the group directory", func() bool {
		sigs := w.events(t, "signal")
		return len(sigs) == 2 && sigs[1].Files["g/b"] == "1:b"
	})
	w.stop(t)
	// The start's own publish is in its start line; each republish is an
	// info line of its own.
	stderr, err := os.ReadFile(w.stderr)
	require.NoError(t, err)
	published := 0
	for _, l := range logLines(t, string(stderr)) {
		if l["msg"] == "published secret files" && l["level"] == "info" {
			published++
		}
	}
	assert.Equal(t, 2, published, "%s", stderr)
}

// TestWatchLastFileGone: when the one file secret, an optional one, is gone
// from its source, the republish takes its name away. It used to publish
// nothing when no file was left, keep the old file, and log a republish.
func TestWatchLastFileGone(t *testing.T) {
	dir := tempDir(t)
	writeFile(t, filepath.Join(dir, "a"), []byte("0:a"))
	// The command reads no file: a reader of a consistent set waits for a
	// name to come back.
	w := watchRun{args: []string{"--backends", "dir", "--dir", dir, "--secret", "key=a,mount=/etc/flyte/secrets,optional=true"}}.start(t)
	mounted := filepath.Join(w.root, "etc/flyte/secrets/a")
	require.FileExists(t, mounted)
	require.NoError(t, os.Remove(filepath.Join(dir, "a")))
	eventually(t, 10*time.Second, "the republish without a", func() bool {
		return strings.Contains(w.log(t), "republished the secret files")
	})
	_, err := os.Lstat(mounted)
	assert.ErrorIs(t, err, fs.ErrNotExist, "the gone secret's name is gone too")
	w.stop(t)
}
