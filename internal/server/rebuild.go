package server

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/errkind"
	"github.com/bmsched/bmsched/internal/inventory"
	"github.com/bmsched/bmsched/internal/lease"
	"github.com/bmsched/bmsched/internal/rootlock"
)

// RebuildConfig is what `bmsched db rebuild` is told.
type RebuildConfig struct {
	Machines string
	DB       string
	Driver   string
	Force    bool // replace an existing file, keeping it beside the new one
	Log      *slog.Logger
}

// Rebuilt says what a rebuild made.
type Rebuilt struct {
	DB       string `json:"db"`
	Kept     string `json:"kept,omitempty"` // where the old file went
	Machines int    `json:"machines"`
	Adopted  int    `json:"adopted"` // tagged snapshots adopted as orphaned leases
}

// Rebuild makes a new database from the filesystem: machines, revisions,
// images and provenance from a scan of the root, and every tagged
// snapshot adopted as an orphaned lease (a rebuilt database has an
// identity of its own, so no snapshot is its to delete). It holds the
// root as a daemon does, so it cannot run beside one, and writes the new
// file beside the old and renames it into place only when it is whole.
func Rebuild(cfg RebuildConfig) (Rebuilt, error) {
	out := Rebuilt{DB: cfg.DB}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if _, err := os.Lstat(cfg.DB); err == nil && !cfg.Force {
		return out, errkind.Errorf(errkind.Refused, "db rebuild: %s exists: pass --force to replace it (the old file is kept beside the new one), or give another --db", cfg.DB)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return out, fmt.Errorf("db rebuild: %w", err)
	}
	lock, err := takeRoot(cfg.Machines)
	if err != nil {
		return out, err
	}
	defer lock.Release()
	ids, err := lock.IDs()
	if err != nil {
		return out, err
	}
	defer ids.Close()

	tmp := cfg.DB + ".rebuild"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return out, fmt.Errorf("db rebuild: remove the leftover of an earlier rebuild: %w", err)
	}
	if err := fill(cfg, tmp, ids, &out); err != nil {
		os.Remove(tmp)
		return out, err
	}
	if _, err := os.Lstat(cfg.DB); err == nil {
		out.Kept = fmt.Sprintf("%s.old-%s", cfg.DB, time.Now().UTC().Format("20060102T150405Z"))
		if err := os.Rename(cfg.DB, out.Kept); err != nil {
			os.Remove(tmp)
			return out, fmt.Errorf("db rebuild: keep the old file: %w", err)
		}
	}
	if err := os.Rename(tmp, cfg.DB); err != nil {
		return out, fmt.Errorf("db rebuild: put the new file in place (it is at %s): %w", tmp, err)
	}
	return out, db.SyncDir(filepath.Dir(cfg.DB))
}

// fill scans the root into the new database at path and adopts its
// snapshots.
func fill(cfg RebuildConfig, path string, ids *rootlock.IDs, out *Rebuilt) error {
	d, err := db.Open(path, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	inv, err := inventory.New(cfg.Machines, d, cfg.Driver)
	if err != nil {
		return err
	}
	if err := inv.RescanAll("rebuild"); err != nil {
		return fmt.Errorf("db rebuild: scan %s: %w", cfg.Machines, err)
	}
	boot, err := readBootID()
	if err != nil {
		return err
	}
	// The boot it was rebuilt in: a daemon started later in this boot is
	// not after a reboot.
	if err := d.SetBootID(boot); err != nil {
		return err
	}
	sched := lease.New(lease.Config{BootID: boot, Log: cfg.Log, IDs: ids}, d, inv)
	defer sched.StopBackground()
	if _, err := sched.Recover(); err != nil {
		return fmt.Errorf("db rebuild: %w", err)
	}
	ms, err := d.Machines()
	if err != nil {
		return err
	}
	ls, err := d.Leases()
	if err != nil {
		return err
	}
	out.Machines, out.Adopted = len(ms), len(ls)
	return d.AppendEvents(db.Event{Source: "rebuild", Kind: "db-rebuilt",
		Message: fmt.Sprintf("database rebuilt from %s: %d machines, %d snapshots adopted as orphaned leases", cfg.Machines, len(ms), len(ls))})
}
