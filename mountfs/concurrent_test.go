package mountfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// versionFiles is version i's set: the names differ from one version to
// the next, and every file holds the version's marker.
func versionFiles(i int) []File {
	marker := fmt.Sprintf("v%d", i)
	paths := []string{"common", fmt.Sprintf("m%d", i%5), fmt.Sprintf("g%d/k", i%4), fmt.Sprintf("g%d/j%d", i%4, i%3)}
	if i%2 == 0 {
		paths = append(paths, "even")
	} else {
		paths = append(paths, "odd", "grp/odd")
	}
	if i%3 == 0 {
		paths = append(paths, "grp/a")
	} else {
		paths = append(paths, "grp/b")
	}
	files := make([]File, len(paths))
	for j, p := range paths {
		files[j] = file(p, marker)
	}
	return files
}

func versionPaths(i int) []string {
	var out []string
	for _, f := range versionFiles(i) {
		out = append(out, f.Path)
	}
	sort.Strings(out)
	return out
}

// readTree reads every file under top: path -> content. An error that
// satisfies errors.Is(err, fs.ErrNotExist) means something vanished.
func readTree(top string) (map[string]string, error) {
	entries, err := os.ReadDir(top)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "..") {
			continue
		}
		fi, err := os.Stat(filepath.Join(top, name)) // follows a visible symlink
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			b, err := os.ReadFile(filepath.Join(top, name))
			if err != nil {
				return nil, err
			}
			out[name] = string(b)
			continue
		}
		sub, err := os.ReadDir(filepath.Join(top, name))
		if err != nil {
			return nil, err
		}
		for _, s := range sub {
			b, err := os.ReadFile(filepath.Join(top, name, s.Name()))
			if err != nil {
				return nil, err
			}
			out[name+"/"+s.Name()] = string(b)
		}
	}
	return out, nil
}

// readVisibleTree reads the visible names of dir through their symlinks,
// the way a task that opens them one by one does: path -> content. A name
// whose symlink through ..data dangles (its version does not have it) is
// listed in dangling instead. Any other failure is err.
func readVisibleTree(dir string) (files map[string]string, dangling []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	files = map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "..") {
			continue
		}
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			if target, lerr := os.Readlink(p); lerr == nil && target == "..data/"+name {
				dangling = append(dangling, name)
				continue
			}
		}
		if err != nil {
			return nil, nil, err
		}
		if !fi.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, nil, err
			}
			files[name] = string(b)
			continue
		}
		sub, err := os.ReadDir(p)
		if err != nil {
			return nil, nil, err
		}
		for _, s := range sub {
			b, err := os.ReadFile(filepath.Join(p, s.Name()))
			if err != nil {
				return nil, nil, err
			}
			files[name+"/"+s.Name()] = string(b)
		}
	}
	return files, dangling, nil
}

// readSnapshot reads one version the way the package doc says a reader
// should. retry is true when the version was retired meanwhile.
func readSnapshot(dir string) (files map[string]string, retry bool, err error) {
	v, err := os.Readlink(filepath.Join(dir, "..data"))
	if err != nil {
		return nil, errors.Is(err, fs.ErrNotExist), err
	}
	files, err = readTree(filepath.Join(dir, v))
	if err != nil {
		return nil, errors.Is(err, fs.ErrNotExist), err
	}
	if _, err := os.Lstat(filepath.Join(dir, v)); err != nil {
		return nil, errors.Is(err, fs.ErrNotExist), err
	}
	return files, false, nil
}

// checkSet reports why files is not all of one version, or "".
func checkSet(files map[string]string) string {
	var marker string
	paths := make([]string, 0, len(files))
	for p, v := range files {
		if marker == "" {
			marker = v
		}
		if v != marker {
			return fmt.Sprintf("mixed markers: %v", files)
		}
		paths = append(paths, p)
	}
	var i int
	if _, err := fmt.Sscanf(marker, "v%d", &i); err != nil {
		return fmt.Sprintf("no marker: %v", files)
	}
	sort.Strings(paths)
	if want := versionPaths(i); fmt.Sprint(want) != fmt.Sprint(paths) {
		return fmt.Sprintf("version %d: names %v, want %v", i, paths, want)
	}
	return ""
}

