package aws

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// FuzzParseShared: any file parses or is refused with a line number, and
// no error holds a value from it.
func FuzzParseShared(f *testing.F) {
	f.Add([]byte("[default]\nregion = us-east-1\naws_secret_access_key = CANARY-k\n"), true)
	f.Add([]byte("[profile a]\nrole_arn = x\nsource_profile = b\ns3 =\n  max_concurrent_requests = 10\n"), true)
	f.Add([]byte("[b]\naws_access_key_id=A\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, config bool) {
		out, err := parseShared(data, config)
		if err != nil {
			assert.True(t, strings.HasPrefix(err.Error(), "line "), err.Error())
			assert.NotContains(t, err.Error(), "CANARY")
			assert.Less(t, len(err.Error()), 100)
			return
		}
		for name, sec := range out {
			assert.NotEmpty(t, name)
			for k := range sec {
				assert.Equal(t, strings.ToLower(k), k)
			}
		}
	})
}

// FuzzErrorCode: from any error answer, the code is one plain word or
// nothing; the message is never taken.
func FuzzErrorCode(f *testing.F) {
	f.Add([]byte(`{"__type":"com.amazonaws#ResourceNotFoundException","message":"CANARY"}`), "")
	f.Add([]byte(`<ErrorResponse><Error><Code>InvalidClientTokenId</Code><Message>CANARY</Message></Error></ErrorResponse>`), "")
	f.Add([]byte(`{}`), "ThrottlingException:http://x")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		c := errorCode(body, header)
		assert.LessOrEqual(t, len(c), 64)
		for _, r := range c {
			assert.True(t, r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_', "%q", c)
		}
		_ = xmlText(body, "Code")
	})
}
