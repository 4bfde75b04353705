// Command baseline is the start-up floor for bench/startup.sh: a minimal Go
// program that only execve's its arguments, as the shim does at its end.
package main

import (
	"os"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		os.Exit(2)
	}
	err := syscall.Exec(os.Args[1], os.Args[1:], os.Environ())
	os.Stderr.WriteString("baseline: " + err.Error() + "\n")
	os.Exit(127)
}
