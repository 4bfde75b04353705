package spec

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSDKJSON(t *testing.T) {
	const o = "FLYTE_SECRETS"
	tests := []struct {
		name      string
		data      string
		want      []Raw
		wantError string
	}{
		{
			name: "a string",
			data: `"my-api-key"`,
			want: []Raw{{Origin: o + " secret 1", Key: "my-api-key"}},
		},
		{
			name: "an object with every field",
			data: `{"key": "api-key", "group": "openai", "group_version": "v1", "mount": "/etc/flyte/secrets", "as_env_var": "OPENAI", "optional": true}`,
			want: []Raw{{Origin: o + " secret 1", Key: "api-key", Group: "openai", GroupVersion: "v1", Mount: MountPath, AsEnvVar: "OPENAI", Optional: true}},
		},
		{
			name: "a list of strings and objects",
			data: ` ["a", {"key": "b", "as_env_var": "B"}, {"key": "c", "mount": "/etc/flyte/secrets"}] `,
			want: []Raw{
				{Origin: o + " secret 1", Key: "a"},
				{Origin: o + " secret 2", Key: "b", AsEnvVar: "B"},
				{Origin: o + " secret 3", Key: "c", Mount: MountPath},
			},
		},
		{
			name: "secrets",
			data: `{"secrets": ["a", {"key": "b", "optional": false}]}`,
			want: []Raw{{Origin: o + " secret 1", Key: "a"}, {Origin: o + " secret 2", Key: "b"}},
		},
		{
			name: "null fields are unset",
			data: `{"key": "a", "group": null, "as_env_var": null, "optional": null}`,
			want: []Raw{{Origin: o + " secret 1", Key: "a"}},
		},
		{
			name: "an empty list",
			data: `[]`,
			want: []Raw{},
		},
		{
			name: "escapes are decoded",
			data: `"a\u0000b"`,
			want: []Raw{{Origin: o + " secret 1", Key: "a\x00b"}},
		},
		{
			name:      "empty",
			data:      "  ",
			wantError: "FLYTE_SECRETS: invalid JSON at byte 2: unexpected end of JSON input",
		},
		{
			name:      "bad JSON",
			data:      `["a",]`,
			wantError: "FLYTE_SECRETS: invalid JSON at byte 6: invalid character ']' looking for beginning of value",
		},
		{
			name:      "a bare word",
			data:      "my-api-key",
			wantError: `FLYTE_SECRETS: invalid JSON at byte 1: invalid character 'm' looking for beginning of value (a key alone is a JSON string: "my-api-key")`,
		},
		{
			name:      "trailing data",
			data:      `"a" "b"`,
			wantError: "FLYTE_SECRETS: invalid JSON at byte 5: invalid character '\"' after top-level value",
		},
		{
			name:      "a number",
			data:      `42`,
			wantError: "FLYTE_SECRETS: want a JSON string, object or list, got a number",
		},
		{
			name:      "a number in the list",
			data:      `["a", 42]`,
			wantError: "FLYTE_SECRETS secret 2: want a string (a key) or an object, got a number",
		},
		{
			name:      "unknown field",
			data:      `[{"key": "a", "as_env": "A"}]`,
			wantError: `FLYTE_SECRETS secret 1: unknown field "as_env": the fields are key, group, group_version, mount, as_env_var, optional`,
		},
		{
			name:      "core fields belong in a spec file",
			data:      `{"key": "a", "envVar": "A"}`,
			wantError: `FLYTE_SECRETS secret 1: unknown field "envVar": the fields are key, group, group_version, mount, as_env_var, optional (a core.Secret belongs in a --spec file)`,
		},
		{
			name:      "duplicate field",
			data:      `{"key": "a", "key": "b"}`,
			wantError: `FLYTE_SECRETS: field "key" is given twice`,
		},
		{
			name:      "a key that is not a string",
			data:      `{"key": 1}`,
			wantError: `FLYTE_SECRETS secret 1: field "key" must be a string, got a number`,
		},
		{
			name:      "optional that is not a bool",
			data:      `{"key": "a", "optional": "yes"}`,
			wantError: `FLYTE_SECRETS secret 1: field "optional" must be true or false, got a string`,
		},
		{
			name:      "secrets that is not a list",
			data:      `{"secrets": "a"}`,
			wantError: `FLYTE_SECRETS: "secrets" must be a list, got a string`,
		},
		{
			name:      "a field next to secrets",
			data:      `{"secrets": [], "tokens": []}`,
			wantError: `FLYTE_SECRETS: unknown field "tokens" next to "secrets"`,
		},
		{
			name:      "an object of neither kind",
			data:      `{"secret": ["a"]}`,
			wantError: `FLYTE_SECRETS: a JSON object must have "key" (one secret) or "secrets" (a list)`,
		},
		{
			name:      "a task template is for --spec",
			data:      `{"securityContext": {"secrets": [{"key": "a"}]}}`,
			wantError: `FLYTE_SECRETS: a JSON object must have "key" (one secret) or "secrets" (a list)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSDKJSON(o, []byte(tt.data))
			if tt.wantError != "" {
				require.Error(t, err)
				assert.Equal(t, tt.wantError, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestParseFileJSON covers every JSON form a --spec file may take.
func TestParseFileJSON(t *testing.T) {
	const o = `spec "task.json"`
	tests := []struct {
		name       string
		data       string
		want       []Raw
		wantFormat Format
		wantError  string
	}{
		{
			name:       "SDK string",
			data:       `"my-api-key"`,
			want:       []Raw{{Origin: o + " secret 1", Key: "my-api-key"}},
			wantFormat: FormatSDKJSON,
		},
		{
			name:       "SDK list",
			data:       `["a", {"key": "b", "mount": "/etc/flyte/secrets"}]`,
			want:       []Raw{{Origin: o + " secret 1", Key: "a"}, {Origin: o + " secret 2", Key: "b", Mount: MountPath}},
			wantFormat: FormatSDKJSON,
		},
		{
			name:       "an object with key alone reads as SDK",
			data:       `{"key": "a", "group": "g", "group_version": "1"}`,
			want:       []Raw{{Origin: o + " secret 1", Key: "a", Group: "g", GroupVersion: "1"}},
			wantFormat: FormatSDKJSON,
		},
		{
			name: "core.Secret, camelCase, enum by name",
			data: `{"group": "vault", "groupVersion": "v2", "key": "api-token", "mountRequirement": "FILE", "envVar": "TOKEN_PATH"}`,
			want: []Raw{{Origin: o + " secret 1", Shape: ShapeCore, Key: "api-token", Group: "vault", GroupVersion: "v2",
				MountRequirement: MountFile, EnvVar: "TOKEN_PATH"}},
			wantFormat: FormatSecretJSON,
		},
		{
			name:       "core.Secret, snake_case, enum by number, unknown field",
			data:       `{"key": "k", "mount_requirement": 1, "env_var": "K", "future_field": {"x": [1]}}`,
			want:       []Raw{{Origin: o + " secret 1", Shape: ShapeCore, Key: "k", MountRequirement: MountEnvVar, EnvVar: "K"}},
			wantFormat: FormatSecretJSON,
		},
		{
			name: "core.SecurityContext",
			data: `{"run_as": {"k8s_service_account": "sa"}, "secrets": [{"key": "a", "mount_requirement": "ENV_VAR"}, {"key": "b", "group": "g", "mountRequirement": 2}], "tokens": []}`,
			want: []Raw{
				{Origin: o + " secret 1", Shape: ShapeCore, Key: "a", MountRequirement: MountEnvVar},
				{Origin: o + " secret 2", Shape: ShapeCore, Key: "b", Group: "g", MountRequirement: MountFile},
			},
			wantFormat: FormatSecurityContextJSON,
		},
		{
			name: "secrets mixing both shapes, decided per element",
			data: `{"secrets": ["a", {"key": "b", "as_env_var": "B"}, {"key": "c", "envVar": "C"}, {"key": "d"}]}`,
			want: []Raw{
				{Origin: o + " secret 1", Key: "a"},
				{Origin: o + " secret 2", Key: "b", AsEnvVar: "B"},
				{Origin: o + " secret 3", Shape: ShapeCore, Key: "c", EnvVar: "C"},
				{Origin: o + " secret 4", Key: "d"},
			},
			wantFormat: FormatSecurityContextJSON,
		},
		{
			name:       "SDK secrets",
			data:       `{"secrets": [{"key": "a", "optional": true}]}`,
			want:       []Raw{{Origin: o + " secret 1", Key: "a", Optional: true}},
			wantFormat: FormatSDKJSON,
		},
		{
			name:       "null secrets",
			data:       `{"secrets": null}`,
			wantFormat: FormatSecurityContextJSON,
		},
		{
			name: "core.TaskTemplate with everything around the secrets",
			data: `{"id": {"resourceType": "TASK", "project": "p", "domain": "d", "name": "n", "version": "v"},
				"type": "python-task", "metadata": {"retries": {}, "runtime": {"type": "FLYTE_SDK"}},
				"interface": {"inputs": {"variables": {}}}, "custom": {"a": [1, 2, {"b": null}]},
				"container": {"image": "img", "args": ["pyflyte-execute"], "env": [{"key": "A", "value": "1"}]},
				"securityContext": {"runAs": {"k8sServiceAccount": "sa"}, "secrets": [
					{"group": "openai", "key": "api-key", "mountRequirement": "ENV_VAR"},
					{"key": "cert", "mount_requirement": "FILE", "env_var": "CERT_PATH"}]},
				"config": {"x": "y"}, "extendedResources": {}}`,
			want: []Raw{
				{Origin: o + " secret 1", Shape: ShapeCore, Key: "api-key", Group: "openai", MountRequirement: MountEnvVar},
				{Origin: o + " secret 2", Shape: ShapeCore, Key: "cert", MountRequirement: MountFile, EnvVar: "CERT_PATH"},
			},
			wantFormat: FormatTaskTemplateJSON,
		},
		{
			name:       "core.TaskTemplate in snake_case",
			data:       `{"security_context": {"secrets": [{"key": "a", "mount_requirement": 2}]}}`,
			want:       []Raw{{Origin: o + " secret 1", Shape: ShapeCore, Key: "a", MountRequirement: MountFile}},
			wantFormat: FormatTaskTemplateJSON,
		},
		{
			name:       "core.TaskTemplate without a security context",
			data:       `{"id": {"name": "n"}, "type": "python-task", "container": {"image": "img"}}`,
			wantFormat: FormatTaskTemplateJSON,
		},
		{
			name:       "an empty object",
			data:       `{}`,
			wantFormat: FormatTaskTemplateJSON,
		},
		{
			name:       "task.TaskSpec",
			data:       `{"taskTemplate": {"type": "python-task", "securityContext": {"secrets": [{"key": "a"}]}}}`,
			want:       []Raw{{Origin: o + " secret 1", Shape: ShapeCore, Key: "a"}},
			wantFormat: FormatTaskSpecJSON,
		},
		{
			name:       "task.TaskSpec in snake_case",
			data:       `{"task_template": {"security_context": {"secrets": [{"key": "a", "mount_requirement": "FILE"}]}}, "short_name": "t"}`,
			want:       []Raw{{Origin: o + " secret 1", Shape: ShapeCore, Key: "a", MountRequirement: MountFile}},
			wantFormat: FormatTaskSpecJSON,
		},
		{
			name:       "task.TaskSpec without secrets",
			data:       `{"taskTemplate": {"type": "python-task"}}`,
			wantFormat: FormatTaskSpecJSON,
		},
		{
			name:      "both shapes in one object",
			data:      `{"secrets": [{"key": "a", "mount": "/etc/flyte/secrets", "mountRequirement": "FILE"}]}`,
			wantError: o + ` secret 1: mixes the SDK's field "mount" with core.Secret's field "mountRequirement": use one shape`,
		},
		{
			name:      "bad enum name",
			data:      `{"key": "a", "mountRequirement": "DISK"}`,
			wantError: o + ` secret 1: mountRequirement "DISK" is not ANY, ENV_VAR or FILE`,
		},
		{
			name:      "bad enum name deep in a task spec",
			data:      `{"task_template": {"securityContext": {"secrets": [{"key": "a"}, {"key": "b", "mount_requirement": "file"}]}}}`,
			wantError: o + ` secret 2: mount_requirement "file" is not ANY, ENV_VAR or FILE`,
		},
		{
			name: "Flyte 1's admin.TaskSpec, snake_case inside",
			data: `{"template": {"security_context": {"secrets": [{"key": "a", "mount_requirement": 2}, {"key": "b"}]}}, "description": {"short_description": "d"}}`,
			want: []Raw{
				{Origin: o + " secret 1", Shape: ShapeCore, Key: "a", MountRequirement: MountFile},
				{Origin: o + " secret 2", Shape: ShapeCore, Key: "b"},
			},
			wantFormat: FormatAdminTaskSpecJSON,
		},
		{
			name:       "an admin.TaskSpec without a template holds nothing",
			data:       `{"template": null, "description": {}}`,
			wantFormat: FormatAdminTaskSpecJSON,
		},
		{
			name:      "bad enum name deep in an admin.TaskSpec",
			data:      `{"template": {"securityContext": {"secrets": [{"key": "a", "mountRequirement": "File"}]}}}`,
			wantError: o + ` secret 1: mountRequirement "File" is not ANY, ENV_VAR or FILE`,
		},
		{
			name:      "a core field of the wrong type",
			data:      `{"securityContext": {"secrets": [{"key": 7}]}}`,
			wantError: o + ` secret 1: core.Secret JSON: field "key" must be a string, got a number`,
		},
		{
			name:      "the same field under both names",
			data:      `{"key": "a", "envVar": "A", "env_var": "B"}`,
			wantError: o + ` secret 1: core.Secret JSON: field "env_var" is given twice, also as "envVar"`,
		},
		{
			name:      "bad JSON",
			data:      `{"key": "a",}`,
			wantError: o + ": invalid JSON at byte 13: invalid character '}' looking for beginning of object key string",
		},
		{
			name:      "an object of no known kind",
			data:      `{"secret": ["a"]}`,
			wantError: o + `: a JSON object must have "key" (one secret), "secrets" (a list), "securityContext" (a core.TaskTemplate), "taskTemplate" (a task.TaskSpec) or "template" (an admin.TaskSpec)`,
		},
		{
			name:      "null",
			data:      `null`,
			wantError: o + ": want a JSON string, object or list, got null",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, format, err := ParseFile("task.json", []byte(tt.data))
			if tt.wantError != "" {
				require.Error(t, err)
				assert.Equal(t, tt.wantError, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantFormat, format)
			if len(tt.want) == 0 {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
}
