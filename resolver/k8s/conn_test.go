package k8s_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/kubetest"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/k8s"
)

// kcSetup is a namespace with one Flyte 2 secret, and a directory for
// kubeconfig files and what they point at.
type kcSetup struct {
	c   *kubetest.Cluster
	ns  string
	dir string
}

func newKC(t *testing.T) *kcSetup {
	c := kubetest.Start(t)
	s := &kcSetup{c: c, ns: freshNamespace(c, t, "kubeconfig"), dir: t.TempDir()}
	putFlyte2(c, t, s.ns, resolver.Scope{Org: "flyte"}, "k", []byte(canary))
	s.file("ca.crt", string(c.CAPEM()))
	return s
}

func (s *kcSetup) file(name, content string) string {
	p := filepath.Join(s.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o700); err != nil {
		panic(err)
	}
	return p
}

// config writes a kubeconfig with one context "ctx" of cluster and user
// (YAML bodies, indented by the caller).
func (s *kcSetup) config(name, cluster, user string) string {
	return s.file(name, fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: ctx
clusters:
- name: c
  cluster:
%s
users:
- name: u
  user:
%s
contexts:
- name: ctx
  context:
    cluster: c
    user: u
    namespace: %s
`, cluster, user, s.ns))
}

// get reads "k" with the connection the environment gives.
func (s *kcSetup) get(t *testing.T, environ []string, context_ string) (string, error) {
	t.Helper()
	conn, err := k8s.Connect(k8s.Options{Environ: environ, Context: context_})
	if err != nil {
		return "", err
	}
	c := k8s.NewClient(conn, resolver.RetryPolicy{Attempts: 1, Timeout: 5 * time.Second})
	defer c.Close()
	obj, err := c.Get(context.Background(), s.ns, k8s.ObjectName(resolver.ScopedID(resolver.Scope{Org: "flyte"}, "k")))
	if err != nil {
		return "", err
	}
	return string(obj.Data[resolver.ScopedID(resolver.Scope{Org: "flyte"}, "k")]), nil
}

func (s *kcSetup) server() string { return "    server: " + s.c.Server() }

func indent(n int, text string) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(strings.TrimSpace(text), "\n", "\n"+pad)
}

func TestKubeconfigCredentials(t *testing.T) {
	s := newKC(t)
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	certPEM, keyPEM := s.c.ClientCert(t, "cert-admin", "system:masters")
	s.file("client.crt", string(certPEM))
	s.file("client.key", string(keyPEM))
	s.file("token", kubetest.AdminToken+"\n")
	caData := "    certificate-authority-data: " + b64(s.c.CAPEM())
	caFile := "    certificate-authority: ca.crt"

	for _, tc := range []struct{ name, cluster, user string }{
		{"token and CA file", s.server() + "\n" + caFile, "    token: " + kubetest.AdminToken},
		{"tokenFile relative to the kubeconfig, CA data", s.server() + "\n" + caData, "    tokenFile: token"},
		{"client certificate data", s.server() + "\n" + caData, "    client-certificate-data: " + b64(certPEM) + "\n    client-key-data: " + b64(keyPEM)},
		{"client certificate files", s.server() + "\n" + caFile, "    client-certificate: client.crt\n    client-key: " + filepath.Join(s.dir, "client.key")},
		{"insecure-skip-tls-verify", s.server() + "\n    insecure-skip-tls-verify: true", "    token: " + kubetest.AdminToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := s.config("config-"+strings.ReplaceAll(tc.name, " ", "-"), tc.cluster, tc.user)
			v, err := s.get(t, []string{"KUBECONFIG=" + p}, "")
			require.NoError(t, err)
			assert.Equal(t, canary, v)
		})
	}

	t.Run("no CA: the system's roots do not trust the test CA", func(t *testing.T) {
		p := s.config("config-noca", s.server(), "    token: "+kubetest.AdminToken)
		_, err := s.get(t, []string{"KUBECONFIG=" + p}, "")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "TLS: the API server's certificate is not trusted")
	})

	t.Run("tls-server-name", func(t *testing.T) {
		proxy := s.c.MisnamedProxy(t)
		server := "    server: " + proxy.URL + "\n" + caFile
		p := s.config("config-misnamed", server, "    token: "+kubetest.AdminToken)
		_, err := s.get(t, []string{"KUBECONFIG=" + p}, "")
		require.Error(t, err, "the certificate is not for 127.0.0.1")
		p = s.config("config-servername", server+"\n    tls-server-name: not-the-api-server.example", "    token: "+kubetest.AdminToken)
		v, err := s.get(t, []string{"KUBECONFIG=" + p}, "")
		require.NoError(t, err)
		assert.Equal(t, canary, v)
	})
}

func TestKubeconfigMergeAndContexts(t *testing.T) {
	s := newKC(t)
	// The first file sets the current context and names it; the second
	// defines its cluster and user, and a context of its own.
	first := s.file("first", `current-context: work
contexts:
- name: work
  context: {cluster: c, user: u}
`)
	second := s.file("second", fmt.Sprintf(`current-context: ignored
clusters:
- name: c
  cluster:
    server: %s
    certificate-authority: ca.crt
- name: elsewhere
  cluster:
    server: https://127.0.0.1:1
users:
- name: u
  user:
    token: %s
- name: nobody
  user:
    token: wrong
contexts:
- name: work
  context: {cluster: elsewhere, user: nobody}
- name: bad-user
  context: {cluster: c, user: nobody}
- name: broken
  context: {cluster: missing, user: u}
`, s.c.Server(), kubetest.AdminToken))
	list := "KUBECONFIG=" + filepath.Join(s.dir, "absent") + ":" + first + ":" + second
	v, err := s.get(t, []string{list}, "")
	require.NoError(t, err, "first file wins: its current-context and its context 'work'")
	assert.Equal(t, canary, v)

	_, err = s.get(t, []string{list}, "bad-user")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401 Unauthorized")

	_, err = s.get(t, []string{list}, "nope")
	assert.ErrorContains(t, err, `has no context "nope"`)
	_, err = s.get(t, []string{list}, "broken")
	assert.ErrorContains(t, err, `context "broken" names cluster "missing", which is not defined`)

	// --kube-context uses the kubeconfig even in a pod.
	_, err = s.get(t, []string{"HOME=" + s.dir, "KUBERNETES_SERVICE_HOST=127.0.0.1", "KUBERNETES_SERVICE_PORT=1", list}, "work")
	require.NoError(t, err)

	// ~/.kube/config when KUBECONFIG is not set.
	home := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".kube"), 0o700))
	data, err := os.ReadFile(s.config("config-home", s.server()+"\n    certificate-authority: "+filepath.Join(s.dir, "ca.crt"), "    token: "+kubetest.AdminToken))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(home, ".kube", "config"), data, 0o600))
	v, err = s.get(t, []string{"HOME=" + home}, "")
	require.NoError(t, err)
	assert.Equal(t, canary, v)

	_, err = s.get(t, []string{"HOME=" + t.TempDir()}, "")
	assert.ErrorContains(t, err, "no Kubernetes API server: KUBERNETES_SERVICE_HOST is not set (not in a pod), and no kubeconfig file exists")
}

// plugin writes an exec credential plugin: a script that logs each run and
// its KUBERNETES_EXEC_INFO and PLUGIN_VAR, then prints body.
func (s *kcSetup) plugin(name, body string) (path, runs string) {
	runs = filepath.Join(s.dir, name+".runs")
	path = s.file(name, fmt.Sprintf("#!/bin/sh\necho \"$PLUGIN_VAR $KUBERNETES_EXEC_INFO\" >> %s\n%s\n", runs, body))
	return path, runs
}

func TestExecPlugin(t *testing.T) {
	s := newKC(t)
	cred := func(status string) string {
		return fmt.Sprintf("cat <<'EOF'\n{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":%s}\nEOF", status)
	}
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	user := func(command string) string {
		return indent(4, fmt.Sprintf(`exec:
  apiVersion: client.authentication.k8s.io/v1
  command: %s
  args: ["--flag", "value"]
  env:
  - name: PLUGIN_VAR
    value: from-kubeconfig
  interactiveMode: IfAvailable
  provideClusterInfo: true
  installHint: |
    Install the plugin from https://example.invalid/plugin.`, command))
	}
	cluster := s.server() + "\n    certificate-authority: ca.crt"

	t.Run("token, once for many lookups", func(t *testing.T) {
		_, runs := s.plugin("token-plugin", cred(fmt.Sprintf(`{"token":%q,"expirationTimestamp":%q}`, kubetest.AdminToken, exp)))
		p := s.config("config-exec-token", cluster, user("./token-plugin"))
		st := store(t, p, s.ns)
		for _, name := range []string{"a", "b", "c"} {
			mustCreate(t, st, resolver.Scope{Org: "flyte"}, name, canary)
		}
		_, v, err := st.Get(context.Background(), resolver.Scope{Org: "flyte"}, "a")
		require.NoError(t, err)
		assert.Equal(t, canary, string(v.Bytes()))
		log, err := os.ReadFile(runs)
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSpace(string(log)), "\n")
		assert.Len(t, lines, 1, "the credential is kept until it expires")
		assert.True(t, strings.HasPrefix(lines[0], "from-kubeconfig {"), lines[0])
		assert.Contains(t, lines[0], `"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false,"cluster":{`)
		assert.Contains(t, lines[0], `"server":"`+s.c.Server()+`"`)
	})

	t.Run("client certificate", func(t *testing.T) {
		certPEM, keyPEM := s.c.ClientCert(t, "plugin-admin", "system:masters")
		s.plugin("cert-plugin", cred(fmt.Sprintf(`{"clientCertificateData":%q,"clientKeyData":%q}`, certPEM, keyPEM)))
		p := s.config("config-exec-cert", cluster, user("./cert-plugin"))
		v, err := s.get(t, []string{"KUBECONFIG=" + p}, "")
		require.NoError(t, err)
		assert.Equal(t, canary, v)
	})

	for _, tc := range []struct{ name, body, want string }{
		{"fails: its messages may hold credentials", "echo " + canary + "; echo " + canary + " >&2; exit 3",
			"failed (exit status 3); its messages are not shown, since they may hold credentials"},
		{"prints something else", "echo '{\"token\": \"" + canary + "\"'", "did not print an ExecCredential (JSON)"},
		{"prints no credential", cred("{}"), "printed no token and no client certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "bad-plugin-" + strconv.Itoa(len(tc.name))
			s.plugin(name, tc.body)
			p := s.config("config-"+name, cluster, user("./"+name))
			_, err := s.get(t, []string{"KUBECONFIG=" + p}, "")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), canary)
			if strings.HasPrefix(tc.name, "fails") {
				assert.Contains(t, err.Error(), "Install the plugin from https://example.invalid/plugin.", "the install hint is shown")
			}
		})
	}

	t.Run("missing command", func(t *testing.T) {
		p := s.config("config-exec-missing", cluster, user("no-such-plugin-here"))
		_, err := s.get(t, []string{"KUBECONFIG=" + p, "PATH=/nonexistent"}, "")
		assert.ErrorContains(t, err, `exec plugin "no-such-plugin-here": command not found`)
	})
}

