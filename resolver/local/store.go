// Package local is the embedded local store: the library behind the
// create, get and delete secret commands, and the "local" backend of the
// chain. *Store is a manage.Store: it takes manage's types (manage.Type,
// manage.Meta) and rules (manage.CheckCreate, manage.CheckName), and its
// errors answer manage.IsInvalid, manage.IsExists and manage.IsNotFound.
//
// # On disk
//
// The store is a directory (DefaultDir, or --store) holding one directory,
// secrets/, with one file per secret. The file is named by the secret's
// scoped id, as Flyte names it:
//
//	<store>/secrets/u__org__<org>__domain__<domain>__project__<project>__key__<name>
//
// and holds one line of JSON, version 1:
//
//	{"version":1,"name":"db-pass","org":"flyte","project":"","domain":"","type":"regular",
//	 "created_time":"2026-01-02T03:04:05Z","value":"<base64 of the raw bytes>"}
//
// Every field is required; unknown fields, trailing data, a name or scope
// that breaks the rules, or a record whose name and scope differ from its
// file name make the record corrupt, an error that names the file.
//
// Directories are 0700 and files 0600. Open refuses a store directory that
// lets group or others in, or that another user owns, as ssh refuses a key
// file.
//
// # Atomic writes
//
// A secret is written to a temporary file in secrets/ (named ".tmp-..."),
// synced, then hard-linked to its final name. link(2) fails when the name
// exists, so a secret is never overwritten, and a reader sees either no file
// or a whole one, across processes. The temporary name is then removed, on
// success or failure. A writer killed half-way leaves at most a ".tmp-"
// file, which List and Get ignore and Create removes once it is an hour old.
// Delete is one unlink(2).
package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/readfile"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

const (
	secretsDirName = "secrets"
	tmpPrefix      = ".tmp-"
	staleAfter     = time.Hour
	maxFileName    = 255
	// maxRecord is the largest record file read: a value of
	// readfile.MaxValue in base64, and its metadata.
	maxRecord = readfile.MaxValue/3*4 + 4<<10
)

// checkNameScope applies the rules for a secret's scope and name before a
// read or a delete.
func checkNameScope(scope resolver.Scope, name string) error {
	if err := scope.Validate(); err != nil {
		return manage.Invalid(err)
	}
	return manage.CheckName(name)
}

// DefaultDir is $XDG_DATA_HOME/flyte-entrypoint, else
// ~/.local/share/flyte-entrypoint. A relative XDG_DATA_HOME is ignored, as
// the XDG spec asks.
func DefaultDir() (string, error) {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "flyte-entrypoint"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", errors.New("find the local store: neither XDG_DATA_HOME nor HOME is set; give the store's directory")
	}
	return filepath.Join(home, ".local", "share", "flyte-entrypoint"), nil
}

// Store is a local store in one directory. It holds no open files and no
// locks: every call reads or writes the directory afresh, so several
// processes may use one store at once.
type Store struct {
	dir string
	now func() time.Time
}

var _ manage.Store = (*Store)(nil)

// geteuid is os.Geteuid, replaced in tests.
var geteuid = os.Geteuid

// Open checks the store at dir. A store that does not exist yet is fine:
// lookups find nothing in it, and Create makes it. A store directory (or its
// secrets/ directory) that lets group or others in, or that is not owned by
// the current user, is refused.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("local store: no directory given")
	}
	s := &Store{dir: dir, now: time.Now}
	if err := s.check(); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) secretsDir() string { return filepath.Join(s.dir, secretsDirName) }

// RecordsDir is the directory of a store's records: every create and
// delete changes it, so --watch watches it.
func RecordsDir(dir string) string { return filepath.Join(dir, secretsDirName) }

// check checks the directories that exist.
func (s *Store) check() error {
	for _, p := range []string{s.dir, s.secretsDir()} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("local store: %w", err)
		}
		own := func() bool { return p == s.secretsDir() || s.made() }
		if err := checkDir(p, fi, own); err != nil {
			return err
		}
	}
	return nil
}

