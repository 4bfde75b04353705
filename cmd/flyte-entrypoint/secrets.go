package main

// The secret-management commands, as Flyte's `flyte create|get|delete
// secret`: create secret NAME, get secret [NAME], delete secret NAME. They
// work on a manage.Store, picked by --backend.
//
// Exit codes: 2 for a usage error (bad flags, a missing NAME, a project
// without a domain, an unknown backend); 65 for invalid input (a bad name,
// type or scope, an unreadable --from-file, an empty value, a malformed
// Docker config or one with no credentials for a registry); 1 for any other
// failure (the secret exists, it is not found, the store can't be used).
//
// The scope comes from --org, --project and --domain, or their
// FLYTE_ENTRYPOINT_ variables; FLYTE_INTERNAL_EXECUTION_* play no part here.
// get and delete look in exactly that scope.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/exit"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/registry"
)

// secretFlags are the flags every secret command shares.
// backendFlag is --backend: the store of the secret commands, the backend
// of policy.
func backendFlag(cfg *config) flagSpec {
	return secretFlags(cfg)[0]
}

func secretFlags(cfg *config) []flagSpec {
	return withGiven(cfg, append([]flagSpec{
		{name: "backend", usage: "the store to manage: " + strings.Join(registry.Stores(), ", "), env: "BACKEND", str: &cfg.Backend},
		{name: "org", usage: "the org of the secret's scope", env: "ORG", str: &cfg.Org},
		{name: "project", aliases: []string{"p"}, usage: "the project of the secret's scope (needs --domain)", env: "PROJECT", str: &cfg.Project},
		{name: "domain", aliases: []string{"d"}, usage: "the domain of the secret's scope", env: "DOMAIN", str: &cfg.Domain},
		{name: "log-format", usage: "json or console (default: console on a terminal, else json)", env: "LOG_FORMAT", str: &cfg.LogFormat},
		{name: "log-level", usage: "debug, info, warn or error", env: "LOG_LEVEL", str: &cfg.LogLevel},
	}, cfg.optionFlags(true)...))
}

// createSecretFlags are create secret's own flags, besides secretFlags.
func createSecretFlags(cfg *config) []flagSpec {
	return withGiven(cfg, append([]flagSpec(nil),
		flagSpec{name: "type", usage: "regular or image_pull", env: "TYPE", str: &cfg.Type},
		flagSpec{name: "value", usage: "the secret's value (no variable: a value never comes from the environment)", str: &cfg.Value},
		flagSpec{name: "from-file", usage: "read the value from this file, raw bytes", env: "FROM_FILE", str: &cfg.FromFile},
		flagSpec{name: "allow-empty", usage: "store an empty value (or an empty password) instead of refusing it", env: "ALLOW_EMPTY", kind: kindBool, boolean: &cfg.AllowEmpty},
		flagSpec{name: "registry", usage: "image_pull: the registry (prompted when missing)", env: "REGISTRY", str: &cfg.Registry},
		flagSpec{name: "username", usage: "image_pull: the user name (prompted when missing)", env: "USERNAME", str: &cfg.Username},
		flagSpec{name: "password", usage: "image_pull: the password (prompted, hidden, when missing; no variable)", str: &cfg.Password},
		flagSpec{name: "from-docker-config", usage: "image_pull: copy the credentials from a Docker config file", env: "FROM_DOCKER_CONFIG", kind: kindBool, boolean: &cfg.FromDockerConfig},
		flagSpec{name: "docker-config-path", usage: "the Docker config file (default $DOCKER_CONFIG/config.json, else ~/.docker/config.json)", env: "DOCKER_CONFIG_PATH", str: &cfg.DockerConfigPath},
		flagSpec{name: "registries", usage: "the registries to copy from the Docker config, comma-separated (default: all of them)", env: "REGISTRIES", kind: kindStrings, strs: &cfg.Registries},
		flagSpec{name: "timeout", usage: "the deadline for the store and for a Docker credential helper", env: "TIMEOUT", kind: kindDuration, dur: &cfg.Timeout},
	))
}

