package manage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver/manage/managetest"
)

func TestParseType(t *testing.T) {
	for _, s := range []string{"regular", "image_pull"} {
		typ, err := manage.ParseType(s)
		require.NoError(t, err)
		assert.Equal(t, manage.Type(s), typ)
	}
	for _, s := range []string{"", "Regular", "image-pull", "generic"} {
		_, err := manage.ParseType(s)
		assert.True(t, manage.IsInvalid(err), s)
		assert.ErrorContains(t, err, fmt.Sprintf("invalid secret type %q: must be regular or image_pull", s))
	}
}

func TestCheckCreate(t *testing.T) {
	tests := []struct {
		name    string
		scope   resolver.Scope
		key     string
		typ     manage.Type
		wantErr string
	}{
		{name: "org", scope: resolver.Scope{Org: "flyte"}, key: "a-B_9", typ: manage.TypeRegular},
		{name: "project", scope: resolver.Scope{Org: "flyte", Project: "p", Domain: "d"}, key: "k", typ: manage.TypeRegular},
		{name: "image pull, org", scope: resolver.Scope{Org: "flyte"}, key: "k", typ: manage.TypeImagePull},
		{name: "bad name", scope: resolver.Scope{Org: "flyte"}, key: "a b", typ: manage.TypeRegular, wantErr: `invalid secret name "a b": must match ^[-a-zA-Z0-9_]+$`},
		{name: "trailing newline", scope: resolver.Scope{Org: "flyte"}, key: "k\n", typ: manage.TypeRegular, wantErr: `invalid secret name "k\n": must match ^[-a-zA-Z0-9_]+$`},
		{name: "bad type", scope: resolver.Scope{Org: "flyte"}, key: "k", typ: "x", wantErr: `invalid secret type "x": must be regular or image_pull`},
		{name: "project without domain", scope: resolver.Scope{Org: "flyte", Project: "p"}, key: "k", typ: manage.TypeRegular,
			wantErr: `project-scoped secrets must also specify a domain, got project="p" domain=""`},
		{name: "image pull with domain", scope: resolver.Scope{Org: "flyte", Domain: "d"}, key: "k", typ: manage.TypeImagePull,
			wantErr: "Project and domain must not be set when creating an image pull secret."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := manage.CheckCreate(tt.scope, tt.key, tt.typ)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.True(t, manage.IsInvalid(err))
			assert.EqualError(t, err, tt.wantErr, "the text is exact")
		})
	}
}

func TestMetaJSON(t *testing.T) {
	b, err := json.Marshal(manage.Meta{Name: "k", Org: "flyte", Type: manage.TypeRegular, Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"k","org":"flyte","project":"","domain":"","type":"regular","created_time":"2026-01-02T03:04:05Z"}`, string(b))
}

func TestErrorKinds(t *testing.T) {
	base := errors.New("the text")
	assert.True(t, manage.IsInvalid(manage.Invalid(base)))
	assert.False(t, manage.IsExists(manage.Invalid(base)))
	assert.True(t, manage.IsExists(fmt.Errorf("wrapped: %w", manage.Exists(base))))
	assert.EqualError(t, manage.Exists(base), "the text", "the kind does not change the text")
	assert.ErrorIs(t, manage.Invalid(base), base)
	assert.True(t, manage.IsNotFound(resolver.NotFound("gone")))
	assert.False(t, manage.IsNotFound(base))
}

func TestListAllPagesUntilTheEnd(t *testing.T) {
	var tokens []string
	pages := map[string][]string{"": {"a", "b"}, "b": {"c", "d"}, "d": {"e"}}
	next := map[string]string{"": "b", "b": "d", "d": ""}
	s := &managetest.Store{ListFunc: func(_ context.Context, _ resolver.Scope, limit int, token string) ([]manage.Meta, string, error) {
		assert.Equal(t, 2, limit)
		tokens = append(tokens, token)
		var out []manage.Meta
		for _, n := range pages[token] {
			out = append(out, manage.Meta{Name: n})
		}
		return out, next[token], nil
	}}
	items, err := manage.ListAll(context.Background(), s, resolver.Scope{Org: "flyte"}, 2)
	require.NoError(t, err)
	assert.Len(t, items, 5)
	assert.Equal(t, []string{"", "b", "d"}, tokens)

	tokens = nil
	items, err = manage.ListPages(context.Background(), s, resolver.Scope{Org: "flyte"}, 2, 2)
	require.NoError(t, err)
	assert.Len(t, items, 4, "two pages of two")
	assert.Equal(t, []string{"", "b"}, tokens, "no third call")

	stuck := &managetest.Store{ListFunc: func(context.Context, resolver.Scope, int, string) ([]manage.Meta, string, error) {
		return []manage.Meta{{Name: "a"}}, "a", nil
	}}
	_, err = manage.ListAll(context.Background(), stuck, resolver.Scope{Org: "flyte"}, 1)
	assert.ErrorContains(t, err, "twice", "a store that repeats a token is an error, not an endless loop")

	failing := &managetest.Store{ListFunc: func(context.Context, resolver.Scope, int, string) ([]manage.Meta, string, error) {
		return nil, "", errors.New("store down")
	}}
	_, err = manage.ListAll(context.Background(), failing, resolver.Scope{Org: "flyte"}, 1)
	assert.EqualError(t, err, "store down")
}
