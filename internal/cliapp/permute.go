package cliapp

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// Permute reorders a command line so that flags may stand before or after
// positional arguments, as users expect: urfave/cli v2 stops parsing flags
// at the first positional argument. Global flags given after the command
// move in front of it. Everything after "--" stays as it is, in place.
func Permute(app *cli.App, argv []string) []string {
	if len(argv) < 2 {
		return argv
	}
	out := []string{argv[0]}
	rest := argv[1:]

	// Global flags before the command.
	i := 0
	for i < len(rest) && isFlag(rest[i]) {
		n := flagArity(app.Flags, rest[i])
		out = append(out, rest[i:min(i+1+n, len(rest))]...)
		i += 1 + n
	}
	if i >= len(rest) {
		return out
	}
	cmd := findCommand(app.Commands, rest[i])
	if cmd == nil {
		return append(out, rest[i:]...)
	}
	top := len(out) // where the command name stands in out
	out = append(out, rest[i])
	i++
	// A command with subcommands (bmsched db check): descend.
	for len(cmd.Subcommands) > 0 && i < len(rest) {
		var sub *cli.Command
		j := i
		var lead []string
		for j < len(rest) && isFlag(rest[j]) {
			n := flagArity(cmd.Flags, rest[j])
			lead = append(lead, rest[j:min(j+1+n, len(rest))]...)
			j += 1 + n
		}
		if j < len(rest) {
			sub = findCommand(cmd.Subcommands, rest[j])
		}
		if sub == nil {
			break
		}
		out = append(out, lead...)
		out = append(out, rest[j])
		cmd = sub
		i = j + 1
	}

	var globals, flags, pos []string
	for i < len(rest) {
		a := rest[i]
		if a == "--" {
			pos = append(pos, rest[i+1:]...)
			break
		}
		if !isFlag(a) {
			pos = append(pos, a)
			i++
			continue
		}
		if hasFlag(cmd.Flags, a) || !hasFlag(app.Flags, a) {
			n := flagArity(cmd.Flags, a)
			flags = append(flags, rest[i:min(i+1+n, len(rest))]...)
			i += 1 + n
			continue
		}
		n := flagArity(app.Flags, a)
		globals = append(globals, rest[i:min(i+1+n, len(rest))]...)
		i += 1 + n
	}
	// Globals go before the command name.
	head := append([]string{}, out[:top]...)
	head = append(head, globals...)
	head = append(head, out[top:]...)
	head = append(head, flags...)
	if len(pos) > 0 {
		head = append(head, "--")
		head = append(head, pos...)
	}
	return head
}

func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' && a != "--" }

func flagName(a string) string {
	name := strings.TrimLeft(a, "-")
	if k, _, ok := strings.Cut(name, "="); ok {
		return k
	}
	return name
}

func lookupFlag(fs []cli.Flag, a string) cli.Flag {
	name := flagName(a)
	for _, f := range fs {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	if name == "help" || name == "h" {
		return cli.HelpFlag
	}
	return nil
}

func hasFlag(fs []cli.Flag, a string) bool { return lookupFlag(fs, a) != nil }

// flagArity is how many following arguments a flag consumes: none for a
// boolean or a flag written as --name=value, else one.
func flagArity(fs []cli.Flag, a string) int {
	if strings.Contains(a, "=") {
		return 0
	}
	f := lookupFlag(fs, a)
	if f == nil {
		return 0
	}
	if _, ok := f.(*cli.BoolFlag); ok {
		return 0
	}
	return 1
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