// getSecretFlags are get secret's own flags, besides secretFlags.
func getSecretFlags(cfg *config) []flagSpec {
	return withGiven(cfg, append([]flagSpec(nil),
		flagSpec{name: "output", aliases: []string{"o"}, usage: "the list's format: table or json (get secret NAME always prints JSON)", env: "OUTPUT", str: &cfg.Output},
		flagSpec{name: "limit", usage: "the page size of the list; every page is fetched", env: "LIMIT", str: &cfg.Limit},
		flagSpec{name: "reveal", usage: "print the secret's raw value instead of its metadata", env: "REVEAL", kind: kindBool, boolean: &cfg.Reveal},
	))
}

// deleteSecretFlags are delete secret's own flags, besides secretFlags.
func deleteSecretFlags(cfg *config) []flagSpec {
	return withGiven(cfg, []flagSpec{
		{name: "now", usage: "aws: delete without the recovery window (ForceDeleteWithoutRecovery); the name is free again at once", env: "NOW", kind: kindBool, boolean: &cfg.Now},
	})
}

// secretCommands are create, get and delete, each with its secret
// subcommand.
const (
	createUsage = "create a secret in the store (create secret NAME)"
	getUsage    = "show a secret's metadata, or list the secrets of a scope (get secret [NAME])"
	deleteUsage = "delete a secret from the store (delete secret NAME)"
)

func (a *app) secretCommands(withFlags bool) []*cli.Command {
	if !withFlags {
		// Listed in --help, never run: no flags needed.
		return []*cli.Command{
			{Name: "create", Usage: createUsage},
			{Name: "get", Usage: getUsage},
			{Name: "delete", Usage: deleteUsage},
		}
	}
	// The shared flags are built once. Only one command runs, so its flags
	// may be shared.
	common := secretFlags(a.cfg)
	commonFlags := cliFlags(common)
	createOwn, getOwn, delOwn := createSecretFlags(a.cfg), getSecretFlags(a.cfg), deleteSecretFlags(a.cfg)
	create, get, del := concat(common, createOwn), concat(common, getOwn), concat(common, delOwn)
	createFlags := concat(commonFlags, cliFlags(createOwn))
	getFlags := concat(commonFlags, cliFlags(getOwn))
	delFlags := concat(commonFlags, cliFlags(delOwn))
	return []*cli.Command{
		{
			Name:   "create",
			Usage:  createUsage,
			Action: noResource("create", "secret NAME"),
			Subcommands: []*cli.Command{{
				Name:         "secret",
				Usage:        "create a secret; its value comes from --value, --from-file, a hidden prompt, or stdin",
				ArgsUsage:    "NAME",
				Flags:        createFlags,
				Action:       a.action(create, secretCmd(a.createSecret)),
				OnUsageError: a.flagUsageError,
			}},
			OnUsageError: a.flagUsageError,
		},
		{
			Name:   "get",
			Usage:  getUsage,
			Action: noResource("get", "secret [NAME]"),
			Subcommands: []*cli.Command{{
				Name:         "secret",
				Usage:        "print one secret's metadata as JSON (its value only with --reveal), or list the scope's secrets",
				ArgsUsage:    "[NAME]",
				Flags:        getFlags,
				Action:       a.action(get, secretCmd(a.getSecret)),
				OnUsageError: a.flagUsageError,
			}},
			OnUsageError: a.flagUsageError,
		},
		{
			Name:   "delete",
			Usage:  deleteUsage,
			Action: noResource("delete", "secret NAME"),
			Subcommands: []*cli.Command{{
				Name:         "secret",
				Usage:        "delete one secret from exactly the scope given",
				ArgsUsage:    "NAME",
				Flags:        delFlags,
				Action:       a.action(del, secretCmd(a.deleteSecret)),
				OnUsageError: a.flagUsageError,
			}},
			OnUsageError: a.flagUsageError,
		},
	}
}

// concat is a new slice holding a then b.
func concat[T any](a, b []T) []T {
	return append(append(make([]T, 0, len(a)+len(b)), a...), b...)
}

// noResource answers `create` (or get, delete) without a resource.
func noResource(verb, usage string) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.NArg() > 0 {
			return usageError("%s: unknown resource %q: the one resource is secret (%s %s)", verb, c.Args().First(), verb, usage)
		}
		return usageError("%s what? usage: flyte-entrypoint %s %s", verb, verb, usage)
	}
}

