package server

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/bmsched/bmsched/internal/db"
)

// leaseRenders keeps each lease's entry of the leases answer, as the
// stream writes it, beside the stored record it was made from. A lease's
// entry is a function of its record alone, and most records do not change
// between two listings: a farm's dashboard asking for 10,000 leases every
// few seconds then costs a comparison a lease, not a decode and an encode.
type leaseRenders struct {
	mu sync.Mutex
	m  map[uint64]leaseRender
}

type leaseRender struct {
	raw []byte // the record, as stored
	out []byte // its entry: indented JSON of leaseJSON, never changed once made
}

// render returns lease id's entry for the stored record raw (valid only
// during the call), made again only when the record changed.
func (c *leaseRenders) render(id uint64, raw []byte) ([]byte, error) {
	c.mu.Lock()
	r, ok := c.m[id]
	c.mu.Unlock()
	if ok && bytes.Equal(r.raw, raw) {
		return r.out, nil
	}
	l, err := db.DecodeLease(id, raw)
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(leaseJSON(l), "    ", "  ")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[uint64]leaseRender{}
	}
	c.m[id] = leaseRender{raw: bytes.Clone(raw), out: out}
	c.mu.Unlock()
	return out, nil
}

// keepOnly forgets the entries of leases not in seen: what a listing of
// every lease did not meet has ended.
func (c *leaseRenders) keepOnly(seen map[uint64]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.m {
		if !seen[id] {
			delete(c.m, id)
		}
	}
}
