package k8s_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/k8s"
)

// TestV1Layout: Flyte 1's layout, a Secret named after the group in the
// pod's own namespace, the key its data key; each group's Secret fetched
// once.
func TestV1Layout(t *testing.T) {
	f := newFaultSetup(t)
	// The pod's namespace is the service account's: f.ns.
	f.c.PutSecret(t, f.ns, "openai", nil, map[string][]byte{"api-key": []byte(canary + "-a"), "org-id": []byte("org-1"), "Mixed.Case_key": {0, 1, 2}})
	l := link(t, "k8s-v1", podEnviron(f.c, f.proxy.Port), map[string]string{"k8s-serviceaccount-dir": f.sa}, nil)
	refs := []resolver.Ref{
		{Key: "api-key", Group: "openai"},
		{Key: "org-id", Group: "openai", GroupVersion: "v1"},
		{Key: "Mixed.Case_key", Group: "openai"},
		{Key: "k"},                          // no group: not Flyte 1's layout
		{Key: "api-key", Group: "OpenAI"},   // not a Secret name
		{Key: "a/b", Group: "openai"},       // not a data key
		{Key: "api-key", Group: "absent"},   // no such Secret
		{Key: "not-there", Group: "openai"}, // the Secret has no such key
	}
	res := resolver.NewChain([]resolver.Link{l}, resolver.Scope{Org: "flyte"}, nil).ResolveAll(context.Background(), refs)
	assert.Equal(t, canary+"-a", string(res[0].Value.Bytes()))
	assert.Equal(t, "org-1", string(res[1].Value.Bytes()))
	assert.Equal(t, []byte{0, 1, 2}, res[2].Value.Bytes())
	for i := 3; i < 7; i++ {
		require.NoError(t, res[i].Err, refs[i])
		assert.False(t, res[i].Found, refs[i])
	}
	assert.Contains(t, res[3].Trail[0].Reason(), "no group")
	assert.Contains(t, res[6].Trail[0].Reason(), "404 Not Found")
	require.Error(t, res[7].Err, "an object without the key is an error, as a pod that mounts it fails")
	assert.Contains(t, res[7].Err.Error(), `has no data key "not-there"`)
	assert.Equal(t, 2, gets(f.proxy), "openai and absent, each once")
	for _, r := range res {
		assertNoCanary(t, r)
	}

	// --k8s-v1-namespace reads another namespace.
	other := freshNamespace(f.c, t, "v1-other")
	f.c.PutSecret(t, other, "openai", nil, map[string][]byte{"api-key": []byte("elsewhere")})
	l = link(t, "k8s-v1", podEnviron(f.c, f.c.Port), map[string]string{"k8s-serviceaccount-dir": f.sa, "k8s-v1-namespace": other}, nil)
	r := resolver.NewChain([]resolver.Link{l}, resolver.Scope{Org: "flyte"}, nil).Resolve(context.Background(), refs[0])
	require.Error(t, r.Err, "the reader may not read another namespace")
	assert.Contains(t, r.Err.Error(), "403 Forbidden")
}

func decodeDocs(t *testing.T, y string) []map[string]any {
	t.Helper()
	var docs []map[string]any
	dec := yaml.NewDecoder(strings.NewReader(y))
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			break
		}
		docs = append(docs, d)
	}
	return docs
}

// TestPolicyIsLeastPrivilege: with the generated Role applied, the task's
// service account reads its own secrets in every candidate scope, and
// nothing else: another project's secret is 403.
func TestPolicyIsLeastPrivilege(t *testing.T) {
	c := newFaultSetup(t).c
	ns := freshNamespace(c, t, "policy")
	proj := resolver.Scope{Org: "flyte", Project: "flytesnacks", Domain: "development"}
	dom := resolver.Scope{Org: "flyte", Domain: "development"}
	org := resolver.Scope{Org: "flyte"}
	putFlyte2(c, t, ns, proj, "db-pass", []byte("p"))
	putFlyte2(c, t, ns, dom, "api-key", []byte("d"))
	putFlyte2(c, t, ns, org, "shared", []byte("o"))
	otherProject := resolver.Scope{Org: "flyte", Project: "other", Domain: "development"}
	putFlyte2(c, t, ns, otherProject, "db-pass", []byte(canary))

	p, err := k8s.NewPolicy(ns, "tasks/runner", proj, []string{"db-pass", "api-key", "shared", "bad.name"})
	require.NoError(t, err)
	assert.Len(t, p.Names, 9, "3 keys x 3 candidate scopes")
	assert.Equal(t, []string{"bad.name"}, p.Skipped)
	y := p.YAML()
	assert.Contains(t, y, `# Not covered: key "bad.name"`)
	docs := decodeDocs(t, y)
	require.Len(t, docs, 2)
	assert.Equal(t, "Role", docs[0]["kind"])
	assert.Equal(t, "RoleBinding", docs[1]["kind"])
	sa := c.ServiceAccount(t, "tasks", "runner")
	c.Apply(t, docs...)
	c.WaitAllowed(t, "system:serviceaccount:tasks:runner", ns, "get", p.Names[0])

	l := link(t, "k8s", podEnviron(c, c.Port), map[string]string{"k8s-namespace": ns, "k8s-serviceaccount-dir": sa}, nil)
	chain := resolver.NewChain([]resolver.Link{l}, proj, nil)
	res := chain.ResolveAll(context.Background(), []resolver.Ref{{Key: "db-pass"}, {Key: "api-key"}, {Key: "shared"}})
	for i, want := range []string{"p", "d", "o"} {
		require.NoError(t, res[i].Err)
		assert.Equal(t, want, string(res[i].Value.Bytes()))
	}

	// The same service account in another project's execution.
	res = resolver.NewChain([]resolver.Link{l}, otherProject, nil).ResolveAll(context.Background(), []resolver.Ref{{Key: "db-pass"}})
	require.Error(t, res[0].Err)
	assert.Contains(t, res[0].Err.Error(), "403 Forbidden")
	assertNoCanary(t, res[0])

	// Nothing to grant is refused: a rule without resourceNames grants all.
	_, err = k8s.NewPolicy(ns, "tasks/runner", proj, []string{"bad.name"})
	assert.ErrorContains(t, err, "nothing to grant")
	_, err = k8s.NewPolicy(ns, "runner", proj, []string{"k"})
	assert.ErrorContains(t, err, "want NAMESPACE/NAME")
}
