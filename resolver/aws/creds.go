package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"

	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/httpc"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/readfile"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// environment is what the AWS backends read from the run's environment.
type environment struct {
	AccessKeyID        string `env:"AWS_ACCESS_KEY_ID"`
	SecretAccessKey    string `env:"AWS_SECRET_ACCESS_KEY"`
	SessionToken       string `env:"AWS_SESSION_TOKEN"`
	RoleARN            string `env:"AWS_ROLE_ARN"`
	WebIdentityFile    string `env:"AWS_WEB_IDENTITY_TOKEN_FILE"`
	RoleSessionName    string `env:"AWS_ROLE_SESSION_NAME"`
	ContainerFullURI   string `env:"AWS_CONTAINER_CREDENTIALS_FULL_URI"`
	ContainerRelURI    string `env:"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"`
	ContainerToken     string `env:"AWS_CONTAINER_AUTHORIZATION_TOKEN"`
	ContainerTokenFile string `env:"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"`
	Profile            string `env:"AWS_PROFILE"`
	ConfigFile         string `env:"AWS_CONFIG_FILE"`
	CredentialsFile    string `env:"AWS_SHARED_CREDENTIALS_FILE"`
	Region             string `env:"AWS_REGION"`
	DefaultRegion      string `env:"AWS_DEFAULT_REGION"`
	EndpointSM         string `env:"AWS_ENDPOINT_URL_SECRETS_MANAGER"`
	EndpointSTS        string `env:"AWS_ENDPOINT_URL_STS"`
	Endpoint           string `env:"AWS_ENDPOINT_URL"`
	IMDSDisabled       string `env:"AWS_EC2_METADATA_DISABLED"`
	IMDSEndpoint       string `env:"AWS_EC2_METADATA_SERVICE_ENDPOINT"`
	Home               string `env:"HOME"`
}

func readEnvironment(environ []string) (environment, error) {
	m := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && v != "" && (strings.HasPrefix(k, "AWS_") || k == "HOME") {
			m[k] = v
		}
	}
	var e environment
	err := env.ParseWithOptions(&e, env.Options{Environment: m})
	return e, err
}

// maxCredentialFile bounds a token file, a shared config file and a
// credential process's output.
const maxCredentialFile = 1 << 20

// provider gets credentials from one source.
type provider interface {
	retrieve(ctx context.Context) (Credentials, error)
	name() string
}

// cached keeps a provider's credentials until five minutes before they
// expire.
type cached struct {
	p  provider
	mu sync.Mutex
	c  *Credentials
}

func (c *cached) get(ctx context.Context) (Credentials, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c != nil && (c.c.Expires.IsZero() || time.Until(c.c.Expires) > 5*time.Minute) {
		return *c.c, nil
	}
	cr, err := c.p.retrieve(ctx)
	if err != nil {
		return Credentials{}, err
	}
	c.c = &cr
	return cr, nil
}

// invalidate drops the cached credentials (after an ExpiredToken).
func (c *cached) invalidate() {
	c.mu.Lock()
	c.c = nil
	c.mu.Unlock()
}

// resolveProvider picks the credential source, in this order: the
// environment's keys; a profile named by AWS_PROFILE; web identity (IRSA);
// EKS Pod Identity or ECS container credentials; the default profile of
// the shared files; IMDSv2. The first source that is configured is used,
// and its errors are final: a misconfigured web identity does not fall
// back to the node's role.
func resolveProvider(e environment, hc *httpc.Client) (provider, error) {
	if e.AccessKeyID != "" || e.SecretAccessKey != "" {
		if e.AccessKeyID == "" || e.SecretAccessKey == "" {
			return nil, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together")
		}
		return static{Credentials{AccessKeyID: e.AccessKeyID, SecretAccessKey: e.SecretAccessKey, SessionToken: e.SessionToken, Source: "the environment (AWS_ACCESS_KEY_ID)"}}, nil
	}
	shared, err := loadShared(e)
	if err != nil {
		return nil, err
	}
	if e.Profile != "" {
		return shared.provider(e.Profile, e, hc, 0)
	}
	if e.RoleARN != "" || e.WebIdentityFile != "" {
		if e.RoleARN == "" || e.WebIdentityFile == "" {
			return nil, errors.New("AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE must be set together (web identity)")
		}
		return webIdentity{role: e.RoleARN, tokenFile: e.WebIdentityFile, session: e.RoleSessionName, sts: stsEndpoint(e, ""), region: regionOf(e, shared), hc: hc}, nil
	}
	if e.ContainerFullURI != "" || e.ContainerRelURI != "" {
		return newContainer(e, hc)
	}
	if _, ok := shared.config["default"]; ok {
		return shared.provider("default", e, hc, 0)
	}
	if _, ok := shared.creds["default"]; ok {
		return shared.provider("default", e, hc, 0)
	}
	if strings.EqualFold(e.IMDSDisabled, "true") {
		return nil, errors.New("no AWS credentials: none in the environment, no web identity, no container credentials, no shared profile, and IMDS is disabled (AWS_EC2_METADATA_DISABLED)")
	}
	return imds{endpoint: imdsEndpoint(e), hc: hc}, nil
}

