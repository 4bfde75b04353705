package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage/managetest"
)

// TestLocalStoreConformance runs the stores' shared suite on the local
// store's adapter.
func TestLocalStoreConformance(t *testing.T) {
	managetest.Conformance(t, func(t *testing.T) manage.Store {
		s, err := openLocalStore(filepath.Join(t.TempDir(), "store"))
		require.NoError(t, err)
		return s
	})
}

func TestLocalStoreAdapter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s, err := openLocalStore(dir)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Create(ctx, resolver.Scope{Org: "flyte"}, "k", manage.TypeRegular, secret.New([]byte("v")))
	assert.ErrorIs(t, err, context.Canceled, "a cancelled context stops the call")
	_, err = os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "nothing was written")

	require.NoError(t, os.MkdirAll(dir, 0o755))
	_, err = openLocalStore(dir)
	assert.ErrorContains(t, err, "lets group or others in")

	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("HOME", "")
	_, err = openLocalStore("")
	assert.ErrorContains(t, err, "neither XDG_DATA_HOME nor HOME is set")
}
