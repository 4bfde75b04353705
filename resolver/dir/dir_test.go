package dir_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/dir"
)

const canary = "CANARY-outside-7d1e"

// tree makes base/secrets (the backend's directory) with files, and base/x
// and base/secrets-sibling/x outside it holding the canary. It returns the
// backend's directory.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	base := t.TempDir()
	d := filepath.Join(base, "secrets")
	require.NoError(t, os.MkdirAll(d, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(base, "x"), []byte(canary), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(base, "X"), []byte(canary), 0o600))
	for name, v := range files {
		p := filepath.Join(d, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, []byte(v), 0o600))
	}
	return d
}

func TestLookup(t *testing.T) {
	long := strings.Repeat("a", 254)
	tests := []struct {
		name        string
		files       map[string]string
		setup       func(t *testing.T, d string)
		ref         resolver.Ref
		wantValue   string
		wantMissing string // a "not found" whose text contains this
		wantErr     string // a real error whose text contains this
	}{
		{name: "key keeps its case", files: map[string]string{"MyKey": "v1"}, ref: resolver.Ref{Key: "MyKey"}, wantValue: "v1"},
		{name: "group and key are lower-cased", files: map[string]string{"my-group/my-key": "v2"},
			ref: resolver.Ref{Key: "My-Key", Group: "My-Group", GroupVersion: "7"}, wantValue: "v2"},
		{name: "binary value is byte-exact", files: map[string]string{"bin": "\x00\xff\xfe\n\x00"}, ref: resolver.Ref{Key: "bin"},
			wantValue: "\x00\xff\xfe\n\x00"},
		{name: "empty file is an empty value", files: map[string]string{"empty": ""}, ref: resolver.Ref{Key: "empty"}, wantValue: ""},
		{name: "a 253-byte key is fine", files: map[string]string{strings.Repeat("b", 253): "long"},
			ref: resolver.Ref{Key: strings.Repeat("b", 253)}, wantValue: "long"},
		{name: "missing file", ref: resolver.Ref{Key: "nope"}, wantMissing: "no file "},
		{name: "missing group", ref: resolver.Ref{Key: "k", Group: "g"}, wantMissing: "no file "},
		{name: "a grouped request finds <dir>/<key>, as Flyte 2 writes it", files: map[string]string{"MyKey": "flat"},
			ref: resolver.Ref{Key: "MyKey", Group: "G"}, wantValue: "flat"},
		{name: "the group's own file comes first", files: map[string]string{"g/k": "grouped", "k": "flat"},
			ref: resolver.Ref{Key: "k", Group: "g"}, wantValue: "grouped"},
		{name: "<dir>/<key> keeps the key's case", files: map[string]string{"mykey": "lower"},
			ref: resolver.Ref{Key: "MyKey", Group: "G"}, wantMissing: "/g/mykey nor "},
		{name: "a real error at the group's path does not move on", files: map[string]string{"g/k/inner": "x", "k": "flat"},
			ref: resolver.Ref{Key: "k", Group: "g"}, wantErr: "is a directory"},
		{name: "a real error at <dir>/<key> is an error", files: map[string]string{"k/inner": "x"},
			ref: resolver.Ref{Key: "k", Group: "g"}, wantErr: "is a directory"},
		{name: "group is a file (ENOTDIR)", files: map[string]string{"g": "plain"}, ref: resolver.Ref{Key: "k", Group: "g"},
			wantMissing: "no file "},
		{name: "dangling symlink", setup: func(t *testing.T, d string) {
			require.NoError(t, os.Symlink("nowhere", filepath.Join(d, "dangling")))
		}, ref: resolver.Ref{Key: "dangling"}, wantMissing: "no file "},
		{name: "key ../x reads nothing outside", ref: resolver.Ref{Key: "../x"}, wantMissing: `key "../x" breaks the file name rules: it starts with ".."`},
		{name: "group .. reads nothing outside", ref: resolver.Ref{Key: "x", Group: ".."}, wantMissing: `group ".." breaks the file name rules: it is ..`},
		{name: "key with a slash", files: map[string]string{"a/b": "nested"}, ref: resolver.Ref{Key: "a/b"},
			wantMissing: `key "a/b" breaks the file name rules: it contains "/"`},
		{name: "group with a slash", files: map[string]string{"a/b/c": "nested"}, ref: resolver.Ref{Key: "c", Group: "a/b"},
			wantMissing: `group "a/b" breaks the file name rules: it contains "/"`},
		{name: "key .", ref: resolver.Ref{Key: "."}, wantMissing: "it is ."},
		{name: "key ..", ref: resolver.Ref{Key: ".."}, wantMissing: "it is .."},
		{name: "key ..data", files: map[string]string{"..data": "layout"}, ref: resolver.Ref{Key: "..data"}, wantMissing: `it starts with ".."`},
		{name: "empty key", ref: resolver.Ref{Key: ""}, wantMissing: "it is empty"},
		{name: "key with NUL", ref: resolver.Ref{Key: "x\x00y"}, wantMissing: "control character"},
		{name: "key with newline", files: map[string]string{"x\ny": "nl"}, ref: resolver.Ref{Key: "x\ny"}, wantMissing: "control character"},
		{name: "key with DEL", ref: resolver.Ref{Key: "x\x7f"}, wantMissing: "control character"},
		{name: "key with a C1 control", files: map[string]string{"x\u0085": "c1"}, ref: resolver.Ref{Key: "x\u0085"}, wantMissing: "control character"},
		{name: "key over 253 bytes", files: map[string]string{long: "too long"}, ref: resolver.Ref{Key: long},
			wantMissing: "longer than 253 bytes"},
		{name: "group over 253 bytes", ref: resolver.Ref{Key: "k", Group: long}, wantMissing: "longer than 253 bytes"},
		{name: "a directory where the file should be", files: map[string]string{"d/inner": "x"}, ref: resolver.Ref{Key: "d"},
			wantErr: "is a directory"},
		{name: "a symlink loop", setup: func(t *testing.T, d string) {
			require.NoError(t, os.Symlink("loop", filepath.Join(d, "loop")))
		}, ref: resolver.Ref{Key: "loop"}, wantErr: "too many levels of symbolic links"},
		{name: "a FIFO is refused, not waited on", setup: func(t *testing.T, d string) {
			require.NoError(t, syscall.Mkfifo(filepath.Join(d, "fifo"), 0o600))
		}, ref: resolver.Ref{Key: "fifo"}, wantErr: "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tree(t, tt.files)
			if tt.setup != nil {
				tt.setup(t, d)
			}
			v, err := dir.New(d).Lookup(context.Background(), tt.ref)
			switch {
			case tt.wantErr != "":
				require.Error(t, err)
				assert.False(t, resolver.IsNotFound(err), err)
				assert.ErrorContains(t, err, tt.wantErr)
				assert.ErrorContains(t, err, d, "the error names the path")
			case tt.wantMissing != "":
				require.Error(t, err)
				assert.True(t, resolver.IsNotFound(err), err)
				assert.ErrorContains(t, err, tt.wantMissing)
			default:
				require.NoError(t, err)
				assert.Equal(t, tt.wantValue, string(v.Bytes()))
			}
			assert.NotContains(t, string(v.Bytes()), canary)
		})
	}
}

