// Command flyte-entrypoint is the ENTRYPOINT of Flyte task images: it reads
// the task's secret requests, resolves them, exposes them as environment
// variables and files, then execs or supervises the task's command.
package main

import (
	"os"

	// First of the packages that need a deep stack at init: see its doc.
	_ "github.com/flyte-entrypoint/flyte-entrypoint/internal/stack"
)

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
