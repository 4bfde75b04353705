package main

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkDryRun10 runs the whole in-process path of a start with 10
// secrets (8 env, 2 files, dir backend) short of publishing and exec: flag
// and env parsing, validation, resolution and the value checks. The
// start-up benchmark (bench/startup.sh) measures the real process.
func BenchmarkDryRun10(b *testing.B) { benchmarkDryRun(b, 10, 2) }

// BenchmarkDryRun1000 is the same with 1,000 secrets, 200 of them files.
func BenchmarkDryRun1000(b *testing.B) { benchmarkDryRun(b, 1000, 200) }

func benchmarkDryRun(b *testing.B, secrets, files int) {
	dir := b.TempDir()
	args := []string{"flyte-entrypoint", "dry-run", "--dir", dir, "--store", filepath.Join(dir, "store"), "--log-level", "warn"}
	for i := range secrets {
		key := "secret-" + strconv.Itoa(i)
		if err := os.WriteFile(filepath.Join(dir, key), []byte("value"), 0o600); err != nil {
			b.Fatal(err)
		}
		if i < files {
			args = append(args, "--secret", "key="+key+",mount=/etc/flyte/secrets")
		} else {
			args = append(args, "--secret", key)
		}
	}
	args = append(args, "--", "/bin/true")
	b.ReportAllocs()
	for b.Loop() {
		if code := run(args, nil, io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}
