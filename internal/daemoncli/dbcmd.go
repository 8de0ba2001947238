package daemoncli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/migrations"
)

// dbActions are the actions of the db subcommands.
var dbActions = map[string]cli.ActionFunc{
	"check": runCheck,
	"dump": func(c *cli.Context) error {
		d, err := openOffline(c, true)
		if err != nil {
			return err
		}
		defer d.Close()
		if c.Bool("json") {
			return dumpJSON(c, d)
		}
		return d.Dump(c.App.Writer)
	},
	"migrate": func(c *cli.Context) error {
		d, err := openOffline(c, false)
		if err != nil {
			return err
		}
		defer d.Close()
		if c.Bool("json") {
			return printJSON(c.App.Writer, dbResult{DB: d.Path(), SchemaVersion: migrations.Latest()})
		}
		fmt.Fprintf(c.App.Writer, "%s: schema version %d\n", d.Path(), migrations.Latest())
		return nil
	},
	"compact": func(c *cli.Context) error {
		// Read-only: compacting migrates nothing, and the shared
		// lock keeps a daemon from starting until it is done.
		d, err := openOffline(c, true)
		if err != nil {
			return err
		}
		defer d.Close()
		return compact(c, d)
	},
	"rebuild": rebuild,
}

// runCheck is `db check`: a damaged file is one line and exit 1; records
// that do not decode are listed, one a line.
func runCheck(c *cli.Context) error {
	d, err := openOffline(c, true)
	if err != nil {
		return err
	}
	defer d.Close()
	// A fallen-back file is checked on: the commit bbolt opens is whole
	// and consistent, but the operator learns that a lease or a step
	// may be missing.
	res := checkResult{DB: d.Path(), Warning: d.FellBack(), Problems: []string{}}
	if res.Warning != "" && !c.Bool("json") {
		fmt.Fprintf(c.App.Writer, "warning: %s: %s\n", res.DB, res.Warning)
	}
	errs := d.Check()
	for _, e := range errs {
		if errors.Is(e, db.ErrDamaged) {
			return e
		}
		res.Problems = append(res.Problems, e.Error())
	}
	res.SchemaVersion, _ = d.SchemaVersion()
	res.OK = len(errs) == 0
	if err := printCheck(c, res); err != nil {
		return err
	}
	if !res.OK {
		return exitf(api.ExitFailed, "%s: %d problems", d.Path(), len(errs))
	}
	return nil
}

func openOffline(c *cli.Context, readOnly bool) (*db.DB, error) {
	if _, err := args(c, 0, 0); err != nil {
		return nil, err
	}
	d, err := db.Open(c.String("db"), db.Options{ReadOnly: readOnly, LockTimeout: 500e6})
	switch {
	case errors.Is(err, db.ErrHeld):
		return nil, exitf(api.ExitRefused, "database %s is held by a running bmsched daemon: ask it through its socket (bmsched list, bmsched events), or stop it first", c.String("db"))
	case errors.Is(err, db.ErrTooNew):
		return nil, exitf(api.ExitRefused, "%v", err)
	case errors.Is(err, fs.ErrPermission):
		return nil, exitf(api.ExitRefused, "%v: run this as the database's owner (root, as the daemon runs)", err)
	case err != nil:
		return nil, err
	}
	return d, nil
}

// compact copies the database into a new file and renames it over the old
// one while still holding the old one's lock, so that a crash half way
// leaves the old file whole and no daemon can write to the old file in
// between.
func compact(c *cli.Context, d *db.DB) error {
	path := d.Path()
	tmp := path + ".compact"
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, nil)
	if err != nil {
		return fmt.Errorf("compact %s: %w", path, err)
	}
	before, _ := os.Stat(path)
	err = d.Safely(func() error { return bolt.Compact(dst, d.Bolt(), 1<<20) })
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = db.SyncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compact %s: %w", path, err)
	}
	after, _ := os.Stat(path)
	if c.Bool("json") {
		res := dbResult{DB: path}
		if before != nil && after != nil {
			b, a := before.Size(), after.Size()
			res.SizeBefore, res.SizeAfter = &b, &a
		}
		return printJSON(c.App.Writer, res)
	}
	if before != nil && after != nil {
		fmt.Fprintf(c.App.Writer, "%s: %d -> %d bytes\n", path, before.Size(), after.Size())
	}
	return nil
}
