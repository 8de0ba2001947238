package db

import bolt "go.etcd.io/bbolt"

// MachineKey names a machine record.
type MachineKey struct{ Volume, Name string }

// MachinesAt returns the records of keys, in their order, read in one
// transaction; nil where there is none.
func (d *DB) MachinesAt(keys []MachineKey) ([]*Machine, error) {
	out := make([]*Machine, len(keys))
	err := d.bolt.View(func(tx *bolt.Tx) error {
		for i, k := range keys {
			m, ok, err := getMachine(tx, k.Volume, k.Name)
			if err != nil {
				return err
			}
			if ok {
				out[i] = &m
			}
		}
		return nil
	})
	return out, err
}

// UpdateMachines is UpdateMachine for each of keys in turn, in one
// transaction: many records for the price of one commit, as a scan of a
// whole volume needs. fn is told which key it is called for.
func (d *DB) UpdateMachines(keys []MachineKey, fn func(i int, old *Machine) (*Machine, []Event, error)) error {
	return d.update(func(tx *bolt.Tx) error {
		for i, k := range keys {
			err := d.updateMachine(tx, k.Volume, k.Name, func(old *Machine) (*Machine, []Event, error) { return fn(i, old) })
			if err != nil {
				return err
			}
		}
		return nil
	})
}
