package main_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	require.NoError(t, os.WriteFile(dst, b, mode))
}

// TestRunsInAnEmptyRootFilesystem proves the image without a Docker engine:
// the static binary runs in a chroot that holds only itself, a static test
// command and a secrets directory, as it would in the FROM scratch image. It
// resolves secrets, writes a file, sets a variable and execs the command.
func TestRunsInAnEmptyRootFilesystem(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: chroot")
	}
	root := tempDir(t)
	copyFile(t, shimBin, filepath.Join(root, "flyte-entrypoint"), 0o755)
	copyFile(t, fakeBin, filepath.Join(root, "fakecmd"), 0o755)
	writeFile(t, filepath.Join(root, "src", "api-key"), []byte("sk-123"))
	writeFile(t, filepath.Join(root, "src", "db-config"), []byte("host=db\x00\xff"))
	require.NoError(t, os.Mkdir(filepath.Join(root, "out"), 0o777))

	cmd := exec.Command("/flyte-entrypoint",
		"--dir", "/src",
		"--secret", "api-key",
		"--secret", "key=db-config,mount=/etc/flyte/secrets",
		"--", "/fakecmd", "train")
	cmd.Env = []string{"FAKECMD_OUT=/out/record.json"} // no PATH, no HOME: nothing but what scratch has
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	cmd.Dir = "/"
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), stderr.String())

	b, err := os.ReadFile(filepath.Join(root, "out", "record.json"))
	require.NoError(t, err)
	var rec record
	require.NoError(t, json.Unmarshal(b, &rec))
	assert.Equal(t, []string{"/fakecmd", "train"}, rec.Argv)
	v, _ := rec.env("API_KEY")
	assert.Equal(t, "sk-123", v)
	assert.Equal(t, []byte("host=db\x00\xff"), rec.Files["db-config"])
	got, err := os.ReadFile(filepath.Join(root, "etc/flyte/secrets/db-config"))
	require.NoError(t, err)
	assert.Equal(t, []byte("host=db\x00\xff"), got)
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"flyte-entrypoint", "fakecmd", "src", "out", "etc"}, names,
		"the run needs nothing else in the root filesystem")
}
