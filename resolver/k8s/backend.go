// Package k8s reads and manages secrets where a Flyte cluster keeps them:
// Kubernetes Secrets, in Flyte 2's layout (backend "k8s", and the
// management store) or in Flyte 1's (backend "k8s-v1").
//
// It talks to the API server with a small REST client over internal/httpc
// (HTTP/1.1, lookups pipelined) and encoding/json, not client-go, nor even
// net/http: client-go's packages cost millions of instructions at init, and
// net/http's about 100 k, which every container start would pay for whether
// it reads Kubernetes or not (docs/kubernetes.md has the figures). The
// connection is found as Kubernetes clients find it (Connect): the pod's
// service account, else a kubeconfig.
//
// Flyte 2's layout, as its secret service writes it: in one namespace
// ("flyte" unless configured), a Secret named the lowercase hex MD5 of the
// scoped ID (resolver.ScopedID) holds the value under the scoped ID as its
// data key. Flyte 1's: a Secret named after the request's group, in the
// pod's own namespace, holds the value under the request's key.
package k8s

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// DefaultNamespace is where Flyte 2 keeps its secrets.
const DefaultNamespace = "flyte"

// DefaultParallel is how many lookups of one run are in flight at once.
const DefaultParallel = 256

// ObjectName is the name of the Secret that holds a scoped ID in Flyte 2's
// layout: the lowercase hex MD5 of the ID.
func ObjectName(scopedID string) string {
	sum := md5.Sum([]byte(scopedID))
	return hex.EncodeToString(sum[:])
}

// Settings are what a backend or the store is built from.
type Settings struct {
	Options
	// Namespace is the namespace read: for "k8s", where Flyte 2 keeps its
	// secrets ("" for DefaultNamespace); for "k8s-v1", "" for the pod's own.
	Namespace string
	// Retry is each call's policy; the zero policy is DefaultRetry.
	Retry resolver.RetryPolicy
	// Parallel bounds the lookups in flight; 0 is DefaultParallel.
	Parallel int
}

// lazyClient connects on first use, so that a run whose secrets all come
// from earlier backends reads no kubeconfig and dials nothing.
type lazyClient struct {
	s      Settings
	once   sync.Once
	client *Client
	err    error
}

func (l *lazyClient) get() (*Client, error) {
	l.once.Do(func() {
		conn, err := Connect(l.s.Options)
		if err != nil {
			l.err = err
			return
		}
		p := l.s.Retry
		if p.Attempts == 0 {
			p = DefaultRetry
		}
		l.client = NewClient(conn, p)
	})
	return l.client, l.err
}

func parallel(s Settings) int {
	if s.Parallel > 0 {
		return s.Parallel
	}
	return DefaultParallel
}

// Backend is "k8s": Flyte 2's layout. It ignores the group, as Flyte 2's
// secret manager does, and a key that is not a valid secret name is "not
// found".
type Backend struct {
	client    *lazyClient
	namespace string
	parallel  int
}

var (
	_ resolver.ScopedBackend = (*Backend)(nil)
	_ resolver.Batcher       = (*Backend)(nil)
)

// NewBackend returns the "k8s" backend.
func NewBackend(s Settings) *Backend {
	ns := s.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	return &Backend{client: &lazyClient{s: s}, namespace: ns, parallel: parallel(s)}
}

// LookupScoped looks one request up in one scope.
func (b *Backend) LookupScoped(ctx context.Context, ref resolver.Ref, scope resolver.Scope) (secret.Value, error) {
	a := b.LookupBatch(ctx, []resolver.Query{{Ref: ref, Scope: scope}})[0]
	return a.Value, a.Err
}

// LookupBatch fetches every object the queries name at once, each once.
func (b *Backend) LookupBatch(ctx context.Context, qs []resolver.Query) []resolver.Answer {
	out := make([]resolver.Answer, len(qs))
	names := make([]string, len(qs))
	ids := make([]string, len(qs))
	var want []string
	for i, q := range qs {
		if !resolver.ValidName(q.Ref.Key) {
			out[i].Err = resolver.NotFound("key %s is not a Kubernetes secret name in Flyte 2's layout (it must match %s)", spec.Quote(q.Ref.Key), resolver.NamePattern)
			continue
		}
		ids[i] = resolver.ScopedID(q.Scope, q.Ref.Key)
		names[i] = ObjectName(ids[i])
		want = append(want, names[i])
	}
	got, client, err := fetchAll(ctx, b.client, b.namespace, want, b.parallel)
	for i := range qs {
		if names[i] == "" {
			continue
		}
		if err != nil {
			out[i].Err = err
			continue
		}
		f := got[names[i]]
		out[i] = answer(f, client, b.namespace, names[i], ids[i], ids[i])
	}
	return out
}

// fetched is one object's GET.
type fetched struct {
	obj *Secret
	err error
}

// fetchAll GETs each distinct name in ns, at most n at a time.
func fetchAll(ctx context.Context, lc *lazyClient, ns string, names []string, n int) (map[string]fetched, *Client, error) {
	if len(names) == 0 {
		return nil, nil, nil
	}
	c, err := lc.get()
	if err != nil {
		return nil, nil, err
	}
	// One credential before the fan-out: an exec plugin runs once, not
	// once a request.
	if _, err := c.conn.Token(ctx); err != nil {
		return nil, c, err
	}
	got := make(map[string]fetched, len(names))
	distinct := make([]string, 0, len(names))
	for _, name := range names {
		if _, dup := got[name]; !dup {
			got[name] = fetched{}
			distinct = append(distinct, name)
		}
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, n)
	)
	// The loop ranges over a slice, not over got: the fetches write got
	// while the loop waits for a free slot.
	for _, name := range distinct {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			obj, err := c.Get(ctx, ns, name)
			mu.Lock()
			got[name] = fetched{obj: obj, err: err}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return got, c, nil
}

