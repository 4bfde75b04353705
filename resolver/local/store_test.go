package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage/managetest"
)

// ctx is the context of the store calls in these tests; it is never
// cancelled.
var ctx = context.Background()

var (
	org    = resolver.Scope{Org: "flyte"}
	domain = resolver.Scope{Org: "flyte", Domain: "development"}
	proj   = resolver.Scope{Org: "flyte", Project: "flytesnacks", Domain: "development"}
)

// newStore opens a store in a directory that does not exist yet.
func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "store"))
	require.NoError(t, err)
	return s
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	require.NoError(t, err)
	return fi.Mode().Perm()
}

// TestConformance runs the stores' shared suite on the local store.
func TestConformance(t *testing.T) {
	managetest.Conformance(t, func(t *testing.T) manage.Store { return newStore(t) })
}

func TestCancelledContext(t *testing.T) {
	s := newStore(t)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err := s.Create(cancelled, org, "k", manage.TypeRegular, secret.New([]byte("v")))
	assert.ErrorIs(t, err, context.Canceled, "a cancelled context stops the call")
	_, statErr := os.Stat(s.Dir())
	assert.ErrorIs(t, statErr, os.ErrNotExist, "nothing was written")

	_, err = s.Create(ctx, org, "k", manage.TypeRegular, secret.New([]byte("v")))
	require.NoError(t, err)
	_, _, err = s.Get(cancelled, org, "k")
	assert.ErrorIs(t, err, context.Canceled)
	_, _, err = s.List(cancelled, org, 0, "")
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, s.Delete(cancelled, org, "k"), context.Canceled)
	_, v, err := s.Get(ctx, org, "k")
	require.NoError(t, err, "a cancelled delete removes nothing")
	assert.Equal(t, "v", string(v.Bytes()))
}

func TestDefaultDir(t *testing.T) {
	tests := []struct {
		name    string
		xdg     string
		home    string
		want    string
		wantErr string
	}{
		{name: "XDG_DATA_HOME", xdg: "/xdg", home: "/home/u", want: "/xdg/flyte-entrypoint"},
		{name: "HOME", home: "/home/u", want: "/home/u/.local/share/flyte-entrypoint"},
		{name: "a relative XDG_DATA_HOME is ignored", xdg: "rel", home: "/home/u", want: "/home/u/.local/share/flyte-entrypoint"},
		{name: "neither", wantErr: "neither XDG_DATA_HOME nor HOME is set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_DATA_HOME", tt.xdg)
			t.Setenv("HOME", tt.home)
			got, err := DefaultDir()
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCreateGetRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		scope resolver.Scope
		key   string
		typ   manage.Type
		value []byte
	}{
		{name: "org, text", scope: org, key: "db-pass", typ: manage.TypeRegular, value: []byte("hunter2")},
		{name: "domain, binary", scope: domain, key: "Bin_1", typ: manage.TypeRegular, value: []byte{0, 0xff, 0xfe, '\n', 0}},
		{name: "project, empty", scope: proj, key: "empty", typ: manage.TypeRegular, value: []byte{}},
		{name: "image pull", scope: org, key: "pull", typ: manage.TypeImagePull, value: []byte(`{"auths":{}}`)},
		{name: "empty org", scope: resolver.Scope{}, key: "k", typ: manage.TypeRegular, value: []byte("v")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			now := time.Date(2026, 1, 2, 3, 4, 5, 999, time.FixedZone("X", 3600))
			s.now = func() time.Time { return now }
			meta, err := s.Create(ctx, tt.scope, tt.key, tt.typ, secret.New(tt.value))
			require.NoError(t, err)
			wantMeta := manage.Meta{Name: tt.key, Org: tt.scope.Org, Project: tt.scope.Project, Domain: tt.scope.Domain, Type: tt.typ,
				Created: time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC)}
			assert.Equal(t, wantMeta, meta)

			gotMeta, v, err := s.Get(ctx, tt.scope, tt.key)
			require.NoError(t, err)
			assert.Equal(t, wantMeta, gotMeta)
			assert.Equal(t, tt.value, v.Bytes())

			file := filepath.Join(s.Dir(), "secrets", resolver.ScopedID(tt.scope, tt.key))
			assert.Equal(t, os.FileMode(0o600), mode(t, file))
			assert.Equal(t, os.FileMode(0o700), mode(t, s.Dir()))
			assert.Equal(t, os.FileMode(0o700), mode(t, filepath.Join(s.Dir(), "secrets")))
		})
	}
}

