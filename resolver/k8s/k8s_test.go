package k8s_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/kubetest"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/k8s"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage/managetest"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/registry"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/resolvertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	kubetest.Shutdown()
	os.Exit(code)
}

var nsCounter atomic.Int64

// freshNamespace is a namespace no other test uses.
func freshNamespace(c *kubetest.Cluster, t *testing.T, prefix string) string {
	ns := fmt.Sprintf("%s-%d", prefix, nsCounter.Add(1))
	c.Namespace(t, ns)
	return ns
}

// reader makes a service account in ns that may get and list every Secret
// of ns, and returns its mount directory.
func reader(c *kubetest.Cluster, t testing.TB, ns string) string {
	t.Helper()
	dir := c.ServiceAccount(t, ns, "reader")
	c.Apply(t,
		map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
			"metadata": map[string]any{"name": "read-secrets", "namespace": ns},
			"rules":    []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"secrets"}, "verbs": []any{"get", "list"}}}},
		map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
			"metadata": map[string]any{"name": "read-secrets", "namespace": ns},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-secrets"},
			"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "reader", "namespace": ns}}},
	)
	c.WaitAllowed(t, "system:serviceaccount:"+ns+":reader", ns, "get", "any")
	return dir
}

// podEnviron is a pod's environment for the cluster (or a proxy's port).
func podEnviron(c *kubetest.Cluster, port int) []string {
	return []string{"KUBERNETES_SERVICE_HOST=127.0.0.1", "KUBERNETES_SERVICE_PORT=" + strconv.Itoa(port), "HOME=/nonexistent"}
}

// putFlyte2 writes a secret as Flyte 2's secret service does.
func putFlyte2(c *kubetest.Cluster, t *testing.T, ns string, scope resolver.Scope, name string, value []byte) {
	t.Helper()
	id := resolver.ScopedID(scope, name)
	c.PutSecret(t, ns, k8s.ObjectName(id), k8s.Labels(scope), map[string][]byte{id: value})
}

// link builds the k8s link as a run builds it, from the registry.
func link(t *testing.T, backend string, environ []string, values map[string]string, logger *log.Logger) resolver.Link {
	t.Helper()
	links, err := registry.Build([]string{backend}, registry.Settings{Environ: environ, Values: values, Logger: logger})
	require.NoError(t, err)
	return links[0]
}

func TestConformance(t *testing.T) {
	c := kubetest.Start(t)
	resolvertest.Conformance(t, resolvertest.Harness{
		Name: "k8s",
		NUL:  true,
		Link: func(t *testing.T, seeds []resolvertest.Seed, logger *log.Logger) resolver.Link {
			ns := freshNamespace(c, t, "conformance")
			for _, s := range seeds {
				putFlyte2(c, t, ns, resolvertest.Scope, s.Key, s.Value)
			}
			return link(t, "k8s", podEnviron(c, c.Port), map[string]string{"k8s-namespace": ns, "k8s-serviceaccount-dir": reader(c, t, ns)}, logger)
		},
		Broken: func(t *testing.T, logger *log.Logger) resolver.Link {
			// The object is there, but not under the data key Flyte 2
			// writes: an error, as in Flyte, not "not found".
			ns := freshNamespace(c, t, "conformance")
			id := resolver.ScopedID(resolvertest.Scope, "k")
			c.PutSecret(t, ns, k8s.ObjectName(id), nil, map[string][]byte{"other": []byte(resolvertest.Canary)})
			return link(t, "k8s", podEnviron(c, c.Port), map[string]string{"k8s-namespace": ns, "k8s-serviceaccount-dir": reader(c, t, ns)}, logger)
		},
	})
}

// adminKubeconfig writes a kubeconfig whose user is the cluster's admin.
func adminKubeconfig(c *kubetest.Cluster, t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ca.crt"), c.CAPEM(), 0o600))
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubetest
  cluster:
    server: %s
    certificate-authority: ca.crt
users:
- name: admin
  user:
    token: %s
contexts:
- name: admin@kubetest
  context:
    cluster: kubetest
    user: admin
current-context: admin@kubetest
`, c.Server(), kubetest.AdminToken)
	p := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(p, []byte(cfg), 0o600))
	return p
}

// TestStoreConformance: the management suite every store runs, against a
// fresh namespace, through a kubeconfig (as from a laptop).
func TestStoreConformance(t *testing.T) {
	c := kubetest.Start(t)
	kc := adminKubeconfig(c, t)
	managetest.Conformance(t, func(t *testing.T) manage.Store {
		ns := freshNamespace(c, t, "store")
		st, err := registry.OpenStore("k8s", registry.Settings{Environ: []string{"KUBECONFIG=" + kc}, Values: map[string]string{"k8s-namespace": ns}})
		require.NoError(t, err)
		return st
	})
}

// store opens the k8s store on namespace ns with the admin kubeconfig.
func store(t *testing.T, kc, ns string) manage.Store {
	t.Helper()
	st, err := registry.OpenStore("k8s", registry.Settings{Environ: []string{"KUBECONFIG=" + kc}, Values: map[string]string{"k8s-namespace": ns}})
	require.NoError(t, err)
	return st
}

func mustCreate(t *testing.T, st manage.Store, scope resolver.Scope, name, value string) {
	t.Helper()
	_, err := st.Create(context.Background(), scope, name, manage.TypeRegular, secret.New([]byte(value)))
	require.NoError(t, err)
}

var _ = http.StatusOK

// TestMoreObjectsThanParallelLookups: a run with more distinct objects
// than lookups in flight waits for free slots while earlier GETs finish;
// every request gets its own value. (The loop once ranged over the map the
// GETs wrote: the runtime stopped the process, "concurrent map iteration
// and map write".)
func TestMoreObjectsThanParallelLookups(t *testing.T) {
	c := kubetest.Start(t)
	ns := freshNamespace(c, t, "parallel")
	org := resolver.Scope{Org: "flyte"}
	refs := make([]resolver.Ref, 40)
	for i := range refs {
		refs[i] = resolver.Ref{Key: fmt.Sprintf("key-%02d", i)}
		putFlyte2(c, t, ns, org, refs[i].Key, []byte("value-"+refs[i].Key))
	}
	be := k8s.NewBackend(k8s.Settings{Options: k8s.Options{Environ: podEnviron(c, c.Port), ServiceAccountDir: reader(c, t, ns)}, Namespace: ns, Parallel: 3})
	chain := resolver.NewChain([]resolver.Link{resolver.ScopedLink("k8s", be)}, resolver.Scope{Org: "flyte", Project: "p", Domain: "d"}, nil)
	for i, r := range chain.ResolveAll(context.Background(), refs) {
		require.True(t, r.Found, "%s: %v", refs[i].Key, r.Err)
		require.Equal(t, "value-"+refs[i].Key, string(r.Value.Bytes()))
	}
}
