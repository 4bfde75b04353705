package inject

import (
	"fmt"
	"github.com/flyte-entrypoint/flyte-entrypoint/spec"
	"strings"
)

// Rule is the check that a Problem failed.
type Rule int

const (
	// RuleReserved: the name is one the loader or the shell interpret.
	RuleReserved Rule = iota + 1
	// RuleBinary: the value is not valid UTF-8, or holds a NUL byte.
	RuleBinary
	// RuleDuplicate: two assignments set the same variable.
	RuleDuplicate
	// RuleBadName: the name is empty or holds '=' or NUL.
	RuleBadName
	// RuleTooLong: NAME=value is longer than execve takes for one variable.
	RuleTooLong
	// RuleTooBig: the whole environment is more than execve takes, and this
	// secret is one of the largest parts of it.
	RuleTooBig
)

// Problem is one refused name use or assignment. It never holds a value.
type Problem struct {
	Rule   Rule
	Name   string // the variable
	Key    string
	Group  string
	Origin string
	Detail string // RuleDuplicate: the other request
	// RuleTooLong and RuleTooBig: the bytes of NAME=value, of the whole
	// environment, and execve's limit.
	Size, Total, Limit int
}

// String is the problem's line in Error.
func (p Problem) String() string {
	switch p.Rule {
	case RuleBinary:
		// Exact text: users search for it.
		return fmt.Sprintf("secret %q has a binary value that is not valid UTF-8 and cannot be set as an environment variable; mount it as a file instead", p.Key)
	case RuleReserved:
		return fmt.Sprintf("%s: environment variable %s is refused: the loader or the shell interpret it (every LD_* name, PATH and HOME); --allow-env %s lets it through",
			spec.Describe(p.Origin, p.Key, p.Group), p.Name, p.Name)
	case RuleDuplicate:
		return fmt.Sprintf("%s: environment variable %s is also set by %s",
			spec.Describe(p.Origin, p.Key, p.Group), p.Name, p.Detail)
	case RuleTooLong:
		return fmt.Sprintf("%s: environment variable %s would be %d bytes, more than the %d that execve takes for one variable; mount it as a file instead",
			spec.Describe(p.Origin, p.Key, p.Group), p.Name, p.Size, p.Limit-1)
	case RuleTooBig:
		return fmt.Sprintf("%s: environment variable %s is %d bytes of an environment of %d, more than the %d that execve takes (a quarter of the stack limit); mount it as a file instead",
			spec.Describe(p.Origin, p.Key, p.Group), p.Name, p.Size, p.Total, p.Limit)
	case RuleBadName:
		return fmt.Sprintf("%s: environment variable name %q is empty or holds '=' or NUL",
			spec.Describe(p.Origin, p.Key, p.Group), p.Name)
	}
	return fmt.Sprintf("%s: environment variable %s: rule %d", spec.Describe(p.Origin, p.Key, p.Group), p.Name, int(p.Rule))
}

// Error lists every refused name use or assignment, one per line. The caller
// maps it to exit 65.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}
