// Package registry is the one list of backends. Each row says everything the
// rest of the program needs to know about one backend: its name, whether it
// asks a server, the credential variables it consumes (removed from the
// command's environment), its own settings (each a flag and a variable), how
// to build its lookup link, and how to open its management store when it has
// one. Adding a backend is its own package plus one row here.
//
// Nothing registers itself at init: a container start pays for no backend it
// does not use.
package registry

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/aws"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/dir"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/env"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/k8s"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/local"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
)

// DefaultChain is the chain used when none is given.
const DefaultChain = "env,dir,local"

// Option is one setting of a backend: the flag --Name, and the variable
// FLYTE_ENTRYPOINT_<Env>.
type Option struct {
	Name    string
	Env     string
	Usage   string
	Default string
}

// Settings is what a backend is built from.
type Settings struct {
	// Environ is the shim's environment, "NAME=value" entries.
	Environ []string
	// Values holds each option's value by its name: the flag when given,
	// else its variable, else its default.
	Values map[string]string
	// Logger is where the backend logs; nil discards.
	Logger *log.Logger
}

// Value is the value of the option name.
func (s Settings) Value(name string) string { return s.Values[name] }

func (s Settings) logger(name string) *log.Logger {
	if s.Logger == nil {
		return log.Nop()
	}
	return s.Logger.Named("resolver." + name)
}

// OptionError is a bad value of one option. Its text does not name the
// option: the caller knows whether the user gave the flag or the variable,
// and names that one.
type OptionError struct {
	Option string
	Err    error
}

func (e *OptionError) Error() string { return e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

// Backend is one row of the list.
type Backend struct {
	Name string
	// Remote says the backend asks a server.
	Remote bool
	// Credentials are the variables that hold the backend's own credentials:
	// while the backend is in the chain, they never reach the command.
	Credentials []string
	// Options are the backend's own settings.
	Options []Option
	// Lookup builds the backend's link. A link with a Skip reason is a
	// backend that cannot work with these settings (dir without a
	// directory); an error is a setting that is wrong.
	Lookup func(Settings) (resolver.Link, error)
	// Store opens the backend's management store; nil when it has none.
	Store func(Settings) (manage.Store, error)
	// Watch lists the directories whose changes --watch must notice, for
	// the requests' groups; nil for a backend whose values never change
	// while the shim runs (env). A Remote backend is polled instead.
	Watch func(s Settings, groups []string) []string
}

// backends is the list, in the order Known gives.
var backends = []Backend{
	{
		Name: "env",
		Lookup: func(s Settings) (resolver.Link, error) {
			return resolver.UnscopedLink("env", env.New(s.Environ)), nil
		},
	},
	{
		Name:    "dir",
		Options: []Option{{Name: "dir", Env: "DIR", Usage: "the directory the dir backend reads"}},
		Lookup: func(s Settings) (resolver.Link, error) {
			d := s.Value("dir")
			if d == "" {
				return resolver.SkippedLink("dir", "no directory set"), nil
			}
			return resolver.UnscopedLink("dir", dir.New(d)), nil
		},
		Watch: func(s Settings, groups []string) []string {
			d := s.Value("dir")
			if d == "" {
				return nil
			}
			out := []string{d}
			for _, g := range groups {
				out = append(out, filepath.Join(d, strings.ToLower(g)))
			}
			return out
		},
	},
	{
		Name:    "local",
		Options: []Option{{Name: "store", Env: "STORE", Usage: "the local store's directory (default $XDG_DATA_HOME/flyte-entrypoint, else ~/.local/share/flyte-entrypoint)"}},
		Lookup: func(s Settings) (resolver.Link, error) {
			d, err := storeDir(s)
			if err != nil {
				return resolver.SkippedLink("local", "no store directory: "+err.Error()), nil
			}
			return resolver.ScopedLink("local", local.NewBackend(d)), nil
		},
		Store: func(s Settings) (manage.Store, error) {
			d, err := storeDir(s)
			if err != nil {
				return nil, err
			}
			st, err := local.Open(d)
			if err != nil {
				return nil, err // not a nil *local.Store in a non-nil interface
			}
			return st, nil
		},
		Watch: func(s Settings, _ []string) []string {
			d, err := storeDir(s)
			if err != nil {
				return nil
			}
			return []string{local.RecordsDir(d)}
		},
	},
	{
		Name:    "k8s",
		Remote:  true,
		Options: k8sOptions,
		Lookup: func(s Settings) (resolver.Link, error) {
			ks, err := k8sSettings(s, s.Value("k8s-namespace"))
			if err != nil {
				return resolver.Link{}, err
			}
			return resolver.ScopedLink("k8s", k8s.NewBackend(ks)), nil
		},
		Store: func(s Settings) (manage.Store, error) {
			ks, err := k8sSettings(s, s.Value("k8s-namespace"))
			if err != nil {
				return nil, err
			}
			return k8s.NewStore(ks), nil
		},
	},
	{
		Name:    "k8s-v1",
		Remote:  true,
		Options: []Option{{Name: "k8s-v1-namespace", Env: "K8S_V1_NAMESPACE", Usage: "the namespace k8s-v1 reads group-named Secrets from (default: the pod's own, as Flyte 1 uses)"}},
		Lookup: func(s Settings) (resolver.Link, error) {
			ks, err := k8sSettings(s, s.Value("k8s-v1-namespace"))
			if err != nil {
				return resolver.Link{}, err
			}
			return resolver.UnscopedLink("k8s-v1", k8s.NewV1Backend(ks)), nil
		},
	},
	{
		Name:    "aws",
		Remote:  true,
		Options: []Option{{Name: "aws-call-timeout", Env: "AWS_CALL_TIMEOUT", Usage: "the timeout of each AWS call (aws, aws-v1); calls are retried inside --timeout", Default: aws.DefaultRetry.Timeout.String()}},
		Lookup: func(s Settings) (resolver.Link, error) {
			as, err := awsSettings(s)
			if err != nil {
				return resolver.Link{}, err
			}
			return resolver.ScopedLink("aws", aws.NewBackend(as)), nil
		},
		Store: func(s Settings) (manage.Store, error) {
			as, err := awsSettings(s)
			if err != nil {
				return nil, err
			}
			return aws.NewStore(as), nil
		},
	},
	{
		Name:   "aws-v1",
		Remote: true,
		Lookup: func(s Settings) (resolver.Link, error) {
			as, err := awsSettings(s)
			if err != nil {
				return resolver.Link{}, err
			}
			return resolver.UnscopedLink("aws-v1", aws.NewV1Backend(as)), nil
		},
	},
}

// awsSettings reads the AWS options.
func awsSettings(s Settings) (aws.Settings, error) {
	retry := aws.DefaultRetry
	if v := s.Value("aws-call-timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return aws.Settings{}, &OptionError{Option: "aws-call-timeout", Err: fmt.Errorf("%q: want a positive duration such as 5s", v)}
		}
		retry.Timeout = d
	}
	return aws.Settings{Environ: s.Environ, Retry: retry, Logger: s.logger("aws")}, nil
}

