package mountfs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// node is what tree records of one path under the mount directory.
type node struct {
	Mode     fs.FileMode
	UID, GID uint32
	Ino      uint64
	Link     string // a symlink's target
	Content  string // a regular file's bytes
}

// tree records every path under dir, dir included, without following
// symlinks: its type and mode, owner, inode, and a symlink's target or a
// file's bytes. Two equal trees are the same names, the same bytes, and
// the same inodes: nothing was replaced.
func tree(t *testing.T, dir string) map[string]node {
	t.Helper()
	out := map[string]node{}
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if filepath.Base(p) == lockName && filepath.Dir(p) == dir {
			return nil // the publish lock stays once made (TestPublishLockFile)
		}
		st := fi.Sys().(*syscall.Stat_t)
		n := node{Mode: fi.Mode(), UID: st.Uid, GID: st.Gid, Ino: st.Ino}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if n.Link, err = os.Readlink(p); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			n.Content = string(b)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out[rel] = n
		return nil
	})
	require.NoError(t, err)
	return out
}

// withoutInodes is tree's result for comparing two mount directories.
func withoutInodes(m map[string]node) map[string]node {
	out := make(map[string]node, len(m))
	for k, n := range m {
		n.Ino = 0
		out[k] = n
	}
	return out
}

// publishWithin runs Publish and fails the test when it does not return in
// time: the lock of a Pending that was never given back.
func publishWithin(t *testing.T, o Options, files []File) Result {
	t.Helper()
	type ret struct {
		res Result
		err error
	}
	done := make(chan ret, 1)
	go func() {
		res, err := Publish(o, files)
		done <- ret{res, err}
	}()
	select {
	case r := <-done:
		require.NoError(t, r.err)
		return r.res
	case <-time.After(10 * time.Second):
		t.Fatal("Publish still waits for the publish lock")
		return Result{}
	}
}

var (
	previousSet = []File{file("a", "a1"), file("b", "b1"), file("g/k", "k1"), file("gone/x", "x1")}
	// nextSet keeps a, g and g/k, drops b and gone, and adds c, g/j and h.
	nextSet = []File{file("a", "a2"), file("c", "c2"), file("g/k", "k2"), file("g/j", "j2"), file("h/k", "h2")}
)

func TestPrepareThenAbortLeavesThePreviousVersion(t *testing.T) {
	check := func(t *testing.T, next Options) {
		root := tempDir(t)
		dir := Dir(root)
		first, err := Publish(opts(root), previousSet)
		require.NoError(t, err)
		before := tree(t, dir)

		next.Root = root
		p, err := Prepare(next, nextSet)
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Abort() }) // a failed require must not keep the lock

		// While it is pending, what resolves is the previous version; the
		// new names are there and dangle.
		assert.Equal(t, first.Version, mustReadlink(t, dir))
		files, dangling, err := readVisibleTree(dir)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"a": "a1", "b": "b1", "g/k": "k1", "gone/x": "x1"}, files)
		assert.Equal(t, []string{"c", "h"}, dangling)
		for _, n := range dangling {
			target, err := os.Readlink(filepath.Join(dir, n))
			require.NoError(t, err)
			assert.Equal(t, "..data/"+n, target)
		}
		// The prepared version is complete and sealed, and ..data_tmp names it.
		var prepared []string
		for _, v := range versions(t, dir) {
			if isVersion(v) && v != first.Version {
				prepared = append(prepared, v)
			}
		}
		require.Len(t, prepared, 1)
		got, err := readTree(filepath.Join(dir, prepared[0]))
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"a": "a2", "c": "c2", "g/k": "k2", "g/j": "j2", "h/k": "h2"}, got)
		assert.Equal(t, fs.ModeDir|0o500, tree(t, dir)[prepared[0]].Mode)
		assert.Equal(t, prepared[0], tree(t, dir)["..data_tmp"].Link)

		require.NoError(t, p.Abort())
		assert.Equal(t, before, tree(t, dir), "the previous version is left name for name, byte for byte, inode for inode")
		publishWithin(t, opts(root), nextSet) // the lock is free
	}
	t.Run("same owner", func(t *testing.T) { check(t, opts("")) })
	t.Run("another owner", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("chown to another user needs root")
		}
		// Prepare gives the kept symlinks (a, g) the new owner; Abort gives
		// them the old one back.
		o := opts("")
		o.UID, o.GID = 65534, 65533
		check(t, o)
	})
}

