package cliapp

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/bmsched/bmsched/internal/api"
)

// Program finds the executable name (bmsched or bmschedd, which come
// together) beside this executable, where make install and the package
// put both, else in PATH. The error names both places.
func Program(name string) (string, error) {
	beside := "beside this program"
	if exe, err := os.Executable(); err == nil {
		beside = filepath.Join(filepath.Dir(exe), name)
		if isExecutable(beside) {
			return beside, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	return "", Exitf(api.ExitFailed, "the program %s is neither at %s nor in PATH (%s): install bmsched and bmschedd together (make install, or the bmsched package)", name, beside, os.Getenv("PATH"))
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return errors.Is(err, fs.ErrPermission)
	}
	return fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
