package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
)

//go:embed completions/bmsched.bash
var bashCompletion string

//go:embed completions/_bmsched
var zshCompletion string

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: "bash: source <(bmsched completion bash), or install it as\n" +
			"/usr/share/bash-completion/completions/bmsched. Machine and toolchain\n" +
			"names are asked of the running daemon.",
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1)
			if err != nil {
				return err
			}
			return printCompletion(c.App, c.App.Writer, a[0])
		},
	}
}

func printCompletion(app *cli.App, w io.Writer, shell string) error {
	var script string
	switch shell {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		s, err := app.ToFishCompletion()
		if err != nil {
			return fmt.Errorf("render fish completion: %w", err)
		}
		script = s + fishMachines
	default:
		return exitf(api.ExitUsage, "completion %q: use bash, zsh or fish", shell)
	}
	_, err := io.WriteString(w, script)
	return err
}

// fishMachines completes the arguments of the commands that take a
// machine, as the bash and zsh scripts do.
const fishMachines = `complete -c bmsched -n '__fish_seen_subcommand_from ` + machineCommands + `' -f -a '(eval (commandline -opc) --generate-bash-completion 2>/dev/null)'
`

// machineCommands take MACHINE as their first argument.
const machineCommands = "list show acquire run leases upgrade rollback delete bootstrap"

// completeMachines is the BashComplete of the commands that take a
// machine: machine names for the first argument, the machine's toolchains
// for acquire's and bootstrap's second, flags for a word starting with
// "-". It fails silently: no daemon, no names.
func completeMachines(c *cli.Context) {
	if n := len(os.Args); n > 2 && strings.HasPrefix(os.Args[n-2], "-") {
		cli.DefaultCompleteWithFlags(c.Command)(c)
		return
	}
	ctx, cancel := context.WithTimeout(c.Context, time.Second)
	defer cancel()
	cl := api.NewClientTimeout(c.String("socket"), time.Second)
	a := c.Args().Slice()
	switch {
	case len(a) == 0 || c.Command.Name == "list":
		var l api.List
		if cl.Do(ctx, "GET", "/v1/machines", nil, &l) == nil {
			printLines(c.App.Writer, machineNames(l.Machines))
		}
	case len(a) == 1 && (c.Command.Name == "acquire" || c.Command.Name == "run" || c.Command.Name == "bootstrap"):
		var m api.Machine
		if cl.Do(ctx, "GET", "/v1/machine?"+url.Values{"m": {a[0]}}.Encode(), nil, &m) == nil {
			var ts []string
			for _, t := range m.Toolchains {
				ts = append(ts, t.Name)
			}
			printLines(c.App.Writer, ts)
		}
	}
}

// machineNames are the names a user types: NAME when it is unique across
// volumes, else VOLUME/NAME.
func machineNames(ms []api.Machine) []string {
	count := map[string]int{}
	for _, m := range ms {
		count[m.Name]++
	}
	var out []string
	for _, m := range ms {
		if count[m.Name] == 1 {
			out = append(out, m.Name)
		} else {
			out = append(out, m.Volume+"/"+m.Name)
		}
	}
	sort.Strings(out)
	return out
}

func printLines(w io.Writer, lines []string) {
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

// setMachineCompletion gives the commands that take a machine their
// completion of machine names.
func setMachineCompletion(cmds []*cli.Command) {
	for _, c := range cmds {
		if strings.Contains(" "+machineCommands+" ", " "+c.Name+" ") {
			c.BashComplete = completeMachines
		}
	}
}

// complete answers a completion script's request. Words after "--" are a
// command's, never completed: urfave/cli would run the command instead.
func complete(app *cli.App, args []string) int {
	for _, a := range args {
		if a == "--" {
			return 0
		}
	}
	_ = app.Run(args)
	return 0
}
