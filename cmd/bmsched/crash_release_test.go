//go:build !bmsched_crash

package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/crash"
)

// TestReleaseDaemonIgnoresCrashPoint: a daemon built without the tag
// bmsched_crash (this test binary as bmschedd, not the tagged one the
// scripts use) carries out an add with add-start armed, and stops only
// when asked.
func TestReleaseDaemonIgnoresCrashPoint(t *testing.T) {
	// bmsched, with this binary as the bmschedd beside it.
	bin := publicBinary(t)
	dir := t.TempDir()
	machines := filepath.Join(dir, "machines")
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(machines, "default"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := btrfs.NewPlain().Create(src); err != nil {
		t.Fatal(err)
	}
	// Unix socket paths are limited to 108 bytes; TempDir can be longer.
	sockDir, err := os.MkdirTemp("", "bms")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "s")
	env := []string{crash.EnvVar + "=add-start", "BMSCHED_SOCKET=" + sock}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, crashDaemonEnv+"=") && !strings.HasPrefix(kv, crash.EnvVar+"=") {
			env = append(env, kv)
		}
	}

	d := exec.Command(bin, "serve", "--machines", machines, "--db", filepath.Join(dir, "db"), "--socket", sock, "--driver", "plain")
	d.Env = env
	logPath := filepath.Join(dir, "daemon.log")
	dlog, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer dlog.Close()
	d.Stdout, d.Stderr = dlog, dlog
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Wait() }()
	t.Cleanup(func() {
		d.Process.Kill()
		<-done
	})
	waitSocket(t, sock, done)

	add := exec.Command(bin, "add", "m1", "--rev", "1", "--from", src)
	add.Env = env
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("add with %s=add-start in a release build: %v\n%s\ndaemon:\n%s", crash.EnvVar, err, out, daemonLog(logPath))
	}
	if _, err := os.Stat(filepath.Join(machines, "default", "m1", "m1-1")); err != nil {
		t.Errorf("add with %s=add-start in a release build: %v", crash.EnvVar, err)
	}
	if err := d.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatalf("daemon gone after the add (crashed at add-start?): %v\n%s", err, daemonLog(logPath))
	}
	if err := <-done; err != nil {
		t.Errorf("daemon stopped with %v after SIGINT, want exit 0\n%s", err, daemonLog(logPath))
	}
	done <- nil // for the cleanup
}

// waitSocket waits until a daemon answers on sock, failing if it exits
// first or takes over 20s.
func waitSocket(t *testing.T, sock string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-done:
			t.Fatalf("daemon exited before answering on %s: %v", sock, err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no daemon answers on %s after 20s: %v", sock, err)
		}
	}
}

// daemonLog is what the daemon wrote, for a failure's message.
func daemonLog(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
