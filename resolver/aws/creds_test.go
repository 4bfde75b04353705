package aws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/awstest"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
)

const canary = "CANARY-aws-7e21"

var org = resolver.Scope{Org: "flyte"}

// seed stores org-level secrets through boto3 (an independent client).
func seed(t *testing.T, m *awstest.Moto, values map[string]string) {
	t.Helper()
	b, _ := json.Marshal(values)
	m.Boto(t, fmt.Sprintf(`
for k, v in json.loads(%q).items():
    sm.create_secret(Name='u__org__flyte__domain____project____key__' + k, SecretString=v)
`, string(b)))
}

// resolve looks keys up at the org through the aws link built from environ.
func resolve(t *testing.T, environ []string, values map[string]string, keys ...string) []resolver.Result {
	t.Helper()
	l := link(t, "aws", environ, values, nil)
	refs := make([]resolver.Ref, len(keys))
	for i, k := range keys {
		refs[i] = resolver.Ref{Key: k}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return resolver.NewChain([]resolver.Link{l}, org, nil).ResolveAll(ctx, refs)
}

func noCanary(t *testing.T, rs ...resolver.Result) {
	t.Helper()
	for _, r := range rs {
		if r.Err != nil {
			assert.NotContains(t, r.Err.Error(), canary)
			assert.NotContains(t, r.Err.Error(), "CANARY")
		}
		for _, a := range r.Trail {
			assert.NotContains(t, a.Reason()+a.Detail, "CANARY")
		}
	}
}

// base is moto's endpoint and region, without credentials.
func base(m *awstest.Moto, extra ...string) []string {
	return append([]string{"AWS_REGION=" + awstest.Region, "AWS_ENDPOINT_URL=" + m.URL, "AWS_EC2_METADATA_DISABLED=true", "HOME=/nonexistent"}, extra...)
}

// TestWebIdentity: IRSA, the projected token traded with moto's STS, read
// from its file for each trade.
func TestWebIdentity(t *testing.T) {
	m := awstest.Start(t)
	m.Reset(t)
	seed(t, m, map[string]string{"k": canary})
	proxy := m.FaultProxy(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("eyJ.projected-token.sig\n"), 0o600))
	env := base(m, "AWS_ROLE_ARN=arn:aws:iam::"+awstest.Account+":role/task", "AWS_WEB_IDENTITY_TOKEN_FILE="+tokenFile,
		"AWS_ROLE_SESSION_NAME=task-session", "AWS_ENDPOINT_URL_STS="+proxy.URL)
	r := resolve(t, env, nil, "k")[0]
	require.NoError(t, r.Err)
	assert.Equal(t, canary, string(r.Value.Bytes()))
	require.Equal(t, 1, proxy.Count("sts.AssumeRoleWithWebIdentity"))
	form, err := url.ParseQuery(proxy.Bodies()[0])
	require.NoError(t, err)
	assert.Equal(t, "eyJ.projected-token.sig", form.Get("WebIdentityToken"), "the token came from its file")
	assert.Equal(t, "task-session", form.Get("RoleSessionName"))

	require.NoError(t, os.Remove(tokenFile))
	r = resolve(t, env, nil, "k")[0]
	require.Error(t, r.Err)
	assert.Contains(t, r.Err.Error(), "web identity role arn:aws:iam::"+awstest.Account+":role/task: the token file")
}

// fakeContainer is a fake EKS Pod Identity agent: it hands out the test
// key to a request with the right authorization token.
func fakeContainer(t *testing.T, token string) (string, *atomic.Int64) {
	var calls atomic.Int64
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != token {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"CANARY-bad-token"}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"AccessKeyId": awstest.AccessKey, "SecretAccessKey": awstest.SecretKey, "Token": "session-token", "Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String() + "/v1/credentials", &calls
}

