package rootlock

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// IDsName is the file in the machines root that keeps the high-water
// mark of lease ids handed out on the root. The database's counter is
// lost with the database; this is not, so that a snapshot name is never
// handed out twice on one root, whatever happened to the database.
const IDsName = ".bmsched-ids"

// idBlock is how many ids one write of the mark reserves: the mark costs
// one small write and fdatasync per idBlock acquires.
const idBlock = 1024

// IDs is the root's lease id high-water mark, open while the root is
// held. With it goes a token that the daemon also stores in its database
// at every start: a database whose token is not the mark's is not the
// last one that served this root (a restored backup, a rebuilt or
// another database), and its counter must rise to the mark.
type IDs struct {
	mu       sync.Mutex
	f        *os.File
	reserved uint64
	token    string
}

// IDs opens the root's id mark, creating it at 0.
func (l *Lock) IDs() (*IDs, error) {
	path := filepath.Join(filepath.Dir(l.f.Name()), IDsName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lease id mark: %w", err)
	}
	buf := make([]byte, 256) // a record is 86 bytes
	n, _ := f.ReadAt(buf, 0)
	m := &IDs{f: f}
	if n == 0 {
		// New: its name must survive a crash as the mark will.
		if d, err := os.Open(filepath.Dir(path)); err == nil {
			_ = d.Sync()
			d.Close()
		}
	}
	if s := strings.TrimSpace(string(buf[:n])); s != "" {
		num, token, _ := strings.Cut(s, " ")
		if m.reserved, err = strconv.ParseUint(num, 10, 64); err != nil {
			f.Close()
			return nil, fmt.Errorf("lease id mark %s holds %q, not a number: remove it (the next start counts from the highest id on disk)", path, s)
		}
		m.token = token
	}
	return m, nil
}

// Token is the token of the database that last served the root.
func (m *IDs) Token() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.token
}

// Stamp records token as the serving database's, and makes the mark
// cover id.
func (m *IDs) Stamp(token string, id uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.write(max(m.reserved, id), token)
}

// Reserved is the highest id the mark covers.
func (m *IDs) Reserved() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reserved
}

// Cover makes the mark cover id, reserving a block beyond it when it
// must move, and returns once the mark is durable: before any name with
// that id exists.
func (m *IDs) Cover(id uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id <= m.reserved {
		return nil
	}
	return m.write(id+idBlock, m.token)
}

// write stores the mark durably. The record has a fixed width, padded,
// so that it overwrites the last in place, within one sector, and never
// leaves an old tail behind.
func (m *IDs) write(reserved uint64, token string) error {
	rec := fmt.Sprintf("%020d %-64s\n", reserved, token)
	if _, err := m.f.WriteAt([]byte(rec), 0); err != nil {
		return fmt.Errorf("reserve lease ids in %s: %w", m.f.Name(), err)
	}
	if err := unix.Fdatasync(int(m.f.Fd())); err != nil {
		return fmt.Errorf("reserve lease ids in %s: %w", m.f.Name(), err)
	}
	m.reserved, m.token = reserved, token
	return nil
}

// Close closes the mark.
func (m *IDs) Close() error { return m.f.Close() }
