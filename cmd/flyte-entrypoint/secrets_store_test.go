package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenLocalStore covers what openLocalStore adds to local.Open: the
// default directory, and the refusal of a loose store. The store itself runs
// the manage conformance suite in resolver/local.
func TestOpenLocalStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	_, err := openLocalStore(dir)
	require.NoError(t, err)

	require.NoError(t, os.MkdirAll(dir, 0o755))
	_, err = openLocalStore(dir)
	assert.ErrorContains(t, err, "lets group or others in")

	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("HOME", "")
	_, err = openLocalStore("")
	assert.ErrorContains(t, err, "neither XDG_DATA_HOME nor HOME is set")
}
