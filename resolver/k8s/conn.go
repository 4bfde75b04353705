package k8s

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/caarlos0/env/v11"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/readfile"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// DefaultServiceAccountDir is where Kubernetes mounts a pod's service
// account: its token, the cluster's CA and the pod's namespace.
const DefaultServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// maxCredentialFile bounds a token, CA, certificate or key file.
const maxCredentialFile = 1 << 20

// Options say where the connection comes from.
type Options struct {
	// Environ is the shim's environment, "NAME=value" entries: the
	// KUBERNETES_SERVICE_* variables, KUBECONFIG and HOME come from here.
	Environ []string
	// ServiceAccountDir is the service-account mount; "" for the default.
	ServiceAccountDir string
	// Context is the kubeconfig context to use; "" for the current one.
	// Giving one means the kubeconfig is used even in a pod.
	Context string
}

// environment is what Connect reads from Options.Environ.
type environment struct {
	ServiceHost string   `env:"KUBERNETES_SERVICE_HOST"`
	ServicePort string   `env:"KUBERNETES_SERVICE_PORT"`
	Kubeconfig  []string `env:"KUBECONFIG" envSeparator:":"`
	Home        string   `env:"HOME"`
}

// Conn is how to reach one API server and who to be there.
type Conn struct {
	// Server is the API server's base URL: https://host:port, perhaps
	// with a path prefix.
	Server *url.URL
	// TLS verifies the server and presents a client certificate when
	// there is one.
	TLS *tls.Config
	// Token gives the bearer token for a request ("" for none). It is
	// called for each request; a source caches what it read (a token file
	// until the next connection or a 401, an exec plugin's token until it
	// expires).
	Token func(ctx context.Context) (string, error)
	// Refresh reads the credential again after a 401 and reports whether
	// it changed (a rotated token file, an exec plugin's new token): only
	// then is the request tried again. nil for a fixed token.
	Refresh func(ctx context.Context) bool
	// OnDial is called for each new connection; nil for none. A token
	// file is read again then.
	OnDial func()
	// Namespace is the pod's namespace in a pod, or the context's
	// namespace ("default" when it names none).
	Namespace string
	// Source says where all this came from, for messages: "the service
	// account at DIR" or "kubeconfig context NAME".
	Source string
}

// Connect finds the API server and the credentials, as Kubernetes clients
// do. With no context asked for, a pod's service account comes first
// (KUBERNETES_SERVICE_HOST and the mounted token), then the kubeconfig
// (KUBECONFIG, a ':' list, else ~/.kube/config). Asking for a context, or
// setting KUBECONFIG, means the kubeconfig.
func Connect(o Options) (*Conn, error) {
	var e environment
	if err := env.ParseWithOptions(&e, env.Options{Environment: environMap(o.Environ)}); err != nil {
		return nil, fmt.Errorf("reading the Kubernetes variables: %w", err)
	}
	dir := o.ServiceAccountDir
	if dir == "" {
		dir = DefaultServiceAccountDir
	}
	if o.Context == "" && len(e.Kubeconfig) == 0 && e.ServiceHost != "" {
		return inCluster(e, dir)
	}
	files := e.Kubeconfig
	if len(files) == 0 {
		if e.Home == "" {
			return nil, errors.New("no Kubernetes API server: KUBERNETES_SERVICE_HOST is not set (not in a pod), and neither KUBECONFIG nor HOME is set")
		}
		files = []string{filepath.Join(e.Home, ".kube", "config")}
	}
	cfg, err := loadKubeconfig(files)
	if err != nil {
		if errors.Is(err, errNoKubeconfig) && e.ServiceHost == "" {
			return nil, fmt.Errorf("no Kubernetes API server: KUBERNETES_SERVICE_HOST is not set (not in a pod), and %w", err)
		}
		return nil, err
	}
	return cfg.conn(o.Context, o.Environ)
}

func environMap(environ []string) map[string]string {
	m := make(map[string]string, 8)
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch k {
		case "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBECONFIG", "HOME":
			if v != "" {
				m[k] = v
			}
		}
	}
	return m
}

// inCluster is the pod's own service account, as client-go's
// InClusterConfig reads it.
func inCluster(e environment, dir string) (*Conn, error) {
	if e.ServicePort == "" {
		return nil, errors.New("in a pod, KUBERNETES_SERVICE_HOST is set but KUBERNETES_SERVICE_PORT is not")
	}
	host := strings.TrimSuffix(strings.TrimPrefix(e.ServiceHost, "["), "]")
	server := &url.URL{Scheme: "https", Host: net.JoinHostPort(host, e.ServicePort)}
	if _, err := url.Parse(server.String()); err != nil || strings.ContainsAny(host, "/?#@ ") {
		return nil, fmt.Errorf("KUBERNETES_SERVICE_HOST %s and KUBERNETES_SERVICE_PORT %s do not make a server address", spec.Quote(e.ServiceHost), spec.Quote(e.ServicePort))
	}
	tokenPath := filepath.Join(dir, "token")
	if _, err := readCredential(tokenPath, "token"); err != nil {
		return nil, fmt.Errorf("in a pod, but no service-account token: %w", err)
	}
	caPEM, err := readCredential(filepath.Join(dir, "ca.crt"), "CA bundle")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s holds no PEM certificate", spec.Quote(filepath.Join(dir, "ca.crt")))
	}
	ns := "default"
	if b, err := readCredential(filepath.Join(dir, "namespace"), "namespace"); err == nil {
		if s := strings.TrimSpace(string(b)); s != "" {
			ns = s
		}
	}
	c := &Conn{
		Server:    server,
		TLS:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		Namespace: ns,
		Source:    "the service account at " + spec.Quote(dir),
	}
	c.useFile(tokenPath)
	return c, nil
}

// fileToken is a token file (a projected service-account token, or a
// kubeconfig's tokenFile), read again for each new connection and after a
// 401: the kubelet rewrites a projected token before it expires.
type fileToken struct {
	path  string
	mu    sync.Mutex
	tok   string
	stale bool
}

func newFileToken(path string) *fileToken { return &fileToken{path: path, stale: true} }

func (f *fileToken) token(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.stale {
		return f.tok, nil
	}
	b, err := readCredential(f.path, "token")
	if err != nil {
		return "", err
	}
	t := strings.TrimSpace(string(b))
	clear(b)
	if t == "" {
		return "", fmt.Errorf("token file %s is empty", spec.Quote(f.path))
	}
	f.tok, f.stale = t, false
	return t, nil
}

// stale makes the next request read the file again.
func (f *fileToken) markStale() {
	f.mu.Lock()
	f.stale = true
	f.mu.Unlock()
}

// refresh reads the file again and reports whether the token changed.
func (f *fileToken) refresh(ctx context.Context) bool {
	f.mu.Lock()
	old := f.tok
	f.stale = true
	f.mu.Unlock()
	t, err := f.token(ctx)
	return err == nil && t != old
}

// useFile makes c's token the file at path.
func (c *Conn) useFile(path string) {
	f := newFileToken(path)
	c.Token, c.Refresh, c.OnDial = f.token, f.refresh, f.markStale
}

// readCredential reads a small credential file. Errors name the path and
// never the content.
func readCredential(path, what string) ([]byte, error) {
	b, err := readfile.Regular(path, maxCredentialFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s file %s does not exist", what, spec.Quote(path))
		}
		return nil, fmt.Errorf("%s file %s: %w", what, spec.Quote(path), err)
	}
	return b, nil
}
