package db

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// concurrently runs n callers of batch, caller i running fn(i).
func concurrently(d *DB, n int, fn func(i int, tx *bolt.Tx) error) []error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			errs[i] = d.batch(func(tx *bolt.Tx) error { return fn(i, tx) })
		}(i)
	}
	close(start)
	wg.Wait()
	return errs
}

func put(i int, tx *bolt.Tx) error {
	return tx.Bucket(bucketMeta).Put([]byte(fmt.Sprintf("k%d", i)), []byte("v"))
}

func TestGroupCommitShares(t *testing.T) {
	d := openTemp(t)
	const n = 64
	for i, err := range concurrently(d, n, put) {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	d.group.mu.Lock()
	rounds := d.group.rounds
	d.group.mu.Unlock()
	t.Logf("%d callers shared %d commits", n, rounds)
	if rounds >= n {
		t.Errorf("%d commits for %d concurrent callers: none shared", rounds, n)
	}
	checkKeys(t, d, n, -1)
}

func TestGroupCommitFailsAlone(t *testing.T) {
	d := openTemp(t)
	const n = 32
	boom := errors.New("boom")
	errs := concurrently(d, n, func(i int, tx *bolt.Tx) error {
		if i == 7 {
			return boom
		}
		return put(i, tx)
	})
	for i, err := range errs {
		if want := error(nil); i == 7 && !errors.Is(err, boom) || i != 7 && err != want {
			t.Errorf("call %d: %v", i, err)
		}
	}
	checkKeys(t, d, n, 7)
}

// checkKeys checks that keys k0..k(n-1) exist, all but missing.
func checkKeys(t *testing.T, d *DB, n, missing int) {
	t.Helper()
	_ = d.bolt.View(func(tx *bolt.Tx) error {
		for i := 0; i < n; i++ {
			got := tx.Bucket(bucketMeta).Get([]byte(fmt.Sprintf("k%d", i)))
			if (got != nil) != (i != missing) {
				t.Errorf("key k%d present: %v", i, got != nil)
			}
		}
		return nil
	})
}
