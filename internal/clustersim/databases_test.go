package clustersim

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// Recreating a database from a seed replaces every copy's store, keeping the topology
// unless given one: the database has no writer until its copies are back. The procedure is
// dbms.cluster.recreateDatabase up to 2025.03 and dbms.recreateDatabase from 2025.04
// [database-administration/standard-databases/recreate-database].
func TestRecreate(t *testing.T) {
	tests := []struct {
		version  string
		topology int // new primaries, 0 keeps
	}{{"5.26.30", 0}, {"2025.03.1", 0}, {"2025.04.0", 0}, {"2025.10.1", 3}}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			s := formed(t, Config{Cores: 3, Version: tt.version, DefaultSecondaries: 1}, 1)
			s.Write("neo4j", 500)
			req := neo4jadmin.Request{Type: neo4jadmin.ReqRecreateDatabase, Database: "neo4j", SeedURI: "s3://bucket/backups/neo4j.backup",
				IdempotencyKey: "recreate-" + tt.version, Primaries: tt.topology}
			r := mustOK(t, call(t, s, req))
			if !strings.Contains(r.Message, "privileges kept") {
				t.Errorf("%q", r.Message)
			}
			for _, d := range status(t, s).Databases {
				if d.Name == "neo4j" && (d.CurrentStatus != "store copying" || d.Writer) {
					t.Errorf("right after the recreate: %+v", d)
				}
			}
			// a retry of the same request is answered from memory; after a cold start the
			// database being on its way refuses a second recreate
			if again := call(t, s, req); !again.OK || !again.Replayed {
				t.Errorf("retry: %+v", again)
			}
			s.ColdStart()
			if again := call(t, s, req); again.OK || again.Error.Code != neo4jadmin.CodeNotReady {
				t.Errorf("retry after a cold start: %+v", again)
			}
			if !s.AdvanceUntil(View.Ready, 5*time.Minute) {
				t.Fatalf("not back after 5 minutes: %+v", s.View())
			}
			wantSecondaries := 1 // kept
			if tt.topology > 0 {
				wantSecondaries = 0 // primaries given alone mean no secondaries
			}
			if d, _ := s.View().Database("neo4j"); d.Primaries != 3 || d.Secondaries != wantSecondaries {
				t.Errorf("topology after: %+v", d)
			}
			if w := s.Stats().WriteUnavailable["neo4j"]; w < s.cfg.Timing.StoreCopy {
				t.Errorf("no downtime recorded: %s", w)
			}
			if w := s.Stats().WriteUnavailable["system"]; w != 0 {
				t.Errorf("system was unavailable %s", w)
			}
		})
	}
}

// ALTER DATABASE ... SET TOPOLOGY adds copies on eligible servers (they store-copy) or
// removes surplus ones; it refuses what the servers cannot satisfy and a move to a single
// primary [clustering/databases#alter-topology].
func TestSetTopology(t *testing.T) {
	s := formed(t, Config{Cores: 3, DefaultSecondaries: 1}, 1)
	s.Apply(running(3, 3))
	s.Advance(2 * time.Minute)
	mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqSetTopology, Database: "neo4j", Primaries: 3, Secondaries: 3, WaitSeconds: 5}))
	if d, _ := s.View().Database("neo4j"); d.Secondaries != 3 || s.View().Ready() {
		t.Fatalf("right after raising: %+v", d)
	}
	if !s.AdvanceUntil(View.Ready, 5*time.Minute) {
		t.Fatal("new secondaries never online")
	}
	mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqSetTopology, Database: "neo4j", Primaries: 3, Secondaries: 1}))
	d, _ := s.View().Database("neo4j")
	if n := len(d.Hosts); n != 4 {
		t.Errorf("%d copies after lowering to 3+1: %v", n, d.Hosts)
	}
	for _, tt := range []struct {
		p, sec int
		want   string
	}{{1, 0, "single primary"}, {4, 0, "3 servers can host one"}, {3, 4, "3 servers can host one"}} {
		r := call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqSetTopology, Database: "neo4j", Primaries: tt.p, Secondaries: tt.sec})
		if r.OK || !strings.Contains(r.Error.Message, tt.want) {
			t.Errorf("topology %d+%d: %+v", tt.p, tt.sec, r)
		}
	}
	if d, _ := s.View().Database("neo4j"); d.Primaries != 3 || d.Secondaries != 1 {
		t.Errorf("a refused change changed the topology: %+v", d)
	}
}

// A member that never comes back after a restart stays Unavailable: the health gate fails
// naming it, and the rest keeps quorum.
func TestNeverComesBack(t *testing.T) {
	s := formed(t, Config{Cores: 3}, 0)
	if err := s.Fault("core-2", NeverAvailable); err != nil {
		t.Fatal(err)
	}
	s.Apply(Services{"core-1": {Running: 1}, "core-2": {Running: 1, Deployment: "new"}, "core-3": {Running: 1}})
	s.Advance(30 * time.Minute)
	h := mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqHealth}))
	var avail neo4jadmin.Gate
	for _, g := range h.Health.Gates {
		if g.Name == neo4jadmin.GateServersAvailable {
			avail = g
		}
	}
	if h.Health.OK || avail.OK || len(avail.Detail) != 1 || !strings.Contains(avail.Detail[0], "core-2.neo4j.internal") {
		t.Errorf("gates: %+v", h.Health.Gates)
	}
	st := s.Stats()
	if st.Restarts["core-2"] != 1 || len(st.QuorumLosses) != 0 || st.MinPrimariesOnline["neo4j"] != 2 {
		t.Errorf("stats %+v", st)
	}
	if err := s.Fault("core-2", NoFault); err != nil {
		t.Fatal(err)
	}
	if !s.AdvanceUntil(View.Ready, 5*time.Minute) {
		t.Error("not ready once the fault is cleared")
	}
}

// A member reports the Neo4j version of its image from its next start (SHOW SERVERS version,
// dbms.components on it).
func TestVersionsFollowRestarts(t *testing.T) {
	s := formed(t, Config{Cores: 3}, 0)
	svcs := running(3, 0)
	svcs["core-1"] = Service{Running: 1, Deployment: "upgrade", Version: "2025.01.0"}
	s.Apply(svcs)
	if v := serverOf(t, s, "core-1").Version; v != "5.26.30" {
		t.Errorf("version while restarting: %s", v)
	}
	s.AdvanceUntil(View.Ready, 5*time.Minute)
	var versions []string
	for _, sv := range status(t, s).Servers {
		versions = append(versions, sv.Version)
	}
	slices.Sort(versions)
	if !slices.Equal(versions, []string{"2025.01.0", "5.26.30", "5.26.30"}) {
		t.Errorf("versions %v", versions)
	}
}
