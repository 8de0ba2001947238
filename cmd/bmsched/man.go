package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/cliapp"
	"github.com/bmsched/bmsched/internal/version"
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
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("manual page directory: %w", err)
	}
	path := filepath.Join(dir, "bmsched.1")
	if err := os.WriteFile(path, []byte(manPage(app)), 0o644); err != nil {
		return fmt.Errorf("write manual page: %w", err)
	}
	return nil
}

// manPage is the page in roff, written here rather than converted from
// Markdown, so that the client links no Markdown renderer.
func manPage(app *cli.App) string {
	var r roff
	r.request("TH", "BMSCHED", "1", "", "bmsched "+version.Get().Version, "User Commands")
	// Names and options are not to be hyphenated at line ends.
	r.request("nh")
	r.request("SH", "NAME")
	r.text(app.Name + " - " + app.Usage)
	r.request("SH", "SYNOPSIS")
	r.bold(app.Name, " [GLOBAL OPTIONS] COMMAND [COMMAND OPTIONS] [ARGUMENTS...]")
	r.request("SH", "DESCRIPTION")
	r.text(app.Description)
	r.request("SH", "GLOBAL OPTIONS")
	manFlags(&r, app.Flags)
	r.request("SH", "COMMANDS")
	r.text("Flags may come before or after the arguments.")
	for _, c := range app.VisibleCommands() {
		manCommandSection(&r, "SH", app.Name, c)
	}
	manEnvironment(&r)
	return r.String()
}

// manCommandSection is one command: its synopsis, what it does, its
// flags, then its subcommands in sections of their own.
func manCommandSection(r *roff, level, parent string, c *cli.Command) {
	r.request(level, strings.Join(c.Names(), ", "))
	full := parent + " " + c.Name
	r.bold(full, strings.TrimRight(" "+c.ArgsUsage, " "))
	r.request("PP")
	r.text(c.Usage)
	if c.Description != "" {
		r.request("PP")
		r.text(c.Description)
	}
	manFlags(r, c.Flags)
	for _, sub := range c.VisibleCommands() {
		manCommandSection(r, "SS", full, sub)
	}
}

// manFlags lists flags as tagged paragraphs: the names, the value they
// take, what they mean and their default.
func manFlags(r *roff, flags []cli.Flag) {
	for _, f := range flags {
		df, ok := f.(cli.DocGenerationFlag)
		if !ok {
			continue
		}
		var names []string
		for _, n := range f.Names() {
			if len(n) == 1 {
				names = append(names, "-"+n)
			} else {
				names = append(names, "--"+n)
			}
		}
		value, help := "", df.GetUsage()
		if df.TakesValue() {
			value = " VALUE"
			def := df.GetDefaultText()
			if def == "" {
				def = df.GetValue()
			}
			if def != "" {
				help += " (default: " + def + ")"
			}
		}
		r.request("TP")
		r.bold(strings.Join(names, ", "), value)
		r.text(help)
	}
}

// manEnvironment is the page's ENVIRONMENT and FILES sections: the
// variables that stand for serve's flags, which the flag list does not
// show.
func manEnvironment(r *roff) {
	r.request("SH", "ENVIRONMENT")
	r.request("TP")
	r.bold("BMSCHED_SOCKET", "")
	r.text("the daemon's socket, as `--socket`.")
	for _, f := range cliapp.ServeFlags() {
		name := f.Names()[0]
		r.request("TP")
		r.bold(cliapp.EnvName(name), "")
		r.text("`serve --" + name + "`; a flag given on the command line wins.")
	}
	r.request("TP")
	r.bold("NOTIFY_SOCKET, WATCHDOG_USEC, LISTEN_FDS", "")
	r.text("set by systemd: `serve` notifies readiness, pings the watchdog and takes the socket of `bmsched.socket`.")
	r.request("SH", "FILES")
	for _, f := range [][2]string{
		{"/run/bmsched/bmsched.sock", "the daemon's socket."},
		{"/var/lib/bmsched/bmsched.db", "the database."},
		{"/etc/default/bmsched", "the unit's `EnvironmentFile=`, of `BMSCHED_` variables."},
	} {
		r.request("TP")
		r.bold(f[0], "")
		r.text(f[1])
	}
}
