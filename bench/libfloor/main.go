// Command libfloor is go-floor plus the libraries every flyte-entrypoint
// start links, whatever it is asked to do: it only execve's its arguments,
// as bench/baseline does, but it links urfave/cli (App.Run, whose help
// printer brings text/template), zapcore's JSON encoder, fsnotify,
// caarlos0/env, encoding/json, and, with -tags tls, crypto/tls and net, which
// the remote backends need. None of it runs but the packages' init: it is
// the floor under the shim's start that no code of ours can go below.
// bench/instructions.sh and bench/startup.sh measure it beside go-floor.
package main

import (
	"encoding/json"
	"os"
	"syscall"

	"github.com/caarlos0/env/v11"
	"github.com/fsnotify/fsnotify"
	"github.com/urfave/cli/v2"
	"go.uber.org/zap/zapcore"
)

func main() {
	if len(os.Args) < 2 {
		os.Exit(2)
	}
	if os.Args[1] == "--link-only" {
		// Never taken by the benchmarks: it keeps what the shim uses linked.
		link()
	}
	err := syscall.Exec(os.Args[1], os.Args[1:], os.Environ())
	os.Stderr.WriteString("libfloor: " + err.Error() + "\n")
	os.Exit(127)
}

func link() {
	_ = (&cli.App{Name: "x", Flags: []cli.Flag{&cli.StringFlag{Name: "s"}}}).Run(os.Args)
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{MessageKey: "msg"})
	_ = zapcore.NewCore(enc, zapcore.AddSync(os.Stderr), zapcore.InfoLevel).Write(zapcore.Entry{Message: "x"}, nil)
	if w, err := fsnotify.NewWatcher(); err == nil {
		_ = w.Add(".")
		_ = w.Close()
	}
	var cfg struct {
		A string `env:"A"`
	}
	_ = env.Parse(&cfg)
	b, _ := json.Marshal(cfg)
	var v map[string]any
	_ = json.Unmarshal(b, &v)
	linkTLS()
}
