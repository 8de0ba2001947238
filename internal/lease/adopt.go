package lease

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
	"github.com/bmsched/bmsched/internal/fsscan"
)

// taggedSnapshot is a snapshot on disk whose tag says bmsched made it.
type taggedSnapshot struct {
	m    db.Machine
	sn   db.Snapshot
	path string
	raw  string
	tag  tag
}

// reconcileDisk makes what is on disk agree with the lease records, once
// the records are recovered. It removes what a crash left of bmsched's
// own making with no record to claim it (.bmsched-lease-N temporaries no
// creating lease claims, half plain copies, snapshots of leases this
// database ended), raises the lease counter above every id found on disk,
// and adopts every other tagged snapshot under its final name as an
// orphaned lease: a snapshot of another or a lost database, or with an id
// this database never handed out, may hold a running build, and is never
// taken for a leftover. Nothing else is touched. only, when not "", limits
// it to one volume.
func (s *Scheduler) reconcileDisk(claimed map[string]bool, only string) (removed int, err error) {
	ms, err := s.db.Machines()
	if err != nil {
		return 0, err
	}
	ls, err := s.db.Leases()
	if err != nil {
		return 0, err
	}
	counter, err := s.db.LeaseCounter()
	if err != nil {
		return 0, err
	}
	kept, err := s.db.Kept()
	if err != nil {
		return 0, err
	}
	byID := map[uint64]db.Lease{}
	byPath := map[string]bool{}
	for _, l := range ls {
		byID[l.ID] = l
		byPath[l.Path] = true
	}
	var errs []error
	var found []taggedSnapshot
	high := counter
	for _, m := range ms {
		if !s.inv.Available(m.Volume) || only != "" && m.Volume != only {
			continue // its record is of a filesystem out of sight, or not asked for
		}
		n, top, err := s.removeTemps(m, claimed)
		removed += n
		high = max(high, top)
		errs = append(errs, err)
		for _, sn := range m.Snapshots {
			path := filepath.Join(m.Dir, sn.Name)
			raw, t, ok := readTag(path)
			if !ok {
				continue // not made by bmsched
			}
			// A snapshot made by hand of a leased one inherits its tag:
			// only the lease's own name proves it is the lease's. The name
			// is bmsched's to give; the tag, on a root the build user owns,
			// is not, so only a tag its name agrees with counts.
			if sn.Name != snapshotName(m.Name, sn.Toolchain, t.ID) {
				continue
			}
			high = max(high, t.ID)
			if byPath[path] {
				continue
			}
			found = append(found, taggedSnapshot{m: m, sn: sn, path: path, raw: raw, tag: t})
		}
	}
	if err := s.raiseCounter(counter, high); err != nil {
		return removed, err
	}
	reasons := map[string]int{}
	for _, f := range found {
		mine := f.tag.DB == s.db.ID() && f.tag.ID <= counter
		if mine && byID[f.tag.ID].ID == 0 && !kept[f.tag.ID] {
			// This database handed it out and ended its lease: a release
			// or an abandoned acquire dropped the record before the
			// snapshot.
			if err := s.removeEnded(f); err != nil {
				errs = append(errs, err)
				continue
			}
			removed++
			continue
		}
		if mine && byID[f.tag.ID].ID != 0 {
			continue // its id is another snapshot's lease: not this one's
		}
		kind, detail := adoptReason(f.tag, s.db.ID(), kept[f.tag.ID])
		if err := s.adopt(f, kind+detail); err != nil {
			errs = append(errs, err)
			continue
		}
		reasons[kind]++
	}
	if err := s.reportAdopted(reasons); err != nil {
		errs = append(errs, err)
	}
	return removed, errors.Join(errs...)
}

// adoptReason says why a tagged snapshot with no record is adopted: the
// kind, as the adoption event counts them, and what to add for its lease.
func adoptReason(t tag, self string, kept bool) (kind, detail string) {
	switch {
	case kept:
		// Its lease ended while it was out of sight, and nothing deleted
		// it: a build may still run in it.
		return "its lease ended while it was out of sight", " (vanished, or its volume replaced)"
	case t.DB == "":
		return "tagged in an older format", ""
	case t.DB != self:
		return "tagged by another database", " (" + t.DB + ")"
	default:
		return "lease id above this database's counter", " (a restored database)"
	}
}

// adopt records a tagged snapshot as an orphaned lease. It keeps the id
// of its tag unless a record has that id already.
func (s *Scheduler) adopt(f taggedSnapshot, why string) error {
	l := db.Lease{
		Volume: f.m.Volume, Machine: f.m.Name, Toolchain: f.sn.Toolchain,
		Snapshot: f.sn.Name, Path: f.path, ImageUUID: f.sn.ParentUUID,
		State: db.LeaseOrphaned, Created: time.Now().UTC(), BootID: f.tag.Boot,
		Tag: f.raw, Adopted: why,
	}
	l, err := s.db.AdoptLease(f.tag.ID, l, db.Event{Source: "recover", Kind: "lease-adopted", Volume: l.Volume, Machine: l.Machine,
		Message: fmt.Sprintf("adopted %s as an orphaned lease: %s; `bmsched release` ends it", f.path, why)})
	if err != nil {
		return fmt.Errorf("adopt %s: %w", f.path, err)
	}
	s.load(l, nil)
	return nil
}

