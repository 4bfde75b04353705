package aws

import (
	"errors"
	"net/url"
	"strings"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/httpc"
)

// newRequest makes a request for internal/httpc, the HTTP/1.1 client the
// backend uses instead of net/http (whose package initialisation every
// container start would pay for). idempotent says it may be pipelined and
// sent again when its connection closes before answering; limit bounds the
// answer's body.
func newRequest(method, rawURL string, body []byte, idempotent bool, limit int64) (*httpc.Request, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, errors.New("not an http or https URL")
	}
	return &httpc.Request{Method: method, URL: u, Body: body, Idempotent: idempotent, Limit: limit}, nil
}

// setField sets the header field name, replacing any of that name.
func setField(req *httpc.Request, name, value string) {
	for i, f := range req.Header {
		if strings.EqualFold(f.Name, name) {
			req.Header[i].Value = value
			return
		}
	}
	req.Header = append(req.Header, httpc.Field{Name: name, Value: value})
}

// newHTTPClient is the backend's one keep-alive client. Its lookups are
// batched, so few go out at once; the ones that do (a fallback to one call
// per secret) queue on up to 16 connections.
func newHTTPClient(getenv func(string) string) *httpc.Client {
	return &httpc.Client{Proxy: httpc.FromEnvironment(getenv), MaxConnsPerHost: 16}
}
