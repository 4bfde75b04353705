package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMentionsSecretCommand(t *testing.T) {
	assert.True(t, mentionsSecretCommand([]string{"fe", "get", "secret"}))
	assert.True(t, mentionsSecretCommand([]string{"fe", "--store", "x", "delete", "secret", "n"}))
	assert.False(t, mentionsSecretCommand([]string{"fe", "--secret", "k"}))
	assert.False(t, mentionsSecretCommand([]string{"get"}), "argv[0] is not an argument")
	assert.False(t, mentionsSecretCommand(nil))
}

// TestParseRunAgreesWithUrfave: a start that parseRun takes ends with the
// same settings as urfave/cli's parse of the same arguments, and one it
// leaves to urfave is one urfave reports or handles itself.
func TestParseRunAgreesWithUrfave(t *testing.T) {
	environ := []string{"FLYTE_ENTRYPOINT_DIR=/from-env", "FLYTE_ENTRYPOINT_TIMEOUT=5s", "FLYTE_ENTRYPOINT_PASS_ENV=A,B"}
	taken := [][]string{
		{"fe"},
		{"fe", "run"},
		{"fe", "--secret", "k", "--secret", "key=a,env=A", "-secret=key=b,mount=/etc/flyte/secrets"},
		{"fe", "--secret", "key=k,env=GOOD\n"},
		{"fe", "run", "--dir", "/d", "--dir=/e", "--timeout", "3s", "--supervise"},
		{"fe", "--supervise=false", "--grace", "5", "--user", "1:2", "--log-level=debug"},
		{"fe", "--pass-env", "X,Y", "--pass-env", " Z ", "--allow-env=PATH", "--backends", "env,local"},
		{"fe", "--store", "/s", "--root", "/r", "--org", "o", "--project", "p", "--domain", "d", "--spec", "a.json", "--spec", "b.pb"},
		{"fe", "-p", "p", "-d", "d"},
		{"fe", "run", "-p=p", "-d=d"},
	}
	for _, args := range taken {
		fast, fastArgs := settingsOf(t, environ, args, true)
		slow, slowArgs := settingsOf(t, environ, args, false)
		assert.Equal(t, slow, fast, "%q", args)
		assert.Empty(t, slowArgs, "%q", args)
		assert.Empty(t, fastArgs, "%q", args)
	}
	left := [][]string{
		{"fe", "--help"}, {"fe", "-h"}, {"fe", "dry-run"}, {"fe", "run", "x"}, {"fe", "--nope"},
		{"fe", "--timeout", "soon"}, {"fe", "--supervise=maybe"}, {"fe", "--dir"}, {"fe", "---dir", "x"},
		{"fe", "-"}, {"fe", "--=x"}, {"fe", "explain", "k"},
	}
	for _, args := range left {
		_, ok := parseRun(args[1:], runFlags(loadConfig(newEnv(environ).m)))
		assert.False(t, ok, "%q is urfave's", args)
	}
}

// settingsOf runs the app on args with a stand-in for runCmd, through
// parseRun (fast) or urfave/cli, and returns the settings and arguments the
// run would see.
func settingsOf(t *testing.T, environ, args []string, fast bool) (config, []string) {
	t.Helper()
	var out bytes.Buffer
	a := &app{stdout: &out, stderr: &out, env: newEnv(environ)}
	var got config
	var gotArgs []string
	ran := false
	a.onRun = func(rest []string) error {
		got, gotArgs, ran = *a.cfg, rest, true
		got.options, got.given, got.environ, got.badEnv = nil, nil, nil, nil
		opts := a.cfg.optionValues()
		got.Backend = fmt.Sprint(opts) // the backends' settings, compared too
		return nil
	}
	argv := append(append([]string{}, args...), "--", "cmd")
	if fast {
		a.cfg = loadConfig(a.env.m)
		_, a.command = splitCommand(argv)
		given, ok := parseRun(args[1:], runFlags(a.cfg))
		require.True(t, ok, "parseRun takes %q", args)
		require.NoError(t, a.applyFlags(runFlags(a.cfg), given))
		require.NoError(t, a.runCmd(context.Background(), nil))
	} else {
		a.cfg = loadConfig(a.env.m)
		a.command = []string{"cmd"}
		cliApp := a.cliApp(false)
		require.NoError(t, cliApp.Run(reorderArgs(cliApp, args)), out.String())
	}
	require.True(t, ran)
	return got, gotArgs
}
