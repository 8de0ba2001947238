package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bmsched/bmsched/internal/loopbtrfs"
)

// The demo runs for a normal user, on plain directories, and cleans up.
func TestDemoAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a user to run the demo as")
	}
	u, err := makeTestUser("bmstother")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cmd := exec.Command(publicBinary(t), "demo")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/", "GORACE=" + os.Getenv("GORACE")}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	tmp := demoTmp(t, stdout.String())
	t.Cleanup(func() { scrubDemo(t, tmp) })
	if err != nil {
		t.Fatalf("demo as uid %d: %v\nstdout:\n%s\nstderr:\n%s", uid, err, stdout.String(), stderr.String())
	}
	for _, want := range []string{"# bmsched demo on plain directories", "linux-gcc_6-gcc-001", "# demo done"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, stdout.String())
		}
	}
	assertDemoClean(t, tmp)
}

// An interrupted demo (SIGINT, SIGTERM, or SIGPIPE from `bmsched demo |
// head`) stops its daemon and gives back its loop device, its mount and
// its temporary directory.
func TestDemoCleansUpOnSignal(t *testing.T) {
	bin := publicBinary(t)
	for _, kind := range []string{"plain", "btrfs"} {
		t.Run(kind, func(t *testing.T) {
			if kind == "btrfs" {
				if err := loopbtrfs.Available(); err != nil {
					t.Skipf("no loop-mounted btrfs: %v", err)
				}
			}
			for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE} {
				t.Run(sig.String(), func(t *testing.T) { interruptDemo(t, bin, kind, sig) })
			}
		})
	}
}

// interruptDemo starts the demo, stops it once it has laid out its
// volume and started its daemon, and sends sig (for SIGPIPE: closes the
// pipe its output goes to) before letting it go on.
func interruptDemo(t *testing.T, bin, kind string, sig syscall.Signal) {
	args := []string{"demo"}
	if kind == "plain" {
		args = append(args, "--plain")
	}
	cmd := exec.Command(bin, args...)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	out := bufio.NewReader(r)
	first, err := out.ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("demo printed no first line: %v; stderr:\n%s", err, stderr.String())
	}
	tmp := demoTmp(t, first)
	t.Cleanup(func() { scrubDemo(t, tmp) })
	must(t, cmd.Process.Signal(syscall.SIGSTOP))
	if sig == syscall.SIGPIPE {
		r.Close()
	} else {
		must(t, cmd.Process.Signal(sig))
	}
	must(t, cmd.Process.Signal(syscall.SIGCONT))
	rest, _ := io.ReadAll(out)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("demo still running 60s after %v", sig)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "demo interrupted") {
		t.Errorf("demo after %v: %v; want exit 1, \"demo interrupted\"; stderr:\n%s", sig, err, stderr.String())
	}
	if strings.Contains(string(rest), "# demo done") {
		t.Errorf("demo ran to the end despite %v", sig)
	}
	assertDemoClean(t, tmp)
}

var demoDir = regexp.MustCompile(`# bmsched demo on .* in (/\S*/bmsched-demo-[^/\s]+)`)

// demoTmp finds the demo's temporary directory in its first line.
func demoTmp(t *testing.T, out string) string {
	t.Helper()
	m := demoDir.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no temporary directory in the demo's output:\n%s", out)
	}
	return m[1]
}

// assertDemoClean checks that nothing of the demo under tmp is left:
// no directory, no mount, no loop device.
func assertDemoClean(t *testing.T, tmp string) {
	t.Helper()
	if _, err := os.Lstat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("demo left its temporary directory %s (%v)", tmp, err)
	}
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil && strings.Contains(string(mi), tmp) {
		t.Errorf("demo left a mount under %s", tmp)
	}
	if out, err := exec.Command("losetup", "-a").Output(); err == nil && strings.Contains(string(out), tmp) {
		t.Errorf("demo left a loop device on an image under %s:\n%s", tmp, out)
	}
}

// scrubDemo removes what a failing demo left under tmp, so that a
// failing test costs the machine no loop device.
func scrubDemo(t *testing.T, tmp string) {
	mnt := filepath.Join(tmp, "loop", "mnt")
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), mnt) {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v: %s", mnt, err, out)
		}
	}
	img := filepath.Join(tmp, "loop", "btrfs.img")
	if out, _ := exec.Command("losetup", "-j", img).Output(); len(out) > 0 {
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			dev, _, _ := strings.Cut(line, ":")
			if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
				t.Logf("losetup -d %s: %v: %s", dev, err, out)
			}
		}
	}
	os.RemoveAll(tmp)
}