func TestPrepareThenCommitEqualsPublish(t *testing.T) {
	stopped := time.Date(2026, 11, 26, 20, 15, 20, 123456789, time.UTC)
	now = func() time.Time { return stopped }
	t.Cleanup(func() { now = time.Now })

	split, whole := tempDir(t), tempDir(t)
	for _, root := range []string{split, whole} {
		_, err := Publish(opts(root), previousSet)
		require.NoError(t, err)
	}

	p, err := Prepare(opts(split), nextSet)
	require.NoError(t, err)
	gotSplit, err := p.Commit()
	require.NoError(t, err)
	gotWhole, err := Publish(opts(whole), nextSet)
	require.NoError(t, err)

	assert.Equal(t, Dir(split), gotSplit.Dir)
	gotSplit.Dir = gotWhole.Dir
	assert.Equal(t, gotWhole, gotSplit)
	assert.Equal(t, withoutInodes(tree(t, Dir(whole))), withoutInodes(tree(t, Dir(split))))
	assert.Equal(t, []string{"..2026_11_26_20_15_20.123456789_1", "..data", "a", "c", "g", "h"}, names(t, Dir(split)))
	assert.Equal(t, map[string]string{"a": "a2", "c": "c2", "g/k": "k2", "g/j": "j2", "h/k": "h2"}, readVisible(t, Dir(split)))
}

func TestFailedPrepareLeavesNothing(t *testing.T) {
	tests := []struct {
		name    string
		files   []File
		hook    func(dir string) func(stage string) error
		raced   bool // the hook writes a file of its own at h
		wantErr string
	}{
		{
			name:    "a refused path",
			files:   []File{file("a", "a2"), file("../x", "x2")},
			wantErr: `has a ".." component`,
		},
		{
			name:    "failure once the version is written",
			files:   nextSet,
			hook:    func(string) func(string) error { return failAt("written") },
			wantErr: "injected",
		},
		{
			name:    "failure once the new names are linked",
			files:   nextSet,
			hook:    func(string) func(string) error { return failAt("linked") },
			wantErr: "injected",
		},
		{
			// The last new name is taken after the scan: the names linked
			// before it are removed again.
			name:  "a new name taken during Prepare",
			files: nextSet,
			raced: true,
			hook: func(dir string) func(string) error {
				return func(stage string) error {
					if stage == "written" {
						return os.WriteFile(filepath.Join(dir, "h"), []byte("raced"), 0o644)
					}
					return nil
				}
			},
			wantErr: "file exists",
		},
	}
	for _, tt := range tests {
		for _, first := range []bool{true, false} {
			name := tt.name + "/republish"
			if first {
				name = tt.name + "/first publish"
			}
			t.Run(name, func(t *testing.T) {
				root := tempDir(t)
				dir := Dir(root)
				var before map[string]node
				if !first {
					_, err := Publish(opts(root), previousSet)
					require.NoError(t, err)
					before = tree(t, dir)
				}
				if tt.hook != nil {
					setHook(t, tt.hook(dir))
				}

				p, err := Prepare(opts(root), tt.files)
				assert.Nil(t, p)
				var me *Error
				require.ErrorAs(t, err, &me)
				assert.ErrorContains(t, err, tt.wantErr)

				testHook = nil
				if tt.raced {
					// The raced file is not Prepare's: it stays intact, and
					// is no part of the comparison.
					b, err := os.ReadFile(filepath.Join(dir, "h"))
					require.NoError(t, err)
					assert.Equal(t, "raced", string(b))
					require.NoError(t, os.Remove(filepath.Join(dir, "h")))
				}
				switch {
				case !first:
					assert.Equal(t, before, tree(t, dir), "the previous version is left as it was")
				case tt.hook == nil:
					assert.NoDirExists(t, dir, "a refused set creates nothing")
				default:
					// The mount directory stays, as Publish always left it.
					assert.Empty(t, names(t, dir))
				}
				publishWithin(t, opts(root), previousSet) // the lock is free
			})
		}
	}
}

