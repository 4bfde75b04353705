package spec

import (
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkParseFlag(b *testing.B) {
	for b.Loop() {
		if _, err := ParseFlag("key=openai-key,group=openai,env=OPENAI_API_KEY,optional=true", 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseSDKJSON(b *testing.B) {
	data := []byte(`[{"key":"api-key","group":"openai"},{"key":"tls-cert","group":"certs","mount":"/etc/flyte/secrets"},"sentry-dsn"]`)
	for b.Loop() {
		if _, err := ParseSDKJSON("FLYTE_SECRETS", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseFile reads each sample spec.
func BenchmarkParseFile(b *testing.B) {
	for _, name := range []string{"sdk.json", "tasktemplate.json", "taskspec.pb", "annotations"} {
		data, err := os.ReadFile(filepath.Join(fixtureDir, name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := ParseFile(name, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBuildSchema builds the schema against which the tests decode
// with the real library.
func BenchmarkBuildSchema(b *testing.B) {
	for b.Loop() {
		buildSchema()
	}
}

func BenchmarkValidate(b *testing.B) {
	raws := []Raw{
		{Origin: "--secret #1", Key: "my-api-key"},
		{Origin: "--secret #2", Key: "api-key", Group: "openai"},
		{Origin: "--secret #3", Key: "tls-cert", Group: "certs", Mount: MountPath},
		{Origin: "--secret #4", Shape: ShapeCore, Key: "ca.pem", MountRequirement: MountFile, EnvVar: "CA_PATH"},
	}
	for b.Loop() {
		if _, err := Validate(raws); err != nil {
			b.Fatal(err)
		}
	}
}
