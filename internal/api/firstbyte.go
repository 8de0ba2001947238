package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/bmsched/bmsched/internal/unixhttp"
)

// errNoAnswer is a daemon that took the request and did not begin its
// answer within the client's timeout.
var errNoAnswer = unixhttp.ErrNoAnswer

// roundTrip connects and sends req, and waits for the first byte of its
// answer at most c.timeout after the request is written. A daemon that is
// slow to finish (a large copy on plain directories) answers "102
// Processing" first: its answer has begun. Nothing bounds the rest: the
// body is read for as long as it takes.
func (c *Client) roundTrip(ctx context.Context, req *unixhttp.Request) (*unixhttp.Response, error) {
	conn, err := dialBusy(ctx, c.Socket, c.timeout)
	if err != nil {
		return nil, err
	}
	return unixhttp.Do(ctx, conn, req, c.timeout)
}

// request is a request with body encoded as JSON, unless nil.
func request(method, path string, body any) (*unixhttp.Request, error) {
	req := &unixhttp.Request{Method: method, Target: path}
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		req.Body, req.ContentType = buf, "application/json"
	}
	return req, nil
}

// failure is the error a daemon answered with in resp, which it closes;
// what names the request.
func failure(resp *unixhttp.Response, what string) error {
	defer resp.Body.Close()
	var e Error
	if err := json.NewDecoder(io.LimitReader(resp.Body, MaxBody)).Decode(&e); err != nil || e.Message == "" {
		return &Error{Message: what + ": daemon answered " + resp.Status, Exit: ExitFailed}
	}
	if e.Exit == 0 {
		e.Exit = ExitFailed
	}
	return &e
}

// isDialError says the request was never sent: no daemon took it.
func isDialError(err error) bool {
	var de *dialError
	return errors.As(err, &de)
}
