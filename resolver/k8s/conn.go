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
	// called for each request: a projected service-account token rotates
	// on disk, and an exec plugin's token expires.
	Token func(ctx context.Context) (string, error)
	// Refresh drops a cached token after a 401, when the source can mint
	// a new one (an exec plugin); nil otherwise.
	Refresh func()
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
	return &Conn{
		Server:    server,
		TLS:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		Token:     tokenFile(tokenPath),
		Namespace: ns,
		Source:    "the service account at " + spec.Quote(dir),
	}, nil
}

// tokenFile reads the token at path for each request: the kubelet rewrites
// a projected token before it expires.
func tokenFile(path string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		b, err := readCredential(path, "token")
		if err != nil {
			return "", err
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", fmt.Errorf("token file %s is empty", spec.Quote(path))
		}
		return t, nil
	}
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
