package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// errNoAnswer is a daemon that took the request and did not begin its
// answer within the client's timeout.
var errNoAnswer = errors.New("no answer began within the timeout")

// roundTrip sends req and waits for the first byte of its answer at most
// c.timeout after the request is written. A daemon that is slow to finish
// (a large copy on plain directories) answers "102 Processing" first: its
// answer has begun. Nothing bounds the rest: the body is read for as long
// as it takes.
func (c *Client) roundTrip(req *http.Request) (*http.Response, error) {
	if c.timeout <= 0 {
		return c.http.Do(req)
	}
	ctx, cancel := context.WithCancel(req.Context())
	var began, expired atomic.Bool
	var mu sync.Mutex
	var timer *time.Timer
	trace := &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) {
			mu.Lock()
			defer mu.Unlock()
			timer = time.AfterFunc(c.timeout, func() {
				if !began.Load() {
					expired.Store(true)
					cancel()
				}
			})
		},
		GotFirstResponseByte: func() { began.Store(true) },
	}
	resp, err := c.http.Do(req.WithContext(httptrace.WithClientTrace(ctx, trace)))
	mu.Lock()
	if timer != nil {
		timer.Stop()
	}
	mu.Unlock()
	if err != nil {
		cancel()
		if expired.Load() {
			return nil, errNoAnswer
		}
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose ends a request's context when its answer is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
