package main_test

// The Kubernetes end-to-end tests: the real binary, as a pod runs it, against
// a real kube-apiserver (internal/kubetest), with a service-account mount
// built from the server's CA and a real token.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/kubetest"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/k8s"
)

const k8sCanary = "CANARY-e2e-k8s-9d31"

var k8sCount atomic.Int64

// k8sEnv is one test's corner of the cluster: the namespace Flyte 2 keeps
// secrets in, the pod's namespace (Flyte 1's <project>-<domain>) and its
// service account's mount.
type k8sEnv struct {
	c      *kubetest.Cluster
	flyte  string // Flyte 2's secrets namespace
	pod    string // the pod's namespace
	saDir  string
	saName string
}

func newK8sEnv(t *testing.T) *k8sEnv {
	c := kubetest.Start(t)
	n := k8sCount.Add(1)
	e := &k8sEnv{c: c, flyte: fmt.Sprintf("flyte-e2e-%d", n), pod: fmt.Sprintf("flytesnacks-development-%d", n), saName: "task"}
	c.Namespace(t, e.flyte)
	e.saDir = c.ServiceAccount(t, e.pod, e.saName)
	return e
}

func (e *k8sEnv) putFlyte2(t *testing.T, scope resolver.Scope, name string, value []byte) {
	t.Helper()
	id := resolver.ScopedID(scope, name)
	e.c.PutSecret(t, e.flyte, k8s.ObjectName(id), k8s.Labels(scope), map[string][]byte{id: value})
}

// podEnv is the pod's environment plus the k8s settings for this test.
func (e *k8sEnv) podEnv(extra map[string]string) map[string]string {
	env := e.c.PodEnv()
	env["FLYTE_ENTRYPOINT_K8S_NAMESPACE"] = e.flyte
	env["FLYTE_ENTRYPOINT_K8S_SERVICEACCOUNT_DIR"] = e.saDir
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// allow applies the Role that policy prints for the task's requests, and a
// Role that lets it get the Flyte 1 group Secrets named.
func (e *k8sEnv) allow(t *testing.T, policyYAML string, groups ...string) {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(policyYAML))
	var docs []map[string]any
	for {
		var d map[string]any
		if dec.Decode(&d) != nil {
			break
		}
		docs = append(docs, d)
	}
	require.Len(t, docs, 2, policyYAML)
	if len(groups) > 0 {
		docs = append(docs,
			map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
				"metadata": map[string]any{"name": "groups", "namespace": e.pod},
				"rules":    []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"secrets"}, "verbs": []any{"get"}, "resourceNames": groups}}},
			map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
				"metadata": map[string]any{"name": "groups", "namespace": e.pod},
				"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "groups"},
				"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": e.saName, "namespace": e.pod}}})
	}
	e.c.Apply(t, docs...)
	rules := docs[0]["rules"].([]any)[0].(map[string]any)
	names := rules["resourceNames"].([]any)
	sa := "system:serviceaccount:" + e.pod + ":" + e.saName
	e.c.WaitAllowed(t, sa, e.flyte, "get", names[len(names)-1].(string))
	for _, g := range groups {
		e.c.WaitAllowed(t, sa, e.pod, "get", g)
	}
}

func assertNoK8sCanary(t *testing.T, res result) {
	t.Helper()
	b64 := base64.StdEncoding.EncodeToString([]byte(k8sCanary))[:16]
	for _, s := range []string{res.stdout, res.stderr} {
		assert.NotContains(t, s, k8sCanary)
		assert.NotContains(t, s, b64)
	}
}