func TestInClusterAddress(t *testing.T) {
	dir := t.TempDir()
	for n, v := range map[string]string{"token": "t", "ca.crt": string(kubetest.Start(t).CAPEM()), "namespace": "tasks"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte(v), 0o600))
	}
	for host, want := range map[string]string{"10.0.0.1": "10.0.0.1:443", "fd00::1": "[fd00::1]:443", "[fd00::2]": "[fd00::2]:443", "api.internal": "api.internal:443"} {
		conn, err := k8s.Connect(k8s.Options{ServiceAccountDir: dir, Environ: []string{"KUBERNETES_SERVICE_HOST=" + host, "KUBERNETES_SERVICE_PORT=443"}})
		require.NoError(t, err, host)
		assert.Equal(t, "https://"+want, conn.Server.String(), host)
		assert.Equal(t, "tasks", conn.Namespace)
	}
	_, err := k8s.Connect(k8s.Options{ServiceAccountDir: dir, Environ: []string{"KUBERNETES_SERVICE_HOST=10.0.0.1"}})
	assert.ErrorContains(t, err, "KUBERNETES_SERVICE_PORT is not")
	_, err = k8s.Connect(k8s.Options{ServiceAccountDir: t.TempDir(), Environ: []string{"KUBERNETES_SERVICE_HOST=10.0.0.1", "KUBERNETES_SERVICE_PORT=443"}})
	assert.ErrorContains(t, err, "in a pod, but no service-account token: token file")
}
