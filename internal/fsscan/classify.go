package fsscan

import (
	"cmp"
	"fmt"
	"slices"
)

// Classify turns the entries of the directory of machine into a Machine:
// each entry is classified by its name, then held to the rules of its
// kind; what breaks them is a Stray with the reason. It reads nothing and
// follows no link, so it is safe on any input.
func Classify(machine string, entries []DirEntry) Machine {
	c := classifier{
		m: Machine{
			Name:       machine,
			Revisions:  []Revision{},
			Images:     []Image{},
			Snapshots:  []Snapshot{},
			Transients: []string{},
			Temps:      []string{},
			Strays:     []Stray{},
		},
		revisions: map[string]uint64{},
		refused:   map[string]string{},
		seen:      map[string]bool{},
	}
	for i := range entries {
		c.entry(&entries[i])
	}
	c.judgeLink()
	m := c.m
	m.State = state(m)
	linkProvenance(&m)
	sortMachine(&m)
	return m
}

// classifier is the state of one Classify. The current link is judged
// last, against the revisions found and the reasons the other entries
// were refused.
type classifier struct {
	m         Machine
	link      *DirEntry
	revisions map[string]uint64 // valid revisions by name
	refused   map[string]string // reasons by name
	seen      map[string]bool
}

func (c *classifier) stray(name, reason string) {
	c.m.Strays = append(c.m.Strays, Stray{Name: name, Reason: reason})
	if _, ok := c.refused[name]; !ok {
		c.refused[name] = reason
	}
}

// entry classifies one entry by its name, then holds it to its kind's
// rules.
func (c *classifier) entry(d *DirEntry) {
	if c.seen[d.Name] {
		// A directory cannot hold two entries of one name; a caller that
		// says otherwise gets no guess at which one is real.
		c.stray(d.Name, "duplicate entry name")
		return
	}
	c.seen[d.Name] = true
	e := ClassifyName(c.m.Name, d.Name)
	switch e.Kind {
	case KindStray:
		c.stray(d.Name, e.Reason)
	case KindCurrent:
		if d.Type != TypeSymlink {
			c.stray(d.Name, fmt.Sprintf("current link is %s, not a symlink", typeName(d.Type)))
			return
		}
		c.link = d
	case KindTransient:
		if d.Type != TypeSymlink {
			c.stray(d.Name, fmt.Sprintf("transient link is %s, not a symlink", typeName(d.Type)))
			return
		}
		c.m.Transients = append(c.m.Transients, d.Name)
	case KindTemp:
		c.m.Temps = append(c.m.Temps, d.Name)
	case KindRevision, KindImage, KindSnapshot:
		c.subvolume(e, d)
	}
}

// subvolume files a revision, image or snapshot, or refuses one that is
// not a subvolume.
func (c *classifier) subvolume(e Entry, d *DirEntry) {
	if reason := subvolumeProblem(e, d); reason != "" {
		c.stray(d.Name, reason)
		return
	}
	switch e.Kind {
	case KindRevision:
		c.m.Revisions = append(c.m.Revisions, Revision{Rev: e.Rev, Name: d.Name, Info: d.Info})
		c.revisions[d.Name] = e.Rev
	case KindImage:
		c.m.Images = append(c.m.Images, Image{Toolchain: e.Toolchain, Name: d.Name, Info: d.Info})
	case KindSnapshot:
		c.m.Snapshots = append(c.m.Snapshots, Snapshot{Toolchain: e.Toolchain, ID: e.ID, Name: d.Name, Info: d.Info})
	}
}

// judgeLink sets the current revision from the link, or makes the link a
// stray with the reason it is an anomaly.
func (c *classifier) judgeLink() {
	if c.link == nil {
		return
	}
	rev, reason := currentRevision(c.m.Name, c.link.Target, c.revisions, c.refused)
	if reason != "" {
		c.stray(c.link.Name, reason)
	}
	c.m.Current = rev
}

// state follows the manual: the link is created last when adding and
// removed first when deleting, so without it the machine is on its way in
// (nothing built yet) or on its way out (builds still hold snapshots).
func state(m Machine) State {
	switch {
	case m.Current != 0:
		return Active
	case len(m.Snapshots) > 0:
		return Retiring
	}
	return Pending
}

// subvolumeProblem says why d cannot be the revision, image or snapshot e
// that its name makes it, or "" when it can.
func subvolumeProblem(e Entry, d *DirEntry) string {
	switch {
	case d.Type != TypeDir:
		return fmt.Sprintf("named as %s, but %s, not a directory", e.describe(), typeName(d.Type))
	case !d.Subvolume:
		return fmt.Sprintf("named as %s, but a plain directory, not a subvolume", e.describe())
	}
	return ""
}

func typeName(t EntryType) string {
	switch t {
	case TypeDir:
		return "a directory"
	case TypeSymlink:
		return "a symlink"
	case TypeFile:
		return "a regular file"
	}
	return "a special file"
}

func sortMachine(m *Machine) {
	slices.SortFunc(m.Revisions, func(a, b Revision) int { return cmp.Compare(a.Rev, b.Rev) })
	slices.SortFunc(m.Images, func(a, b Image) int { return cmp.Compare(a.Toolchain, b.Toolchain) })
	slices.SortFunc(m.Snapshots, func(a, b Snapshot) int { return cmp.Compare(a.Name, b.Name) })
	slices.Sort(m.Transients)
	slices.Sort(m.Temps)
	sortStrays(m.Strays)
}

// sortStrays orders by name, then reason, so that duplicates sort stably.
func sortStrays(s []Stray) {
	slices.SortFunc(s, func(a, b Stray) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Reason, b.Reason))
	})
}
