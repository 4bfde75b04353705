package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/suggest"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/registry"
)

// envPrefix starts every configuration variable: FLYTE_ENTRYPOINT_<FLAG_NAME>.
const envPrefix = "FLYTE_ENTRYPOINT_"

// config is every setting: its default, then its variable, then its flag
// when given. Each flag's variable is declared once, in its flagSpec, and
// read from there (loadConfig). Values never come from here: --secret,
// --value and --password have no variable.
type config struct {
	Specs     []string
	Backends  []string
	Root      string
	Org       string
	Project   string
	Domain    string
	Timeout   time.Duration
	PassEnv   []string
	AllowEnv  []string
	Supervise bool
	Grace     string // parsed by exec.ParseGrace: 10s, 1m30s or 10

	// --watch and its settings.
	Watch              bool
	Refresh            time.Duration
	ReloadSignal       string // a signal name, or "none"
	RestartOnEnvChange bool
	User               string
	LogFormat          string
	LogLevel           string
	Output             string
	Group              string

	// policy.
	ServiceAccount string
	PolicyRegion   string
	PolicyAccount  string

	// create, get and delete secret (secrets.go).
	Backend          string
	Type             string
	FromFile         string
	AllowEmpty       bool
	Registry         string
	Username         string
	FromDockerConfig bool
	DockerConfigPath string
	Registries       []string
	Limit            string // a page size, checked by get secret
	Reveal           bool
	Now              bool // delete secret --backend aws: no recovery window

	// Set by flags only.
	Secrets  []string
	Value    string // create secret --value: never from the environment
	Password string // create secret --password: never from the environment

	// The backends' own settings (registry.Option), by option name: the
	// variable when set, then the flag when given.
	options map[string]*string

	badEnv       map[string]error // variables that did not parse, by suffix
	unknownEnv   []string         // FLYTE_ENTRYPOINT_* variables no flag reads, by suffix
	superviseSet bool             // --supervise or its variable was given, true or false
	given        map[string]bool  // flags given on the command line, by name
	environ      map[string]string
}

// name is how a message names a setting: the flag when it was given on the
// command line, else its variable when that is set, else the flag. A bad
// --limit 0 is not blamed on FLYTE_ENTRYPOINT_LIMIT.
func (c *config) name(flag string) string {
	if !c.given[flag] {
		env := envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
		if _, ok := c.environ[env]; ok {
			return env
		}
	}
	return "--" + flag
}

// optionValues is every backend option's value, by option name.
func (c *config) optionValues() map[string]string {
	out := make(map[string]string, len(c.options))
	for k, v := range c.options {
		out[k] = *v
	}
	return out
}

// optionFlags are the flags of the backends' own settings: of every backend
// for run, dry-run and explain, of the stores for the secret commands.
func (c *config) optionFlags(storesOnly bool) []flagSpec {
	return c.appendOptionFlags(nil, storesOnly)
}

// appendOptionFlags appends the backends' settings to out.
func (c *config) appendOptionFlags(out []flagSpec, storesOnly bool) []flagSpec {
	for _, b := range registry.All() {
		if storesOnly && b.Store == nil {
			continue
		}
		for _, o := range b.Options {
			out = append(out, flagSpec{name: o.Name, usage: o.Usage, env: o.Env, str: c.options[o.Name]})
		}
	}
	return out
}

