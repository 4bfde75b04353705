package entry

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

func TestNewReport(t *testing.T) {
	const canary = "CANARY-report"
	scope := &resolver.Scope{Org: "flyte", Project: "p", Domain: "d"}
	outs := []Outcome{
		{Request: spec.Request{Key: "a", EnvVar: "A"},
			Result: resolver.Result{Found: true, Value: secret.New([]byte(canary)), Backend: "local", Scope: scope,
				Trail: []resolver.Attempt{{Backend: "local", Scope: scope, Outcome: resolver.OutcomeFound, Detail: `asked "x": 200 OK`}}}},
		{Request: spec.Request{Key: "b", Group: "g", File: true},
			Result: resolver.Result{Found: true, Value: secret.New([]byte("xy")), Backend: "dir"}},
		{Request: spec.Request{Key: "c", File: true, EnvVar: "C"},
			Result: resolver.Result{Found: true, Value: secret.New(nil), Backend: "env"}},
		{Request: spec.Request{Key: "d", File: true, EnvVar: "D_PATH", EnvIsPath: true},
			Result: resolver.Result{Trail: []resolver.Attempt{{Backend: "env", Outcome: resolver.OutcomeNotFound}}}},
		{Request: spec.Request{Key: "e", EnvVar: "E"},
			Result: resolver.Result{Err: errors.New(`backend "x": refused`)}},
	}
	rep := NewReport(outs, nil)
	var buf bytes.Buffer
	require.NoError(t, rep.WriteJSON(&buf))
	assert.NotContains(t, buf.String(), canary)

	var got struct {
		Secrets []map[string]any `json:"secrets"`
		Command []any            `json:"command"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
	assert.Equal(t, []any{}, got.Command, "no command is an empty list")
	want := []map[string]any{
		{"key": "a", "group": nil, "target": "env", "env_var": "A", "path": nil, "backend": "local",
			"scope": map[string]any{"org": "flyte", "project": "p", "domain": "d"}, "status": "ok", "bytes": float64(len(canary)), "error": nil, "lookup": `asked "x": 200 OK`},
		{"key": "b", "group": "g", "target": "file", "env_var": nil, "path": "/etc/flyte/secrets/g/b", "backend": "dir",
			"scope": nil, "status": "ok", "bytes": float64(2), "error": nil, "lookup": nil},
		{"key": "c", "group": nil, "target": "both", "env_var": "C", "path": "/etc/flyte/secrets/c", "backend": "env",
			"scope": nil, "status": "ok", "bytes": float64(0), "error": nil, "lookup": nil},
		{"key": "d", "group": nil, "target": "file", "env_var": "D_PATH", "path": "/etc/flyte/secrets/d", "backend": nil,
			"scope": nil, "status": "missing", "bytes": nil, "error": "not found (tried env)", "lookup": nil},
		{"key": "e", "group": nil, "target": "env", "env_var": "E", "path": nil, "backend": nil,
			"scope": nil, "status": "error", "bytes": nil, "error": `backend "x": refused`, "lookup": nil},
	}
	assert.Equal(t, want, got.Secrets)

	buf.Reset()
	require.NoError(t, rep.WriteTable(&buf))
	assert.Contains(t, buf.String(), "flyte/p/d")
	assert.Contains(t, buf.String(), "a: local asked \"x\": 200 OK\n")
	assert.Contains(t, buf.String(), "file:/etc/flyte/secrets/g/b")
	assert.NotContains(t, buf.String(), canary)
}
