package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"time"

	"github.com/bmsched/bmsched/internal/api"
)

// turnAway answers a connection over its user's cap with a refusal and
// closes it, off the accept loop: the client's request is read first (for
// a moment at most), or its HTTP client would take the answer for a stray
// one. Past a few at once, connections are closed without a word.
func (l *peerListener) turnAway(c net.Conn, why string) {
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
		body, _ := json.Marshal(api.Error{Exit: api.ExitNoCapacity, Message: why})
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
