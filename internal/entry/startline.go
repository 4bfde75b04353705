package entry

import (
	"path/filepath"
	"slices"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exec"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
)

// logStart writes the one info line of a successful start, just before the
// command starts: how many secrets, how many as variables and as files,
// which backends answered, how long the shim took, and the command's name.
// Never a value, and never a path: the command's name is the last element
// of the word the user gave, not where PATH found it.
func logStart(l *log.Logger, began time.Time, outs []Outcome, st *Staged, cmd exec.Command) {
	if !l.Enabled(log.InfoLevel) {
		return
	}
	var found, env int
	var backends []string
	for _, o := range outs {
		if !o.Result.Found {
			continue
		}
		found++
		if o.Request.EnvVar != "" {
			env++
		}
		if !slices.Contains(backends, o.Result.Backend) {
			backends = append(backends, o.Result.Backend)
		}
	}
	name := ""
	if len(cmd.Argv) > 0 {
		name = filepath.Base(cmd.Argv[0])
	}
	l.Info("starting the command",
		log.Int("secrets", found),
		log.Int("env", env),
		log.Int("files", len(st.Files)),
		log.Strings("backends", backends),
		log.Float("ms", float64(time.Since(began).Microseconds())/1000),
		log.String("command", name))
}
