package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/bmsched/bmsched/internal/errkind"
)

// checkSocketPath refuses a --socket path that holds anything but a stale
// socket: a regular file there may be the database or an operator's file,
// and a socket something answers on belongs to a running daemon.
func checkSocketPath(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return errkind.Errorf(errkind.Refused, "--socket %s: %w; choose another --socket", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return errkind.Errorf(errkind.Refused, "--socket %s: there is a %s there, not a stale socket; bmsched replaces only a socket nothing answers on: choose another --socket, or move that %s away", path, kindOf(fi), kindOf(fi))
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return errkind.Errorf(errkind.Refused, "--socket %s: another bmsched is serving on this socket; stop it or choose another --socket", path)
	}
	return nil
}

func kindOf(fi fs.FileInfo) string {
	switch t := fi.Mode().Type(); {
	case t == 0:
		return "regular file"
	case t&fs.ModeDir != 0:
		return "directory"
	case t&fs.ModeSymlink != 0:
		return "symbolic link"
	default:
		return "special file (" + t.String() + ")"
	}
}

// listen opens the Unix socket, replacing a stale one that nobody answers
// on, and refusing to steal one that a live daemon serves or to remove
// anything that is not a socket.
func listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("socket directory: %w", err)
	}
	if err := checkSocketPath(path); err != nil {
		return nil, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	// Build workers run as other users; what each may do is decided per
	// request from its peer credentials.
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod socket %s: %w", path, err)
	}
	return ln, nil
}

// listener is the socket the service manager passed, else the --socket
// this daemon creates. Only the one it created is removed at exit: the
// manager's socket outlives the daemon and queues clients for the next.
func (s *Server) listener() (net.Listener, error) {
	if s.cfg.Listener != nil {
		return s.cfg.Listener, nil
	}
	ln, err := listen(s.cfg.Socket)
	if err != nil {
		return nil, err
	}
	return &removingListener{Listener: ln, path: s.cfg.Socket}, nil
}

// removingListener removes its socket file once closed.
type removingListener struct {
	net.Listener
	path string
}

func (l *removingListener) Close() error {
	err := l.Listener.Close()
	os.Remove(l.path)
	return err
}
