package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// commandLine is the command being run, as the user would type it again
// to resume it: `bmsched upgrade lin --rev 2 --from /src`. The stream of
// --receive is read from stdin, so the line says it must come again.
func commandLine(c *cli.Context) string {
	if c.Command == nil || c.Command.Name == "" {
		return ""
	}
	parts := []string{"bmsched", c.Command.Name}
	parts = append(parts, c.Args().Slice()...)
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if !c.IsSet(name) {
			continue
		}
		switch f.(type) {
		case *cli.BoolFlag:
			parts = append(parts, "--"+name)
		case *cli.StringSliceFlag:
			parts = append(parts, "--"+name, strings.Join(c.StringSlice(name), ","))
		default:
			parts = append(parts, "--"+name, fmt.Sprint(c.Value(name)))
		}
	}
	line := shellJoin(parts)
	if c.Bool("receive") {
		line += " < STREAM"
	}
	return line
}
