package aws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/awstest"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/aws"
	"go.uber.org/zap/zapcore"
)

// through is moto's test environment with calls going through proxy.
func through(m *awstest.Moto, proxy *awstest.FaultProxy) []string {
	env := m.Env()
	for i, kv := range env {
		if strings.HasPrefix(kv, "AWS_ENDPOINT_URL=") {
			env[i] = "AWS_ENDPOINT_URL=" + proxy.URL
		}
	}
	return env
}

func keys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("s-%02d", i)
	}
	return out
}

// TestBatching: 45 secrets of a project execution (135 SecretIds in three
// scopes) are read in BatchGetSecretValue calls of 20; each SecretId once.
func TestBatching(t *testing.T) {
	m := awstest.Start(t)
	m.Reset(t)
	vals := map[string]string{}
	for _, k := range keys(45) {
		vals[k] = "v-" + k
	}
	seed(t, m, vals)
	proxy := m.FaultProxy(t)
	l := link(t, "aws", through(m, proxy), nil, nil)
	refs := []resolver.Ref{}
	for _, k := range keys(45) {
		refs = append(refs, resolver.Ref{Key: k}, resolver.Ref{Key: k, Group: "ignored"})
	}
	rs := resolver.NewChain([]resolver.Link{l}, resolver.Scope{Org: "flyte", Project: "p", Domain: "d"}, nil).ResolveAll(context.Background(), refs)
	for i, r := range rs {
		require.NoError(t, r.Err)
		require.True(t, r.Found, refs[i].Key)
		assert.Equal(t, "v-"+refs[i].Key, string(r.Value.Bytes()))
	}
	assert.Equal(t, 7, proxy.Count("secretsmanager.BatchGetSecretValue"), "135 SecretIds in batches of 20")
	assert.Zero(t, proxy.Count("secretsmanager.GetSecretValue"))
	seen := map[string]int{}
	for _, b := range proxy.Bodies() {
		var in struct{ SecretIdList []string }
		require.NoError(t, json.Unmarshal([]byte(b), &in))
		for _, id := range in.SecretIdList {
			seen[id]++
		}
	}
	assert.Len(t, seen, 135)
	for id, n := range seen {
		assert.Equal(t, 1, n, id)
	}
	assert.Contains(t, rs[0].Trail[len(rs[0].Trail)-1].Detail, "BatchGetSecretValue OK")
}

// TestBatchRefusedFallsBack: without permission for BatchGetSecretValue the
// secrets are read one GetSecretValue each, and debug logs say so.
func TestBatchRefusedFallsBack(t *testing.T) {
	m := awstest.Start(t)
	m.Reset(t)
	seed(t, m, map[string]string{"a": "1", "b": "2", "c": "3"})
	proxy := m.FaultProxy(t)
	proxy.Only("secretsmanager.BatchGetSecretValue")
	proxy.Always(&awstest.Fault{Status: 400, Type: "AccessDeniedException"})
	var logs bytes.Buffer
	logger := log.New(&logs, log.FormatJSON, zapcore.DebugLevel)
	l := link(t, "aws", through(m, proxy), nil, logger)
	rs := resolver.NewChain([]resolver.Link{l}, org, nil).ResolveAll(context.Background(), []resolver.Ref{{Key: "a"}, {Key: "b"}, {Key: "c"}})
	for i, want := range []string{"1", "2", "3"} {
		require.NoError(t, rs[i].Err)
		assert.Equal(t, want, string(rs[i].Value.Bytes()))
	}
	assert.Equal(t, 1, proxy.Count("secretsmanager.BatchGetSecretValue"))
	assert.Equal(t, 3, proxy.Count("secretsmanager.GetSecretValue"))
	assert.Contains(t, logs.String(), "BatchGetSecretValue refused; reading each secret with GetSecretValue")
	assert.NotContains(t, logs.String(), "CANARY")
}

func TestThrottlingAndServerErrors(t *testing.T) {
	m := awstest.Start(t)
	m.Reset(t)
	seed(t, m, map[string]string{"k": canary})
	for _, f := range []awstest.Fault{{Status: 400, Type: "ThrottlingException"}, {Status: 429, Type: "TooManyRequestsException"}, {Status: 500, Type: "InternalServiceError"}, {Status: 503}} {
		t.Run(fmt.Sprint(f.Status, f.Type), func(t *testing.T) {
			proxy := m.FaultProxy(t)
			proxy.Then(f, f)
			r := resolve(t, through(m, proxy), nil, "k")[0]
			require.NoError(t, r.Err, "a burst of two is recovered from")
			assert.Equal(t, canary, string(r.Value.Bytes()))
			assert.Equal(t, 3, proxy.Count("secretsmanager.GetSecretValue"))

			proxy.Always(&f)
			start := time.Now()
			r = resolve(t, through(m, proxy), nil, "k")[0]
			require.Error(t, r.Err)
			assert.Contains(t, r.Err.Error(), "after 4 tries")
			assert.Less(t, time.Since(start), 10*time.Second)
			noCanary(t, r)
		})
	}
	t.Run("slow: per-call timeout, inside the deadline", func(t *testing.T) {
		proxy := m.FaultProxy(t)
		proxy.Then(awstest.Fault{Delay: 30 * time.Second})
		start := time.Now()
		r := resolve(t, through(m, proxy), map[string]string{"aws-call-timeout": "300ms"}, "k")[0]
		require.NoError(t, r.Err)
		assert.Less(t, time.Since(start), 5*time.Second)
	})
}