// loadConfig reads the FLYTE_ENTRYPOINT_* variables of every flag, over the
// defaults. A variable that does not parse is kept in cfg.badEnv, by its
// name's suffix, and is a usage error only for a command that has that flag
// and was not given it: a variable meant for create secret must not stop
// every container start. A variable set to "" is unset.
//
// The variables are read by hand from the flag table rather than by
// caarlos0/env from struct tags: every container start reads them, and
// env.Parse's fixed cost (it converts the whole process environment to a map
// and builds its parser tables on each call) was about 165 k instructions,
// near half of go-floor's whole start. caarlos0/env parses the remote
// backends' own environments, which only the starts that use them pay for.
func loadConfig(environ map[string]string) *config {
	cfg := &config{
		Backends:     []string{"env", "dir", "local"},
		Org:          "flyte",
		Timeout:      30 * time.Second,
		Grace:        "10s",
		Refresh:      time.Minute,
		ReloadSignal: "SIGHUP",
		LogLevel:     "info",
		Output:       "table",
		Backend:      "local",
		Type:         "regular",
		Limit:        "100",
		badEnv:       map[string]error{},
		given:        map[string]bool{},
		environ:      environ,
		options:      map[string]*string{},
	}
	for _, b := range registry.All() {
		for _, o := range b.Options {
			v := o.Default
			cfg.options[o.Name] = &v
		}
	}
	// Most starts set none of the variables: then there is nothing to read.
	vars := map[string]string{}
	for k, v := range environ {
		if suffix, ok := strings.CutPrefix(k, envPrefix); ok && v != "" {
			vars[suffix] = v
		}
	}
	if len(vars) == 0 {
		return cfg
	}
	for _, f := range allFlags(cfg) {
		v, ok := vars[f.env]
		if !ok || f.env == "" {
			continue
		}
		delete(vars, f.env) // a variable of several commands' flags is read once
		if err := f.fromEnv(v); err != nil {
			cfg.badEnv[f.env] = err
		}
	}
	cfg.superviseSet = environ[envPrefix+"SUPERVISE"] != ""
	for suffix := range vars {
		cfg.unknownEnv = append(cfg.unknownEnv, suffix)
	}
	slices.Sort(cfg.unknownEnv)
	return cfg
}

// unknownEnvWarnings are the warnings for FLYTE_ENTRYPOINT_* variables that
// no flag reads: a misspelt setting would otherwise be ignored in silence.
// FLYTE_ENTRYPOINT_SECRET(S) gets the variable that does hold requests.
func (c *config) unknownEnvWarnings() []string {
	if len(c.unknownEnv) == 0 {
		return nil // every start without a stray variable: build no tables
	}
	var known []string
	for _, f := range allFlags(c) {
		if f.env != "" {
			known = append(known, f.env)
		}
	}
	var out []string
	for _, suffix := range c.unknownEnv {
		name := envPrefix + suffix
		switch {
		case suffix == "SECRET" || suffix == "SECRETS":
			out = append(out, name+" is not read: requests come from --secret, --spec (FLYTE_ENTRYPOINT_SPEC) and FLYTE_SECRETS")
		case suffix == "VALUE" || suffix == "PASSWORD":
			out = append(out, name+" is not read: a value never comes from the environment; give --"+strings.ToLower(suffix)+", --from-file or stdin")
		default:
			msg := name + " is not a flyte-entrypoint setting, and is ignored"
			if s, ok := suggest.Nearest(suffix, known); ok {
				msg += "; did you mean " + envPrefix + s + "?"
			}
			out = append(out, msg)
		}
	}
	return out
}

// allFlags is every flag of every command, for loadConfig.
func allFlags(cfg *config) []flagSpec {
	out := append(runFlags(cfg), commandFlags(cfg)...)
	out = append(out, secretFlags(cfg)...)
	out = append(out, createSecretFlags(cfg)...)
	out = append(out, deleteSecretFlags(cfg)...)
	return append(out, getSecretFlags(cfg)...)
}

// fromEnv sets the flag's field from the value v of its variable.
func (f flagSpec) fromEnv(v string) error {
	name := envPrefix + f.env
	switch f.kind {
	case kindStrings:
		*f.strs = splitList([]string{v})
	case kindRequests:
		*f.strs = strings.Split(v, f.envSep)
	case kindDuration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%s %q: want a duration such as 30s or 1m", name, v)
		}
		*f.dur = d
	case kindBool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%s %q: want true or false", name, v)
		}
		*f.boolean = b
	default:
		*f.str = v
	}
	return nil
}

// commandFlags are the flags of dry-run and explain beyond run's.
func commandFlags(cfg *config) []flagSpec {
	return withGiven(cfg, []flagSpec{
		{name: "group", usage: "the secret's group", env: "GROUP", str: &cfg.Group},
		{name: "output", aliases: []string{"o"}, usage: "table or json", env: "OUTPUT", str: &cfg.Output},
		{name: "service-account", usage: "policy --backend k8s: the task's service account, NAMESPACE/NAME", env: "SERVICE_ACCOUNT", str: &cfg.ServiceAccount},
		{name: "region", usage: "policy --backend aws: the region of the ARNs (default *)", env: "REGION", str: &cfg.PolicyRegion},
		{name: "account", usage: "policy --backend aws: the account of the ARNs (default *)", env: "ACCOUNT", str: &cfg.PolicyAccount},
	})
}

