package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/flyte-entrypoint/flyte-entrypoint/inject"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/entry"
	xexec "github.com/flyte-entrypoint/flyte-entrypoint/internal/exec"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exit"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/suggest"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/version"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/aws"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/k8s"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/local"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/registry"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

func usageError(format string, args ...any) error {
	return exit.Errorf(exit.Usage, format, args...)
}

// env is the shim's environment, read once.
type shimEnv struct {
	list []string
	m    map[string]string
}

func newEnv(list []string) shimEnv {
	m := make(map[string]string, len(list))
	for _, kv := range list {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return shimEnv{list: list, m: m}
}

// app holds what every command shares.
type app struct {
	began          time.Time // when the process began, for the start line
	stdin          io.Reader
	stdout, stderr io.Writer
	env            shimEnv
	cfg            *config
	command        []string // the words after "--"
	log            *log.Logger
	logFormat      log.Format
	onRun          func(args []string) error // a test's stand-in for runCmd
	// The arguments before "--", and those of them reorder took as
	// positional: for the way out of a command given without "--".
	args, positional []string
}

// run is the whole program: it returns the exit code. Only main calls os.Exit.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{began: time.Now(), stdin: stdin, stdout: stdout, stderr: stderr, env: newEnv(os.Environ())}
	return a.main(args)
}

// main parses args, runs the command they name and returns the exit code.
func (a *app) main(args []string) int {
	// --version alone, never among other arguments: in a task command
	// written without "--" (`--secret k ./task.sh --version`) it is the
	// task's, and must not start nothing with exit 0.
	if len(args) == 2 && (args[1] == "--version" || args[1] == "-version") {
		fmt.Fprintf(a.stdout, "flyte-entrypoint version %s\n", version.String())
		return exit.OK
	}
	args, a.command = splitCommand(args)
	a.cfg = loadConfig(a.env.m)
	var err error
	if specs := runFlags(a.cfg); len(a.command) > 0 && len(args) > 0 {
		if given, ok := parseRun(args[1:], specs); ok {
			// A start: the common case, parsed without urfave/cli.
			err = a.applyFlags(specs, given)
			if err == nil {
				err = a.runCmd(context.Background(), nil)
			}
			return a.finish(err)
		}
	}
	// `help X [Y]` is `X [Y] --help`: urfave's help command shows neither a
	// command's subcommands' flags nor theirs.
	if len(args) > 2 && args[1] == "help" {
		args = append(append([]string{args[0]}, args[2:]...), "--help")
	}
	cliApp := a.cliApp(mentionsSecretCommand(args))
	reordered, positional := reorder(cliApp, args)
	a.args, a.positional = args, positional
	err = cliApp.Run(reordered)
	return a.finish(err)
}

// finish prints err once, unless it only carries the command's code, and
// maps it to the exit code. With JSON logs the error is a log line too,
// with the exit code and the keys of the secrets that failed, so that a
// platform's log pipeline sees why a container never started.
func (a *app) finish(err error) int {
	if err != nil && !exit.IsSilent(err) {
		fmt.Fprintf(a.stderr, "flyte-entrypoint: %v\n", err)
		if a.log == nil {
			a.log, a.logFormat = a.newLogger(log.InfoLevel)
		}
		if a.logFormat == log.FormatJSON {
			a.log.Error("fatal", log.Int("exit_code", exit.CodeOf(err)), log.Strings("secrets", failingKeys(err)), log.Err(err))
		}
	}
	if a.log != nil {
		_ = a.log.Sync()
	}
	return exit.CodeOf(err)
}

// splitCommand cuts the arguments at the first "--": what follows is the
// task's command, untouched by flag parsing.
func splitCommand(args []string) (flags, command []string) {
	i := slices.Index(args, "--")
	if i < 0 {
		return args, nil
	}
	return args[:i], args[i+1:]
}