// TestK8sRunBothLayouts: a pod's start reads Flyte 2's layout with scope
// fallback and Flyte 1's group Secrets, as env and files, byte-exact, with
// exactly the access policy prints; dry-run and explain say what was asked.
func TestK8sRunBothLayouts(t *testing.T) {
	e := newK8sEnv(t)
	proj := resolver.Scope{Org: "flyte", Project: "flytesnacks", Domain: "development"}
	binary := append([]byte{0, 1, 2, 255, '\n'}, k8sCanary+"-bin"...)
	e.putFlyte2(t, proj, "db-pass", binary)
	e.putFlyte2(t, resolver.Scope{Org: "flyte"}, "db-pass", []byte(k8sCanary+"-org-must-lose"))
	e.putFlyte2(t, resolver.Scope{Org: "flyte", Domain: "development"}, "api-key", []byte(k8sCanary+"-dom"))
	e.putFlyte2(t, resolver.Scope{Org: "flyte"}, "shared", []byte(k8sCanary+"-org"))
	e.c.PutSecret(t, e.pod, "openai", nil, map[string][]byte{"api-key": []byte(k8sCanary + "-v1")})

	secrets := []string{
		"--secret", "key=db-pass,mount=/etc/flyte/secrets",
		"--secret", "key=api-key,env=API_KEY",
		"--secret", "key=shared,env=SHARED,mount=/etc/flyte/secrets",
		"--secret", "key=api-key,group=openai,env=OPENAI_KEY",
	}
	scope := []string{"--project", "flytesnacks", "--domain", "development"}
	pol := run{noCmd: true, args: append(append([]string{"policy", "--backend", "k8s", "--service-account", e.pod + "/" + e.saName}, scope...), secrets...),
		env: e.podEnv(nil)}.exec(t)
	require.Equal(t, 0, pol.code, pol.stderr)
	e.allow(t, pol.stdout, "openai")

	args := append(append([]string{"--backends", "k8s-v1,k8s"}, scope...), secrets...)
	res := run{args: append([]string{"--log-level", "debug"}, args...), env: e.podEnv(nil)}.exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	require.NotNil(t, res.rec)
	assert.Contains(t, res.stderr, `"backend":"k8s"`, "debug logs name each lookup")
	assert.Equal(t, binary, res.rec.Files["db-pass"], "project scope wins over the org's")
	assert.Equal(t, []byte(k8sCanary+"-org"), res.rec.Files["shared"])
	for name, want := range map[string]string{"API_KEY": k8sCanary + "-dom", "SHARED": k8sCanary + "-org", "OPENAI_KEY": k8sCanary + "-v1"} {
		v, _ := res.rec.env(name)
		assert.Equal(t, want, v, name)
	}
	assertNoK8sCanary(t, res)

	// dry-run: the namespace and the object each answer came from.
	dry := run{noCmd: true, args: append([]string{"dry-run", "-o", "json"}, args...), env: e.podEnv(nil)}.exec(t)
	require.Equal(t, 0, dry.code, dry.stderr)
	assertNoK8sCanary(t, dry)
	var rep struct {
		Secrets []struct {
			Key, Backend, Lookup string
			Scope                *struct{ Org, Project, Domain string }
		}
	}
	require.NoError(t, json.Unmarshal([]byte(dry.stdout), &rep))
	require.Len(t, rep.Secrets, 4)
	name := k8s.ObjectName(resolver.ScopedID(proj, "db-pass"))
	assert.Equal(t, "k8s", rep.Secrets[0].Backend)
	assert.Equal(t, fmt.Sprintf(`namespace %q, Secret %q: 200 OK`, e.flyte, name), rep.Secrets[0].Lookup)
	assert.Equal(t, "k8s-v1", rep.Secrets[3].Backend)
	assert.Equal(t, fmt.Sprintf(`namespace %q, Secret "openai": 200 OK`, e.pod), rep.Secrets[3].Lookup, "k8s-v1 reads the pod's namespace")

	// explain: every scope asked, with its object and status.
	ex := run{noCmd: true, args: append([]string{"explain", "shared", "--backends", "k8s"}, scope...), env: e.podEnv(nil)}.exec(t)
	require.Equal(t, 0, ex.code, ex.stderr)
	assertNoK8sCanary(t, ex)
	for _, sc := range resolver.Scope.Candidates(proj) {
		assert.Contains(t, ex.stdout, k8s.ObjectName(resolver.ScopedID(sc, "shared")), "explain names the object asked in %s", sc)
	}
	assert.Contains(t, ex.stdout, "404 Not Found")
	assert.Contains(t, ex.stdout, "200 OK")
}

