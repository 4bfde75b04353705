package exec_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exec"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
)

// The last phase of `flyte-entrypoint [--supervise] [--user U] -- CMD`, as
// the CLI wires it. Resolve and check --user before anything is published
// (the files are owned by that user), look the command up on the child's
// PATH, then exec or supervise. The exit code is the *exec.Error's Code, or
// the command's own.
func Example() {
	command := []string{"python", "task.py"}
	childEnv := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "MY_API_KEY=..."}
	supervise := exec.IsPID1() // or --supervise

	run := func() (int, error) {
		cred, err := exec.LookupUser("65534:65534", exec.PasswdFile, exec.GroupFile)
		if err != nil {
			return 0, err
		}
		if err := exec.CheckCredential(cred); err != nil {
			return 0, err
		}
		grace, err := exec.ParseGrace("10s")
		if err != nil {
			return 0, err
		}
		// ... publish the secret files, owned by cred.UID:cred.GID ...
		path, err := exec.LookPath(command[0], "/usr/local/bin:/usr/bin:/bin")
		if err != nil {
			return 0, err
		}
		if !supervise {
			return 0, exec.Exec(path, command, childEnv, cred) // returns only on failure
		}
		return exec.Supervise(exec.SuperviseOptions{
			Path:           path,
			Argv:           command,
			Env:            childEnv,
			Cred:           cred,
			DropPrivileges: true,
			Grace:          grace,
			Logger:         log.New(os.Stderr, log.FormatJSON, 0),
		})
	}

	code, err := run()
	var e *exec.Error
	if errors.As(err, &e) {
		fmt.Fprintln(os.Stderr, err)
		code = e.Code
	}
	os.Exit(code)
}
