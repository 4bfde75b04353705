package mountfs

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
)

// TestRetiringNeverFollowsASymlinkSwappedIn: under --user a version
// directory is the command's, and the command can swap a directory in it
// for a symlink while the supervisor (root with --watch) retires it. The
// retiring must not chmod or remove what the symlink names. A walk by path
// chmodded the symlink's target at the first try or so.
func TestRetiringNeverFollowsASymlinkSwappedIn(t *testing.T) {
	victim := filepath.Join(tempDir(t), "victim")
	require.NoError(t, os.Mkdir(victim, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(victim, "keep"), []byte("x"), 0o644))
	dir := Dir(tempDir(t))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	p := &publisher{dir: dir, logger: log.Nop()}
	for i := range 50 {
		v := "..2001_02_03_04_05_06.000000007"
		require.NoError(t, os.MkdirAll(filepath.Join(dir, v, "g", "sub"), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, v, "g", "k"), []byte("v"), 0o400))
		require.NoError(t, os.Symlink(victim, filepath.Join(dir, v, "s")))
		require.NoError(t, os.Chmod(filepath.Join(dir, v, "g"), 0o500))
		require.NoError(t, os.Chmod(filepath.Join(dir, v), 0o500))

		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			g, s := filepath.Join(dir, v, "g"), filepath.Join(dir, v, "s")
			for {
				select {
				case <-stop:
					return
				default:
					_ = unix.Renameat2(unix.AT_FDCWD, g, unix.AT_FDCWD, s, unix.RENAME_EXCHANGE)
				}
			}
		}()
		_ = p.removeTree(v)
		close(stop)
		wg.Wait()

		fi, err := os.Stat(victim)
		require.NoError(t, err, "try %d: the symlink's target is gone", i)
		assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm(), "try %d: the symlink's target had its mode changed", i)
		require.FileExists(t, filepath.Join(victim, "keep"), "try %d", i)
		if t.Failed() {
			return
		}
		makeWritable(filepath.Join(dir, v))
		require.NoError(t, os.RemoveAll(filepath.Join(dir, v)))
	}
}

// TestRemoveTreeRemovesAReadOnlyTree: the 0500 and 0400 tree a publish
// writes is removed whole, and a symlink in it is unlinked, not followed.
func TestRemoveTreeRemovesAReadOnlyTree(t *testing.T) {
	outside := filepath.Join(tempDir(t), "outside")
	require.NoError(t, os.Mkdir(outside, 0o755))
	dir := Dir(tempDir(t))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "..v", "g", "deeper"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "..v", "k"), []byte("v"), 0o400))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "..v", "g", "deeper", "k"), []byte("v"), 0o400))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "..v", "g", "link")))
	for _, d := range []string{"g/deeper", "g", ""} {
		require.NoError(t, os.Chmod(filepath.Join(dir, "..v", d), 0o500))
	}
	p := &publisher{dir: dir, logger: log.Nop()}
	require.NoError(t, p.removeTree("..v"))
	assert.NoDirExists(t, filepath.Join(dir, "..v"))
	assert.DirExists(t, outside)
	require.NoError(t, p.removeTree("..v"), "a tree that is gone already is no error")
}
