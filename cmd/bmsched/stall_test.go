package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// stallMain is the program bmsched-stall SOCKET N: a hostile client that
// opens N connections to the daemon, each with a request whose headers
// are sent and whose body never ends, prints "ready" and holds them until
// its stdin closes; then it reports how the daemon treated them: refused
// (closed within 2s), timed out (closed later) or still open.
func stallMain() int {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: bmsched-stall SOCKET N")
		return 2
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	counts := map[string]int{}
	count := func(what string) { mu.Lock(); counts[what]++; mu.Unlock() }
	for range n {
		c, err := net.DialTimeout("unix", os.Args[1], time.Second)
		if err != nil {
			count("connect failed")
			continue
		}
		defer c.Close()
		opened := time.Now()
		if _, err := io.WriteString(c, "POST /v1/acquire HTTP/1.1\r\nHost: bmsched\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"machine\":"); err != nil {
			count("refused")
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The daemon's answer or its closing ends the read.
			_, _ = c.Read(make([]byte, 512))
			// Scripts give the daemon a 3s read timeout: a connection
			// closed well before was refused, one closed after timed out.
			if time.Since(opened) < 2*time.Second {
				count("refused")
			} else {
				count("timed out")
			}
		}()
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	mu.Lock()
	counts["still open"] = n - counts["connect failed"] - counts["refused"] - counts["timed out"]
	for _, k := range []string{"connect failed", "refused", "timed out", "still open"} {
		fmt.Printf("%s %d\n", k, counts[k])
	}
	mu.Unlock()
	return 0
}

// stalls are the running bmsched-stall processes, by script.
var stalls sync.Map // *testscript.TestScript → *stallProc

type stallProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// stall start USER N | stall stop: start bmsched-stall as USER (made by
// mkuser) against $SOCK and wait until its N requests are open; stop ends
// it and prints its report on stdout.
func cmdStall(ts *testscript.TestScript, neg bool, args []string) {
	usage := "usage: stall start USER N | stall stop"
	if neg || len(args) < 1 {
		ts.Fatalf("%s", usage)
	}
	switch args[0] {
	case "start":
		if len(args) != 3 {
			ts.Fatalf("%s", usage)
		}
		bin := publicBinaryFor(ts, "bmsched-stall")
		cmd := exec.Command("setpriv", "--reuid="+args[1], "--regid="+args[1], "--init-groups", bin, ts.Getenv("SOCK"), args[2])
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		ts.Check(err)
		stdout, err := cmd.StdoutPipe()
		ts.Check(err)
		ts.Check(cmd.Start())
		p := &stallProc{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
		stalls.Store(ts, p)
		ts.Defer(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
		line, err := p.out.ReadString('\n')
		if strings.TrimSpace(line) != "ready" {
			ts.Fatalf("bmsched-stall: %q, %v", line, err)
		}
	case "stop":
		v, ok := stalls.LoadAndDelete(ts)
		if !ok {
			ts.Fatalf("stall stop: no stall started")
		}
		p := v.(*stallProc)
		p.stdin.Close()
		report, err := io.ReadAll(p.out)
		ts.Check(err)
		ts.Check(p.cmd.Wait())
		fmt.Fprintf(ts.Stdout(), "%s", report)
	default:
		ts.Fatalf("%s", usage)
	}
}