// mentionsSecretCommand reports whether the arguments may name create, get
// or delete. Only then are those commands' flags built: the commands are
// always listed, but a container start need not pay for their flags.
func mentionsSecretCommand(args []string) bool {
	for _, s := range args[min(1, len(args)):] {
		if s == "create" || s == "get" || s == "delete" {
			return true
		}
	}
	return false
}

// cliApp builds the commands; withSecretFlags builds the flags of create,
// get and delete too.
func (a *app) cliApp(withSecretFlags bool) *cli.App {
	// urfave adds this flag to every command and looks it up with the
	// others: give it cached names too.
	cli.HelpFlag = &boolFlag{&cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show help", DisableDefaultText: true}, []string{"help", "h"}}
	// One set of flag definitions serves the app and each command: urfave
	// makes a fresh flag set from them for every parse, and building them
	// three times was measurable at start-up.
	runSpecs := runFlags(a.cfg)
	own := commandFlags(a.cfg)
	group, output, sa, region, account := own[0], own[1], own[2], own[3], own[4]
	// Each command lists only the flags it reads: the start's own settings
	// (supervise mode, the user, --watch) mean nothing to dry-run, explain
	// or policy.
	startOnly := []string{"supervise", "grace", "user", "watch", "refresh", "reload-signal", "restart-on-env-change"}
	explainSpecs := append(without(runSpecs, append(startOnly, "secret", "spec", "root", "pass-env", "allow-env")...), group)
	// dry-run takes a run's whole command line (it resolves everything as
	// run would), so it accepts the start's own flags, unlisted.
	dryRunSpecs := append(hiding(runSpecs, startOnly...), output)
	policySpecs := append(only(runSpecs, "secret", "spec", "org", "project", "domain", "k8s-namespace", "log-format", "log-level"), sa, region, account, backendFlag(a.cfg))
	runCLI := cliFlags(runSpecs)

	return &cli.App{
		Name:        "flyte-entrypoint",
		Usage:       "resolve a Flyte task's secrets, expose them, then run its command",
		UsageText:   "flyte-entrypoint [flags] -- CMD [ARGS...]\nflyte-entrypoint dry-run [--output table|json] [flags] [-- CMD ...]\nflyte-entrypoint explain KEY [--group G] [flags]\nflyte-entrypoint --version | version",
		HideVersion: true, // --version is taken alone only: see main
		Flags:       runCLI,
		Action:      a.action(runSpecs, a.runAction),
		Commands: append([]*cli.Command{
			{
				Name:  "version",
				Usage: "print the version (the same as --version)",
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return usageError("version takes no arguments, got %q", c.Args().First())
					}
					_, err := fmt.Fprintf(a.stdout, "flyte-entrypoint version %s\n", version.String())
					return err
				},
				OnUsageError: a.flagUsageError,
			},
			{
				Name:         "run",
				Usage:        "resolve and expose the secrets, then exec or supervise CMD (the default)",
				ArgsUsage:    "-- CMD [ARGS...]",
				Flags:        runCLI,
				Action:       a.action(runSpecs, a.runAction),
				OnUsageError: a.flagUsageError,
			},
			{
				Name:         "dry-run",
				Usage:        "resolve everything as run would; print the plan; write nothing, start nothing",
				ArgsUsage:    "[-- CMD [ARGS...]]",
				Flags:        cliFlags(dryRunSpecs),
				Action:       a.action(dryRunSpecs, a.dryRunCmd),
				OnUsageError: a.flagUsageError,
			},
			{
				Name:         "explain",
				Usage:        "print the lookup trail for one secret",
				ArgsUsage:    "KEY",
				Flags:        cliFlags(explainSpecs),
				Action:       a.action(explainSpecs, a.explainCmd),
				OnUsageError: a.flagUsageError,
			},
			{
				Name:         "policy",
				Usage:        "print the least access a task's identity needs to read exactly its secrets (--backend k8s: a Role and RoleBinding; --backend aws: an IAM policy)",
				ArgsUsage:    "--backend k8s --service-account NAMESPACE/NAME | --backend aws [--region R] [--account A]",
				Flags:        cliFlags(policySpecs),
				Action:       a.action(policySpecs, a.policyCmd),
				OnUsageError: a.flagUsageError,
			},
		}, a.secretCommands(withSecretFlags)...),
		// Errors come back to run, which prints them once and maps them to
		// an exit code; urfave must not print them or call os.Exit itself.
		ExitErrHandler:            func(*cli.Context, error) {},
		OnUsageError:              a.flagUsageError,
		Writer:                    a.stdout,
		DisableSliceFlagSeparator: true, // config.go splits name lists; --secret holds commas
		ErrWriter:                 a.stderr,
	}
}

