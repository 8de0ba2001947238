package server

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net/http"
)

// arrayStream writes a JSON object whose first field is a long array
// element by element, so that a large answer (every machine, every lease)
// is never held whole in memory. The bytes are those writeJSON writes for
// the same object: the client, and scripts that read the JSON, cannot
// tell the difference.
type arrayStream struct {
	w   *bufio.Writer
	n   int // elements written
	err error
}

// startArray begins the answer: the object and its array field name.
func startArray(w http.ResponseWriter, field string) *arrayStream {
	w.Header().Set("Content-Type", "application/json")
	s := &arrayStream{w: bufio.NewWriterSize(w, 32<<10)}
	s.raw("{\n  " + quote(field) + ": [")
	return s
}

// add writes one element of the array.
func (s *arrayStream) add(v any) {
	buf, err := json.MarshalIndent(v, "    ", "  ")
	if err != nil && s.err == nil {
		s.err = err
	}
	s.addRaw(buf)
}

// addRaw writes one element already encoded as add would encode it.
func (s *arrayStream) addRaw(buf []byte) {
	if s.n > 0 {
		s.raw(",")
	}
	s.raw("\n    ")
	s.bytes(buf)
	s.n++
}

// field ends the array if needed and writes a later field of the object;
// an empty v (as omitempty would drop it) is left out.
func (s *arrayStream) field(name string, v any, empty bool) {
	s.closeArray()
	if empty {
		return
	}
	buf, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil && s.err == nil {
		s.err = err
	}
	s.raw(",\n  " + quote(name) + ": ")
	s.bytes(buf)
}

// end finishes the object and flushes it.
func (s *arrayStream) end() error {
	s.closeArray()
	s.raw("\n}\n")
	if err := s.w.Flush(); err != nil && s.err == nil {
		s.err = err
	}
	return s.err
}

func (s *arrayStream) closeArray() {
	if s.n < 0 {
		return
	}
	if s.n > 0 {
		s.raw("\n  ")
	}
	s.raw("]")
	s.n = -1
}

func (s *arrayStream) raw(str string) {
	if _, err := s.w.WriteString(str); err != nil && s.err == nil {
		s.err = err
	}
}

func (s *arrayStream) bytes(b []byte) {
	if _, err := s.w.Write(b); err != nil && s.err == nil {
		s.err = err
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// streamPage is how many records a streamed answer reads in one
// transaction.
const streamPage = 256

// abortStream ends an answer whose head is sent already: a status can no
// longer say that it failed, so the connection is cut, and the client
// reports a truncated answer rather than taking part of it for the whole.
func abortStream(what string, err error, log *slog.Logger) {
	log.Error("read the database while answering", "answer", what, "err", err)
	panic(http.ErrAbortHandler)
}
