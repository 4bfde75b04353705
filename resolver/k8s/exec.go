package k8s

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// The exec credential plugin API versions read here. v1beta1 has the same
// shape, and older EKS kubeconfigs still name it.
const (
	execV1      = "client.authentication.k8s.io/v1"
	execV1beta1 = "client.authentication.k8s.io/v1beta1"
)

// pluginTimeout bounds one run of a credential plugin.
const pluginTimeout = 60 * time.Second

// maxPluginOutput bounds what a plugin may print.
const maxPluginOutput = 1 << 20

// plugin is an exec credential plugin (client.authentication.k8s.io), as
// EKS, GKE and AKS kubeconfigs use: a command that prints an ExecCredential
// with a token or a client certificate. It runs when a credential is first
// needed and again when the last one expired or the server refused it.
//
// Its output holds credentials, and so may its messages: neither is ever
// shown. A failure says which command failed and how, and gives the
// kubeconfig's installHint.
type plugin struct {
	command     string
	args        []string
	env         []string
	apiVersion  string
	installHint string
	clusterInfo []byte // KUBERNETES_EXEC_INFO's spec.cluster, when asked for

	mu      sync.Mutex
	cred    *execStatus
	expires time.Time
}

type execCredential struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Status     *execStatus `json:"status"`
}

type execStatus struct {
	Token                 string `json:"token"`
	ClientCertificateData string `json:"clientCertificateData"`
	ClientKeyData         string `json:"clientKeyData"`
	ExpirationTimestamp   string `json:"expirationTimestamp"`
}

func newPlugin(e entry, environ []string, cluster entry) (*plugin, error) {
	p := &plugin{
		command:     e.str("command"),
		apiVersion:  e.str("apiVersion"),
		installHint: strings.TrimSpace(e.str("installHint")),
	}
	if p.command == "" {
		return nil, errors.New("exec: no command")
	}
	switch p.apiVersion {
	case execV1, execV1beta1:
	default:
		return nil, fmt.Errorf("exec: apiVersion %s is not supported (want %s)", spec.Quote(p.apiVersion), execV1)
	}
	if e.str("interactiveMode") == "Always" {
		return nil, fmt.Errorf("exec: %s needs a terminal (interactiveMode: Always), and the shim runs it without one", spec.Quote(p.command))
	}
	// A command with a slash but not absolute is relative to the kubeconfig.
	if strings.Contains(p.command, "/") && !filepath.IsAbs(p.command) {
		p.command = filepath.Join(filepath.Dir(e.file), p.command)
	}
	if args, ok := e.fields["args"].([]any); ok {
		for _, a := range args {
			s, _ := a.(string)
			p.args = append(p.args, s)
		}
	}
	p.env = append([]string(nil), environ...)
	if vars, ok := e.fields["env"].([]any); ok {
		for i, v := range vars {
			m, _ := v.(map[string]any)
			name, _ := m["name"].(string)
			value, _ := m["value"].(string)
			if name == "" || strings.Contains(name, "=") {
				return nil, fmt.Errorf("exec: env[%d] has no valid name", i)
			}
			p.env = append(p.env, name+"="+value)
		}
	}
	if e.str("provideClusterInfo") == "true" {
		info := map[string]any{"server": cluster.str("server")}
		if n := cluster.str("tls-server-name"); n != "" {
			info["tls-server-name"] = n
		}
		if cluster.str("insecure-skip-tls-verify") == "true" {
			info["insecure-skip-tls-verify"] = true
		}
		if ca, err := cluster.data("certificate-authority", "CA bundle"); err == nil && ca != nil {
			info["certificate-authority-data"] = ca // []byte: base64 in JSON
		}
		b, err := json.Marshal(info)
		if err != nil {
			return nil, err
		}
		p.clusterInfo = b
	}
	return p, nil
}

// current returns the cached credential, running the plugin when there is
// none or it has expired.
func (p *plugin) current(ctx context.Context) (*execStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cred != nil && (p.expires.IsZero() || time.Now().Before(p.expires)) {
		return p.cred, nil
	}
	cred, err := p.run(ctx)
	if err != nil {
		return nil, err
	}
	p.cred, p.expires = cred, time.Time{}
	if cred.ExpirationTimestamp != "" {
		t, err := time.Parse(time.RFC3339, cred.ExpirationTimestamp)
		if err != nil {
			return nil, fmt.Errorf("exec plugin %s: expirationTimestamp is not RFC 3339", spec.Quote(p.command))
		}
		p.expires = t
	}
	return cred, nil
}

