package main

import "testing"

// BenchmarkSecretCommands is what registering create, get and delete adds
// to every start, run included: building their commands and flags.
func BenchmarkSecretCommands(b *testing.B) {
	a := &app{cfg: &config{}}
	b.ReportAllocs()
	for b.Loop() {
		_ = a.secretCommands()
	}
}
