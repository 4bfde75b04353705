package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// The tags the store puts on a secret, as the Kubernetes labels.
const (
	TagManaged = manage.LabelManaged
	TagProject = manage.LabelProject
	TagDomain  = manage.LabelDomain
)

// Store manages secrets in Flyte 2's AWS layout: the SecretId is the scoped
// ID; a UTF-8 value is a SecretString, any other a SecretBinary; tags
// app.flyte.org/managed=true, and app.flyte.org/project and
// app.flyte.org/domain when set. As Flyte 2 keeps no type, Get and List
// report image_pull for an org-level Docker config JSON value, regular
// otherwise.
type Store struct {
	client *lazyClient
	// DeleteNow deletes without the recovery window.
	DeleteNow bool
}

var _ manage.Store = (*Store)(nil)

// SetDeleteNow makes Delete skip the recovery window.
func (s *Store) SetDeleteNow(now bool) { s.DeleteNow = now }

// NewStore returns the store over s's credentials and region.
func NewStore(s Settings) *Store { return &Store{client: &lazyClient{s: s}} }

func (s *Store) clientRegion(ctx context.Context) (*Client, string, error) {
	c, err := s.client.get()
	if err != nil {
		return nil, "", err
	}
	r, err := c.Region(ctx)
	return c, r, err
}

// Tags are the tags of a secret of scope.
func Tags(scope resolver.Scope) []Tag {
	t := []Tag{{Key: TagManaged, Value: "true"}}
	if scope.Project != "" {
		t = append(t, Tag{Key: TagProject, Value: scope.Project})
	}
	if scope.Domain != "" {
		t = append(t, Tag{Key: TagDomain, Value: scope.Domain})
	}
	return t
}

func (s *Store) fail(c *Client, ctx context.Context, scope resolver.Scope, name, verb string, err error) error {
	id := resolver.ScopedID(scope, name)
	switch CodeOf(err) {
	case "ResourceNotFoundException":
		return resolver.NotFound("secret %s not found (scope %s, SecretId %s)", spec.Quote(name), scope, strconv.Quote(id))
	case "ResourceExistsException":
		return manage.Exists(fmt.Errorf("secret %s already exists (scope %s, SecretId %s): nothing was overwritten", spec.Quote(name), scope, strconv.Quote(id)))
	case "AccessDeniedException":
		return fmt.Errorf("%s secret %s (SecretId %s): AccessDeniedException: %s may not", verb, spec.Quote(name), strconv.Quote(id), c.CredentialSource(ctx))
	case "InvalidRequestException":
		return fmt.Errorf("%s secret %s (SecretId %s): %w (a secret scheduled for deletion keeps its name until the recovery window ends)", verb, spec.Quote(name), strconv.Quote(id), err)
	}
	return fmt.Errorf("%s secret %s (SecretId %s): %w", verb, spec.Quote(name), strconv.Quote(id), err)
}

// Create makes the secret; an existing one is an error and nothing is
// overwritten.
func (s *Store) Create(ctx context.Context, scope resolver.Scope, name string, typ manage.Type, value secret.Value) (manage.Meta, error) {
	if err := manage.CheckCreate(scope, name, typ); err != nil {
		return manage.Meta{}, err
	}
	b := value.Bytes()
	if len(b) == 0 {
		return manage.Meta{}, manage.Invalid(errors.New("AWS Secrets Manager cannot hold an empty value: a secret created with one has no version to read"))
	}
	c, region, err := s.clientRegion(ctx)
	if err != nil {
		return manage.Meta{}, err
	}
	d, err := c.CreateSecret(ctx, region, resolver.ScopedID(scope, name), b, isUTF8(b), Tags(scope))
	if err != nil {
		return manage.Meta{}, s.fail(c, ctx, scope, name, "create", err)
	}
	m := manage.Meta{Name: name, Org: scope.Org, Project: scope.Project, Domain: scope.Domain, Type: typ, Created: time.Now().UTC()}
	if d.CreatedDate > 0 {
		m.Created = d.Created()
	} else if dd, err := c.DescribeSecret(ctx, region, resolver.ScopedID(scope, name)); err == nil && dd.CreatedDate > 0 {
		m.Created = dd.Created()
	}
	return m, nil
}