// k8sOptions are the settings k8s and k8s-v1 share, listed on k8s's row.
var k8sOptions = []Option{
	{Name: "k8s-namespace", Env: "K8S_NAMESPACE", Usage: "the namespace where Flyte 2 keeps its secrets (k8s)", Default: k8s.DefaultNamespace},
	{Name: "k8s-serviceaccount-dir", Env: "K8S_SERVICEACCOUNT_DIR", Usage: "the pod's service-account mount: token, ca.crt, namespace", Default: k8s.DefaultServiceAccountDir},
	{Name: "kube-context", Env: "KUBE_CONTEXT", Usage: "the kubeconfig context to use (default: the current one; giving one uses the kubeconfig even in a pod)"},
	{Name: "k8s-call-timeout", Env: "K8S_CALL_TIMEOUT", Usage: "the timeout of each API call; calls are retried inside --timeout", Default: k8s.DefaultRetry.Timeout.String()},
}

// k8sSettings reads the shared Kubernetes options.
func k8sSettings(s Settings, namespace string) (k8s.Settings, error) {
	retry := k8s.DefaultRetry
	if v := s.Value("k8s-call-timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return k8s.Settings{}, &OptionError{Option: "k8s-call-timeout", Err: fmt.Errorf("%q: want a positive duration such as 5s", v)}
		}
		retry.Timeout = d
	}
	return k8s.Settings{
		Options: k8s.Options{
			Environ:           s.Environ,
			ServiceAccountDir: s.Value("k8s-serviceaccount-dir"),
			Context:           s.Value("kube-context"),
		},
		Namespace: namespace,
		Retry:     retry,
	}, nil
}

// storeDir is --store, or the default store directory.
func storeDir(s Settings) (string, error) {
	if d := s.Value("store"); d != "" {
		return d, nil
	}
	return local.DefaultDir()
}

// All is every backend, in the order Known gives.
func All() []Backend { return backends }

// Find returns the backend called name.
func Find(name string) (Backend, bool) {
	for _, b := range backends {
		if b.Name == name {
			return b, true
		}
	}
	return Backend{}, false
}

// Known lists the backend names, in their default order.
func Known() []string {
	names := make([]string, len(backends))
	for i, b := range backends {
		names[i] = b.Name
	}
	return names
}

// Stores lists the names of the backends that can manage secrets.
func Stores() []string {
	var names []string
	for _, b := range backends {
		if b.Store != nil {
			names = append(names, b.Name)
		}
	}
	return names
}

// Credentials lists the credential variables of the named backends.
func Credentials(names []string) []string {
	var out []string
	for _, n := range names {
		if b, ok := Find(n); ok {
			out = append(out, b.Credentials...)
		}
	}
	return out
}

// Build makes the chain's links for names, in order. An unknown or repeated
// name is an error, and so is a bad setting (an *OptionError); a backend that
// cannot work with these settings (dir with no directory) is a link with a
// Skip reason.
func Build(names []string, s Settings) ([]resolver.Link, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("no backends given (known: %s)", strings.Join(Known(), ", "))
	}
	logger := s.logger("registry")
	seen := make(map[string]bool, len(names))
	links := make([]resolver.Link, 0, len(names))
	var errs []error
	for _, name := range names {
		b, ok := Find(name)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("unknown backend %q (known: %s)", name, strings.Join(Known(), ", ")))
			continue
		case seen[name]:
			errs = append(errs, fmt.Errorf("backend %q is listed more than once", name))
			continue
		}
		seen[name] = true
		l, err := b.Lookup(Settings{Environ: s.Environ, Values: s.Values, Logger: s.Logger})
		if err != nil {
			errs = append(errs, err)
			continue
		}
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

// OpenStore opens the management store of the backend called name. An
// unknown name, or one without a store, is an error that lists the stores.
func OpenStore(name string, s Settings) (manage.Store, error) {
	b, ok := Find(name)
	if !ok || b.Store == nil {
		return nil, &UnknownStoreError{Name: name}
	}
	return b.Store(s)
}

// UnknownStoreError names a --backend that cannot manage secrets.
type UnknownStoreError struct{ Name string }

func (e *UnknownStoreError) Error() string {
	return fmt.Sprintf("%q: unknown secret store (known: %s)", e.Name, strings.Join(Stores(), ", "))
}