// flagUsageError makes a flag that does not parse, on any command, exit 2.
// An unknown flag gets a way out: when a command that takes no arguments
// was given some, the task's command was most likely written without "--"
// (its own flags are what did not parse); else the nearest flag's name.
func (a *app) flagUsageError(c *cli.Context, err error, _ bool) error {
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -")
	if !ok {
		return exit.With(exit.Usage, err)
	}
	name = strings.TrimPrefix(name, "-")
	flags := c.App.Flags
	if c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		flags = c.Command.Flags
	}
	if hint := a.missingDashes(c, name); hint != "" {
		return usageError("%s", hint)
	}
	var names []string
	for _, f := range flags {
		names = append(names, f.Names()...)
	}
	if s, ok := suggest.Nearest(name, names); ok {
		return usageError("%v; did you mean %s?", err, dashed(s))
	}
	return exit.With(exit.Usage, err)
}

// missingDashes is the way out of a task command written without "--", as
// in `flyte-entrypoint --secret k python -m task`, where -m is the flag that
// did not parse. It is "" unless the command run (the default, run or
// dry-run, which take no arguments) was given a positional argument before
// the flag named.
func (a *app) missingDashes(c *cli.Context, flag string) string {
	if len(a.positional) == 0 || len(a.command) > 0 {
		return ""
	}
	name := commandName(c)
	if name != "" && name != "run" && name != "dry-run" {
		return ""
	}
	at := slices.IndexFunc(a.args, func(s string) bool {
		n, _, _ := strings.Cut(strings.TrimLeft(s, "-"), "=")
		return isFlagArg(s) && n == flag
	})
	if first := slices.Index(a.args[1:], a.positional[0]) + 1; first > 0 && first < at {
		return a.stray(name, a.positional[0])
	}
	return ""
}

// commandName is the name of the command c runs, "" for the app itself.
func commandName(c *cli.Context) string {
	if c.Command == nil || c.Command.Name == c.App.Name {
		return ""
	}
	return c.Command.Name
}

// stray is the error for an argument that a command without arguments
// (command, or "" for the app) was given: a mistyped command name, a bool
// flag's value written apart from it, or a task command written without
// "--" before it. Only the argument itself is shown, never the words after
// it: they are the task's, and may hold what it was given.
func (a *app) stray(command, arg string) string {
	if len(a.command) > 0 {
		// The task's command is after "--" already.
		msg := fmt.Sprintf("unexpected argument %q before \"--\"", arg)
		if i := slices.Index(a.args, arg); (arg == "true" || arg == "false") && i > 1 && isFlagArg(a.args[i-1]) {
			msg += fmt.Sprintf(": a bool flag takes its value after \"=\" (%s=%s)", a.args[i-1], arg)
		}
		return msg
	}
	if command == "" && !strings.ContainsAny(arg, "/.") {
		if _, err := osexec.LookPath(arg); err != nil { // git, gem and bun are commands, not typos of get and run
			var names []string
			for _, c := range a.cliApp(false).Commands {
				names = append(names, c.Name)
			}
			if s, ok := suggest.Nearest(arg, names); ok {
				return fmt.Sprintf("unknown command %q: did you mean %s?", arg, s)
			}
		}
	}
	usage := "flyte-entrypoint [flags]"
	if command != "" {
		usage = "flyte-entrypoint " + command + " [flags]"
	}
	return fmt.Sprintf("unexpected argument %q: put the command after \"--\": %s -- %s ...", arg, usage, arg)
}