// Get reads one secret from exactly scope; created_time is CreatedDate.
func (s *Store) Get(ctx context.Context, scope resolver.Scope, name string) (manage.Meta, secret.Value, error) {
	if err := checkScopeName(scope, name); err != nil {
		return manage.Meta{}, secret.Value{}, err
	}
	c, region, err := s.clientRegion(ctx)
	if err != nil {
		return manage.Meta{}, secret.Value{}, err
	}
	id := resolver.ScopedID(scope, name)
	v, err := c.GetSecretValue(ctx, region, id)
	if CodeOf(err) == "InvalidRequestException" {
		if d, derr := c.DescribeSecret(ctx, region, id); derr == nil && d.DeletedDate > 0 {
			return manage.Meta{}, secret.Value{}, scheduled(scope, name, id, d)
		}
	}
	if err != nil {
		return manage.Meta{}, secret.Value{}, s.fail(c, ctx, scope, name, "get", err)
	}
	b, ok := v.Bytes()
	if !ok {
		return manage.Meta{}, secret.Value{}, fmt.Errorf("secret %s (SecretId %s) read as empty: neither SecretString nor SecretBinary", spec.Quote(name), strconv.Quote(id))
	}
	d, err := c.DescribeSecret(ctx, region, id)
	if err != nil {
		return manage.Meta{}, secret.Value{}, s.fail(c, ctx, scope, name, "get", err)
	}
	return manage.Meta{Name: name, Org: scope.Org, Project: scope.Project, Domain: scope.Domain, Type: inferType(scope, b), Created: d.Created()}, secret.New(b), nil
}

// scheduled is a secret whose deletion is scheduled: gone, for every
// command but a create of the same name.
func scheduled(scope resolver.Scope, name, id string, d *Described) error {
	return resolver.NotFound("secret %s not found: its deletion was scheduled on %s (scope %s, SecretId %s)", spec.Quote(name), epoch(d.DeletedDate).Format(time.RFC3339), scope, strconv.Quote(id))
}

func checkScopeName(scope resolver.Scope, name string) error {
	if err := scope.Validate(); err != nil {
		return manage.Invalid(err)
	}
	return manage.CheckName(name)
}

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

// ListPrefix is the SecretId prefix that selects scope's listing: the
// scoped ID puts the org, then the domain, then the project first, so a
// domain's prefix covers its projects' secrets too.
func ListPrefix(scope resolver.Scope) string {
	p := "u__org__" + scope.Org + "__"
	if scope.Domain != "" {
		p += "domain__" + scope.Domain + "__"
		if scope.Project != "" {
			p += "project__" + scope.Project + "__"
		}
	}
	return p
}

// List returns one page: the secrets whose SecretId starts with
// ListPrefix(scope) and reads back as a scoped ID that scope selects, as
// Flyte 2's ListSecrets selects them. The page token is NextToken. The
// type of each needs its value, so it is read (image_pull or regular) only
// for org-level secrets.
func (s *Store) List(ctx context.Context, scope resolver.Scope, limit int, pageToken string) ([]manage.Meta, string, error) {
	if err := scope.Validate(); err != nil {
		return nil, "", manage.Invalid(err)
	}
	c, region, err := s.clientRegion(ctx)
	if err != nil {
		return nil, "", err
	}
	items, next, err := c.ListSecrets(ctx, region, ListPrefix(scope), limit, pageToken)
	if err != nil {
		if CodeOf(err) == "AccessDeniedException" {
			return nil, "", fmt.Errorf("list secrets in scope %s: AccessDeniedException: %s may not list them", scope, c.CredentialSource(ctx))
		}
		return nil, "", fmt.Errorf("list secrets in scope %s: %w", scope, err)
	}
	out := make([]manage.Meta, 0, len(items))
	for _, d := range items {
		sc, name, ok := resolver.ParseScopedID(d.Name)
		if !ok || !scope.Selects(sc) {
			continue
		}
		typ := manage.TypeRegular
		if sc.Project == "" && sc.Domain == "" {
			if v, err := c.GetSecretValue(ctx, region, d.Name); err == nil {
				if b, ok := v.Bytes(); ok {
					typ = inferType(sc, b)
					clear(b)
				}
			}
		}
		out = append(out, manage.Meta{Name: name, Org: sc.Org, Project: sc.Project, Domain: sc.Domain, Type: typ, Created: d.Created()})
	}
	return out, next, nil
}

// Delete removes one secret from exactly scope: after the default recovery
// window unless DeleteNow.
func (s *Store) Delete(ctx context.Context, scope resolver.Scope, name string) error {
	if err := checkScopeName(scope, name); err != nil {
		return err
	}
	c, region, err := s.clientRegion(ctx)
	if err != nil {
		return err
	}
	id := resolver.ScopedID(scope, name)
	// DeleteSecret of a missing secret may succeed quietly with
	// ForceDeleteWithoutRecovery: look first, so that a missing secret is
	// an error, as in every store.
	d, err := c.DescribeSecret(ctx, region, id)
	if err != nil {
		return s.fail(c, ctx, scope, name, "delete", err)
	}
	if d.DeletedDate > 0 && !s.DeleteNow {
		return scheduled(scope, name, id, d)
	}
	if err := c.DeleteSecret(ctx, region, id, s.DeleteNow); err != nil {
		return s.fail(c, ctx, scope, name, "delete", err)
	}
	return nil
}
