package fsscan

import (
	"fmt"
	"os"
)

// Entries is what a machines root or a volume holds, sorted by name: the
// directories of the level below (volumes of a root, machine directories
// of a volume), bmsched's own temporaries, and strays with their reasons.
// Strays are data, not errors: the root is shared with whatever an
// operator keeps there, and one odd entry must not stop a scan.
type Entries struct {
	Dirs   []string
	Temps  []string
	Strays []Stray
}

// ReadRoot lists the machines root: its volumes are the directories with
// a valid volume name. It is the one walk of the root, for the daemon's
// scans and for the watches alike, so that both see the same volumes and
// report the same strays.
func ReadRoot(root string) (Entries, error) {
	return readLevel(root, "read machines root", ValidVolumeName, "volume directory")
}

// ReadVolume lists a volume: its machines are the directories with a
// valid machine name. A symlink is a stray even when it points to a
// machine directory, as links are never followed.
func ReadVolume(dir string) (Entries, error) {
	return readLevel(dir, "read volume directory", ValidMachineName, "machine directory")
}

func readLevel(dir, op string, valid func(string) error, what string) (Entries, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return Entries{}, pathError(op, dir, err)
	}
	// os.ReadDir sorts by name, and so the results are sorted already.
	e := Entries{Dirs: []string{}, Temps: []string{}, Strays: []Stray{}}
	for _, de := range des {
		name := de.Name()
		if IsTempName(name) {
			e.Temps = append(e.Temps, name)
			continue
		}
		if err := valid(name); err != nil {
			e.Strays = append(e.Strays, Stray{Name: name, Reason: err.Error()})
			continue
		}
		if t := entryType(de.Type()); t != TypeDir {
			e.Strays = append(e.Strays, Stray{Name: name, Reason: fmt.Sprintf("%s, not a %s", typeName(t), what)})
			continue
		}
		e.Dirs = append(e.Dirs, name)
	}
	return e, nil
}
