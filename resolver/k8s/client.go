package k8s

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/httpc"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/version"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
)

// Response size limits. A Secret holds at most 1 MiB of data, which is
// about 1.4 MiB in base64; metadata (a kubectl apply annotation repeats the
// data) can double it.
const (
	maxObject = 8 << 20
	maxList   = 64 << 20
)

// DefaultRetry is the policy of every call: four tries, each bounded by the
// per-call timeout, 200 ms backoff doubling to 2 s, all inside the run's
// overall deadline.
var DefaultRetry = resolver.RetryPolicy{Attempts: 4, Timeout: 5 * time.Second, Base: 200 * time.Millisecond, Max: 2 * time.Second}

// HTTP statuses the client and its callers tell apart.
const (
	statusUnauthorized    = 401
	statusForbidden       = 403
	statusNotFound        = 404
	statusConflict        = 409
	statusTooManyRequests = 429
)

// Client makes the few calls the shim needs of the core/v1 Secrets API, over
// one keep-alive HTTP/1.1 client whose lookups are pipelined (internal/httpc:
// net/http's package initialisation would cost every container start). It is
// safe for concurrent use.
//
// No error it returns holds a response body: a Secret's body is its value,
// and an API server's message is never shown. Errors give the HTTP status
// and the Status reason (a fixed word such as Forbidden) instead.
type Client struct {
	conn   *Conn
	http   *httpc.Client
	policy resolver.RetryPolicy
	agent  string
}

// NewClient makes a client for conn, its calls retried under policy.
func NewClient(conn *Conn, policy resolver.RetryPolicy) *Client {
	return &Client{
		conn: conn,
		http: &httpc.Client{
			TLS:         conn.TLS,
			Proxy:       httpc.FromEnvironment(os.Getenv),
			DialTimeout: 10 * time.Second,
			// A run's lookups start together: two connections, each with a
			// queue of GETs, rather than a dial and a handshake each.
			MaxConnsPerHost: 2,
			OnDial:          conn.OnDial,
		},
		policy: policy,
		agent:  "flyte-entrypoint/" + version.String(),
	}
}

// Close drops the idle connections.
func (c *Client) Close() { c.http.CloseIdle() }

// Conn is the connection the client uses.
func (c *Client) Conn() *Conn { return c.conn }

// APIError is an answer other than 2xx.
type APIError struct {
	Code   int
	Reason string // the Status reason, e.g. "Forbidden"; "" when none came
}

func (e *APIError) Error() string {
	s := strconv.Itoa(e.Code) + " " + httpc.StatusText(e.Code)
	if e.Reason != "" && e.Reason != strings.ReplaceAll(httpc.StatusText(e.Code), " ", "") {
		s += " (" + e.Reason + ")"
	}
	return s
}

// StatusOf is the HTTP status of err, 0 when it is not an API answer.
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}

// Secret is the part of a core/v1 Secret the shim reads and writes.
type Secret struct {
	APIVersion string            `json:"apiVersion,omitempty"`
	Kind       string            `json:"kind,omitempty"`
	Metadata   Metadata          `json:"metadata"`
	Type       string            `json:"type,omitempty"`
	Data       map[string][]byte `json:"data,omitempty"`
}

