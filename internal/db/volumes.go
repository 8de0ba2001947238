package db

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Volume states.
const (
	VolumeAvailable   = "available"
	VolumeUnavailable = "unavailable"
)

// Volume is what bmsched knows of a volume's filesystem.
type Volume struct {
	Name  string `json:"name"`
	State string `json:"state"`
	// FS, Type and Mount are the identity of the filesystem bmsched last
	// saw available there (package volume).
	FS    string    `json:"fs,omitempty"`
	Type  string    `json:"type,omitempty"`
	Mount bool      `json:"mount"`
	Since time.Time `json:"since"` // when the state last changed
}

// Volumes returns every volume record, by name.
func (d *DB) Volumes() ([]Volume, error) {
	var vs []Volume
	err := d.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketVolumes).ForEach(func(k, v []byte) error {
			var vol Volume
			if err := json.Unmarshal(v, &vol); err != nil {
				return fmt.Errorf("decode volume %q: %w", k, err)
			}
			vs = append(vs, vol)
			return nil
		})
	})
	return vs, err
}

// PutVolume stores a volume record with the events given, in one commit.
func (d *DB) PutVolume(v Volume, events ...Event) error {
	buf, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return d.update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketVolumes).Put([]byte(v.Name), buf); err != nil {
			return err
		}
		return d.appendEvents(tx, events)
	})
}

// DeleteVolume drops a volume record.
func (d *DB) DeleteVolume(name string) error {
	return d.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketVolumes).Delete([]byte(name))
	})
}