// made reports whether the store's directory is one the store made, or at
// least one that holds nothing but the store: only then may a message tell
// the user to chmod it. Pointed at a shared directory (/tmp, a home), the
// way out is a directory of the store's own, never loosening or tightening
// that one.
func (s *Store) made() bool {
	entries, err := os.ReadDir(s.dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != secretsDirName {
		return false
	}
	return true
}

// checkDir refuses a directory that others may enter or that is not ours.
// own says whether the directory is the store's alone, so that changing its
// mode is safe advice; it is asked only when the mode is wrong.
func checkDir(p string, fi fs.FileInfo, own func() bool) error {
	if !fi.IsDir() {
		return fmt.Errorf("local store %q is not a directory", p)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if euid := geteuid(); int(st.Uid) != euid {
			return fmt.Errorf("local store directory %q is owned by uid %d, not by the current user (uid %d); it must be owned by uid %d", p, st.Uid, euid, euid)
		}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if fi.Mode()&fs.ModeSticky == 0 && own() {
			return fmt.Errorf("local store directory %q has mode %#o, which lets group or others in; it must be 0700 (chmod 700 %s)", p, perm, p)
		}
		return fmt.Errorf("local store directory %q has mode %#o, which lets group or others in; it must be 0700, and it is not only the store's: point --store (FLYTE_ENTRYPOINT_STORE) at a directory of the store's own, which is created 0700", p, perm)
	}
	return nil
}

// path is the file of a secret. Its name is the scoped id.
func (s *Store) path(scope resolver.Scope, name string) string {
	return filepath.Join(s.secretsDir(), resolver.ScopedID(scope, name))
}

func notFound(scope resolver.Scope, name string) error {
	return resolver.NotFound("secret %s not found in scope %s", spec.Quote(name), scope)
}

// Create stores a new secret. It never overwrites: a secret with the same
// scope and name is an error for which manage.IsExists is true. The store's
// directories are made (0700, with parents) when missing.
func (s *Store) Create(ctx context.Context, scope resolver.Scope, name string, typ manage.Type, value secret.Value) (manage.Meta, error) {
	if err := ctx.Err(); err != nil {
		return manage.Meta{}, err
	}
	if err := manage.CheckCreate(scope, name, typ); err != nil {
		return manage.Meta{}, err
	}
	if value.Len() > readfile.MaxValue {
		return manage.Meta{}, manage.Invalid(fmt.Errorf("the value of secret %s is %d bytes, more than the limit of %d", spec.Quote(name), value.Len(), readfile.MaxValue))
	}
	id := resolver.ScopedID(scope, name)
	if len(id) > maxFileName {
		return manage.Meta{}, manage.Invalid(fmt.Errorf("secret name %s is too long for the local store in scope %s: its file name would be %d bytes, the limit is %d", spec.Quote(name), scope, len(id), maxFileName))
	}
	dir := s.secretsDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return manage.Meta{}, fmt.Errorf("local store: create %s: %w", dir, unwrapPath(err))
	}
	if err := s.check(); err != nil {
		return manage.Meta{}, err
	}

	meta := manage.Meta{Name: name, Org: scope.Org, Project: scope.Project, Domain: scope.Domain, Type: typ,
		Created: s.now().UTC().Truncate(time.Second)}
	data, err := encodeRecord(record{Meta: meta, Value: value.Bytes()})
	if err != nil {
		return manage.Meta{}, fmt.Errorf("local store: encode secret %s: %w", spec.Quote(name), err)
	}
	if err := writeNew(dir, filepath.Join(dir, id), data); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return manage.Meta{}, manage.Exists(fmt.Errorf("secret %s already exists in scope %s", spec.Quote(name), scope))
		}
		return manage.Meta{}, fmt.Errorf("local store: write secret %s in scope %s: %w", spec.Quote(name), scope, err)
	}
	s.removeStale(dir)
	return meta, nil
}

// writeNew writes data to a temporary file in dir and links it to final,
// which must not exist. The temporary file is always removed.
func writeNew(dir, final string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return unwrapPath(err)
	}
	tmp := f.Name()
	defer func() {
		if rerr := os.Remove(tmp); rerr != nil && err == nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = unwrapPath(rerr)
		}
	}()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return unwrapPath(err)
	}
	if err := os.Link(tmp, final); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) {
			return le.Err
		}
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a new or removed name durable. It is best effort: the name
// is already visible to every reader.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// removeStale removes temporary files that a killed writer left behind more
// than an hour ago. It is best effort.
func (s *Store) removeStale(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-staleAfter) // file times are real times, whatever s.now says
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// Get reads one secret from exactly scope; nothing falls back.
func (s *Store) Get(ctx context.Context, scope resolver.Scope, name string) (manage.Meta, secret.Value, error) {
	if err := ctx.Err(); err != nil {
		return manage.Meta{}, secret.Value{}, err
	}
	if err := checkNameScope(scope, name); err != nil {
		return manage.Meta{}, secret.Value{}, err
	}
	r, err := s.read(scope, name)
	if err != nil {
		return manage.Meta{}, secret.Value{}, err
	}
	return r.Meta, secret.New(r.Value), nil
}

