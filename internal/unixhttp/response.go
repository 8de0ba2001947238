package unixhttp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// maxHead bounds the status line and headers of an answer: the daemon's
// are a few hundred bytes.
const maxHead = 64 << 10

// Response is an answer's status and its body, read as it arrives.
type Response struct {
	StatusCode int
	Status     string // "503 Service Unavailable"
	Body       io.ReadCloser
}

// framing is how an answer's body ends.
type framing struct {
	chunked bool
	length  int64 // -1: until the connection ends
}

// readHead reads one answer's status line and headers.
func readHead(br *bufio.Reader) (code int, status string, fr framing, err error) {
	fr.length = -1
	line, err := readLine(br)
	if err != nil {
		return 0, "", fr, err
	}
	proto, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || !bytes.HasPrefix(proto, []byte("HTTP/1.")) || len(rest) < 3 {
		return 0, "", fr, fmt.Errorf("malformed status line %q", line)
	}
	code, err = strconv.Atoi(string(rest[:3]))
	if err != nil || code < 100 {
		return 0, "", fr, fmt.Errorf("malformed status line %q", line)
	}
	status = string(bytes.TrimSpace(rest))
	for n := len(line); ; {
		h, err := readLine(br)
		if err != nil {
			return 0, "", fr, err
		}
		if n += len(h); n > maxHead {
			return 0, "", fr, fmt.Errorf("answer's headers longer than %d bytes", maxHead)
		}
		if len(h) == 0 {
			return code, status, fr, nil
		}
		if err := fr.header(h); err != nil {
			return 0, "", fr, err
		}
	}
}

// header takes in one header line, noting those that frame the body.
func (fr *framing) header(h []byte) error {
	name, value, ok := bytes.Cut(h, []byte(":"))
	if !ok {
		return fmt.Errorf("malformed header %q", h)
	}
	value = bytes.TrimSpace(value)
	switch {
	case bytes.EqualFold(name, []byte("Transfer-Encoding")):
		if !bytes.EqualFold(value, []byte("chunked")) {
			return fmt.Errorf("unsupported Transfer-Encoding %q", value)
		}
		fr.chunked = true
	case bytes.EqualFold(name, []byte("Content-Length")):
		n, err := strconv.ParseInt(string(value), 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("malformed Content-Length %q", value)
		}
		fr.length = n
	}
	return nil
}

// readLine reads a line without its CRLF (or bare LF). An answer that ends
// before the line does is cut short: io.ErrUnexpectedEOF, unless nothing
// of it came, io.EOF.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("answer line longer than %d bytes", br.Size())
	}
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// bodyReader reads the body that fr frames; code says whether there is
// one at all.
func bodyReader(br *bufio.Reader, code int, fr framing) io.Reader {
	switch {
	case code == 204 || code == 304:
		return eofReader{}
	case fr.chunked:
		return &chunkedReader{br: br}
	case fr.length >= 0:
		return &lengthReader{r: br, left: fr.length}
	}
	return br
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// lengthReader reads exactly left bytes: fewer is an answer cut short.
type lengthReader struct {
	r    io.Reader
	left int64
}

func (l *lengthReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if errors.Is(err, io.EOF) && l.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	if l.left == 0 && err == nil {
		err = io.EOF
	}
	return n, err
}