// reportAdopted logs and records how many snapshots were adopted, and why.
func (s *Scheduler) reportAdopted(reasons map[string]int) error {
	if len(reasons) == 0 {
		return nil
	}
	total := 0
	var parts []string
	for why, n := range reasons {
		total += n
		parts = append(parts, fmt.Sprintf("%d %s", n, why))
	}
	sort.Strings(parts)
	msg := fmt.Sprintf("adopted %d snapshot(s) that no lease of this database holds, as orphaned leases: %s; they may hold running builds: `bmsched leases` lists them, `bmsched release ID` ends them (root or an operator)", total, strings.Join(parts, ", "))
	s.log.Warn(msg)
	return s.db.AppendEvents(db.Event{Source: "recover", Kind: "leases-adopted", Message: msg})
}

// removeEnded deletes the snapshot of a lease this database ended.
func (s *Scheduler) removeEnded(f taggedSnapshot) error {
	drv, err := s.inv.Driver(f.m.Volume)
	if err == nil {
		err = drv.Delete(f.path)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove snapshot of ended lease %d: %w", f.tag.ID, err)
	}
	return s.db.AppendEvents(db.Event{Source: "recover", Kind: "snapshot-removed", Volume: f.m.Volume, Machine: f.m.Name, Lease: f.tag.ID,
		Message: fmt.Sprintf("removed %s, left by lease %d after it ended", f.sn.Name, f.tag.ID)})
}

// removeTemps deletes a machine's lease temporaries that no creating
// lease claims, and half plain copies; top is the highest lease id that
// names a temporary.
func (s *Scheduler) removeTemps(m db.Machine, claimed map[string]bool) (removed int, top uint64, err error) {
	var errs []error
	for _, t := range m.Temps {
		path := filepath.Join(m.Dir, t)
		if strings.HasPrefix(t, btrfs.CopyTempPrefix) {
			// A plain-directory copy runs inside one request: after a
			// restart every one left is a crash's half copy.
			if err := os.RemoveAll(path); err != nil {
				errs = append(errs, fmt.Errorf("remove interrupted copy: %w (remove it by hand once whatever holds it lets go)", err))
				continue
			}
			removed++
			continue
		}
		n, ok := strings.CutPrefix(t, fsscan.TempPrefix+"lease-")
		if !ok {
			continue
		}
		id, err := strconv.ParseUint(n, 10, 64)
		if err != nil {
			continue
		}
		top = max(top, id)
		if claimed[path] {
			continue
		}
		drv, err := s.inv.Driver(m.Volume)
		if err == nil {
			err = drv.Delete(path)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove orphaned lease temporary: %w", err))
			continue
		}
		removed++
		_ = s.db.AppendEvents(db.Event{Source: "recover", Kind: "temp-removed", Volume: m.Volume, Machine: m.Name, Message: "removed orphaned lease temporary " + t})
	}
	return removed, top, errors.Join(errs...)
}

// EndEarlierOrphans ends the orphaned leases whose tag names a boot other
// than this one: the builds that made them died with that boot. It is
// `gc --boot`'s, asked for by an operator; an orphan whose boot is
// unknown (an older tag) is kept, never ended on a guess. With dryRun it
// only says what it would do.
func (s *Scheduler) EndEarlierOrphans(dryRun bool) (acts []string, err error) {
	ls, err := s.db.Leases()
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, l := range ls {
		if l.State != db.LeaseOrphaned || l.BootID == "" || l.BootID == s.cfg.BootID {
			continue
		}
		if dryRun {
			acts = append(acts, fmt.Sprintf("would delete %s: orphaned lease %d of an earlier boot", l.Path, l.ID))
			continue
		}
		if _, err := s.end(l, "gc", "lease-reaped", "orphaned snapshot of an earlier boot (gc --boot)"); err != nil {
			errs = append(errs, err)
			continue
		}
		acts = append(acts, fmt.Sprintf("deleted %s: orphaned lease %d of an earlier boot", l.Path, l.ID))
	}
	return acts, errors.Join(errs...)
}

// raiseCounter makes the next lease id larger than every id found on disk
// (high) and, when this database is not the one that last served the
// root, than the root's id mark: a restored or new database must not hand
// out again a name that its predecessor handed out. Then it stamps the
// root with this start's token.
func (s *Scheduler) raiseCounter(counter, high uint64) error {
	if s.cfg.IDs != nil {
		tok, err := s.db.RootToken()
		if err != nil {
			return err
		}
		// A database that fell back to an earlier commit may be behind
		// the mark though its token matches.
		if tok != s.cfg.IDs.Token() || s.db.FellBack() != "" {
			high = max(high, s.cfg.IDs.Reserved())
		}
	}
	if high > counter {
		if err := s.db.RaiseLeaseCounter(high); err != nil {
			return err
		}
		s.log.Warn("lease ids used on this root above the database's counter: counting on from there", "counter", counter, "highest", high)
		counter = high
	}
	if s.cfg.IDs == nil {
		return nil
	}
	tok := newToken()
	if err := s.db.SetRootToken(tok); err != nil {
		return err
	}
	return s.cfg.IDs.Stamp(tok, counter)
}

// coverID makes the root's id mark cover id before any name with it
// exists.
func (s *Scheduler) coverID(id uint64) error {
	if s.cfg.IDs == nil {
		return nil
	}
	return s.cfg.IDs.Cover(id)
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b[:])
}
