// Package kubetest runs a real kube-apiserver over a real etcd for the
// tests, on 127.0.0.1, with TLS, RBAC and a token file, and gives the tests
// what a pod would have: a service account, its token (from TokenRequest)
// and its CA. It also has the fakes for what a real server does not do on
// demand: FaultProxy (slow answers, 429, 500, a certificate for the wrong
// name) and LatencyProxy (a fixed delay on every round trip).
//
// The binaries come from the environment: FE_KUBE_APISERVER, else the
// cache that scripts/kube-apiserver.sh fills; FE_ETCD, else etcd on PATH.
// When they are missing the tests skip with a message naming `make test`,
// which builds and starts what they need; under CI=true they fail instead.
//
// One cluster serves a whole test binary: Start starts it on first use,
// and the package's TestMain calls Shutdown.
package kubetest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The versions the tests run against.
const (
	KubernetesVersion = "v1.37.2"
	AdminToken        = "kubetest-admin-token"
	// UserToken is a token-file user with no rights of its own: "alice".
	UserToken = "kubetest-alice-token"
)

// Cluster is a running etcd and kube-apiserver.
type Cluster struct {
	Host string // 127.0.0.1
	Port int
	dir  string

	ca       *x509.Certificate
	caKey    *ecdsa.PrivateKey
	caPEM    []byte
	procs    []*proc
	admin    *http.Client
	apiLog   string
	stopOnce sync.Once
}

var (
	once    sync.Once
	shared  *Cluster
	started error
)

// Binaries finds kube-apiserver and etcd, or says what is missing.
func Binaries() (apiserver, etcd string, err error) {
	apiserver = os.Getenv("FE_KUBE_APISERVER")
	if apiserver == "" {
		cache := os.Getenv("FE_TEST_CACHE")
		if cache == "" {
			base, _ := os.UserCacheDir()
			cache = filepath.Join(base, "flyte-entrypoint")
		}
		matches, _ := filepath.Glob(filepath.Join(cache, "kube-apiserver-"+KubernetesVersion+"-*", "kube-apiserver"))
		if len(matches) > 0 {
			apiserver = matches[len(matches)-1]
		}
	}
	etcd = os.Getenv("FE_ETCD")
	if etcd == "" {
		etcd, _ = exec.LookPath("etcd")
	}
	var missing []string
	if apiserver == "" {
		missing = append(missing, "kube-apiserver "+KubernetesVersion+" (scripts/kube-apiserver.sh builds it)")
	} else if _, err := os.Stat(apiserver); err != nil {
		missing = append(missing, "kube-apiserver at "+apiserver)
	}
	if etcd == "" {
		missing = append(missing, "etcd (apt-get install etcd-server)")
	}
	if len(missing) > 0 {
		return "", "", errors.New("missing " + strings.Join(missing, " and "))
	}
	return apiserver, etcd, nil
}

// Start returns the test binary's cluster, starting it on first use. With
// the servers missing it skips t, naming `make test`; under CI=true it
// fails t instead.
func Start(t testing.TB) *Cluster {
	t.Helper()
	once.Do(func() { shared, started = start() })
	if started != nil {
		var missing bool
		if _, _, err := Binaries(); err != nil {
			missing = true
		}
		if missing && os.Getenv("CI") != "true" {
			t.Skipf("no real Kubernetes API server here: %v; run `make test`, which builds and starts what these tests need", started)
		}
		t.Fatalf("the Kubernetes API server did not start: %v", started)
	}
	return shared
}

