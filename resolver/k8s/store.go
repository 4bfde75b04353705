package k8s

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// The labels Flyte 2's secret service puts on the Secrets it writes.
const (
	LabelManaged = manage.LabelManaged
	LabelProject = manage.LabelProject
	LabelDomain  = manage.LabelDomain
)

// Store manages secrets in Flyte 2's layout, writing exactly what Flyte 2's
// secret service writes: a Secret named ObjectName(scoped ID), type Opaque,
// one data key (the scoped ID), the label app.flyte.org/managed=true, and
// app.flyte.org/project and app.flyte.org/domain when the scope has them.
//
// Flyte 2 does not store a secret's type. Get and List report image_pull
// for an org-level secret whose value is Docker config JSON (an object with
// "auths"), regular otherwise.
type Store struct {
	client    *lazyClient
	namespace string
}

var _ manage.Store = (*Store)(nil)

// NewStore returns the store over s's connection and namespace.
func NewStore(s Settings) *Store {
	ns := s.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	return &Store{client: &lazyClient{s: s}, namespace: ns}
}

func (s *Store) where(scope resolver.Scope, name string) string {
	return fmt.Sprintf("secret %s in scope %s (namespace %s, Secret %s)", spec.Quote(name), scope, spec.Quote(s.namespace), spec.Quote(ObjectName(resolver.ScopedID(scope, name))))
}

// callError words a failed call for the management commands. 404 is
// manage's not-found, 409 its exists.
func (s *Store) callError(c *Client, scope resolver.Scope, name, verb string, err error) error {
	switch StatusOf(err) {
	case statusNotFound:
		return resolver.NotFound("secret %s not found (%s)", spec.Quote(name), s.where(scope, name))
	case statusConflict:
		return manage.Exists(fmt.Errorf("secret %s already exists (%s): nothing was overwritten", spec.Quote(name), s.where(scope, name)))
	case statusForbidden:
		return fmt.Errorf("%s %s: %v: %s may not %s Secrets in namespace %s", verb, s.where(scope, name), err, who(c), verb, spec.Quote(s.namespace))
	}
	return fmt.Errorf("%s %s: %w", verb, s.where(scope, name), err)
}

// Create writes a new Secret. An existing one is an error (IsExists), and
// nothing is overwritten.
func (s *Store) Create(ctx context.Context, scope resolver.Scope, name string, typ manage.Type, value secret.Value) (manage.Meta, error) {
	if err := manage.CheckCreate(scope, name, typ); err != nil {
		return manage.Meta{}, err
	}
	c, err := s.client.get()
	if err != nil {
		return manage.Meta{}, err
	}
	id := resolver.ScopedID(scope, name)
	obj := &Secret{
		APIVersion: "v1",
		Kind:       "Secret",
		Metadata:   Metadata{Name: ObjectName(id), Namespace: s.namespace, Labels: Labels(scope)},
		Type:       "Opaque",
		Data:       map[string][]byte{id: value.Bytes()},
	}
	created, err := c.Create(ctx, obj)
	if err != nil {
		return manage.Meta{}, s.callError(c, scope, name, "create", err)
	}
	m := manage.Meta{Name: name, Org: scope.Org, Project: scope.Project, Domain: scope.Domain, Type: typ, Created: time.Now().UTC()}
	if ts := created.Metadata.CreationTimestamp; ts != nil {
		m.Created = ts.UTC()
	}
	return m, nil
}

// Labels are the labels Flyte 2's secret service puts on a secret of scope.
func Labels(scope resolver.Scope) map[string]string {
	l := map[string]string{LabelManaged: "true"}
	if scope.Project != "" {
		l[LabelProject] = scope.Project
	}
	if scope.Domain != "" {
		l[LabelDomain] = scope.Domain
	}
	return l
}

