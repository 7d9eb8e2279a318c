package boltstore

import (
	"bytes"
	"sync"
	"unsafe"

	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/ledger"
	"github.com/huiyuan-dev/huiyuan/services/loyalty/internal/loyalty"
)

// The account cache keeps long accounts decoded between their orders. Under a daily expiry a
// member who buys every day has a lot per day (hundreds), and decoding and re-encoding them
// all was most of what such a member's order cost the writer: an order for a member with a
// year of history ran at a third of a new member's rate. With the cache an order clones the
// decoded account and re-encodes only the lots it changed, copying the others' bytes from the
// record it replaces.
//
// Coherence needs no hooks into commits or rollbacks: an entry holds the record's bytes as it
// wrote them, and is used only while the stored record is byte for byte the same. A rolled
// back write, or a record written by anything else, simply no longer matches. Entries are never
// changed once made; whoever takes one works on a clone.

// DefaultAccountCacheBytes bounds the memory the cache holds (records and decoded accounts):
// a year of lots is about 70 KB of it under a daily expiry, 3 KB under the default monthly one.
const DefaultAccountCacheBytes = 64 << 20

// cacheMinRecord is the smallest record cached: a new member's account (a lot or two, under
// 150 bytes) decodes in about what cloning it costs; a year under the default monthly expiry
// (13 lots, about 430 bytes) decodes in three times that.
const cacheMinRecord = 256

// span is where one lot's field (its tag and length included) lies in an account record.
type span struct{ from, to uint32 }

// cachedAccount is an account as one record encodes it.
type cachedAccount struct {
	raw  []byte           // the record
	a    *loyalty.Account // what raw encodes; never changed
	lots []span           // raw[lots[i].from:lots[i].to] is a.Book.Lots[i]
	size int              // the memory it holds, roughly
}

func newCachedAccount(raw []byte, a *loyalty.Account, lots []span) *cachedAccount {
	b := a.Book
	return &cachedAccount{raw: raw, a: a, lots: lots, size: len(raw) + 512 + cap(lots)*int(unsafe.Sizeof(span{})) +
		cap(b.Lots)*int(unsafe.Sizeof(ledger.Lot{})) + len(b.Holds)*int(unsafe.Sizeof(ledger.Hold{}))}
}

// lotBytes returns the encoded field of the lot of l's id if base holds that lot unchanged,
// searching base's lots from *next on (lots keep their relative order: an order removes and
// inserts lots, never reorders them) and moving *next past the lot found.
func (e *cachedAccount) lotBytes(l *ledger.Lot, next *int) []byte {
	old := e.a.Book.Lots
	for k := *next; k < len(old); k++ {
		if old[k].ID == l.ID {
			*next = k + 1
			if old[k] != *l {
				return nil
			}
			return e.raw[e.lots[k].from:e.lots[k].to]
		}
	}
	return nil // a new lot
}

// accountCache maps Key(tenant, member) to the member's cached account, holding at most limit
// bytes (cachedAccount.size); past it, entries are dropped at random (map order), which degrades
// gracefully when the accounts in use outnumber the room.
type accountCache struct {
	mu    sync.Mutex
	limit int
	size  int
	m     map[string]*cachedAccount
}

func newAccountCache(limit int) *accountCache {
	return &accountCache{limit: limit, m: map[string]*cachedAccount{}}
}

// get returns the entry of key if it was made from raw, the record stored now.
func (c *accountCache) get(key, raw []byte) *cachedAccount {
	if c == nil || len(raw) < cacheMinRecord {
		return nil
	}
	c.mu.Lock()
	e := c.m[string(key)]
	c.mu.Unlock()
	if e == nil || !bytes.Equal(e.raw, raw) {
		return nil
	}
	return e
}

// put makes e the entry of key; a nil e, or one whose record is too small to cache, drops
// key's entry.
func (c *accountCache) put(key []byte, e *cachedAccount) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[string(key)]; ok {
		c.size -= old.size
		delete(c.m, string(key))
	}
	if e == nil || len(e.raw) < cacheMinRecord || e.size > c.limit {
		return
	}
	for k, old := range c.m {
		if c.size+e.size <= c.limit {
			break
		}
		c.size -= old.size
		delete(c.m, k)
	}
	c.m[string(key)] = e
	c.size += e.size
}