// refresh runs the plugin again and reports whether its token changed.
func (p *plugin) refresh(ctx context.Context) bool {
	p.mu.Lock()
	var old string
	if p.cred != nil {
		old = p.cred.Token
	}
	p.cred = nil
	p.mu.Unlock()
	c, err := p.current(ctx)
	return err == nil && c.Token != old
}

func (p *plugin) token(ctx context.Context) (string, error) {
	c, err := p.current(ctx)
	if err != nil {
		return "", err
	}
	return c.Token, nil
}

func (p *plugin) clientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	ctx, cancel := context.WithTimeout(context.Background(), pluginTimeout)
	defer cancel()
	c, err := p.current(ctx)
	if err != nil {
		return nil, err
	}
	if c.ClientCertificateData == "" {
		return &tls.Certificate{}, nil // none: the token authenticates
	}
	pair, err := tls.X509KeyPair([]byte(c.ClientCertificateData), []byte(c.ClientKeyData))
	if err != nil {
		return nil, fmt.Errorf("exec plugin %s: clientCertificateData and clientKeyData are not a key pair", spec.Quote(p.command))
	}
	return &pair, nil
}

func (p *plugin) run(ctx context.Context) (*execStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, pluginTimeout)
	defer cancel()
	info := `{"apiVersion":"` + p.apiVersion + `","kind":"ExecCredential","spec":{"interactive":false`
	if p.clusterInfo != nil {
		info += `,"cluster":` + string(p.clusterInfo)
	}
	info += "}}"
	cmd := exec.CommandContext(ctx, p.command, p.args...)
	cmd.Env = append(p.env, "KUBERNETES_EXEC_INFO="+info)
	out := &capped{limit: maxPluginOutput}
	cmd.Stdout = out // stdin and stderr: /dev/null
	err := cmd.Run()
	name := spec.Quote(p.command)
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("exec plugin %s did not finish in time: %w", name, ctx.Err())
	case errors.Is(err, exec.ErrNotFound):
		return nil, p.hint(fmt.Errorf("exec plugin %s: command not found", name))
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("exec plugin %s failed (%s); its messages are not shown, since they may hold credentials: run it yourself to see them", name, ee.ProcessState)
		} else {
			err = fmt.Errorf("exec plugin %s: %w", name, err)
		}
		return nil, p.hint(err)
	case out.over:
		return nil, fmt.Errorf("exec plugin %s printed more than %d bytes", name, maxPluginOutput)
	}
	return parseExecCredential(out.buf.Bytes(), p.apiVersion, name)
}

// parseExecCredential reads a plugin's output. Errors never quote it.
func parseExecCredential(out []byte, apiVersion, name string) (*execStatus, error) {
	var cred execCredential
	if json.Unmarshal(out, &cred) != nil {
		return nil, fmt.Errorf("exec plugin %s did not print an ExecCredential (JSON)", name)
	}
	switch {
	case cred.Kind != "ExecCredential":
		return nil, fmt.Errorf("exec plugin %s printed a kind other than ExecCredential", name)
	case cred.APIVersion != apiVersion:
		return nil, fmt.Errorf("exec plugin %s printed an apiVersion other than %s", name, apiVersion)
	case cred.Status == nil || (cred.Status.Token == "" && cred.Status.ClientCertificateData == ""):
		return nil, fmt.Errorf("exec plugin %s printed no token and no client certificate", name)
	case (cred.Status.ClientCertificateData == "") != (cred.Status.ClientKeyData == ""):
		return nil, fmt.Errorf("exec plugin %s printed a client certificate without its key, or a key without its certificate", name)
	}
	return cred.Status, nil
}

func (p *plugin) hint(err error) error {
	if p.installHint == "" {
		return err
	}
	return fmt.Errorf("%w\n%s", err, p.installHint)
}

// capped keeps up to limit bytes and remembers whether more came.
type capped struct {
	buf   bytes.Buffer
	limit int
	over  bool
}

func (c *capped) Write(b []byte) (int, error) {
	if room := c.limit - c.buf.Len(); len(b) > room {
		c.over = true
		c.buf.Write(b[:max(room, 0)])
		return len(b), nil
	}
	return c.buf.Write(b)
}

// decodeBase64 is base64 of either alphabet, for fields that kubeconfig
// writers fill inconsistently.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}
