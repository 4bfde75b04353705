package aws_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/awstest"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage/managetest"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/registry"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/resolvertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	awstest.Shutdown()
	os.Exit(code)
}

// link builds an aws link as a run builds it.
func link(t *testing.T, backend string, environ []string, values map[string]string, logger *log.Logger) resolver.Link {
	t.Helper()
	links, err := registry.Build([]string{backend}, registry.Settings{Environ: environ, Values: values, Logger: logger})
	require.NoError(t, err)
	return links[0]
}

func openStore(t *testing.T, environ []string) manage.Store {
	t.Helper()
	st, err := registry.OpenStore("aws", registry.Settings{Environ: environ})
	require.NoError(t, err)
	return st
}

func TestConformance(t *testing.T) {
	m := awstest.Start(t)
	resolvertest.Conformance(t, resolvertest.Harness{
		Name:    "aws",
		NUL:     true,
		NoEmpty: true,
		Link: func(t *testing.T, seeds []resolvertest.Seed, logger *log.Logger) resolver.Link {
			m.Reset(t)
			st := openStore(t, m.Env())
			for _, s := range seeds {
				_, err := st.Create(context.Background(), resolvertest.Scope, s.Key, manage.TypeRegular, secret.New(s.Value))
				require.NoError(t, err)
			}
			return link(t, "aws", m.Env(), nil, logger)
		},
		Broken: func(t *testing.T, logger *log.Logger) resolver.Link {
			// The secret is there, but the key cannot sign: a real error,
			// not "not found", once moto checks signatures.
			m.Reset(t)
			_, err := openStore(t, m.Env()).Create(context.Background(), resolvertest.Scope, "k", manage.TypeRegular, secret.New([]byte(resolvertest.Canary)))
			require.NoError(t, err)
			m.EnforceAuth(t)
			t.Cleanup(func() { m.Reset(t) })
			return link(t, "aws", m.Env(), nil, logger)
		},
	})
}

func TestStoreConformance(t *testing.T) {
	m := awstest.Start(t)
	managetest.Conformance(t, func(t *testing.T) manage.Store {
		m.Reset(t)
		return openStore(t, m.Env())
	})
}
