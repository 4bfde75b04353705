package dockerconfig

import (
	"strings"
	"testing"
)

// FuzzParse feeds any bytes to the Docker config reader, the value checker
// and the extractor (with a helper that answers every call). Nothing may
// panic, an error must not quote its input, and whatever Extract builds must
// pass Validate.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"auths":{"ghcr.io":{"auth":"dXNlcjpwYXNz"}}}`))
	f.Add([]byte(`{"auths":{"ghcr.io":{}},"credsStore":"desktop"}`))
	f.Add([]byte(`{"credHelpers":{"gcr.io":"gcloud"}}`))
	helper := func(name, url string) (Credentials, error) {
		return Credentials{ServerURL: url, Username: "u", Secret: "s"}, nil
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := Validate(data); err != nil && len(data) >= 12 && strings.Contains(err.Error(), string(data)) {
			t.Fatalf("Validate's error quotes the input: %v", err)
		}
		c, err := Parse("fuzz", data)
		if err != nil {
			if !IsInvalid(err) {
				t.Fatalf("a parse error is not marked invalid: %v", err)
			}
			return
		}
		regs := c.Registries()
		if len(regs) > 3 {
			regs = regs[:3]
		}
		for _, want := range [][]string{nil, regs} {
			out, err := c.Extract(want, helper)
			if err != nil {
				continue
			}
			if err := Validate(out); err != nil {
				t.Fatalf("Extract built a value that Validate refuses: %v\n%s", err, out)
			}
		}
	})
}
