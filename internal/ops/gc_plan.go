package ops

import (
	"fmt"
	"path/filepath"

	"github.com/bmsched/bmsched/internal/fsscan"
)

// gcStep is one step of gc's plan for a machine directory: an entry to
// delete or remove, or a stray it keeps and reports. A dry run prints the
// plan; a run applies it, step by step, and reports the steps done.
type gcStep struct {
	kind  gcKind
	path  string
	why   string
	links []string // gcRemoveDir: the upgrade links removed with it
}

type gcKind int

const (
	gcDelete     gcKind = iota // a subvolume, through the volume's driver
	gcDeleteTemp               // a bmsched temporary
	gcRemoveDir                // the machine directory, with its upgrade links
	gcKeep                     // a stray: reported, never touched
)

// line is the step as gc prints it, done or (dryRun) planned. GCActions
// reads the lines back.
func (s gcStep) line(dryRun bool) string {
	verb := map[gcKind][2]string{
		gcDelete:     {"deleted", "would delete"},
		gcDeleteTemp: {"deleted", "would delete"},
		gcRemoveDir:  {"removed", "would remove"},
	}[s.kind]
	if s.kind == gcKeep {
		return fmt.Sprintf("%s%s: %s (not made by bmsched; remove it by hand if unwanted)", keptPrefix, s.path, s.why)
	}
	v := verb[0]
	if dryRun {
		v = verb[1]
	}
	return fmt.Sprintf("%s %s: %s", v, s.path, s.why)
}

// gcPlan is what gc does to one machine directory, in order.
type gcPlan []gcStep

func (pl gcPlan) lines(dryRun bool) []string {
	out := make([]string, len(pl))
	for i, s := range pl {
		out[i] = s.line(dryRun)
	}
	return out
}

// planGC decides what gc does to machine m, read now with acquires held
// off: snapshots no lease holds are deleted, and images of toolchains not
// configured (none when configured is empty). A directory with no current
// link at all, no leased snapshot and no stray named as its link is
// swept: images, revisions, temporaries, then (when it holds no strays)
// the directory. A link that is there but wrong (a typo, a dangling
// target) is an operator's mistake to report, not a machine to destroy.
// Strays are kept and reported.
func planGC(m fsscan.Machine, p paths, leased, configured map[string]bool) gcPlan {
	var pl gcPlan
	anyLeased := false
	for _, s := range m.Snapshots {
		path := filepath.Join(p.dir, s.Name)
		if leased[path] {
			anyLeased = true
			continue
		}
		pl = append(pl, gcStep{kind: gcDelete, path: path, why: "snapshot with no lease"})
	}
	sweep := m.State != fsscan.Active && !hasEntry(m.Strays, m.Name) && !anyLeased
	const unlinked = "machine has no current link"
	for _, im := range m.Images {
		switch {
		case sweep:
			pl = append(pl, gcStep{kind: gcDelete, path: p.image(im.Toolchain), why: unlinked})
		case len(configured) > 0 && !configured[im.Toolchain]:
			pl = append(pl, gcStep{kind: gcDelete, path: p.image(im.Toolchain), why: "toolchain " + im.Toolchain + " is not configured (serve --toolchains)"})
		}
	}
	if sweep {
		for _, r := range m.Revisions {
			pl = append(pl, gcStep{kind: gcDelete, path: p.revision(r.Rev), why: unlinked})
		}
		for _, t := range m.Temps {
			pl = append(pl, gcStep{kind: gcDeleteTemp, path: filepath.Join(p.dir, t), why: "bmsched temporary"})
		}
		if len(m.Strays) == 0 {
			var links []string
			for _, t := range m.Transients {
				links = append(links, filepath.Join(p.dir, t))
			}
			pl = append(pl, gcStep{kind: gcRemoveDir, path: p.dir, why: unlinked, links: links})
		}
	}
	for _, s := range m.Strays {
		pl = append(pl, gcStep{kind: gcKeep, path: p.dir + "/" + s.Name, why: s.Reason})
	}
	return pl
}