// TestK8sForbiddenFailsClosed: another project's secret is outside the
// Role: 403, exit 69, and no fallthrough to a later backend that has it.
func TestK8sForbiddenFailsClosed(t *testing.T) {
	e := newK8sEnv(t)
	mine := resolver.Scope{Org: "flyte", Project: "flytesnacks", Domain: "development"}
	theirs := resolver.Scope{Org: "flyte", Project: "payments", Domain: "development"}
	e.putFlyte2(t, mine, "db-pass", []byte("mine"))
	e.putFlyte2(t, theirs, "db-pass", []byte(k8sCanary))
	pol := run{noCmd: true, args: []string{"policy", "--backend", "k8s", "--service-account", e.pod + "/" + e.saName, "--project", "flytesnacks", "--domain", "development", "--secret", "db-pass"}, env: e.podEnv(nil)}.exec(t)
	require.Equal(t, 0, pol.code, pol.stderr)
	e.allow(t, pol.stdout)

	// The local store has the same secret: it must not answer in k8s's place.
	store := filepath.Join(tempDir(t), "store")
	s := run{noCmd: true, args: []string{"create", "secret", "db-pass", "-p", "payments", "-d", "development", "--value", "from-local", "--store", store}}.exec(t)
	require.Equal(t, 0, s.code, s.stderr)

	ok := run{args: []string{"--backends", "k8s,local", "--store", store, "--project", "flytesnacks", "--domain", "development", "--secret", "db-pass"}, env: e.podEnv(nil)}.exec(t)
	require.Equal(t, 0, ok.code, ok.stderr)

	res := run{args: []string{"--backends", "k8s,local", "--store", store, "--project", "payments", "--domain", "development", "--secret", "db-pass"}, env: e.podEnv(nil)}.exec(t)
	assert.Equal(t, 69, res.code, res.stderr)
	assertNothingStarted(t, res)
	name := k8s.ObjectName(resolver.ScopedID(theirs, "db-pass"))
	assert.Contains(t, res.stderr, `403 Forbidden: the pod's service account may not read Secret "`+name+`" in namespace "`+e.flyte+`"`)
	assert.Contains(t, res.stderr, "db-pass")
	assertNoK8sCanary(t, res)
}

// TestK8sServerDown: a start against a stopped server retries a bounded
// number of times, then exits 69 naming the secret.
func TestK8sServerDown(t *testing.T) {
	e := newK8sEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	start := time.Now()
	res := run{args: []string{"--backends", "k8s", "--secret", "db-pass"}, env: e.podEnv(map[string]string{"KUBERNETES_SERVICE_PORT": strconv.Itoa(port)})}.exec(t)
	assert.Equal(t, 69, res.code, res.stderr)
	assertNothingStarted(t, res)
	assert.Contains(t, res.stderr, "db-pass")
	assert.Contains(t, res.stderr, "connection refused (after 4 tries)")
	assert.Less(t, time.Since(start), 10*time.Second)
}

// adminKubeconfig writes a laptop's kubeconfig for the cluster's admin.
func adminKubeconfig(t *testing.T, c *kubetest.Cluster) string {
	t.Helper()
	dir := tempDir(t)
	cfg := fmt.Sprintf("apiVersion: v1\nkind: Config\ncurrent-context: admin\nclusters:\n- name: test\n  cluster:\n    server: %s\n    certificate-authority-data: %s\nusers:\n- name: admin\n  user:\n    token: %s\ncontexts:\n- name: admin\n  context: {cluster: test, user: admin}\n",
		c.Server(), base64.StdEncoding.EncodeToString(c.CAPEM()), kubetest.AdminToken)
	p := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(p, []byte(cfg), 0o600))
	return p
}

