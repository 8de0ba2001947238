package db

import (
	"encoding/binary"
	"encoding/json"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// Record is one key of the database and its value, as `db dump --json`
// prints it: the value as stored when it is JSON, else as a JSON string.
type Record struct {
	Bucket string          `json:"bucket"`
	Key    string          `json:"key"`
	Value  json.RawMessage `json:"value"`
}

// Records hands every record of every bucket to fn, in key order.
func (d *DB) Records(fn func(Record) error) error {
	return d.Safely(func() error {
		return d.bolt.View(func(tx *bolt.Tx) error {
			return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
				return b.ForEach(func(k, v []byte) error {
					return fn(Record{Bucket: string(name), Key: recordKey(name, k), Value: recordValue(name, k, v)})
				})
			})
		})
	})
}

// recordKey is keyString without Go quotes: JSON quotes it.
func recordKey(bucket, k []byte) string {
	switch string(bucket) {
	case "leases", "events", "ops":
		if len(k) == 8 {
			return strconv.FormatUint(binary.BigEndian.Uint64(k), 10)
		}
	}
	return string(k)
}

func recordValue(bucket, k, v []byte) json.RawMessage {
	s := valueString(bucket, k, v)
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}