// secretCmd gives a secret command's error its exit code: usage errors keep
// theirs, invalid input is 65, anything else is 1.
func secretCmd(fn func(*cli.Context) error) func(*cli.Context) error {
	return func(c *cli.Context) error {
		err := fn(c)
		if err == nil {
			return nil
		}
		var ee *exit.Error
		if errors.As(err, &ee) {
			return err
		}
		if isInvalidInput(err) {
			return exit.With(exit.Invalid, err)
		}
		return exit.With(exit.Failure, err)
	}
}

// invalidInput marks an error of the command's own checks as invalid input.
func invalidInput(format string, args ...any) error {
	return manage.Invalid(fmt.Errorf(format, args...))
}

// nameArg is the one NAME argument.
func nameArg(c *cli.Context, usage string) (string, error) {
	switch c.NArg() {
	case 0:
		return "", usageError("missing NAME: usage is flyte-entrypoint %s", usage)
	case 1:
		return c.Args().First(), nil
	}
	// Not quoted: a value typed in NAME's place must not be echoed.
	return "", usageError("too many arguments (%d, want one NAME): usage is flyte-entrypoint %s; a value goes in --value, --from-file or stdin", c.NArg(), usage)
}

// secretStore is the store --backend names.
func (a *app) secretStore() (func() (manage.Store, error), error) {
	b, ok := registry.Find(a.cfg.Backend)
	if !ok || b.Store == nil {
		return nil, usageError("%s %q: unknown secret store (known: %s)", a.cfg.name("backend"), a.cfg.Backend, strings.Join(registry.Stores(), ", "))
	}
	settings := registry.Settings{Environ: a.env.list, Values: a.cfg.optionValues(), Logger: a.log}
	return func() (manage.Store, error) { return b.Store(settings) }, nil
}

// common checks what every secret command checks first, in this order: the
// backend, the scope. It returns the scope and the store's opener.
func (a *app) secretCommon() (resolver.Scope, func() (manage.Store, error), error) {
	open, err := a.secretStore()
	if err != nil {
		return resolver.Scope{}, nil, err
	}
	scope, err := a.scope(false) // not the execution's: a command run inside a task must not manage the task's project by accident
	if err != nil {
		return resolver.Scope{}, nil, err
	}
	return scope, open, nil
}

func (a *app) createSecret(c *cli.Context) error {
	name, err := nameArg(c, "create secret NAME [--value V | --from-file PATH]")
	if err != nil {
		return err
	}
	scope, open, err := a.secretCommon()
	if err != nil {
		return err
	}
	typ, err := manage.ParseType(a.cfg.Type)
	if err != nil {
		return err
	}
	src, err := a.pickSource(c, typ)
	if err != nil {
		return err
	}
	if err := manage.CheckCreate(scope, name, typ); err != nil {
		return err
	}
	store, err := open()
	if err != nil {
		return err
	}
	// Say so before asking for a value that could not be stored.
	ctx, cancel := context.WithTimeout(c.Context, a.cfg.Timeout)
	_, _, err = store.Get(ctx, scope, name)
	cancel()
	if err == nil {
		return manage.Exists(fmt.Errorf("secret %q already exists in scope %s; nothing was changed", name, scope))
	}
	if !manage.IsNotFound(err) {
		return err
	}

	value, err := a.readValue(c.Context, c, src, typ)
	if err != nil {
		return err
	}
	ctx, cancel = context.WithTimeout(c.Context, a.cfg.Timeout)
	defer cancel()
	meta, err := store.Create(ctx, scope, name, typ, secret.New(value))
	if err != nil {
		return err
	}
	a.log.Debug("created secret", log.String("name", name), log.String("scope", scope.String()),
		log.String("type", string(meta.Type)), log.Int("bytes", len(value)))
	_, err = fmt.Fprintf(a.stdout, "Successfully created secret %s.\n", name)
	return err
}