type static struct{ c Credentials }

func (s static) retrieve(context.Context) (Credentials, error) { return s.c, nil }
func (s static) name() string                                  { return s.c.Source }

// shared is the merge of the config and credentials files.
type shared struct {
	config, creds sharedFile
	configPath    string
	credsPath     string
}

func loadShared(e environment) (*shared, error) {
	s := &shared{config: sharedFile{}, creds: sharedFile{}}
	home := e.Home
	s.configPath, s.credsPath = e.ConfigFile, e.CredentialsFile
	if s.configPath == "" && home != "" {
		s.configPath = filepath.Join(home, ".aws", "config")
	}
	if s.credsPath == "" && home != "" {
		s.credsPath = filepath.Join(home, ".aws", "credentials")
	}
	for _, f := range []struct {
		path   string
		config bool
		into   *sharedFile
	}{{s.configPath, true, &s.config}, {s.credsPath, false, &s.creds}} {
		if f.path == "" {
			continue
		}
		data, err := readfile.Regular(f.path, maxCredentialFile)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("AWS shared file %s: %w", spec.Quote(f.path), err)
		}
		parsed, err := parseShared(data, f.config)
		clear(data)
		if err != nil {
			return nil, fmt.Errorf("AWS shared file %s: %w", spec.Quote(f.path), err)
		}
		*f.into = parsed
	}
	return s, nil
}

// setting is a profile's key from the credentials file, else the config.
func (s *shared) setting(profile, key string) string {
	if v := s.creds[profile][key]; v != "" {
		return v
	}
	return s.config[profile][key]
}

func (s *shared) has(profile string) bool {
	_, a := s.config[profile]
	_, b := s.creds[profile]
	return a || b
}

// provider is the credential source a profile describes.
func (s *shared) provider(profile string, e environment, hc *httpc.Client, depth int) (provider, error) {
	where := "profile " + spec.Quote(profile)
	if depth > 4 {
		return nil, fmt.Errorf("%s: source_profile chains more than 4 deep", where)
	}
	if !s.has(profile) {
		return nil, fmt.Errorf("AWS %s is in neither %s nor %s", where, spec.Quote(s.configPath), spec.Quote(s.credsPath))
	}
	if s.setting(profile, "sso_session") != "" || s.setting(profile, "sso_start_url") != "" || s.setting(profile, "sso_account_id") != "" {
		return nil, fmt.Errorf("%s uses AWS SSO, which the shim does not sign in to: export its credentials first (eval \"$(aws configure export-credentials --profile %s --format env)\")", where, profile)
	}
	if role := s.setting(profile, "role_arn"); role != "" {
		src := s.setting(profile, "source_profile")
		if src == "" {
			if s.setting(profile, "web_identity_token_file") != "" {
				return webIdentity{role: role, tokenFile: s.setting(profile, "web_identity_token_file"), session: s.setting(profile, "role_session_name"), sts: stsEndpoint(e, s.setting(profile, "region")), region: regionOfProfile(e, s, profile), hc: hc}, nil
			}
			return nil, fmt.Errorf("%s: role_arn needs source_profile (credential_source is not supported)", where)
		}
		base, err := s.provider(src, e, hc, depth+1)
		if err != nil {
			return nil, err
		}
		return assumeRole{role: role, session: s.setting(profile, "role_session_name"), external: s.setting(profile, "external_id"), base: &cached{p: base}, sts: stsEndpoint(e, s.setting(profile, "region")), region: regionOfProfile(e, s, profile), hc: hc, profile: profile}, nil
	}
	if cmd := s.setting(profile, "credential_process"); cmd != "" {
		return process{command: cmd, profile: profile}, nil
	}
	id, key := s.setting(profile, "aws_access_key_id"), s.setting(profile, "aws_secret_access_key")
	if id != "" && key != "" {
		return static{Credentials{AccessKeyID: id, SecretAccessKey: key, SessionToken: s.setting(profile, "aws_session_token"), Source: where}}, nil
	}
	return nil, fmt.Errorf("%s has no credentials (no keys, role_arn or credential_process)", where)
}

