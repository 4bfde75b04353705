package testdir

import (
	"os"
	"path/filepath"
)

// Flyte2Fill returns a fill that writes what Flyte 2's init container
// writes into its emptyDir: one regular file per key, named after the key
// as given.
func Flyte2Fill(files map[string]string) func(dir string) {
	return func(dir string) {
		for k, v := range files {
			must(os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644))
		}
	}
}

// KubeletFill returns a fill that writes a volume as the kubelet does for
// a Secret or a downward-API volume: a timestamped directory, ..data naming
// it, and each item a symlink through ..data.
func KubeletFill(items map[string]string) func(dir string) {
	return func(dir string) {
		ts := filepath.Join(dir, "..2026_03_04_05_06_07.123456789")
		must(os.Mkdir(ts, 0o755))
		for k, v := range items {
			must(os.WriteFile(filepath.Join(ts, k), []byte(v), 0o644))
			must(os.Symlink("..data/"+k, filepath.Join(dir, k)))
		}
		must(os.Symlink(filepath.Base(ts), filepath.Join(dir, "..data")))
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
