package main

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/urfave/cli/v2"

	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/registry"
)

// envPrefix starts every configuration variable: FLYTE_ENTRYPOINT_<FLAG_NAME>.
const envPrefix = "FLYTE_ENTRYPOINT_"

// config is every setting, read first from the environment (caarlos0/env),
// then overridden by the flags that were given. Values never come from here:
// --secret, --value and --password have no variable.
type config struct {
	Specs     []string      `env:"SPEC" envSeparator:":"`
	Backends  []string      `env:"BACKENDS" envDefault:"env,dir,local"`
	Root      string        `env:"ROOT"`
	Org       string        `env:"ORG" envDefault:"flyte"`
	Project   string        `env:"PROJECT"`
	Domain    string        `env:"DOMAIN"`
	Timeout   time.Duration `env:"TIMEOUT" envDefault:"30s"`
	PassEnv   []string      `env:"PASS_ENV"`
	AllowEnv  []string      `env:"ALLOW_ENV"`
	Supervise bool          `env:"SUPERVISE"`
	Grace     string        `env:"GRACE" envDefault:"10s"` // parsed by exec.ParseGrace: 10s, 1m30s or 10
	User      string        `env:"USER"`
	LogFormat string        `env:"LOG_FORMAT"`
	LogLevel  string        `env:"LOG_LEVEL" envDefault:"info"`
	Output    string        `env:"OUTPUT" envDefault:"table"`
	Group     string        `env:"GROUP"`

	// create, get and delete secret (secrets.go).
	Backend          string   `env:"BACKEND" envDefault:"local"`
	Type             string   `env:"TYPE" envDefault:"regular"`
	FromFile         string   `env:"FROM_FILE"`
	AllowEmpty       bool     `env:"ALLOW_EMPTY"`
	Registry         string   `env:"REGISTRY"`
	Username         string   `env:"USERNAME"`
	FromDockerConfig bool     `env:"FROM_DOCKER_CONFIG"`
	DockerConfigPath string   `env:"DOCKER_CONFIG_PATH"`
	Registries       []string `env:"REGISTRIES"`
	Limit            string   `env:"LIMIT" envDefault:"100"` // a page size, checked by get secret
	Reveal           bool     `env:"REVEAL"`

	// Set by flags only.
	Secrets  []string
	Value    string // create secret --value: never from the environment
	Password string // create secret --password: never from the environment

	// The backends' own settings (registry.Option), by option name: the
	// variable when set, then the flag when given.
	options map[string]*string

	badEnv       map[string]error // variables that did not parse, by suffix
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
	var out []flagSpec
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

// loadConfig reads the FLYTE_ENTRYPOINT_* variables. A variable that does
// not parse is kept in cfg.badEnv, by its name's suffix, and is a usage error
// only for a command that has that flag and was not given it: a variable
// meant for create secret must not stop every container start.
func loadConfig(environ map[string]string) *config {
	cfg := &config{badEnv: map[string]error{}, given: map[string]bool{}, environ: environ, options: map[string]*string{}}
	for _, b := range registry.All() {
		for _, o := range b.Options {
			v := o.Default
			if e, ok := environ[envPrefix+o.Env]; ok && e != "" {
				v = e
			}
			cfg.options[o.Name] = &v
		}
	}
	err := env.ParseWithOptions(cfg, env.Options{Prefix: envPrefix, Environment: environ})
	var agg env.AggregateError
	if errors.As(err, &agg) {
		for _, e := range agg.Errors {
			var pe env.ParseError
			if errors.As(e, &pe) {
				name := envTag(pe.Name)
				cfg.badEnv[name] = fmt.Errorf("%s%s: %v", envPrefix, name, pe.Err)
			}
		}
	}
	// Name lists are comma-separated in their variable; spaces around a
	// name are not part of it, as on the command line.
	for _, l := range []*[]string{&cfg.Backends, &cfg.PassEnv, &cfg.AllowEnv, &cfg.Registries} {
		*l = splitList(*l)
	}
	cfg.superviseSet = environ[envPrefix+"SUPERVISE"] != "" // empty is unset, as for every variable
	return cfg
}

func envTag(field string) string {
	f, ok := reflect.TypeFor[config]().FieldByName(field)
	if !ok {
		return field
	}
	return strings.Split(f.Tag.Get("env"), ",")[0]
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
		return &stringsFlag{&cli.StringSliceFlag{Name: f.name, Aliases: f.aliases, Usage: f.usageText(), Value: def}, names}
	case kindDuration:
		return &durationFlag{&cli.DurationFlag{Name: f.name, Aliases: f.aliases, Usage: f.usageText(), Value: *f.dur}, names}
	case kindBool:
		return &boolFlag{&cli.BoolFlag{Name: f.name, Aliases: f.aliases, Usage: f.usageText(), Value: *f.boolean}, names}
	default:
		return &stringFlag{&cli.StringFlag{Name: f.name, Aliases: f.aliases, Usage: f.usageText(), Value: *f.str}, names}
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

// givenFlags maps each flag given on the command line to the context that
// parsed it: this command's, or its parent's (flags before the command name).
func givenFlags(c *cli.Context) map[string]*cli.Context {
	given := map[string]*cli.Context{}
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
func (f flagSpec) apply(given map[string]*cli.Context) bool {
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
	return withGiven(cfg, append([]flagSpec{
		{name: "secret", usage: "a secret request: a bare key, or key=,group=,group_version=,env=,mount=,optional= pairs (repeatable; the variable is FLYTE_SECRETS)", kind: kindRequests, strs: &cfg.Secrets},
		{name: "spec", usage: "a task spec file to read requests from (repeatable; the variable takes paths separated by ':')", env: "SPEC", kind: kindRequests, strs: &cfg.Specs},
		{name: "backends", usage: "the backend chain, in order", env: "BACKENDS", kind: kindStrings, strs: &cfg.Backends},
		{name: "root", usage: "a prefix for the mount directory /etc/flyte/secrets, and only for it", env: "ROOT", str: &cfg.Root},
		{name: "org", usage: "the org of the current scope", env: "ORG", str: &cfg.Org},
		{name: "project", usage: "the project of the current scope (needs --domain)", env: "PROJECT", str: &cfg.Project},
		{name: "domain", usage: "the domain of the current scope", env: "DOMAIN", str: &cfg.Domain},
		{name: "timeout", usage: "the overall deadline for resolving every secret", env: "TIMEOUT", kind: kindDuration, dur: &cfg.Timeout},
		{name: "pass-env", usage: "a credential variable to let through to the command (repeatable)", env: "PASS_ENV", kind: kindStrings, strs: &cfg.PassEnv},
		{name: "allow-env", usage: "a loader or shell variable (LD_*, PATH, HOME) a secret may set (repeatable)", env: "ALLOW_ENV", kind: kindStrings, strs: &cfg.AllowEnv},
		{name: "supervise", usage: "run the command as a supervised child (the default when PID 1)", env: "SUPERVISE", kind: kindBool, boolean: &cfg.Supervise, set: &cfg.superviseSet},
		{name: "grace", usage: "supervise mode: how long the rest of the command's process group may live on after it exits, before SIGKILL (10s, 1m30s, or seconds)", env: "GRACE", str: &cfg.Grace},
		{name: "user", usage: "UID[:GID] or NAME[:GROUP] to run the command as; mounted files belong to it", env: "USER", str: &cfg.User},
		{name: "log-format", usage: "json or console (default: console on a terminal, else json)", env: "LOG_FORMAT", str: &cfg.LogFormat},
		{name: "log-level", usage: "debug, info, warn or error", env: "LOG_LEVEL", str: &cfg.LogLevel},
	}, cfg.optionFlags(false)...))
}

// withGiven makes each flag record in cfg.given that it was given.
func withGiven(cfg *config, specs []flagSpec) []flagSpec {
	for i := range specs {
		specs[i].given = cfg.given
	}
	return specs
}
