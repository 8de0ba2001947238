package server

import (
	"errors"
	"io"
	"net/http"
	"time"
)

// Defaults of the bounds on slow and idle clients (serve --read-timeout,
// --idle-timeout): a local client sends a request in microseconds.
const (
	DefaultReadTimeout = 10 * time.Second
	DefaultIdleTimeout = time.Minute
)

// bodyDeadline bounds the time to read a request's body to d, while
// leaving the handler as long as it needs to answer: net/http's
// ReadTimeout would instead stay armed through a long acquire --wait and
// end its request. The deadline is cleared once the body is read to its
// end; a handler that takes a stream (add --receive) clears it itself.
func bodyDeadline(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			h.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(d))
		r.Body = &clearAtEOF{ReadCloser: r.Body, rc: rc}
		h.ServeHTTP(w, r)
	})
}

type clearAtEOF struct {
	io.ReadCloser
	rc *http.ResponseController
}

func (b *clearAtEOF) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// noReadDeadline lifts the body's deadline from a request whose body is a
// stream that takes as long as it takes (a btrfs send stream).
func noReadDeadline(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
}
