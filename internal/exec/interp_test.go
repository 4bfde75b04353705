package exec

import (
	"errors"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exit"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckInterpreter(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o755))
		return p
	}
	cases := []struct {
		name     string
		content  string
		wantCode int // 0: no error
		wantMsg  string
	}{
		{name: "existing interpreter", content: "#!/bin/sh\necho hi\n"},
		{name: "interpreter with an argument", content: "#!/bin/sh -e\n"},
		{name: "env", content: "#!/usr/bin/env python3\n"},
		{name: "missing interpreter", content: "#!/no/such/interpreter\n", wantCode: exit.NotExecutable},
		{name: "interpreter is not executable", content: "#!/etc/passwd\n", wantCode: exit.NotExecutable},
		{name: "empty #! line", content: "#!   \n", wantCode: exit.NotExecutable},
		{name: "ELF-like: left to execve", content: "\x7fELF...."},
		{name: "neither ELF nor #!: ENOEXEC", content: "echo hi\n", wantCode: exit.NotExecutable, wantMsg: "not a binary and has no #! line"},
		{name: "empty file", content: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckInterpreter(write("cmd", tc.content), "cmd", nil)
			if tc.wantCode == 0 {
				assert.NoError(t, err)
				return
			}
			var e *exit.Error
			require.True(t, errors.As(err, &e), "%v", err)
			assert.Equal(t, tc.wantCode, e.Code)
			if tc.wantMsg == "" {
				tc.wantMsg = "interpreter"
			}
			assert.Contains(t, err.Error(), tc.wantMsg)
		})
	}
	assert.NoError(t, CheckInterpreter(filepath.Join(dir, "absent"), "absent", nil), "LookPath reports a missing command")
}
