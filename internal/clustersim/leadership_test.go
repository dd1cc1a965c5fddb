package clustersim

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// leads counts the databases (system included) each member leads.
func leads(s *Sim) map[string]int {
	out := map[string]int{}
	for _, sv := range s.View().Servers {
		if sv.Running {
			out[sv.Member] = len(sv.Leads)
		}
	}
	return out
}

func spread(m map[string]int) int {
	lo, hi := 1<<30, 0
	for _, n := range m {
		lo, hi = min(lo, n), max(hi, n)
	}
	return hi - lo
}

// Leaderships piled on one server (here: the others made read-only, then given back) are
// spread again by Neo4j's default equal balancing, and left where they are with NO_BALANCING
// [clustering/setup/routing#clustering-leadership-balancing].
func TestLeadershipBalancing(t *testing.T) {
	dbs := []DatabaseSpec{{"shop", 3, 0}, {"orders", 3, 0}, {"events", 3, 0}}
	for _, noBalancing := range []bool{false, true} {
		t.Run(map[bool]string{false: "equal balancing", true: "no balancing"}[noBalancing], func(t *testing.T) {
			s := formed(t, Config{Cores: 3, Databases: dbs, NoLeaderBalancing: noBalancing}, 0)
			if d := spread(leads(s)); d > 1 {
				t.Fatalf("formation left leaderships uneven: %v", leads(s))
			}
			for _, m := range []string{"core-1", "core-2"} {
				mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqTransferLeadership, Server: m + ".neo4j.internal"}))
			}
			for _, m := range []string{"core-1", "core-2"} {
				mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqTransferLeadership, Server: m + ".neo4j.internal", Undo: true}))
			}
			piled := leads(s)
			if sv, _ := s.View().Server("core-3"); len(slices.DeleteFunc(sv.Leads, func(d string) bool { return d == "system" })) != 4 {
				t.Fatalf("leaderships after making core-1 and core-2 read-only: %v", piled)
			}
			s.Advance(10 * time.Minute)
			got := leads(s)
			if noBalancing && !mapsEqual(got, piled) {
				t.Errorf("NO_BALANCING moved leaderships: %v -> %v", piled, got)
			}
			if !noBalancing && spread(got) > 1 {
				t.Errorf("equal balancing left %v", got)
			}
			if st := s.Stats(); noBalancing == (st.LeaderChanges["neo4j"]+st.LeaderChanges["shop"]+st.LeaderChanges["orders"]+st.LeaderChanges["events"] > 4) {
				t.Errorf("leader changes %v", st.LeaderChanges)
			}
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// transfer-leadership makes the server's user databases read-only there, and Neo4j moves
// their leaderships away at once (no election timeout: no time without a writer); the
// system database's cannot be moved; a restart clears the setting; undo gives the databases
// back [clustering/setup/routing, procedures#procedure_dbms_setConfigValue].
func TestTransferLeadership(t *testing.T) {
	s := formed(t, Config{Cores: 3, Databases: []DatabaseSpec{{"shop", 3, 1}}, NoLeaderBalancing: true, DefaultSecondaries: 1}, 1)
	// core-1 leads something besides system
	var from string
	for _, m := range []string{"core-1", "core-2", "core-3"} {
		sv, _ := s.View().Server(m)
		if slices.ContainsFunc(sv.Leads, func(d string) bool { return d != "system" }) {
			from = m
			break
		}
	}
	sv, _ := s.View().Server(from)
	userLed := slices.DeleteFunc(slices.Clone(sv.Leads), func(d string) bool { return d == "system" })
	r := mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqTransferLeadership, Server: from + ".neo4j.internal"}))
	if !slices.Equal(r.Databases, []string{"neo4j", "shop"}) {
		t.Fatalf("transfer answered %+v", r)
	}
	for _, db := range userLed {
		if l, _ := leader(s, db); l == from || l == "" {
			t.Errorf("%s still led by %q", db, l)
		}
	}
	if w := s.Stats().WriteUnavailable; w["neo4j"]+w["shop"] != 0 {
		t.Errorf("a transfer left databases without a writer: %v", w)
	}
	id := serverOf(t, s, from).ID
	for _, d := range status(t, s).Databases {
		if d.ServerID == id && d.Name != "system" && d.Access != "read-only" {
			t.Errorf("copy on %s: access %s", from, d.Access)
		}
	}
	s.Advance(10 * time.Minute)
	if sv, _ := s.View().Server(from); slices.ContainsFunc(sv.Leads, func(d string) bool { return d != "system" }) {
		t.Errorf("%s got a user leadership back while read-only: %v", from, sv.Leads)
	}
	again := mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqTransferLeadership, Server: from + ".neo4j.internal"}))
	if !again.OK {
		t.Error(again.Error)
	}
	// undo: writable again, nothing else changes at once
	mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqTransferLeadership, Server: from + ".neo4j.internal", Undo: true}))
	for _, d := range status(t, s).Databases {
		if d.ServerID == id && d.Access != "read-write" {
			t.Errorf("after undo: %s on %s is %s", d.Name, from, d.Access)
		}
	}
	// a restart clears it too
	mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqTransferLeadership, Server: from + ".neo4j.internal"}))
	s.Restart(from)
	s.AdvanceUntil(View.Ready, 5*time.Minute)
	for _, d := range status(t, s).Databases {
		if d.ServerID == id && d.Access != "read-write" {
			t.Errorf("after a restart: %s on %s is %s", d.Name, from, d.Access)
		}
	}
	// a --bolt-uri run has no member connections
	h := neo4jadmin.Execute(context.Background(), s.Client(), neo4jadmin.Request{Type: neo4jadmin.ReqTransferLeadership, Server: from + ".neo4j.internal"}, nil)
	if h.OK || h.Error.Code != neo4jadmin.CodeUnsupported {
		t.Errorf("without member connections: %+v", h)
	}
}

