package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/cliapp"
)

func manCommand() *cli.Command {
	return &cli.Command{
		Name:      "man",
		Usage:     "write the manual page bmsched.1 into DIR",
		ArgsUsage: "DIR",
		Description: "Read it with man -l DIR/bmsched.1; make install puts it under\n" +
			"PREFIX/share/man/man1.",
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1)
			if err != nil {
				return err
			}
			return writeMan(c.App, a[0])
		},
	}
}

// writeMan renders the page from the commands and flags themselves, so
// that it never disagrees with --help, plus what --help cannot say.
func writeMan(app *cli.App, dir string) error {
	page, err := manPage(app)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("manual page directory: %w", err)
	}
	path := filepath.Join(dir, "bmsched.1")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		return fmt.Errorf("write manual page: %w", err)
	}
	return nil
}

func manPage(app *cli.App) ([]byte, error) {
	md, err := app.ToMarkdown()
	if err != nil {
		return nil, fmt.Errorf("render manual page: %w", err)
	}
	return md2man.Render([]byte("% bmsched 1\n\n" + md + manEnvironment())), nil
}

// manEnvironment is the page's ENVIRONMENT and FILES sections: the
// variables that stand for serve's flags, which the flag list does not
// show.
func manEnvironment() string {
	var b strings.Builder
	b.WriteString("\n# ENVIRONMENT\n\n")
	b.WriteString("**BMSCHED_SOCKET**\n: the daemon's socket, as **--socket**.\n\n")
	for _, f := range cliapp.ServeFlags() {
		name := f.Names()[0]
		fmt.Fprintf(&b, "**%s**\n: **serve --%s**; a flag given on the command line wins.\n\n", cliapp.EnvName(name), name)
	}
	b.WriteString("**NOTIFY_SOCKET**, **WATCHDOG_USEC**, **LISTEN_FDS**\n: set by systemd: **serve** notifies readiness, pings the watchdog and takes the socket of **bmsched.socket**.\n\n")
	b.WriteString("# FILES\n\n")
	b.WriteString("*/run/bmsched/bmsched.sock*\n: the daemon's socket.\n\n")
	b.WriteString("*/var/lib/bmsched/bmsched.db*\n: the database.\n\n")
	b.WriteString("*/etc/default/bmsched*\n: the unit's **EnvironmentFile=**, of **BMSCHED_** variables.\n")
	return b.String()
}
