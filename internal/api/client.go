package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// DefaultSocket is where the daemon listens unless told otherwise.
const DefaultSocket = "/run/bmsched/bmsched.sock"

// Client talks to the daemon over its Unix socket.
type Client struct {
	Socket string
	// Doing is the command line being run ("bmsched upgrade lin --rev
	// 2"), named to the user when the daemon stops in the middle of it.
	Doing   string
	timeout time.Duration
	http    *http.Client
}

// NewClient returns a client of the daemon listening on socket, with no
// bound on how long it waits.
func NewClient(socket string) *Client { return NewClientTimeout(socket, 0) }

// NewClientTimeout returns a client that gives up (exit 6) when the daemon
// does not accept its connection, or does not begin its answer, within
// timeout; 0 for no bound. The bound covers nothing else: not the upload
// of a request's body (a send stream), nor an answer once it has begun
// (progress, an event stream, a "102 Processing" before a slow acquire).
// A request that asks the daemon to wait gets a timeout that includes
// the wait.
func NewClientTimeout(socket string, timeout time.Duration) *Client {
	return &Client{
		Socket:  socket,
		timeout: timeout,
		http: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialBusy(ctx, socket, timeout)
			},
			// Clients are short-lived; one connection is all they use.
			MaxIdleConns:    1,
			IdleConnTimeout: 30 * time.Second,
		}},
	}
}

// UnreachableError says that no daemon answers on the socket.
type UnreachableError struct {
	Socket string
	Err    error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("no bmsched daemon answers on %s (%v); start one with `bmsched serve --machines DIR --db FILE --socket %s`, or point --socket or BMSCHED_SOCKET at the running one", e.Socket, rootCause(e.Err), e.Socket)
}
func (e *UnreachableError) Unwrap() error { return e.Err }

func rootCause(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// Do sends a request with body encoded as JSON (unless nil) and decodes
// the answer into out (unless nil). A daemon error comes back as *Error.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if isCutShort(err) {
			return c.stoppedError(method+" "+path, err)
		}
		return fmt.Errorf("decode answer to %s %s: %w", method, path, err)
	}
	return nil
}

// Stream sends a request and returns the body of a successful answer for
// the caller to read as it arrives (events --follow).
func (c *Client) Stream(ctx context.Context, method, path string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, method, path, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func (c *Client) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://bmsched"+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.roundTrip(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.transportError(method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	var e Error
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Message == "" {
		return nil, &Error{Message: fmt.Sprintf("%s %s: daemon answered %s", method, path, resp.Status), Exit: ExitFailed}
	}
	if e.Exit == 0 {
		e.Exit = ExitFailed
	}
	return nil, &e
}

// Op sends an operator command and reads its streamed answer, handing
// each progress line to progress; it returns the final message, or the
// command's error with its exit code.
func (c *Client) Op(ctx context.Context, path string, body io.Reader, progress func(string)) (string, error) {
	res, err := c.OpResult(ctx, path, body, progress)
	if err != nil {
		return "", err
	}
	return res.Message, nil
}

// OpResult is Op returning the command's whole result. A daemon that
// sends only the final message gives a result with that alone.
func (c *Client) OpResult(ctx context.Context, path string, body io.Reader, progress func(string)) (*OpResult, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", "http://bmsched"+path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := c.roundTrip(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.transportError("POST", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e Error
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Message == "" {
			return nil, &Error{Message: fmt.Sprintf("POST %s: daemon answered %s", path, resp.Status), Exit: ExitFailed}
		}
		return nil, &e
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var line OpLine
		if err := dec.Decode(&line); err != nil {
			if errors.Is(err, io.EOF) || isCutShort(err) {
				return nil, c.stoppedError("POST "+path, err)
			}
			return nil, fmt.Errorf("read answer to %s: %w", path, err)
		}
		switch {
		case line.Error != "":
			return nil, &Error{Message: line.Error, Exit: line.Exit}
		case line.Result != nil:
			return line.Result, nil
		case line.Done != "":
			return &OpResult{Message: line.Done, Actions: []OpAction{}, Events: []uint64{}}, nil
		case line.Progress != "" && progress != nil:
			progress(line.Progress)
		}
	}
}

// transportError tells a daemon that cannot be reached (exit 6) from one
// that went away after taking the request (exit 1): then the request may
// have been carried out, and retrying blindly could do it twice.
func (c *Client) transportError(method, path string, err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return &UnreachableError{Socket: c.Socket, Err: err}
	}
	if errors.Is(err, errNoAnswer) {
		return &Error{Exit: ExitUnreachable, Message: fmt.Sprintf("%s %s: the daemon on %s did not begin its answer within --timeout %s (it may be overloaded or stuck); check `bmsched events`, then retry or raise --timeout", method, path, c.Socket, c.timeout)}
	}
	return c.closedError(method, path, rootCause(err))
}

// isCutShort reports an answer that ended before it was whole: the daemon
// stopped or crashed while sending it.
func isCutShort(err error) bool {
	var ne net.Error
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		(errors.As(err, &ne) && !ne.Timeout())
}
