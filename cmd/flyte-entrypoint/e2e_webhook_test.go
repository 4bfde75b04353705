package main_test

// The real binary beside Flyte's own webhook, in the layouts the webhook
// leaves in a task pod:
//
//   - Flyte 1: each group's Secret mounted read-only at
//     /etc/flyte/secrets/<lower(group)>, the kubelet's ..data layout inside,
//     one item per key at <lower(key)>; env secrets as _FSEC_<GROUP>_<KEY>;
//   - Flyte 2: a read-only emptyDir at /etc/flyte/secrets holding one
//     regular file per key, /etc/flyte/secrets/<key>, the group ignored;
//     env secrets as _UNION_<KEY>, FLYTE_SECRETS_ENV_PREFIX=_UNION_;
//   - the pod's downward-API volume: the annotations file, or one item per
//     annotation holding the bare value.
//
// A read-only mount is a real read-only tmpfs when the tests run as root,
// and a tree of 0500 directories and 0444 files otherwise. The values are
// canaries: no output may show one.

import (
	"encoding/base32"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/testdir"
)

const webhookCanary = "CANARY-e2e-webhook-41f7"

// webhookRoot is a fresh --root with its etc/flyte made, as in an image,
// and removed whole after the test whatever modes it was left with.
func webhookRoot(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("", "e2e-webhook-")
	require.NoError(t, err)
	t.Cleanup(func() {
		testdir.MakeWritable(base)
		os.RemoveAll(base)
	})
	require.NoError(t, os.Chmod(base, 0o755))
	root := filepath.Join(base, "root")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc", "flyte"), 0o755))
	return root
}

// The webhook's layouts: see package testdir.
var (
	flyte2Files   = testdir.Flyte2Fill
	kubeletVolume = testdir.KubeletFill
	webhookMount  = testdir.ReadOnlyMount
)

// annotation is a core.Secret in protobuf text format, in Flyte's base32,
// as Flyte's webhook marks the pod with it.
func annotation(text string) string {
	return base32.NewEncoding("abcdefghijklmnopqrstuvwxyz123456").WithPadding(base32.NoPadding).EncodeToString([]byte(text))
}

// podinfo makes a downward-API volume with the given items.
func podinfo(t *testing.T, items map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "podinfo")
	require.NoError(t, os.Mkdir(dir, 0o755))
	kubeletVolume(items)(dir)
	return dir
}

// entries lists a directory's names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, d := range des {
		out = append(out, d.Name())
	}
	return out
}

func webhookRun(root string, args []string, env map[string]string) run {
	e := map[string]string{"FLYTE_ENTRYPOINT_ROOT": root, "FAKECMD_ROOT": root, "FLYTE_ENTRYPOINT_LOG_LEVEL": "debug"}
	for k, v := range env {
		e[k] = v
	}
	return run{args: args, env: e}
}

func assertNoCanary(t *testing.T, res result) {
	t.Helper()
	assert.NotContains(t, res.stderr, "CANARY", "stderr, at debug level")
	assert.NotContains(t, res.stdout, "CANARY", "stdout")
}

// inPlaceLines counts the log lines that say the files were in place.
func inPlaceLines(stderr string) int {
	return strings.Count(stderr, "in place already")
}

// Flyte 1: the webhook mounted the group's Secret read-only; the pod's
// annotations say what the task asked for. The shim reads the annotations
// through --spec and the mounted file through --dir, and goes on without
// writing into the mount.
func TestWebhookFlyte1GroupMountIsUsedAsItIs(t *testing.T) {
	root := webhookRoot(t)
	mount := filepath.Join(root, "etc/flyte/secrets")
	require.NoError(t, os.Mkdir(mount, 0o755))
	webhookMount(t, filepath.Join(mount, "openai"), false, kubeletVolume(map[string]string{"api-key": webhookCanary + "-file"}))
	pod := podinfo(t, map[string]string{"annotations": strings.Join([]string{
		`cluster-autoscaler.kubernetes.io/safe-to-evict="false"`,
		fmt.Sprintf("flyte.secrets/s0=%q", annotation(`group: "OpenAI" key: "API-Key" mount_requirement: FILE`)),
		fmt.Sprintf("flyte.secrets/s1=%q", annotation(`group: "db" key: "password" mount_requirement: ENV_VAR`)),
		`kubernetes.io/config.source="api"`,
	}, "\n")})

	res := webhookRun(root, []string{"--spec", filepath.Join(pod, "annotations"), "--dir", mount},
		map[string]string{"FLYTE_SECRETS_ENV_PREFIX": "_FSEC_", "_FSEC_DB_PASSWORD": webhookCanary + "-env"}).exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	require.NotNil(t, res.rec, "the command runs")
	assert.Equal(t, []byte(webhookCanary+"-file"), res.rec.Files["openai/api-key"])
	v, _ := res.rec.env("DB_PASSWORD")
	assert.Equal(t, webhookCanary+"-env", v)
	v, _ = res.rec.env("FLYTE_SECRETS_DEFAULT_DIR")
	assert.Equal(t, "/etc/flyte/secrets", v)
	assert.Empty(t, res.rec.Errors)

	assert.Equal(t, []string{"openai"}, entries(t, mount), "nothing is written beside the webhook's mount")
	assert.Equal(t, 1, inPlaceLines(res.stderr), "one line says the file was in place: %s", res.stderr)
	assert.Contains(t, res.stderr, "openai/api-key")
	assertNoCanary(t, res)
}

