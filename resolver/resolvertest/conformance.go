package resolvertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
)

// Scope is the scope the suite stores secrets in and asks them for.
var Scope = resolver.Scope{Org: "flyte"}

// Canary is part of every value the conformance suite stores. No error
// text, trail or log line may ever hold it.
const Canary = "CANARY-conformance-5b2e"

// Seed is one secret a harness stores before a case.
type Seed struct {
	Group, Key string
	Value      []byte
}

// Harness is how the conformance suite drives one backend.
type Harness struct {
	// Name is the backend's name, as the chain reports it.
	Name string
	// Link stores the seeds through the backend's own medium (the
	// environment, files, a store, a server) and returns the backend's
	// link, built as a run builds it. logger is where the backend logs.
	Link func(t *testing.T, seeds []Seed, logger *log.Logger) resolver.Link
	// Broken returns a link for which looking up key "k" fails with a real
	// error; nil for a backend that cannot fail. The broken medium may hold
	// Canary; the error must not.
	Broken func(t *testing.T, logger *log.Logger) resolver.Link
	// NUL says whether the medium can hold a NUL byte.
	NUL bool
	// Grouped says whether the backend keys secrets by group as well:
	// false for the scoped stores, which ignore the group.
	Grouped bool
	// NoEmpty says the medium cannot hold an empty value (AWS Secrets
	// Manager keeps no version for one).
	NoEmpty bool
}

// BinaryValue is every byte from 1 (or 0, with withNUL) to 255, then Canary.
func BinaryValue(withNUL bool) []byte {
	var b []byte
	if withNUL {
		b = append(b, 0)
	}
	for c := 1; c < 256; c++ {
		b = append(b, byte(c))
	}
	return append(b, Canary...)
}

// HostileKeys are keys no backend may read anything for.
var HostileKeys = []string{"../x", "a/b", "..", ".", "", "x\x00y", "x\ny", "/x", strings.Repeat("x", 300)}

