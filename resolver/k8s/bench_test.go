package k8s_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/kubetest"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/k8s"
)

// rtt is the round trip the latency proxy adds.
var rtt = benchRTT()

// benchResolve resolves 100 secrets through a proxy that adds rtt to every
// round trip, with a fresh client each time (a container start dials anew:
// TCP, TLS and then the lookups), and reports the time in round trips.
func benchResolve(b *testing.B, scope resolver.Scope, parallel int) {
	c := kubetest.Start(b)
	ns := fmt.Sprintf("bench-%d", nsCounter.Add(1))
	c.Namespace(b, ns)
	refs := make([]resolver.Ref, 100)
	for i := range refs {
		refs[i] = resolver.Ref{Key: fmt.Sprintf("secret-%03d", i)}
		id := resolver.ScopedID(resolver.Scope{Org: "flyte"}, refs[i].Key)
		c.PutSecret(b, ns, k8s.ObjectName(id), k8s.Labels(resolver.Scope{Org: "flyte"}), map[string][]byte{id: []byte("v")})
	}
	sa := reader(c, b, ns)
	if os.Getenv("FE_BENCH_ADMIN") != "" {
		_ = os.WriteFile(sa+"/token", []byte(kubetest.AdminToken), 0o600)
	}
	proxy := c.LatencyProxy(b, rtt)
	environ := []string{"KUBERNETES_SERVICE_HOST=127.0.0.1", fmt.Sprintf("KUBERNETES_SERVICE_PORT=%d", proxy.Port)}
	cpu0 := c.ServerCPU()
	for b.Loop() {
		be := k8s.NewBackend(k8s.Settings{Options: k8s.Options{Environ: environ, ServiceAccountDir: sa}, Namespace: ns, Parallel: parallel})
		chain := resolver.NewChain([]resolver.Link{resolver.ScopedLink("k8s", be)}, scope, nil)
		res := chain.ResolveAll(context.Background(), refs)
		for _, r := range res {
			if !r.Found {
				b.Fatalf("%v not found: %v", r, r.Err)
			}
		}
	}
	perOp := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64((c.ServerCPU()-cpu0).Microseconds())/1000/float64(b.N), "server-cpu-ms/op")
	b.ReportMetric(float64(perOp)/float64(rtt), "round-trips")
	b.ReportMetric(float64(perOp.Microseconds())/1000, "ms/op")
}

// BenchmarkResolve100: the org scope alone (100 GETs), and a project
// execution (300 GETs: project, domain and org for each), all at once.
func BenchmarkResolve100(b *testing.B) {
	b.Run("org", func(b *testing.B) { benchResolve(b, resolver.Scope{Org: "flyte"}, 0) })
	b.Run("project", func(b *testing.B) {
		benchResolve(b, resolver.Scope{Org: "flyte", Project: "p", Domain: "d"}, 0)
	})
}

// BenchmarkResolve100OneAtATime is what a client that fetches one secret at
// a time pays: 100 round trips or more.
func BenchmarkResolve100OneAtATime(b *testing.B) {
	benchResolve(b, resolver.Scope{Org: "flyte"}, 1)
}

func benchRTT() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("FE_BENCH_RTT")); err == nil {
		return d
	}
	return 20 * time.Millisecond
}
