package mountfs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
)

// The mounts Flyte's webhooks make, as the task's container sees them, and
// what a publish does beside them. The values are canaries: no error and
// no log line may show one.

const placedCanary = "CANARY-webhook-5c1a"

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func capture(root string) (Options, *bytes.Buffer) {
	var buf bytes.Buffer
	o := opts(root)
	o.Logger = log.New(&buf, log.FormatJSON, zapcore.DebugLevel).Named("mountfs")
	return o, &buf
}

// nothingWritten checks that the mount directory holds only what fill put
// there: no ..lock, no ..data of ours, no version, and the same mode.
func nothingWritten(t *testing.T, dir string, wantNames []string, wantMode os.FileMode) {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, d := range des {
		got = append(got, d.Name())
	}
	assert.Equal(t, wantNames, got, "nothing is added to the mount")
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, wantMode, fi.Mode().Perm(), "the mount's mode is left as it is")
}

func TestFlyte2MountInPlaceIsNotRepublished(t *testing.T) {
	root := tempDir(t)
	dir := Dir(root)
	readOnlyMount(t, dir, false, flyte2Fill(map[string]string{"Api_Key": placedCanary + "-1", "db-pass": placedCanary + "-2"}))
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	mode := fi.Mode().Perm()

	o, logs := capture(root)
	pub := NewPublisher(o)
	files := []File{
		{Path: "Api_Key", Key: "Api_Key", Value: secret.New([]byte(placedCanary + "-1"))},
		{Path: "db-pass", Key: "db-pass", Value: secret.New([]byte(placedCanary + "-2"))},
	}
	pd, err := pub.Prepare(files)
	require.NoError(t, err)
	assert.Equal(t, "", pd.Version(), "no version is written")
	require.NoError(t, pd.Switch())
	pd.Tidy()
	pd.Finish()
	assert.True(t, pub.Same(files), "the files in place count as what is published")

	nothingWritten(t, dir, []string{"Api_Key", "db-pass"}, mode)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 1, "one log line: %s", logs)
	assert.Contains(t, lines[0], "in place already")
	assert.Contains(t, lines[0], `"files":2`)
	assert.NotContains(t, logs.String(), "CANARY")

	// The next publish of the same set does the same; so does Publish.
	res, err := Publish(o, files)
	require.NoError(t, err)
	assert.Equal(t, dir, res.Dir)
	assert.Equal(t, "", res.Version)
	nothingWritten(t, dir, []string{"Api_Key", "db-pass"}, mode)
}

func TestFlyte1GroupMountInPlaceIsNotRepublished(t *testing.T) {
	root := tempDir(t)
	dir := Dir(root)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	// The container runtime made the mount point; the Secret of group
	// "openai" is mounted there, item api-key at lower(key).
	readOnlyMount(t, filepath.Join(dir, "openai"), false, kubeletFill(map[string]string{"api-key": placedCanary}))

	o, logs := capture(root)
	pd, err := NewPublisher(o).Prepare([]File{file("openai/api-key", placedCanary)})
	require.NoError(t, err)
	require.NoError(t, pd.Switch())
	pd.Finish()
	nothingWritten(t, dir, []string{"openai"}, 0o755)
	assert.Contains(t, logs.String(), "in place already")
	assert.NotContains(t, logs.String(), "CANARY")
}

// A set of which only some files are in place: the others are published as
// usual, beside the mount, which is left alone.
func TestPartlyInPlacePublishesTheRest(t *testing.T) {
	root := tempDir(t)
	dir := Dir(root)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	readOnlyMount(t, filepath.Join(dir, "openai"), false, kubeletFill(map[string]string{"api-key": placedCanary}))

	o, logs := capture(root)
	pub := NewPublisher(o)
	files := []File{file("openai/api-key", placedCanary), file("local-key", placedCanary+"-local"), file("g/k", placedCanary+"-g")}
	res, err := pub.Publish(files)
	require.NoError(t, err)
	require.NotEmpty(t, res.Version)
	assert.Equal(t, []string{res.Version, "..data", "g", "local-key", "openai"}, names(t, dir))
	assert.Equal(t, []string{"g", "local-key"}, names(t, filepath.Join(dir, res.Version)), "the version holds only what was published")
	assert.Equal(t, map[string]string{
		"openai/api-key": placedCanary, "local-key": placedCanary + "-local", "g/k": placedCanary + "-g",
	}, readPaths(t, dir, "openai/api-key", "local-key", "g/k"))
	assert.True(t, pub.Same(files))
	assert.Contains(t, logs.String(), `"paths":["openai/api-key"]`)
	assert.Contains(t, logs.String(), `"files":2`, "the publish counts the files it wrote")
	assert.NotContains(t, logs.String(), "CANARY")

	// A republish keeps the mount out of it again, and replaces our own.
	files[1] = file("local-key", placedCanary+"-local2")
	res2, err := pub.Publish(files)
	require.NoError(t, err)
	assert.NotEqual(t, res.Version, res2.Version)
	assert.Equal(t, map[string]string{"openai/api-key": placedCanary, "local-key": placedCanary + "-local2"},
		readPaths(t, dir, "openai/api-key", "local-key"))
}

