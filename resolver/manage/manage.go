// Package manage is the contract between the secret-management commands
// (create, get and delete secret) and the stores they work on: the embedded
// local store today, the Kubernetes and AWS stores later. It mirrors Flyte's
// flyte.remote.Secret API: create, get, listall (paged) and delete.
//
// A store keys a secret by its scope (resolver.Scope) and its name. Get and
// Delete look in exactly the scope they are given: nothing falls back. List
// selects as Flyte's ListSecrets does, a domain's listing including its
// projects' secrets. Falling back from
// project+domain to domain to org is the chain's job at run time, not the
// store's.
//
// Errors are sorted with three helpers, so that the commands can give each
// its exit code without knowing the store:
//   - IsInvalid: the caller's input is wrong (a name, a type, a scope);
//   - IsExists: the secret already exists, and nothing was overwritten;
//   - IsNotFound: the secret does not exist (resolver.NotFound makes one).
//
// Any other error means the store could not be used.
package manage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// Store is a backend that can manage secrets as well as read them.
type Store interface {
	// Create stores a new secret. It never overwrites: a secret with the
	// same scope and name is an error for which IsExists is true.
	Create(ctx context.Context, scope resolver.Scope, name string, typ Type, value secret.Value) (Meta, error)
	// Get reads one secret from exactly scope.
	Get(ctx context.Context, scope resolver.Scope, name string) (Meta, secret.Value, error)
	// List returns one page of the secrets that scope selects, as Flyte
	// 2's ListSecrets selects them (resolver.Scope.Selects): every secret of
	// the org, narrowed to the domain and then to the project when scope
	// has them. At most limit of them (limit <= 0: the store's choice).
	// next is the token of the following page, "" after the last one.
	List(ctx context.Context, scope resolver.Scope, limit int, pageToken string) (items []Meta, next string, err error)
	// Delete removes one secret from exactly scope.
	Delete(ctx context.Context, scope resolver.Scope, name string) error
}

// Type is a secret's type, as Flyte names it.
type Type string

const (
	TypeRegular   Type = "regular"
	TypeImagePull Type = "image_pull"
)

// ParseType accepts "regular" or "image_pull".
func ParseType(s string) (Type, error) {
	switch t := Type(s); t {
	case TypeRegular, TypeImagePull:
		return t, nil
	}
	return "", Invalid(fmt.Errorf("invalid secret type %s: must be %s or %s", spec.Quote(s), TypeRegular, TypeImagePull))
}

// Meta is what a store knows of a secret besides its value. Its JSON form is
// what `get secret NAME` prints; created_time is RFC 3339.
type Meta struct {
	Name    string    `json:"name"`
	Org     string    `json:"org"`
	Project string    `json:"project"`
	Domain  string    `json:"domain"`
	Type    Type      `json:"type"`
	Created time.Time `json:"created_time"`
}

// Scope is the scope the secret belongs to.
func (m Meta) Scope() resolver.Scope {
	return resolver.Scope{Org: m.Org, Project: m.Project, Domain: m.Domain}
}

// NamePattern is the rule for a secret's name, the same in every store.
const NamePattern = resolver.NamePattern

// The labels (Kubernetes) or tags (AWS) a store puts on the secrets it
// writes, as Flyte 2's secret service puts them: managed=true always,
// project and domain when the scope has them.
const (
	LabelManaged = "app.flyte.org/managed"
	LabelProject = "app.flyte.org/project"
	LabelDomain  = "app.flyte.org/domain"
)

// CheckName applies NamePattern.
func CheckName(name string) error {
	if !resolver.ValidName(name) {
		return Invalid(fmt.Errorf("invalid secret name %s: must match %s", spec.Quote(name), NamePattern))
	}
	return nil
}

// ImagePullScopeError is the text Flyte gives for an image pull secret with
// a project or a domain.
const ImagePullScopeError = "Project and domain must not be set when creating an image pull secret."

// CheckCreate applies the rules every store shares before it writes: the
// scope's shape, the name, the type, and the image pull secret's scope.
func CheckCreate(scope resolver.Scope, name string, typ Type) error {
	if err := scope.Validate(); err != nil {
		return Invalid(err)
	}
	if err := CheckName(name); err != nil {
		return err
	}
	if _, err := ParseType(string(typ)); err != nil {
		return err
	}
	if typ == TypeImagePull && (scope.Project != "" || scope.Domain != "") {
		return Invalid(errors.New(ImagePullScopeError))
	}
	return nil
}

var (
	errExists  = errors.New("already exists")
	errInvalid = errors.New("invalid input")
)

// kindError tags an error with a sentinel that errors.Is finds, without
// changing its text.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string        { return e.err.Error() }
func (e *kindError) Unwrap() error        { return e.err }
func (e *kindError) Is(target error) bool { return target == e.kind }

// Invalid marks err as being about the caller's input. Its text is kept.
func Invalid(err error) error { return &kindError{kind: errInvalid, err: err} }

// Exists marks err as "the secret already exists". Its text is kept.
func Exists(err error) error { return &kindError{kind: errExists, err: err} }

// IsInvalid reports whether err is about the caller's input.
func IsInvalid(err error) bool { return errors.Is(err, errInvalid) }

// IsExists reports whether err says the secret already exists.
func IsExists(err error) bool { return errors.Is(err, errExists) }

// IsNotFound reports whether err says the secret does not exist.
func IsNotFound(err error) bool { return resolver.IsNotFound(err) }

// ListAll pages through List until the end, limit secrets a page, as
// flyte.remote.Secret.listall does. A store that hands back the same token
// twice is an error, not an endless loop.
func ListAll(ctx context.Context, s Store, scope resolver.Scope, limit int) ([]Meta, error) {
	return ListPages(ctx, s, scope, limit, 0)
}

// ListPages is ListAll that stops after maxPages pages (0: none), for a
// caller that must not page a large remote store to its end.
func ListPages(ctx context.Context, s Store, scope resolver.Scope, limit, maxPages int) ([]Meta, error) {
	var all []Meta
	token := ""
	for page := 1; ; page++ {
		items, next, err := s.List(ctx, scope, limit, token)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" || page == maxPages {
			return all, nil
		}
		if next == token {
			return nil, fmt.Errorf("list scope %s: the store returned page token %s twice", scope, spec.Quote(next))
		}
		token = next
	}
}
