package clustersim

import (
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// A new cluster forms only once dbms.cluster.minimum_initial_system_primaries_count servers
// (the core count) have discovered each other and bootstrapped the system database
// [clustering/setup/deploy]; the default database is created best effort, with at most as
// many copies as servers can host [clustering/databases#cluster-default-database].
func TestFormation(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		svcs       Services
		fault      string // member that never becomes available
		wantFormed bool
		// the default database's requested topology once formed
		primaries, secondaries int
	}{
		{name: "three cores form", cfg: Config{Cores: 3}, svcs: running(3, 0), wantFormed: true, primaries: 3},
		{name: "two of three never form", cfg: Config{Cores: 3}, svcs: running(2, 0)},
		{name: "a member that never joins keeps it from forming", cfg: Config{Cores: 3}, svcs: running(3, 0), fault: "core-3"},
		{name: "five cores need all five", cfg: Config{Cores: 5}, svcs: running(4, 2)},
		{name: "five cores form", cfg: Config{Cores: 5}, svcs: running(5, 0), wantFormed: true, primaries: 5},
		{name: "replicas up at formation host the default secondaries", cfg: Config{Cores: 3, DefaultSecondaries: 2}, svcs: running(3, 2),
			wantFormed: true, primaries: 3, secondaries: 2},
		{name: "default secondaries are a maximum: no replica yet, none", cfg: Config{Cores: 3, DefaultSecondaries: 2}, svcs: running(3, 0),
			wantFormed: true, primaries: 3, secondaries: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.cfg)
			if tt.fault != "" {
				if err := s.Fault(tt.fault, NeverAvailable); err != nil {
					t.Fatal(err)
				}
			}
			s.Apply(tt.svcs)
			tm := s.cfg.Timing
			s.Advance(tm.Join + tm.Form - 2*time.Second)
			if s.View().Formed {
				t.Fatal("formed before the members joined and bootstrapped the system database")
			}
			s.Advance(10 * time.Minute)
			v := s.View()
			if v.Formed != tt.wantFormed {
				t.Fatalf("formed = %v after 10 minutes", v.Formed)
			}
			r := call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqStatus})
			if !tt.wantFormed {
				// nothing answers yet: the CLI sees "unavailable" and keeps waiting
				if r.OK || r.Error.Code != neo4jadmin.CodeUnavailable {
					t.Fatalf("status of an unformed cluster: %+v", r)
				}
				return
			}
			if !v.Ready() {
				t.Errorf("formed but not ready after 10 minutes: %+v", v)
			}
			d, _ := v.Database("neo4j")
			if d.Primaries != tt.primaries || d.Secondaries != tt.secondaries || d.Leader == "" {
				t.Errorf("neo4j: %+v", d)
			}
			for _, sv := range mustOK(t, r).Status.Servers {
				if sv.State != StateEnabled || sv.Health != Available {
					t.Errorf("initial server %s is %s/%s; the initial deployment is enabled", sv.Address, sv.State, sv.Health)
				}
			}
		})
	}
}

// A restarted cluster needs no initial count, only a majority of each database's primaries
// to elect a leader [clustering/introduction, clustering/setup/routing]: without one, reads
// still answer but administration (a write on the system database) cannot run.
func TestRestartedClusterNeedsAMajority(t *testing.T) {
	tests := []struct {
		back       int // cores started again
		wantLeader bool
	}{{1, false}, {2, true}, {3, true}}
	for _, tt := range tests {
		t.Run(string(rune('0'+tt.back))+" back", func(t *testing.T) {
			s := formed(t, Config{Cores: 3}, 0)
			s.Apply(running(0, 0))
			s.Advance(time.Minute)
			for _, db := range []string{"system", "neo4j"} {
				if l, _ := leader(s, db); l != "" {
					t.Fatalf("%s still has leader %s with every member stopped", db, l)
				}
			}
			if len(s.Stats().QuorumLosses) == 0 {
				t.Error("stopping every member lost no quorum")
			}
			s.Apply(running(tt.back, 0))
			s.Advance(2 * time.Minute)
			for _, db := range []string{"system", "neo4j"} {
				if l, _ := leader(s, db); (l != "") != tt.wantLeader {
					t.Errorf("%d of 3 back: %s leader %q", tt.back, db, l)
				}
			}
			if err := s.Write("neo4j", 1); (err == nil) != tt.wantLeader {
				t.Errorf("write with %d of 3 back: %v", tt.back, err)
			}
			mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqStatus})) // reads answer either way
			w := call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqSetDefaultAllocation, Primaries: 3, Secondaries: 1})
			if w.OK != tt.wantLeader || (!w.OK && w.Error.Code != neo4jadmin.CodeUnavailable) {
				t.Errorf("admin write with %d of 3 back: %+v", tt.back, w)
			}
		})
	}
}
