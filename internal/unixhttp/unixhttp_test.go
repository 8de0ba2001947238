package unixhttp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serve runs a net/http server, as the daemon does, on a Unix socket and
// returns the socket's path.
func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock
}

// do dials sock and sends req, failing the test on a dial error.
func do(t *testing.T, ctx context.Context, sock string, req *Request, firstByte time.Duration) (*Response, error) {
	t.Helper()
	conn, err := Dial(sock)
	if err != nil {
		t.Fatalf("dial %s: %v", sock, err)
	}
	return Do(ctx, conn, req, firstByte)
}

func readAll(t *testing.T, resp *Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

func TestPostWithLength(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %q %d %s %s", r.Method, r.URL.RequestURI(), r.Header.Get("Content-Type"), r.ContentLength, r.Host, b)
	})
	resp, err := do(t, context.Background(), sock, &Request{Method: "POST", Target: "/v1/acquire?x=a%2Fb", ContentType: "application/json", Body: []byte(`{"a":1}`)}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := `POST /v1/acquire?x=a%2Fb "application/json" 7 bmsched {"a":1}`
	if got := readAll(t, resp); resp.StatusCode != 200 || resp.Status != "200 OK" || got != want {
		t.Errorf("answer %d %q %q, want 200 %q", resp.StatusCode, resp.Status, got, want)
	}
}

func TestPostWithoutBodyHasLengthZero(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d %v", r.ContentLength, r.TransferEncoding)
	})
	resp, err := do(t, context.Background(), sock, &Request{Method: "POST", Target: "/v1/ops/gc"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); got != "0 []" {
		t.Errorf("a POST without a body reached the server as %q, want length 0, not chunked", got)
	}
}

func TestErrorStatus(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(409)
		io.WriteString(w, `{"error":"no","exit":5}`)
	})
	resp, err := do(t, context.Background(), sock, &Request{Method: "GET", Target: "/v1/x"}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); resp.StatusCode != 409 || resp.Status != "409 Conflict" || got != `{"error":"no","exit":5}` {
		t.Errorf("answer %d %q %q", resp.StatusCode, resp.Status, got)
	}
}

// A chunked answer, flushed line by line, arrives line by line.
func TestChunkedStream(t *testing.T) {
	next := make(chan bool)
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		for i := range 3 {
			fmt.Fprintf(w, "line %d\n", i)
			w.(http.Flusher).Flush()
			<-next
		}
	})
	resp, err := do(t, context.Background(), sock, &Request{Method: "GET", Target: "/v1/events/follow"}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	for i := range 3 {
		n, err := io.ReadAtLeast(resp.Body, buf, len("line 0\n"))
		if err != nil || string(buf[:n]) != fmt.Sprintf("line %d\n", i) {
			t.Fatalf("read %q, %v; want line %d alone, before the next is written", buf[:n], err, i)
		}
		next <- true
	}
	if n, err := resp.Body.Read(buf); n != 0 || err != io.EOF {
		t.Errorf("after the last chunk: %d bytes, %v; want io.EOF", n, err)
	}
}

// "102 Processing" is the answer's first byte: the bound is met, and the
// final answer may come later than it.
func TestProcessingMeetsTheBound(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusProcessing)
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "done")
	})
	resp, err := do(t, context.Background(), sock, &Request{Method: "POST", Target: "/v1/acquire", Body: []byte("{}")}, 100*time.Millisecond)
	if err != nil {
		t.Fatalf("slow answer after 102: %v", err)
	}
	if got := readAll(t, resp); resp.StatusCode != 200 || got != "done" {
		t.Errorf("answer %d %q, want 200 done", resp.StatusCode, got)
	}
}

func TestNoAnswerWithinTheBound(t *testing.T) {
	release := make(chan bool)
	defer close(release)
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	start := time.Now()
	_, err := do(t, context.Background(), sock, &Request{Method: "GET", Target: "/v1/health"}, 100*time.Millisecond)
	if !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("got %v, want ErrNoAnswer", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %s, want about 100ms", d)
	}
}

// A stream is sent chunked, whole, and the bound starts once it is sent.
func TestStreamedRequest(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		fmt.Fprintf(w, "%v %q %d %x %v", r.TransferEncoding, r.Header.Get("Content-Type"), n, h.Sum(nil), err)
	})
	data := bytes.Repeat([]byte("0123456789abcdef"), 100_000) // 1.6 MB, many chunks
	resp, err := do(t, context.Background(), sock, &Request{Method: "POST", Target: "/v1/ops/add", ContentType: "application/octet-stream",
		Stream: &slowReader{r: bytes.NewReader(data), every: 20, pause: 10 * time.Millisecond}}, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("[chunked] %q %d %x <nil>", "application/octet-stream", len(data), sha256.Sum256(data))
	if got := readAll(t, resp); got != want {
		t.Errorf("server saw %s, want %s", got, want)
	}
}