// readPaths reads the given paths below dir.
func readPaths(t *testing.T, dir string, paths ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(filepath.Join(dir, p))
		require.NoError(t, err)
		out[p] = string(b)
	}
	return out
}

// Our own files are ours, not someone else's: a republish of the same set
// writes a new version, as before.
func TestOwnFilesAreRepublished(t *testing.T) {
	root := tempDir(t)
	files := []File{file("a", "a1"), file("g/b", "b1")}
	first, err := Publish(opts(root), files)
	require.NoError(t, err)
	second, err := Publish(opts(root), files)
	require.NoError(t, err)
	assert.NotEmpty(t, second.Version)
	assert.NotEqual(t, first.Version, second.Version)
	assert.Equal(t, []string{second.Version}, versions(t, Dir(root)))
}

func TestConflictsWithTheWebhookNameThePath(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, dir string)
		files    []File
		wantPath string // below the mount directory
		wantErr  string
	}{
		{
			name: "Flyte 2: other bytes at <key>",
			setup: func(t *testing.T, dir string) {
				readOnlyMount(t, dir, false, flyte2Fill(map[string]string{"k": placedCanary + "-webhook"}))
			},
			files:    []File{file("k", placedCanary+"-resolved")},
			wantPath: "k",
			wantErr:  "a regular file is in the way, and the file holds other content than the resolved value",
		},
		{
			name: "Flyte 2: the same length, other bytes",
			setup: func(t *testing.T, dir string) {
				readOnlyMount(t, dir, false, flyte2Fill(map[string]string{"k": placedCanary + "-A"}))
			},
			files:    []File{file("k", placedCanary+"-B")},
			wantPath: "k",
			wantErr:  "other content than the resolved value",
		},
		{
			name: "Flyte 1: the group's mount lacks the key",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.MkdirAll(dir, 0o755))
				readOnlyMount(t, filepath.Join(dir, "g"), false, kubeletFill(map[string]string{"other": "x"}))
			},
			files:    []File{file("g/k", placedCanary)},
			wantPath: "g/k",
			wantErr:  "is not the shim's (something else, such as Flyte 1's webhook, put it there), and there is no such file",
		},
		{
			name: "Flyte 1: the group's mount holds other bytes",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.MkdirAll(dir, 0o755))
				readOnlyMount(t, filepath.Join(dir, "g"), false, kubeletFill(map[string]string{"k": placedCanary + "-webhook"}))
			},
			files:    []File{file("g/k", placedCanary)},
			wantPath: "g/k",
			wantErr:  "the file holds other content than the resolved value",
		},
		{
			name: "a symlink out of the mount is not followed",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.MkdirAll(dir, 0o755))
				outside := filepath.Join(filepath.Dir(dir), "outside")
				require.NoError(t, os.WriteFile(outside, []byte(placedCanary), 0o644))
				require.NoError(t, os.Symlink(outside, filepath.Join(dir, "k")))
			},
			files:    []File{file("k", placedCanary)},
			wantPath: "k",
			wantErr:  "a symlink that does not go through ..data is in the way, and the file leads out of the secrets directory",
		},
		{
			name: "a FIFO is not waited on",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.MkdirAll(dir, 0o755))
				require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "k"), 0o644))
			},
			files:    []File{file("k", placedCanary)},
			wantPath: "k",
			wantErr:  "a special file is in the way, and what is there is not a regular file",
		},
		{
			name: "every conflict is named",
			setup: func(t *testing.T, dir string) {
				readOnlyMount(t, dir, false, flyte2Fill(map[string]string{"a": "x", "b": "y"}))
			},
			files:    []File{file("a", placedCanary), file("b", placedCanary)},
			wantPath: "a",
			wantErr:  `refuse to replace "` + "%DIR%/b" + `": a regular file is in the way`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tempDir(t)
			dir := Dir(root)
			tt.setup(t, dir)
			before := listAll(t, dir)
			o, logs := capture(root)
			_, err := NewPublisher(o).Prepare(tt.files)
			var me *Error
			require.ErrorAs(t, err, &me)
			assert.Equal(t, filepath.Join(dir, tt.wantPath), me.Path)
			assert.ErrorContains(t, err, strings.ReplaceAll(tt.wantErr, "%DIR%", dir))
			assert.NotContains(t, err.Error(), "CANARY")
			assert.NotContains(t, logs.String(), "CANARY")
			assert.Equal(t, before, listAll(t, dir), "nothing is written")
		})
	}
}

