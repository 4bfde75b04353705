package jsonstrict

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

type doc struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func TestDecodeErrorsNeverQuoteTheInput(t *testing.T) {
	const canary = "CANARY7"
	cases := []struct {
		name    string
		in      string
		strict  bool
		wantErr string
	}{
		{name: "ok", in: `{"name": "a", "count": 2}`},
		{name: "unknown field allowed", in: `{"name": "a", "x": 1}`},
		{name: "empty", in: ``, wantErr: "empty"},
		{name: "control byte in a string", in: "{\"name\": \"" + canary + "\x01\"}", wantErr: "not valid JSON (at byte"},
		{name: "bad literal", in: `{"name": ` + canary + `}`, wantErr: "not valid JSON (at byte"},
		{name: "truncated", in: `{"name": "` + canary, wantErr: "ends too early"},
		{name: "wrong type", in: `{"count": "` + canary + `"}`, wantErr: "count is a JSON string, want int"},
		{name: "number literal in a wrong type", in: `{"count": 73917391739173917391739173917391}`, wantErr: "count is a JSON number, want int"},
		{name: "float for an int", in: `{"count": 7391.7391}`, wantErr: "count is a JSON number, want int"},
		{name: "unknown field", in: `{"` + canary + `": 1}`, strict: true, wantErr: "an unknown field"},
		{name: "trailing data", in: `{} "` + canary + `"`, wantErr: "data after the JSON value"},
		{name: "not UTF-8", in: "{\"name\": \"\xff" + canary + "\"}", wantErr: "not UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			err := Decode([]byte(tc.in), &d, tc.strict)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
			assert.NotContains(t, err.Error(), canary)
			assert.NotContains(t, err.Error(), "7391")
			assert.NotContains(t, strings.ToLower(err.Error()), "\\x01")
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"name": "a", "count": 2}`), true)
	f.Add([]byte("{\"name\": \"SECRET\x01\"}"), false)
	f.Fuzz(func(t *testing.T, data []byte, strict bool) {
		var d doc
		err := Decode(data, &d, strict)
		if err == nil {
			return
		}
		// No run of 6 or more input bytes may show up in the error, digits
		// included (a value may be a number), except the error's own words.
		msg := err.Error()
		for i := 0; i+6 <= len(data); i++ {
			w := string(data[i : i+6])
			if strings.Trim(w, " \t\r\n{}[]:,\"") == "" {
				continue
			}
			if strings.Contains(msg, w) {
				t.Fatalf("error %q quotes input bytes %q", msg, w)
			}
		}
	})
}
