package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs moves a command's positional arguments after its flags, so
// that `explain KEY --group G` parses as users expect: urfave/cli v2, like
// Go's flag package, stops at the first positional argument. The task's
// command is not here: it was cut off at "--" before.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
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
	return append(out, tail...)
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
