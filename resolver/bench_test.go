package resolver_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/dir"
)

// benchDir writes n secret files of 64 bytes and returns the directory and
// the refs that name them.
func benchDir(b *testing.B, n int) (string, []resolver.Ref) {
	b.Helper()
	d := b.TempDir()
	refs := make([]resolver.Ref, n)
	for i := range n {
		key := fmt.Sprintf("secret-%04d", i)
		if err := os.WriteFile(filepath.Join(d, key), []byte(fmt.Sprintf("%064d", i)), 0o400); err != nil {
			b.Fatal(err)
		}
		refs[i] = resolver.Ref{Key: key}
	}
	return d, refs
}

func benchResolveAllDir(b *testing.B, n int) {
	d, refs := benchDir(b, n)
	c := resolver.NewChain([]resolver.Link{resolver.UnscopedLink("dir", dir.New(d))}, resolver.Scope{Org: "flyte"}, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range c.ResolveAll(ctx, refs) {
			if !r.Found {
				b.Fatalf("not found: %v", r.Trail)
			}
		}
	}
}

func BenchmarkResolveAllDir10(b *testing.B)   { benchResolveAllDir(b, 10) }
func BenchmarkResolveAllDir1000(b *testing.B) { benchResolveAllDir(b, 1000) }

// BenchmarkReadFiles1000 is the floor for BenchmarkResolveAllDir1000: the
// same files read one by one with os.ReadFile.
func BenchmarkReadFiles1000(b *testing.B) {
	d, refs := benchDir(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range refs {
			if _, err := os.ReadFile(filepath.Join(d, r.Key)); err != nil {
				b.Fatal(err)
			}
		}
	}
}
