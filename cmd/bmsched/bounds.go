package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
)

// atLeast refuses duration flags that are given and shorter than min,
// before anything is sent: a lease that ends before its client can use
// it, or a reconcile that spins a core, is never what was meant.
func atLeast(c *cli.Context, min time.Duration, flags ...string) error {
	for _, f := range flags {
		if d := c.Duration(f); c.IsSet(f) && d < min {
			return exitf(api.ExitUsage, "--%s %s: must be at least %s", f, d, min)
		}
	}
	return nil
}

// leaseDurations are the TTL and hold flags of acquire, renew and release.
func leaseDurations(c *cli.Context, flags ...string) error {
	return atLeast(c, api.MinLeaseDuration, flags...)
}
