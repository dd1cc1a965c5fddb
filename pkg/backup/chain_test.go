package backup

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"
)

// entriesFrom records the rows of a recorded inspect output as the runner does, with the
// folder moved to the cluster bucket's backups/.
func entriesFrom(t *testing.T, file string) map[string][]Entry {
	t.Helper()
	out := map[string][]Entry{}
	for _, r := range readRows(t, file) {
		e := EntryFromInspect(Prefix+r.Name(), 100, r, OriginInspect)
		out[r.Database] = append(out[r.Database], e)
	}
	return out
}

func chainIDs(cs []Chain) []string {
	var out []string
	for _, c := range cs {
		var names []string
		for _, e := range c.Entries {
			names = append(names, strings.TrimPrefix(ArtifactName(e.Key), c.Database+"-2024-10-07T"))
		}
		s := strings.Join(names, "+")
		if c.Broken != "" {
			s = "broken:" + s
		}
		out = append(out, s)
	}
	return out
}

// TestChainsOfRecordedFolders: the manual's folder, on both lines, gives the same chains:
// malmo's full, two differentials and two empty ones, then two fulls on their own.
func TestChainsOfRecordedFolders(t *testing.T) {
	want := map[string][]string{
		"malmo":  {"16-00-07+16-00-19+16-00-34+16-00-44+16-00-50", "16-01-08", "16-01-24"},
		"london": {"16-03-51+16-04-05"},
		"neo4j":  {"16-05-37"},
	}
	for _, file := range []string{"inspect-5.26-show-metadata-empty.txt", "inspect-2025.07-empty.txt"} {
		for db, es := range entriesFrom(t, file) {
			if got := chainIDs(Chains(es)); !slices.Equal(got, want[db]) {
				t.Errorf("%s %s: chains %q, want %q", file, db, got, want[db])
			}
		}
	}
}

func TestChainsBreak(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2025, 3, 1, 2, min, 0, 0, time.UTC) }
	e := func(min int, typ string, lo, hi int64, id string) Entry {
		return Entry{Key: fmt.Sprintf("%sneo4j-%s.backup", Prefix, at(min).Format(NameTimeLayout)), Time: at(min), Type: typ, LowestTx: lo, HighestTx: hi, DatabaseID: id}
	}
	cs := Chains([]Entry{
		e(3, TypeDiff, 20, 25, "a"), // its full is gone
		e(5, TypeFull, 1, 30, "a"),
		e(6, TypeDiff, 31, 40, "a"),
		e(7, TypeDiff, 0, 0, "a"),   // empty: continues
		e(8, TypeDiff, 45, 50, "a"), // 41..44 missing
		e(9, TypeDiff, 51, 60, "a"),
		e(10, TypeFull, 1, 5, "b"),
		e(11, TypeDiff, 6, 9, "c"), // the database was re-created
	})
	var summary []string
	for _, c := range cs {
		summary = append(summary, fmt.Sprintf("%d:%t:%s", len(c.Entries), c.Broken != "", c.Broken))
	}
	want := []string{
		"1:true:no full backup before it",
		"3:false:",
		"2:true:transactions 41 to 44 missing before it",
		"1:false:",
		"1:true:database id c differs from its chain's b (the database was re-created)",
	}
	if !slices.Equal(summary, want) {
		t.Fatalf("chains\n%q\nwant\n%q", summary, want)
	}
}

func TestPlanRetention(t *testing.T) {
	now := time.Date(2025, 3, 15, 12, 0, 0, 0, time.UTC)
	// F = full, D = differential; "20+2" is 20 days ago plus 2 hours.
	entry := func(spec string) Entry {
		kind, at, _ := strings.Cut(spec, "@")
		var d, h int
		fmt.Sscanf(at, "%d+%d", &d, &h)
		ts := now.AddDate(0, 0, -d).Add(time.Duration(h) * time.Hour)
		typ := TypeDiff
		if kind == "F" {
			typ = TypeFull
		}
		return Entry{Key: Prefix + "neo4j-" + ts.Format(NameTimeLayout) + ".backup", Time: ts, Type: typ}
	}
	tests := []struct {
		name string
		days int
		arts []string
		drop []string
	}{
		{name: "no retention", days: 0, arts: []string{"F@30+0", "F@20+0"}},
		{name: "everything within the window", days: 14, arts: []string{"F@10+0", "D@10+1", "F@3+0"}},
		{name: "old chains go, the chain covering the window start stays", days: 14,
			arts: []string{"F@30+0", "D@29+0", "F@22+0", "D@21+0", "F@15+0", "D@13+0", "F@8+0", "D@1+0"},
			drop: []string{"F@30+0", "D@29+0", "F@22+0", "D@21+0"}},
		{name: "a chain whose full is old but whose differentials are in the window is kept whole", days: 7,
			arts: []string{"F@20+0", "D@19+0", "F@10+0", "D@9+0", "D@6+0", "D@1+0"},
			drop: []string{"F@20+0", "D@19+0"}},
		{name: "only old backups: the newest chain is kept", days: 7,
			arts: []string{"F@30+0", "D@29+0", "F@20+0", "D@19+0"},
			drop: []string{"F@30+0", "D@29+0"}},
		{name: "a broken chain before a full is deleted", days: 7,
			arts: []string{"D@30+0", "D@29+0", "F@20+0", "F@2+0"},
			drop: []string{"D@30+0", "D@29+0"}},
		{name: "unsorted input", days: 7,
			arts: []string{"D@1+0", "F@8+0", "D@29+0", "F@30+0"},
			drop: []string{"F@30+0", "D@29+0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var es []Entry
			for _, s := range tt.arts {
				es = append(es, entry(s))
			}
			var got, want []string
			for _, c := range PlanRetention(Chains(es), now, tt.days) {
				for _, e := range c.Entries {
					got = append(got, e.Key)
				}
			}
			for _, s := range tt.drop {
				want = append(want, entry(s).Key)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("deletes %q\nwant    %q", got, want)
			}
		})
	}
}

// TestExpiresAtAgreesWithPlanRetention: what `backup list` says expires when is what the
// retention run deletes, at every moment, for random backup histories.
func TestExpiresAtAgreesWithPlanRetention(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for round := 0; round < 200; round++ {
		var es []Entry
		at := start
		for i := 0; i < 5+r.Intn(30); i++ {
			at = at.Add(time.Duration(1+r.Intn(72)) * time.Hour)
			typ := TypeDiff
			if i == 0 || r.Intn(4) == 0 {
				typ = TypeFull
			}
			es = append(es, Entry{Key: Prefix + "neo4j-" + at.Format(NameTimeLayout) + ".backup", Time: at, Type: typ})
		}
		chains := Chains(es)
		days := 1 + r.Intn(10)
		for probe := 0; probe < 20; probe++ {
			now := start.Add(time.Duration(r.Intn(24*90)) * time.Hour)
			deleted := map[string]bool{}
			for _, c := range PlanRetention(chains, now, days) {
				deleted[c.ID] = true
			}
			for i, c := range chains {
				exp, ok := ExpiresAt(chains, i, days)
				if want := ok && !now.Before(exp); deleted[c.ID] != want {
					t.Fatalf("round %d: chain %s at %s: deleted %v, ExpiresAt %s (%v)", round, c.ID, now, deleted[c.ID], exp, ok)
				}
			}
		}
	}
}
