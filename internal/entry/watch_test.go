package entry

import (
	"testing"

	"github.com/fsnotify/fsnotify"
	"github.com/stretchr/testify/assert"
)

// TestRelevantEvents: of a kubelet update only the rename over ..data
// counts; plain files count for every change but a mode change.
func TestRelevantEvents(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   fsnotify.Op
		want bool
	}{
		{"/s/..data", fsnotify.Create, true},
		{"/s/..data", fsnotify.Remove, false},
		{"/s/..data_tmp", fsnotify.Create, false},
		{"/s/..data_tmp", fsnotify.Rename, false},
		{"/s/..2026_12_01_00_00_00.000000001", fsnotify.Create, false},
		{"/s/..2026_12_01_00_00_00.000000001", fsnotify.Remove, false},
		{"/s/api-key", fsnotify.Write, true},
		{"/s/api-key", fsnotify.Create, true},
		{"/s/api-key", fsnotify.Remove, true},
		{"/s/api-key", fsnotify.Rename, true},
		{"/s/api-key", fsnotify.Chmod, false},
		{"/store/secrets/.tmp-123", fsnotify.Create, false},
	} {
		assert.Equal(t, tc.want, relevant(fsnotify.Event{Name: tc.name, Op: tc.op}), "%s %v", tc.name, tc.op)
	}
}
