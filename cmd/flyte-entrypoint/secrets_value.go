package main

// Where create secret's value comes from, and the prompts.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/dockerconfig"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/readfile"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
)

// valueSource is where create secret's value comes from.
type valueSource int

const (
	sourceInput        valueSource = iota // a hidden prompt on a terminal, else all of stdin
	sourceValue                           // --value
	sourceFile                            // --from-file
	sourceLogin                           // image_pull: --registry, --username, --password, each prompted when missing
	sourceDockerConfig                    // image_pull: --from-docker-config
)

// isInvalidInput reports whether err is about the command's input.
func isInvalidInput(err error) bool {
	return manage.IsInvalid(err) || dockerconfig.IsInvalid(err)
}

// pickSource checks the value flags against each other and the type. Flags
// that make no sense together are usage errors. A variable that does not
// apply to the type (FLYTE_ENTRYPOINT_REGISTRY when creating a regular
// secret) is ignored, so that a shell's settings do not get in the way.
func (a *app) pickSource(c *cli.Context, typ manage.Type) (valueSource, error) {
	cfg := a.cfg
	var sources []string
	if c.IsSet("value") {
		sources = append(sources, "--value")
	}
	if cfg.FromFile != "" {
		sources = append(sources, "--from-file")
	}
	if typ == manage.TypeImagePull && cfg.FromDockerConfig {
		sources = append(sources, "--from-docker-config")
	}
	if len(sources) > 1 {
		return 0, usageError("%s are mutually exclusive: give one source for the value", strings.Join(sources, " and "))
	}
	var login []string
	for _, f := range []string{"registry", "username", "password"} {
		if c.IsSet(f) {
			login = append(login, "--"+f)
		}
	}
	var docker []string
	for _, f := range []string{"from-docker-config", "docker-config-path", "registries"} {
		if c.IsSet(f) {
			docker = append(docker, "--"+f)
		}
	}
	if typ != manage.TypeImagePull {
		if extra := append(login, docker...); len(extra) > 0 {
			return 0, usageError("%s: only for --type image_pull", strings.Join(extra, ", "))
		}
		switch {
		case c.IsSet("value"):
			return sourceValue, nil
		case cfg.FromFile != "":
			return sourceFile, nil
		}
		return sourceInput, nil
	}
	if len(sources) == 1 && len(login) > 0 {
		return 0, usageError("%s and %s are mutually exclusive: the value is built from the login, or given whole", strings.Join(login, ", "), sources[0])
	}
	if !cfg.FromDockerConfig && len(docker) > 0 {
		return 0, usageError("%s: only with --from-docker-config", strings.Join(docker, ", "))
	}
	switch {
	case c.IsSet("value"):
		return sourceValue, nil
	case cfg.FromFile != "":
		return sourceFile, nil
	case cfg.FromDockerConfig:
		return sourceDockerConfig, nil
	}
	return sourceLogin, nil
}

// readValue reads the value from src. An image pull secret's value is
// Docker config JSON, built or checked here.
func (a *app) readValue(ctx context.Context, c *cli.Context, src valueSource, typ manage.Type) ([]byte, error) {
	p := newPrompter(a.stdin, a.stderr)
	var value []byte
	switch src {
	case sourceValue:
		value = []byte(a.cfg.Value)
	case sourceFile:
		// A regular file, or a pipe (--from-file <(cmd)): never a device.
		b, err := readfile.Stream(a.cfg.FromFile, readfile.MaxValue)
		if err != nil {
			return nil, invalidInput("--from-file %q: %v", a.cfg.FromFile, err)
		}
		value = b
	case sourceInput:
		var err error
		if p.tty {
			value, err = p.hidden("Enter secret value")
		} else {
			value, err = p.rest("value")
		}
		if err != nil {
			return nil, fmt.Errorf("read the secret's value: %w", err)
		}
	case sourceLogin:
		return a.readLogin(c, p)
	case sourceDockerConfig:
		return a.readDockerConfig(ctx)
	}
	if len(value) == 0 && !a.cfg.AllowEmpty {
		return nil, invalidInput("the secret's value is empty: give a value, or --allow-empty to store an empty one")
	}
	if typ == manage.TypeImagePull {
		if err := dockerconfig.Validate(value); err != nil {
			return nil, err
		}
	}
	return value, nil
}