// TestK8sManagementRoundTrip: create secret --backend k8s writes exactly
// what Flyte 2's secret service writes, read back over plain HTTP field by
// field; secrets written by hand in that layout are listed and read.
func TestK8sManagementRoundTrip(t *testing.T) {
	e := newK8sEnv(t)
	s := newSecretsCLI(t)
	s.env["KUBECONFIG"] = adminKubeconfig(t, e.c)
	s.env["FLYTE_ENTRYPOINT_K8S_NAMESPACE"] = e.flyte
	k := []string{"--backend", "k8s"}

	out := s.ok(t, "", append([]string{"create", "secret", "db-pass", "-p", "flytesnacks", "-d", "development", "--value", k8sCanary}, k...)...)
	assertNoK8sCanary(t, out)
	scope := resolver.Scope{Org: "flyte", Project: "flytesnacks", Domain: "development"}
	id := resolver.ScopedID(scope, "db-pass")
	obj := e.c.GetSecret(t, e.flyte, k8s.ObjectName(id))
	require.NotNil(t, obj, "the Secret is named md5(%s)", id)
	md := obj["metadata"].(map[string]any)
	assert.Equal(t, e.flyte, md["namespace"])
	assert.Equal(t, map[string]any{"app.flyte.org/managed": "true", "app.flyte.org/project": "flytesnacks", "app.flyte.org/domain": "development"}, md["labels"])
	assert.Nil(t, md["annotations"])
	assert.Equal(t, "Opaque", obj["type"])
	assert.Equal(t, map[string]any{id: base64.StdEncoding.EncodeToString([]byte(k8sCanary))}, obj["data"], "one data key: the scoped ID")

	// An org-level secret: only the managed label.
	s.ok(t, "", append([]string{"create", "secret", "org-key", "--value", "o"}, k...)...)
	orgObj := e.c.GetSecret(t, e.flyte, k8s.ObjectName(resolver.ScopedID(resolver.Scope{Org: "flyte"}, "org-key")))
	require.NotNil(t, orgObj)
	assert.Equal(t, map[string]any{"app.flyte.org/managed": "true"}, orgObj["metadata"].(map[string]any)["labels"])

	// An existing secret is an error, and nothing is overwritten.
	dup := s.run(t, "", append([]string{"create", "secret", "db-pass", "-p", "flytesnacks", "-d", "development", "--value", "second"}, k...)...)
	assert.Equal(t, 1, dup.code, dup.stderr)
	assert.Contains(t, dup.stderr, "already exists")
	assert.Equal(t, k8sCanary, s.reveal(t, "db-pass", "-p", "flytesnacks", "-d", "development", "--backend", "k8s"))

	// get secret NAME: one scope, created_time from creationTimestamp.
	got := s.ok(t, "", append([]string{"get", "secret", "db-pass", "-p", "flytesnacks", "-d", "development"}, k...)...)
	var meta map[string]any
	require.NoError(t, json.Unmarshal([]byte(got.stdout), &meta))
	created, err := time.Parse(time.RFC3339, md["creationTimestamp"].(string))
	require.NoError(t, err)
	gotTime, err := time.Parse(time.RFC3339, meta["created_time"].(string))
	require.NoError(t, err)
	assert.True(t, created.Equal(gotTime), "%v vs %v", created, gotTime)
	assert.Equal(t, "regular", meta["type"])
	miss := s.run(t, "", append([]string{"get", "secret", "db-pass", "-d", "development"}, k...)...)
	assert.Equal(t, 1, miss.code, "nothing falls back")

	// Written by hand in Flyte 2's layout: listed and read.
	e.putFlyte2(t, resolver.Scope{Org: "flyte", Domain: "development"}, "by-hand", []byte("h"))
	pull := []byte(`{"auths":{"ghcr.io":{"auth":"dTpw"}}}`)
	e.putFlyte2(t, resolver.Scope{Org: "flyte"}, "pull", pull)
	// Not Flyte's: two data keys, or unmanaged; skipped.
	e.c.PutSecret(t, e.flyte, "two-keys", map[string]string{"app.flyte.org/managed": "true"}, map[string][]byte{"a": []byte("1"), "b": []byte("2")})
	e.c.PutSecret(t, e.flyte, "unmanaged", nil, map[string][]byte{resolver.ScopedID(resolver.Scope{Org: "flyte"}, "unmanaged"): []byte("u")})

	list := func(args ...string) []string {
		res := s.ok(t, "", append(append([]string{"get", "secret", "-o", "json", "--limit", "2"}, k...), args...)...)
		var items []struct{ Name, Project, Domain, Type string }
		require.NoError(t, json.Unmarshal([]byte(res.stdout), &items))
		var names []string
		for _, it := range items {
			names = append(names, it.Project+"/"+it.Domain+"/"+it.Name+":"+it.Type)
		}
		return names
	}
	assert.ElementsMatch(t, []string{"flytesnacks/development/db-pass:regular", "//org-key:regular", "/development/by-hand:regular", "//pull:image_pull"}, list(), "pages of 2 until the end")
	assert.ElementsMatch(t, []string{"flytesnacks/development/db-pass:regular", "/development/by-hand:regular"}, list("-d", "development"))
	assert.ElementsMatch(t, []string{"flytesnacks/development/db-pass:regular"}, list("-p", "flytesnacks", "-d", "development"))
	assert.Equal(t, "h", s.reveal(t, "by-hand", "-d", "development", "--backend", "k8s"))

	// An image pull secret is stored the same way, its value Docker config JSON.
	s.ok(t, "", append([]string{"create", "secret", "registry", "--type", "image_pull", "--registry", "ghcr.io", "--username", "u", "--password", "p"}, k...)...)
	reg := e.c.GetSecret(t, e.flyte, k8s.ObjectName(resolver.ScopedID(resolver.Scope{Org: "flyte"}, "registry")))
	require.NotNil(t, reg)
	assert.Equal(t, "Opaque", reg["type"])
	data := reg["data"].(map[string]any)
	require.Len(t, data, 1)
	raw, err := base64.StdEncoding.DecodeString(data[resolver.ScopedID(resolver.Scope{Org: "flyte"}, "registry")].(string))
	require.NoError(t, err)
	assert.JSONEq(t, `{"auths":{"ghcr.io":{"auth":"dTpw"}}}`, string(raw))

	del := s.ok(t, "", append([]string{"delete", "secret", "db-pass", "-p", "flytesnacks", "-d", "development"}, k...)...)
	assert.Equal(t, "Successfully deleted secret db-pass.\n", del.stdout)
	assert.Nil(t, e.c.GetSecret(t, e.flyte, k8s.ObjectName(id)))
	again := s.run(t, "", append([]string{"delete", "secret", "db-pass", "-p", "flytesnacks", "-d", "development"}, k...)...)
	assert.Equal(t, 1, again.code)
	assert.Contains(t, again.stderr, "not found")
}

