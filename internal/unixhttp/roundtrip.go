package unixhttp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// ErrNoAnswer is a daemon that took the request and did not begin its
// answer within the bound given to Do.
var ErrNoAnswer = errors.New("no answer began within the timeout")

// Conn is what Do speaks over: an *os.File from Dial, or a net.Conn.
type Conn interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	Close() error
	SetDeadline(t time.Time) error
	SetReadDeadline(t time.Time) error
}

// Do sends req over conn, which it owns from then on, and reads the head
// of the answer, passing over interim (1xx) ones. firstByte bounds the
// wait for the answer's first byte once the request is written (0 for no
// bound): a "102 Processing" counts, and nothing bounds the rest of the
// answer. A stream is written while the answer is read, so that an
// answer the daemon gives before taking the whole stream (a refusal) is
// seen. Cancelling ctx ends the exchange, the reading of the body
// included, with ctx's error. Closing the body closes conn.
func Do(ctx context.Context, conn Conn, req *Request, firstByte time.Duration) (*Response, error) {
	ex := &exchange{conn: conn, ctx: ctx}
	ex.stopCancel = context.AfterFunc(ctx, ex.cancel)
	resp, err := ex.roundTrip(req, firstByte)
	if err != nil {
		ex.close()
		return nil, err
	}
	return resp, nil
}

// exchange is one request and its answer on a connection of its own.
type exchange struct {
	conn       Conn
	ctx        context.Context
	stopCancel func() bool

	mu        sync.Mutex
	cancelled bool
	bounded   bool       // a deadline on the first byte was set
	began     bool       // the first byte came: no deadline any more
	wrote     chan error // a stream's writer's outcome
}

// cancel interrupts whatever the exchange is blocked in.
func (ex *exchange) cancel() {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	ex.cancelled = true
	_ = ex.conn.SetDeadline(time.Unix(1, 0))
}

func (ex *exchange) roundTrip(req *Request, firstByte time.Duration) (*Response, error) {
	head, err := req.head()
	if err != nil {
		return nil, err
	}
	if req.Body == nil && req.Stream != nil {
		err = ex.writeStreamed(head, req, firstByte)
	} else {
		_, err = ex.conn.Write(append(head, req.Body...))
		ex.armFirstByte(firstByte)
	}
	if err != nil {
		return nil, ex.failed(err)
	}
	br := bufio.NewReaderSize(ex.conn, 16<<10)
	if _, err := br.Peek(1); err != nil {
		return nil, ex.failed(err)
	}
	ex.mu.Lock()
	ex.began = true
	if !ex.cancelled {
		_ = ex.conn.SetReadDeadline(time.Time{})
	}
	ex.mu.Unlock()
	for {
		code, status, fr, err := readHead(br)
		if err != nil {
			return nil, ex.failed(err)
		}
		if code >= 200 {
			return &Response{StatusCode: code, Status: status, Body: &body{ex: ex, r: bodyReader(br, code, fr)}}, nil
		}
	}
}

// armFirstByte starts the bound on the wait for the answer, unless it
// has begun already (a refusal before the whole stream was sent) or the
// exchange is cancelled, whose deadline in the past must stay.
func (ex *exchange) armFirstByte(d time.Duration) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if d <= 0 || ex.began || ex.cancelled {
		return
	}
	ex.bounded = true
	_ = ex.conn.SetReadDeadline(time.Now().Add(d))
}

// writeStreamed sends the head, then the stream from another goroutine
// while the caller reads the answer.
func (ex *exchange) writeStreamed(head []byte, req *Request, firstByte time.Duration) error {
	if _, err := ex.conn.Write(head); err != nil {
		return err
	}
	ex.wrote = make(chan error, 1)
	go func() {
		err := writeChunked(ex.conn, req.Stream)
		ex.wrote <- err
		var se *SourceError
		switch {
		case err == nil:
			ex.armFirstByte(firstByte)
		case errors.As(err, &se):
			// The daemon waits for the rest of the stream: stop
			// waiting for its answer.
			_ = ex.conn.SetReadDeadline(time.Unix(1, 0))
		}
	}()
	return nil
}

// failed is the error that ends the exchange: the context's when it was
// cancelled, ErrNoAnswer when the first byte did not come in time, the
// stream's when reading it failed, else err.
func (ex *exchange) failed(err error) error {
	ex.mu.Lock()
	cancelled, bounded := ex.cancelled, ex.bounded
	ex.mu.Unlock()
	switch {
	case cancelled:
		return ex.ctx.Err()
	case bounded && errors.Is(err, os.ErrDeadlineExceeded):
		return ErrNoAnswer
	}
	if ex.wrote != nil {
		var se *SourceError
		select {
		case werr := <-ex.wrote:
			if errors.As(werr, &se) {
				return se
			}
		default:
		}
	}
	return err
}

func (ex *exchange) close() error {
	ex.stopCancel()
	return ex.conn.Close()
}

// body is an answer's body; reading it after the context is cancelled
// fails with the context's error.
type body struct {
	ex *exchange
	r  io.Reader
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && b.ex.ctx.Err() != nil {
		b.ex.mu.Lock()
		cancelled := b.ex.cancelled
		b.ex.mu.Unlock()
		if cancelled {
			err = b.ex.ctx.Err()
		}
	}
	return n, err
}

func (b *body) Close() error { return b.ex.close() }
