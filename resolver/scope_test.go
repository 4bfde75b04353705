package resolver_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
)

func TestCandidates(t *testing.T) {
	tests := []struct {
		name  string
		scope resolver.Scope
		want  []resolver.Scope
	}{
		{
			name:  "project and domain",
			scope: resolver.Scope{Org: "flyte", Project: "p", Domain: "d"},
			want:  []resolver.Scope{{Org: "flyte", Project: "p", Domain: "d"}, {Org: "flyte", Domain: "d"}, {Org: "flyte"}},
		},
		{
			name:  "domain only",
			scope: resolver.Scope{Org: "flyte", Domain: "d"},
			want:  []resolver.Scope{{Org: "flyte", Domain: "d"}, {Org: "flyte"}},
		},
		{
			name:  "org only",
			scope: resolver.Scope{Org: "flyte"},
			want:  []resolver.Scope{{Org: "flyte"}},
		},
		{
			name:  "empty org",
			scope: resolver.Scope{},
			want:  []resolver.Scope{{}},
		},
		{
			name:  "project without domain is no scope",
			scope: resolver.Scope{Org: "flyte", Project: "p"},
			want:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.scope.Candidates())
		})
	}
}

func TestScopedID(t *testing.T) {
	tests := []struct {
		name   string
		scope  resolver.Scope
		secret string
		want   string
	}{
		{name: "org only", scope: resolver.Scope{Org: "flyte"}, secret: "k", want: "u__org__flyte__domain____project____key__k"},
		{name: "domain", scope: resolver.Scope{Org: "flyte", Domain: "development"}, secret: "k",
			want: "u__org__flyte__domain__development__project____key__k"},
		{name: "project and domain", scope: resolver.Scope{Org: "o", Project: "p", Domain: "d"}, secret: "my-key_1",
			want: "u__org__o__domain__d__project__p__key__my-key_1"},
		{name: "all empty", scope: resolver.Scope{}, secret: "k", want: "u__org____domain____project____key__k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, resolver.ScopedID(tt.scope, tt.secret))
		})
	}
}

func TestScopeValidate(t *testing.T) {
	tests := []struct {
		name    string
		scope   resolver.Scope
		wantErr string
	}{
		{name: "org only", scope: resolver.Scope{Org: "flyte"}},
		{name: "empty org", scope: resolver.Scope{}},
		{name: "full", scope: resolver.Scope{Org: "my-org", Project: "flytesnacks", Domain: "development"}},
		{name: "project without domain", scope: resolver.Scope{Org: "flyte", Project: "P"},
			wantErr: `project-scoped secrets must also specify a domain, got project="P" domain=""`},
		{name: "upper-case project", scope: resolver.Scope{Org: "flyte", Project: "P", Domain: "d"},
			wantErr: `invalid project "P": must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`},
		{name: "underscore in domain", scope: resolver.Scope{Org: "flyte", Domain: "a_b"},
			wantErr: `invalid domain "a_b": must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`},
		{name: "trailing hyphen in org", scope: resolver.Scope{Org: "flyte-"},
			wantErr: `invalid org "flyte-": must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`},
		{name: "trailing newline", scope: resolver.Scope{Org: "flyte\n"},
			wantErr: `invalid org "flyte\n": must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.scope.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.EqualError(t, err, tt.wantErr)
		})
	}
}

func TestScopeString(t *testing.T) {
	assert.Equal(t, "flyte", resolver.Scope{Org: "flyte"}.String())
	assert.Equal(t, "flyte/p/d", resolver.Scope{Org: "flyte", Project: "p", Domain: "d"}.String())
	assert.Equal(t, "flyte/-/d", resolver.Scope{Org: "flyte", Domain: "d"}.String())
}

func TestNotFound(t *testing.T) {
	err := resolver.NotFound("no file %q", "/x/y")
	assert.True(t, resolver.IsNotFound(err))
	assert.EqualError(t, err, `no file "/x/y"`)
	assert.False(t, resolver.IsNotFound(nil))
	assert.False(t, resolver.IsNotFound(assert.AnError))
}

// FuzzParseScopedID: ParseScopedID accepts exactly what ScopedID makes from
// a valid scope and name, and gives back that scope and name.
func FuzzParseScopedID(f *testing.F) {
	f.Add("u__org__flyte__domain__development__project__flytesnacks__key__db_pass")
	f.Add("u__org__flyte__domain____project____key__k")
	f.Add("u__org__flyte__domain____project__p__key__k")
	f.Add("u__org____domain____project____key__k")
	f.Fuzz(func(t *testing.T, id string) {
		s, name, ok := resolver.ParseScopedID(id)
		if !ok {
			return
		}
		if s.Validate() != nil || !resolver.ValidName(name) || resolver.ScopedID(s, name) != id {
			t.Fatalf("%q parsed as %+v %q", id, s, name)
		}
	})
}

func TestParseScopedID(t *testing.T) {
	for _, s := range []resolver.Scope{{Org: "flyte"}, {Org: "flyte", Domain: "d"}, {Org: "acme", Project: "p-1", Domain: "d"}} {
		for _, name := range []string{"k", "a__key__b", "x_y-z"} {
			got, n, ok := resolver.ParseScopedID(resolver.ScopedID(s, name))
			if !ok || got != s || n != name {
				t.Errorf("%s %q: got %+v %q %v", s, name, got, n, ok)
			}
		}
	}
	for _, bad := range []string{"", "u__org__flyte", "u__org__flyte__domain____project__p__key__k", "u__org____domain____project____key__k", "x__org__flyte__domain____project____key__k", "u__org__flyte__domain____project____key__bad.name"} {
		if _, _, ok := resolver.ParseScopedID(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}
