package k8s

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// FuzzKubeconfig: any file reads as a kubeconfig or is refused with an
// error that never quotes the file at length (a kubeconfig holds tokens),
// and never panics on the way to a connection.
func FuzzKubeconfig(f *testing.F) {
	for _, p := range []string{"kind.yaml", "eks.yaml", "gke.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "internal", "yamlite", "testdata", p))
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("current-context: c\ncontexts:\n- name: c\n  context: {cluster: x, user: u}\nclusters:\n- name: x\n  cluster: {server: 'https://h:1', insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: SECRET-TOKEN}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		kc := newKubeconfig()
		file := filepath.Join(dir, "config")
		if err := kc.add(data, file); err != nil {
			assert.Less(t, len(err.Error()), 400)
			return
		}
		_, err := kc.conn("", nil)
		if err != nil {
			assert.NotContains(t, err.Error(), "SECRET-TOKEN")
		}
	})
}

// FuzzExecCredential: a plugin's output is read or refused, and no error
// holds any of it.
func FuzzExecCredential(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"CANARY-x"}}`))
	f.Add([]byte(`{"kind":"CANARY-x"}`))
	f.Add([]byte(`{"apiVersion":"CANARY-x","kind":"ExecCredential"}`))
	f.Fuzz(func(t *testing.T, out []byte) {
		st, err := parseExecCredential(out, execV1, `"plugin"`)
		if err != nil {
			for _, w := range strings.Fields(string(out)) {
				if len(w) >= 8 && !strings.Contains(`exec plugin "plugin" did not print an ExecCredential (JSON) printed a kind other than ExecCredential apiVersion client.authentication.k8s.io/v1 no token and no client certificate without its key, or a key without its certificate`, w) {
					assert.NotContains(t, err.Error(), w)
				}
			}
			return
		}
		assert.True(t, st.Token != "" || st.ClientCertificateData != "")
	})
}

// FuzzStatusReason: from any body, the reason is one plain word or nothing.
func FuzzStatusReason(f *testing.F) {
	f.Add([]byte(`{"kind":"Status","reason":"Forbidden","message":"secret value"}`))
	f.Add([]byte(`{"kind":"Status","reason":"has spaces CANARY"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := statusReason(body)
		assert.LessOrEqual(t, len(r), 64)
		for _, c := range r {
			assert.True(t, c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z', "%q", r)
		}
	})
}