// dashed is a flag's name as typed: -p, --project.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// without is specs less the flags named.
func without(specs []flagSpec, names ...string) []flagSpec {
	var out []flagSpec
	for _, s := range specs {
		if !slices.Contains(names, s.name) {
			out = append(out, s)
		}
	}
	return out
}

// hiding is specs with the flags named hidden from --help.
func hiding(specs []flagSpec, names ...string) []flagSpec {
	out := slices.Clone(specs)
	for i := range out {
		out[i].hidden = slices.Contains(names, out[i].name)
	}
	return out
}

// only is the flags of specs named, in specs' order.
func only(specs []flagSpec, names ...string) []flagSpec {
	var out []flagSpec
	for _, s := range specs {
		if slices.Contains(names, s.name) {
			out = append(out, s)
		}
	}
	return out
}

func cliFlags(specs []flagSpec) []cli.Flag {
	out := make([]cli.Flag, len(specs))
	for i, s := range specs {
		out[i] = s.cliFlag()
	}
	return out
}

// action applies the given flags onto the config, checks it, builds the
// logger, then runs fn.
func (a *app) action(specs []flagSpec, fn func(*cli.Context) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		if err := a.applyFlags(specs, givenFlags(c)); err != nil {
			return err
		}
		return fn(c)
	}
}

// applyFlags copies the given flags onto the config, checks it, and builds
// the logger.
func (a *app) applyFlags(specs []flagSpec, given map[string]flagValues) error {
	var bad []string
	for _, s := range specs {
		if !s.apply(given) && a.cfg.badEnv[s.env] != nil {
			bad = append(bad, a.cfg.badEnv[s.env].Error())
		}
	}
	if len(bad) > 0 {
		return usageError("%s", strings.Join(bad, "; "))
	}
	return a.setup()
}

// setup validates the merged config and builds the logger.
func (a *app) setup() error {
	cfg := a.cfg
	level, err := log.ParseLevel(cfg.LogLevel)
	if err != nil {
		return usageError("%s: %v", a.cfg.name("log-level"), err)
	}
	switch log.Format(cfg.LogFormat) {
	case "", log.FormatJSON, log.FormatConsole:
	default:
		return usageError("%s %q: want json or console", a.cfg.name("log-format"), cfg.LogFormat)
	}
	a.log, a.logFormat = a.newLogger(level)
	for _, w := range cfg.unknownEnvWarnings() {
		a.log.Warn(w)
	}
	if cfg.Timeout <= 0 {
		return usageError("%s %v: must be positive", a.cfg.name("timeout"), cfg.Timeout)
	}
	if len(cfg.Backends) == 0 {
		return usageError("%s is empty: name at least one of %s", a.cfg.name("backends"), strings.Join(registry.Known(), ", "))
	}
	return nil
}

// newLogger builds the logger at level: console lines on a terminal, JSON
// lines otherwise, unless --log-format says which (a bad one is JSON here:
// setup reports it).
func (a *app) newLogger(level log.Level) (*log.Logger, log.Format) {
	format := log.Format(a.cfg.LogFormat)
	if format != log.FormatConsole {
		format = log.FormatJSON
		if f, ok := a.stderr.(*os.File); ok && a.cfg.LogFormat == "" && log.IsTerminal(f) {
			format = log.FormatConsole
		}
	}
	return log.New(a.stderr, format, level), format
}