// answer turns one fetched object into the answer for the data key dataKey;
// id names the secret in messages (Flyte's scoped ID, or group/key).
func answer(f fetched, c *Client, ns, name, dataKey, id string) resolver.Answer {
	where := fmt.Sprintf("namespace %s, Secret %s", spec.Quote(ns), spec.Quote(name))
	if f.err != nil {
		status := StatusOf(f.err)
		detail := where + ": " + f.err.Error()
		switch status {
		case statusNotFound:
			return resolver.Answer{Err: resolver.NotFound("secret %s not found in the secret manager (%s: %v)", id, where, f.err), Detail: detail}
		case statusForbidden:
			return resolver.Answer{Err: fmt.Errorf("secret %s: %v: %s may not read Secret %s in namespace %s", id, f.err, who(c), spec.Quote(name), spec.Quote(ns)), Detail: detail}
		case statusUnauthorized:
			return resolver.Answer{Err: fmt.Errorf("secret %s: %v: the API server did not accept the credentials of %s (reading Secret %s in namespace %s)", id, f.err, c.conn.Source, spec.Quote(name), spec.Quote(ns)), Detail: detail}
		}
		return resolver.Answer{Err: fmt.Errorf("secret %s failed to be read from secret manager (%s): %w", id, where, f.err), Detail: detail}
	}
	v, ok := f.obj.Data[dataKey]
	if !ok {
		return resolver.Answer{
			Err:    fmt.Errorf("secret %s read as empty from the secret manager: %s has no data key %s", id, where, spec.Quote(dataKey)),
			Detail: where + ": 200 OK, no data key " + spec.Quote(dataKey),
		}
	}
	return resolver.Answer{Value: secret.New(v), Detail: where + ": 200 OK"}
}

// who is the identity a 403 refused, in words.
func who(c *Client) string {
	if strings.HasPrefix(c.conn.Source, "the service account") {
		return "the pod's service account"
	}
	return "the user of " + c.conn.Source
}

// V1Backend is "k8s-v1": Flyte 1's layout. A request with no group, or a
// group that is not a Secret name, is "not found", and so is a key that
// cannot be a data key.
type V1Backend struct {
	client    *lazyClient
	namespace string
	parallel  int
}

var (
	_ resolver.Backend = (*V1Backend)(nil)
	_ resolver.Batcher = (*V1Backend)(nil)
)

// NewV1Backend returns the "k8s-v1" backend. Its namespace is s.Namespace,
// or the pod's own (the context's, outside a pod).
func NewV1Backend(s Settings) *V1Backend {
	return &V1Backend{client: &lazyClient{s: s}, namespace: s.Namespace, parallel: parallel(s)}
}

// Lookup looks one request up.
func (b *V1Backend) Lookup(ctx context.Context, ref resolver.Ref) (secret.Value, error) {
	a := b.LookupBatch(ctx, []resolver.Query{{Ref: ref}})[0]
	return a.Value, a.Err
}

// LookupBatch fetches each group's Secret once.
func (b *V1Backend) LookupBatch(ctx context.Context, qs []resolver.Query) []resolver.Answer {
	out := make([]resolver.Answer, len(qs))
	var want []string
	for i, q := range qs {
		switch {
		case q.Ref.Group == "":
			out[i].Err = resolver.NotFoundText("no group: in Flyte 1's layout the group names the Secret")
		case !ValidObjectName(q.Ref.Group):
			out[i].Err = resolver.NotFound("group %s is not a Kubernetes Secret name (lowercase letters, digits, '-' and '.', at most 253)", spec.Quote(q.Ref.Group))
		case !ValidDataKey(q.Ref.Key):
			out[i].Err = resolver.NotFound("key %s is not a Kubernetes Secret data key (letters, digits, '-', '_' and '.', at most 253)", spec.Quote(q.Ref.Key))
		default:
			want = append(want, q.Ref.Group)
		}
	}
	if len(want) == 0 {
		return out
	}
	c, err := b.client.get()
	ns := b.namespace
	if err == nil && ns == "" {
		ns = c.conn.Namespace
	}
	var got map[string]fetched
	if err == nil {
		got, _, err = fetchAll(ctx, b.client, ns, want, b.parallel)
	}
	for i, q := range qs {
		if out[i].Err != nil {
			continue
		}
		if err != nil {
			out[i].Err = err
			continue
		}
		out[i] = answer(got[q.Ref.Group], c, ns, q.Ref.Group, q.Ref.Key, spec.Quote(q.Ref.Group+"/"+q.Ref.Key))
	}
	return out
}

// ValidObjectName is Kubernetes' rule for a Secret's name: a DNS subdomain,
// lowercase letters, digits, '-' and '.', starting and ending with a letter
// or digit, at most 253 bytes.
func ValidObjectName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// ValidDataKey is Kubernetes' rule for a Secret's data key: letters,
// digits, '-', '_' and '.', at most 253 bytes, and not "." or "..".
func ValidDataKey(s string) bool {
	if s == "" || len(s) > 253 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
