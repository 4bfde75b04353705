// Package registry is the one place that maps backend names to backends.
package registry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/dir"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/env"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/local"
)

// DefaultChain is the chain used when none is given.
const DefaultChain = "env,dir,local"

// Config is what the backends need to be built.
type Config struct {
	Environ  []string    // the shim's environment, for env
	Dir      string      // the directory for dir; "" skips it
	StoreDir string      // the local store; "" means local.DefaultDir()
	Logger   *log.Logger // nil discards
}

// builders lists every backend, in the order Known gives. A remote backend
// (one that asks a server) sets remote, so that its lookups go out in
// parallel; local ones are cheaper asked one after another.
var builders = []struct {
	name   string
	remote bool
	build  func(Config) resolver.Link
}{
	{"env", false, func(c Config) resolver.Link { return resolver.Link{Backend: env.New(c.Environ)} }},
	{"dir", false, func(c Config) resolver.Link {
		if c.Dir == "" {
			return resolver.Link{Skip: "no directory set"}
		}
		return resolver.Link{Backend: dir.New(c.Dir)}
	}},
	{"local", false, func(c Config) resolver.Link {
		d := c.StoreDir
		if d == "" {
			var err error
			if d, err = local.DefaultDir(); err != nil {
				return resolver.Link{Skip: "no store directory: " + err.Error()}
			}
		}
		return resolver.Link{Backend: local.NewBackend(d)}
	}},
}

// Known lists the backend names, in their default order.
func Known() []string {
	names := make([]string, len(builders))
	for i, b := range builders {
		names[i] = b.name
	}
	return names
}

// AnyRemote reports whether a backend in names asks a server.
func AnyRemote(names []string) bool {
	for _, n := range names {
		for _, b := range builders {
			if b.name == n && b.remote {
				return true
			}
		}
	}
	return false
}

// Build makes the chain's links for names, in order. An unknown or repeated
// name is an error; a backend that cannot work with cfg (dir with no
// directory) is a link with a Skip reason.
func Build(names []string, cfg Config) ([]resolver.Link, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("no backends given (known: %s)", strings.Join(Known(), ", "))
	}
	logger := cfg.Logger
	if logger == nil {
		logger = log.Nop()
	}
	logger = logger.Named("resolver.registry")
	seen := make(map[string]bool, len(names))
	links := make([]resolver.Link, 0, len(names))
	var errs []error
	for _, name := range names {
		i := index(name)
		switch {
		case i < 0:
			errs = append(errs, fmt.Errorf("unknown backend %q (known: %s)", name, strings.Join(Known(), ", ")))
			continue
		case seen[name]:
			errs = append(errs, fmt.Errorf("backend %q is listed more than once", name))
			continue
		}
		seen[name] = true
		l := builders[i].build(cfg)
		l.Name = name
		if l.Skip != "" {
			logger.Debug("backend skipped", log.String("backend", name), log.String("reason", l.Skip))
		} else {
			logger.Debug("backend ready", log.String("backend", name))
		}
		links = append(links, l)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return links, nil
}

func index(name string) int {
	for i, b := range builders {
		if b.name == name {
			return i
		}
	}
	return -1
}
