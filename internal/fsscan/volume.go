package fsscan

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Volume is a scanned machine volume.
type Volume struct {
	Name     string
	Dir      string
	Machines []Machine // sorted by Name
	Temps    []string  // .bmsched-* entries, sorted
	Strays   []Stray   // entries that are not machine directories, sorted by Name
}

// Root is a scanned machines root. Entries that are not volumes are
// Strays rather than errors: the root is shared with whatever an operator
// keeps there, and one odd entry must not stop the daemon from starting.
type Root struct {
	Dir     string
	Volumes []Volume // sorted by Name
	Strays  []Stray  // sorted by Name
}

// ScanVolume scans every machine directory of the volume dir, whose base
// name is the volume's name. Every other entry is a stray with its reason;
// a symlink is one too, even to a machine directory, as links are never
// followed. A machine directory that vanishes while scanned (deleted by an
// operator) is left out.
func ScanVolume(dir string, p Prober) (Volume, error) {
	if err := ValidVolumeName(filepath.Base(dir)); err != nil {
		return Volume{}, pathError("scan volume", dir, err)
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return Volume{}, pathError("read volume directory", dir, err)
	}
	v := Volume{Name: filepath.Base(dir), Dir: dir, Machines: []Machine{}, Temps: []string{}, Strays: []Stray{}}
	for _, de := range des {
		name := de.Name()
		if IsTempName(name) {
			v.Temps = append(v.Temps, name)
			continue
		}
		if err := ValidMachineName(name); err != nil {
			v.Strays = append(v.Strays, Stray{Name: name, Reason: err.Error()})
			continue
		}
		if t := entryType(de.Type()); t != TypeDir {
			v.Strays = append(v.Strays, Stray{Name: name, Reason: fmt.Sprintf("%s, not a machine directory", typeName(t))})
			continue
		}
		m, err := ScanMachine(filepath.Join(dir, name), p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Volume{}, err
		}
		v.Machines = append(v.Machines, m)
	}
	// os.ReadDir sorts by name, and so the results are sorted already.
	return v, nil
}

// ScanRoot scans every volume of the machines root: each directory with a
// valid volume name. Other entries are the root's Strays.
func ScanRoot(root string, p Prober) (Root, error) {
	des, err := os.ReadDir(root)
	if err != nil {
		return Root{}, pathError("read machines root", root, err)
	}
	r := Root{Dir: root, Volumes: []Volume{}, Strays: []Stray{}}
	for _, de := range des {
		name := de.Name()
		if err := ValidVolumeName(name); err != nil {
			r.Strays = append(r.Strays, Stray{Name: name, Reason: err.Error()})
			continue
		}
		if t := entryType(de.Type()); t != TypeDir {
			r.Strays = append(r.Strays, Stray{Name: name, Reason: fmt.Sprintf("%s, not a volume directory", typeName(t))})
			continue
		}
		v, err := ScanVolume(filepath.Join(root, name), p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Root{}, err
		}
		r.Volumes = append(r.Volumes, v)
	}
	return r, nil
}
