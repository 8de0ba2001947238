package cliapp

import (
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func permuteApp() *cli.App {
	return &cli.App{
		Flags: GlobalFlags(),
		Commands: []*cli.Command{
			{Name: "acquire", Flags: []cli.Flag{
				&cli.DurationFlag{Name: "wait"},
				&cli.StringFlag{Name: "label"},
				&cli.BoolFlag{Name: "allow-stale"},
			}},
			{Name: "run", Flags: []cli.Flag{&cli.BoolFlag{Name: "chdir"}}},
			{Name: "delete", Flags: []cli.Flag{&cli.DurationFlag{Name: "timeout"}}},
			{Name: "db", Subcommands: []*cli.Command{
				{Name: "check", Flags: []cli.Flag{&cli.StringFlag{Name: "db"}}},
			}},
		},
	}
}

// Flags may stand before or after the arguments; global ones move in
// front of the command; what follows "--" stays as it is.
func TestPermute(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  "",
		"--json":                            "--json",
		"--socket /s":                       "--socket /s",
		"acquire lin gcc --wait 10m --json": "--json acquire --wait 10m -- lin gcc",
		"--socket /s acquire --label=x lin --allow-stale gcc": "--socket /s acquire --label=x --allow-stale -- lin gcc",
		"run lin gcc --chdir -- sh -c 'x' --json":             "run --chdir -- lin gcc sh -c 'x' --json",
		"db check --db f --json":                              "--json db check --db f",
		"db --json check --db f":                              "db --json check --db f",
		"db --db f check":                                     "db --db -- f check",
		"frob --json x":                                       "frob --json x",
		"acquire lin --bogus gcc":                             "acquire --bogus -- lin gcc",
		"acquire -h":                                          "acquire -h",
		"acquire lin --wait":                                  "acquire --wait -- lin",
		"run 7 --timeout=5s":                                  "--timeout=5s run -- 7",
		"delete lin --timeout 5s --timeout 1s":                "delete --timeout 5s --timeout 1s -- lin",
		"--json --timeout 1s acquire lin gcc":                 "--json --timeout 1s acquire -- lin gcc",
		"acquire":                                             "acquire",
		"acquire --":                                          "acquire",
		"acquire -- --json":                                   "acquire -- --json",
	} {
		argv := append([]string{"bmsched"}, strings.Fields(in)...)
		got := Permute(permuteApp(), argv)
		if w := append([]string{"bmsched"}, strings.Fields(want)...); !slices.Equal(got, w) {
			t.Errorf("Permute(%q) = %q, want %q", argv, got, w)
		}
	}
}
