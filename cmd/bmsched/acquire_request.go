package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/bmsched/bmsched/internal/api"
)

// acquireFlags are the flags that acquire and run share.
func acquireFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "wait", Usage: "wait up to DUR for capacity instead of failing at once"},
		&cli.DurationFlag{Name: "ttl", Usage: "end the lease after DUR unless renewed"},
		&cli.StringFlag{Name: "label", Usage: "free-form owner label, e.g. bbot-agent@1"},
		&cli.IntFlag{Name: "priority", Usage: "queue priority; higher is served first"},
		&cli.BoolFlag{Name: "allow-stale", Usage: "accept an image bootstrapped from an older revision"},
	}
}

// acquireRequest checks acquireFlags and makes the request for a lease of
// machine's toolchain owned by process ownerPID (0: none).
func acquireRequest(c *cli.Context, machine, toolchain string, ownerPID int) (api.AcquireRequest, error) {
	if c.Duration("wait") < 0 {
		return api.AcquireRequest{}, exitf(api.ExitUsage, "--wait %s: a duration must not be negative", c.Duration("wait"))
	}
	if err := leaseDurations(c, "ttl"); err != nil {
		return api.AcquireRequest{}, err
	}
	if err := api.ValidLabel(c.String("label")); err != nil {
		return api.AcquireRequest{}, exitf(api.ExitUsage, "--%v", err)
	}
	req := api.AcquireRequest{
		Machine: machine, Toolchain: toolchain,
		OwnerPID: ownerPID, Label: c.String("label"),
		Priority: c.Int("priority"), AllowStale: c.Bool("allow-stale"),
	}
	if d := c.Duration("wait"); d > 0 {
		req.Wait = d.String()
	}
	if d := c.Duration("ttl"); d > 0 {
		req.TTL = d.String()
	}
	return req, nil
}

// leasePath is what acquire prints and run uses of a lease: a worker's
// process decodes no more of the answer.
type leasePath struct {
	ID   uint64 `json:"id"`
	Path string `json:"path"`
}

// acquire asks the daemon for the lease req describes, decoding the
// answer into out: an api.Lease, or a leasePath.
func acquire(ctx context.Context, c *cli.Context, req api.AcquireRequest, out any) error {
	return clientWaiting(c, c.Duration("wait")).Do(ctx, "POST", "/v1/acquire", req, out)
}