// replicationLag is the transactions a copy is behind the writer: a member that was down
// while writes went on comes back behind, fails the lag gate, and catches up
// [clustering/monitoring/show-databases-monitoring].
func TestReplicationLag(t *testing.T) {
	s := formed(t, Config{Cores: 3, NoLeaderBalancing: true, Timing: Timing{WriteRate: 100, CatchUpRate: 200}}, 0)
	follower := ""
	l, _ := leader(s, "neo4j")
	sl, _ := leader(s, "system")
	for _, m := range []string{"core-1", "core-2", "core-3"} {
		if m != l && m != sl {
			follower = m
		}
	}
	svcs := running(3, 0)
	svcs[follower] = Service{}
	s.Apply(svcs)
	s.Advance(2 * time.Minute)
	s.Apply(running(3, 0))
	tm := s.cfg.Timing
	s.Advance(tm.Join + tm.StartDatabase)
	id := serverOf(t, s, follower).ID
	lag := func() int64 {
		for _, d := range status(t, s).Databases {
			if d.ServerID == id && d.Name == "neo4j" && d.ReplicationLag != nil {
				return *d.ReplicationLag
			}
		}
		t.Fatal("no neo4j copy on the follower")
		return 0
	}
	if got := lag(); got > -10000 || got < -16000 {
		t.Errorf("lag after 2m15s down at 100 tx/s: %d", got)
	}
	h := mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqHealth}))
	if h.Health.OK || h.Health.Gates[5].Name != neo4jadmin.GateReplicationLag || h.Health.Gates[5].OK {
		t.Errorf("gates while behind: %+v", h.Health.Gates)
	}
	s.Advance(2 * time.Minute)
	if got := lag(); got != 0 {
		t.Errorf("lag after catching up: %d", got)
	}
	if h := mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqHealth})); !h.Health.OK {
		t.Errorf("gates after catching up: %+v", h.Health)
	}
}

// A database needs a majority of its primaries to accept writes
// [clustering/introduction]: two of three down, no leader, writes refused, quorum loss
// counted; one back, a leader again.
func TestMajorityForWrites(t *testing.T) {
	s := formed(t, Config{Cores: 3}, 0)
	s.Apply(Services{"core-1": {Running: 1}})
	s.Advance(time.Minute)
	if err := s.Write("neo4j", 1); err == nil || !strings.Contains(err.Error(), "no leader") {
		t.Errorf("write with one of three: %v", err)
	}
	st := s.Stats()
	if st.MinPrimariesOnline["neo4j"] != 1 || !slices.ContainsFunc(st.QuorumLosses, func(q QuorumLoss) bool {
		return q.Database == "neo4j" && q.Online == 1 && q.Primaries == 3
	}) {
		t.Errorf("stats %+v", st)
	}
	h := mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqStatus}))
	for _, v := range h.Status.DatabaseViews() {
		if v.HasMajority || v.Leader != "" {
			t.Errorf("view %+v", v)
		}
	}
	s.Apply(Services{"core-1": {Running: 1}, "core-2": {Running: 1}})
	s.Advance(time.Minute)
	if err := s.Write("neo4j", 1); err != nil {
		t.Errorf("write with two of three: %v", err)
	}
}