// readLogin builds an image pull secret from --registry, --username and
// --password, prompting for each one missing. A registry or user name
// that came from stdin is never quoted in a message: piped in the wrong
// order, or as a whole Docker config, it may be a password.
func (a *app) readLogin(c *cli.Context, p *prompter) ([]byte, error) {
	registry, username := a.cfg.Registry, a.cfg.Username
	password := []byte(a.cfg.Password)
	shown := strconv.Quote(registry) // how messages name the registry
	var err error
	if registry == "" {
		if registry, err = p.line("Registry"); err != nil {
			return nil, err
		}
		if registry == "" {
			return nil, invalidInput("empty registry: give --registry, or type it at the prompt")
		}
		shown = strconv.Quote(registry)
		if !p.tty {
			shown = "(line 1 of stdin)"
			if strings.HasPrefix(strings.TrimSpace(registry), "{") {
				return nil, invalidInput("stdin starts with JSON, but an image_pull secret without --registry, --username and --password reads them from stdin one a line; to store a whole Docker config, give it with --from-file (or --from-docker-config)")
			}
		}
	}
	if username == "" {
		if username, err = p.line("Username"); err != nil {
			return nil, err
		}
		if username == "" {
			return nil, invalidInput("empty user name for registry %s: give --username, or type it at the prompt", shown)
		}
	}
	if strings.Contains(username, ":") {
		return nil, invalidInput("user name for registry %s holds a colon, which Docker's auth field cannot carry", shown)
	}
	if !c.IsSet("password") {
		if p.tty {
			password, err = p.hidden("Password")
		} else {
			// As a piped value is: the rest of stdin, as given.
			password, err = p.rest("password")
		}
		if err != nil {
			return nil, err
		}
	}
	if len(password) == 0 && !a.cfg.AllowEmpty {
		return nil, invalidInput("empty password for registry %s: give one, or --allow-empty to store an empty one", shown)
	}
	return dockerconfig.Build(registry, username, string(password))
}

// readDockerConfig copies the chosen registries' credentials from a Docker
// config file, asking its credential helpers when it names any.
func (a *app) readDockerConfig(ctx context.Context) ([]byte, error) {
	path := a.cfg.DockerConfigPath
	if path == "" {
		var err error
		if path, err = dockerconfig.DefaultPath(func(k string) string { return a.env.m[k] }); err != nil {
			return nil, invalidInput("%v", err)
		}
	}
	cfg, err := dockerconfig.Load(path)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	value, err := cfg.Extract(a.cfg.Registries, dockerconfig.Runner(ctx))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return value, nil
}

// prompter asks for values: on the terminal when stdin is one (the prompt
// on stderr, hidden input with echo off), else one line of stdin per
// question, with no prompt, as `flyte create secret` reads piped answers.
type prompter struct {
	in  io.Reader
	out io.Writer
	fd  int
	tty bool
	br  *bufio.Reader // stdin when it is not a terminal
}

func newPrompter(in io.Reader, out io.Writer) *prompter {
	p := &prompter{in: in, out: out, fd: -1}
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.fd, p.tty = int(f.Fd()), true
	} else {
		p.br = bufio.NewReader(in)
	}
	return p
}

// line asks a question whose answer may be seen.
func (p *prompter) line(label string) (string, error) {
	if !p.tty {
		return p.readLine(p.br)
	}
	fmt.Fprintf(p.out, "%s: ", label)
	// Byte by byte: nothing past the line may be taken from the terminal.
	var b []byte
	one := make([]byte, 1)
	for {
		n, err := p.in.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				break
			}
			b = append(b, one[0])
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read %s: %w", strings.ToLower(label), err)
		}
	}
	return strings.TrimSuffix(string(b), "\r"), nil
}

// rest reads the rest of a piped stdin, as given: a trailing newline is
// kept, as `--from-file` keeps it, and the shim says so on stderr by the
// value's length alone. what names the value in messages.
func (p *prompter) rest(what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(p.br, readfile.MaxValue+1))
	if err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	if len(b) > readfile.MaxValue {
		return nil, invalidInput("the %s on stdin is more than the limit of %d bytes", what, readfile.MaxValue)
	}
	if bytes.HasSuffix(b, []byte("\n")) {
		fmt.Fprintf(p.out, "note: the %s read from stdin ends with a newline, which is kept: it is %d bytes, the newline included; pipe it without one (printf '%%s' ...) to store it without\n", what, len(b))
	}
	return b, nil
}

func (p *prompter) readLine(br *bufio.Reader) (string, error) {
	s, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read stdin: %w", err)
	}
	return strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r"), nil
}

// hidden asks for a secret: on a terminal with echo off, else one line of
// stdin. A signal that arrives at the prompt puts the terminal back as it
// was before the process dies of it.
func (p *prompter) hidden(label string) ([]byte, error) {
	if !p.tty {
		s, err := p.readLine(p.br)
		return []byte(s), err
	}
	fmt.Fprintf(p.out, "%s: ", label)
	stop := p.restoreOnSignal()
	b, err := term.ReadPassword(p.fd)
	stop()
	fmt.Fprintln(p.out)
	if err != nil && !(errors.Is(err, io.EOF) && len(b) == 0) {
		return nil, fmt.Errorf("read %s: %w", strings.ToLower(label), err)
	}
	return bytes.Clone(b), nil
}

// restoreOnSignal watches SIGINT, SIGTERM, SIGHUP and SIGQUIT while echo is
// off. On one, it restores the terminal, then dies of that signal as it
// would have.
func (p *prompter) restoreOnSignal() (stop func()) {
	state, err := term.GetState(p.fd)
	if err != nil {
		return func() {}
	}
	ch := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	go func() {
		select {
		case sig := <-ch:
			_ = term.Restore(p.fd, state)
			fmt.Fprintln(p.out)
			signal.Reset(sig)
			_ = syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		case <-done:
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