// Conformance runs the cases every backend shares, through a chain of the
// one link, as a run asks it: found, not found, byte-exact binary values,
// empty values, groups, hostile keys, many requests at once, a real error,
// and no canary in any error, trail or log line.
func Conformance(t *testing.T, h Harness) {
	scope := Scope
	type tcase struct {
		name      string
		seeds     []Seed
		ref       resolver.Ref
		needNUL   bool
		empty     bool
		wantFound bool
		wantValue []byte
	}
	tests := []tcase{
		{
			name:      "found",
			seeds:     []Seed{{Key: "api-token", Value: []byte(Canary + "-1")}, {Key: "other", Value: []byte(Canary + "-2")}},
			ref:       resolver.Ref{Key: "api-token"},
			wantFound: true, wantValue: []byte(Canary + "-1"),
		},
		{
			name:  "not found",
			seeds: []Seed{{Key: "other", Value: []byte(Canary)}},
			ref:   resolver.Ref{Key: "missing"},
		},
		{
			name:      "binary value is byte-exact",
			seeds:     []Seed{{Key: "bin", Value: BinaryValue(false)}},
			ref:       resolver.Ref{Key: "bin"},
			wantFound: true, wantValue: BinaryValue(false),
		},
		{
			name:      "binary value with NUL is byte-exact",
			seeds:     []Seed{{Key: "bin", Value: BinaryValue(true)}},
			ref:       resolver.Ref{Key: "bin"},
			needNUL:   true,
			wantFound: true, wantValue: BinaryValue(true),
		},
		{
			name:      "empty value is found",
			seeds:     []Seed{{Key: "empty", Value: []byte{}}},
			ref:       resolver.Ref{Key: "empty"},
			empty:     true,
			wantFound: true, wantValue: []byte{},
		},
		{
			name:      "with a group",
			seeds:     []Seed{{Group: "openai", Key: "api-key", Value: []byte(Canary + "-g")}},
			ref:       resolver.Ref{Key: "api-key", Group: "openai", GroupVersion: "1"},
			wantFound: true, wantValue: []byte(Canary + "-g"),
		},
	}
	for _, key := range HostileKeys {
		tests = append(tests, tcase{
			name:  fmt.Sprintf("hostile key %.20q", key),
			seeds: []Seed{{Key: "x", Value: []byte(Canary)}},
			ref:   resolver.Ref{Key: key},
		})
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needNUL && !h.NUL {
				t.Skipf("%s cannot hold a NUL byte", h.Name)
			}
			if tt.empty && h.NoEmpty {
				t.Skipf("%s cannot hold an empty value", h.Name)
			}
			var logs bytes.Buffer
			logger := log.New(&logs, log.FormatJSON, zapcore.DebugLevel)
			chain := resolver.NewChain([]resolver.Link{h.Link(t, tt.seeds, logger)}, scope, logger.Named("resolver"))
			got := chain.Resolve(context.Background(), tt.ref)
			require.NoError(t, got.Err)
			assert.Equal(t, tt.wantFound, got.Found)
			require.Len(t, got.Trail, 1)
			if tt.wantFound {
				assert.Equal(t, tt.wantValue, got.Value.Bytes())
				assert.Equal(t, h.Name, got.Backend)
				assert.Equal(t, resolver.OutcomeFound, got.Trail[0].Outcome)
			} else {
				assert.Equal(t, 0, got.Value.Len())
				assert.Equal(t, resolver.OutcomeNotFound, got.Trail[0].Outcome)
			}
			AssertNoCanary(t, logs.String(), got)
		})
	}

	t.Run("a group is kept apart, or ignored", func(t *testing.T) {
		var logs bytes.Buffer
		logger := log.New(&logs, log.FormatJSON, zapcore.DebugLevel)
		seeds := []Seed{{Group: "g1", Key: "k", Value: []byte(Canary + "-g1")}}
		chain := resolver.NewChain([]resolver.Link{h.Link(t, seeds, logger)}, scope, logger.Named("resolver"))
		got := chain.Resolve(context.Background(), resolver.Ref{Key: "k", Group: "g2"})
		require.NoError(t, got.Err)
		if h.Grouped {
			assert.False(t, got.Found, "group g2 does not hold g1's secret")
		} else {
			require.True(t, got.Found, "the group plays no part")
			assert.Equal(t, []byte(Canary+"-g1"), got.Value.Bytes())
		}
		AssertNoCanary(t, logs.String(), got)
	})

	t.Run("many requests at once keep their order", func(t *testing.T) {
		var seeds []Seed
		var refs []resolver.Ref
		for i := range 40 {
			key := fmt.Sprintf("many-%02d", i)
			if i%3 != 2 {
				seeds = append(seeds, Seed{Key: key, Value: []byte(fmt.Sprintf("%s-%d", Canary, i))})
			}
			refs = append(refs, resolver.Ref{Key: key})
		}
		var logs bytes.Buffer
		logger := log.New(&logs, log.FormatJSON, zapcore.DebugLevel)
		chain := resolver.NewChain([]resolver.Link{h.Link(t, seeds, logger)}, scope, logger.Named("resolver"))
		results := chain.ResolveAll(context.Background(), refs)
		require.Len(t, results, len(refs))
		for i, got := range results {
			require.NoError(t, got.Err, refs[i].Key)
			if i%3 == 2 {
				assert.False(t, got.Found, refs[i].Key)
				continue
			}
			require.True(t, got.Found, refs[i].Key)
			assert.Equal(t, fmt.Sprintf("%s-%d", Canary, i), string(got.Value.Bytes()))
			AssertNoCanary(t, logs.String(), got)
		}
	})

	t.Run("real error", func(t *testing.T) {
		if h.Broken == nil {
			t.Skipf("%s cannot fail", h.Name)
		}
		var logs bytes.Buffer
		logger := log.New(&logs, log.FormatJSON, zapcore.DebugLevel)
		chain := resolver.NewChain([]resolver.Link{h.Broken(t, logger)}, scope, logger.Named("resolver"))
		got := chain.Resolve(context.Background(), resolver.Ref{Key: "k"})
		require.Error(t, got.Err)
		assert.False(t, resolver.IsNotFound(got.Err))
		assert.False(t, got.Found)
		assert.True(t, strings.HasPrefix(got.Err.Error(), fmt.Sprintf("backend %q: ", h.Name)), got.Err.Error())
		AssertNoCanary(t, logs.String(), got)
	})
}

// AssertNoCanary fails when Canary, or the start of its base64, shows in
// the logs or anywhere in a result but its value.
func AssertNoCanary(t *testing.T, logs string, got resolver.Result) {
	t.Helper()
	b64 := base64.StdEncoding.EncodeToString([]byte(Canary))[:16]
	texts := []string{logs, fmt.Sprintf("%v|%+v|%#v|%s", got, got, got, got.Value)}
	if got.Err != nil {
		texts = append(texts, got.Err.Error())
	}
	for _, a := range got.Trail {
		texts = append(texts, a.Reason(), a.Detail)
	}
	for _, s := range texts {
		assert.NotContains(t, s, Canary)
		assert.NotContains(t, s, b64)
	}
}