func TestPodIdentity(t *testing.T) {
	m := awstest.Start(t)
	m.Reset(t)
	seed(t, m, map[string]string{"k": canary})
	uri, calls := fakeContainer(t, "right-token")
	tokenFile := filepath.Join(t.TempDir(), "eks-pod-identity-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("right-token"), 0o600))
	env := base(m, "AWS_CONTAINER_CREDENTIALS_FULL_URI="+uri, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="+tokenFile)
	rs := resolve(t, env, nil, "k", "k")
	require.NoError(t, rs[0].Err)
	assert.Equal(t, canary, string(rs[0].Value.Bytes()))
	assert.Equal(t, int64(1), calls.Load(), "the credentials are kept until they expire")

	require.NoError(t, os.WriteFile(tokenFile, []byte("wrong-token"), 0o600))
	r := resolve(t, env, nil, "k")[0]
	require.Error(t, r.Err, "a wrong authorization token is refused")
	assert.Contains(t, r.Err.Error(), "401 Unauthorized")
	noCanary(t, r)

	_, err := os.Stat("/nonexistent")
	require.Error(t, err)
	r = resolve(t, base(m, "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://example.com/creds"), nil, "k")[0]
	require.Error(t, r.Err)
	assert.Contains(t, r.Err.Error(), "plain http is allowed only to a loopback address")
}

// profiles writes a config file and returns its environment.
func profiles(t *testing.T, m *awstest.Moto, config string) []string {
	dir := t.TempDir()
	p := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(p, []byte(config), 0o600))
	return base(m, "AWS_CONFIG_FILE="+p, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"))
}

func TestSharedProfiles(t *testing.T) {
	m := awstest.Start(t)
	m.Reset(t)
	seed(t, m, map[string]string{"k": canary})
	script := filepath.Join(t.TempDir(), "creds.sh")
	require.NoError(t, os.WriteFile(script, []byte(fmt.Sprintf("#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"%s\"}'\n", awstest.AccessKey, awstest.SecretKey)), 0o700))
	failing := filepath.Join(t.TempDir(), "fail.sh")
	require.NoError(t, os.WriteFile(failing, []byte("#!/bin/sh\necho "+canary+"; echo "+canary+" >&2; exit 4\n"), 0o700))
	config := fmt.Sprintf(`[default]
region = us-east-1

[profile static]
aws_access_key_id = %s
aws_secret_access_key = %s

[profile process]
credential_process = %s --flag

[profile broken-process]
credential_process = %s

[profile role]
role_arn = arn:aws:iam::%s:role/admin
source_profile = static
role_session_name = from-profile

[profile sso]
sso_session = corp
sso_account_id = 123

[sso-session corp]
sso_start_url = https://example.awsapps.com/start
`, awstest.AccessKey, awstest.SecretKey, script, failing, awstest.Account)

	for _, tc := range []struct{ profile, wantErr string }{
		{"static", ""},
		{"process", ""},
		{"role", ""},
		{"broken-process", "failed (exit status 4); its messages are not shown"},
		{"sso", "uses AWS SSO, which the shim does not sign in to: export its credentials first (eval \"$(aws configure export-credentials --profile sso --format env)\")"},
		{"missing", `AWS profile "missing" is in neither`},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			env := append(profiles(t, m, config), "AWS_PROFILE="+tc.profile)
			r := resolve(t, env, nil, "k")[0]
			noCanary(t, r)
			if tc.wantErr != "" {
				require.Error(t, r.Err)
				assert.Contains(t, r.Err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, r.Err)
			assert.Equal(t, canary, string(r.Value.Bytes()))
		})
	}
}

// fakeIMDS is a fake EC2 instance metadata service (IMDSv2 only).
func fakeIMDS(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/api/token" {
			if r.Method != http.MethodPut {
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			fmt.Fprint(w, "imds-session")
			return
		}
		if r.Header.Get("X-aws-ec2-metadata-token") != "imds-session" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/latest/meta-data/iam/security-credentials/":
			fmt.Fprint(w, "node-role")
		case "/latest/meta-data/iam/security-credentials/node-role":
			json.NewEncoder(w).Encode(map[string]string{"Code": "Success", "AccessKeyId": awstest.AccessKey, "SecretAccessKey": awstest.SecretKey, "Token": "t", "Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
		case "/latest/meta-data/placement/region":
			fmt.Fprint(w, awstest.Region)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

func TestIMDS(t *testing.T) {
	m := awstest.Start(t)
	m.Reset(t)
	seed(t, m, map[string]string{"k": canary})
	env := []string{"AWS_ENDPOINT_URL=" + m.URL, "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + fakeIMDS(t), "HOME=/nonexistent"}
	r := resolve(t, env, nil, "k")[0]
	require.NoError(t, r.Err, "credentials and the region from IMDS")
	assert.Equal(t, canary, string(r.Value.Bytes()))

	r = resolve(t, []string{"AWS_ENDPOINT_URL=" + m.URL, "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "HOME=/nonexistent"}, nil, "k")[0]
	require.Error(t, r.Err)
	assert.Contains(t, r.Err.Error(), "no AWS credentials")
}

// TestCredentialsNeverShow: a key in the environment, and a secret key
// that is a canary: no error text holds it, whatever fails.
func TestCredentialsNeverShow(t *testing.T) {
	m := awstest.Start(t)
	m.Reset(t)
	seed(t, m, map[string]string{"k": "v"})
	m.EnforceAuth(t)
	defer m.Reset(t)
	r := resolve(t, base(m, "AWS_ACCESS_KEY_ID=AKIACANARYKEY", "AWS_SECRET_ACCESS_KEY="+canary, "AWS_SESSION_TOKEN=CANARY-session"), nil, "k")[0]
	require.Error(t, r.Err)
	assert.Contains(t, r.Err.Error(), "the environment (AWS_ACCESS_KEY_ID)")
	noCanary(t, r)
	assert.NotContains(t, r.Err.Error(), "AKIACANARYKEY")
}

var _ = strings.Contains
var _ = manage.TypeRegular
var _ = secret.New
