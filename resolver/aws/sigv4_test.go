package aws

import (
	"strings"
	"testing"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/httpc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSignKnownVector is the worked example of AWS's SigV4 documentation
// (IAM ListUsers, 2015-08-30T12:36:00Z, the example key).
func TestSignKnownVector(t *testing.T) {
	req, err := newRequest("GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", nil, true, 0)
	require.NoError(t, err)
	setField(req, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	c := Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	sign(req, nil, c, "us-east-1", "iam", time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC))
	assert.Equal(t, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7", field(req, "Authorization"))
}

// field is the value of the header field name, "" when it is not set.
func field(req *httpc.Request, name string) string {
	for _, f := range req.Header {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

func TestCredentialsNeverPrint(t *testing.T) {
	c := Credentials{AccessKeyID: "AKIAEXAMPLEKEYID", SecretAccessKey: "CANARY-secret", SessionToken: "CANARY-token", Source: "environment"}
	for _, s := range []string{c.String(), c.GoString()} {
		assert.NotContains(t, s, "CANARY")
		assert.False(t, strings.Contains(s, "EXAMPLEKEYID"))
	}
}
