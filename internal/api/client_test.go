package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
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

func TestDoDecodesTheAnswer(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		var req AcquireRequest
		if r.Header.Get("Content-Type") != "application/json" || decodeBody(r, &req) != nil {
			w.WriteHeader(400)
			return
		}
		w.WriteHeader(http.StatusProcessing)
		fmt.Fprintf(w, `{"id": 7, "path": "/m/%s-%s-007", "unknown": 1}`, req.Machine, req.Toolchain)
	})
	var l Lease
	if err := NewClientTimeout(sock, time.Second).Do(context.Background(), "POST", "/v1/acquire", AcquireRequest{Machine: "lin", Toolchain: "gcc"}, &l); err != nil {
		t.Fatal(err)
	}
	if l.ID != 7 || l.Path != "/m/lin-gcc-007" {
		t.Errorf("lease %+v", l)
	}
}

func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// The daemon's error keeps its exit code; an answer that is not one of
// its errors is exit 1, naming the status.
func TestDoDaemonErrors(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/refused" {
			w.WriteHeader(409)
			io.WriteString(w, `{"error": "machine default/lin is not active", "exit": 5}`)
			return
		}
		w.WriteHeader(502)
		io.WriteString(w, "<html>not ours</html>")
	})
	c := NewClient(sock)
	var e *Error
	if err := c.Do(context.Background(), "GET", "/v1/refused", nil, nil); !errors.As(err, &e) || e.Exit != ExitRefused || e.Message != "machine default/lin is not active" {
		t.Errorf("refused: %v", err)
	}
	err := c.Do(context.Background(), "GET", "/v1/other", nil, nil)
	if !errors.As(err, &e) || e.Exit != ExitFailed || e.Message != "GET /v1/other: daemon answered 502 Bad Gateway" {
		t.Errorf("foreign answer: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none")
	err := NewClient(sock).Do(context.Background(), "GET", "/v1/health", nil, nil)
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("got %v, want *UnreachableError", err)
	}
	if want := "no bmsched daemon answers on " + sock + " (connect: no such file or directory)"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q, want it to begin %q", err, want)
	}
}

// A daemon that closes the connection before answering may have carried
// the request out: exit 1, not 6, naming the command to check.
func TestClosedBeforeAnswering(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		c, _, _ := http.NewResponseController(w).Hijack()
		c.Close()
	})
	c := NewClient(sock)
	c.Doing = "bmsched acquire lin gcc"
	err := c.Do(context.Background(), "POST", "/v1/acquire", AcquireRequest{}, &Lease{})
	var e *Error
	if !errors.As(err, &e) || e.Exit != ExitFailed ||
		!strings.Contains(e.Message, "closed the connection before answering") || !strings.Contains(e.Message, "check `bmsched leases`") {
		t.Errorf("got %v", err)
	}
}

// An answer cut short is a daemon that stopped in the middle of it.
func TestStoppedWhileAnswering(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		c, bw, _ := http.NewResponseController(w).Hijack()
		bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"id\": 1,")
		bw.Flush()
		c.Close()
	})
	c := NewClient(sock)
	c.Doing = "bmsched acquire lin gcc"
	err := c.Do(context.Background(), "POST", "/v1/acquire", AcquireRequest{}, &Lease{})
	var e *Error
	if !errors.As(err, &e) || e.Exit != ExitFailed || !strings.Contains(e.Message, "stopped while running `acquire`") {
		t.Errorf("got %v", err)
	}
}

func TestNoAnswerInTime(t *testing.T) {
	release := make(chan bool)
	defer close(release)
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	err := NewClientTimeout(sock, 100*time.Millisecond).Do(context.Background(), "GET", "/v1/health", nil, nil)
	var e *Error
	if !errors.As(err, &e) || e.Exit != ExitUnreachable || !strings.Contains(e.Message, "did not begin its answer within --timeout 100ms") {
		t.Errorf("got %v", err)
	}
}

// An operator command's answer is progress lines, then its result; a
// stream sent with it arrives whole.
func TestOpResult(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "{\"progress\": \"received %d bytes\"}\n", len(b))
		w.(http.Flusher).Flush()
		io.WriteString(w, `{"done": "added", "result": {"op": "add", "message": "machine added", "actions": [], "events": [3]}}`+"\n")
	})
	var progress []string
	res, err := NewClient(sock).OpResult(context.Background(), "/v1/ops/add?machine=lin", strings.NewReader(strings.Repeat("x", 100_000)), func(s string) {
		progress = append(progress, s)
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Op != "add" || res.Message != "machine added" || len(res.Events) != 1 || strings.Join(progress, "|") != "received 100000 bytes" {
		t.Errorf("result %+v, progress %q", res, progress)
	}
}

// An operator command whose answer ends without an outcome was cut off by
// the daemon's stop.
func TestOpStopped(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "{\"progress\": \"switching\"}\n")
	})
	c := NewClient(sock)
	c.Doing = "bmsched upgrade lin --rev 2"
	_, err := c.Op(context.Background(), "/v1/ops/upgrade", nil, nil)
	var e *Error
	if !errors.As(err, &e) || e.Exit != ExitFailed || !strings.Contains(e.Message, "stopped while running `upgrade`") {
		t.Errorf("got %v", err)
	}
}