// read reads and checks one record.
func (s *Store) read(scope resolver.Scope, name string) (record, error) {
	if len(resolver.ScopedID(scope, name)) > maxFileName {
		return record{}, notFound(scope, name)
	}
	p := s.path(scope, name)
	// Never blocking, never unbounded: a FIFO or a huge file planted in the
	// store is an error, not a hang or an out-of-memory crash.
	data, err := readfile.Regular(p, maxRecord)
	if err != nil {
		if err == syscall.ENOENT || err == syscall.ENOTDIR {
			return record{}, notFound(scope, name)
		}
		return record{}, fmt.Errorf("local store: read secret %s in scope %s: %w", spec.Quote(name), scope, err)
	}
	r, err := decodeRecord(data)
	if err != nil {
		return record{}, fmt.Errorf("local store: corrupt secret record %q: %w", p, err)
	}
	if r.Name != name || r.Scope() != scope {
		return record{}, fmt.Errorf("local store: corrupt secret record %q: it holds secret %s in scope %s, not %s in scope %s",
			p, spec.Quote(r.Name), r.Scope(), spec.Quote(name), scope)
	}
	return r, nil
}

// List returns the secrets that scope selects, as Flyte 2's ListSecrets
// selects them (resolver.Scope.Selects): every secret of the org, narrowed
// to the domain when scope has one (its project-scoped secrets included)
// and to the project when it has one. They come sorted by scoped ID, at
// most limit of them (limit <= 0: all). Pass the returned next as pageToken
// to get the next page; next is "" after the last one.
func (s *Store) List(ctx context.Context, scope resolver.Scope, limit int, pageToken string) (items []manage.Meta, next string, err error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	if err := scope.Validate(); err != nil {
		return nil, "", manage.Invalid(err)
	}
	if _, _, ok := resolver.ParseScopedID(pageToken); pageToken != "" && !ok {
		return nil, "", manage.Invalid(fmt.Errorf("invalid page token %s", spec.Quote(pageToken)))
	}
	entries, err := os.ReadDir(s.secretsDir())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, "", nil
		}
		return nil, "", fmt.Errorf("local store: list scope %s: %w", scope, unwrapPath(err))
	}
	type found struct {
		id    string
		scope resolver.Scope
		name  string
	}
	var ids []found
	for _, e := range entries {
		sc, name, ok := resolver.ParseScopedID(e.Name())
		if !ok || !scope.Selects(sc) || (pageToken != "" && e.Name() <= pageToken) {
			continue
		}
		ids = append(ids, found{e.Name(), sc, name})
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].id < ids[j].id })
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
		next = ids[limit-1].id
	}
	items = make([]manage.Meta, 0, len(ids))
	for _, f := range ids {
		r, err := s.read(f.scope, f.name)
		if resolver.IsNotFound(err) {
			continue // deleted since the directory was read
		}
		if err != nil {
			return nil, "", err
		}
		items = append(items, r.Meta)
	}
	return items, next, nil
}

// Delete removes one secret from exactly scope. A missing one is an error
// for which manage.IsNotFound is true.
func (s *Store) Delete(ctx context.Context, scope resolver.Scope, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkNameScope(scope, name); err != nil {
		return err
	}
	if len(resolver.ScopedID(scope, name)) > maxFileName {
		return notFound(scope, name)
	}
	err := os.Remove(s.path(scope, name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return notFound(scope, name)
		}
		return fmt.Errorf("local store: delete secret %s in scope %s: %w", spec.Quote(name), scope, unwrapPath(err))
	}
	syncDir(s.secretsDir())
	return nil
}

// unwrapPath turns a *fs.PathError into "path: errno", dropping the
// operation's name, which the caller's message gives already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
