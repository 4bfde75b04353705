package aws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/httpc"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/version"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// maxAnswer bounds one answer: a secret is at most 64 KiB, a batch of 20
// is 1.3 MiB in base64, a page of a list is small.
const maxAnswer = 8 << 20

// DefaultRetry is each call's policy: four tries, each bounded by the
// per-call timeout, backoff from 200 ms doubling to 2 s, all inside the run's
// overall deadline.
var DefaultRetry = resolver.RetryPolicy{Attempts: 4, Timeout: 5 * time.Second, Base: 200 * time.Millisecond, Max: 2 * time.Second}

// Client makes the few Secrets Manager calls the shim needs (the JSON
// protocol, signed with SigV4), over one keep-alive HTTP client. No error it
// returns holds an answer's body or a service's message: only the HTTP
// status and the error code (a word such as AccessDeniedException).
type Client struct {
	hc     *httpc.Client
	env    environment
	shared *shared
	policy resolver.RetryPolicy
	agent  string

	credOnce sync.Once
	creds    *cached
	credErr  error

	regionOnce sync.Once
	region     string
	regionErr  error
}

// NewClient reads the environment list and the shared files; credentials
// and the region are found on the first call.
func NewClient(environ []string, policy resolver.RetryPolicy) (*Client, error) {
	e, err := readEnvironment(environ)
	if err != nil {
		return nil, fmt.Errorf("reading the AWS variables: %w", err)
	}
	sh, err := loadShared(e)
	if err != nil {
		return nil, err
	}
	return &Client{hc: newHTTPClient(os.Getenv), env: e, shared: sh, policy: policy, agent: "flyte-entrypoint/" + version.String()}, nil
}

// Close drops the idle connections.
func (c *Client) Close() { c.hc.CloseIdle() }

func (c *Client) credentials(ctx context.Context) (*cached, error) {
	c.credOnce.Do(func() {
		p, err := resolveProvider(c.env, c.hc)
		if err != nil {
			c.credErr = err
			return
		}
		c.creds = &cached{p: p}
	})
	return c.creds, c.credErr
}

// CredentialSource names the credentials in use, for messages.
func (c *Client) CredentialSource(ctx context.Context) string {
	cr, err := c.credentials(ctx)
	if err != nil {
		return "no credentials"
	}
	return cr.p.name()
}

// Region is the region calls go to when the SecretId does not carry one:
// AWS_REGION, AWS_DEFAULT_REGION, the profile's region, then IMDS.
func (c *Client) Region(ctx context.Context) (string, error) {
	c.regionOnce.Do(func() {
		if r := regionOf(c.env, c.shared); r != "" {
			c.region = r
			return
		}
		if !strings.EqualFold(c.env.IMDSDisabled, "true") {
			if r, err := (imds{endpoint: imdsEndpoint(c.env), hc: c.hc}).region(ctx); err == nil && r != "" {
				c.region = r
				return
			}
		}
		c.regionErr = errors.New("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile's region)")
	})
	return c.region, c.regionErr
}

func (c *Client) endpoint(region string) string {
	switch {
	case c.env.EndpointSM != "":
		return strings.TrimSuffix(c.env.EndpointSM, "/")
	case c.env.Endpoint != "":
		return strings.TrimSuffix(c.env.Endpoint, "/")
	}
	return "https://secretsmanager." + region + ".amazonaws.com"
}

// APIError is an answer other than 200.
type APIError struct {
	Status int
	Code   string // the error type, e.g. ResourceNotFoundException; "" when none came
}

func (e *APIError) Error() string {
	s := strconv.Itoa(e.Status) + " " + httpc.StatusText(e.Status)
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	return s
}