// regionOf is AWS_REGION, AWS_DEFAULT_REGION, then the profile's region.
func regionOf(e environment, s *shared) string {
	p := e.Profile
	if p == "" {
		p = "default"
	}
	return regionOfProfile(e, s, p)
}

func regionOfProfile(e environment, s *shared, profile string) string {
	if e.Region != "" {
		return e.Region
	}
	if e.DefaultRegion != "" {
		return e.DefaultRegion
	}
	if s != nil {
		return s.config[profile]["region"]
	}
	return ""
}

func stsEndpoint(e environment, region string) string {
	switch {
	case e.EndpointSTS != "":
		return e.EndpointSTS
	case e.Endpoint != "":
		return e.Endpoint
	}
	if region == "" {
		region = e.Region
	}
	if region == "" {
		region = e.DefaultRegion
	}
	if region == "" {
		return "https://sts.amazonaws.com"
	}
	return "https://sts." + region + ".amazonaws.com"
}

// webIdentity is IRSA: the projected token traded with STS
// AssumeRoleWithWebIdentity, read again for each trade.
type webIdentity struct {
	role, tokenFile, session, sts, region string
	hc                                    *httpc.Client
}

func (w webIdentity) name() string { return "web identity role " + w.role }

func (w webIdentity) retrieve(ctx context.Context) (Credentials, error) {
	tok, err := readfile.Regular(w.tokenFile, maxCredentialFile)
	if err != nil {
		return Credentials{}, fmt.Errorf("%s: the token file %s: %w", w.name(), spec.Quote(w.tokenFile), err)
	}
	defer clear(tok)
	session := w.session
	if session == "" {
		session = "flyte-entrypoint-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	}
	form := url.Values{
		"Action":           {"AssumeRoleWithWebIdentity"},
		"Version":          {"2011-06-15"},
		"RoleArn":          {w.role},
		"RoleSessionName":  {session},
		"WebIdentityToken": {strings.TrimSpace(string(tok))},
	}
	c, err := stsCall(ctx, w.hc, w.sts, form, nil, w.region)
	if err != nil {
		return Credentials{}, fmt.Errorf("%s: %w", w.name(), err)
	}
	c.Source = w.name()
	return c, nil
}

// assumeRole is a profile's role_arn with source_profile: STS AssumeRole,
// signed with the source profile's credentials.
type assumeRole struct {
	role, session, external, sts, region, profile string
	base                                          *cached
	hc                                            *httpc.Client
}

func (a assumeRole) name() string {
	return "role " + a.role + " of profile " + spec.Quote(a.profile)
}

func (a assumeRole) retrieve(ctx context.Context) (Credentials, error) {
	base, err := a.base.get(ctx)
	if err != nil {
		return Credentials{}, err
	}
	session := a.session
	if session == "" {
		session = "flyte-entrypoint-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	}
	form := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {a.role}, "RoleSessionName": {session}}
	if a.external != "" {
		form.Set("ExternalId", a.external)
	}
	c, err := stsCall(ctx, a.hc, a.sts, form, &base, a.region)
	if err != nil {
		return Credentials{}, fmt.Errorf("%s: %w", a.name(), err)
	}
	c.Source = a.name()
	return c, nil
}

// stsCall makes one STS query call and reads the credentials from its XML
// answer. signer, when set, signs it; web identity is unsigned, as the SDKs
// send it.
func stsCall(ctx context.Context, hc *httpc.Client, endpoint string, form url.Values, signer *Credentials, region string) (Credentials, error) {
	body := []byte(form.Encode())
	defer clear(body)
	req, err := newRequest("POST", strings.TrimSuffix(endpoint, "/")+"/", body, false, maxCredentialFile)
	if err != nil {
		return Credentials{}, fmt.Errorf("STS endpoint %s: %w", spec.Quote(endpoint), err)
	}
	setField(req, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if signer != nil {
		if region == "" {
			region = "us-east-1"
		}
		sign(req, body, *signer, region, "sts", time.Now())
	}
	resp, err := hc.Do(ctx, req)
	if err != nil {
		return Credentials{}, fmt.Errorf("STS: %w", err)
	}
	data := resp.Body
	defer clear(data)
	if resp.StatusCode != 200 {
		return Credentials{}, fmt.Errorf("STS answered %d %s", resp.StatusCode, word(xmlText(data, "Code")))
	}
	c := Credentials{
		AccessKeyID:     xmlText(data, "AccessKeyId"),
		SecretAccessKey: xmlText(data, "SecretAccessKey"),
		SessionToken:    xmlText(data, "SessionToken"),
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return Credentials{}, errors.New("STS answered without credentials")
	}
	if t, err := time.Parse(time.RFC3339, xmlText(data, "Expiration")); err == nil {
		c.Expires = t
	}
	return c, nil
}

// xmlText is the text of the first <tag> element in an AWS query answer,
// entities decoded. The answers are flat enough that a search does what
// an XML decoder would, without its cost at every start.
func xmlText(data []byte, tag string) string {
	open, end := []byte("<"+tag+">"), []byte("</"+tag+">")
	i := bytes.Index(data, open)
	if i < 0 {
		return ""
	}
	rest := data[i+len(open):]
	j := bytes.Index(rest, end)
	if j < 0 {
		return ""
	}
	return xmlUnescape().Replace(strings.TrimSpace(string(rest[:j])))
}

// xmlUnescape is made on first use, not at every start.
var xmlUnescape = sync.OnceValue(func() *strings.Replacer {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'", "&amp;", "&")
})

// word keeps an error code that is one plain word, else nothing: a server's
// text is never shown.
func word(s string) string {
	if s == "" || len(s) > 64 {
		return ""
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_') {
			return ""
		}
	}
	return "(" + s + ")"
}

// process is a profile's credential_process, run through sh -c as the
// SDKs run it. Its output holds the credentials and its messages may: a
// failure shows neither.
type process struct{ command, profile string }

func (p process) name() string { return "the credential_process of profile " + spec.Quote(p.profile) }

func (p process) retrieve(ctx context.Context) (Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", p.command)
	var out bytes.Buffer
	cmd.Stdout = &limited{w: &out, n: maxCredentialFile}
	err := cmd.Run()
	defer clear(out.Bytes())
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return Credentials{}, fmt.Errorf("%s failed (%s); its messages are not shown, since they may hold credentials: run it yourself to see them", p.name(), ee.ProcessState)
		}
		return Credentials{}, fmt.Errorf("%s: %w", p.name(), err)
	}
	var v struct {
		Version         int
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	if json.Unmarshal(out.Bytes(), &v) != nil {
		return Credentials{}, fmt.Errorf("%s did not print credentials as JSON", p.name())
	}
	if v.Version != 1 || v.AccessKeyID == "" || v.SecretAccessKey == "" {
		return Credentials{}, fmt.Errorf("%s printed no Version 1 credentials (AccessKeyId and SecretAccessKey)", p.name())
	}
	c := Credentials{AccessKeyID: v.AccessKeyID, SecretAccessKey: v.SecretAccessKey, SessionToken: v.SessionToken, Source: p.name()}
	if v.Expiration != "" {
		t, err := time.Parse(time.RFC3339, v.Expiration)
		if err != nil {
			return Credentials{}, fmt.Errorf("%s printed an Expiration that is not RFC 3339", p.name())
		}
		c.Expires = t
	}
	return c, nil
}

