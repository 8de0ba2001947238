package server

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultMaxConnsPerUser bounds the connections one user other than root
// and the operators may have open at once: a worker holds one (two while
// it follows events), so this leaves room for a host's workers running as
// one build user, while a user holding thousands of half-sent requests
// can no longer take every descriptor the daemon has.
const DefaultMaxConnsPerUser = 128

// peerListener hands out connections with their peer credentials read at
// accept, and closes at once any connection past its user's cap or past
// the budget of descriptors all such users share, so that root and
// operators are served whatever other users do.
type peerListener struct {
	net.Listener
	max        int                   // per non-privileged uid; 0 for no cap
	budget     int                   // all non-privileged uids together
	privileged func(unix.Ucred) bool // root and operators: never capped
	log        *slog.Logger

	mu       sync.Mutex
	open     map[uint32]int       // connections open, by capped uid
	total    int                  // the sum of open
	refusing chan struct{}        // turnAway's goroutines running
	lastWarn map[uint32]time.Time // when a refusal was last logged, by uid
}

func newPeerListener(ln net.Listener, max int, privileged func(unix.Ucred) bool, log *slog.Logger) *peerListener {
	return &peerListener{Listener: ln, max: max, budget: connBudget(), privileged: privileged, log: log,
		open: map[uint32]int{}, lastWarn: map[uint32]time.Time{}, refusing: make(chan struct{}, 16)}
}

// connBudget is how many connections other users may hold together:
// the descriptors the daemon may open, less a reserve for root's and the
// operators' connections, the database, the watcher and the volumes.
func connBudget() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 1 << 20
	}
	const reserve = 256
	if n := int(rl.Cur); n > 2*reserve {
		return n - reserve
	}
	return int(rl.Cur) / 2
}

// peerConn is a connection with the credentials of the process that
// opened it.
type peerConn struct {
	net.Conn
	cred   *unix.Ucred
	closed sync.Once
	done   func()
}

func (c *peerConn) Close() error {
	err := c.Conn.Close()
	c.closed.Do(c.done)
	return err
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		cred := peerCred(c)
		if cred == nil || l.privileged(*cred) {
			return &peerConn{Conn: c, cred: cred, done: func() {}}, nil
		}
		why := l.take(cred.Uid)
		if why == "" {
			uid := cred.Uid
			return &peerConn{Conn: c, cred: cred, done: func() { l.give(uid) }}, nil
		}
		// Answered and closed before a byte is read: it costs the daemon
		// nothing more, and the client learns why.
		l.turnAway(c, why)
	}
}

// take counts a new connection of uid, or says why it is refused.
func (l *peerListener) take(uid uint32) (refused string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.max > 0 && l.open[uid] >= l.max:
		refused = fmt.Sprintf("uid %d has %d connections to the daemon open, the most one user may (serve --max-conns-per-user %d); close some, or retry later", uid, l.open[uid], l.max)
	case l.total >= l.budget:
		refused = fmt.Sprintf("users other than root and the operators have %d connections to the daemon open, all its descriptors allow; retry later", l.total)
	default:
		l.open[uid]++
		l.total++
		return ""
	}
	if time.Since(l.lastWarn[uid]) > time.Minute {
		l.lastWarn[uid] = time.Now()
		l.log.Warn("connections refused at accept", "uid", uid, "why", refused)
	}
	return refused
}

func (l *peerListener) give(uid uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.open[uid]--; l.open[uid] <= 0 {
		delete(l.open, uid)
	}
}
