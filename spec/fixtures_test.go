package spec

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the generated fixtures in ../testdata/specs (taskspec.pb, tasktemplate.pb, annotations, annotation-s0)")

const fixtureDir = "../testdata/specs"

// The secrets of the binary fixtures: the same as tasktemplate.json and
// taskspec.json.
var (
	templateSecrets = []pbSecret{
		{group: "wandb", key: "api-key", mount: 1},
		{key: "hf-token", mount: 1, envVar: "HF_TOKEN"},
		{group: "gcp", key: "service-account.json", mount: 2, envVar: "GOOGLE_APPLICATION_CREDENTIALS"},
	}
	specSecrets = []pbSecret{
		{group: "snowflake", key: "password", mount: 1},
		{group: "snowflake", key: "private-key", mount: 2, envVar: "SNOWFLAKE_PRIVATE_KEY_PATH"},
		{key: "slack-token", envVar: "SLACK_TOKEN"},
	}
)

// annotationsFixture is a downward-API annotations file as the kubelet
// writes it (sorted, %q-quoted, no newline at the end) for a pod that Flyte
// marked with the secrets of demo-task.json.
func annotationsFixture() []byte {
	annotations := []struct{ name, value string }{
		{"cluster-autoscaler.kubernetes.io/safe-to-evict", "false"},
		{"flyte.secrets/s0", annotationValue(s0Text)},
		{"flyte.secrets/s1", annotationValue("group: \"postgres\"\nkey: \"db-password\"\nmount_requirement: ENV_VAR\n")},
		{"flyte.secrets/s2", annotationValue(`group:"certs" key:"tls-cert" mount_requirement:FILE`)},
		{"kubernetes.io/config.seen", "2026-11-26T20:00:00.000000000Z"},
		{"kubernetes.io/config.source", "api"},
		{"primary_container_name", "a8x9k2tq4w-n0-0"},
	}
	var b strings.Builder
	for _, a := range annotations {
		fmt.Fprintf(&b, "%s=%q\n", a.name, a.value)
	}
	return []byte(strings.TrimSuffix(b.String(), "\n"))
}

// s0Text is the first of the demo's annotations, in protobuf text format.
const s0Text = `key:"openai-key"  mount_requirement:ENV_VAR  env_var:"OPENAI_API_KEY"`

// generatedFixtures are the fixtures the tests write. annotation-s0 is what
// a downward-API item for the one annotation
// metadata.annotations['flyte.secrets/s0'] holds: the bare value, with no
// newline.
func generatedFixtures() map[string][]byte {
	return map[string][]byte{
		"tasktemplate.pb": pbTaskTemplate(pbSecurityContext(templateSecrets...)),
		"taskspec.pb":     pbTaskSpec(pbTaskTemplate(pbSecurityContext(specSecrets...))),
		"annotations":     annotationsFixture(),
		"annotation-s0":   []byte(annotationValue(s0Text)),
	}
}

func writeFixtures(t *testing.T) {
	for name, data := range generatedFixtures() {
		require.NoError(t, os.WriteFile(filepath.Join(fixtureDir, name), data, 0o644))
	}
}

