package db

import (
	"bytes"
	"fmt"
)

// element is one key of a page, with its child (branch) or value (leaf).
type element struct {
	key, value []byte
	child      uint64
	bucket     bool
}

// elements decodes the elements of a branch or leaf page, each of which
// must lie inside the page and have a key (bbolt stores no empty key).
func elements(what string, p []byte, leaf bool) ([]element, error) {
	count := uint64(order.Uint16(p[10:]))
	if pageHeaderSize+count*16 > uint64(len(p)) {
		return nil, fmt.Errorf("%s claims %d elements, more than it holds", what, count)
	}
	es := make([]element, count)
	for i := range es {
		e := pageHeaderSize + uint64(i)*16
		var k, v, end uint64
		if leaf {
			k = e + uint64(order.Uint32(p[e+4:]))
			v = k + uint64(order.Uint32(p[e+8:]))
			end = v + uint64(order.Uint32(p[e+12:]))
			es[i].bucket = order.Uint32(p[e:])&leafBucket != 0
		} else {
			k = e + uint64(order.Uint32(p[e:]))
			v = k + uint64(order.Uint32(p[e+4:]))
			end = v
			es[i].child = order.Uint64(p[e+8:])
		}
		if end > uint64(len(p)) || v == k {
			return nil, fmt.Errorf("%s: element %d lies outside the page or has no key", what, i)
		}
		es[i].key, es[i].value = p[k:v], p[v:end]
	}
	return es, nil
}

// inOrder checks key i of a page against the key before it (or the
// page's lower bound) and the page's upper bound.
func inOrder(what string, i int, key, prev, hi []byte) error {
	c := 1
	if prev != nil {
		c = bytes.Compare(key, prev)
	}
	if c < 0 || (c == 0 && i > 0) || (hi != nil && bytes.Compare(key, hi) >= 0) {
		return fmt.Errorf("%s: key %d is out of order", what, i)
	}
	return nil
}
