package aws

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// Policy is the least access a task's role needs to read its secrets in
// Flyte 2's AWS layout: GetSecretValue on exactly the SecretIds of every
// candidate scope of every request (as ARNs with the six random characters
// Secrets Manager appends), and BatchGetSecretValue, which takes no
// resource of its own.
type Policy struct {
	Region, Account string // "*" when not given
	IDs             []string
	Skipped         []string
}

// NewPolicy lists the SecretIds keys can be read from in the candidate
// scopes of scope. It refuses to make a policy with no SecretId.
func NewPolicy(region, account string, scope resolver.Scope, keys []string) (*Policy, error) {
	if err := scope.Validate(); err != nil {
		return nil, err
	}
	if region == "" {
		region = "*"
	}
	if account == "" {
		account = "*"
	}
	p := &Policy{Region: region, Account: account}
	seen := map[string]bool{}
	for _, k := range keys {
		if !resolver.ValidName(k) {
			p.Skipped = append(p.Skipped, k)
			continue
		}
		for _, sc := range scope.Candidates() {
			id := resolver.ScopedID(sc, k)
			if !seen[id] {
				seen[id] = true
				p.IDs = append(p.IDs, id)
			}
		}
	}
	if len(p.IDs) == 0 {
		return nil, errors.New("no request can be read from aws, so there is nothing to grant")
	}
	sort.Strings(p.IDs)
	return p, nil
}

// ARN is the resource of one SecretId.
func (p *Policy) ARN(id string) string {
	return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-??????", p.Region, p.Account, id)
}

// JSON is the IAM policy document.
func (p *Policy) JSON() ([]byte, error) {
	arns := make([]string, len(p.IDs))
	for i, id := range p.IDs {
		arns[i] = p.ARN(id)
	}
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{
			{"Sid": "ReadTheTasksSecrets", "Effect": "Allow", "Action": []string{"secretsmanager:GetSecretValue"}, "Resource": arns},
			// BatchGetSecretValue is authorised on "*"; each secret it
			// returns still needs GetSecretValue above.
			{"Sid": "BatchReads", "Effect": "Allow", "Action": []string{"secretsmanager:BatchGetSecretValue"}, "Resource": "*"},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

// Notes are the keys left out, for stderr.
func (p *Policy) Notes() []string {
	var out []string
	for _, k := range p.Skipped {
		out = append(out, fmt.Sprintf("key %s is not a valid secret name, so aws never reads it: not granted", spec.Quote(k)))
	}
	return out
}