// flagSpec is one flag: its name, its variable and how it lands in config.
type flagSpec struct {
	name    string
	aliases []string
	usage   string
	env     string // suffix after FLYTE_ENTRYPOINT_; "" for none
	kind    flagKind
	str     *string
	strs    *[]string
	dur     *time.Duration
	boolean *bool
	set     *bool // when not nil, becomes true when the flag is given
	given   map[string]bool
	envSep  string // kindRequests: what separates values in the variable
	hidden  bool   // accepted, not listed in --help
}

type flagKind int

const (
	kindString   flagKind = iota
	kindStrings           // a name list: repeatable, and comma-separated too
	kindRequests          // repeatable, never split: a --secret value holds commas
	kindDuration
	kindBool
)

func (f flagSpec) usageText() string {
	if f.env == "" {
		return f.usage
	}
	return f.usage + " [$" + envPrefix + f.env + "]"
}

// cliFlag builds the urfave flag. Its default is whatever the environment
// already put in config, so --help shows the value in force.
func (f flagSpec) cliFlag() cli.Flag {
	names := append([]string{f.name}, f.aliases...)
	switch f.kind {
	case kindStrings, kindRequests:
		var def *cli.StringSlice
		if len(*f.strs) > 0 {
			def = cli.NewStringSlice(*f.strs...)
		}
		// KeepSpace: a --secret value is taken as given; a trailing newline
		// must reach the name rule (name lists are trimmed by splitList).
		return &stringsFlag{&cli.StringSliceFlag{Name: f.name, Aliases: f.aliases, Usage: f.usageText(), Value: def, KeepSpace: true, Hidden: f.hidden}, names}
	case kindDuration:
		return &durationFlag{&cli.DurationFlag{Name: f.name, Aliases: f.aliases, Usage: f.usageText(), Value: *f.dur, Hidden: f.hidden}, names}
	case kindBool:
		return &boolFlag{&cli.BoolFlag{Name: f.name, Aliases: f.aliases, Usage: f.usageText(), Value: *f.boolean, Hidden: f.hidden}, names}
	default:
		return &stringFlag{&cli.StringFlag{Name: f.name, Aliases: f.aliases, Usage: f.usageText(), Value: *f.str, Hidden: f.hidden}, names}
	}
}

// The wrappers below (always used as pointers, which urfave compares) answer
// Names from a slice built once. urfave/cli v2
// recomputes names with a regular expression on every call, and its flag
// lookups call Names for every flag on every lookup: with twenty flags that
// was a third of the shim's in-process start-up time.
type (
	stringFlag struct {
		*cli.StringFlag
		names []string
	}
	stringsFlag struct {
		*cli.StringSliceFlag
		names []string
	}
	durationFlag struct {
		*cli.DurationFlag
		names []string
	}
	boolFlag struct {
		*cli.BoolFlag
		names []string
	}
)

func (f *stringFlag) Names() []string   { return f.names }
func (f *stringsFlag) Names() []string  { return f.names }
func (f *durationFlag) Names() []string { return f.names }
func (f *boolFlag) Names() []string     { return f.names }

// flagValues is where a given flag's value is read: a *cli.Context, or the
// start's own parse (parseRun).
type flagValues interface {
	String(name string) string
	StringSlice(name string) []string
	Duration(name string) time.Duration
	Bool(name string) bool
}

// givenFlags maps each flag given on the command line to the context that
// parsed it: this command's, or its parent's (flags before the command name).
func givenFlags(c *cli.Context) map[string]flagValues {
	given := map[string]flagValues{}
	for _, ctx := range c.Lineage() {
		for _, n := range ctx.LocalFlagNames() {
			if _, ok := given[n]; !ok {
				given[n] = ctx
			}
		}
	}
	return given
}

// apply copies the flag's value into config when the flag was given on the
// command line (see givenFlags). It reports whether it was.
func (f flagSpec) apply(given map[string]flagValues) bool {
	ctx, ok := given[f.name]
	if !ok {
		return false
	}
	if f.set != nil {
		*f.set = true
	}
	if f.given != nil {
		f.given[f.name] = true
	}
	switch f.kind {
	case kindStrings:
		*f.strs = splitList(ctx.StringSlice(f.name))
	case kindRequests:
		*f.strs = ctx.StringSlice(f.name)
	case kindDuration:
		*f.dur = ctx.Duration(f.name)
	case kindBool:
		*f.boolean = ctx.Bool(f.name)
	default:
		*f.str = ctx.String(f.name)
	}
	return true
}

