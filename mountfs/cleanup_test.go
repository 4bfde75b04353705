package mountfs

import "github.com/flyte-entrypoint/flyte-entrypoint/internal/testdir"

// tempDir is t.TempDir for a test that lets the shim publish into it, and
// makeWritable what lets any user remove such a tree: see package testdir.
var (
	tempDir       = testdir.New
	makeWritable  = testdir.MakeWritable
	flyte2Fill    = testdir.Flyte2Fill
	kubeletFill   = testdir.KubeletFill
	readOnlyMount = testdir.ReadOnlyMount
)
