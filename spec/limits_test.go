package spec

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

func TestCountJSONArray(t *testing.T) {
	for _, c := range []string{`[]`, `[ ]`, `["a"]`, `["a", "b,c", {"k": [1, 2]}, [[]], "\"]\\"]`, `[{}, {}, {}]`, ` [1,2, 3] `} {
		var list []json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(c), &list), c)
		assert.Equal(t, len(list), countJSONArray([]byte(strings.TrimSpace(c))), c)
	}
}

func FuzzCountJSONArray(f *testing.F) {
	f.Add([]byte(`["a", {"b": [1, "]"]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var list []json.RawMessage
		if json.Unmarshal(data, &list) != nil {
			return
		}
		require.Equal(t, len(list), countJSONArray([]byte(strings.TrimSpace(string(data)))), "%q", data)
	})
}

// TestTooManyRequests: every form refuses more than MaxRequests requests,
// naming the limit, before it decodes them.
func TestTooManyRequests(t *testing.T) {
	keys := make([]string, MaxRequests+1)
	for i := range keys {
		keys[i] = fmt.Sprintf("%q", fmt.Sprintf("k%d", i))
	}
	list := "[" + strings.Join(keys, ",") + "]"
	_, _, err := ParseFile("big.json", []byte(list))
	assert.EqualError(t, err, `spec "big.json": 10001 secret requests, more than the limit of 10000`)
	_, err = ParseSDKJSON("FLYTE_SECRETS", []byte(`{"secrets": `+list+`}`))
	assert.EqualError(t, err, `FLYTE_SECRETS: 10001 secret requests, more than the limit of 10000`)

	var sc []byte
	for range MaxRequests + 1 {
		sc = appendField(sc, fieldSecurityContextSecrets, appendField(nil, fieldSecretKey, []byte("k")))
	}
	tmpl := appendField(nil, fieldTaskTemplateSecurityContext, sc)
	_, _, err = ParseFile("big.pb", tmpl)
	assert.EqualError(t, err, `spec "big.pb": 10001 secret requests, more than the limit of 10000`)
	_, _, err = ParseFile("big.pb", appendField(nil, fieldTaskSpecTaskTemplate, tmpl))
	assert.EqualError(t, err, `spec "big.pb": 10001 secret requests, more than the limit of 10000`)

	var ann strings.Builder
	for i := range MaxRequests + 1 {
		fmt.Fprintf(&ann, "flyte.secrets/s%d=\"x\"\n", i)
	}
	_, _, err = ParseFile("annotations", []byte(ann.String()))
	assert.EqualError(t, err, `spec "annotations": 10001 secret requests, more than the limit of 10000`)
}

func appendField(b []byte, n protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, n, protowire.BytesType), v)
}