// splitList accepts both repeated flags and comma-separated values.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// runFlags are the flags of run, dry-run and explain: their own, then the
// backends' settings.
func runFlags(cfg *config) []flagSpec {
	// The table is built in one slice, sized for the backends' settings too:
	// every start builds it.
	own := [...]flagSpec{
		{name: "secret", usage: "a secret request: a bare key, or key=,group=,group_version=,env=,mount=,optional= pairs (repeatable; the variable is FLYTE_SECRETS)", kind: kindRequests, strs: &cfg.Secrets},
		{name: "spec", usage: "a task spec file to read requests from (repeatable; the variable takes paths separated by ':')", env: "SPEC", envSep: ":", kind: kindRequests, strs: &cfg.Specs},
		{name: "backends", usage: "the backend chain, in order", env: "BACKENDS", kind: kindStrings, strs: &cfg.Backends},
		{name: "root", usage: "a prefix for the mount directory /etc/flyte/secrets, and only for it", env: "ROOT", str: &cfg.Root},
		{name: "org", usage: "the org of the current scope", env: "ORG", str: &cfg.Org},
		{name: "project", aliases: []string{"p"}, usage: "the project of the current scope (needs --domain)", env: "PROJECT", str: &cfg.Project},
		{name: "domain", aliases: []string{"d"}, usage: "the domain of the current scope", env: "DOMAIN", str: &cfg.Domain},
		{name: "timeout", usage: "the overall deadline for resolving every secret", env: "TIMEOUT", kind: kindDuration, dur: &cfg.Timeout},
		{name: "pass-env", usage: "a credential variable to let through to the command (repeatable)", env: "PASS_ENV", kind: kindStrings, strs: &cfg.PassEnv},
		{name: "allow-env", usage: "a loader or shell variable (LD_*, PATH, HOME) a secret may set (repeatable)", env: "ALLOW_ENV", kind: kindStrings, strs: &cfg.AllowEnv},
		{name: "supervise", usage: "run the command as a supervised child (the default when PID 1)", env: "SUPERVISE", kind: kindBool, boolean: &cfg.Supervise, set: &cfg.superviseSet},
		{name: "grace", usage: "supervise mode: how long the rest of the command's process group may live on after it exits, before SIGKILL (10s, 1m30s, or seconds)", env: "GRACE", str: &cfg.Grace},
		{name: "user", usage: "UID[:GID] or NAME[:GROUP] to run the command as; mounted files belong to it", env: "USER", str: &cfg.User},
		{name: "watch", usage: "keep the secrets current while the command runs: republish changed files, then send --reload-signal (forces supervise mode)", env: "WATCH", kind: kindBool, boolean: &cfg.Watch},
		{name: "refresh", usage: "--watch: how often remote backends (and directories that cannot be watched) are polled", env: "REFRESH", kind: kindDuration, dur: &cfg.Refresh},
		{name: "reload-signal", usage: "--watch: the signal sent to the command after a republish (SIGHUP, SIGUSR1, ...; none for no signal)", env: "RELOAD_SIGNAL", str: &cfg.ReloadSignal},
		{name: "restart-on-env-change", usage: "--watch: restart the command (SIGTERM, --grace, SIGKILL) when a secret in its environment changed", env: "RESTART_ON_ENV_CHANGE", kind: kindBool, boolean: &cfg.RestartOnEnvChange},
		{name: "log-format", usage: "json or console (default: console on a terminal, else json)", env: "LOG_FORMAT", str: &cfg.LogFormat},
		{name: "log-level", usage: "debug, info, warn or error", env: "LOG_LEVEL", str: &cfg.LogLevel},
	}
	specs := append(make([]flagSpec, 0, len(own)+8), own[:]...)
	return withGiven(cfg, cfg.appendOptionFlags(specs, false))
}

// withGiven makes each flag record in cfg.given that it was given.
func withGiven(cfg *config, specs []flagSpec) []flagSpec {
	for i := range specs {
		specs[i].given = cfg.given
	}
	return specs
}
