package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/bmsched/bmsched/internal/unixhttp"
)

// DefaultSocket is where the daemon listens unless told otherwise.
const DefaultSocket = "/run/bmsched/bmsched.sock"

// Client talks to the daemon over its Unix socket, one connection a
// request: its programs are short-lived and make one or two. It speaks
// HTTP/1.1 through internal/unixhttp, not net/http, so that the CLI
// starts fast.
type Client struct {
	Socket string
	// Doing is the command line being run ("bmsched upgrade lin --rev
	// 2"), named to the user when the daemon stops in the middle of it.
	Doing   string
	timeout time.Duration
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
	return &Client{Socket: socket, timeout: timeout}
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

// rootCause is the system call's error ("connect: no such file or
// directory") without the layers that carried it.
func rootCause(err error) error {
	var de *dialError
	if errors.As(err, &de) {
		return de.err
	}
	return err
}

// Do sends a request with body encoded as JSON (unless nil) and decodes
// the answer into out (unless nil). A daemon error comes back as *Error.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	rd, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer rd.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, rd)
		return err
	}
	if err := json.NewDecoder(rd).Decode(out); err != nil {
		if isCutShort(err) {
			return c.stoppedError(method+" "+path, err)
		}
		return fmt.Errorf("decode answer to %s %s: %w", method, path, err)
	}
	return nil
}

// Raw sends a request and returns the whole body of a successful answer
// as the daemon wrote it: for --json, whose output is the daemon's JSON,
// written in the indented form the client prints, so that printing it
// costs no decode and no encode. A daemon error comes back as *Error.
func (c *Client) Raw(ctx context.Context, method, path string) ([]byte, error) {
	rd, err := c.send(ctx, method, path, nil)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil {
		if isCutShort(err) {
			return nil, c.stoppedError(method+" "+path, err)
		}
		return nil, fmt.Errorf("read answer to %s %s: %w", method, path, err)
	}
	return b, nil
}

// Stream sends a request and returns the body of a successful answer for
// the caller to read as it arrives (events --follow).
func (c *Client) Stream(ctx context.Context, method, path string) (io.ReadCloser, error) {
	return c.send(ctx, method, path, nil)
}

func (c *Client) send(ctx context.Context, method, path string, body any) (io.ReadCloser, error) {
	req, err := request(method, path, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.exchange(ctx, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, failure(resp, method+" "+path)
	}
	return resp.Body, nil
}

// exchange sends req and returns the answer, or the error that says
// whether the daemon could be reached and whether it took the request.
func (c *Client) exchange(ctx context.Context, req *unixhttp.Request) (*unixhttp.Response, error) {
	resp, err := c.roundTrip(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.transportError(req.Method, req.Target, err)
	}
	return resp, nil
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
	req := &unixhttp.Request{Method: "POST", Target: path, Stream: body}
	if body != nil {
		req.ContentType = "application/octet-stream"
	}
	resp, err := c.exchange(ctx, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, failure(resp, "POST "+path)
	}
	defer resp.Body.Close()
	return c.readOp(resp.Body, path, progress)
}

// readOp reads an operator command's lines up to its outcome.
func (c *Client) readOp(rd io.Reader, path string, progress func(string)) (*OpResult, error) {
	dec := json.NewDecoder(rd)
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
	var se *unixhttp.SourceError
	switch {
	case isDialError(err):
		return &UnreachableError{Socket: c.Socket, Err: err}
	case errors.Is(err, errNoAnswer):
		return &Error{Exit: ExitUnreachable, Message: fmt.Sprintf("%s %s: the daemon on %s did not begin its answer within --timeout %s (it may be overloaded or stuck); check `bmsched events`, then retry or raise --timeout", method, path, c.Socket, c.timeout)}
	case errors.As(err, &se):
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return c.closedError(method, path, rootCause(err))
}

// isCutShort reports an answer that ended before it was whole: the daemon
// stopped or crashed while sending it.
func isCutShort(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		(isSyscallError(err) && !errors.Is(err, os.ErrDeadlineExceeded))
}

// isSyscallError is a failed read or write on the connection.
func isSyscallError(err error) bool {
	var se *os.SyscallError
	var pe *os.PathError
	return errors.As(err, &se) || errors.As(err, &pe)
}
