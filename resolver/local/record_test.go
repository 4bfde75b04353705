package local

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
)

func TestDecodeRecord(t *testing.T) {
	const valid = `{"version":1,"name":"k","org":"flyte","project":"p","domain":"d","type":"image_pull","created_time":"2026-01-02T03:04:05+01:00","value":"AP8="}`
	tests := []struct {
		name      string
		data      string
		wantMeta  manage.Meta
		wantValue []byte
		wantErr   string
	}{
		{name: "valid", data: valid,
			wantMeta: manage.Meta{Name: "k", Org: "flyte", Project: "p", Domain: "d", Type: manage.TypeImagePull,
				Created: time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC)},
			wantValue: []byte{0, 0xff}},
		{name: "empty value", data: `{"version":1,"name":"k","org":"","project":"","domain":"","type":"regular","created_time":"2026-01-02T03:04:05Z","value":""}`,
			wantMeta: manage.Meta{Name: "k", Type: manage.TypeRegular, Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, wantValue: []byte{}},
		{name: "trailing whitespace is fine", data: valid + "\n\n ",
			wantMeta: manage.Meta{Name: "k", Org: "flyte", Project: "p", Domain: "d", Type: manage.TypeImagePull,
				Created: time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC)},
			wantValue: []byte{0, 0xff}},
		{name: "empty", data: "", wantErr: "empty file"},
		{name: "not JSON", data: "hello", wantErr: "not a JSON record"},
		{name: "a JSON list", data: "[]", wantErr: "not a JSON record"},
		{name: "null", data: "null", wantErr: `missing field "version"`},
		{name: "two records", data: valid + valid, wantErr: "not a JSON record: data after the JSON value"},
		{name: "unknown field", data: `{"version":1,"extra":true}`, wantErr: "not a JSON record: an unknown field"},
		{name: "missing value", data: `{"version":1,"name":"k","org":"flyte","project":"","domain":"","type":"regular","created_time":"2026-01-02T03:04:05Z"}`,
			wantErr: `missing field "value"`},
		{name: "future version", data: `{"version":2,"name":"k","org":"flyte","project":"","domain":"","type":"regular","created_time":"2026-01-02T03:04:05Z","value":""}`,
			wantErr: "record version 2 is not supported (this build reads version 1)"},
		{name: "bad name", data: `{"version":1,"name":"../k","org":"flyte","project":"","domain":"","type":"regular","created_time":"2026-01-02T03:04:05Z","value":""}`,
			wantErr: `invalid secret name "../k"`},
		{name: "project without domain", data: `{"version":1,"name":"k","org":"flyte","project":"p","domain":"","type":"regular","created_time":"2026-01-02T03:04:05Z","value":""}`,
			wantErr: "project-scoped secrets must also specify a domain"},
		{name: "bad type", data: `{"version":1,"name":"k","org":"flyte","project":"","domain":"","type":"x","created_time":"2026-01-02T03:04:05Z","value":""}`,
			wantErr: `invalid secret type "x"`},
		{name: "bad time", data: `{"version":1,"name":"k","org":"flyte","project":"","domain":"","type":"regular","created_time":"yesterday","value":""}`,
			wantErr: `created_time "yesterday" is not RFC 3339`},
		{name: "unpadded base64", data: `{"version":1,"name":"k","org":"flyte","project":"","domain":"","type":"regular","created_time":"2026-01-02T03:04:05Z","value":"AP8"}`,
			wantErr: "value is not valid base64"},
		{name: "wrong JSON type", data: `{"version":"1"}`, wantErr: "not a JSON record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := decodeRecord([]byte(tt.data))
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantMeta, r.Meta)
			assert.Equal(t, tt.wantValue, r.Value)
		})
	}
}

// FuzzDecodeRecord feeds the decoder arbitrary file contents. It must never
// panic, and whatever it accepts must encode and decode back to the same
// record.
func FuzzDecodeRecord(f *testing.F) {
	good, err := encodeRecord(record{Meta: manage.Meta{Name: "k", Org: "flyte", Type: manage.TypeRegular,
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, Value: []byte("v")})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeRecord(data)
		if err != nil {
			return
		}
		again, err := encodeRecord(r)
		if err != nil {
			t.Fatalf("encode a decoded record: %v", err)
		}
		r2, err := decodeRecord(again)
		if err != nil {
			t.Fatalf("decode a re-encoded record: %v\n%s", err, again)
		}
		m1, m2 := r.Meta, r2.Meta
		if !m1.Created.Equal(m2.Created) {
			t.Fatalf("round trip changed created_time: %v -> %v", m1.Created, m2.Created)
		}
		m1.Created, m2.Created = time.Time{}, time.Time{}
		if m1 != m2 || !bytes.Equal(r2.Value, r.Value) {
			t.Fatalf("round trip changed the record: %+v -> %+v", r.Meta, r2.Meta)
		}
	})
}

// TestDecodeRecordErrorsKeepTheValueOut: encoding/json's own errors can
// quote a stray byte or a field name from the file; a corrupt record must
// not put its value bytes into an error.
func TestDecodeRecordErrorsKeepTheValueOut(t *testing.T) {
	const canary = "CANARY-rec"
	for _, data := range []string{
		"{\"version\": 1, \"value\": \"" + canary + "\x01\"}",
		`{"version": 1, "` + canary + `": 1}`,
		`{"version": 1, "value": ` + canary + `}`,
		`{"version": "` + canary + `"}`,
	} {
		_, err := decodeRecord([]byte(data))
		require.Error(t, err)
		assert.NotContains(t, err.Error(), canary)
		assert.NotContains(t, err.Error(), `\x01`)
	}
}
