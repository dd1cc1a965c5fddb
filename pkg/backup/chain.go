package backup

import (
	"fmt"
	"sort"
	"time"
)

// Chain is a full backup and the differentials after it, up to the next full: restoring
// any of its artifacts needs every artifact before it in the chain. A chain whose first
// artifact is not a full backup, or with transactions missing between two artifacts, is
// Broken from that point: Neo4j cannot restore it.
type Chain struct {
	ID       string // ArtifactName of its first artifact (the full backup)
	Database string
	Entries  []Entry // oldest first
	Broken   string  // why it cannot be restored; "" when whole
}

// Start is when the chain's first backup was taken.
func (c Chain) Start() time.Time { return c.Entries[0].Time }

// Newest is the chain's newest artifact: the newest point it restores.
func (c Chain) Newest() Entry { return c.Entries[len(c.Entries)-1] }

// SizeBytes is the size of every artifact of the chain.
func (c Chain) SizeBytes() int64 {
	var n int64
	for _, e := range c.Entries {
		n += e.SizeBytes
	}
	return n
}

// HighestTx is the last transaction the chain holds.
func (c Chain) HighestTx() int64 {
	var tx int64
	for _, e := range c.Entries {
		tx = max(tx, e.HighestTx)
	}
	return tx
}

// Chains groups one database's recorded entries into chains, oldest first. A differential
// joins the chain before it when it belongs to the same database id and continues its
// transactions (an empty differential, 0..0, always continues); otherwise it starts a
// broken chain.
func Chains(entries []Entry) []Chain {
	sorted := append([]Entry(nil), entries...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Time.Before(sorted[j].Time) })
	var out []Chain
	for _, e := range sorted {
		if e.Type == TypeFull {
			out = append(out, Chain{ID: ArtifactName(e.Key), Database: databaseOf(e), Entries: []Entry{e}})
			continue
		}
		if len(out) > 0 {
			cur := &out[len(out)-1]
			if why := continues(*cur, e); why == "" {
				cur.Entries = append(cur.Entries, e)
				continue
			} else if cur.Broken == "" {
				out = append(out, Chain{ID: ArtifactName(e.Key), Database: databaseOf(e), Entries: []Entry{e}, Broken: why})
				continue
			}
		}
		out = append(out, Chain{ID: ArtifactName(e.Key), Database: databaseOf(e), Entries: []Entry{e},
			Broken: "no full backup before it"})
	}
	return out
}

// continues says why e cannot follow chain c ("" when it can).
func continues(c Chain, e Entry) string {
	first := c.Entries[0]
	if first.DatabaseID != "" && e.DatabaseID != "" && first.DatabaseID != e.DatabaseID {
		return fmt.Sprintf("database id %s differs from its chain's %s (the database was re-created)", e.DatabaseID, first.DatabaseID)
	}
	if e.Empty() {
		return ""
	}
	if last := c.HighestTx(); e.LowestTx > last+1 {
		return fmt.Sprintf("transactions %d to %d missing before it", last+1, e.LowestTx-1)
	}
	return ""
}

func databaseOf(e Entry) string {
	db, _, _ := ParseName(e.Key)
	return db
}

// PlanRetention returns the chains (of one database) to delete so that every point of the
// last days stays restorable, never part of a chain: the chain holding the newest artifact
// at or before the window's start is kept (it restores the window's oldest point), with every
// chain after it; only whole chains before it go. days <= 0 deletes nothing.
func PlanRetention(chains []Chain, now time.Time, days int) []Chain {
	if days <= 0 {
		return nil
	}
	cutoff := now.Add(-time.Duration(days) * 24 * time.Hour)
	keep := -1
	for i, c := range chains {
		if !c.Start().After(cutoff) {
			keep = i
		}
	}
	if keep <= 0 {
		return nil
	}
	return chains[:keep]
}

// ExpiresAt is when retention gives a chain up: days after the next chain starts (from then
// on the next chain restores the window's oldest point). The first backup run after that
// time deletes it. The newest chain does not expire (ok false) until a newer one exists.
func ExpiresAt(chains []Chain, i, days int) (time.Time, bool) {
	if days <= 0 || i+1 >= len(chains) {
		return time.Time{}, false
	}
	return chains[i+1].Start().Add(time.Duration(days) * 24 * time.Hour), true
}
