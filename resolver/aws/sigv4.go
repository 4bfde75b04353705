package aws

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/httpc"
)

// Credentials are an AWS access key, with its session token when it is
// temporary. They are never logged: String names only the key id's prefix.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Expires is when temporary credentials stop working; zero for keys
	// that do not expire.
	Expires time.Time
	// Source says where they came from, for messages: "environment",
	// "web identity role arn:…", "profile prod", "IMDS".
	Source string
}

// String never shows the secret key or the token.
func (c Credentials) String() string {
	id := c.AccessKeyID
	if len(id) > 4 {
		id = id[:4] + "…"
	}
	return "credentials " + id + " from " + c.Source
}

// GoString is String, so that %#v shows nothing either.
func (c Credentials) GoString() string { return c.String() }

// sign signs req with Signature Version 4 for service in region, as of
// now. The body must be the exact bytes that will be sent.
func sign(req *httpc.Request, body []byte, c Credentials, region, service string, now time.Time) {
	now = now.UTC()
	amzDate := now.Format("20060102T150405Z")
	day := amzDate[:8]
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	setField(req, "X-Amz-Date", amzDate)
	if c.SessionToken != "" {
		setField(req, "X-Amz-Security-Token", c.SessionToken)
	}
	host := req.URL.Host // the Host field httpc sends

	// The canonical request: method, path, query, headers, signed header
	// names, payload hash.
	names := []string{"host"}
	values := map[string]string{"host": host}
	for _, f := range req.Header {
		lk := strings.ToLower(f.Name)
		if lk == "authorization" || lk == "user-agent" || lk == "content-length" || lk == "host" {
			continue
		}
		v := strings.Join(strings.Fields(f.Value), " ")
		if prev, ok := values[lk]; ok {
			values[lk] = prev + "," + v // repeated fields are one, comma-joined
			continue
		}
		names = append(names, lk)
		values[lk] = v
	}
	sort.Strings(names)
	var canonHeaders strings.Builder
	for _, n := range names {
		canonHeaders.WriteString(n + ":" + values[n] + "\n")
	}
	signed := strings.Join(names, ";")
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	canonical := strings.Join([]string{
		req.Method,
		escapePath(path),
		canonicalQuery(req.URL.Query()),
		canonHeaders.String(),
		signed,
		payload,
	}, "\n")

	scope := day + "/" + region + "/" + service + "/aws4_request"
	crSum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(crSum[:])

	key := hmacSHA256([]byte("AWS4"+c.SecretAccessKey), day)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "aws4_request")
	sig := hex.EncodeToString(hmacSHA256(key, toSign))
	setField(req, "Authorization", "AWS4-HMAC-SHA256 Credential="+c.AccessKeyID+"/"+scope+", SignedHeaders="+signed+", Signature="+sig)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// escapePath escapes each segment of an already escaped path once more,
// as SigV4 wants for every service but S3.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			u = s
		}
		segs[i] = uriEncode(uriEncode(u))
	}
	return strings.Join(segs, "/")
}

// canonicalQuery sorts the query by name, then value, each URI-encoded.
func canonicalQuery(q url.Values) string {
	var parts []string
	for k, vs := range q {
		for _, v := range vs {
			parts = append(parts, uriEncode(k)+"="+uriEncode(v))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "&")
}

// uriEncode is SigV4's URI encoding: everything but A-Z a-z 0-9 - _ . ~ is
// %XX, upper case.
func uriEncode(s string) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	return b.String()
}
