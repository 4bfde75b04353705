package readfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRegularReadsWholeFiles: every size around the first buffer's (512
// bytes, or the file's size) is read whole, however the reads fall.
func TestRegularReadsWholeFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 17, 511, 512, 513, 1023, 1024, 4096, 65537, 1 << 20} {
		want := bytes.Repeat([]byte{'a', 'b', 'c'}, n/3+1)[:n]
		path := filepath.Join(dir, "f")
		require.NoError(t, os.WriteFile(path, want, 0o600))
		got, err := Regular(path, MaxValue)
		require.NoError(t, err, n)
		assert.True(t, bytes.Equal(want, got), "size %d: read %d bytes", n, len(got))
	}
}

func TestRegularRefusesWhatIsNotAFileOrTooBig(t *testing.T) {
	dir := t.TempDir()
	_, err := Regular(dir, MaxValue)
	assert.ErrorIs(t, err, ErrNotRegular)
	assert.ErrorIs(t, err, syscall.EISDIR)

	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	_, err = Regular(fifo, MaxValue)
	assert.ErrorIs(t, err, ErrNotRegular, "a FIFO is refused without blocking")

	big := filepath.Join(dir, "big")
	require.NoError(t, os.WriteFile(big, make([]byte, 100), 0o600))
	_, err = Regular(big, 99)
	var tb *TooBigError
	require.True(t, errors.As(err, &tb))
	assert.Equal(t, int64(100), tb.Size)

	_, err = Regular(filepath.Join(dir, "missing"), MaxValue)
	assert.ErrorIs(t, err, syscall.ENOENT)
}

func TestStreamReadsARegularFileWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	want := bytes.Repeat([]byte("x"), 70000)
	require.NoError(t, os.WriteFile(path, want, 0o600))
	got, err := Stream(path, MaxValue)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, got), "read %d bytes of %d", len(got), len(want))
}
