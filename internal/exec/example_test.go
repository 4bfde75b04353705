package exec_test

import (
	"fmt"
	"os"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exec"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exit"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
)

// The last phase of `flyte-entrypoint [--supervise] [--user U] -- CMD`, as
// internal/entry wires it. Resolve and check --user before anything is
// published (the files are owned by that user), look the command up on the
// child's PATH as that user, check its interpreter and its argument size,
// then exec or supervise. The exit code is the *exit.Error's Code, or the
// command's own.
func Example() {
	command := []string{"python", "task.py"}
	childEnv := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "MY_API_KEY=..."}
	supervise := exec.IsPID1() // or --supervise

	// In supervise mode the Supervisor owns the signals from the start, so
	// that a SIGTERM during resolution aborts the start.
	var sup *exec.Supervisor
	if supervise {
		sup = exec.NewSupervisor(exec.SupervisorOptions{DropPrivileges: true, Grace: exec.DefaultGrace, Logger: log.New(os.Stderr, log.FormatJSON, 0)})
	}
	run := func() error {
		cred, err := exec.LookupUser("65534:65534", exec.PasswdFile, exec.GroupFile)
		if err != nil {
			return err
		}
		if err := exec.CheckCredential(cred); err != nil {
			return err
		}
		// ... resolve, then prepare the secret files, owned by cred ...
		search := exec.Search{PATH: "/usr/local/bin:/usr/bin:/bin", Cred: cred}
		path, err := search.LookPath(command[0])
		if err != nil {
			return err
		}
		if err := exec.CheckInterpreter(path, command[0], cred); err != nil {
			return err
		}
		if err := exec.CheckArgs(command[0], path, command, childEnv); err != nil {
			return err
		}
		cmd := exec.Command{Name: command[0], Path: path, Argv: command, Env: childEnv, Cred: cred}
		// ... commit the files ...
		if !supervise {
			return exec.Exec(cmd) // returns only on failure
		}
		child, err := sup.Start(cmd)
		if err != nil {
			return err
		}
		// ... retire the previous version of the files, then give up root ...
		child.DropPrivileges()
		return exit.Silent(child.Wait())
	}

	err := run()
	if err != nil && !exit.IsSilent(err) {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(exit.CodeOf(err))
}
