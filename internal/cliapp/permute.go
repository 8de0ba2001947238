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
	rest := argv[1:]
	i := leadingFlags(app.Flags, rest)
	head := append([]string{argv[0]}, rest[:i]...)
	if i >= len(rest) {
		return head
	}
	cmd := findCommand(app.Commands, rest[i])
	if cmd == nil {
		return append(head, rest[i:]...)
	}
	path, cmd, i := descend(cmd, rest, i)
	globals, flags, pos := sortArgs(app.Flags, cmd.Flags, rest[i:])
	out := append(head, globals...)
	out = append(out, path...)
	out = append(out, flags...)
	if len(pos) > 0 {
		out = append(out, "--")
		out = append(out, pos...)
	}
	return out
}

// CommandName is the command argv names, after the global flags; "" when
// there is none.
func CommandName(globals []cli.Flag, argv []string) string {
	if len(argv) < 2 {
		return ""
	}
	rest := argv[1:]
	if i := leadingFlags(globals, rest); i < len(rest) {
		return rest[i]
	}
	return ""
}

// leadingFlags is how many arguments the flags (with their values) at the
// start of args take.
func leadingFlags(flags []cli.Flag, args []string) int {
	i := 0
	for i < len(args) && isFlag(args[i]) {
		i += 1 + flagArity(flags, args[i])
	}
	return min(i, len(args))
}

// descend follows a command with subcommands (bmsched db check) from
// rest[i], its name: it returns the command line up to the last
// subcommand (flags met on the way included), that subcommand, and where
// its arguments begin.
func descend(cmd *cli.Command, rest []string, i int) ([]string, *cli.Command, int) {
	path := []string{rest[i]}
	i++
	for len(cmd.Subcommands) > 0 && i < len(rest) {
		j := i + leadingFlags(cmd.Flags, rest[i:])
		if j >= len(rest) {
			break
		}
		sub := findCommand(cmd.Subcommands, rest[j])
		if sub == nil {
			break
		}
		path = append(path, rest[i:j+1]...)
		cmd, i = sub, j+1
	}
	return path, cmd, i
}

// sortArgs sorts a command's arguments into the global flags, the
// command's flags (and any flag neither knows, for the command to
// refuse) and the positional arguments, those after "--" included.
func sortArgs(global, own []cli.Flag, args []string) (globals, flags, pos []string) {
	for i := 0; i < len(args); {
		a := args[i]
		if a == "--" {
			return globals, flags, append(pos, args[i+1:]...)
		}
		if !isFlag(a) {
			pos = append(pos, a)
			i++
			continue
		}
		known := own
		if !hasFlag(own, a) && hasFlag(global, a) {
			known = global
		}
		n := 1 + flagArity(known, a)
		taken := args[i:min(i+n, len(args))]
		if hasFlag(own, a) || !hasFlag(global, a) {
			flags = append(flags, taken...)
		} else {
			globals = append(globals, taken...)
		}
		i += n
	}
	return globals, flags, pos
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
