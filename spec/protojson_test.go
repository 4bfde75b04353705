package spec

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
)

// The hand-written protobuf JSON reader is checked against the real
// protojson, which only the tests link: for every input, both accept or
// both refuse, and what both accept gives the same requests. Two
// differences are deliberate, and skipped here: an unknown
// mount_requirement name, which protojson's DiscardUnknown quietly reads as
// ANY and we refuse; and the texts of errors.

var protoJSONKinds = []msgKind{msgSecret, msgTaskTemplate, msgTaskSpec, msgAdminTaskSpec}

// protojsonRaws decodes data with protojson against the same schema.
func protojsonRaws(kind msgKind, data []byte) ([]Raw, error) {
	s := schema()
	m := s.newMessage(kind)
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, m); err != nil {
		return nil, err
	}
	return s.raws("o", kind, m), nil
}

func compareWithProtojson(t *testing.T, kind msgKind, data []byte) {
	t.Helper()
	if !json.Valid(data) || len(data) == 0 {
		return // checkJSON refuses it before either decoder
	}
	ours, ourErr := decodeProtoJSON("o", data, kind)
	theirs, theirErr := protojsonRaws(kind, data)
	if ourErr != nil && theirErr == nil && isUnknownMountName(ourErr) {
		return
	}
	if theirErr != nil {
		assert.Error(t, ourErr, "protojson refuses %s as %s (%v); so must we", data, msgNames[kind], theirErr)
		return
	}
	require.NoError(t, ourErr, "protojson reads %s as %s", data, msgNames[kind])
	if kind == msgSecret {
		theirs[0].Origin = "o"
	}
	if len(ours) == 0 && len(theirs) == 0 {
		return
	}
	assert.Equal(t, theirs, ours, "%s as %s", data, msgNames[kind])
}

func isUnknownMountName(err error) bool {
	return strings.Contains(err.Error(), "is not ANY, ENV_VAR or FILE")
}

var protoJSONCases = []string{
	`{}`,
	`{"key": "k"}`,
	`{"key": "k", "group": "g", "groupVersion": "v", "mountRequirement": "FILE", "envVar": "E"}`,
	`{"key": "k", "group_version": "v", "mount_requirement": 2, "env_var": "E"}`,
	`{"key": null, "group": null, "mountRequirement": null}`,
	`{"key": "k", "mountRequirement": 1.0}`,
	`{"key": "k", "mountRequirement": 1e0}`,
	`{"key": "k", "mountRequirement": 1.5}`,
	`{"key": "k", "mountRequirement": 7}`,
	`{"key": "k", "mountRequirement": -1}`,
	`{"key": "k", "mountRequirement": 2147483648}`,
	`{"key": "k", "mountRequirement": true}`,
	`{"key": "k", "mountRequirement": "DISK"}`,
	`{"key": 7}`,
	`{"key": ["k"]}`,
	`{"key": "k", "key": "j"}`,
	`{"key": "k", "envVar": "A", "env_var": "B"}`,
	`{"key": "\u00e9t\u00e9"}`,
	`{"key": "a\ud800b"}`,
	`{"future": {"x": [1, {"y": null}]}, "key": "k"}`,
	`"k"`,
	`[]`,
	`{"securityContext": null}`,
	`{"securityContext": {}}`,
	`{"securityContext": {"secrets": null}}`,
	`{"securityContext": {"secrets": []}}`,
	`{"securityContext": {"secrets": [{"key": "a"}, {"key": "b", "mountRequirement": "ENV_VAR"}]}}`,
	`{"securityContext": {"secrets": [null]}}`,
	`{"securityContext": {"secrets": ["a"]}}`,
	`{"securityContext": {"secrets": {"key": "a"}}}`,
	`{"securityContext": []}`,
	`{"security_context": {"secrets": [{"key": "a"}]}, "securityContext": {}}`,
	`{"securityContext": {"runAs": {"k8sServiceAccount": "sa"}, "secrets": [{"key": "a", "mount": "/x"}]}}`,
	`{"taskTemplate": null}`,
	`{"taskTemplate": {"securityContext": {"secrets": [{"key": "a"}]}}}`,
	`{"task_template": {"security_context": {"secrets": [{"key": "a", "mount_requirement": "FILE"}]}}}`,
	`{"taskTemplate": "x"}`,
	`{"template": null}`,
	`{"template": {"securityContext": {"secrets": [{"key": "a", "mountRequirement": "FILE"}]}}, "description": {"shortDescription": "d"}}`,
	`{"template": {"security_context": {"secrets": [{"key": "a"}]}}, "template": {}}`,
	`{"template": "x"}`,
	`{"template": [{"securityContext": {}}]}`,
}

func TestProtoJSONMatchesProtojson(t *testing.T) {
	for _, c := range protoJSONCases {
		for _, kind := range protoJSONKinds {
			compareWithProtojson(t, kind, []byte(c))
		}
	}
}

func FuzzProtoJSON(f *testing.F) {
	for _, c := range protoJSONCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range protoJSONKinds {
			compareWithProtojson(t, kind, data)
		}
	})
}

// TestProtoJSONErrors pins the texts of the reader's own errors.
func TestProtoJSONErrors(t *testing.T) {
	tests := []struct {
		name      string
		kind      msgKind
		data      string
		wantError string
	}{
		{"a secret that is not an object", msgTaskTemplate, `{"securityContext": {"secrets": ["a"]}}`,
			`o secret 1: core.Secret JSON: want an object, got a string`},
		{"secrets not a list", msgTaskTemplate, `{"securityContext": {"secrets": {"key": "a"}}}`,
			`o: core.SecurityContext JSON: field "secrets" must be a list, got an object`},
		{"security context not an object", msgTaskSpec, `{"taskTemplate": {"security_context": [1]}}`,
			`o: core.TaskTemplate JSON: field "security_context" must be an object, got a list`},
		{"a fractional enum", msgSecret, `{"key": "k", "mount_requirement": 1.5}`,
			`o: core.Secret JSON: field "mount_requirement": "1.5" is not an integer in int32's range`},
		{"a boolean enum", msgSecret, `{"key": "k", "mountRequirement": false}`,
			`o: core.Secret JSON: field "mountRequirement" must be ANY, ENV_VAR, FILE or a number, got a boolean`},
		{"an admin.TaskSpec template that is not an object", msgAdminTaskSpec, `{"template": "x"}`,
			`o: admin.TaskSpec JSON: field "template" must be an object, got a string`},
		{"an admin.TaskSpec template given twice", msgAdminTaskSpec, `{"template": {}, "template": {}}`,
			`o: admin.TaskSpec JSON: field "template" is given twice`},
		{"invalid UTF-8", msgSecret, "{\"key\": \"a\xffb\"}",
			`o: core.Secret JSON: a string is not valid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeProtoJSON("o", []byte(tt.data), tt.kind)
			require.Error(t, err)
			assert.Equal(t, tt.wantError, err.Error())
		})
	}
}
