// Package aws reads and manages secrets in AWS Secrets Manager: Flyte 2's
// layout (backend "aws", and the management store), where the SecretId is
// the scoped ID, and Flyte 1's (backend "aws-v1"), where it is the group (an
// ARN prefix) joined to the key.
//
// It signs the few JSON calls it makes with its own SigV4 signer and finds
// credentials with its own providers, not the AWS SDK: the SDK's services
// build endpoint tables and compile regexps at package init, which every
// container start would pay for (docs/aws.md has the figures).
package aws

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/flyte-entrypoint/flyte-entrypoint/internal/log"
	"github.com/flyte-entrypoint/flyte-entrypoint/internal/secret"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// Settings are what a backend or the store is built from.
type Settings struct {
	// Environ is the shim's environment: the AWS_* variables and HOME.
	Environ []string
	// Retry is each call's policy; the zero policy is DefaultRetry.
	Retry resolver.RetryPolicy
	// Parallel bounds the calls in flight; 0 is 32.
	Parallel int
	Logger   *log.Logger
}

// lazyClient makes the client on first use: a run answered by earlier
// backends reads no AWS file and dials nothing.
type lazyClient struct {
	s    Settings
	once sync.Once
	c    *Client
	err  error
}

func (l *lazyClient) get() (*Client, error) {
	l.once.Do(func() {
		p := l.s.Retry
		if p.Attempts == 0 {
			p = DefaultRetry
		}
		l.c, l.err = NewClient(l.s.Environ, p)
	})
	return l.c, l.err
}

func (s Settings) parallel() int {
	if s.Parallel > 0 {
		return s.Parallel
	}
	return 32
}

func (s Settings) logger() *log.Logger {
	if s.Logger == nil {
		return log.Nop()
	}
	return s.Logger
}

// Backend is "aws": Flyte 2's layout. It ignores the group, and a key that
// is not a valid secret name is "not found".
type Backend struct {
	client *lazyClient
	s      Settings
}

var (
	_ resolver.ScopedBackend = (*Backend)(nil)
	_ resolver.Batcher       = (*Backend)(nil)
)

// NewBackend returns the "aws" backend.
func NewBackend(s Settings) *Backend { return &Backend{client: &lazyClient{s: s}, s: s} }

// LookupScoped looks one request up in one scope.
func (b *Backend) LookupScoped(ctx context.Context, ref resolver.Ref, scope resolver.Scope) (secret.Value, error) {
	a := b.LookupBatch(ctx, []resolver.Query{{Ref: ref, Scope: scope}})[0]
	return a.Value, a.Err
}

// LookupBatch reads every SecretId the queries name, each once, in batches.
func (b *Backend) LookupBatch(ctx context.Context, qs []resolver.Query) []resolver.Answer {
	out := make([]resolver.Answer, len(qs))
	ids := make([]string, len(qs))
	for i, q := range qs {
		if !resolver.ValidName(q.Ref.Key) {
			out[i].Err = resolver.NotFound("key %s is not a secret name in Flyte 2's AWS layout (it must match %s)", spec.Quote(q.Ref.Key), resolver.NamePattern)
			continue
		}
		ids[i] = resolver.ScopedID(q.Scope, q.Ref.Key)
	}
	fill(ctx, b.client, b.s, ids, out)
	return out
}

// V1Backend is "aws-v1": Flyte 1's layout, SecretId
// TrimRight(group, ":") + ":" + TrimLeft(key, ":"). A request without a
// group is "not found". It serves env requests as well as files.
type V1Backend struct {
	client *lazyClient
	s      Settings
}

var (
	_ resolver.Backend = (*V1Backend)(nil)
	_ resolver.Batcher = (*V1Backend)(nil)
)

// NewV1Backend returns the "aws-v1" backend.
func NewV1Backend(s Settings) *V1Backend { return &V1Backend{client: &lazyClient{s: s}, s: s} }

// V1SecretID is Flyte 1's SecretId for a group and key.
func V1SecretID(group, key string) string {
	return strings.TrimRight(group, ":") + ":" + strings.TrimLeft(key, ":")
}

// Lookup looks one request up.
func (b *V1Backend) Lookup(ctx context.Context, ref resolver.Ref) (secret.Value, error) {
	a := b.LookupBatch(ctx, []resolver.Query{{Ref: ref}})[0]
	return a.Value, a.Err
}

// LookupBatch reads every SecretId the queries name, each once.
func (b *V1Backend) LookupBatch(ctx context.Context, qs []resolver.Query) []resolver.Answer {
	out := make([]resolver.Answer, len(qs))
	ids := make([]string, len(qs))
	for i, q := range qs {
		switch {
		case q.Ref.Group == "":
			out[i].Err = resolver.NotFoundText("no group: in Flyte 1's AWS layout the group is the SecretId's prefix (an ARN)")
		case len(V1SecretID(q.Ref.Group, q.Ref.Key)) > 2048:
			out[i].Err = resolver.NotFoundText("the SecretId would be longer than 2048 bytes")
		default:
			ids[i] = V1SecretID(q.Ref.Group, q.Ref.Key)
		}
	}
	fill(ctx, b.client, b.s, ids, out)
	return out
}

// regionOfID is the region an ARN SecretId carries; "" for a name.
func regionOfID(id string) string {
	parts := strings.SplitN(id, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" && parts[2] == "secretsmanager" {
		return parts[3]
	}
	return ""
}

// got is one SecretId's read.
type got struct {
	v    *Value
	code string // a per-id batch error code
	err  error  // the call failed
	how  string // "BatchGetSecretValue" or "GetSecretValue"
}

