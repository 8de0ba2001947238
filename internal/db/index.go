package db

import (
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// index finds machines by bare name and leases by machine without
// decoding every record. It lives in memory: it is built from the records
// at Open, and each write transaction notes its changes to it, which are
// applied once the transaction has committed and dropped if it rolls
// back. So it never runs ahead of what is durable, a crash loses nothing
// that the next Open does not rebuild, and the schema is unchanged.
type index struct {
	// writing serialises writers from before their transaction begins
	// until its changes are applied, so that the index takes the
	// changes in commit order. bbolt admits one writer at a time anyway.
	writing sync.Mutex
	pending []indexChange // the changes of the transaction under way

	mu     sync.RWMutex
	names  map[string][]string            // machine name → its volumes, sorted
	leases map[string]map[uint64]struct{} // VOLUME/NAME → its lease ids
}

// indexChange adds (or, with drop, removes) a machine or one of its
// leases; lease 0 means the machine itself.
type indexChange struct {
	volume, name string
	lease        uint64
	drop         bool
}

func machineKey(volume, name string) string { return volume + "/" + name }

// build fills the index from the records of tx.
func (ix *index) build(tx *bolt.Tx) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.names = map[string][]string{}
	ix.leases = map[string]map[uint64]struct{}{}
	// Machine keys are VOLUME/NAME: no record needs decoding.
	err := tx.Bucket(bucketMachines).ForEach(func(k, _ []byte) error {
		// A damaged record is left out here, as it cannot be read
		// anyway; `bmsched db check` reports it.
		if vol, name, ok := strings.Cut(string(k), "/"); ok {
			ix.apply(indexChange{volume: vol, name: name})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tx.Bucket(bucketLeases).ForEach(func(k, v []byte) error {
		var l struct {
			Volume  string `json:"volume"`
			Machine string `json:"machine"`
		}
		if len(k) == 8 && json.Unmarshal(v, &l) == nil {
			ix.apply(indexChange{volume: l.Volume, name: l.Machine, lease: binary.BigEndian.Uint64(k)})
		}
		return nil
	})
}

// note records a change of the transaction under way.
func (ix *index) note(c indexChange) { ix.pending = append(ix.pending, c) }

// commit applies the changes of the transaction that just committed.
func (ix *index) commit() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, c := range ix.pending {
		ix.apply(c)
	}
	ix.pending = nil
}

// apply makes one change; ix.mu is held.
func (ix *index) apply(c indexChange) {
	key := machineKey(c.volume, c.name)
	if c.lease != 0 {
		ids := ix.leases[key]
		if c.drop {
			delete(ids, c.lease)
			if len(ids) == 0 {
				delete(ix.leases, key)
			}
			return
		}
		if ids == nil {
			ids = map[uint64]struct{}{}
			ix.leases[key] = ids
		}
		ids[c.lease] = struct{}{}
		return
	}
	vols := ix.names[c.name]
	i, found := slices.BinarySearch(vols, c.volume)
	switch {
	case c.drop && found:
		vols = slices.Delete(vols, i, i+1)
	case !c.drop && !found:
		vols = slices.Insert(vols, i, c.volume)
	}
	if len(vols) == 0 {
		delete(ix.names, c.name)
	} else {
		ix.names[c.name] = vols
	}
}

// volumesOf lists the volumes that hold a machine called name.
func (ix *index) volumesOf(name string) []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return slices.Clone(ix.names[name])
}

// leaseIDs lists one machine's lease ids, in id order.
func (ix *index) leaseIDs(volume, name string) []uint64 {
	ix.mu.RLock()
	ids := make([]uint64, 0, len(ix.leases[machineKey(volume, name)]))
	for id := range ix.leases[machineKey(volume, name)] {
		ids = append(ids, id)
	}
	ix.mu.RUnlock()
	slices.Sort(ids)
	return ids
}

// leasesOf decodes one machine's leases, in id order: only those. The
// index may lag a commit made since (it is applied after the commit), so
// an id whose record is gone, or names another machine, is passed over.
func (d *DB) leasesOf(tx *bolt.Tx, volume, name string) ([]Lease, error) {
	ids := d.ix.leaseIDs(volume, name)
	ls := make([]Lease, 0, len(ids))
	for _, id := range ids {
		l, ok, err := getLease(tx, id)
		if err != nil {
			return nil, err
		}
		if ok && l.Volume == volume && l.Machine == name {
			ls = append(ls, l)
		}
	}
	return ls, nil
}
