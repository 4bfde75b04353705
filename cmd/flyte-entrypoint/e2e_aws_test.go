package main_test

// The AWS end-to-end tests: the real binary against moto (internal/awstest),
// with boto3 as the independent client that seeds and reads back.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/awstest"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
)

const awsCanary = "CANARY-e2e-aws-3b80"

func awsEnv(m *awstest.Moto) map[string]string {
	env := map[string]string{}
	for _, kv := range m.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

func assertNoAWSCanary(t *testing.T, res result) {
	t.Helper()
	b64 := base64.StdEncoding.EncodeToString([]byte(awsCanary))[:16]
	for _, s := range []string{res.stdout, res.stderr} {
		assert.NotContains(t, s, awsCanary)
		assert.NotContains(t, s, b64)
		assert.NotContains(t, s, awstest.SecretKey)
	}
}

// TestAWSRunBothLayouts: a start reads Flyte 2's layout with scope
// fallback and Flyte 1's ARN SecretIds, string and binary, as env and
// files; dry-run and explain say what was asked.
func TestAWSRunBothLayouts(t *testing.T) {
	m := awstest.Start(t)
	m.Reset(t)
	arn := strings.TrimSpace(m.Boto(t, fmt.Sprintf(`
sm.create_secret(Name='u__org__flyte__domain__development__project__flytesnacks__key__db-pass', SecretBinary=b'\x00\x01\xff%s')
sm.create_secret(Name='u__org__flyte__domain____project____key__db-pass', SecretString='org-must-lose')
sm.create_secret(Name='u__org__flyte__domain__development__project____key__api-key', SecretString='%s-dom')
print(sm.create_secret(Name='legacy/token', SecretString='%s-v1')['ARN'])
`, awsCanary, awsCanary, awsCanary)))
	group := arn[:strings.LastIndex(arn, ":")]
	key := arn[strings.LastIndex(arn, ":")+1:]
	args := []string{"--backends", "aws-v1,aws", "--project", "flytesnacks", "--domain", "development", "--log-level", "debug",
		"--secret", "key=db-pass,mount=/etc/flyte/secrets",
		"--secret", "key=api-key,env=API_KEY",
		"--secret", "key=" + key + ",group=" + group + ",env=LEGACY",
	}
	res := run{args: args, env: awsEnv(m)}.exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	require.NotNil(t, res.rec)
	assert.Equal(t, append([]byte{0, 1, 0xff}, awsCanary...), res.rec.Files["db-pass"], "project scope, SecretBinary")
	v, _ := res.rec.env("API_KEY")
	assert.Equal(t, awsCanary+"-dom", v)
	v, _ = res.rec.env("LEGACY")
	assert.Equal(t, awsCanary+"-v1", v, "Flyte 1's layout serves env requests too")
	assertNoAWSCanary(t, res)

	dry := run{noCmd: true, args: append([]string{"dry-run", "-o", "json"}, args...), env: awsEnv(m)}.exec(t)
	require.Equal(t, 0, dry.code, dry.stderr)
	assertNoAWSCanary(t, dry)
	var rep struct {
		Secrets []struct{ Backend, Lookup string }
	}
	require.NoError(t, json.Unmarshal([]byte(dry.stdout), &rep))
	assert.Equal(t, "aws", rep.Secrets[0].Backend)
	assert.Contains(t, rep.Secrets[0].Lookup, `region us-east-1, SecretId "u__org__flyte__domain__development__project__flytesnacks__key__db-pass": BatchGetSecretValue OK`)
	assert.Equal(t, "aws-v1", rep.Secrets[2].Backend)

	ex := run{noCmd: true, args: []string{"explain", "api-key", "--backends", "aws", "--project", "flytesnacks", "--domain", "development"}, env: awsEnv(m)}.exec(t)
	require.Equal(t, 0, ex.code, ex.stderr)
	assert.Contains(t, ex.stdout, "ResourceNotFoundException")
	assert.Contains(t, ex.stdout, "u__org__flyte__domain__development__project____key__api-key")
	assertNoAWSCanary(t, ex)
}

// TestAWSAccessDeniedFailsClosed: with moto checking IAM, a user with no
// policy is refused; the start exits 69 and a later backend that has the
// secret does not answer instead.
func TestAWSAccessDeniedFailsClosed(t *testing.T) {
	m := awstest.Start(t)
	m.Reset(t)
	keys := m.Boto(t, `
sm.create_secret(Name='u__org__flyte__domain____project____key__db-pass', SecretString='`+awsCanary+`')
iam.create_user(UserName='task')
k = iam.create_access_key(UserName='task')['AccessKey']
print(k['AccessKeyId'], k['SecretAccessKey'])
`)
	f := strings.Fields(keys)
	require.Len(t, f, 2)
	store := filepath.Join(tempDir(t), "store")
	s := run{noCmd: true, args: []string{"create", "secret", "db-pass", "--value", "from-local", "--store", store}}.exec(t)
	require.Equal(t, 0, s.code, s.stderr)
	m.EnforceAuth(t)
	defer m.Reset(t)
	env := awsEnv(m)
	env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = f[0], f[1]
	res := run{args: []string{"--backends", "aws,local", "--store", store, "--secret", "db-pass"}, env: env}.exec(t)
	assert.Equal(t, 69, res.code, res.stderr)
	assertNothingStarted(t, res)
	assert.Contains(t, res.stderr, "AccessDeniedException: the environment (AWS_ACCESS_KEY_ID) may not read it")
	assert.Contains(t, res.stderr, "u__org__flyte__domain____project____key__db-pass")
	assert.NotContains(t, res.stderr, f[1])
	assertNoAWSCanary(t, res)
}

// TestAWSManagementRoundTrip: what create secret --backend aws writes is
// read back by boto3 field by field; what boto3 writes in Flyte 2's layout
// is listed and read by the shim.
func TestAWSManagementRoundTrip(t *testing.T) {
	m := awstest.Start(t)
	m.Reset(t)
	s := newSecretsCLI(t)
	for k, v := range awsEnv(m) {
		s.env[k] = v
	}
	a := []string{"--backend", "aws"}
	s.ok(t, "", append([]string{"create", "secret", "db-pass", "-p", "flytesnacks", "-d", "development", "--value", awsCanary}, a...)...)
	s.ok(t, "", append([]string{"create", "secret", "bin", "--from-file", writeTemp(t, []byte{0, 0xfe, 0xff})}, a...)...)
	out := m.Boto(t, `
d = sm.describe_secret(SecretId='u__org__flyte__domain__development__project__flytesnacks__key__db-pass')
v = sm.get_secret_value(SecretId='u__org__flyte__domain__development__project__flytesnacks__key__db-pass')
b = sm.get_secret_value(SecretId='u__org__flyte__domain____project____key__bin')
print(json.dumps({'tags': sorted([[t['Key'], t['Value']] for t in d['Tags']]), 'string': v.get('SecretString'), 'created': d['CreatedDate'].timestamp(),
  'bin_string': b.get('SecretString'), 'bin': base64.b64encode(b['SecretBinary']).decode()}))
`)
	var got struct {
		Tags      [][]string
		String    string
		Created   float64
		BinString *string `json:"bin_string"`
		Bin       string
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, [][]string{{"app.flyte.org/domain", "development"}, {"app.flyte.org/managed", "true"}, {"app.flyte.org/project", "flytesnacks"}}, got.Tags)
	assert.Equal(t, awsCanary, got.String, "a UTF-8 value is a SecretString")
	assert.Nil(t, got.BinString)
	assert.Equal(t, base64.StdEncoding.EncodeToString([]byte{0, 0xfe, 0xff}), got.Bin, "any other is a SecretBinary")

	meta := s.ok(t, "", append([]string{"get", "secret", "db-pass", "-p", "flytesnacks", "-d", "development"}, a...)...)
	var mt struct {
		CreatedTime time.Time `json:"created_time"`
	}
	require.NoError(t, json.Unmarshal([]byte(meta.stdout), &mt))
	assert.WithinDuration(t, time.Unix(int64(got.Created), 0), mt.CreatedTime, time.Second, "created_time is CreatedDate")

	dup := s.run(t, "", append([]string{"create", "secret", "db-pass", "-p", "flytesnacks", "-d", "development", "--value", "second"}, a...)...)
	assert.Equal(t, 1, dup.code)
	assert.Contains(t, dup.stderr, "already exists")

	m.Boto(t, `sm.create_secret(Name='u__org__flyte__domain__development__project____key__by-boto', SecretString='b')`)
	list := s.ok(t, "", append([]string{"get", "secret", "-o", "json", "-d", "development", "--limit", "1"}, a...)...)
	var items []struct{ Name, Project, Domain string }
	require.NoError(t, json.Unmarshal([]byte(list.stdout), &items))
	var names []string
	for _, it := range items {
		names = append(names, it.Project+"/"+it.Domain+"/"+it.Name)
	}
	assert.ElementsMatch(t, []string{"flytesnacks/development/db-pass", "/development/by-boto"}, names, "pages of 1 until the end")
	assert.Equal(t, "b", s.reveal(t, "by-boto", "-d", "development", "--backend", "aws"))

	del := s.ok(t, "", append([]string{"delete", "secret", "by-boto", "-d", "development"}, a...)...)
	assert.Contains(t, del.stderr, "recovery window")
	gone := s.run(t, "", append([]string{"get", "secret", "by-boto", "-d", "development"}, a...)...)
	assert.Equal(t, 1, gone.code)
	assert.Contains(t, gone.stderr, "scheduled")
	s.ok(t, "", append([]string{"delete", "secret", "bin", "--now"}, a...)...)
	left := m.Boto(t, `print(len(sm.list_secrets(IncludePlannedDeletion=True)['SecretList']))`)
	assert.Equal(t, "2\n", left, "bin is gone at once; by-boto waits out its window")
	bad := s.run(t, "", "delete", "secret", "x", "--now")
	assert.Equal(t, 2, bad.code, "--now is for aws only")

	pol := run{noCmd: true, args: []string{"policy", "--backend", "aws", "--region", "us-east-1", "--account", "123456789012", "--secret", "db-pass", "--project", "flytesnacks", "--domain", "development"}}.exec(t)
	require.Equal(t, 0, pol.code, pol.stderr)
	assert.Contains(t, pol.stdout, `"arn:aws:secretsmanager:us-east-1:123456789012:secret:`+resolver.ScopedID(resolver.Scope{Org: "flyte", Project: "flytesnacks", Domain: "development"}, "db-pass")+`-??????"`)
}

func writeTemp(t *testing.T, b []byte) string {
	p := filepath.Join(tempDir(t), "value")
	writeFile(t, p, b)
	return p
}
