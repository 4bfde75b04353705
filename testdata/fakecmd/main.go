// Command fakecmd stands in for a task's command in the end-to-end tests. It
// records what it was given (argv, environment, ids, and the secret files it
// can see) as JSON to $FAKECMD_OUT, then exits with $FAKECMD_EXIT. It is built
// static, so that it also runs in an otherwise empty root filesystem.
package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

type record struct {
	Argv   []string          `json:"argv"`
	Env    []string          `json:"env"`
	PID    int               `json:"pid"`
	PPID   int               `json:"ppid"`
	UID    int               `json:"uid"`
	GID    int               `json:"gid"`
	Groups []int             `json:"groups"`
	Files  map[string][]byte `json:"files"` // path -> raw bytes, read through the visible names
	Errors []string          `json:"errors"`
	// ParentEnv is what reading the parent's /proc environ gave, when
	// FAKECMD_READ_PARENT_ENV is set: "ok" or the error.
	ParentEnv string `json:"parent_env,omitempty"`
}

func main() {
	r := record{Argv: os.Args, Env: os.Environ(), PID: os.Getpid(), PPID: os.Getppid(), UID: os.Getuid(), GID: os.Getgid(), Files: map[string][]byte{}}
	r.Groups, _ = os.Getgroups()
	if dir := os.Getenv("FLYTE_SECRETS_DEFAULT_DIR"); dir != "" {
		if root := os.Getenv("FAKECMD_ROOT"); root != "" {
			dir = filepath.Join(root, dir)
		}
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				r.Errors = append(r.Errors, err.Error())
				return nil
			}
			if d.Name()[0] == '.' && d.Name() != "." && p != dir {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			info, err := os.Stat(p) // follow the visible symlinks
			if err != nil || info.IsDir() {
				if err == nil && d.Type()&fs.ModeSymlink != 0 {
					// a group directory reached through its symlink
					sub, _ := os.ReadDir(p)
					for _, e := range sub {
						b, err := os.ReadFile(filepath.Join(p, e.Name()))
						if err != nil {
							r.Errors = append(r.Errors, err.Error())
							continue
						}
						rel, _ := filepath.Rel(dir, filepath.Join(p, e.Name()))
						r.Files[rel] = b
					}
				}
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				r.Errors = append(r.Errors, err.Error())
				return nil
			}
			rel, _ := filepath.Rel(dir, p)
			r.Files[rel] = b
			return nil
		})
	}
	if os.Getenv("FAKECMD_READ_PARENT_ENV") != "" {
		if _, err := os.ReadFile("/proc/" + strconv.Itoa(os.Getppid()) + "/environ"); err != nil {
			r.ParentEnv = err.Error()
		} else {
			r.ParentEnv = "ok"
		}
	}
	if out := os.Getenv("FAKECMD_OUT"); out != "" {
		b, _ := json.Marshal(r)
		if err := os.WriteFile(out, b, 0o644); err != nil {
			os.Stderr.WriteString("fakecmd: " + err.Error() + "\n")
			os.Exit(99)
		}
	}
	code, _ := strconv.Atoi(os.Getenv("FAKECMD_EXIT"))
	os.Exit(code)
}