// A hostile name is refused before any path is built: Path does not even
// stat, so nothing outside can be read whatever exists there.
func TestHostileNamesBuildNoPath(t *testing.T) {
	d := tree(t, nil)
	for _, ref := range []resolver.Ref{{Key: "../x"}, {Key: "x", Group: ".."}, {Key: "../X", Group: "g"}, {Key: "x", Group: "../secrets-sibling"}} {
		p, err := dir.New(d).Path(ref)
		assert.Empty(t, p)
		assert.True(t, resolver.IsNotFound(err), err)
	}
}

func TestPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads any file; the directory and FIFO cases cover real errors")
	}
	d := tree(t, map[string]string{"locked": "v"})
	require.NoError(t, os.Chmod(filepath.Join(d, "locked"), 0))
	_, err := dir.New(d).Lookup(context.Background(), resolver.Ref{Key: "locked"})
	require.Error(t, err)
	assert.False(t, resolver.IsNotFound(err))
	assert.ErrorContains(t, err, "permission denied")
	assert.ErrorContains(t, err, filepath.Join(d, "locked"))
}

// A Kubernetes secret volume: every visible name is a symlink through
// ..data to a timestamped directory.
func TestKubernetesLayout(t *testing.T) {
	d := t.TempDir()
	ts := filepath.Join(d, "..2026_01_02_03_04_05.000000001")
	require.NoError(t, os.MkdirAll(filepath.Join(ts, "openai"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ts, "token"), []byte("t1"), 0o400))
	require.NoError(t, os.WriteFile(filepath.Join(ts, "openai", "api-key"), []byte("t2"), 0o400))
	require.NoError(t, os.Symlink(filepath.Base(ts), filepath.Join(d, "..data")))
	require.NoError(t, os.Symlink("..data/token", filepath.Join(d, "token")))
	require.NoError(t, os.Symlink("..data/openai", filepath.Join(d, "openai")))

	b := dir.New(d)
	v, err := b.Lookup(context.Background(), resolver.Ref{Key: "token"})
	require.NoError(t, err)
	assert.Equal(t, "t1", string(v.Bytes()))
	v, err = b.Lookup(context.Background(), resolver.Ref{Key: "API-KEY", Group: "OpenAI"})
	require.NoError(t, err)
	assert.Equal(t, "t2", string(v.Bytes()))
}

