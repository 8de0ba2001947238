// Command bmschedd is the bmsched daemon: `bmsched serve` runs it, as do
// `bmsched demo` and the offline `bmsched db` commands. It is a program of
// its own so that the client, which every build worker starts, links
// none of the daemon's dependencies.
package main

import (
	"os"

	"github.com/bmsched/bmsched/internal/daemoncli"
)

func main() { os.Exit(daemoncli.Run(os.Args, os.Stdout, os.Stderr)) }