// Metadata is the part of ObjectMeta the shim reads and writes.
type Metadata struct {
	Name              string            `json:"name,omitempty"`
	Namespace         string            `json:"namespace,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	CreationTimestamp *time.Time        `json:"creationTimestamp,omitempty"`
}

type secretList struct {
	Metadata struct {
		Continue string `json:"continue"`
	} `json:"metadata"`
	Items []Secret `json:"items"`
}

func secretPath(ns, name string) string {
	p := "/api/v1/namespaces/" + url.PathEscape(ns) + "/secrets"
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// Get reads one Secret from the API server's watch cache
// (resourceVersion=0), which spares etcd at container start and may lag a
// write by a moment. A missing one is an *APIError with Code 404.
func (c *Client) Get(ctx context.Context, ns, name string) (*Secret, error) {
	return c.get(ctx, ns, name, url.Values{"resourceVersion": {"0"}})
}

// GetLatest reads one Secret as etcd has it now (a quorum read), for the
// secret commands: `get secret` right after `create secret` must find it.
func (c *Client) GetLatest(ctx context.Context, ns, name string) (*Secret, error) {
	return c.get(ctx, ns, name, nil)
}

func (c *Client) get(ctx context.Context, ns, name string, q url.Values) (*Secret, error) {
	var s Secret
	if err := c.call(ctx, "GET", secretPath(ns, name), q, nil, &s, maxObject, true); err != nil {
		return nil, err
	}
	return &s, nil
}

// Create writes a new Secret; one that exists is an *APIError with Code 409.
// A create is retried only when the server cannot have taken it: a refused
// connection or a 429.
func (c *Client) Create(ctx context.Context, s *Secret) (*Secret, error) {
	body, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	defer clear(body)
	var out Secret
	if err := c.call(ctx, "POST", secretPath(s.Metadata.Namespace, ""), nil, body, &out, maxObject, false); err != nil {
		return nil, err
	}
	return &out, nil
}

// Delete removes one Secret. A missing one is an *APIError with Code 404.
func (c *Client) Delete(ctx context.Context, ns, name string) error {
	return c.call(ctx, "DELETE", secretPath(ns, name), nil, nil, nil, maxObject, true)
}

// List reads one page of the Secrets of ns that selector selects.
func (c *Client) List(ctx context.Context, ns, selector string, limit int, cont string) ([]Secret, string, error) {
	q := url.Values{}
	if selector != "" {
		q.Set("labelSelector", selector)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cont != "" {
		q.Set("continue", cont)
	}
	var l secretList
	if err := c.call(ctx, "GET", secretPath(ns, ""), q, nil, &l, maxList, true); err != nil {
		return nil, "", err
	}
	return l.Items, l.Metadata.Continue, nil
}

// call makes one API call under the retry policy and decodes a 2xx answer
// into out. idempotent says every transient failure may be retried; else
// only the ones the server cannot have acted on.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, body []byte, out any, limit int64, idempotent bool) error {
	u := *c.conn.Server
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath = ""
	if q != nil {
		u.RawQuery = q.Encode()
	}
	target := u.String()
	refreshed := false
	_, _, err := c.policy.Do(ctx, func(ctx context.Context) (v secret.Value, err error) {
		for {
			err = c.once(ctx, method, target, body, out, limit, idempotent)
			// A 401 is never retried with the same credentials; a token
			// that changed since (a rotated file, an exec plugin's new
			// token) gets one more try.
			if StatusOf(err) == statusUnauthorized && c.conn.Refresh != nil && !refreshed {
				refreshed = true
				if c.conn.Refresh(ctx) {
					continue
				}
			}
			if !idempotent && resolver.IsTransient(err) && !neverSent(err) {
				return v, errors.Unwrap(err)
			}
			return v, err
		}
	})
	return err
}

// neverSent reports whether a transient failure happened before the server
// could act on the request.
func neverSent(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || StatusOf(err) == statusTooManyRequests
}

func (c *Client) once(ctx context.Context, method, target string, body []byte, out any, limit int64, idempotent bool) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	tok, err := c.conn.Token(ctx)
	if err != nil {
		return err
	}
	req := &httpc.Request{Method: method, URL: u, Body: body, Idempotent: idempotent, Limit: limit}
	if tok != "" {
		req.Header = append(req.Header, httpc.Field{Name: "Authorization", Value: "Bearer " + tok})
	}
	req.Header = append(req.Header, httpc.Field{Name: "Accept", Value: "application/json"}, httpc.Field{Name: "User-Agent", Value: c.agent})
	if body != nil {
		req.Header = append(req.Header, httpc.Field{Name: "Content-Type", Value: "application/json"})
	}
	resp, err := c.http.Do(ctx, req)
	if errors.Is(err, httpc.ErrTooLarge) {
		return fmt.Errorf("the API server's answer is larger than %d bytes", limit)
	}
	if err != nil {
		return transportError(ctx, err)
	}
	data := resp.Body
	defer clear(data) // it may hold values, in base64
	if resp.StatusCode/100 != 2 {
		ae := &APIError{Code: resp.StatusCode, Reason: statusReason(data)}
		if resp.StatusCode == statusTooManyRequests || resp.StatusCode >= 500 {
			return resolver.TransientAfter(ae, retryAfter(resp.Get("Retry-After")))
		}
		return ae
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return errors.New("the API server's answer is not the JSON expected") // never the body
	}
	return nil
}

// statusReason is a Status object's reason when it is one plain word; the
// message is never read, since it is the server's text.
func statusReason(body []byte) string {
	var st struct {
		Kind   string `json:"kind"`
		Reason string `json:"reason"`
	}
	if json.Unmarshal(body, &st) != nil || st.Kind != "Status" || len(st.Reason) > 64 {
		return ""
	}
	for _, r := range st.Reason {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return ""
		}
	}
	return st.Reason
}

// retryAfter reads Retry-After in seconds (the form API servers send),
// capped at a minute.
func retryAfter(h string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(h))
	if err != nil || n <= 0 {
		return 0
	}
	return min(time.Duration(n)*time.Second, time.Minute)
}

// transportError sorts a failure to get an answer: a certificate the client
// does not trust is final; a refused or reset connection, or a try that ran
// out of time, may pass.
func transportError(ctx context.Context, err error) error {
	var (
		unknownCA *x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &verify):
		return fmt.Errorf("TLS: the API server's certificate is not trusted: %w", err)
	case ctx.Err() != nil:
		return resolver.Transient(fmt.Errorf("no answer in time: %w", ctx.Err()))
	}
	return resolver.Transient(err)
}
