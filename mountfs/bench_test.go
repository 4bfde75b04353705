package mountfs

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
)

// BenchmarkPublish republishes n files of 64 bytes on /dev/shm, where the
// mount lives in production: a tenth of them in groups of ten. Each
// iteration is a full publish: a new version, the swap, and the removal of
// the previous one.
func BenchmarkPublish(b *testing.B) {
	if _, err := os.Stat("/dev/shm"); err != nil {
		b.Skip("no /dev/shm")
	}
	for _, n := range []int{2, 10, 1000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			files := make([]File, n)
			for i := range files {
				key := fmt.Sprintf("secret-%04d", i)
				path := key
				group := ""
				if i%10 == 9 {
					group = fmt.Sprintf("group-%02d", i/100)
					path = group + "/" + key
				}
				files[i] = File{Path: path, Value: secret.New(bytes.Repeat([]byte{'v'}, 64)), Key: key, Group: group}
			}
			o := Options{Root: shmDir(b), UID: -1, GID: -1, Logger: log.Nop()}
			if _, err := Publish(o, files); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := Publish(o, files); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