// CodeOf is err's error code, "" when it is not an API answer.
func CodeOf(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// transientCode reports whether an answer's error code may pass on another
// try. (A switch, not a map: a map literal is built at every start.)
func transientCode(code string) bool {
	switch code {
	case "ThrottlingException", "Throttling", "TooManyRequestsException",
		"RequestLimitExceeded", "InternalServiceError", "InternalFailure", "ServiceUnavailable":
		return true
	}
	return false
}

// call makes one Secrets Manager call under the retry policy.
func (c *Client) call(ctx context.Context, region, action string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	defer clear(body)
	creds, err := c.credentials(ctx)
	if err != nil {
		return err
	}
	refreshed := false
	_, _, err = c.policy.Do(ctx, func(ctx context.Context) (secret.Value, error) {
		for {
			cr, err := creds.get(ctx)
			if err != nil {
				return secret.Value{}, err
			}
			err = c.once(ctx, region, action, body, out, cr)
			if code := CodeOf(err); (code == "ExpiredTokenException" || code == "ExpiredToken") && !refreshed {
				refreshed = true // temporary credentials that expired early: get new ones once
				creds.invalidate()
				continue
			}
			return secret.Value{}, err
		}
	})
	return err
}

func (c *Client) once(ctx context.Context, region, action string, body []byte, out any, cr Credentials) error {
	req, err := newRequest("POST", c.endpoint(region)+"/", body, readAction(action), maxAnswer)
	if err != nil {
		return fmt.Errorf("the Secrets Manager endpoint %s: %w", spec.Quote(c.endpoint(region)), err)
	}
	setField(req, "Content-Type", "application/x-amz-json-1.1")
	setField(req, "X-Amz-Target", "secretsmanager."+action)
	sign(req, body, cr, region, "secretsmanager", time.Now())
	setField(req, "User-Agent", c.agent)
	resp, err := c.hc.Do(ctx, req)
	if errors.Is(err, httpc.ErrTooLarge) {
		return fmt.Errorf("%s: the answer is larger than %d bytes", action, maxAnswer)
	}
	if err != nil {
		return resolver.Transient(fmt.Errorf("%s: %w", action, err))
	}
	data := resp.Body
	defer clear(data)
	if resp.StatusCode != 200 {
		ae := &APIError{Status: resp.StatusCode, Code: errorCode(data, resp.Get("X-Amzn-ErrorType"))}
		if resp.StatusCode == 429 || resp.StatusCode >= 500 || transientCode(ae.Code) {
			return resolver.Transient(ae)
		}
		return ae
	}
	if out != nil && json.Unmarshal(data, out) != nil {
		return fmt.Errorf("%s: the answer is not the JSON expected", action) // never the body
	}
	return nil
}

// readAction reports whether a call changes nothing: such calls are
// pipelined, and sent again when their connection closes before answering.
func readAction(action string) bool {
	switch action {
	case "GetSecretValue", "BatchGetSecretValue", "DescribeSecret", "ListSecrets":
		return true
	}
	return false
}

// errorCode is the error type of a JSON-protocol error ("__type", perhaps
// with a namespace before '#'), when it is one plain word; the message is
// never read.
func errorCode(body []byte, header string) string {
	var v struct {
		Type string `json:"__type"`
		Code string `json:"code"`
	}
	_ = json.Unmarshal(body, &v)
	code := v.Type
	if code == "" {
		code = v.Code
	}
	if code == "" {
		code, _, _ = strings.Cut(header, ":")
	}
	if code == "" {
		code = xmlText(body, "Code") // some answers (auth failures) come in the query protocol's XML
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if w := word(code); w != "" {
		return code
	}
	return ""
}

// Value is a secret version as GetSecretValue and BatchGetSecretValue give
// it.
type Value struct {
	ARN          string  `json:"ARN"`
	Name         string  `json:"Name"`
	SecretString *string `json:"SecretString"`
	SecretBinary []byte  `json:"SecretBinary"`
	CreatedDate  float64 `json:"CreatedDate"`
}

// Bytes is SecretString when there is one, else SecretBinary; ok is false
// when there is neither.
func (v *Value) Bytes() (b []byte, ok bool) {
	if v.SecretString != nil {
		return []byte(*v.SecretString), true
	}
	if v.SecretBinary != nil {
		return v.SecretBinary, true
	}
	return nil, false
}

// GetSecretValue reads one secret's AWSCURRENT version.
func (c *Client) GetSecretValue(ctx context.Context, region, id string) (*Value, error) {
	var v Value
	err := c.call(ctx, region, "GetSecretValue", map[string]string{"SecretId": id, "VersionStage": "AWSCURRENT"}, &v)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// BatchError is one SecretId that a batch could not read.
type BatchError struct {
	SecretID  string `json:"SecretId"`
	ErrorCode string `json:"ErrorCode"`
}

// MaxBatch is the most SecretIds BatchGetSecretValue takes in one call.
const MaxBatch = 20

// BatchGetSecretValue reads up to MaxBatch secrets' AWSCURRENT versions.
func (c *Client) BatchGetSecretValue(ctx context.Context, region string, ids []string) ([]Value, []BatchError, error) {
	var out struct {
		SecretValues []Value      `json:"SecretValues"`
		Errors       []BatchError `json:"Errors"`
	}
	if err := c.call(ctx, region, "BatchGetSecretValue", map[string]any{"SecretIdList": ids}, &out); err != nil {
		return nil, nil, err
	}
	return out.SecretValues, out.Errors, nil
}

// Tag is a secret's tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// Described is what DescribeSecret and ListSecrets say of a secret.
type Described struct {
	ARN         string  `json:"ARN"`
	Name        string  `json:"Name"`
	CreatedDate float64 `json:"CreatedDate"`
	DeletedDate float64 `json:"DeletedDate"` // set once a delete is scheduled
	Tags        []Tag   `json:"Tags"`
}

// Created is CreatedDate as a time.
func (d Described) Created() time.Time { return epoch(d.CreatedDate) }

func epoch(f float64) time.Time {
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
}

// CreateSecret makes a new secret with value as its first version: a
// SecretString when it is UTF-8, else a SecretBinary. The request token
// makes a retry of the same create safe.
func (c *Client) CreateSecret(ctx context.Context, region, name string, value []byte, utf8 bool, tags []Tag) (*Described, error) {
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	in := map[string]any{"Name": name, "Tags": tags, "ClientRequestToken": hex.EncodeToString(tok)}
	if utf8 {
		in["SecretString"] = string(value)
	} else {
		in["SecretBinary"] = value
	}
	var out Described
	if err := c.call(ctx, region, "CreateSecret", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DescribeSecret reads a secret's metadata.
func (c *Client) DescribeSecret(ctx context.Context, region, id string) (*Described, error) {
	var out Described
	if err := c.call(ctx, region, "DescribeSecret", map[string]string{"SecretId": id}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListSecrets reads one page of the secrets whose names start with prefix.
func (c *Client) ListSecrets(ctx context.Context, region, prefix string, limit int, token string) ([]Described, string, error) {
	in := map[string]any{"Filters": []map[string]any{{"Key": "name", "Values": []string{prefix}}}}
	if limit > 0 {
		in["MaxResults"] = min(limit, 100)
	}
	if token != "" {
		in["NextToken"] = token
	}
	var out struct {
		SecretList []Described `json:"SecretList"`
		NextToken  string      `json:"NextToken"`
	}
	if err := c.call(ctx, region, "ListSecrets", in, &out); err != nil {
		return nil, "", err
	}
	return out.SecretList, out.NextToken, nil
}

// DeleteSecret deletes a secret: at once with now, else after the default
// recovery window (30 days).
func (c *Client) DeleteSecret(ctx context.Context, region, id string, now bool) error {
	in := map[string]any{"SecretId": id}
	if now {
		in["ForceDeleteWithoutRecovery"] = true
	}
	return c.call(ctx, region, "DeleteSecret", in, nil)
}
