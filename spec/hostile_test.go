package spec

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHostileNamesInEveryFormat sends each hostile key and group, as a file
// request, through every format, and checks that Validate refuses it with
// the right rule in a short message.
func TestHostileNamesInEveryFormat(t *testing.T) {
	big := strings.Repeat("k", 10240)
	tests := []struct {
		name     string
		key      string
		group    string
		wantRule string
	}{
		{name: "traversal key", key: "../x", wantRule: `key must not contain "/" in a file request`},
		{name: "slash key", key: "/", wantRule: `key must not contain "/" in a file request`},
		{name: "absolute key", key: "/etc/passwd", wantRule: `key must not contain "/" in a file request`},
		{name: "dot-dot key", key: "..", wantRule: `key must not be "." or ".." in a file request`},
		{name: "..data key", key: "..data", wantRule: `key must not start with ".." in a file request: that prefix is reserved for the mount's atomic layout`},
		{name: "NUL key", key: "a\x00b", wantRule: "key must not contain a NUL or other control character"},
		{name: "10 KB key", key: big, wantRule: "key must be 1 to 253 characters, got 10240 bytes"},
		{name: "traversal group", key: "k", group: "../..", wantRule: `group "../.." must not contain "/" in a file request`},
		{name: "dot-dot group", key: "k", group: "..", wantRule: `group ".." must not be "." or ".." in a file request`},
		{name: "..2026 group", key: "k", group: "..2026_01_01", wantRule: `group "..2026_01_01" must not start with ".." in a file request: that prefix is reserved for the mount's atomic layout`},
		{name: "NUL group", key: "k", group: "\x00", wantRule: `group "\x00" must not contain a NUL or other control character`},
	}
	for _, tt := range tests {
		sources := map[string]func() ([]Raw, error){
			"flag": func() ([]Raw, error) {
				s := "key=" + tt.key + ",mount=" + MountPath
				if tt.group != "" {
					s += ",group=" + tt.group
				}
				r, err := ParseFlag(s, 1)
				return []Raw{r}, err
			},
			"sdk json": func() ([]Raw, error) {
				obj, err := json.Marshal(map[string]string{"key": tt.key, "group": tt.group, "mount": MountPath})
				require.NoError(t, err)
				return ParseSDKJSON("FLYTE_SECRETS", obj)
			},
			"core json": func() ([]Raw, error) {
				obj, err := json.Marshal(map[string]any{"securityContext": map[string]any{"secrets": []map[string]string{
					{"key": tt.key, "group": tt.group, "mountRequirement": "FILE"}}}})
				require.NoError(t, err)
				raws, _, err := ParseFile("task.json", obj)
				return raws, err
			},
			"binary": func() ([]Raw, error) {
				data := pbTaskSpec(pbTaskTemplate(pbSecurityContext(pbSecret{key: tt.key, group: tt.group, mount: 2})))
				raws, _, err := ParseFile("task.pb", data)
				return raws, err
			},
			"annotations": func() ([]Raw, error) {
				text := fmt.Sprintf("key: %s group: %s mount_requirement: FILE", strconv.Quote(tt.key), strconv.Quote(tt.group))
				raws, _, err := ParseFile("annotations", []byte(fmt.Sprintf("flyte.secrets/s0=%q\n", annotationValue(text))))
				return raws, err
			},
		}
		for source, parse := range sources {
			t.Run(tt.name+"/"+source, func(t *testing.T) {
				raws, err := parse()
				require.NoError(t, err)
				require.Len(t, raws, 1)
				got, err := Validate(raws)
				assert.Nil(t, got)
				var serr *Error
				require.ErrorAs(t, err, &serr)
				var rules []string
				for _, p := range serr.Problems {
					rules = append(rules, p.Rule)
				}
				assert.Contains(t, rules, tt.wantRule)
				assert.Less(t, len(err.Error()), 1024)
				assert.NotContains(t, err.Error(), "\x00")
			})
		}
	}
}