// Get reads one secret from exactly scope.
func (s *Store) Get(ctx context.Context, scope resolver.Scope, name string) (manage.Meta, secret.Value, error) {
	if err := checkScopeName(scope, name); err != nil {
		return manage.Meta{}, secret.Value{}, err
	}
	c, err := s.client.get()
	if err != nil {
		return manage.Meta{}, secret.Value{}, err
	}
	id := resolver.ScopedID(scope, name)
	obj, err := c.GetLatest(ctx, s.namespace, ObjectName(id))
	if err != nil {
		return manage.Meta{}, secret.Value{}, s.callError(c, scope, name, "get", err)
	}
	v, ok := obj.Data[id]
	if !ok {
		return manage.Meta{}, secret.Value{}, fmt.Errorf("%s: the Secret has no data key %s", s.where(scope, name), spec.Quote(id))
	}
	return meta(obj, scope, name, v), secret.New(v), nil
}

func checkScopeName(scope resolver.Scope, name string) error {
	if err := scope.Validate(); err != nil {
		return manage.Invalid(err)
	}
	return manage.CheckName(name)
}

func meta(obj *Secret, scope resolver.Scope, name string, value []byte) manage.Meta {
	m := manage.Meta{Name: name, Org: scope.Org, Project: scope.Project, Domain: scope.Domain, Type: inferType(scope, value)}
	if ts := obj.Metadata.CreationTimestamp; ts != nil {
		m.Created = ts.UTC()
	}
	return m
}

// inferType: Flyte 2 keeps no type. An org-level value that is Docker
// config JSON is an image pull secret.
func inferType(scope resolver.Scope, value []byte) manage.Type {
	if scope.Project != "" || scope.Domain != "" {
		return manage.TypeRegular
	}
	var dc struct {
		Auths map[string]json.RawMessage `json:"auths"`
	}
	if json.Unmarshal(value, &dc) == nil && dc.Auths != nil {
		return manage.TypeImagePull
	}
	return manage.TypeRegular
}

// List returns one page, as Flyte 2's ListSecrets: the Secrets labelled
// managed=true (and with the domain and project labels when scope has
// them), skipping any whose data does not hold exactly one key that is a
// scoped ID of scope's org. The page token is the API server's continue
// token.
func (s *Store) List(ctx context.Context, scope resolver.Scope, limit int, pageToken string) ([]manage.Meta, string, error) {
	if err := scope.Validate(); err != nil {
		return nil, "", manage.Invalid(err)
	}
	c, err := s.client.get()
	if err != nil {
		return nil, "", err
	}
	items, next, err := c.List(ctx, s.namespace, Selector(scope), limit, pageToken)
	if err != nil {
		if StatusOf(err) == statusForbidden {
			return nil, "", fmt.Errorf("list secrets in scope %s (namespace %s): %v: %s may not list Secrets there", scope, spec.Quote(s.namespace), err, who(c))
		}
		return nil, "", fmt.Errorf("list secrets in scope %s (namespace %s): %w", scope, spec.Quote(s.namespace), err)
	}
	out := make([]manage.Meta, 0, len(items))
	for i := range items {
		obj := &items[i]
		if len(obj.Data) != 1 {
			continue
		}
		for key, v := range obj.Data {
			sc, name, ok := resolver.ParseScopedID(key)
			if ok && scope.Selects(sc) {
				out = append(out, meta(obj, sc, name, v))
			}
			clear(v)
		}
	}
	return out, next, nil
}

// Selector is the label selector of ListSecrets for scope.
func Selector(scope resolver.Scope) string {
	parts := []string{LabelManaged + "=true"}
	if scope.Domain != "" {
		parts = append(parts, LabelDomain+"="+scope.Domain)
	}
	if scope.Project != "" {
		parts = append(parts, LabelProject+"="+scope.Project)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// Delete removes one secret from exactly scope.
func (s *Store) Delete(ctx context.Context, scope resolver.Scope, name string) error {
	if err := checkScopeName(scope, name); err != nil {
		return err
	}
	c, err := s.client.get()
	if err != nil {
		return err
	}
	if err := c.Delete(ctx, s.namespace, ObjectName(resolver.ScopedID(scope, name))); err != nil {
		return s.callError(c, scope, name, "delete", err)
	}
	return nil
}