// Flyte 2: a read-only emptyDir with <key> files, the keys' case kept;
// _UNION_<KEY> variables; the requests in a downward-API item of one
// annotation each. A request with a group finds the file at <dir>/<key> and
// the variable _UNION_<KEY>, since Flyte 2 ignores the group.
func TestWebhookFlyte2EmptyDirIsUsedAsItIs(t *testing.T) {
	root := webhookRoot(t)
	mount := filepath.Join(root, "etc/flyte/secrets")
	webhookMount(t, mount, false, flyte2Files(map[string]string{
		"Api_Key": webhookCanary + "-file",
		"db-pass": webhookCanary + "-grouped",
	}))
	before := entries(t, mount)
	pod := podinfo(t, map[string]string{
		"flyte-secret-s0": annotation(`key: "Api_Key" mount_requirement: FILE`),
		"flyte-secret-s1": annotation(`group: "postgres" key: "db-pass" mount_requirement: ENV_VAR env_var: "PGPASSWORD"`),
		"flyte-secret-s2": annotation(`group: "openai" key: "openai-key" mount_requirement: ENV_VAR env_var: "OPENAI_API_KEY"`) + "\n",
	})
	args := []string{"--dir", mount}
	for _, s := range []string{"flyte-secret-s0", "flyte-secret-s1", "flyte-secret-s2"} {
		args = append(args, "--spec", filepath.Join(pod, s))
	}
	res := webhookRun(root, args, map[string]string{
		"FLYTE_SECRETS_ENV_PREFIX": "_UNION_",
		"_UNION_OPENAI-KEY":        webhookCanary + "-union",
	}).exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	require.NotNil(t, res.rec)
	assert.Equal(t, []byte(webhookCanary+"-file"), res.rec.Files["Api_Key"])
	v, _ := res.rec.env("PGPASSWORD")
	assert.Equal(t, webhookCanary+"-grouped", v, "--dir finds <dir>/<key> for a request with a group")
	v, _ = res.rec.env("OPENAI_API_KEY")
	assert.Equal(t, webhookCanary+"-union", v, "_UNION_<KEY> is found for a request with a group")
	assert.Empty(t, res.rec.Errors)

	assert.Equal(t, before, entries(t, mount), "nothing is written into the read-only emptyDir")
	assert.Equal(t, 1, inPlaceLines(res.stderr), res.stderr)
	assertNoCanary(t, res)
}

// A file in the webhook's mount that is not what the chain resolved is a
// real conflict: exit 73, naming the path, nothing started.
func TestWebhookConflictIsExit73NamingThePath(t *testing.T) {
	t.Run("Flyte 2: other bytes at <key>", func(t *testing.T) {
		root := webhookRoot(t)
		mount := filepath.Join(root, "etc/flyte/secrets")
		webhookMount(t, mount, false, flyte2Files(map[string]string{"k": webhookCanary + "-webhook"}))
		before := entries(t, mount)
		res := webhookRun(root, []string{"--secret", "key=k,mount=/etc/flyte/secrets"},
			map[string]string{"_FSEC_K": webhookCanary + "-resolved"}).exec(t)
		assert.Equal(t, 73, res.code, res.stderr)
		assert.Nil(t, res.rec, "the command does not start")
		assert.Contains(t, res.stderr, filepath.Join(mount, "k"))
		assert.Contains(t, res.stderr, "other content than the resolved value")
		assert.Equal(t, before, entries(t, mount))
		assertNoCanary(t, res)
	})
	t.Run("Flyte 1: the group's mount lacks the key", func(t *testing.T) {
		root := webhookRoot(t)
		mount := filepath.Join(root, "etc/flyte/secrets")
		require.NoError(t, os.Mkdir(mount, 0o755))
		webhookMount(t, filepath.Join(mount, "g"), false, kubeletVolume(map[string]string{"other": "x"}))
		res := webhookRun(root, []string{"--secret", "key=k,group=g,mount=/etc/flyte/secrets"},
			map[string]string{"_FSEC_G_K": webhookCanary}).exec(t)
		assert.Equal(t, 73, res.code, res.stderr)
		assert.Nil(t, res.rec)
		assert.Contains(t, res.stderr, filepath.Join(mount, "g", "k"))
		assert.Contains(t, res.stderr, "there is no such file")
		assert.Equal(t, []string{"g"}, entries(t, mount))
		assertNoCanary(t, res)
	})
	t.Run("Flyte 2: a file request with a group belongs where the webhook wrote nothing", func(t *testing.T) {
		root := webhookRoot(t)
		mount := filepath.Join(root, "etc/flyte/secrets")
		webhookMount(t, mount, true, flyte2Files(map[string]string{"k": webhookCanary}))
		res := webhookRun(root, []string{"--dir", mount, "--secret", "key=k,group=g,mount=/etc/flyte/secrets"}, nil).exec(t)
		assert.Equal(t, 73, res.code, res.stderr)
		assert.Nil(t, res.rec)
		assert.Contains(t, res.stderr, filepath.Join(mount, "g", "k"))
		assert.Contains(t, res.stderr, "read-only file")
		assertNoCanary(t, res)
	})
}