func TestReadersNeverSeeAMixOfVersions(t *testing.T) {
	root := tempDir(t)
	if _, err := os.Stat("/dev/shm"); err == nil {
		root = shmDir(t) // where the mount lives in production
	}
	dir := Dir(root)
	_, err := Publish(opts(root), versionFiles(0))
	require.NoError(t, err)

	type done struct {
		version string
		i       int
	}
	var (
		last    atomic.Pointer[done] // the last publish that returned
		stop    atomic.Bool
		failed  atomic.Bool
		wg      sync.WaitGroup
		publish = 300
	)
	last.Store(&done{version: mustReadlink(t, dir), i: 0})

	wg.Add(1)
	go func() {
		defer wg.Done()
		defer stop.Store(true)
		for i := 1; i <= publish && !failed.Load(); i++ {
			res, err := Publish(opts(root), versionFiles(i))
			if !assert.NoError(t, err) {
				failed.Store(true)
				return
			}
			last.Store(&done{version: res.Version, i: i})
		}
	}()

	// Reader 1: snapshots through ..data must be all of one version.
	var snapshots, retries, seen atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		versionsSeen := map[string]bool{}
		defer func() { seen.Store(int64(len(versionsSeen))) }()
		for extra := 0; extra < 20 && !failed.Load(); {
			if stop.Load() {
				extra++ // a few more once the publisher is idle
			}
			files, retry, err := readSnapshot(dir)
			if retry {
				retries.Add(1)
				continue
			}
			if !assert.NoError(t, err) {
				failed.Store(true)
				return
			}
			if why := checkSet(files); why != "" {
				t.Errorf("snapshot is not one version: %s", why)
				failed.Store(true)
				return
			}
			versionsSeen[files["common"]] = true
			snapshots.Add(1)
		}
	}()

	// Reader 2: the visible names. While ..data names the version of the
	// last publish that returned, the names that resolve must be exactly
	// that version's set; the only others are the dangling symlinks of the
	// next version's new names, made before its ..data rename. Once the
	// publisher is idle there are none of those either. Otherwise a read
	// may straddle a swap; it must still never fail but with ENOENT (a
	// stale name whose file is gone).
	var quiet, busy, dangled atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for extra := 0; extra < 20 && !failed.Load(); {
			idle := stop.Load()
			if idle {
				extra++
			}
			d1 := last.Load()
			t1, err1 := os.Readlink(filepath.Join(dir, "..data"))
			files, dangling, err := readVisibleTree(dir)
			t2, err2 := os.Readlink(filepath.Join(dir, "..data"))
			d2 := last.Load()
			if !assert.NoError(t, err1) || !assert.NoError(t, err2) {
				failed.Store(true)
				return
			}
			if d1 == d2 && t1 == d1.version && t2 == t1 {
				quiet.Add(1)
				if !assert.NoError(t, err, "visible names of version %d", d1.i) {
					failed.Store(true)
					return
				}
				if why := checkSet(files); why != "" || files["common"] != fmt.Sprintf("v%d", d1.i) {
					t.Errorf("visible names while version %d is current: %s %v", d1.i, why, files)
					failed.Store(true)
					return
				}
				if len(dangling) > 0 {
					dangled.Add(1)
				}
				if idle && !assert.Empty(t, dangling, "dangling names once the publisher is idle") {
					failed.Store(true)
					return
				}
				continue
			}
			busy.Add(1)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("visible names during a publish: %v", err)
				failed.Store(true)
				return
			}
		}
	}()

	wg.Wait()
	t.Logf("%d publishes; snapshots: %d consistent, %d retried, %d versions seen; visible passes: %d quiet (%d with dangling new names), %d during a publish",
		publish, snapshots.Load(), retries.Load(), seen.Load(), quiet.Load(), dangled.Load(), busy.Load())
	assert.Positive(t, snapshots.Load())
	assert.Positive(t, quiet.Load())
	assert.Len(t, versions(t, dir), 1, "old versions are all removed")
}

func mustReadlink(t *testing.T, p string) string {
	t.Helper()
	target, err := os.Readlink(filepath.Join(p, "..data"))
	require.NoError(t, err)
	return target
}

// TestPublishInParallel checks that Publish serialises callers in one
// process: every call succeeds and one complete version is left.
func TestPublishInParallel(t *testing.T) {
	root := tempDir(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				_, err := Publish(opts(root), versionFiles(g*10+i))
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	files, retry, err := readSnapshot(Dir(root))
	require.False(t, retry)
	require.NoError(t, err)
	assert.Empty(t, checkSet(files))
	assert.Len(t, versions(t, Dir(root)), 1)
}
