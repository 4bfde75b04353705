package resolver

import (
	"fmt"
	"strings"

	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
)

// Scope is where a secret belongs: an org, and optionally a project and a
// domain. A project always comes with a domain.
type Scope struct{ Org, Project, Domain string }

// idPattern is the rule for Flyte project and domain ids, applied to every
// non-empty scope part. It has no "_", so the parts of a ScopedID can never
// run into each other.
const idPattern = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`

// validID applies idPattern by hand: a regexp compiled at package init
// costs start-up time in every task container.
func validID(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Validate checks the scope's shape: a project needs a domain (checked
// first), and each non-empty part is a Flyte id. Errors name the part and the rule.
func (s Scope) Validate() error {
	if s.Project != "" && s.Domain == "" {
		return fmt.Errorf("project-scoped secrets must also specify a domain, got project=%s domain=%s", spec.Quote(s.Project), spec.Quote(s.Domain))
	}
	for _, p := range []struct{ name, v string }{{"org", s.Org}, {"project", s.Project}, {"domain", s.Domain}} {
		if p.v != "" && !validID(p.v) {
			return fmt.Errorf("invalid %s %s: must match %s", p.name, spec.Quote(p.v), idPattern)
		}
	}
	return nil
}

// Candidates lists the scopes a scoped backend is asked, most specific first:
// project+domain, then domain only, then the org. With only a domain it is
// domain then org; with neither it is the org alone. A project without a
// domain is not a scope (see Validate): Candidates then returns nil.
func (s Scope) Candidates() []Scope {
	switch {
	case s.Project != "" && s.Domain != "":
		return []Scope{s, {Org: s.Org, Domain: s.Domain}, {Org: s.Org}}
	case s.Project != "":
		return nil
	case s.Domain != "":
		return []Scope{s, {Org: s.Org}}
	default:
		return []Scope{{Org: s.Org}}
	}
}

// String is the one way a scope is printed, in logs, errors, dry-run and
// explain: "flyte" for an org, "flyte/-/development" for a domain of it
// (no project), "flyte/flytesnacks/development" for a project and domain.
func (s Scope) String() string {
	if s.Project == "" && s.Domain == "" {
		return s.Org
	}
	project := s.Project
	if project == "" {
		project = "-"
	}
	return s.Org + "/" + project + "/" + s.Domain
}

// ScopedID is Flyte's id of a scoped secret:
// u__org__<org>__domain__<domain>__project__<project>__key__<name>, with an
// empty part left empty.
func ScopedID(s Scope, name string) string {
	return "u__org__" + s.Org + "__domain__" + s.Domain + "__project__" + s.Project + "__key__" + name
}

// NamePattern is the rule for a secret's name in the scoped stores (local,
// k8s, aws), as Flyte's secret manager has it.
const NamePattern = `^[-a-zA-Z0-9_]+$`

// ValidName applies NamePattern by hand: a regexp compiled at package init
// costs start-up time in every task container.
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ParseScopedID splits a ScopedID into its scope and name. It reports false
// for anything ScopedID cannot have made from a valid scope and name.
func ParseScopedID(id string) (Scope, string, bool) {
	rest, ok := strings.CutPrefix(id, "u__org__")
	if !ok {
		return Scope{}, "", false
	}
	var s Scope
	var parts [3]string
	for i, sep := range []string{"__domain__", "__project__", "__key__"} {
		j := strings.Index(rest, sep)
		if j < 0 {
			return Scope{}, "", false
		}
		parts[i], rest = rest[:j], rest[j+len(sep):]
	}
	s.Org, s.Domain, s.Project = parts[0], parts[1], parts[2]
	if s.Org == "" || s.Validate() != nil || !ValidName(rest) || ScopedID(s, rest) != id {
		return Scope{}, "", false
	}
	return s, rest, true
}

// Selects reports whether a List over s includes a secret of scope t, as
// Flyte's ListSecrets selects: the same org; with a domain, only that
// domain (its project-scoped secrets included); with a project, only that
// project.
func (s Scope) Selects(t Scope) bool {
	return t.Org == s.Org && (s.Domain == "" || t.Domain == s.Domain) && (s.Project == "" || t.Project == s.Project)
}
