package secret

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValueNeverPrintsItsBytes(t *testing.T) {
	const canary = "CANARY-value-7f3a"
	v := New([]byte(canary))
	j, err := json.Marshal(struct{ V Value }{v})
	assert.NoError(t, err)
	outs := []string{
		v.String(), v.GoString(), string(j),
		fmt.Sprintf("%v %+v %#v %s %q %x %X %d", v, v, v, v, v, v, v, v),
		fmt.Sprint(v), fmt.Sprintf("%v", []Value{v}), fmt.Sprintf("%+v", struct{ V Value }{v}),
	}
	for _, o := range outs {
		assert.NotContains(t, o, canary)
		assert.NotContains(t, strings.ToLower(o), "43414e415259") // hex of "CANARY", in case of %x leaks
		assert.Contains(t, o, "redacted 17 bytes")
	}
	assert.Equal(t, canary, string(v.Bytes()))
	assert.Equal(t, 17, v.Len())
}