func (a *app) getSecret(c *cli.Context) error {
	if c.NArg() > 1 {
		return usageError("too many arguments (%d, want at most one NAME): usage is flyte-entrypoint get secret [NAME]", c.NArg())
	}
	scope, open, err := a.secretCommon()
	if err != nil {
		return err
	}
	switch a.cfg.Output {
	case "table", "json":
	default:
		return usageError("%s %q: want table or json", a.cfg.name("output"), a.cfg.Output)
	}
	limit, err := strconv.Atoi(a.cfg.Limit)
	if err != nil || limit < 1 {
		return usageError("%s %q: want a page size of 1 or more", a.cfg.name("limit"), a.cfg.Limit)
	}
	if c.NArg() == 0 && c.IsSet("reveal") { // FLYTE_ENTRYPOINT_REVEAL alone does not break the list
		return usageError("--reveal needs a NAME: get secret NAME --reveal")
	}
	if c.NArg() == 1 {
		if err := manage.CheckName(c.Args().First()); err != nil {
			return err
		}
	}
	store, err := open()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Context, a.cfg.Timeout)
	defer cancel()

	if c.NArg() == 1 {
		meta, value, err := store.Get(ctx, scope, c.Args().First())
		if manage.IsNotFound(err) {
			return elsewhere(ctx, store, scope, c.Args().First(), err)
		}
		if err != nil {
			return err
		}
		if a.cfg.Reveal {
			_, err = a.stdout.Write(value.Bytes())
			return err
		}
		return writeJSON(a.stdout, meta)
	}
	items, err := manage.ListAll(ctx, store, scope, limit)
	if err != nil {
		return err
	}
	if items == nil {
		items = []manage.Meta{}
	}
	if a.cfg.Output == "json" {
		return writeJSON(a.stdout, items)
	}
	return writeSecretTable(a.stdout, items)
}

func (a *app) deleteSecret(c *cli.Context) error {
	name, err := nameArg(c, "delete secret NAME")
	if err != nil {
		return err
	}
	scope, open, err := a.secretCommon()
	if err != nil {
		return err
	}
	if err := manage.CheckName(name); err != nil {
		return err
	}
	store, err := open()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Context, a.cfg.Timeout)
	defer cancel()
	recovery := false
	if d, ok := store.(interface{ SetDeleteNow(bool) }); ok {
		d.SetDeleteNow(a.cfg.Now)
		recovery = !a.cfg.Now
	} else if a.cfg.Now {
		return usageError("%s applies to --backend aws only", a.cfg.name("now"))
	}
	if err := store.Delete(ctx, scope, name); err != nil {
		if manage.IsNotFound(err) {
			return elsewhere(ctx, store, scope, name, err)
		}
		return err
	}
	if recovery {
		fmt.Fprintf(a.stderr, "The secret is scheduled for deletion after AWS's default recovery window (30 days); its name stays taken until then. --now deletes it at once.\n")
	}
	a.log.Debug("deleted secret", log.String("name", name), log.String("scope", scope.String()))
	_, err = fmt.Fprintf(a.stdout, "Successfully deleted secret %s.\n", name)
	return err
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// writeSecretTable prints PROJECT DOMAIN NAME TYPE CREATED, with "-" for an
// empty project or domain.
func writeSecretTable(w io.Writer, items []manage.Meta) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECT\tDOMAIN\tNAME\tTYPE\tCREATED")
	for _, m := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", dash(m.Project), dash(m.Domain), m.Name, m.Type, m.Created.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// elsewhere adds to a not-found error of get or delete where else in the
// org (its first thousand secrets) a secret of that name exists, and the -p/-d that name that scope:
// management looks in exactly the scope given, unlike a task's lookup,
// and a forgotten -p/-d must not look like a missing secret. When the org
// can't be listed, the error is the store's alone.
func elsewhere(ctx context.Context, store manage.Store, scope resolver.Scope, name string, notFound error) error {
	// At most ten pages: a hint must not cost a remote store a thousand
	// calls.
	items, err := manage.ListPages(ctx, store, resolver.Scope{Org: scope.Org}, 100, 10)
	if err != nil {
		return notFound
	}
	var where []string
	for _, m := range items {
		if m.Name != name || m.Scope() == scope {
			continue
		}
		flags := "no -p/-d"
		switch {
		case m.Project != "":
			flags = "-p " + m.Project + " -d " + m.Domain
		case m.Domain != "":
			flags = "-d " + m.Domain
		}
		where = append(where, fmt.Sprintf("%s (%s)", m.Scope(), flags))
	}
	if len(where) == 0 {
		return notFound
	}
	return fmt.Errorf("%w; a secret of that name exists in scope %s", notFound, strings.Join(where, ", "))
}