// slowReader pauses every few reads: a stream that takes longer to send
// than the bound on the answer.
type slowReader struct {
	r     io.Reader
	n     int
	every int
	pause time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	if s.n++; s.n%s.every == 0 {
		time.Sleep(s.pause)
	}
	return s.r.Read(p)
}

// A refusal answered before the stream is taken is the answer, not a
// broken pipe.
func TestRefusalBeforeTheStream(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(403)
		io.WriteString(w, `{"error":"operators only","exit":5}`)
	})
	endless := io.MultiReader(bytes.NewReader(make([]byte, 64<<20)))
	resp, err := do(t, context.Background(), sock, &Request{Method: "POST", Target: "/v1/ops/add", Stream: endless}, time.Second)
	if err != nil {
		t.Fatalf("refused stream: %v, want the 403 answer", err)
	}
	if got := readAll(t, resp); resp.StatusCode != 403 || !strings.Contains(got, "operators only") {
		t.Errorf("answer %d %q", resp.StatusCode, got)
	}
}

// A stream that cannot be read fails the request with its own error.
func TestStreamReadError(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		_, err := io.Copy(io.Discard, r.Body)
		if err == nil {
			io.WriteString(w, "took a broken stream whole")
		}
	})
	boom := errors.New("disk on fire")
	_, err := do(t, context.Background(), sock, &Request{Method: "POST", Target: "/v1/ops/add",
		Stream: io.MultiReader(strings.NewReader("some"), &failingReader{boom})}, time.Second)
	var se *SourceError
	if !errors.As(err, &se) || !errors.Is(err, boom) {
		t.Errorf("got %v, want a *SourceError wrapping %v", err, boom)
	}
}

type failingReader struct{ err error }

func (f *failingReader) Read([]byte) (int, error) { return 0, f.err }

// hijacked answers with raw bytes, then closes the connection.
func hijacked(raw string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		bw.WriteString(raw)
		bw.Flush()
		c.Close()
	}
}

func TestClosedBeforeAnswering(t *testing.T) {
	sock := serve(t, hijacked(""))
	_, err := do(t, context.Background(), sock, &Request{Method: "POST", Target: "/v1/acquire", Body: []byte("{}")}, time.Second)
	if !errors.Is(err, io.EOF) {
		t.Errorf("got %v, want io.EOF: the daemon closed before any answer", err)
	}
}

// A body that ends before its framing says is io.ErrUnexpectedEOF.
func TestCutShort(t *testing.T) {
	for name, raw := range map[string]string{
		"chunked":    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nab",
		"chunk size": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
		"length":     "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
		"head":       "HTTP/1.1 200 OK\r\nContent-Len",
	} {
		t.Run(name, func(t *testing.T) {
			sock := serve(t, hijacked(raw))
			resp, err := do(t, context.Background(), sock, &Request{Method: "GET", Target: "/v1/list"}, time.Second)
			if err == nil {
				defer resp.Body.Close()
				_, err = io.ReadAll(resp.Body)
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("got %v, want io.ErrUnexpectedEOF", err)
			}
		})
	}
}

// An answer without a length ends with the connection.
func TestUntilClose(t *testing.T) {
	sock := serve(t, hijacked("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it"))
	resp, err := do(t, context.Background(), sock, &Request{Method: "GET", Target: "/v1/list"}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); got != "all of it" {
		t.Errorf("body %q", got)
	}
}

// Cancelling the context ends a stream being read, with its error.
func TestCancelWhileReading(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := do(t, ctx, sock, &Request{Method: "GET", Target: "/v1/events/follow"}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v, want context.Canceled", err)
	}
}

// Cancelling the context ends the wait for an answer.
func TestCancelWhileWaiting(t *testing.T) {
	release := make(chan bool)
	defer close(release)
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := do(t, ctx, sock, &Request{Method: "GET", Target: "/v1/health"}, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestDialNoSocket(t *testing.T) {
	_, err := Dial(filepath.Join(t.TempDir(), "none"))
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "connect" || !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("got %v, want connect: ENOENT", err)
	}
	if got, want := err.Error(), "connect: no such file or directory"; got != want {
		t.Errorf("message %q, want %q (as package net says it)", got, want)
	}
}

func TestBadTarget(t *testing.T) {
	for _, target := range []string{"", "v1/list", "/v1/list?m=a b", "/v1/x\r\nX-Evil: 1"} {
		if _, err := (&Request{Method: "GET", Target: target}).head(); err == nil {
			t.Errorf("target %q was accepted", target)
		}
	}
}