// Shutdown stops the cluster, if one was started. TestMain calls it.
func Shutdown() {
	if shared != nil {
		shared.stop()
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start() (*Cluster, error) {
	apiserver, etcd, err := Binaries()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kubetest-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Host: "127.0.0.1", dir: dir}
	ok := false
	defer func() {
		if !ok {
			c.stop()
		}
	}()
	if err := c.writeCerts(); err != nil {
		return nil, err
	}
	clientPort, err := freePort()
	if err != nil {
		return nil, err
	}
	peerPort, err := freePort()
	if err != nil {
		return nil, err
	}
	if c.Port, err = freePort(); err != nil {
		return nil, err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	if err := c.spawn("etcd", etcd,
		"--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL,
		"--logger", "zap", "--log-level", "error"); err != nil {
		return nil, err
	}
	tokens := fmt.Sprintf("%s,admin,admin-uid,\"system:masters\"\n%s,alice,alice-uid\n", AdminToken, UserToken)
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(tokens), 0o600); err != nil {
		return nil, err
	}
	c.apiLog = filepath.Join(dir, "kube-apiserver.log")
	if err := c.spawn("kube-apiserver", apiserver,
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--endpoint-reconciler-type", "none",
		"--secure-port", strconv.Itoa(c.Port),
		"--tls-cert-file", filepath.Join(dir, "server.crt"), "--tls-private-key-file", filepath.Join(dir, "server.key"),
		"--client-ca-file", filepath.Join(dir, "ca.crt"),
		"--token-auth-file", filepath.Join(dir, "tokens.csv"),
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", filepath.Join(dir, "sa.key"),
		"--service-account-signing-key-file", filepath.Join(dir, "sa.key"),
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--cert-dir", filepath.Join(dir, "certs"),
	); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.ca)
	c.admin = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 30 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	for {
		code, _, err := c.do(http.MethodGet, "/readyz", nil, AdminToken)
		if err == nil && code == http.StatusOK {
			break
		}
		for _, p := range c.procs {
			select {
			case <-p.done:
				return nil, fmt.Errorf("%s exited: %s (log: %s)", filepath.Base(p.cmd.Path), p.cmd.ProcessState, c.logTail())
			default:
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("kube-apiserver not ready after 90s (log: %s)", c.logTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
	ok = true
	return c, nil
}

func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(c.apiLog)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
}

// spawn starts a server that dies with the test binary.
func (c *Cluster) spawn(name, path string, args ...string) error {
	logf, err := os.Create(filepath.Join(c.dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	c.procs = append(c.procs, p)
	return nil
}

func (c *Cluster) stop() {
	c.stopOnce.Do(func() {
		for i := len(c.procs) - 1; i >= 0; i-- {
			p := c.procs[i]
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
				<-p.done
			}
		}
		_ = os.RemoveAll(c.dir)
	})
}

// writeCerts makes a CA, the server's certificate (127.0.0.1, localhost)
// and the service-account signing key.
func (c *Cluster) writeCerts() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kubetest-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	c.ca, _ = x509.ParseCertificate(der)
	c.caKey = key
	c.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(c.dir, "ca.crt"), c.caPEM, 0o600); err != nil {
		return err
	}
	certPEM, keyPEM, err := c.ServerCert([]net.IP{net.ParseIP("127.0.0.1")}, []string{"localhost", "kubernetes.default.svc"})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.dir, "server.crt"), certPEM, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.dir, "server.key"), keyPEM, 0o600); err != nil {
		return err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	b, err := x509.MarshalECPrivateKey(saKey)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.dir, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: b}), 0o600)
}

var serial struct {
	sync.Mutex
	n int64
}

func (c *Cluster) sign(tmpl *x509.Certificate) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial.Lock()
	serial.n++
	tmpl.SerialNumber = big.NewInt(100 + serial.n)
	serial.Unlock()
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(48 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.ca, &key.PublicKey, c.caKey)
	if err != nil {
		return nil, nil, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}

// ServerCert is a serving certificate from the cluster's CA.
func (c *Cluster) ServerCert(ips []net.IP, names []string) (certPEM, keyPEM []byte, err error) {
	return c.sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kubetest-server"},
		IPAddresses: ips,
		DNSNames:    names,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
}

// ClientCert is a client certificate for user in groups, which the API
// server accepts (its --client-ca-file is the cluster's CA).
func (c *Cluster) ClientCert(t testing.TB, user string, groups ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	certPEM, keyPEM, err := c.sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: user, Organization: groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM
}

// CAPEM is the cluster's CA certificate.
func (c *Cluster) CAPEM() []byte { return c.caPEM }

