package unixhttp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// chunkedReader decodes a chunked body: a hexadecimal size line, that
// many bytes and CRLF, again, up to a chunk of size 0 and the trailers.
// The end of the connection before that is io.ErrUnexpectedEOF: the
// daemon stopped in the middle of its answer.
type chunkedReader struct {
	br   *bufio.Reader
	left int64 // of the current chunk
	done bool
	err  error
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.left == 0 {
		if c.err = c.nextChunk(); c.err != nil {
			return 0, c.err
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	if c.left == 0 && err == nil {
		err = c.endChunk()
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	c.err = err
	return n, err
}

// nextChunk reads a size line; at the last chunk it reads the trailers
// and the body ends, io.EOF.
func (c *chunkedReader) nextChunk() error {
	line, err := readLine(c.br)
	if err != nil {
		return cutShort(err)
	}
	size, _, _ := bytes.Cut(line, []byte(";")) // chunk extensions, unused
	n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("malformed chunk size %q", line)
	}
	if n > 0 {
		c.left = n
		return nil
	}
	for {
		t, err := readLine(c.br)
		if err != nil {
			return cutShort(err)
		}
		if len(t) == 0 {
			return io.EOF
		}
	}
}

// endChunk reads the CRLF after a chunk's data.
func (c *chunkedReader) endChunk() error {
	line, err := readLine(c.br)
	if err != nil {
		return cutShort(err)
	}
	if len(line) != 0 {
		return fmt.Errorf("chunk longer than its size line says")
	}
	return nil
}

func cutShort(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