// On Flyte 2 a grouped file request belongs at <group>/<key>, where the
// webhook wrote nothing (it writes <key>): the read-only mount can't take
// it, and that is named, file by file.
func TestReadOnlyMountWithoutTheFileIsAnError(t *testing.T) {
	root := tempDir(t)
	dir := Dir(root)
	readOnlyMount(t, dir, true, flyte2Fill(map[string]string{"k": placedCanary}))
	before := listAll(t, dir)
	_, err := Publish(opts(root), []File{file("k", placedCanary), file("g/k", placedCanary)})
	require.Error(t, err)
	assert.ErrorIs(t, err, syscall.EROFS)
	var me *Error
	require.ErrorAs(t, err, &me)
	var paths []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if errors.As(e, &me) {
			paths = append(paths, me.Path)
		}
	}
	assert.Contains(t, paths, filepath.Join(dir, "g/k"))
	assert.NotContains(t, paths, filepath.Join(dir, "k"), "the file in place is not a failure")
	assert.ErrorContains(t, err, "read-only filesystem (a read-only mount, such as Flyte's webhook makes), and there is no such file")
	assert.NotContains(t, err.Error(), "CANARY")
	assert.Equal(t, before, listAll(t, dir))
}

// A read-only mount whose visible names look like ours (someone mounted a
// Secret volume at the mount directory itself) is in place when every file
// is there.
func TestReadOnlyKubeletLayoutAtTheMountIsInPlace(t *testing.T) {
	root := tempDir(t)
	dir := Dir(root)
	readOnlyMount(t, dir, true, kubeletFill(map[string]string{"k": placedCanary}))
	o, logs := capture(root)
	res, err := Publish(o, []File{file("k", placedCanary)})
	require.NoError(t, err)
	assert.Equal(t, "", res.Version)
	assert.Contains(t, logs.String(), "in place already")

	_, err = Publish(o, []File{file("k", placedCanary+"-other")})
	require.ErrorIs(t, err, syscall.EROFS)
	assert.ErrorContains(t, err, filepath.Join(dir, "k"))
	assert.ErrorContains(t, err, "the file holds other content than the resolved value")
	assert.NotContains(t, err.Error()+logs.String(), "CANARY")
}

// A Pending of files in place has nothing to undo: Abort and Revert leave
// the mount as it is, and end the publish.
func TestInPlacePendingAbortAndRevert(t *testing.T) {
	root := tempDir(t)
	dir := Dir(root)
	readOnlyMount(t, dir, false, flyte2Fill(map[string]string{"k": "v"}))
	before := listAll(t, dir)
	pub := NewPublisher(opts(root))
	pd, err := pub.Prepare([]File{file("k", "v")})
	require.NoError(t, err)
	require.NoError(t, pd.Abort())
	pd, err = pub.Prepare([]File{file("k", "v")}) // the first one let go of the mutex
	require.NoError(t, err)
	require.NoError(t, pd.Switch())
	require.NoError(t, pd.Revert())
	assert.Equal(t, before, listAll(t, dir))
	assert.False(t, pub.Same([]File{file("k", "v")}), "a reverted publish is not current")
}

// listAll lists every path under dir with its type, for a before/after.
func listAll(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			out = append(out, p+" "+fi.Mode().String())
		}
		return nil
	})
	return out
}

// TestOurOwnLayoutOnAReadOnlyMountIsInPlace: a read-only mount of a
// directory this shim published into before (another container's start,
// say), ..lock included, holding the values the start would write, is in
// place. The ..lock opened there (O_CREAT on a name that exists needs no
// write), so the read-only filesystem was found only at the first write,
// and the start failed.
func TestOurOwnLayoutOnAReadOnlyMountIsInPlace(t *testing.T) {
	root := tempDir(t)
	dir := Dir(root)
	files := []File{file("a", placedCanary+"-a"), file("g/b", placedCanary+"-b")}
	readOnlyMount(t, dir, true, func(string) {
		_, err := Publish(opts(root), files)
		require.NoError(t, err)
		require.FileExists(t, filepath.Join(dir, lockName))
	})
	o, logs := capture(root)
	res, err := Publish(o, files)
	require.NoError(t, err)
	assert.Equal(t, "", res.Version, "nothing is written")
	assert.Contains(t, logs.String(), "in place already")
	assert.NotContains(t, logs.String(), "CANARY")

	// A value that differs is refused, naming the read-only mount.
	_, err = Publish(o, []File{file("a", placedCanary+"-other")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "read-only")
	assert.NotContains(t, err.Error(), "CANARY")
}
