package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bmsched/bmsched/internal/loopbtrfs"
)

// TestMain lets this test binary run as bmsched, bmschedd and
// bmsched-stall, and first builds the daemon with its crash points (see
// crashDaemon) for the scripts that arm one.
func TestMain(m *testing.M) {
	testscript.Main(withCrashDaemon{m}, map[string]func(){
		"bmsched":       func() { os.Exit(run(os.Args, os.Stdout, os.Stderr)) },
		"bmschedd":      runDaemon,
		"bmsched-stall": func() { os.Exit(stallMain()) },
	})
}

// TestScript runs the scripts of testdata/script against the real binary
// and a real daemon on its Unix socket, once on a loop-mounted btrfs and
// once on plain directories.
func TestScript(t *testing.T) {
	for _, driver := range []string{"btrfs", "plain"} {
		t.Run(driver, func(t *testing.T) {
			if driver == "btrfs" {
				if err := loopbtrfs.Available(); err != nil {
					if os.Getenv("BMSCHED_REQUIRE_BTRFS") == "1" {
						t.Fatalf("btrfs scripts need a loop-mounted btrfs: %v", err)
					}
					t.Skipf("btrfs scripts need a loop-mounted btrfs: %v (set BMSCHED_REQUIRE_BTRFS=1 to fail instead)", err)
				}
			}
			testscript.Run(t, testscript.Params{
				Dir:                 filepath.Join("..", "..", "testdata", "script"),
				Setup:               func(env *testscript.Env) error { return setupScript(env, driver) },
				Cmds:                scriptCmds,
				Condition:           func(cond string) (bool, error) { return scriptCondition(cond, driver), nil },
				RequireExplicitExec: true,
				Deadline:            time.Now().Add(5 * time.Minute),
			})
		})
	}
}

// setupScript gives each script a machines root ($MACHINES, with an empty
// volume "default" at $VOL), a scratch directory on the same filesystem
// ($SCRATCH), a database path ($DB), a short socket path ($SOCK, also in
// BMSCHED_SOCKET), $DRIVER, $CONTRIB (the repository's contrib/) and the
// daemon with crash points.
func setupScript(env *testscript.Env, driver string) error {
	root := filepath.Join(env.WorkDir, "machines")
	if driver == "btrfs" {
		loop := filepath.Join(env.WorkDir, "loop")
		if err := os.Mkdir(loop, 0o755); err != nil {
			return err
		}
		mnt, cleanup, err := loopbtrfs.Mount(loop, loopbtrfs.DefaultSize)
		if err != nil {
			return err
		}
		env.Defer(func() {
			if err := cleanup(); err != nil {
				env.T().Fatal(err)
			}
		})
		root = filepath.Join(mnt, "machines")
	}
	// $SCRATCH is on the same filesystem as the machines, outside them:
	// where scripts make subvolumes to add from.
	scratch := filepath.Join(filepath.Dir(root), "scratch")
	for _, d := range []string{root, scratch} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.Mkdir(filepath.Join(root, "default"), 0o755); err != nil {
		return err
	}
	// Unix socket paths are limited to 108 bytes; WorkDir can be longer.
	sockDir, err := os.MkdirTemp("", "bms")
	if err != nil {
		return err
	}
	env.Defer(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "s")
	env.Setenv("MACHINES", root)
	env.Setenv("SCRATCH", scratch)
	env.Setenv("VOL", filepath.Join(root, "default"))
	env.Setenv("DB", filepath.Join(env.WorkDir, "bmsched.db"))
	env.Setenv("SOCK", sock)
	env.Setenv("BMSCHED_SOCKET", sock)
	env.Setenv("DRIVER", driver)
	contrib, err := filepath.Abs(filepath.Join("..", "..", "contrib"))
	if err != nil {
		return err
	}
	env.Setenv("CONTRIB", contrib)
	// The daemon with crash points, for the scripts that arm one (see
	// runDaemon): scripts do not inherit the test's environment.
	env.Setenv(crashDaemonEnv, os.Getenv(crashDaemonEnv))
	return nil
}

// scriptCondition: [btrfs] or [plain] for the driver the script runs on,
// [root] when the test runs as root (to make users and act as them).
func scriptCondition(cond, driver string) bool {
	if cond == "root" {
		return os.Geteuid() == 0
	}
	return cond == driver
}
