package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bmsched/bmsched/internal/api"
	"github.com/bmsched/bmsched/internal/btrfs"
	"github.com/bmsched/bmsched/internal/loopbtrfs/loopbtrfstest"
	"github.com/bmsched/bmsched/internal/server"
)

// publicBinary copies this test binary, which runs as bmsched under that
// name (see TestMain), to a directory every user may read, so that it can
// run as another uid.
func publicBinary(t testing.TB) string {
	t.Helper()
	dir := publicDir(t)
	bin := copyTestBinary(t, dir)
	// bmsched runs bmschedd, found beside it, for serve, demo and db.
	if err := os.Link(bin, filepath.Join(dir, "bmschedd")); err != nil {
		t.Fatal(err)
	}
	return bin
}

// copyTestBinary copies this test binary, which runs as bmsched under
// that name (see TestMain), to dir/bmsched.
func copyTestBinary(t testing.TB, dir string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bmsched")
	src, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(dst, src)
	if err := errors.Join(err, dst.Close()); err != nil {
		t.Fatal(err)
	}
	return bin
}

// publicDir is a new directory that every user may enter, removed at the
// end of the test.
func publicDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "bmsched-pub")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runAs runs the bmsched binary as uid (and the same gid), returning its
// exit code and output.
func runAs(t *testing.T, bin string, uid uint32, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/", "GORACE=" + os.Getenv("GORACE")}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %v as uid %d: %v", args, uid, err)
	}
	return code, stdout.String(), stderr.String()
}

// Only a lease's own uid, or root, may release or renew it: the daemon
// knows who asks from the socket's peer credentials (SO_PEERCRED), which a
// client cannot forge.
func TestLeasePermissions(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run clients as other uids")
	}
	for _, driver := range []string{"btrfs", "plain"} {
		t.Run(driver, func(t *testing.T) {
			var base string
			if driver == "btrfs" {
				base = loopbtrfstest.TB(t)
			} else {
				base = t.TempDir()
			}
			testLeasePermissions(t, base)
		})
	}
}

