package api

import "context"

// Health is the answer of GET /v1/health: the daemon is up, and which
// build it is, so that a client can tell it is talking to another
// version.
type Health struct {
	OK       bool   `json:"ok"`
	BootID   string `json:"boot_id"`
	Machines string `json:"machines"`
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	Go       string `json:"go"`
	PID      int    `json:"pid"`
}

// Health asks the daemon whether it is up and which build it is.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	err := c.Do(ctx, "GET", "/v1/health", nil, &h)
	return h, err
}
