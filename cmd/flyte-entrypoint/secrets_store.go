package main

import (
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/local"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
)

// openLocalStore opens the embedded local store (a manage.Store) at dir, or
// at local.DefaultDir() when dir is "". Open refuses a store directory with
// a loose mode or a foreign owner.
func openLocalStore(dir string) (manage.Store, error) {
	if dir == "" {
		d, err := local.DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	s, err := local.Open(dir)
	if err != nil {
		return nil, err // not a nil *local.Store in a non-nil interface
	}
	return s, nil
}
