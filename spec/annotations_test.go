package spec

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFlyteBase32Vector(t *testing.T) {
	// The example of the contract, checked both ways.
	assert.Equal(t, "nnsxsoraejwxsx2lmv3secq", annotationValue("key: \"my_key\"\n"))
	got, _, err := ParseFile("annotations", []byte(`flyte.secrets/s0="nnsxsoraejwxsx2lmv3secq"`+"\n"))
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "my_key", got[0].Key)
}

func TestParseFileAnnotations(t *testing.T) {
	const o = `spec "annotations"`
	line := func(name, text string) string { return fmt.Sprintf("%s=%q\n", name, annotationValue(text)) }
	tests := []struct {
		name      string
		data      string
		want      []Raw
		wantError string
	}{
		{
			name: "Flyte's annotations among others, in the kubelet's order",
			data: `cluster-autoscaler.kubernetes.io/safe-to-evict="false"` + "\n" +
				line("flyte.secrets/s0", `key: "openai-key" env_var: "OPENAI_API_KEY" mount_requirement: ENV_VAR`) +
				line("flyte.secrets/s1", "group:  \"postgres\"\nkey: \"db-password\"\n") +
				line("flyte.secrets/s2", `group:"certs" key:"tls-cert" mount_requirement:FILE group_version:"2"`) +
				`kubernetes.io/config.seen="2026-11-26T20:00:00.000000000Z"` + "\n" +
				`note="a \"quoted\" value with \\ and \n"`,
			want: []Raw{
				{Origin: o + " annotation flyte.secrets/s0", Shape: ShapeCore, Key: "openai-key", EnvVar: "OPENAI_API_KEY", MountRequirement: MountEnvVar},
				{Origin: o + " annotation flyte.secrets/s1", Shape: ShapeCore, Key: "db-password", Group: "postgres"},
				{Origin: o + " annotation flyte.secrets/s2", Shape: ShapeCore, Key: "tls-cert", Group: "certs", GroupVersion: "2", MountRequirement: MountFile},
			},
		},
		{
			name: "ordered by N as a number, not as text",
			data: line("flyte.secrets/s10", `key: "k10"`) + line("flyte.secrets/s2", `key: "k2"`) +
				line("flyte.secrets/s1", `key: "k1"`) + line("flyte.secrets/s100000000000000000000", `key: "big"`),
			want: []Raw{
				{Origin: o + " annotation flyte.secrets/s1", Shape: ShapeCore, Key: "k1"},
				{Origin: o + " annotation flyte.secrets/s2", Shape: ShapeCore, Key: "k2"},
				{Origin: o + " annotation flyte.secrets/s10", Shape: ShapeCore, Key: "k10"},
				{Origin: o + " annotation flyte.secrets/s100000000000000000000", Shape: ShapeCore, Key: "big"},
			},
		},
		{
			name: "enum as a number, unknown fields skipped, CRLF line ends",
			data: strings.TrimSuffix(line("flyte.secrets/s0", `key: "k" mount_requirement: 2 future: "x" nested { a: 1 }`), "\n") + "\r\n",
			want: []Raw{{Origin: o + " annotation flyte.secrets/s0", Shape: ShapeCore, Key: "k", MountRequirement: MountFile}},
		},
		{
			// Flyte's unmarshaler takes every name with the prefix, whatever
			// follows it: numbers first, by value, then the rest in byte order.
			name: "every name that starts with flyte.secrets/s is read, as Flyte reads it",
			data: line("flyte.secrets/sx", `key: "kx"`) + line("flyte.secrets/s", `key: "k-bare"`) +
				line("flyte.secrets/s10", `key: "k10"`) + line("flyte.secrets/s-b", `key: "kb"`) + line("flyte.secrets/s9", `key: "k9"`),
			want: []Raw{
				{Origin: o + " annotation flyte.secrets/s9", Shape: ShapeCore, Key: "k9"},
				{Origin: o + " annotation flyte.secrets/s10", Shape: ShapeCore, Key: "k10"},
				{Origin: o + " annotation flyte.secrets/s", Shape: ShapeCore, Key: "k-bare"},
				{Origin: o + " annotation flyte.secrets/s-b", Shape: ShapeCore, Key: "kb"},
				{Origin: o + " annotation flyte.secrets/sx", Shape: ShapeCore, Key: "kx"},
			},
		},
		{
			name: "names without the prefix are not ours",
			data: line("flyte.secrets/S0", "garbage") + line("flyte.secrets/other", "garbage") + line("x.flyte.secrets/s1", "garbage") +
				line("flyte.secrets/s0", `key: "k"`),
			want: []Raw{{Origin: o + " annotation flyte.secrets/s0", Shape: ShapeCore, Key: "k"}},
		},
		{
			name:      "a bad value under the prefix is an error, as in Flyte",
			data:      line("flyte.secrets/s0", `key: "k"`) + `flyte.secrets/sx="garbage!"` + "\n",
			wantError: o + `: line 2: annotation flyte.secrets/sx: the value is not base32 in Flyte's alphabet (abcdefghijklmnopqrstuvwxyz123456, no padding): illegal base32 data at input byte 7`,
		},
		{
			name: "no Flyte annotations",
			data: "kubernetes.io/config.source=\"api\"\n\nprimary_container_name=\"a8x9-n0-0\"\n",
		},
		{
			name:      "a line that is not name=value",
			data:      "a=\"1\"\nnot an annotation\n",
			wantError: o + `: line 2: want name="value", got "not an annotation"`,
		},
		{
			name:      "bad quoting",
			data:      "a=\"1\"\nb=\"unterminated\n",
			wantError: o + `: line 2: annotation "b": the value is not a double-quoted Go string`,
		},
		{
			name:      "single quotes",
			data:      "a=\"1\"\nb='x'\n",
			wantError: o + `: line 2: annotation "b": the value is not a double-quoted Go string`,
		},
		{
			name:      "an annotation twice",
			data:      "a=\"1\"\na=\"2\"\n",
			wantError: o + `: line 2: annotation "a" is given twice (first on line 1)`,
		},
		{
			name:      "RFC 4648 base32 is not Flyte's",
			data:      `flyte.secrets/s0="NNSXSORAEJWXSX2LMV3SECQ"`,
			wantError: o + `: line 1: annotation flyte.secrets/s0: the value is not base32 in Flyte's alphabet (abcdefghijklmnopqrstuvwxyz123456, no padding): illegal base32 data at input byte 0`,
		},
		{
			name:      "padding",
			data:      `flyte.secrets/s0="nnsxsoraejwxsx2lmv3secq="`,
			wantError: o + `: line 1: annotation flyte.secrets/s0: the value is not base32 in Flyte's alphabet (abcdefghijklmnopqrstuvwxyz123456, no padding): illegal base32 data at input byte 23`,
		},
		{
			name:      "bad text format",
			data:      "a=\"1\"\n" + line("flyte.secrets/s0", `key: "unterminated`),
			wantError: o + `: line 2: annotation flyte.secrets/s0: the decoded value is not a core.Secret in protobuf text format: line 1, column 6: the text ends inside this string`,
		},
		{
			name:      "a bad enum name",
			data:      line("flyte.secrets/s0", `key: "k" mount_requirement: DISK`),
			wantError: o + `: line 1: annotation flyte.secrets/s0: the decoded value is not a core.Secret in protobuf text format: line 1, column 29: mount_requirement must be ANY, ENV_VAR, FILE or an int32 number, got DISK`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, format, err := ParseFile("annotations", []byte(tt.data))
			if tt.wantError != "" {
				require.Error(t, err)
				assert.Equal(t, tt.wantError, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, FormatAnnotations, format)
			if len(tt.want) == 0 {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseFileEmpty(t *testing.T) {
	for _, data := range []string{"", " \n\t\r\n"} {
		_, _, err := ParseFile("empty.json", []byte(data))
		require.Error(t, err)
		assert.Equal(t, `spec "empty.json": the file is empty`, err.Error())
	}
}

func TestParseFileHostileName(t *testing.T) {
	_, _, err := ParseFile(strings.Repeat("n", 5000)+"\x00", nil)
	require.Error(t, err)
	assert.Equal(t, `spec "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"...(5001 bytes): the file is empty`, err.Error())
}

// A downward-API item for one annotation
// (metadata.annotations['flyte.secrets/s0']) holds the bare value, with no
// name, no quotes and no newline.
func TestParseFileAnnotationValue(t *testing.T) {
	const o = `spec "s0"`
	tests := []struct {
		name       string
		data       string
		want       []Raw
		wantFormat Format
		wantError  string
	}{
		{
			name:       "the contract's example, as the kubelet writes it",
			data:       "nnsxsoraejwxsx2lmv3secq",
			want:       []Raw{{Origin: o + " secret 1", Shape: ShapeCore, Key: "my_key"}},
			wantFormat: FormatAnnotationValue,
		},
		{
			name: "with a newline after it, as echo writes it",
			data: annotationValue(`group: "certs" key: "tls-cert" mount_requirement: FILE env_var: "TLS_PATH"`) + "\n",
			want: []Raw{{Origin: o + " secret 1", Shape: ShapeCore, Key: "tls-cert", Group: "certs",
				MountRequirement: MountFile, EnvVar: "TLS_PATH"}},
			wantFormat: FormatAnnotationValue,
		},
		{
			name:      "RFC 4648 base32 is not Flyte's",
			data:      "NNSXSORAEJWXSX2LMV3SECQ",
			wantError: o + `: a bare annotation value (what a downward-API item for one flyte.secrets/s<N> annotation holds): the value is not base32 in Flyte's alphabet (abcdefghijklmnopqrstuvwxyz123456, no padding): illegal base32 data at input byte 0`,
		},
		{
			name:      "padding",
			data:      "nnsxsoraejwxsx2lmv3secq=",
			wantError: o + `: a bare annotation value (what a downward-API item for one flyte.secrets/s<N> annotation holds): the value is not base32 in Flyte's alphabet (abcdefghijklmnopqrstuvwxyz123456, no padding): illegal base32 data at input byte 23`,
		},
		{
			name:      "base32 of something that is not a core.Secret",
			data:      annotationValue(`key: "unterminated`),
			wantError: o + `: a bare annotation value (what a downward-API item for one flyte.secrets/s<N> annotation holds): the decoded value is not a core.Secret in protobuf text format: line 1, column 6: the text ends inside this string`,
		},
		{
			name:      "two words are not one value",
			data:      "nnsxsoraejwxsx2lmv3secq nnsxsoraejwxsx2lmv3secq",
			wantError: o + ": not JSON, not a downward-API annotations file, and not well-formed binary protobuf: at byte 0, field 13: it has a reserved wire type (6 or 7)",
		},
		{
			name:      "JSON's bare words are JSON",
			data:      "null",
			wantError: o + ": want a JSON string, object or list, got null",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, format, err := ParseFile("s0", []byte(tt.data))
			if tt.wantError != "" {
				require.Error(t, err)
				assert.Equal(t, tt.wantError, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantFormat, format)
			assert.Equal(t, tt.want, got)
		})
	}
}

// The bare value and the annotations file that holds it give the same
// requests.
func TestAnnotationValueMatchesTheFile(t *testing.T) {
	for _, text := range []string{s0Text, "group: \"postgres\"\nkey: \"db-password\"\n", `key: "k" mount_requirement: 2 future: 3`} {
		v := annotationValue(text)
		fromFile, _, err := ParseFile("f", []byte(fmt.Sprintf("flyte.secrets/s0=%q\n", v)))
		require.NoError(t, err)
		fromValue, format, err := ParseFile("f", []byte(v))
		require.NoError(t, err)
		assert.Equal(t, FormatAnnotationValue, format)
		require.Len(t, fromValue, 1)
		require.Len(t, fromFile, 1)
		fromValue[0].Origin = fromFile[0].Origin
		assert.Equal(t, fromFile, fromValue)
	}
}