func TestRecordOnDisk(t *testing.T) {
	s := newStore(t)
	s.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	_, err := s.Create(ctx, proj, "db-pass", manage.TypeRegular, secret.New([]byte("hunter2")))
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(s.Dir(), "secrets", "u__org__flyte__domain__development__project__flytesnacks__key__db-pass"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"version":1,"name":"db-pass","org":"flyte","project":"flytesnacks","domain":"development",
		"type":"regular","created_time":"2026-01-02T03:04:05Z","value":"aHVudGVyMg=="}`, string(data))
	assert.True(t, strings.HasSuffix(string(data), "}\n"))
	assert.Equal(t, 1, strings.Count(string(data), "\n"))
}

func TestCreateNeverOverwrites(t *testing.T) {
	s := newStore(t)
	_, err := s.Create(ctx, domain, "k", manage.TypeRegular, secret.New([]byte("first")))
	require.NoError(t, err)
	_, err = s.Create(ctx, domain, "k", manage.TypeRegular, secret.New([]byte("second")))
	require.Error(t, err)
	assert.True(t, manage.IsExists(err))
	assert.False(t, manage.IsNotFound(err))
	assert.EqualError(t, err, `secret "k" already exists in scope flyte/-/development`)
	_, v, err := s.Get(ctx, domain, "k")
	require.NoError(t, err)
	assert.Equal(t, "first", string(v.Bytes()))

	// The same name in another scope is another secret.
	_, err = s.Create(ctx, org, "k", manage.TypeRegular, secret.New([]byte("org")))
	require.NoError(t, err)
	_, err = s.Create(ctx, proj, "k", manage.TypeRegular, secret.New([]byte("project")))
	require.NoError(t, err)
	for scope, want := range map[resolver.Scope]string{org: "org", domain: "first", proj: "project"} {
		_, v, err := s.Get(ctx, scope, "k")
		require.NoError(t, err)
		assert.Equal(t, want, string(v.Bytes()), scope.String())
	}
	assertNoTemp(t, s.Dir())
}

func TestInvalidInput(t *testing.T) {
	long := strings.Repeat("n", 220)
	tests := []struct {
		name    string
		scope   resolver.Scope
		key     string
		typ     manage.Type
		wantErr string
	}{
		{name: "name with a space", scope: org, key: "a b", typ: manage.TypeRegular, wantErr: `invalid secret name "a b": must match ^[-a-zA-Z0-9_]+$`},
		{name: "name with a dot", scope: org, key: "a.b", typ: manage.TypeRegular, wantErr: `invalid secret name "a.b": must match ^[-a-zA-Z0-9_]+$`},
		{name: "path in the name", scope: org, key: "../x", typ: manage.TypeRegular, wantErr: `invalid secret name "../x": must match ^[-a-zA-Z0-9_]+$`},
		{name: "empty name", scope: org, key: "", typ: manage.TypeRegular, wantErr: `invalid secret name "": must match ^[-a-zA-Z0-9_]+$`},
		{name: "name with a newline", scope: org, key: "k\n", typ: manage.TypeRegular, wantErr: `invalid secret name "k\n": must match ^[-a-zA-Z0-9_]+$`},
		{name: "project without domain", scope: resolver.Scope{Org: "flyte", Project: "P"}, key: "k", typ: manage.TypeRegular,
			wantErr: `project-scoped secrets must also specify a domain, got project="P" domain=""`},
		{name: "bad project", scope: resolver.Scope{Org: "flyte", Project: "My_Project", Domain: "d"}, key: "k", typ: manage.TypeRegular,
			wantErr: `invalid project "My_Project": must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`},
		{name: "bad domain", scope: resolver.Scope{Org: "flyte", Domain: "-dev"}, key: "k", typ: manage.TypeRegular,
			wantErr: `invalid domain "-dev": must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`},
		{name: "bad org", scope: resolver.Scope{Org: "Flyte"}, key: "k", typ: manage.TypeRegular,
			wantErr: `invalid org "Flyte": must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`},
		{name: "bad type", scope: org, key: "k", typ: "opaque", wantErr: `invalid secret type "opaque": must be regular or image_pull`},
		{name: "empty type", scope: org, key: "k", typ: "", wantErr: `invalid secret type "": must be regular or image_pull`},
		{name: "image pull with a domain", scope: domain, key: "k", typ: manage.TypeImagePull,
			wantErr: "Project and domain must not be set when creating an image pull secret."},
		{name: "too long for a file name", scope: org, key: long, typ: manage.TypeRegular,
			wantErr: `secret name "` + long[:64] + `"...(220 bytes) is too long for the local store in scope flyte: its file name would be 261 bytes, the limit is 255`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			_, err := s.Create(ctx, tt.scope, tt.key, tt.typ, secret.New([]byte("v")))
			assert.EqualError(t, err, tt.wantErr)
			assert.True(t, manage.IsInvalid(err))
			_, statErr := os.Stat(s.Dir())
			assert.ErrorIs(t, statErr, os.ErrNotExist, "an invalid create makes no directory")
		})
	}
}

func TestInvalidInputOnReads(t *testing.T) {
	s := newStore(t)
	bad := resolver.Scope{Org: "flyte", Project: "p"}
	_, _, err := s.Get(ctx, bad, "k")
	assert.True(t, manage.IsInvalid(err), err)
	_, _, err = s.Get(ctx, org, "a/b")
	assert.True(t, manage.IsInvalid(err), err)
	assert.True(t, manage.IsInvalid(s.Delete(ctx, org, "a b")))
	_, _, err = s.List(ctx, bad, 0, "")
	assert.True(t, manage.IsInvalid(err), err)
	_, _, err = s.List(ctx, org, 0, "../x")
	assert.EqualError(t, err, `invalid page token "../x"`)
	assert.True(t, manage.IsInvalid(err))
}

func TestMissingStoreIsEmpty(t *testing.T) {
	s := newStore(t)
	_, _, err := s.Get(ctx, org, "k")
	assert.True(t, manage.IsNotFound(err), err)
	assert.EqualError(t, err, `secret "k" not found in scope flyte`)
	items, next, err := s.List(ctx, org, 10, "")
	require.NoError(t, err)
	assert.Empty(t, items)
	assert.Empty(t, next)
	assert.True(t, manage.IsNotFound(s.Delete(ctx, org, "k")))
	_, err = os.Stat(s.Dir())
	assert.ErrorIs(t, err, os.ErrNotExist, "a lookup makes no directory")
}

func TestDelete(t *testing.T) {
	s := newStore(t)
	_, err := s.Create(ctx, domain, "k", manage.TypeRegular, secret.New([]byte("v")))
	require.NoError(t, err)
	_, err = s.Create(ctx, org, "k", manage.TypeRegular, secret.New([]byte("v")))
	require.NoError(t, err)

	err = s.Delete(ctx, proj, "k")
	assert.True(t, manage.IsNotFound(err), "delete looks in exactly the scope given")
	assert.EqualError(t, err, `secret "k" not found in scope flyte/flytesnacks/development`)

	require.NoError(t, s.Delete(ctx, domain, "k"))
	_, _, err = s.Get(ctx, domain, "k")
	assert.True(t, manage.IsNotFound(err))
	_, _, err = s.Get(ctx, org, "k")
	assert.NoError(t, err, "the org secret stays")
	assert.True(t, manage.IsNotFound(s.Delete(ctx, domain, "k")))

	// A deleted name can be created again.
	_, err = s.Create(ctx, domain, "k", manage.TypeRegular, secret.New([]byte("again")))
	require.NoError(t, err)
}

func TestList(t *testing.T) {
	s := newStore(t)
	for _, n := range []string{"b", "a", "C", "d-1", "d_2", "e"} {
		_, err := s.Create(ctx, org, n, manage.TypeRegular, secret.New([]byte("v-"+n)))
		require.NoError(t, err)
	}
	_, err := s.Create(ctx, domain, "dom", manage.TypeRegular, secret.New([]byte("x")))
	require.NoError(t, err)
	_, err = s.Create(ctx, proj, "proj", manage.TypeRegular, secret.New([]byte("x")))
	require.NoError(t, err)
	// Files that are not records of this scope are left alone.
	sd := filepath.Join(s.Dir(), "secrets")
	require.NoError(t, os.WriteFile(filepath.Join(sd, ".tmp-123"), []byte("partial"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(sd, "README"), []byte("hi"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(sd, resolver.ScopedID(org, "bad.name")), []byte("x"), 0o600))

	// Listing selects as Flyte 2's ListSecrets: the org lists every secret
	// of the org, a domain its own and its projects'. Pages follow the
	// scoped IDs' order, so the org-level secrets come first.
	all := []string{"C", "a", "b", "d-1", "d_2", "e", "dom", "proj"}
	tests := []struct {
		name      string
		scope     resolver.Scope
		limit     int
		wantPages [][]string
	}{
		{name: "org, all at once", scope: org, limit: 0, wantPages: [][]string{all}},
		{name: "org, a page bigger than the list", scope: org, limit: 10, wantPages: [][]string{all}},
		{name: "org, exact fit", scope: org, limit: 8, wantPages: [][]string{all}},
		{name: "org, pages of 4", scope: org, limit: 4, wantPages: [][]string{{"C", "a", "b", "d-1"}, {"d_2", "e", "dom", "proj"}}},
		{name: "org, pages of 3", scope: org, limit: 3, wantPages: [][]string{{"C", "a", "b"}, {"d-1", "d_2", "e"}, {"dom", "proj"}}},
		{name: "org, pages of 1", scope: org, limit: 1, wantPages: [][]string{{"C"}, {"a"}, {"b"}, {"d-1"}, {"d_2"}, {"e"}, {"dom"}, {"proj"}}},
		{name: "domain and its projects", scope: domain, limit: 0, wantPages: [][]string{{"dom", "proj"}}},
		{name: "domain, pages of 1", scope: domain, limit: 1, wantPages: [][]string{{"dom"}, {"proj"}}},
		{name: "project only", scope: proj, limit: 0, wantPages: [][]string{{"proj"}}},
		{name: "empty scope", scope: resolver.Scope{Org: "other"}, limit: 0, wantPages: [][]string{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [][]string
			token := ""
			for range 20 {
				items, next, err := s.List(ctx, tt.scope, tt.limit, token)
				require.NoError(t, err)
				var names []string
				for _, m := range items {
					assert.True(t, tt.scope.Selects(m.Scope()), "%s lists %s", tt.scope, m.Scope())
					assert.Equal(t, manage.TypeRegular, m.Type)
					names = append(names, m.Name)
				}
				got = append(got, names)
				if next == "" {
					break
				}
				token = next
			}
			assert.Equal(t, tt.wantPages, got)
		})
	}
}

func TestOpenRefusesAnInsecureStore(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, dir string)
		euid     int
		wantErrs []string // DIR stands for the store's directory
		notErr   string
	}{
		{
			name: "store readable by others",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.MkdirAll(filepath.Join(dir, "secrets"), 0o700))
				require.NoError(t, os.Chmod(dir, 0o755))
			},
			wantErrs: []string{"has mode 0755", "lets group or others in", "it must be 0700", "(chmod 700 DIR)"},
		},
		{
			// A shared directory, as /tmp is: no advice to change its mode.
			name: "store pointed at a sticky world-writable directory",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.MkdirAll(filepath.Join(dir, "secrets"), 0o700))
				require.NoError(t, os.Chmod(dir, 0o777|os.ModeSticky))
			},
			wantErrs: []string{"has mode 0777", "it must be 0700", "point --store (FLYTE_ENTRYPOINT_STORE) at a directory of the store's own"},
			notErr:   "chmod",
		},
		{
			name: "store pointed at a directory holding more than the store",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.MkdirAll(filepath.Join(dir, "secrets"), 0o700))
				require.NoError(t, os.WriteFile(filepath.Join(dir, ".bashrc"), nil, 0o600))
				require.NoError(t, os.Chmod(dir, 0o755))
			},
			wantErrs: []string{"has mode 0755", "it is not only the store's", "a directory of the store's own"},
			notErr:   "chmod",
		},
		{
			name: "store open to the group",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.Mkdir(dir, 0o700))
				require.NoError(t, os.Chmod(dir, 0o710))
			},
			wantErrs: []string{"has mode 0710", "it must be 0700"},
		},
		{
			name: "secrets directory readable by others",
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.MkdirAll(filepath.Join(dir, "secrets"), 0o700))
				require.NoError(t, os.Chmod(filepath.Join(dir, "secrets"), 0o705))
			},
			wantErrs: []string{"secrets", "has mode 0705", "it must be 0700"},
		},
		{
			name:     "owned by another user",
			setup:    func(t *testing.T, dir string) { require.NoError(t, os.Mkdir(dir, 0o700)) },
			euid:     4242,
			wantErrs: []string{"is owned by uid", "not by the current user (uid 4242)", "it must be owned by uid 4242"},
		},
		{
			name:     "not a directory",
			setup:    func(t *testing.T, dir string) { require.NoError(t, os.WriteFile(dir, nil, 0o600)) },
			wantErrs: []string{"is not a directory"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			tt.setup(t, dir)
			if tt.euid != 0 {
				geteuid = func() int { return tt.euid }
				defer func() { geteuid = os.Geteuid }()
			}
			_, err := Open(dir)
			require.Error(t, err)
			assert.ErrorContains(t, err, dir)
			for _, want := range tt.wantErrs {
				assert.ErrorContains(t, err, strings.ReplaceAll(want, "DIR", dir))
			}
			if tt.notErr != "" {
				assert.NotContains(t, err.Error(), tt.notErr)
			}
		})
	}
}

func TestOpenAcceptsAPrivateStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "secrets"), 0o700))
	_, err := Open(dir)
	assert.NoError(t, err)
	_, err = Open("")
	assert.EqualError(t, err, "local store: no directory given")
}

func TestCreateMakesParentsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "store")
	s, err := Open(dir)
	require.NoError(t, err)
	_, err = s.Create(ctx, org, "k", manage.TypeRegular, secret.New([]byte("v")))
	require.NoError(t, err)
	for _, p := range []string{filepath.Dir(filepath.Dir(dir)), filepath.Dir(dir), dir, filepath.Join(dir, "secrets")} {
		assert.Equal(t, os.FileMode(0o700), mode(t, p), p)
	}
}

func TestCorruptRecord(t *testing.T) {
	const canary = "CANARY-store-91be"
	tests := []struct {
		name    string
		data    func(t *testing.T, valid []byte) []byte
		wantErr string
	}{
		{name: "truncated", data: func(_ *testing.T, valid []byte) []byte { return valid[:len(valid)/2] }, wantErr: "not a JSON record"},
		{name: "empty", data: func(*testing.T, []byte) []byte { return nil }, wantErr: "empty file"},
		{name: "garbage after", data: func(_ *testing.T, valid []byte) []byte { return append(valid, "{}"...) }, wantErr: "not a JSON record: data after the JSON value"},
		{name: "another secret's record", data: func(t *testing.T, _ []byte) []byte {
			b, err := encodeRecord(record{Meta: manage.Meta{Name: "other", Org: "flyte", Type: manage.TypeRegular}, Value: []byte(canary)})
			require.NoError(t, err)
			return b
		}, wantErr: `it holds secret "other" in scope flyte, not "k" in scope flyte`},
		{name: "value not base64", data: func(_ *testing.T, valid []byte) []byte {
			return []byte(strings.Replace(string(valid), `"value":"`, `"value":"!`, 1))
		}, wantErr: "value is not valid base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			_, err := s.Create(ctx, org, "k", manage.TypeRegular, secret.New([]byte(canary)))
			require.NoError(t, err)
			p := filepath.Join(s.Dir(), "secrets", resolver.ScopedID(org, "k"))
			valid, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, tt.data(t, valid), 0o600))

			_, _, err = s.Get(ctx, org, "k")
			require.Error(t, err)
			assert.False(t, manage.IsNotFound(err))
			assert.ErrorContains(t, err, fmt.Sprintf("local store: corrupt secret record %q", p))
			assert.ErrorContains(t, err, tt.wantErr)
			assert.NotContains(t, err.Error(), canary)
			_, _, err = s.List(ctx, org, 0, "")
			assert.ErrorContains(t, err, "corrupt secret record")
		})
	}
}

func TestStaleTempFiles(t *testing.T) {
	s := newStore(t)
	_, err := s.Create(ctx, org, "first", manage.TypeRegular, secret.New([]byte("v")))
	require.NoError(t, err)
	sd := filepath.Join(s.Dir(), "secrets")
	old, fresh := filepath.Join(sd, ".tmp-old"), filepath.Join(sd, ".tmp-fresh")
	require.NoError(t, os.WriteFile(old, []byte(`{"version":1`), 0o600))
	require.NoError(t, os.WriteFile(fresh, []byte(`{"version":1`), 0o600))
	require.NoError(t, os.Chtimes(old, time.Now().Add(-2*time.Hour), time.Now().Add(-2*time.Hour)))

	items, _, err := s.List(ctx, org, 0, "")
	require.NoError(t, err)
	assert.Len(t, items, 1, "temporary files are not listed")

	_, err = s.Create(ctx, org, "second", manage.TypeRegular, secret.New([]byte("v")))
	require.NoError(t, err)
	assert.NoFileExists(t, old, "a temporary file older than an hour is removed")
	assert.FileExists(t, fresh, "a recent one may belong to a writer at work")
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "secrets"))
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), ".tmp-"), "left behind: %s", e.Name())
	}
}