func TestAccessDeniedFailsClosed(t *testing.T) {
	m := awstest.Start(t)
	m.Reset(t)
	seed(t, m, map[string]string{"k": canary})
	proxy := m.FaultProxy(t)
	proxy.Always(&awstest.Fault{Status: 400, Type: "AccessDeniedException"})
	r := resolve(t, through(m, proxy), nil, "k")[0]
	require.Error(t, r.Err)
	assert.False(t, resolver.IsNotFound(r.Err))
	assert.Contains(t, r.Err.Error(), `secret "u__org__flyte__domain____project____key__k": AccessDeniedException: the environment (AWS_ACCESS_KEY_ID) may not read it`)
	assert.Equal(t, 1, proxy.Count("secretsmanager.GetSecretValue"), "never retried")
	noCanary(t, r)

	proxy.Always(&awstest.Fault{Status: 400, Type: "DecryptionFailure"})
	r = resolve(t, through(m, proxy), nil, "k")[0]
	require.Error(t, r.Err)
	assert.Contains(t, r.Err.Error(), "KMS key")
}

// TestV1Layout: Flyte 1's SecretId, an ARN prefix as the group, for env
// requests as well; the region comes from the ARN.
func TestV1Layout(t *testing.T) {
	m := awstest.Start(t)
	m.Reset(t)
	arn := m.Boto(t, `print(sm.create_secret(Name='db-creds', SecretString='`+canary+`')['ARN'])`)
	arn = strings.TrimSpace(arn)
	m.Boto(t, `sm.create_secret(Name='bin', SecretBinary=b'\x00\x01\xff')`)
	group := arn[:strings.LastIndex(arn, ":")] // arn:aws:secretsmanager:us-east-1:123456789012:secret
	env := m.Env()
	for i, kv := range env {
		if strings.HasPrefix(kv, "AWS_REGION=") {
			env[i] = "AWS_REGION=eu-west-1" // the ARN's region wins
		}
	}
	l := link(t, "aws-v1", env, nil, nil)
	rs := resolver.NewChain([]resolver.Link{l}, org, nil).ResolveAll(context.Background(), []resolver.Ref{
		{Key: arn[strings.LastIndex(arn, ":")+1:], Group: group + ":", EnvVar: "DB"},
		{Key: "bin", Group: group},
		{Key: "db-creds"},
	})
	require.NoError(t, rs[0].Err)
	assert.Equal(t, canary, string(rs[0].Value.Bytes()))
	require.NoError(t, rs[1].Err)
	assert.Equal(t, []byte{0, 1, 0xff}, rs[1].Value.Bytes(), "SecretBinary when there is no SecretString")
	assert.False(t, rs[2].Found, "no group: not Flyte 1's layout")
	assert.Equal(t, "arn:aws:secretsmanager:us-east-1:1:secret:x", aws.V1SecretID("arn:aws:secretsmanager:us-east-1:1:secret::", ":x"))
}

func TestPolicy(t *testing.T) {
	p, err := aws.NewPolicy("us-east-1", "123456789012", resolver.Scope{Org: "flyte", Project: "p", Domain: "d"}, []string{"db", "bad.name"})
	require.NoError(t, err)
	doc, err := p.JSON()
	require.NoError(t, err)
	var v struct {
		Statement []struct {
			Action   []string
			Resource any
		}
	}
	require.NoError(t, json.Unmarshal(doc, &v))
	require.Len(t, v.Statement, 2)
	assert.Equal(t, []string{"secretsmanager:GetSecretValue"}, v.Statement[0].Action)
	assert.ElementsMatch(t, []any{
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:u__org__flyte__domain__d__project__p__key__db-??????",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:u__org__flyte__domain__d__project____key__db-??????",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:u__org__flyte__domain____project____key__db-??????",
	}, v.Statement[0].Resource)
	assert.Equal(t, []string{"secretsmanager:BatchGetSecretValue"}, v.Statement[1].Action)
	assert.Len(t, p.Notes(), 1)
	_, err = aws.NewPolicy("", "", org, []string{"bad.name"})
	assert.ErrorContains(t, err, "nothing to grant")
}