// failingKeys are the keys of the secrets an error is about: the requests
// that broke a rule, the values that could not be set, the secrets that
// could not be resolved. Each key is shown as messages show it: cut short
// and quoted when long or odd.
func failingKeys(err error) []string {
	var keys []string
	add := func(k string) {
		if k = spec.Bare(k); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	var se *spec.Error
	if errors.As(err, &se) {
		for _, p := range se.Problems {
			add(p.Key)
		}
	}
	var ie *inject.Error
	if errors.As(err, &ie) {
		for _, p := range ie.Problems {
			add(p.Key)
		}
	}
	var ee *exit.Error
	if errors.As(err, &ee) {
		for _, k := range ee.Keys {
			add(k)
		}
	}
	if keys == nil {
		keys = []string{}
	}
	return keys
}

// scope is the current scope: --org/--project/--domain, then
// FLYTE_ENTRYPOINT_ORG/_PROJECT/_DOMAIN, and, for run, dry-run and explain
// only (execution), the running execution's FLYTE_INTERNAL_EXECUTION_PROJECT
// and _DOMAIN. The org defaults to flyte. A project without a domain is a
// usage error everywhere; an id that breaks Flyte's rule is a usage error for
// a run and invalid input (65) for the secret commands.
func (a *app) scope(execution bool) (resolver.Scope, error) {
	s := resolver.Scope{Org: a.cfg.Org, Project: a.cfg.Project, Domain: a.cfg.Domain}
	if execution {
		if s.Project == "" {
			s.Project = a.env.m["FLYTE_INTERNAL_EXECUTION_PROJECT"]
		}
		if s.Domain == "" {
			s.Domain = a.env.m["FLYTE_INTERNAL_EXECUTION_DOMAIN"]
		}
	}
	if s.Org == "" {
		s.Org = "flyte"
	}
	if s.Project != "" && s.Domain == "" {
		return s, usageError("project-scoped secrets must also specify a domain, got project=%q domain=%q", s.Project, s.Domain)
	}
	if err := s.Validate(); err != nil {
		if execution {
			return s, usageError("%v", err)
		}
		return s, manage.Invalid(err)
	}
	return s, nil
}

// entryConfig is the pipeline's config for run, dry-run and explain.
func (a *app) entryConfig() (entry.Config, error) {
	scope, err := a.scope(true)
	if err != nil {
		return entry.Config{}, err
	}
	return entry.Config{
		Secrets:    a.cfg.Secrets,
		Specs:      a.cfg.Specs,
		InlineJSON: a.env.m["FLYTE_SECRETS"],
		Environ:    a.env.list,
		Backends:   a.cfg.Backends,
		Options:    a.cfg.optionValues(),
		Root:       a.cfg.Root,
		Scope:      scope,
		Timeout:    a.cfg.Timeout,
		AllowEnv:   a.cfg.AllowEnv,
		PassEnv:    a.cfg.PassEnv,
		Command:    a.command,
		Logger:     a.log,
		Began:      a.began,
	}, nil
}

func (a *app) runAction(c *cli.Context) error {
	if a.onRun == nil && c.NArg() > 0 {
		return usageError("%s", a.stray(commandName(c), c.Args().First()))
	}
	return a.runCmd(c.Context, c.Args().Slice())
}

func (a *app) runCmd(ctx context.Context, args []string) error {
	if a.onRun != nil {
		return a.onRun(args)
	}
	if len(args) > 0 {
		return usageError("%s", a.stray("", args[0]))
	}
	if len(a.command) == 0 {
		return usageError("no command: usage is flyte-entrypoint [flags] -- CMD [ARGS...]")
	}
	grace, err := xexec.ParseGrace(a.cfg.Grace)
	if err != nil {
		return usageError("%s %v", a.cfg.name("grace"), err)
	}
	// Supervise mode is the default at PID 1; --supervise=false (or its
	// variable) turns it off there, for a PID 1 that reaps elsewhere. The
	// supervisor owns the signals from now on, so that a SIGINT or SIGTERM
	// during any phase aborts the start.
	watch, err := a.watchOptions()
	if err != nil {
		return err
	}
	var starter entry.Starter
	if watch != nil || a.cfg.Supervise || (!a.cfg.superviseSet && xexec.IsPID1()) {
		// With --watch the supervisor keeps root, if it has it, to
		// republish the mount for the command's user.
		starter = xexec.NewSupervisor(xexec.SupervisorOptions{Grace: grace, DropPrivileges: a.cfg.User != "" && watch == nil, Logger: a.log})
	} else {
		starter = xexec.NewExecer() // after this, nothing in the process may ask os/signal for these signals
	}
	cfg, err := a.entryConfig()
	if err != nil {
		return err
	}
	cfg.Watch = watch
	// --user is looked up now, since the mounted files belong to that user.
	// A malformed value is a bad flag (2) at once; a user the image does not
	// know, or one this process cannot switch to (126), belongs to the exec
	// phase, and the pipeline reports it there.
	if a.cfg.User != "" {
		cred, err := xexec.LookupUser(a.cfg.User, xexec.PasswdFile, xexec.GroupFile)
		if err == nil {
			err = xexec.CheckCredential(cred)
		}
		if exit.CodeOf(err) == exit.Usage {
			return usageError("%s %v", a.cfg.name("user"), err)
		}
		cfg.User, cfg.UserErr = cred, err
	}
	return entry.Run(ctx, cfg, starter)
}

// writeStorePath names the local store explain read, and what chose it: a
// store set in another shell (a forgotten FLYTE_ENTRYPOINT_STORE) must not
// look like a missing secret.
func (a *app) writeStorePath() {
	dir, from := a.cfg.options["store"], ""
	switch {
	case *dir != "":
		from = a.cfg.name("store")
	default:
		d, err := local.DefaultDir()
		if err != nil {
			fmt.Fprintf(a.stdout, "local store: none (%v; --store or FLYTE_ENTRYPOINT_STORE sets one)\n", err)
			return
		}
		dir, from = &d, "the default; --store or FLYTE_ENTRYPOINT_STORE sets another"
	}
	fmt.Fprintf(a.stdout, "local store: %s (%s)\n", *dir, from)
}

// watchOptions are --watch's settings, checked; nil without --watch.
func (a *app) watchOptions() (*entry.WatchOptions, error) {
	if !a.cfg.Watch {
		return nil, nil
	}
	if a.cfg.superviseSet && !a.cfg.Supervise {
		return nil, usageError("%s needs supervise mode, and %s turns it off", a.cfg.name("watch"), a.cfg.name("supervise"))
	}
	if a.cfg.Refresh <= 0 {
		return nil, usageError("%s %v: must be positive", a.cfg.name("refresh"), a.cfg.Refresh)
	}
	sig, err := parseSignal(a.cfg.ReloadSignal)
	if err != nil {
		return nil, usageError("%s %q: %v", a.cfg.name("reload-signal"), a.cfg.ReloadSignal, err)
	}
	return &entry.WatchOptions{Refresh: a.cfg.Refresh, ReloadSignal: sig, RestartOnEnvChange: a.cfg.RestartOnEnvChange}, nil
}

// parseSignal reads a signal name (SIGHUP, HUP or hup) or "none" (0).
func parseSignal(s string) (syscall.Signal, error) {
	if strings.EqualFold(s, "none") {
		return 0, nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	if sig == 0 {
		return 0, errors.New("want a signal name such as SIGHUP or SIGUSR1, or none")
	}
	if sig == unix.SIGKILL || sig == unix.SIGSTOP {
		return 0, errors.New("the command cannot handle SIGKILL or SIGSTOP, so they cannot ask it to reload")
	}
	return sig, nil
}

func (a *app) dryRunCmd(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError("%s", a.stray("dry-run", c.Args().First()))
	}
	switch a.cfg.Output {
	case "table", "json":
	default:
		return usageError("%s %q: want table or json", a.cfg.name("output"), a.cfg.Output)
	}
	cfg, err := a.entryConfig()
	if err != nil {
		return err
	}
	plan, err := entry.Load(cfg)
	if err != nil {
		return err
	}
	outs, resErr := plan.Resolve(c.Context)
	var stageErr error
	if resErr == nil {
		_, stageErr = plan.Stage(outs)
	}
	rep := entry.NewReport(outs, a.command)
	rep.MarkRefused(outs, stageErr)
	if a.cfg.Output == "json" {
		err = rep.WriteJSON(a.stdout)
	} else {
		err = rep.WriteTable(a.stdout)
		if cfg.Options["dir"] == "" && slices.Contains(cfg.Backends, "dir") {
			fmt.Fprintln(a.stdout, "note: the dir backend is skipped: no directory set (--dir or FLYTE_ENTRYPOINT_DIR)")
		}
	}
	if err != nil {
		return err
	}
	if resErr != nil {
		return resErr
	}
	return stageErr
}

// policyCmd prints the Role and RoleBinding that let the task's service
// account get exactly the Secrets its requests can be read from, in every
// candidate scope, from the same request sources and scope as dry-run.
func (a *app) policyCmd(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError("unexpected argument %q: policy takes only flags", c.Args().First())
	}
	switch a.cfg.Backend {
	case "k8s":
		if a.cfg.ServiceAccount == "" {
			return usageError("policy needs %s NAMESPACE/NAME: the account the Role is bound to", a.cfg.name("service-account"))
		}
		if err := k8s.CheckServiceAccount(a.cfg.ServiceAccount); err != nil {
			return usageError("%s %v", a.cfg.name("service-account"), err)
		}
	case "aws":
	default:
		return usageError("%s %q: policy supports k8s and aws", a.cfg.name("backend"), a.cfg.Backend)
	}
	cfg, err := a.entryConfig()
	if err != nil {
		return err
	}
	plan, err := entry.Load(cfg)
	if err != nil {
		return err
	}
	keys := make([]string, len(plan.Requests))
	for i, r := range plan.Requests {
		keys[i] = r.Key
	}
	if a.cfg.Backend == "aws" {
		p, err := aws.NewPolicy(a.cfg.PolicyRegion, a.cfg.PolicyAccount, cfg.Scope, keys)
		if err != nil {
			return exit.With(exit.Invalid, err)
		}
		for _, n := range p.Notes() {
			fmt.Fprintln(a.stderr, "note: "+n)
		}
		doc, err := p.JSON()
		if err != nil {
			return err
		}
		_, err = a.stdout.Write(append(doc, '\n'))
		return err
	}
	p, err := k8s.NewPolicy(cfg.Options["k8s-namespace"], a.cfg.ServiceAccount, cfg.Scope, keys)
	if err != nil {
		return exit.With(exit.Invalid, err)
	}
	_, err = io.WriteString(a.stdout, p.YAML())
	return err
}

func (a *app) explainCmd(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError("explain takes exactly one KEY, got %d arguments", c.NArg())
	}
	key := c.Args().First()
	cfg, err := a.entryConfig()
	if err != nil {
		return err
	}
	chain, err := entry.NewChain(cfg)
	if err != nil {
		return err
	}
	ref := resolver.Ref{Key: key, Group: a.cfg.Group}
	if reqs, err := spec.Validate([]spec.Raw{{Origin: "explain", Shape: spec.ShapeSDK, Key: key, Group: a.cfg.Group}}); err == nil && len(reqs) == 1 {
		ref.EnvVar = reqs[0].EnvVar
	}
	ctx, cancel := context.WithTimeout(c.Context, cfg.Timeout)
	defer cancel()
	res := chain.Resolve(ctx, ref)
	if err := entry.WriteTrail(a.stdout, key, a.cfg.Group, res); err != nil {
		return err
	}
	if slices.Contains(cfg.Backends, "local") {
		a.writeStorePath()
	}
	if !res.Found {
		return exit.Silent(exit.Unresolved)
	}
	return nil
}
