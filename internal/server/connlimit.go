package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bmsched/bmsched/internal/api"
)

// DefaultMaxConnsPerUser bounds the connections one non-root user may
// have open at once: a worker needs one or two, and a user holding
// thousands of half-sent requests would otherwise take every descriptor
// the daemon has.
const DefaultMaxConnsPerUser = 32

// peerListener hands out connections with their peer credentials read at
// accept, and closes at once any connection past its user's cap, so that
// root and operators are served whatever other users do.
type peerListener struct {
	net.Listener
	max        int                   // per non-privileged uid; 0 for no cap
	privileged func(unix.Ucred) bool // root and operators: never capped
	log        *slog.Logger

	mu       sync.Mutex
	open     map[uint32]int       // connections open, by capped uid
	refusing chan struct{}        // turnAway's goroutines running
	lastWarn map[uint32]time.Time // when the cap was last logged, by uid
}

func newPeerListener(ln net.Listener, max int, privileged func(unix.Ucred) bool, log *slog.Logger) *peerListener {
	return &peerListener{Listener: ln, max: max, privileged: privileged, log: log,
		open: map[uint32]int{}, lastWarn: map[uint32]time.Time{}, refusing: make(chan struct{}, 16)}
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
		if cred == nil || l.max <= 0 || l.privileged(*cred) {
			return &peerConn{Conn: c, cred: cred, done: func() {}}, nil
		}
		if l.take(cred.Uid) {
			uid := cred.Uid
			return &peerConn{Conn: c, cred: cred, done: func() { l.give(uid) }}, nil
		}
		// Answered and closed before a byte is read: it costs the daemon
		// nothing more, and the client learns why.
		l.turnAway(c, cred.Uid)
	}
}

func (l *peerListener) take(uid uint32) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[uid] >= l.max {
		if time.Since(l.lastWarn[uid]) > time.Minute {
			l.lastWarn[uid] = time.Now()
			l.log.Warn("connections of a user over its cap are closed at once", "uid", uid, "open", l.open[uid], "cap", l.max, "flag", "serve --max-conns-per-user")
		}
		return false
	}
	l.open[uid]++
	return true
}

func (l *peerListener) give(uid uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[uid]--; l.open[uid] <= 0 {
		delete(l.open, uid)
	}
}

// peerCred reads the connecting process's credentials (SO_PEERCRED): the
// kernel vouches for them, the client cannot forge them.
func peerCred(c net.Conn) *unix.Ucred {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) {
		cred, _ = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	return cred
}

// turnAway answers a connection over its user's cap with a refusal and
// closes it, off the accept loop: the client's request is read first (for
// a moment at most), or its HTTP client would take the answer for a stray
// one. Past a few at once, connections are closed without a word.
func (l *peerListener) turnAway(c net.Conn, uid uint32) {
	select {
	case l.refusing <- struct{}{}:
	default:
		c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
		if !readHeaders(c) {
			return
		}
		body, _ := json.Marshal(api.Error{Exit: api.ExitNoCapacity, Message: fmt.Sprintf(
			"uid %d has %d connections to the daemon open, the most one user may (serve --max-conns-per-user %d); close some, or retry later", uid, l.max, l.max)})
		_, _ = fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	}()
}

// readHeaders reads a request's headers, and what came with them, up to
// 8 KiB.
func readHeaders(c net.Conn) bool {
	buf := make([]byte, 8<<10)
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}
