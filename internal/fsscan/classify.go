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
	m := Machine{
		Name:       machine,
		Revisions:  []Revision{},
		Images:     []Image{},
		Snapshots:  []Snapshot{},
		Transients: []string{},
		Temps:      []string{},
		Strays:     []Stray{},
	}
	// The current link is judged last, against the revisions found and
	// the reasons the other entries were refused.
	var link *DirEntry
	revisions := map[string]uint64{}
	refused := map[string]string{}
	seen := map[string]bool{}
	stray := func(name, reason string) {
		m.Strays = append(m.Strays, Stray{Name: name, Reason: reason})
		if _, ok := refused[name]; !ok {
			refused[name] = reason
		}
	}
	for i := range entries {
		d := &entries[i]
		if seen[d.Name] {
			// A directory cannot hold two entries of one name; a caller
			// that says otherwise gets no guess at which one is real.
			stray(d.Name, "duplicate entry name")
			continue
		}
		seen[d.Name] = true
		e := ClassifyName(machine, d.Name)
		switch e.Kind {
		case KindStray:
			stray(d.Name, e.Reason)
		case KindCurrent:
			if d.Type != TypeSymlink {
				stray(d.Name, fmt.Sprintf("current link is %s, not a symlink", typeName(d.Type)))
				continue
			}
			link = d
		case KindTransient:
			if d.Type != TypeSymlink {
				stray(d.Name, fmt.Sprintf("transient link is %s, not a symlink", typeName(d.Type)))
				continue
			}
			m.Transients = append(m.Transients, d.Name)
		case KindTemp:
			m.Temps = append(m.Temps, d.Name)
		case KindRevision, KindImage, KindSnapshot:
			if reason := subvolumeProblem(e, d); reason != "" {
				stray(d.Name, reason)
				continue
			}
			switch e.Kind {
			case KindRevision:
				m.Revisions = append(m.Revisions, Revision{Rev: e.Rev, Name: d.Name, Info: d.Info})
				revisions[d.Name] = e.Rev
			case KindImage:
				m.Images = append(m.Images, Image{Toolchain: e.Toolchain, Name: d.Name, Info: d.Info})
			case KindSnapshot:
				m.Snapshots = append(m.Snapshots, Snapshot{Toolchain: e.Toolchain, ID: e.ID, Name: d.Name, Info: d.Info})
			}
		}
	}
	if link != nil {
		rev, reason := currentRevision(machine, link.Target, revisions, refused)
		if reason != "" {
			stray(link.Name, reason)
		}
		m.Current = rev
	}
	m.State = state(m)
	linkProvenance(&m)
	sortMachine(&m)
	return m
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
