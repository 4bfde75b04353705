package k8s_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/kubetest"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/k8s"
)

const canary = "CANARY-k8s-41c7"

// faultSetup is a namespace with one Flyte 2 secret "k" holding the canary,
// a reader's mount, and a fault proxy in front of the real server.
type faultSetup struct {
	c     *kubetest.Cluster
	ns    string
	sa    string
	proxy *kubetest.FaultProxy
}

func newFaultSetup(t *testing.T) *faultSetup {
	c := kubetest.Start(t)
	f := &faultSetup{c: c, ns: freshNamespace(c, t, "faults")}
	putFlyte2(c, t, f.ns, resolver.Scope{Org: "flyte"}, "k", []byte(canary))
	f.sa = reader(c, t, f.ns)
	f.proxy = c.FaultProxy(t)
	return f
}

// resolve looks "k" up through the proxy (or port), with a per-call timeout.
func (f *faultSetup) resolve(t *testing.T, port int, callTimeout string, deadline time.Duration) (resolver.Result, time.Duration) {
	t.Helper()
	l := link(t, "k8s", podEnviron(f.c, port), map[string]string{"k8s-namespace": f.ns, "k8s-serviceaccount-dir": f.sa, "k8s-call-timeout": callTimeout}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	res := resolver.NewChain([]resolver.Link{l}, resolver.Scope{Org: "flyte"}, nil).Resolve(ctx, resolver.Ref{Key: "k"})
	return res, time.Since(start)
}

func gets(p *kubetest.FaultProxy) int {
	n := 0
	for _, r := range p.Requests() {
		if strings.HasPrefix(r, "GET /api/v1/namespaces/") {
			n++
		}
	}
	return n
}

func assertNoCanary(t *testing.T, res resolver.Result) {
	t.Helper()
	if res.Err != nil {
		assert.NotContains(t, res.Err.Error(), canary)
	}
	for _, a := range res.Trail {
		assert.NotContains(t, a.Reason()+a.Detail, canary)
	}
}

func TestThroughTheProxy(t *testing.T) {
	f := newFaultSetup(t)
	res, _ := f.resolve(t, f.proxy.Port, "5s", 10*time.Second)
	require.NoError(t, res.Err)
	require.True(t, res.Found)
	assert.Equal(t, canary, string(res.Value.Bytes()))
	assert.Equal(t, 1, gets(f.proxy))
	name := k8s.ObjectName(resolver.ScopedID(resolver.Scope{Org: "flyte"}, "k"))
	assert.Equal(t, `namespace "`+f.ns+`", Secret "`+name+`": 200 OK`, res.Trail[0].Detail, "dry-run and explain show what was asked")
}

func TestServerStoppedRetriesThenFails(t *testing.T) {
	f := newFaultSetup(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close()) // nothing listens there now: refused
	res, took := f.resolve(t, port, "1s", 20*time.Second)
	require.Error(t, res.Err)
	assert.False(t, resolver.IsNotFound(res.Err), "a server that is down is not a missing secret")
	assert.Contains(t, res.Err.Error(), "connection refused")
	assert.Contains(t, res.Err.Error(), "(after 4 tries)")
	assert.Contains(t, res.Err.Error(), "u__org__flyte__domain____project____key__k", "names the secret")
	// Backoff 200 ms, 400 ms, 800 ms, each drawn from [d/2, d].
	assert.GreaterOrEqual(t, took, 700*time.Millisecond)
	assert.Less(t, took, 5*time.Second)
}

func TestSlowServerPerCallTimeout(t *testing.T) {
	f := newFaultSetup(t)
	f.proxy.Then(kubetest.Fault{Delay: 30 * time.Second}, kubetest.Fault{Delay: 30 * time.Second})
	res, took := f.resolve(t, f.proxy.Port, "300ms", 20*time.Second)
	require.NoError(t, res.Err, "two slow tries, then the third answers")
	assert.Equal(t, canary, string(res.Value.Bytes()))
	assert.Equal(t, 3, gets(f.proxy))
	assert.Less(t, took, 5*time.Second, "each try gave up after 300ms")

	f.proxy.Always(&kubetest.Fault{Delay: 30 * time.Second})
	res, took = f.resolve(t, f.proxy.Port, "300ms", 1500*time.Millisecond)
	require.Error(t, res.Err)
	assert.Contains(t, res.Err.Error(), "no answer in time")
	assert.Less(t, took, 3*time.Second, "the overall deadline holds")
}

func TestThrottledHonoursRetryAfter(t *testing.T) {
	f := newFaultSetup(t)
	f.proxy.Then(kubetest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1", Body: `{"kind":"Status","reason":"TooManyRequests","message":"` + canary + `"}`})
	res, took := f.resolve(t, f.proxy.Port, "5s", 20*time.Second)
	require.NoError(t, res.Err)
	assert.Equal(t, canary, string(res.Value.Bytes()))
	assert.Equal(t, 2, gets(f.proxy))
	assert.GreaterOrEqual(t, took, time.Second, "waited for Retry-After")
}

func TestServerErrorIsRetriedAndNeverShown(t *testing.T) {
	f := newFaultSetup(t)
	body := `{"kind":"Status","reason":"InternalError","message":"` + canary + `"}`
	f.proxy.Then(kubetest.Fault{Status: 500, Body: body})
	res, _ := f.resolve(t, f.proxy.Port, "5s", 20*time.Second)
	require.NoError(t, res.Err)
	assert.Equal(t, 2, gets(f.proxy))

	f.proxy.Always(&kubetest.Fault{Status: 500, Body: body})
	res, _ = f.resolve(t, f.proxy.Port, "5s", 20*time.Second)
	require.Error(t, res.Err)
	assert.Contains(t, res.Err.Error(), "500 Internal Server Error (InternalError)")
	assert.Contains(t, res.Err.Error(), "after 4 tries")
	assertNoCanary(t, res)
}

func TestBadTokenIsNotRetried(t *testing.T) {
	f := newFaultSetup(t)
	require.NoError(t, os.WriteFile(filepath.Join(f.sa, "token"), []byte("not-a-token"), 0o600))
	res, _ := f.resolve(t, f.proxy.Port, "5s", 20*time.Second)
	require.Error(t, res.Err)
	assert.False(t, resolver.IsNotFound(res.Err))
	assert.Contains(t, res.Err.Error(), "401 Unauthorized")
	assert.Contains(t, res.Err.Error(), "did not accept the credentials of the service account at")
	assert.Equal(t, 1, gets(f.proxy), "a 401 is never retried")
	assertNoCanary(t, res)
}

// TestTokenIsReadAgainForEachRequest: one client, the token file rewritten
// between two lookups (as the kubelet rotates a projected token): the
// second lookup uses the new token.
func TestTokenIsReadAgainForEachRequest(t *testing.T) {
	f := newFaultSetup(t)
	tokenPath := filepath.Join(f.sa, "token")
	good, err := os.ReadFile(tokenPath)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(tokenPath, []byte("expired-token"), 0o600))
	l := link(t, "k8s", podEnviron(f.c, f.c.Port), map[string]string{"k8s-namespace": f.ns, "k8s-serviceaccount-dir": f.sa}, nil)
	chain := resolver.NewChain([]resolver.Link{l}, resolver.Scope{Org: "flyte"}, nil)
	res := chain.Resolve(context.Background(), resolver.Ref{Key: "k"})
	require.Error(t, res.Err)
	assert.Contains(t, res.Err.Error(), "401 Unauthorized")
	require.NoError(t, os.WriteFile(tokenPath, good, 0o600))
	res = chain.Resolve(context.Background(), resolver.Ref{Key: "k"})
	require.NoError(t, res.Err)
	assert.Equal(t, canary, string(res.Value.Bytes()))
}

func TestForbiddenFailsClosed(t *testing.T) {
	c := kubetest.Start(t)
	ns := freshNamespace(c, t, "forbidden")
	putFlyte2(c, t, ns, resolver.Scope{Org: "flyte"}, "k", []byte(canary))
	sa := c.ServiceAccount(t, ns, "nobody") // no Role at all
	l := link(t, "k8s", podEnviron(c, c.Port), map[string]string{"k8s-namespace": ns, "k8s-serviceaccount-dir": sa}, nil)
	res := resolver.NewChain([]resolver.Link{l}, resolver.Scope{Org: "flyte"}, nil).Resolve(context.Background(), resolver.Ref{Key: "k"})
	require.Error(t, res.Err)
	assert.False(t, resolver.IsNotFound(res.Err))
	name := k8s.ObjectName(resolver.ScopedID(resolver.Scope{Org: "flyte"}, "k"))
	assert.Contains(t, res.Err.Error(), `403 Forbidden: the pod's service account may not read Secret "`+name+`" in namespace "`+ns+`"`)
	assertNoCanary(t, res)
}

func TestTLSNameMismatchIsFinal(t *testing.T) {
	f := newFaultSetup(t)
	bad := f.c.MisnamedProxy(t)
	res, took := f.resolve(t, bad.Port, "5s", 20*time.Second)
	require.Error(t, res.Err)
	assert.Contains(t, res.Err.Error(), "TLS: the API server's certificate is not trusted")
	assert.Contains(t, res.Err.Error(), "127.0.0.1")
	assert.NotContains(t, res.Err.Error(), "tries", "a certificate that does not fit is not retried")
	assert.Less(t, took, 2*time.Second)
	assert.Empty(t, bad.Requests(), "nothing was sent")
}

// TestOneFetchPerObject: a run's lookups go out together, and each object
// is asked for once, whatever asks for it.
func TestOneFetchPerObject(t *testing.T) {
	f := newFaultSetup(t)
	l := link(t, "k8s", podEnviron(f.c, f.proxy.Port), map[string]string{"k8s-namespace": f.ns, "k8s-serviceaccount-dir": f.sa}, nil)
	refs := []resolver.Ref{{Key: "k"}, {Key: "k", Group: "g"}, {Key: "k", EnvVar: "OTHER"}, {Key: "missing"}}
	scope := resolver.Scope{Org: "flyte", Project: "p", Domain: "d"}
	results := resolver.NewChain([]resolver.Link{l}, scope, nil).ResolveAll(context.Background(), refs)
	for i := range 3 {
		require.NoError(t, results[i].Err)
		assert.True(t, results[i].Found)
		assert.Equal(t, "flyte", results[i].Scope.String(), "found at the org, after project and domain")
	}
	assert.False(t, results[3].Found)
	assert.Equal(t, 6, gets(f.proxy), "2 keys x 3 scopes, each object once")
}