func testLeasePermissions(t *testing.T, base string) {
	const nobody, other = 65534, 65533
	root := filepath.Join(base, "machines")
	vol := filepath.Join(root, "default")
	dir := filepath.Join(vol, "lin")
	drv, err := btrfs.ForPath(base, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []error{
		os.MkdirAll(dir, 0o755),
		drv.Create(filepath.Join(dir, "lin-1")),
		drv.SetReadOnly(filepath.Join(dir, "lin-1"), true),
		os.Symlink("lin-1", filepath.Join(dir, "lin")),
		drv.Snapshot(context.Background(), filepath.Join(dir, "lin-1"), filepath.Join(dir, "lin-gcc"), true),
		// A snapshot of another database, adopted as orphaned lease 77.
		drv.Snapshot(context.Background(), filepath.Join(dir, "lin-gcc"), filepath.Join(dir, "lin-gcc-077"), false),
		syscall.Setxattr(filepath.Join(dir, "lin-gcc-077"), "user.bmsched.lease", []byte("db=another lease=77 boot=b"), 0),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}

	sock := servePublic(t, server.Config{Machines: root})
	bin := publicBinary(t)
	bms := func(uid uint32, args ...string) (int, string, string) {
		return runAs(t, bin, uid, append([]string{"--socket", sock}, args...)...)
	}
	expect := func(wantCode int, wantErr string, uid uint32, args ...string) string {
		t.Helper()
		code, stdout, stderr := bms(uid, args...)
		if code != wantCode || !strings.Contains(stderr, wantErr) {
			t.Fatalf("uid %d: bmsched %s: exit %d, stderr %q; want exit %d and %q", uid, strings.Join(args, " "), code, stderr, wantCode, wantErr)
		}
		return stdout
	}

	// Root's lease: nobody may neither release nor renew it.
	c := api.NewClient(sock)
	var l api.Lease
	if err := c.Do(context.Background(), "POST", "/v1/acquire", api.AcquireRequest{Machine: "lin", Toolchain: "gcc", TTL: "1h"}, &l); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprint(l.ID)
	// The daemon, as root, tags in the trusted namespace, which the build
	// user who owns a snapshot's root cannot strip or forge.
	buf := make([]byte, 256)
	if _, err := unix.Lgetxattr(l.Path, "trusted.bmsched.lease", buf); err != nil {
		t.Fatalf("snapshot %s has no trusted tag: %v", l.Path, err)
	}
	if _, err := unix.Lgetxattr(l.Path, "user.bmsched.lease", buf); err == nil {
		t.Fatalf("snapshot %s has a user tag too, which its owner could change", l.Path)
	}
	expect(5, "permission denied: lease "+id+" belongs to uid 0; only that user or root may release it", nobody, "release", id)
	expect(5, "permission denied", nobody, "release", id, "--hold", "1h")
	expect(5, "permission denied: lease "+id+" belongs to uid 0; only that user or root may renew it", nobody, "renew", id, "--ttl", "2h")
	if _, err := os.Lstat(l.Path); err != nil {
		t.Fatalf("root's snapshot after refused releases: %v", err)
	}
	var ls api.Leases
	if err := c.Do(context.Background(), "GET", "/v1/leases", nil, &ls); err != nil {
		t.Fatal(err)
	}
	// Root's lease and the orphan.
	if len(ls.Leases) != 2 || ls.Leases[1].ID != l.ID || ls.Leases[1].State != "active" || !ls.Leases[1].Expires.Equal(*l.Expires) {
		t.Fatalf("root's lease after refused requests: %+v", ls.Leases)
	}

	// nobody's lease: another user may not end it; nobody and root may.
	out := expect(0, "", nobody, "acquire", "lin", "gcc", "--json")
	var mine api.Lease
	if err := json.Unmarshal([]byte(out), &mine); err != nil {
		t.Fatal(err)
	}
	if mine.Owner.UID != nobody {
		t.Fatalf("lease acquired by uid %d has owner uid %d", nobody, mine.Owner.UID)
	}
	mid := fmt.Sprint(mine.ID)
	expect(5, "belongs to uid 65534", other, "release", mid)
	expect(5, "belongs to uid 65534", other, "renew", mid, "--ttl", "1h")
	expect(0, "", nobody, "renew", mid, "--ttl", "1h")
	expect(0, "lease "+mid+" released", nobody, "release", mid)
	if _, err := os.Lstat(mine.Path); !os.IsNotExist(err) {
		t.Fatalf("snapshot after its owner released it: %v", err)
	}
	out = expect(0, "", nobody, "acquire", "lin", "gcc", "--json")
	if err := json.Unmarshal([]byte(out), &mine); err != nil {
		t.Fatal(err)
	}
	expect(0, fmt.Sprintf("lease %d released", mine.ID), 0, "release", fmt.Sprint(mine.ID))
	expect(0, "lease "+id+" released", 0, "release", id)

	// An orphan's owner is unknown: no user but root (or an operator)
	// may end it.
	expect(5, "lease 77 is orphaned (adopted from disk, owner unknown); only root or an operator may release it", nobody, "release", "77")
	expect(0, "lease 77 released", 0, "release", "77")
	if _, err := os.Lstat(filepath.Join(dir, "lin-gcc-077")); !os.IsNotExist(err) {
		t.Fatalf("orphan's snapshot after root released it: %v", err)
	}
}

// servePublic runs a daemon in-process until the test ends, on a socket in
// a directory every user may reach, and returns the socket's path.
func servePublic(t *testing.T, cfg server.Config) string {
	t.Helper()
	cfg.Socket = filepath.Join(publicDir(t), "s")
	cfg.DB = filepath.Join(t.TempDir(), "db")
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() { done <- server.Run(ctx, cfg, ready) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	return cfg.Socket
}