// Server is the API server's URL.
func (c *Cluster) Server() string {
	return "https://" + net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// Addr is host:port.
func (c *Cluster) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

func (c *Cluster) do(method, path string, body any, token string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.Server()+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.admin.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// Do makes a call with the admin token and returns the status and body.
func (c *Cluster) Do(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	code, b, err := c.do(method, path, body, AdminToken)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return code, b
}

// Must makes an admin call that must answer 2xx, or 409 when allowExists.
func (c *Cluster) Must(t testing.TB, method, path string, body any, allowExists bool) []byte {
	t.Helper()
	code, b := c.Do(t, method, path, body)
	if code/100 != 2 && !(allowExists && code == http.StatusConflict) {
		t.Fatalf("%s %s: %d %s", method, path, code, b)
	}
	return b
}

// Namespace makes ns if it is not there.
func (c *Cluster) Namespace(t testing.TB, ns string) {
	t.Helper()
	c.Must(t, http.MethodPost, "/api/v1/namespaces", map[string]any{"metadata": map[string]any{"name": ns}}, true)
}

// ServiceAccount makes a service account in ns (and ns), and returns a
// directory laid out as the pod's mount: a real token from TokenRequest,
// the cluster's CA and the namespace.
func (c *Cluster) ServiceAccount(t testing.TB, ns, name string) string {
	t.Helper()
	c.Namespace(t, ns)
	c.Must(t, http.MethodPost, "/api/v1/namespaces/"+ns+"/serviceaccounts", map[string]any{"metadata": map[string]any{"name": name}}, true)
	dir := t.TempDir()
	write := func(n string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("token", []byte(c.Token(t, ns, name)))
	write("ca.crt", c.caPEM)
	write("namespace", []byte(ns))
	return dir
}

// Token is a fresh token for a service account, from TokenRequest.
func (c *Cluster) Token(t testing.TB, ns, name string) string {
	t.Helper()
	b := c.Must(t, http.MethodPost, "/api/v1/namespaces/"+ns+"/serviceaccounts/"+name+"/token",
		map[string]any{"spec": map[string]any{"expirationSeconds": 3600}}, false)
	var tr struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	if err := json.Unmarshal(b, &tr); err != nil || tr.Status.Token == "" {
		t.Fatalf("TokenRequest for %s/%s: no token in %s", ns, name, b)
	}
	return tr.Status.Token
}

// PutSecret writes a Secret with the admin token, replacing one of the
// same name.
func (c *Cluster) PutSecret(t testing.TB, ns, name string, labels map[string]string, data map[string][]byte) {
	t.Helper()
	c.Namespace(t, ns)
	c.Do(t, http.MethodDelete, "/api/v1/namespaces/"+ns+"/secrets/"+name, nil)
	c.Must(t, http.MethodPost, "/api/v1/namespaces/"+ns+"/secrets", map[string]any{
		"metadata": map[string]any{"name": name, "labels": labels},
		"type":     "Opaque",
		"data":     data,
	}, false)
}

// DeleteSecrets removes every Secret of ns.
func (c *Cluster) DeleteSecrets(t testing.TB, ns string) {
	t.Helper()
	c.Do(t, http.MethodDelete, "/api/v1/namespaces/"+ns+"/secrets", nil)
}

// GetSecret reads a Secret with the admin token: its JSON as a map, or nil
// on 404.
func (c *Cluster) GetSecret(t testing.TB, ns, name string) map[string]any {
	t.Helper()
	code, b := c.Do(t, http.MethodGet, "/api/v1/namespaces/"+ns+"/secrets/"+name, nil)
	if code == http.StatusNotFound {
		return nil
	}
	if code != http.StatusOK {
		t.Fatalf("get secret %s/%s: %d %s", ns, name, code, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Apply creates RBAC objects (Role, RoleBinding, ClusterRole,
// ClusterRoleBinding) given as decoded YAML or JSON documents.
func (c *Cluster) Apply(t testing.TB, docs ...map[string]any) {
	t.Helper()
	for _, d := range docs {
		kind, _ := d["kind"].(string)
		md, _ := d["metadata"].(map[string]any)
		ns, _ := md["namespace"].(string)
		name, _ := md["name"].(string)
		var path string
		switch kind {
		case "Role":
			path = "/apis/rbac.authorization.k8s.io/v1/namespaces/" + ns + "/roles"
		case "RoleBinding":
			path = "/apis/rbac.authorization.k8s.io/v1/namespaces/" + ns + "/rolebindings"
		case "ClusterRole":
			path = "/apis/rbac.authorization.k8s.io/v1/clusterroles"
		case "ClusterRoleBinding":
			path = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
		default:
			t.Fatalf("apply: kind %q", kind)
		}
		if ns != "" {
			c.Namespace(t, ns)
		}
		c.Do(t, http.MethodDelete, path+"/"+name, nil)
		c.Must(t, http.MethodPost, path, d, false)
	}
}

// WaitAllowed waits until the authorizer lets user verb the named Secret in
// ns (RBAC objects take effect through an informer, a moment after they
// are created), asking with a SubjectAccessReview.
func (c *Cluster) WaitAllowed(t testing.TB, user, ns, verb, name string) {
	t.Helper()
	review := map[string]any{
		"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
		"spec": map[string]any{
			"user":               user,
			"resourceAttributes": map[string]any{"namespace": ns, "verb": verb, "resource": "secrets", "name": name},
		},
	}
	if strings.HasPrefix(user, "system:serviceaccount:") {
		review["spec"].(map[string]any)["groups"] = []string{"system:serviceaccounts", "system:serviceaccounts:" + strings.Split(user, ":")[2], "system:authenticated"}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		b := c.Must(t, http.MethodPost, "/apis/authorization.k8s.io/v1/subjectaccessreviews", review, false)
		var r struct {
			Status struct {
				Allowed bool `json:"allowed"`
			} `json:"status"`
		}
		if json.Unmarshal(b, &r) == nil && r.Status.Allowed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s may still not %s secret %s/%s after 10s", user, verb, ns, name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PodEnv is the environment a pod has for its API server.
func (c *Cluster) PodEnv() map[string]string {
	return map[string]string{"KUBERNETES_SERVICE_HOST": c.Host, "KUBERNETES_SERVICE_PORT": strconv.Itoa(c.Port)}
}

// ServerCPU is the CPU time etcd and kube-apiserver have used so far, from
// /proc: benchmarks report how much of a run the server's own work took.
func (c *Cluster) ServerCPU() time.Duration {
	var ticks int64
	for _, p := range c.procs {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/stat")
		if err != nil {
			continue
		}
		// The fields after the command name, which is in parentheses.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + s
		}
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ
}
