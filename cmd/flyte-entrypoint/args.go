package main

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// reorderArgs moves a command's positional arguments after its flags, so
// that `explain KEY --group G` parses as users expect: urfave/cli v2, like
// Go's flag package, stops at the first positional argument. The task's
// command is not here: it was cut off at "--" before.
func reorderArgs(app *cli.App, args []string) []string {
	out, _ := reorder(app, args)
	return out
}

// reorder is reorderArgs, and also returns the positional arguments it
// moved to the end.
func reorder(app *cli.App, args []string) (out, positional []string) {
	if len(args) < 2 {
		return args, nil
	}
	out = []string{args[0]}
	rest := args[1:]
	flags := app.Flags
	commands := app.Commands
	var tail []string
	for len(rest) > 0 {
		var lead, pos []string
		lead, pos, rest = splitFlags(flags, rest)
		out = append(out, lead...)
		if len(pos) == 0 {
			break
		}
		cmd := findCommand(commands, pos[0])
		if cmd == nil {
			tail = append(tail, pos...)
			continue
		}
		out = append(out, pos[0])
		rest = append(pos[1:], rest...)
		flags, commands = cmd.Flags, cmd.Subcommands
	}
	return append(out, tail...), tail
}

// splitFlags takes leading flags (with their values) off args and the run of
// positional arguments after them.
func splitFlags(flags []cli.Flag, args []string) (lead, pos, rest []string) {
	i := 0
	for i < len(args) {
		a := args[i]
		if !isFlagArg(a) {
			break
		}
		lead = append(lead, a)
		i++
		if !strings.Contains(a, "=") && takesValue(flags, strings.TrimLeft(a, "-")) && i < len(args) {
			lead = append(lead, args[i])
			i++
		}
	}
	j := i
	for j < len(args) && !isFlagArg(args[j]) {
		j++
	}
	return lead, args[i:j], args[j:]
}

func isFlagArg(a string) bool { return len(a) > 1 && a[0] == '-' }

func takesValue(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				if d, ok := f.(cli.DocGenerationFlag); ok {
					return d.TakesValue()
				}
				return false
			}
		}
	}
	return false // unknown flags, and help's -h: urfave reports them
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// parseRun parses the arguments of a start by hand when they are only the
// run command's flags (with "run" or without), and reports whether they
// were. It takes what Go's flag package takes: -name or --name, a value
// after "=" or as the next argument, a bool alone or with "=". Anything else
// (help, another command, an unknown flag, a positional argument, a value
// that does not parse) is left to urfave/cli, which reports it as it always
// does.
//
// It exists for start-up time: every container start runs it, and urfave's
// parse (a flag set, every flag applied, every name looked up) was about a
// third of the instructions a start executes before execve.
func parseRun(args []string, specs []flagSpec) (map[string]flagValues, bool) {
	if len(args) > 0 && args[0] == "run" {
		args = args[1:]
	}
	find := func(name string) *flagSpec {
		for i := range specs {
			if specs[i].name == name || slices.Contains(specs[i].aliases, name) {
				return &specs[i]
			}
		}
		return nil
	}
	p := &parsedFlags{vals: map[string][]string{}}
	given := map[string]flagValues{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, ok := strings.CutPrefix(a, "-")
		if !ok || name == "" {
			return nil, false
		}
		if n, ok := strings.CutPrefix(name, "-"); ok {
			name = n
		}
		if name == "" || name[0] == '-' || name[0] == '=' {
			return nil, false
		}
		name, value, hasValue := strings.Cut(name, "=")
		f := find(name)
		if f == nil {
			return nil, false
		}
		switch {
		case f.kind == kindBool:
			if !hasValue {
				value = "true"
			}
			if _, err := strconv.ParseBool(value); err != nil {
				return nil, false
			}
		case !hasValue:
			if i+1 >= len(args) {
				return nil, false
			}
			i++
			value = args[i]
		}
		if f.kind == kindDuration {
			if _, err := time.ParseDuration(value); err != nil {
				return nil, false
			}
		}
		vals, seen := p.vals[f.name]
		if !seen {
			given[f.name] = p
		}
		if f.kind == kindStrings || f.kind == kindRequests {
			if vals == nil {
				// Room for every flag left, at most: a start with many
				// --secret flags grows it once.
				vals = make([]string, 0, (len(args)-i)/2+1)
			}
			p.vals[f.name] = append(vals, value)
		} else {
			p.vals[f.name] = []string{value} // the last one wins
		}
	}
	return given, true
}

// parsedFlags is parseRun's result, read as urfave's Context is.
type parsedFlags struct{ vals map[string][]string }

func (p *parsedFlags) String(name string) string {
	if v := p.vals[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

func (p *parsedFlags) StringSlice(name string) []string { return p.vals[name] }

func (p *parsedFlags) Duration(name string) time.Duration {
	d, _ := time.ParseDuration(p.String(name))
	return d
}

func (p *parsedFlags) Bool(name string) bool {
	b, _ := strconv.ParseBool(p.String(name))
	return b
}