// TestFixtures reads every sample spec and checks the requests it gives.
// testdata/specs/README.md lists the same.
func TestFixtures(t *testing.T) {
	if *update {
		writeFixtures(t)
	}
	var (
		wandb     = Request{Key: "api-key", Group: "wandb", EnvVar: "WANDB_API_KEY"}
		hf        = Request{Key: "hf-token", EnvVar: "HF_TOKEN"}
		gcp       = Request{Key: "service-account.json", Group: "gcp", File: true, EnvVar: "GOOGLE_APPLICATION_CREDENTIALS", EnvIsPath: true}
		snowPass  = Request{Key: "password", Group: "snowflake", EnvVar: "SNOWFLAKE_PASSWORD"}
		snowKey   = Request{Key: "private-key", Group: "snowflake", File: true, EnvVar: "SNOWFLAKE_PRIVATE_KEY_PATH", EnvIsPath: true}
		slack     = Request{Key: "slack-token", EnvVar: "SLACK_TOKEN"}
		openai    = Request{Key: "openai-key", EnvVar: "OPENAI_API_KEY"}
		dbPass    = Request{Key: "db-password", Group: "postgres", EnvVar: "POSTGRES_DB_PASSWORD"}
		tlsCert   = Request{Key: "tls-cert", Group: "certs", File: true}
		demo      = []Request{openai, dbPass, tlsCert}
		templates = []Request{wandb, hf, gcp}
		specs     = []Request{snowPass, snowKey, slack}
	)
	tests := []struct {
		file       string
		wantFormat Format
		want       []Request
		wantPaths  []string // logical paths of the file requests
	}{
		{
			file:       "sdk.json",
			wantFormat: FormatSDKJSON,
			want: []Request{
				{Key: "my-api-key", EnvVar: "MY_API_KEY"},
				{Key: "openai-key", EnvVar: "OPENAI_API_KEY"},
				{Key: "db-config", Group: "postgres", File: true},
				{Key: "slack-webhook", EnvVar: "SLACK_WEBHOOK", Optional: true},
			},
			wantPaths: []string{"/etc/flyte/secrets/postgres/db-config"},
		},
		{
			file:       "flyte-secrets.json",
			wantFormat: FormatSDKJSON,
			want: []Request{
				{Key: "api-key", Group: "openai", EnvVar: "OPENAI_API_KEY"},
				{Key: "tls-cert", Group: "certs", File: true, EnvVar: "TLS_CERT"},
				{Key: "sentry-dsn", EnvVar: "SENTRY_DSN", Optional: true},
			},
			wantPaths: []string{"/etc/flyte/secrets/certs/tls-cert"},
		},
		{
			file:       "secret.json",
			wantFormat: FormatSecretJSON,
			want:       []Request{{Key: "api-token", Group: "vault", GroupVersion: "v2", EnvVar: "VAULT_API_TOKEN"}},
		},
		{
			file:       "security-context.json",
			wantFormat: FormatSecurityContextJSON,
			want: []Request{
				{Key: "access-key-id", Group: "aws", EnvVar: "AWS_ACCESS_KEY_ID"},
				{Key: "secret-access-key", Group: "aws", EnvVar: "AWS_SECRET_ACCESS_KEY"},
				{Key: "ca.pem", Group: "certs", File: true, EnvVar: "CA_BUNDLE_PATH", EnvIsPath: true},
				{Key: "github-token", EnvVar: "GITHUB_TOKEN"},
			},
			wantPaths: []string{"/etc/flyte/secrets/certs/ca.pem"},
		},
		{file: "tasktemplate.json", wantFormat: FormatTaskTemplateJSON, want: templates, wantPaths: []string{"/etc/flyte/secrets/gcp/service-account.json"}},
		{file: "tasktemplate.pb", wantFormat: FormatTaskTemplateProto, want: templates, wantPaths: []string{"/etc/flyte/secrets/gcp/service-account.json"}},
		{file: "taskspec.json", wantFormat: FormatTaskSpecJSON, want: specs, wantPaths: []string{"/etc/flyte/secrets/snowflake/private-key"}},
		{file: "taskspec.pb", wantFormat: FormatTaskSpecProto, want: specs, wantPaths: []string{"/etc/flyte/secrets/snowflake/private-key"}},
		{file: "demo-task.json", wantFormat: FormatTaskTemplateJSON, want: demo, wantPaths: []string{"/etc/flyte/secrets/certs/tls-cert"}},
		{file: "annotations", wantFormat: FormatAnnotations, want: demo, wantPaths: []string{"/etc/flyte/secrets/certs/tls-cert"}},
		{file: "annotation-s0", wantFormat: FormatAnnotationValue, want: []Request{openai}},
		{
			file:       "admin-taskspec.json",
			wantFormat: FormatAdminTaskSpecJSON,
			want: []Request{
				{Key: "token", Group: "github", EnvVar: "GH_TOKEN"},
				{Key: "service-account.json", Group: "gcp", File: true},
				{Key: "webhook-url", EnvVar: "WEBHOOK_URL"},
			},
			wantPaths: []string{"/etc/flyte/secrets/gcp/service-account.json"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(fixtureDir, tt.file))
			require.NoError(t, err)
			raws, format, err := ParseFile(tt.file, data)
			require.NoError(t, err)
			assert.Equal(t, tt.wantFormat, format)
			got, err := Validate(raws)
			require.NoError(t, err)
			var paths []string
			for i := range got {
				assert.True(t, strings.HasPrefix(got[i].Origin, "spec "+quote(tt.file)+" "), got[i].Origin)
				got[i].Origin = ""
				if got[i].File {
					paths = append(paths, got[i].LogicalPath())
				}
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantPaths, paths)
		})
	}
}

// TestFixturesGenerated checks that the committed binary fixtures are what
// the generator writes, so that they cannot drift from the test's intent.
func TestFixturesGenerated(t *testing.T) {
	for name, data := range generatedFixtures() {
		got, err := os.ReadFile(filepath.Join(fixtureDir, name))
		require.NoError(t, err)
		assert.Equal(t, data, got, "%s is stale: run go test ./spec -run TestFixtures -update", name)
	}
}

// The inline FLYTE_SECRETS sample reads the same through ParseSDKJSON.
func TestFixtureFlyteSecrets(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtureDir, "flyte-secrets.json"))
	require.NoError(t, err)
	raws, err := ParseSDKJSON("FLYTE_SECRETS", data)
	require.NoError(t, err)
	got, err := Validate(raws)
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, "FLYTE_SECRETS secret 2", got[1].Origin)
	assert.Equal(t, "/etc/flyte/secrets/certs/tls-cert", got[1].LogicalPath())
	assert.Equal(t, "TLS_CERT", got[1].EnvVar)
	assert.False(t, got[1].EnvIsPath)
}
