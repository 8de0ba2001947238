package unixhttp

import (
	"fmt"
	"io"
	"strconv"
)

// Request is one request: Body is sent with its Content-Length, Stream
// (when Body is nil) with chunked transfer as it is read, for a `btrfs
// send` stream of unknown length.
type Request struct {
	Method      string
	Target      string // the path and query, escaped: /v1/leases?m=lin
	ContentType string // for a body or a stream
	Body        []byte
	Stream      io.Reader
}

// host names the daemon in the Host header that HTTP/1.1 requires; the
// daemon ignores it.
const host = "bmsched"

// head is the request line and the headers. A POST without a body says
// "Content-Length: 0", as net/http's client does.
func (r *Request) head() ([]byte, error) {
	if err := validTarget(r.Target); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 128+len(r.Target)+len(r.Body))
	b = append(b, r.Method...)
	b = append(b, ' ')
	b = append(b, r.Target...)
	b = append(b, " HTTP/1.1\r\nHost: "+host+"\r\nUser-Agent: bmsched\r\n"...)
	if r.ContentType != "" && (r.Body != nil || r.Stream != nil) {
		b = append(b, "Content-Type: "...)
		b = append(b, r.ContentType...)
		b = append(b, "\r\n"...)
	}
	switch {
	case r.Body == nil && r.Stream != nil:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	case r.Body != nil || r.Method == "POST" || r.Method == "PUT":
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(r.Body)), 10)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...), nil
}

// validTarget refuses a target that would break the request line: a
// space or a control character ends it early or injects a header.
func validTarget(t string) error {
	if t == "" || t[0] != '/' {
		return fmt.Errorf("request target %q: must begin with /", t)
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] == 0x7f {
			return fmt.Errorf("request target %q: byte %#x at %d must be escaped", t, t[i], i)
		}
	}
	return nil
}

// writeChunked sends src as chunks, then the last, empty chunk. An error
// reading src is a *SourceError, told from the connection's own.
func writeChunked(w io.Writer, src io.Reader) error {
	buf := make([]byte, 32<<10+16)
	for {
		// Room before the data for its size line, after it for CRLF.
		const pre = 10
		n, rerr := src.Read(buf[pre : len(buf)-2])
		if n > 0 {
			size := strconv.AppendInt(nil, int64(n), 16)
			start := pre - len(size) - 2
			copy(buf[start:], size)
			copy(buf[pre-2:], "\r\n")
			copy(buf[pre+n:], "\r\n")
			if _, err := w.Write(buf[start : pre+n+2]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			_, err := io.WriteString(w, "0\r\n\r\n")
			return err
		}
		if rerr != nil {
			return &SourceError{rerr}
		}
	}
}

// SourceError is a request stream that could not be read: the request
// failed here, not at the daemon.
type SourceError struct{ Err error }

func (e *SourceError) Error() string { return "read the request's stream: " + e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }
