// Command demoseed fills a throwaway local store for `make demo`, through the
// same store library that `create secret` uses. The values are demo values.
//
//	go run ./testdata/demoseed STORE_DIR
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/local"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: demoseed STORE_DIR")
		os.Exit(2)
	}
	store, err := local.Open(os.Args[1])
	check(err)
	org := resolver.Scope{Org: "flyte"}
	proj := resolver.Scope{Org: "flyte", Project: "flytesnacks", Domain: "development"}
	seeds := []struct {
		scope resolver.Scope
		name  string
		value string
	}{
		{org, "openai-key", "sk-demo-org-wide"},
		{proj, "db-password", "demo-password-for-flytesnacks"},
		{org, "db-password", "demo-org-password-not-used"},
		{org, "tls-cert", "-----BEGIN CERTIFICATE-----\nMIIdemo\n-----END CERTIFICATE-----\n"},
	}
	ctx := context.Background()
	for _, s := range seeds {
		m, err := store.Create(ctx, s.scope, s.name, manage.TypeRegular, secret.New([]byte(s.value)))
		check(err)
		fmt.Printf("seeded %-12s org=%s project=%s domain=%s (%d bytes)\n", m.Name, m.Org, m.Project, m.Domain, len(s.value))
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "demoseed:", err)
		os.Exit(1)
	}
}
