package main

import "testing"

// BenchmarkSecretCommands is what registering create, get and delete costs:
// with their flags (when the arguments name one of them) and without (every
// other start).
func BenchmarkSecretCommands(b *testing.B) {
	for _, withFlags := range []bool{true, false} {
		b.Run(map[bool]string{true: "with-flags", false: "listed-only"}[withFlags], func(b *testing.B) {
			a := &app{cfg: &config{}}
			b.ReportAllocs()
			for b.Loop() {
				_ = a.secretCommands(withFlags)
			}
		})
	}
}