func TestAbortAfterCommitIsANoOp(t *testing.T) {
	t.Run("after a commit", func(t *testing.T) {
		root := tempDir(t)
		dir := Dir(root)
		_, err := Publish(opts(root), previousSet)
		require.NoError(t, err)

		var res Result
		func() {
			p, err := Prepare(opts(root), nextSet)
			require.NoError(t, err)
			defer func() { assert.NoError(t, p.Abort()) }()
			res, err = p.Commit()
			require.NoError(t, err)
		}()
		assert.Equal(t, res.Version, mustReadlink(t, dir))
		assert.Equal(t, []string{res.Version, "..data", "a", "c", "g", "h"}, names(t, dir), "the committed version stays")
		assert.Equal(t, map[string]string{"a": "a2", "c": "c2", "g/k": "k2", "g/j": "j2", "h/k": "h2"}, readVisible(t, dir))
		publishWithin(t, opts(root), previousSet) // the lock is free
	})

	t.Run("after a failed commit", func(t *testing.T) {
		root := tempDir(t)
		dir := Dir(root)
		_, err := Publish(opts(root), previousSet)
		require.NoError(t, err)
		before := tree(t, dir)

		p, err := Prepare(opts(root), nextSet)
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Abort() })
		setHook(t, failAt("commit"))
		_, err = p.Commit()
		var me *Error
		require.ErrorAs(t, err, &me)
		assert.Equal(t, before, tree(t, dir), "a failed commit undoes Prepare")
		assert.NoError(t, p.Abort())
		assert.Equal(t, before, tree(t, dir))
		testHook = nil
		publishWithin(t, opts(root), previousSet) // the lock is free
	})

	t.Run("twice, and Commit after Abort", func(t *testing.T) {
		root := tempDir(t)
		dir := Dir(root)
		_, err := Publish(opts(root), previousSet)
		require.NoError(t, err)
		before := tree(t, dir)

		p, err := Prepare(opts(root), nextSet)
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Abort() })
		require.NoError(t, p.Abort())
		assert.NoError(t, p.Abort())
		_, err = p.Commit()
		var me *Error
		require.ErrorAs(t, err, &me)
		assert.ErrorContains(t, err, "the publish is over already")
		assert.Equal(t, before, tree(t, dir))
		publishWithin(t, opts(root), previousSet) // the lock is free

		var none *Pending
		assert.NoError(t, none.Abort(), "a nil Pending, from a failed Prepare")
	})
}

func TestPendingHoldsThePublishLock(t *testing.T) {
	p, err := Prepare(opts(tempDir(t)), previousSet)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Abort() })
	done := make(chan error, 1)
	other := p.pub.dir
	go func() {
		// Another Publisher, as another process would be: the flock on
		// ..lock, not a mutex of this package, makes it wait.
		_, err := NewPublisher(opts(filepath.Dir(filepath.Dir(filepath.Dir(other))))).Publish(nextSet)
		done <- err
	}()
	select {
	case <-done:
		t.Fatal("a publish ran while another one was pending")
	case <-time.After(50 * time.Millisecond):
	}
	_, err = p.Commit()
	require.NoError(t, err)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting publish did not run after Commit")
	}
	assert.Equal(t, "c2", readVisible(t, other)["c"], "the last publisher wins")
}

// TestPublishLockFile: the lock is a plain file in the mount directory,
// hidden from tasks like every ".." name, that any user may open to lock.
func TestPublishLockFile(t *testing.T) {
	root := tempDir(t)
	_, err := Publish(opts(root), previousSet)
	require.NoError(t, err)
	fi, err := os.Lstat(filepath.Join(Dir(root), lockName))
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular())
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())

	// Anything but a regular file there fails the publish, naming the path.
	root2 := tempDir(t)
	require.NoError(t, os.MkdirAll(filepath.Join(Dir(root2), lockName), 0o700))
	_, err = Publish(opts(root2), previousSet)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `open the publish lock "`+filepath.Join(Dir(root2), lockName)+`"`)
}

// TestSwitchThenRevert: after the commit point, Revert makes the previous
// version current again, exactly as it was, and removes everything the
// publish made; the mount is as before, inode for inode.
func TestSwitchThenRevert(t *testing.T) {
	root := tempDir(t)
	dir := Dir(root)
	_, err := Publish(opts(root), previousSet)
	require.NoError(t, err)
	before := tree(t, dir)

	pd, err := Prepare(opts(root), nextSet)
	require.NoError(t, err)
	require.NoError(t, pd.Switch())
	files, dangling, err := readVisibleTree(dir)
	require.NoError(t, err)
	assert.Equal(t, "c2", files["c"], "switched: the new version is what readers see")
	assert.Equal(t, "a2", files["a"])
	assert.Equal(t, []string{"b", "gone"}, dangling, "names the new version does not have dangle until Finish")

	require.NoError(t, pd.Revert())
	assert.Equal(t, withoutInodes(before), withoutInodes(tree(t, dir)), "reverted: the previous version, as it was (..data is a new symlink to it)")
	publishWithin(t, opts(root), nextSet) // the locks are free
}