// Beside a Flyte 1 group mount, the files the webhook did not make are
// published as usual, and the mount is left alone.
func TestWebhookMountAndOwnFilesTogether(t *testing.T) {
	root := webhookRoot(t)
	mount := filepath.Join(root, "etc/flyte/secrets")
	require.NoError(t, os.Mkdir(mount, 0o755))
	webhookMount(t, filepath.Join(mount, "gcp"), false, kubeletVolume(map[string]string{"sa.json": webhookCanary + "-sa"}))
	res := webhookRun(root, []string{"--dir", mount,
		"--secret", "key=sa.json,group=gcp,mount=/etc/flyte/secrets",
		"--secret", "key=extra,mount=/etc/flyte/secrets"},
		map[string]string{"_FSEC_EXTRA": webhookCanary + "-extra"}).exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	require.NotNil(t, res.rec)
	assert.Equal(t, []byte(webhookCanary+"-sa"), res.rec.Files["gcp/sa.json"])
	assert.Equal(t, []byte(webhookCanary+"-extra"), res.rec.Files["extra"])
	target, err := os.Readlink(filepath.Join(mount, "..data"))
	require.NoError(t, err)
	assert.Equal(t, []string{"extra"}, entries(t, filepath.Join(mount, target)), "the shim's version holds only its own file")
	assert.Equal(t, 1, inPlaceLines(res.stderr))
	assertNoCanary(t, res)
}

// The spec forms a Flyte pod offers, through the binary: a downward-API
// item of one annotation (the bare value), an annotations file with a name
// that is not s<N> (Flyte's unmarshaler takes the prefix), and Flyte 1's
// admin.TaskSpec JSON.
func TestWebhookSpecForms(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"openai-key", "postgres/db-password", "certs/tls-cert", "github/token", "gcp/service-account.json", "webhook-url", "extra"} {
		writeFile(t, filepath.Join(dir, p), []byte(webhookCanary))
	}
	pod := podinfo(t, map[string]string{
		"s0": string(mustRead(t, filepath.Join(repo, "testdata/specs/annotation-s0"))),
		"annotations": fmt.Sprintf("flyte.secrets/s2=%q\nflyte.secrets/sx=%q",
			annotation(`group: "certs" key: "tls-cert" mount_requirement: FILE`), annotation(`key: "extra"`)),
	})
	res := run{args: []string{"dry-run", "--output", "json", "--dir", dir,
		"--spec", filepath.Join(pod, "s0"),
		"--spec", filepath.Join(pod, "annotations"),
		"--spec", filepath.Join(repo, "testdata/specs/admin-taskspec.json")}}.exec(t)
	require.Equal(t, 0, res.code, res.stderr)
	var got struct {
		Secrets []struct {
			Key    string  `json:"key"`
			Group  *string `json:"group"`
			Target string  `json:"target"`
			EnvVar *string `json:"env_var"`
			Path   *string `json:"path"`
			Status string  `json:"status"`
		} `json:"secrets"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &got), res.stdout)
	var rows []string
	for _, s := range got.Secrets {
		row := s.Key + " " + s.Target + " " + s.Status
		if s.EnvVar != nil {
			row += " " + *s.EnvVar
		}
		if s.Path != nil {
			row += " " + *s.Path
		}
		rows = append(rows, row)
	}
	assert.Equal(t, []string{
		"openai-key env ok OPENAI_API_KEY",
		"tls-cert file ok /etc/flyte/secrets/certs/tls-cert",
		"extra env ok EXTRA",
		"token env ok GH_TOKEN",
		"service-account.json file ok /etc/flyte/secrets/gcp/service-account.json",
		"webhook-url env ok WEBHOOK_URL",
	}, rows)
	assertNoCanary(t, res)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
