package k8s

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/readfile"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/yamlite"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// maxKubeconfig bounds one kubeconfig file.
const maxKubeconfig = 4 << 20

var errNoKubeconfig = errors.New("no kubeconfig file exists")

// entry is one named cluster, user or context, with the file it came from:
// relative paths in it are relative to that file's directory.
type entry struct {
	fields map[string]any
	file   string
}

// kubeconfig is the merge of the files of KUBECONFIG, as kubectl merges
// them: the first file to name a cluster, user or context, or to set
// current-context, wins.
type kubeconfig struct {
	files    []string
	clusters map[string]entry
	users    map[string]entry
	contexts map[string]entry
	current  string
}

func loadKubeconfig(files []string) (*kubeconfig, error) {
	kc := newKubeconfig()
	for _, f := range files {
		if f == "" {
			continue
		}
		data, err := readfile.Regular(f, maxKubeconfig)
		if errors.Is(err, os.ErrNotExist) {
			continue // kubectl skips a missing file of the list
		}
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", spec.Quote(f), err)
		}
		if err := kc.add(data, f); err != nil {
			return nil, err
		}
	}
	if len(kc.files) == 0 {
		return nil, fmt.Errorf("%w (looked for %s)", errNoKubeconfig, strings.Join(quoteAll(files), ", "))
	}
	return kc, nil
}

// add merges one file's content under kubectl's rules: what an earlier
// file set stays.
func (kc *kubeconfig) add(data []byte, f string) error {
	doc, err := yamlite.Parse(data)
	if err != nil {
		return fmt.Errorf("kubeconfig %s: %w", spec.Quote(f), err)
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return fmt.Errorf("kubeconfig %s: not a mapping", spec.Quote(f))
	}
	kc.files = append(kc.files, f)
	for _, part := range []struct {
		key, inner string
		into       map[string]entry
	}{{"clusters", "cluster", kc.clusters}, {"users", "user", kc.users}, {"contexts", "context", kc.contexts}} {
		if err := mergeList(top, part.key, part.inner, f, part.into); err != nil {
			return err
		}
	}
	if cur, _ := top["current-context"].(string); cur != "" && kc.current == "" {
		kc.current = cur
	}
	return nil
}

func newKubeconfig() *kubeconfig {
	return &kubeconfig{clusters: map[string]entry{}, users: map[string]entry{}, contexts: map[string]entry{}}
}

func mergeList(top map[string]any, key, inner, file string, into map[string]entry) error {
	v, ok := top[key]
	if !ok || v == "" {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		return fmt.Errorf("kubeconfig %s: %s is not a list", spec.Quote(file), key)
	}
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return fmt.Errorf("kubeconfig %s: %s[%d] is not a mapping", spec.Quote(file), key, i)
		}
		name, _ := m["name"].(string)
		if name == "" {
			return fmt.Errorf("kubeconfig %s: %s[%d] has no name", spec.Quote(file), key, i)
		}
		fields, _ := m[inner].(map[string]any)
		if fields == nil {
			fields = map[string]any{}
		}
		if _, seen := into[name]; !seen {
			into[name] = entry{fields: fields, file: file}
		}
	}
	return nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = spec.Quote(s)
	}
	return out
}

func (e entry) str(key string) string {
	s, _ := e.fields[key].(string)
	return s
}

// path resolves a file field against the file that named it.
func (e entry) path(key string) string {
	p := e.str(key)
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[2:])
		}
	}
	return filepath.Join(filepath.Dir(e.file), p)
}

// data reads a "<key>-data" field (base64) or the "<key>" file.
func (e entry) data(key, what string) ([]byte, error) {
	if d := e.str(key + "-data"); d != "" {
		b, err := decodeBase64(d)
		if err != nil {
			return nil, fmt.Errorf("%s-data is not base64", key)
		}
		return b, nil
	}
	if p := e.path(key); p != "" {
		return readCredential(p, what)
	}
	return nil, nil
}

