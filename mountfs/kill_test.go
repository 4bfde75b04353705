package mountfs

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The SIGKILL test re-runs this test binary as a child that publishes in a
// loop; these variables tell the child where, and from which version on.
const (
	killRootEnv  = "MOUNTFS_TEST_KILL_ROOT"
	killStartEnv = "MOUNTFS_TEST_KILL_START"
)

// TestSIGKILLLeavesOneCompleteVersion kills a publishing process at random
// points. After each kill the visible names that resolve must be exactly
// the set of the version ..data names, each file with that version's
// marker; what else is left must be dangling names through ..data or
// hidden names. Then one publish must remove all of it.
func TestSIGKILLLeavesOneCompleteVersion(t *testing.T) {
	if root := os.Getenv(killRootEnv); root != "" {
		publishUntilKilled(t, root)
		return
	}
	const kills = 30
	root := tempDir(t)
	if _, err := os.Stat("/dev/shm"); err == nil {
		root = shmDir(t) // where the mount lives in production
	}
	dir := Dir(root)
	_, err := Publish(opts(root), versionFiles(0))
	require.NoError(t, err)
	exe, err := os.Executable()
	require.NoError(t, err)

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	var withDangling, withHidden int
	for k := range kills {
		before := mustReadlink(t, dir)
		cmd := exec.Command(exe, "-test.run=^TestSIGKILLLeavesOneCompleteVersion$", "-test.count=1")
		cmd.Env = append(os.Environ(), killRootEnv+"="+root, killStartEnv+"="+strconv.Itoa(1+k*97))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		waited := false
		t.Cleanup(func() {
			if !waited {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		})

		// Once the child has published, kill it at a random point of a
		// later publish: one publish takes a fraction of a millisecond.
		for deadline := time.Now().Add(10 * time.Second); mustReadlink(t, dir) == before && time.Now().Before(deadline); {
			time.Sleep(20 * time.Microsecond)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(2 * time.Millisecond))))
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()
		waited = true
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL,
			"kill %d: the child ended on its own (%s):\n%s", k, cmd.ProcessState, out.String())

		dangling, hidden := checkOneVersion(t, dir, k)
		if len(dangling) > 0 {
			withDangling++
		}
		if len(hidden) > 0 {
			withHidden++
		}
	}
	t.Logf("%d kills: %d left dangling names, %d left hidden names", kills, withDangling, withHidden)

	// One publish cleans up whatever the kills left.
	i := 1 + kills*97
	res, err := Publish(opts(root), versionFiles(i))
	require.NoError(t, err)
	want := []string{dataLink, res.Version}
	for _, p := range versionPaths(i) {
		top, _, _ := strings.Cut(p, "/")
		if want[len(want)-1] != top {
			want = append(want, top)
		}
	}
	sort.Strings(want)
	assert.Equal(t, want, names(t, dir), "no ..old_*, no stale version, no temporary or dangling symlink is left")
	files, dangling, err := readVisibleTree(dir)
	require.NoError(t, err)
	assert.Empty(t, dangling)
	assert.Empty(t, checkSet(files))
	assert.Equal(t, "v"+strconv.Itoa(i), files["common"])
}

// checkOneVersion checks the mount directory after a kill, and returns the
// dangling visible names and the hidden names besides ..data and its
// version.
func checkOneVersion(t *testing.T, dir string, k int) (dangling, hidden []string) {
	t.Helper()
	v := mustReadlink(t, dir)
	want, err := readTree(filepath.Join(dir, v))
	require.NoError(t, err, "kill %d: ..data names %s", k, v)
	require.Empty(t, checkSet(want), "kill %d: ..data names %s, which must be a complete version", k, v)
	got, dangling, err := readVisibleTree(dir)
	require.NoError(t, err, "kill %d: a visible name fails but with a dangling symlink through ..data", k)
	require.Equal(t, want, got, "kill %d: the names that resolve must be exactly the set of %s (dangling: %v)", k, v, dangling)
	for _, n := range names(t, dir) {
		if strings.HasPrefix(n, "..") && n != dataLink && n != v {
			hidden = append(hidden, n)
		}
	}
	return dangling, hidden
}

// publishUntilKilled is the child's side: publish version after version,
// with name sets that change from one to the next, until killed.
func publishUntilKilled(t *testing.T, root string) {
	start, err := strconv.Atoi(os.Getenv(killStartEnv))
	require.NoError(t, err)
	for i, deadline := start, time.Now().Add(time.Minute); time.Now().Before(deadline); i++ {
		_, err := Publish(opts(root), versionFiles(i))
		require.NoError(t, err)
	}
	t.Fatal("not killed within a minute")
}
