package suggest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"value", "value", 0},
		{"vaule", "value", 1}, // a swap
		{"secrets", "secret", 1},
		{"creat", "create", 1},
		{"dryrun", "dry-run", 1},
		{"kitten", "sitting", 3},
		{"", "abc", 3},
		{"ca", "abc", 3}, // OSA: no edit of a swapped pair
	} {
		assert.Equal(t, tc.want, distance(tc.a, tc.b), "%q %q", tc.a, tc.b)
		assert.Equal(t, tc.want, distance(tc.b, tc.a), "%q %q", tc.b, tc.a)
	}
}

func TestNearest(t *testing.T) {
	flags := []string{"value", "from-file", "type", "registry", "registries", "reveal"}
	for _, tc := range []struct {
		word, want string
		ok         bool
	}{
		{"vaule", "value", true},
		{"registy", "registry", true},
		{"value", "", false}, // not a typo: the name itself
		{"x", "", false},     // one edit of a one-letter word is no evidence
		{"quux", "", false},
		{"from-fiel", "from-file", true},
	} {
		got, ok := Nearest(tc.word, flags)
		assert.Equal(t, tc.ok, ok, tc.word)
		assert.Equal(t, tc.want, got, tc.word)
	}
	_, ok := Nearest("anything", nil)
	assert.False(t, ok)
}