// The two layouts of Flyte's webhooks, as they are in a pod.
func TestFlyteWebhookLayouts(t *testing.T) {
	t.Run("Flyte 1: each group's Secret mounted at <dir>/<lower(group)>", func(t *testing.T) {
		d := t.TempDir()
		// A Secret volume: the kubelet's atomic layout inside the group's
		// mount, the item's path lower(key).
		g := filepath.Join(d, "openai")
		ts := filepath.Join(g, "..2026_01_02_03_04_05.000000001")
		require.NoError(t, os.MkdirAll(ts, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(ts, "api-key"), []byte("v1"), 0o644))
		require.NoError(t, os.Symlink(filepath.Base(ts), filepath.Join(g, "..data")))
		require.NoError(t, os.Symlink("..data/api-key", filepath.Join(g, "api-key")))
		v, err := dir.New(d).Lookup(context.Background(), resolver.Ref{Key: "API-Key", Group: "OpenAI"})
		require.NoError(t, err)
		assert.Equal(t, "v1", string(v.Bytes()))
	})
	t.Run("Flyte 2: every file at <dir>/<key>, case kept, group ignored", func(t *testing.T) {
		d := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(d, "Api_Key"), []byte("v2"), 0o644))
		b := dir.New(d)
		for _, ref := range []resolver.Ref{{Key: "Api_Key"}, {Key: "Api_Key", Group: "openai"}} {
			v, err := b.Lookup(context.Background(), ref)
			require.NoError(t, err, "%+v", ref)
			assert.Equal(t, "v2", string(v.Bytes()))
		}
		paths, err := b.Paths(resolver.Ref{Key: "Api_Key", Group: "OpenAI"})
		require.NoError(t, err)
		assert.Equal(t, []string{filepath.Join(d, "openai", "api_key"), filepath.Join(d, "Api_Key")}, paths)
	})
}

func TestNoDirectory(t *testing.T) {
	_, err := dir.New("").Lookup(context.Background(), resolver.Ref{Key: "k"})
	assert.True(t, resolver.IsNotFound(err))
}

func TestCancelledContext(t *testing.T) {
	d := tree(t, map[string]string{"k": "v"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := dir.New(d).Lookup(ctx, resolver.Ref{Key: "k"})
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, resolver.IsNotFound(err))
}

func TestLargeFile(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1<<14) // 256 KiB
	d := tree(t, map[string]string{"big": big})
	v, err := dir.New(d).Lookup(context.Background(), resolver.Ref{Key: "big"})
	require.NoError(t, err)
	assert.Equal(t, big, string(v.Bytes()))
}

// FuzzLookupStaysInside checks that whatever the key and group, the path
// read is one or two names below the directory, and that nothing outside it
// is ever returned.
func FuzzLookupStaysInside(f *testing.F) {
	for _, s := range [][2]string{
		{"k", ""}, {"../x", ""}, {"x", ".."}, {"..", "."}, {"a/b", ""}, {"K", "G"},
		{"x", "../secrets"}, {"/x", ""}, {"x\x00", ""}, {"\u212a", "\u212a"}, {"\xff..", "\xc0"},
	} {
		f.Add(s[0], s[1])
	}
	base := f.TempDir()
	d := filepath.Join(base, "secrets")
	if err := os.MkdirAll(filepath.Join(d, "g"), 0o700); err != nil {
		f.Fatal(err)
	}
	for _, p := range []string{filepath.Join(base, "x"), filepath.Join(base, "X"), filepath.Join(base, "k")} {
		if err := os.WriteFile(p, []byte(canary), 0o600); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(d, "k"), []byte("inside"), 0o600); err != nil {
		f.Fatal(err)
	}
	b := dir.New(d)
	f.Fuzz(func(t *testing.T, key, group string) {
		ref := resolver.Ref{Key: key, Group: group}
		paths, err := b.Paths(ref)
		if err == nil {
			want := []int{1}
			if group != "" {
				want = []int{2, 1} // <dir>/<group>/<key>, then <dir>/<key>
			}
			if len(paths) != len(want) {
				t.Fatalf("paths %q for key %q group %q, want %d", paths, key, group, len(want))
			}
			for i, p := range paths {
				rel, rerr := filepath.Rel(d, p)
				if rerr != nil || rel == "." || strings.HasPrefix(rel, "..") || filepath.IsAbs(rel) {
					t.Fatalf("path %q for key %q group %q is not below %q", p, key, group, d)
				}
				if n := len(strings.Split(rel, string(filepath.Separator))); n != want[i] {
					t.Fatalf("path %q for key %q group %q has %d names, want %d", p, key, group, n, want[i])
				}
			}
			if p, _ := b.Path(ref); p != paths[0] {
				t.Fatalf("Path %q is not the first of Paths %q", p, paths)
			}
		} else if !resolver.IsNotFound(err) {
			t.Fatalf("Paths(%q, %q): %v is not a not-found", key, group, err)
		}
		v, _ := b.Lookup(context.Background(), ref)
		if strings.Contains(string(v.Bytes()), canary) {
			t.Fatalf("key %q group %q read a file outside the directory", key, group)
		}
	})
}
