package entry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/flyte-entrypoint/flyte-entrypoint/inject"
	"github.com/flyte-entrypoint/flyte-entrypoint/resolver"
)

// Report is what dry-run prints: one entry a request, and the command. It
// holds lengths, never values.
type Report struct {
	Secrets []ReportEntry `json:"secrets"`
	Command []string      `json:"command"`
}

// ReportScope is a scoped backend's answer.
type ReportScope struct {
	Org     string `json:"org"`
	Project string `json:"project"`
	Domain  string `json:"domain"`
}

// ReportEntry is one request's line. A field that does not apply is null.
type ReportEntry struct {
	Key     string       `json:"key"`
	Group   *string      `json:"group"`
	Target  string       `json:"target"` // env, file or both
	EnvVar  *string      `json:"env_var"`
	Path    *string      `json:"path"` // the logical path
	Backend *string      `json:"backend"`
	Scope   *ReportScope `json:"scope"`
	Status  string       `json:"status"` // ok, missing or error
	Bytes   *int         `json:"bytes"`
	Error   *string      `json:"error"`
	// Lookup is what the answering backend asked and what came back, when
	// it says (k8s: the namespace, the object and the HTTP status).
	Lookup *string `json:"lookup"`
}

// Status values.
const (
	StatusOK      = "ok"
	StatusMissing = "missing"
	StatusError   = "error"
)

func ptr[T any](v T) *T { return &v }

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// NewReport builds the dry-run report from the resolution outcomes.
func NewReport(outs []Outcome, command []string) Report {
	rep := Report{Secrets: make([]ReportEntry, 0, len(outs)), Command: command}
	if rep.Command == nil {
		rep.Command = []string{}
	}
	for _, o := range outs {
		r, res := o.Request, o.Result
		e := ReportEntry{
			Key:    r.Key,
			Group:  nonEmpty(r.Group),
			EnvVar: nonEmpty(r.EnvVar),
			Path:   nonEmpty(r.LogicalPath()),
		}
		switch {
		case r.File && r.EnvVar != "" && !r.EnvIsPath:
			e.Target = "both"
		case r.File:
			e.Target = "file"
		default:
			e.Target = "env"
		}
		switch {
		case res.Found:
			e.Status = StatusOK
			e.Backend = nonEmpty(res.Backend)
			e.Bytes = ptr(res.Value.Len())
			if n := len(res.Trail); n > 0 {
				e.Lookup = nonEmpty(res.Trail[n-1].Detail)
			}
			if res.Scope != nil {
				e.Scope = &ReportScope{Org: res.Scope.Org, Project: res.Scope.Project, Domain: res.Scope.Domain}
			}
		case res.Err != nil:
			e.Status = StatusError
			e.Error = ptr(res.Err.Error())
		default:
			e.Status = StatusMissing
			e.Error = ptr("not found (tried " + Tried(res.Trail) + ")")
		}
		rep.Secrets = append(rep.Secrets, e)
	}
	return rep
}

// WriteJSON prints the report as one JSON object.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable prints the report as an aligned table.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tGROUP\tTARGET\tBACKEND\tSCOPE\tSTATUS\tBYTES")
	for _, e := range r.Secrets {
		bytes := "-"
		if e.Bytes != nil {
			bytes = strconv.Itoa(*e.Bytes)
		}
		scope := "-"
		if e.Scope != nil {
			scope = resolver.Scope{Org: e.Scope.Org, Project: e.Scope.Project, Domain: e.Scope.Domain}.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			e.Key, orDash(e.Group), targetCell(e), orDash(e.Backend), scope, e.Status, bytes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range r.Secrets {
		switch {
		case e.Error != nil:
			fmt.Fprintf(w, "%s: %s\n", e.Key, *e.Error)
		case e.Lookup != nil:
			fmt.Fprintf(w, "%s: %s %s\n", e.Key, orDash(e.Backend), *e.Lookup)
		}
	}
	if len(r.Command) > 0 {
		fmt.Fprintf(w, "command: %s\n", strings.Join(quoteAll(r.Command), " "))
	}
	return nil
}

func targetCell(e ReportEntry) string {
	var parts []string
	if e.EnvVar != nil {
		parts = append(parts, "env:"+*e.EnvVar)
	}
	if e.Path != nil {
		parts = append(parts, "file:"+*e.Path)
	}
	return strings.Join(parts, ",")
}

func orDash(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`") {
			a = strconv.Quote(a)
		}
		out[i] = a
	}
	return out
}

// WriteTrail prints the lookup trail of one secret for explain.
func WriteTrail(w io.Writer, key, group string, res resolver.Result) error {
	title := fmt.Sprintf("secret %q", key)
	if group != "" {
		title += fmt.Sprintf(" group %q", group)
	}
	fmt.Fprintln(w, title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, a := range res.Trail {
		scope := "-"
		if a.Scope != nil {
			scope = a.Scope.String()
		}
		line := fmt.Sprintf("  %d.\t%s\t%s\t%s", i+1, a.Backend, scope, a.Outcome)
		if d := a.Reason(); d != "" {
			line += "\t" + d
		} else if a.Detail != "" {
			line += "\t" + a.Detail
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case res.Found:
		where := res.Backend
		if res.Scope != nil {
			where += " " + res.Scope.String()
		}
		_, err := fmt.Fprintf(w, "result: found in %s (%d bytes)\n", where, res.Value.Len())
		return err
	case res.Err != nil:
		_, err := fmt.Fprintf(w, "result: error: %v\n", res.Err)
		return err
	default:
		_, err := fmt.Fprintln(w, "result: not found")
		return err
	}
}

// MarkRefused gives status "error" to the entries whose values the value
// checks (Stage) refused, with the reason: such a start exits 65, so the
// report must not say ok. outs are the outcomes the report was built from.
func (r *Report) MarkRefused(outs []Outcome, err error) {
	var ie *inject.Error
	if !errors.As(err, &ie) {
		return
	}
	for _, p := range ie.Problems {
		for i, o := range outs {
			q := o.Request
			if i < len(r.Secrets) && q.Origin == p.Origin && q.Key == p.Key && q.Group == p.Group {
				r.Secrets[i].Status = StatusError
				r.Secrets[i].Error = ptr(p.String())
			}
		}
	}
}
