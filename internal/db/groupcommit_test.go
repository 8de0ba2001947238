package db

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

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

// TestBatchLater: work that may wait rides on the next caller's commit,
// and is committed alone once its linger is over if none comes.
func TestBatchLater(t *testing.T) {
	d := openTemp(t)
	before := d.Commits()
	late := make(chan error, 1)
	go func() { late <- d.batchLater(func(tx *bolt.Tx) error { return put(1, tx) }, time.Minute) }()
	// Wait until it is pending, then commit something else.
	for {
		d.group.mu.Lock()
		n := len(d.group.pending)
		d.group.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := d.batch(func(tx *bolt.Tx) error { return put(2, tx) }); err != nil {
		t.Fatal(err)
	}
	if err := <-late; err != nil {
		t.Fatal(err)
	}
	if got := d.Commits() - before; got != 1 {
		t.Fatalf("%d commits for a lingering write and another, want 1 shared", got)
	}
	start := time.Now()
	if err := d.batchLater(func(tx *bolt.Tx) error { return put(3, tx) }, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Fatalf("a lone lingering write committed after %v, before its linger", waited)
	}
	if got := d.Commits() - before; got != 2 {
		t.Fatalf("%d commits, want 2: the lone write commits alone", got)
	}
	err := d.bolt.View(func(tx *bolt.Tx) error {
		for _, k := range []string{"k1", "k2", "k3"} {
			if tx.Bucket(bucketMeta).Get([]byte(k)) == nil {
				return fmt.Errorf("%s not committed", k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
