package warm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/bmsched/bmsched/internal/fsscan"
)

// PoolDir is the directory, in a machine's directory, that holds the
// machine's ready snapshots, mode 0700: their roots are the build
// user's, as the image's is, and a build could otherwise write into the
// snapshot that another build is handed next. Born inside it, a
// snapshot is out of every build's reach until Take renames it out, into
// the machine's directory; no flag to clear, no transaction to commit.
// Its name is a warm one (fsscan.IsWarmName), so the scan and the
// watcher pass it over.
const PoolDir = fsscan.WarmPrefix + "pool"

// poolDir makes sure the machine directory dir has its pool directory,
// a real directory only the daemon's user may enter.
func poolDir(dir string) (string, error) {
	pd := filepath.Join(dir, PoolDir)
	err := os.Mkdir(pd, 0o700)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("warm pool: make its directory: %w", err)
	}
	fi, err := os.Lstat(pd)
	if err != nil {
		return "", fmt.Errorf("warm pool: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 || !ok || int(st.Uid) != os.Geteuid() {
		return "", fmt.Errorf("warm pool: %s is not a directory of mode 0700 owned by the daemon's user; remove it and the pool makes it again", pd)
	}
	return pd, nil
}

// warmEntries lists the warm snapshots of a machine directory, those in
// its pool directory and any other warm entry; none when the directory
// is gone.
func warmEntries(dir string) ([]string, error) {
	var paths []string
	for _, d := range []string{dir, filepath.Join(dir, PoolDir)} {
		des, err := os.ReadDir(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read a directory to remove its warm snapshots: %w", err)
		}
		for _, de := range des {
			if d != dir || fsscan.IsWarmName(de.Name()) && de.Name() != PoolDir {
				paths = append(paths, filepath.Join(d, de.Name()))
			}
		}
	}
	return paths, nil
}

// removePoolDir removes a machine's emptied pool directory, so that
// nothing of the pool is left to stop the machine's directory going.
func removePoolDir(dir string) error {
	err := os.Remove(filepath.Join(dir, PoolDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("warm pool: %w (remove what is left in it by hand)", err)
	}
	return nil
}
