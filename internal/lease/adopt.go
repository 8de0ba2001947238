package lease

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/db"
)

// taggedSnapshot is a snapshot on disk whose tag says bmsched made it.
type taggedSnapshot struct {
	m    db.Machine
	sn   db.Snapshot
	path string
	raw  string
	tag  tag
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
		err = drv.Delete(s.bg, f.path)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove snapshot of ended lease %d: %w", f.tag.ID, err)
	}
	return s.db.AppendEvents(db.Event{Source: "recover", Kind: "snapshot-removed", Volume: f.m.Volume, Machine: f.m.Name, Lease: f.tag.ID,
		Message: fmt.Sprintf("removed %s, left by lease %d after it ended", f.sn.Name, f.tag.ID)})
}

// removeTemps deletes a machine's lease temporaries and asides that no
// record or acquire under way claims, and half plain copies; top is the
// highest lease id that names one. An aside no record claims is the
// snapshot of a lease whose end was committed and whose record is gone:
// only the delete was left.
func (s *Scheduler) removeTemps(m db.Machine, claimed map[string]bool) (removed int, top uint64, err error) {
	drv, err := s.inv.Driver(m.Volume)
	if err != nil {
		return 0, 0, err
	}
	var errs []error
	for _, t := range m.Temps {
		path := filepath.Join(m.Dir, t)
		if strings.HasPrefix(t, btrfs.CopyTempPrefix) {
			// A plain-directory copy runs inside one request: after a
			// restart every one left is a crash's half copy.
			if err := btrfs.RemoveCopy(path); err != nil {
				errs = append(errs, err)
				continue
			}
			removed++
			continue
		}
		id, ok := tempID(t, leaseTemp)
		if !ok {
			id, ok = tempID(t, releaseTemp)
		}
		if !ok {
			continue
		}
		top = max(top, id)
		if claimed[path] {
			continue
		}
		if err := drv.Delete(s.bg, path); err != nil && !errors.Is(err, fs.ErrNotExist) {
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
		if _, err := s.endLease(l, endEvent(l, "gc", "lease-reaped", "orphaned snapshot of an earlier boot (gc --boot)")); err != nil {
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
	s.resumeIDs(high, counter)
	if s.cfg.IDs == nil {
		return nil
	}
	tok := newToken()
	if err := s.db.SetRootToken(tok); err != nil {
		return err
	}
	return s.cfg.IDs.Stamp(tok, counter)
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b[:])
}