// fill answers out[i] for each non-empty ids[i]: the distinct ids are read
// in batches of MaxBatch per region, in parallel; a batch refused as a
// whole (no permission for BatchGetSecretValue) falls back to one
// GetSecretValue per id.
func fill(ctx context.Context, lc *lazyClient, s Settings, ids []string, out []resolver.Answer) {
	byRegion := map[string][]string{}
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		byRegion[regionOfID(id)] = append(byRegion[regionOfID(id)], id)
	}
	if len(seen) == 0 {
		return
	}
	c, err := lc.get()
	var defRegion string
	if err == nil && len(byRegion[""]) > 0 {
		defRegion, err = c.Region(ctx)
	}
	if err == nil {
		_, err = c.credentials(ctx)
	}
	if err != nil {
		for i, id := range ids {
			if id != "" {
				out[i].Err = err
			}
		}
		return
	}
	results := map[string]got{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.parallel())
	put := func(id string, g got) {
		mu.Lock()
		results[id] = g
		mu.Unlock()
	}
	single := func(region, id string) {
		defer wg.Done()
		sem <- struct{}{}
		defer func() { <-sem }()
		v, err := c.GetSecretValue(ctx, region, id)
		put(id, got{v: v, err: err, how: "GetSecretValue"})
	}
	for r, list := range byRegion {
		region := r
		if region == "" {
			region = defRegion
		}
		for start := 0; start < len(list); start += MaxBatch {
			chunk := list[start:min(start+MaxBatch, len(list))]
			if len(chunk) == 1 {
				wg.Add(1)
				go single(region, chunk[0])
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				vals, errs, err := c.BatchGetSecretValue(ctx, region, chunk)
				<-sem
				if err != nil {
					if refused(err) {
						s.logger().Debug("BatchGetSecretValue refused; reading each secret with GetSecretValue", log.String("region", region), log.Int("secrets", len(chunk)), log.Err(err))
						for _, id := range chunk {
							wg.Add(1)
							go single(region, id)
						}
						return
					}
					for _, id := range chunk {
						put(id, got{err: err, how: "BatchGetSecretValue"})
					}
					return
				}
				answered := map[string]bool{}
				for i := range vals {
					v := &vals[i]
					for _, id := range chunk {
						if id == v.Name || id == v.ARN || (v.ARN != "" && strings.HasPrefix(v.ARN, id+"-") && len(v.ARN) == len(id)+7) {
							put(id, got{v: v, how: "BatchGetSecretValue"})
							answered[id] = true
						}
					}
				}
				for _, e := range errs {
					put(e.SecretID, got{code: e.ErrorCode, how: "BatchGetSecretValue"})
					answered[e.SecretID] = true
				}
				for _, id := range chunk {
					if !answered[id] {
						put(id, got{code: "NoAnswer", how: "BatchGetSecretValue"})
					}
				}
			}()
		}
	}
	wg.Wait()
	cred := c.CredentialSource(ctx)
	for i, id := range ids {
		if id == "" {
			continue
		}
		region := regionOfID(id)
		if region == "" {
			region = defRegion
		}
		out[i] = answer(results[id], id, region, cred)
	}
}

// refused is a batch call that failed as a whole for want of permission or
// support, so that the single calls may still work.
func refused(err error) bool {
	switch CodeOf(err) {
	case "AccessDeniedException", "AccessDenied", "UnknownOperationException", "InvalidAction", "UnrecognizedOperationException":
		return true
	}
	return false
}

// answer turns one read into the answer, with Flyte's words where Flyte
// has them.
func answer(g got, id, region, cred string) resolver.Answer {
	where := fmt.Sprintf("region %s, SecretId %s", region, strconv.Quote(id))
	code := g.code
	if g.err != nil {
		code = CodeOf(g.err)
		if code == "" {
			code = "error" // not an API answer: a transport failure
		}
	}
	detail := where + ": " + g.how
	switch code {
	case "":
	case "ResourceNotFoundException":
		return resolver.Answer{Err: resolver.NotFound("secret %s not found in the secret manager (%s: ResourceNotFoundException)", strconv.Quote(id), where), Detail: detail + " ResourceNotFoundException"}
	case "AccessDeniedException", "AccessDenied":
		return resolver.Answer{Err: fmt.Errorf("secret %s: AccessDeniedException: %s may not read it (%s)", strconv.Quote(id), cred, where), Detail: detail + " AccessDeniedException"}
	case "DecryptionFailure":
		return resolver.Answer{Err: fmt.Errorf("secret %s: DecryptionFailure: Secrets Manager could not decrypt it with its KMS key; %s needs kms:Decrypt on that key, and the key must be enabled (%s)", strconv.Quote(id), cred, where), Detail: detail + " DecryptionFailure"}
	case "ExpiredTokenException", "ExpiredToken", "InvalidSignatureException", "UnrecognizedClientException", "IncompleteSignature", "InvalidClientTokenId", "SignatureDoesNotMatch":
		return resolver.Answer{Err: fmt.Errorf("secret %s: %s: AWS did not accept %s (%s)", strconv.Quote(id), code, cred, where), Detail: detail + " " + code}
	default:
		err := g.err
		if err == nil {
			err = fmt.Errorf("%s", code)
		}
		return resolver.Answer{Err: fmt.Errorf("secret %s failed to be read from secret manager (%s): %w", strconv.Quote(id), where, err), Detail: detail + " failed"}
	}
	b, ok := g.v.Bytes()
	if !ok {
		return resolver.Answer{Err: fmt.Errorf("secret %s read as empty from the secret manager: it has neither SecretString nor SecretBinary (%s)", strconv.Quote(id), where), Detail: detail}
	}
	return resolver.Answer{Value: secret.New(b), Detail: detail + " OK"}
}

// isUTF8 says whether a value is stored as a SecretString.
func isUTF8(b []byte) bool { return utf8.Valid(b) }