// TestK8sWatchPolls: --watch polls a remote backend at --refresh. A failed
// poll (the server answering 500) keeps the current values, is logged and
// tried again; it never stops the command. The next good poll republishes.
func TestK8sWatchPolls(t *testing.T) {
	e := newK8sEnv(t)
	org := resolver.Scope{Org: "flyte"}
	e.putFlyte2(t, org, "db-pass", []byte("1:db-pass"))
	pol := run{noCmd: true, args: []string{"policy", "--backend", "k8s", "--service-account", e.pod + "/" + e.saName, "--secret", "db-pass"}, env: e.podEnv(nil)}.exec(t)
	require.Equal(t, 0, pol.code, pol.stderr)
	e.allow(t, pol.stdout)
	proxy := e.c.FaultProxy(t)
	env := e.podEnv(map[string]string{"KUBERNETES_SERVICE_PORT": strconv.Itoa(proxy.Port)})
	w := watchRun{args: []string{"--backends", "k8s", "--refresh", "300ms", "--k8s-call-timeout", "1s", "--secret", "key=db-pass,mount=/etc/flyte/secrets"},
		env: env, files: []string{"db-pass"}}.start(t)

	proxy.Always(&kubetest.Fault{Status: 500, Body: `{"kind":"Status","message":"` + k8sCanary + `"}`})
	e.putFlyte2(t, org, "db-pass", []byte("2:db-pass"))
	eventually(t, 20*time.Second, "a failed poll", func() bool {
		return strings.Contains(w.log(t), "the secrets could not be resolved again; keeping the current ones")
	})
	assert.Empty(t, w.events(t, "signal"))
	b, err := os.ReadFile(filepath.Join(w.root, "etc/flyte/secrets/db-pass"))
	require.NoError(t, err)
	assert.Equal(t, "1:db-pass", string(b), "the current value stays")

	proxy.Always(nil)
	eventually(t, 20*time.Second, "the next good poll to republish", func() bool {
		sigs := w.events(t, "signal")
		return len(sigs) == 1 && sigs[0].Files["db-pass"] == "2:db-pass"
	})
	assert.Len(t, w.events(t, "start"), 1, "the command was never stopped")
	assert.Equal(t, 7, w.stop(t))
	assert.NotContains(t, w.log(t), k8sCanary)
}