// limited keeps at most n bytes.
type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(b []byte) (int, error) {
	if len(b) > l.n {
		_, _ = l.w.Write(b[:l.n])
		l.n = 0
		return len(b), nil
	}
	l.n -= len(b)
	return l.w.Write(b)
}

// container is EKS Pod Identity or ECS: an HTTP endpoint on the node that
// hands out the task's credentials, with an authorization token.
type container struct {
	uri, token, tokenFile string
	hc                    *httpc.Client
}

func newContainer(e environment, hc *httpc.Client) (provider, error) {
	uri := e.ContainerFullURI
	if uri == "" {
		uri = "http://169.254.170.2" + e.ContainerRelURI
	}
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("the container credentials URI %s is not a URL", spec.Quote(uri))
	}
	if e.ContainerFullURI != "" && u.Scheme == "http" && !allowedContainerHost(u.Hostname()) {
		return nil, fmt.Errorf("the container credentials URI %s: plain http is allowed only to a loopback address or the EKS and ECS endpoints", spec.Quote(uri))
	}
	return container{uri: uri, token: e.ContainerToken, tokenFile: e.ContainerTokenFile, hc: hc}, nil
}

func allowedContainerHost(h string) bool {
	switch h {
	case "169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost":
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (c container) name() string { return "container credentials at " + spec.Quote(c.uri) }

func (c container) retrieve(ctx context.Context) (Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := newRequest("GET", c.uri, nil, true, maxCredentialFile)
	if err != nil {
		return Credentials{}, fmt.Errorf("%s: %w", c.name(), err)
	}
	tok := c.token
	if c.tokenFile != "" {
		b, err := readfile.Regular(c.tokenFile, maxCredentialFile)
		if err != nil {
			return Credentials{}, fmt.Errorf("%s: the authorization token file %s: %w", c.name(), spec.Quote(c.tokenFile), err)
		}
		tok = strings.TrimSpace(string(b))
		clear(b)
	}
	if tok != "" {
		setField(req, "Authorization", tok)
	}
	resp, err := c.hc.Do(ctx, req)
	if err != nil {
		return Credentials{}, fmt.Errorf("%s: %w", c.name(), err)
	}
	data := resp.Body
	defer clear(data)
	if resp.StatusCode != 200 {
		return Credentials{}, fmt.Errorf("%s answered %d %s (is the authorization token right?)", c.name(), resp.StatusCode, httpc.StatusText(resp.StatusCode))
	}
	return parseCredentialJSON(data, c.name())
}

func parseCredentialJSON(data []byte, source string) (Credentials, error) {
	var v struct {
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		Token           string
		Expiration      string
	}
	if json.Unmarshal(data, &v) != nil || v.AccessKeyID == "" || v.SecretAccessKey == "" {
		return Credentials{}, fmt.Errorf("%s answered without credentials", source)
	}
	c := Credentials{AccessKeyID: v.AccessKeyID, SecretAccessKey: v.SecretAccessKey, SessionToken: v.Token, Source: source}
	if t, err := time.Parse(time.RFC3339, v.Expiration); err == nil {
		c.Expires = t
	}
	return c, nil
}

// imds is the EC2 instance's role, through IMDSv2 (a session token first).
type imds struct {
	endpoint string
	hc       *httpc.Client
}

func imdsEndpoint(e environment) string {
	if e.IMDSEndpoint != "" {
		return strings.TrimSuffix(e.IMDSEndpoint, "/")
	}
	return "http://169.254.169.254"
}

func (m imds) name() string { return "the instance role (IMDS at " + m.endpoint + ")" }

// call makes one IMDS request; token is "" for the token request itself.
func (m imds) call(ctx context.Context, method, path, token string) ([]byte, error) {
	req, err := newRequest(method, m.endpoint+path, nil, true, maxCredentialFile)
	if err != nil {
		return nil, err
	}
	if token == "" {
		setField(req, "X-aws-ec2-metadata-token-ttl-seconds", "21600")
	} else {
		setField(req, "X-aws-ec2-metadata-token", token)
	}
	resp, err := m.hc.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	data := resp.Body
	if resp.StatusCode != 200 {
		clear(data)
		return nil, fmt.Errorf("%s %s answered %d %s", method, path, resp.StatusCode, httpc.StatusText(resp.StatusCode))
	}
	return data, nil
}

func (m imds) token(ctx context.Context) (string, error) {
	b, err := m.call(ctx, "PUT", "/latest/api/token", "")
	if err != nil {
		return "", fmt.Errorf("%s: no session token: %w", m.name(), err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (m imds) retrieve(ctx context.Context) (Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	tok, err := m.token(ctx)
	if err != nil {
		return Credentials{}, fmt.Errorf("no AWS credentials: none in the environment, no web identity, no container credentials, no shared profile, and %w", err)
	}
	role, err := m.call(ctx, "GET", "/latest/meta-data/iam/security-credentials/", tok)
	if err != nil {
		return Credentials{}, fmt.Errorf("%s: no role: %w", m.name(), err)
	}
	name := strings.TrimSpace(strings.SplitN(string(role), "\n", 2)[0])
	if name == "" || strings.ContainsAny(name, "/?#") {
		return Credentials{}, fmt.Errorf("%s: no role attached to the instance", m.name())
	}
	data, err := m.call(ctx, "GET", "/latest/meta-data/iam/security-credentials/"+url.PathEscape(name), tok)
	if err != nil {
		return Credentials{}, fmt.Errorf("%s: %w", m.name(), err)
	}
	defer clear(data)
	return parseCredentialJSON(data, m.name())
}

// region asks IMDS for the instance's region.
func (m imds) region(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	tok, err := m.token(ctx)
	if err != nil {
		return "", err
	}
	b, err := m.call(ctx, "GET", "/latest/meta-data/placement/region", tok)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