// TestRevertAFirstPublish leaves no ..data and no visible name.
func TestRevertAFirstPublish(t *testing.T) {
	root := tempDir(t)
	pd, err := Prepare(opts(root), nextSet)
	require.NoError(t, err)
	require.NoError(t, pd.Switch())
	require.NoError(t, pd.Revert())
	assert.Empty(t, names(t, Dir(root)))
}

// TestSwitchKeepsThePreviousVersionUntilFinish: the retiring of old
// versions, which can take long, is Finish's, after the commit point.
func TestSwitchKeepsThePreviousVersionUntilFinish(t *testing.T) {
	root := tempDir(t)
	dir := Dir(root)
	first, err := Publish(opts(root), previousSet)
	require.NoError(t, err)
	pd, err := Prepare(opts(root), nextSet)
	require.NoError(t, err)
	require.NoError(t, pd.Switch())
	assert.Contains(t, names(t, dir), first.Version, "the previous version is kept for a Revert")
	assert.Contains(t, names(t, dir), "b", "a dropped name is kept (dangling) for a Revert")
	pd.Finish()
	assert.NotContains(t, names(t, dir), first.Version)
	assert.NotContains(t, names(t, dir), "b")
	assert.NoError(t, pd.Revert(), "after Finish, Revert does nothing")
	assert.Equal(t, "c2", readVisible(t, dir)["c"])
	assert.ErrorContains(t, pd.Switch(), "the publish is over already")
}

// TestPublisherSame: a Publisher knows what it made current last, by path
// and bytes; an aborted or reverted publish does not count.
func TestPublisherSame(t *testing.T) {
	p := NewPublisher(opts(tempDir(t)))
	assert.False(t, p.Same(nil), "nothing published yet")
	_, err := p.Publish(previousSet)
	require.NoError(t, err)
	assert.True(t, p.Same(previousSet))
	reordered := append([]File{previousSet[3]}, previousSet[:3]...)
	assert.True(t, p.Same(reordered), "order plays no part")
	changed := append([]File(nil), previousSet...)
	changed[1] = file("b", "b1-rotated")
	assert.False(t, p.Same(changed), "a changed value")
	assert.False(t, p.Same(previousSet[:3]), "a removed file")
	assert.False(t, p.Same(append(append([]File(nil), previousSet...), file("z", "z"))), "an added file")

	pd, err := p.Prepare(nextSet)
	require.NoError(t, err)
	require.NoError(t, pd.Switch())
	require.NoError(t, pd.Revert())
	assert.True(t, p.Same(previousSet), "a reverted publish leaves the last one")
}

// TestRevertRetiresTheNewVersionAsRetiringDoes: a reader that follows the
// consistent-snapshot steps (readlink ..data, read the version, lstat it)
// while a Revert takes the new version away reads it whole or sees it gone,
// never part of it under its own name. Revert removed it in place.
func TestRevertRetiresTheNewVersionAsRetiringDoes(t *testing.T) {
	root := tempDir(t)
	dir := Dir(root)
	_, err := Publish(opts(root), previousSet)
	require.NoError(t, err)
	const n = 500
	big := make([]File, n)
	for i := range big {
		big[i] = file(fmt.Sprintf("k%04d", i), "v")
	}
	for try := range 3 {
		pd, err := Prepare(opts(root), big)
		require.NoError(t, err)
		require.NoError(t, pd.Switch())
		v, err := os.Readlink(filepath.Join(dir, "..data"))
		require.NoError(t, err)

		var partial atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				des, err := os.ReadDir(filepath.Join(dir, v))
				if err != nil {
					continue
				}
				if _, err := os.Lstat(filepath.Join(dir, v)); err == nil && len(des) != n {
					partial.Add(1)
				}
			}
		}()
		require.NoError(t, pd.Revert())
		close(stop)
		wg.Wait()
		require.Zero(t, partial.Load(), "try %d: a reader saw part of %s while the name still stood", try, v)
	}
}
