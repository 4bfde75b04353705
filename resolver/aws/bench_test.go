package aws_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/awstest"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/netfake"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/aws"
)

func benchRTT() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("FE_BENCH_RTT")); err == nil {
		return d
	}
	return 20 * time.Millisecond
}

// BenchmarkResolve100 resolves 100 org-level secrets through a fake
// network that adds 20 ms to each round trip (and a proxy that counts the
// calls), with a fresh client each time, as a container start has.
func BenchmarkResolve100(b *testing.B) {
	m := awstest.Start(b)
	m.Reset(b)
	m.Boto(b, `
for i in range(100):
    sm.create_secret(Name='u__org__flyte__domain____project____key__secret-%03d' % i, SecretString='v')
`)
	counter := m.FaultProxy(b)
	rtt := benchRTT()
	lp := netfake.Latency(b, strings.TrimPrefix(counter.URL, "http://"), rtt)
	environ := []string{"AWS_ACCESS_KEY_ID=" + awstest.AccessKey, "AWS_SECRET_ACCESS_KEY=" + awstest.SecretKey, "AWS_REGION=" + awstest.Region,
		fmt.Sprintf("AWS_ENDPOINT_URL=http://127.0.0.1:%d", lp.Port), "AWS_EC2_METADATA_DISABLED=true"}
	refs := make([]resolver.Ref, 100)
	for i := range refs {
		refs[i] = resolver.Ref{Key: fmt.Sprintf("secret-%03d", i)}
	}
	for b.Loop() {
		be := aws.NewBackend(aws.Settings{Environ: environ})
		res := resolver.NewChain([]resolver.Link{resolver.ScopedLink("aws", be)}, resolver.Scope{Org: "flyte"}, nil).ResolveAll(context.Background(), refs)
		for _, r := range res {
			if !r.Found {
				b.Fatalf("not found: %v", r.Err)
			}
		}
	}
	perOp := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(perOp)/float64(rtt), "round-trips")
	b.ReportMetric(float64(perOp.Microseconds())/1000, "ms/op")
	b.ReportMetric(float64(len(counter.Calls()))/float64(b.N), "calls/op")
}