// conn builds the connection for context name ("" for the current one).
func (kc *kubeconfig) conn(name string, environ []string) (*Conn, error) {
	where := "kubeconfig " + strings.Join(quoteAll(kc.files), ":")
	if name == "" {
		name = kc.current
		if name == "" {
			return nil, fmt.Errorf("%s sets no current-context (give --kube-context)", where)
		}
	}
	ctxEntry, ok := kc.contexts[name]
	if !ok {
		return nil, fmt.Errorf("%s has no context %s", where, spec.Quote(name))
	}
	clusterName, userName := ctxEntry.str("cluster"), ctxEntry.str("user")
	cluster, ok := kc.clusters[clusterName]
	if !ok {
		return nil, fmt.Errorf("%s: context %s names cluster %s, which is not defined", where, spec.Quote(name), spec.Quote(clusterName))
	}
	user, ok := kc.users[userName]
	if userName != "" && !ok {
		return nil, fmt.Errorf("%s: context %s names user %s, which is not defined", where, spec.Quote(name), spec.Quote(userName))
	}
	src := "kubeconfig context " + spec.Quote(name)
	fail := func(err error) (*Conn, error) { return nil, fmt.Errorf("%s: %w", src, err) }

	server, err := url.Parse(cluster.str("server"))
	if err != nil || server.Host == "" || (server.Scheme != "https" && server.Scheme != "http") {
		return fail(fmt.Errorf("cluster %s: server %s is not an http(s) URL", spec.Quote(clusterName), spec.Quote(cluster.str("server"))))
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cluster.str("tls-server-name")}
	if cluster.str("insecure-skip-tls-verify") == "true" {
		tc.InsecureSkipVerify = true
	} else {
		caPEM, err := cluster.data("certificate-authority", "CA bundle")
		if err != nil {
			return fail(fmt.Errorf("cluster %s: %w", spec.Quote(clusterName), err))
		}
		if caPEM != nil {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(caPEM) {
				return fail(fmt.Errorf("cluster %s: the certificate authority holds no PEM certificate", spec.Quote(clusterName)))
			}
			tc.RootCAs = pool
		}
	}

	c := &Conn{Server: server, TLS: tc, Namespace: ctxEntry.str("namespace"), Source: src}
	if c.Namespace == "" {
		c.Namespace = "default"
	}
	c.Token = func(context.Context) (string, error) { return "", nil }

	for _, unsupported := range []string{"auth-provider", "username", "password"} {
		if _, set := user.fields[unsupported]; set {
			return fail(fmt.Errorf("user %s: %s is not supported (use a token, a client certificate or an exec plugin)", spec.Quote(userName), unsupported))
		}
	}
	certPEM, err := user.data("client-certificate", "client certificate")
	if err != nil {
		return fail(fmt.Errorf("user %s: %w", spec.Quote(userName), err))
	}
	keyPEM, err := user.data("client-key", "client key")
	if err != nil {
		return fail(fmt.Errorf("user %s: %w", spec.Quote(userName), err))
	}
	switch {
	case certPEM != nil && keyPEM != nil:
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return fail(fmt.Errorf("user %s: the client certificate and key are not a key pair", spec.Quote(userName)))
		}
		tc.Certificates = []tls.Certificate{pair}
	case certPEM != nil || keyPEM != nil:
		return fail(fmt.Errorf("user %s: a client certificate needs its key, and a key its certificate", spec.Quote(userName)))
	}

	switch execCfg, _ := user.fields["exec"].(map[string]any); {
	case user.str("token") != "":
		tok := strings.TrimSpace(user.str("token"))
		c.Token = func(context.Context) (string, error) { return tok, nil }
	case user.path("tokenFile") != "":
		c.useFile(user.path("tokenFile"))
	case execCfg != nil:
		p, err := newPlugin(entry{fields: execCfg, file: user.file}, environ, cluster)
		if err != nil {
			return fail(fmt.Errorf("user %s: %w", spec.Quote(userName), err))
		}
		c.Token = p.token
		c.Refresh = p.refresh
		if tc.Certificates == nil {
			tc.GetClientCertificate = p.clientCertificate
		}
	}
	return c, nil
}
