package clustersim

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// A stopped member becomes Unavailable; its copies show as on an unavailable server
// (address NULL, unknown, "Server is unavailable") [clustering/monitoring/show-databases-monitoring];
// the databases it led elect an available primary after the election timeout, in a new term
// [clustering/setup/routing].
func TestStoppedMemberLosesItsLeaderships(t *testing.T) {
	s := formed(t, Config{Cores: 3, Databases: []DatabaseSpec{{"shop", 3, 0}}, NoLeaderBalancing: true}, 0)
	old, term := leader(s, "neo4j")
	led := func(m string) []string { sv, _ := s.View().Server(m); return sv.Leads }
	wasLed := led(old)
	svcs := running(3, 0)
	svcs[old] = Service{}
	s.Apply(svcs)

	if l, _ := leader(s, "neo4j"); l != "" {
		t.Fatalf("neo4j still led by %s right after %s stopped", l, old)
	}
	if h := serverOf(t, s, old).Health; h != Unavailable {
		t.Errorf("%s health %s", old, h)
	}
	id := serverOf(t, s, old).ID
	for _, d := range status(t, s).Databases {
		if d.ServerID == id && (d.Address != "" || d.CurrentStatus != "unknown" || d.StatusMessage != "Server is unavailable" || d.Role != "unknown" || d.Writer) {
			t.Errorf("copy on the stopped server: %+v", d)
		}
	}
	s.Advance(s.cfg.Timing.Election - time.Second)
	if l, _ := leader(s, "neo4j"); l != "" {
		t.Errorf("elected %s before the election timeout", l)
	}
	s.Advance(2 * time.Second)
	for _, db := range wasLed {
		l, tm := leader(s, db)
		if l == "" || l == old {
			t.Errorf("%s: leader %q after the election", db, l)
		}
		if db == "neo4j" && tm != term+1 {
			t.Errorf("neo4j term %d, want %d", tm, term+1)
		}
	}
	// what get cluster reads: the new leader, its term from dbms.cluster.statusCheck, two of
	// three primaries online, still a majority [clustering/monitoring/status-check]
	newLeader, _ := leader(s, "neo4j")
	for _, v := range status(t, s).DatabaseViews() {
		if v.Name == "neo4j" && (v.Leader != serverOf(t, s, newLeader).ID || v.LeaderTerm == nil || *v.LeaderTerm != term+1 ||
			v.PrimariesOnline != 2 || !v.HasMajority || v.CurrentStatus != "unknown") {
			t.Errorf("neo4j as get cluster sees it: %+v", v)
		}
	}
	st := s.Stats()
	if st.LeaderChanges["neo4j"] != 1 || st.WriteUnavailable["neo4j"] < s.cfg.Timing.Election {
		t.Errorf("stats %+v", st)
	}
	if err := s.Write("neo4j", 10); err != nil {
		t.Error(err)
	}
	if len(st.QuorumLosses) != 0 || st.MinPrimariesOnline["neo4j"] != 2 {
		t.Errorf("one member of three down lost quorum: %+v", st)
	}
}

// A server that joins a formed cluster starts Free with a new id and hosts nothing; enabled
// (by ENABLE SERVER, or automatically as the stacks configure), it still hosts no database
// until one is created, a topology raised, a server deallocated or databases reallocated
// [clustering/servers#server-enabled-state, #_hosting_databases_on_added_servers].
func TestNewServersStartFree(t *testing.T) {
	for _, manual := range []bool{true, false} {
		name := "automatically enabled"
		if manual {
			name = "enabled by request"
		}
		t.Run(name, func(t *testing.T) {
			// two databases of three primaries: six copies over three servers, two each
			s := formed(t, Config{Cores: 3, ManualEnable: manual, Databases: []DatabaseSpec{{"shop", 3, 0}}}, 0)
			svcs := running(4, 0)
			s.Apply(svcs)
			s.Advance(5 * time.Minute)
			sv := serverOf(t, s, "core-4")
			wantState := StateEnabled
			if manual {
				wantState = StateFree
			}
			if sv.State != wantState || sv.Health != Available || !slices.Equal(sv.Hosting, []string{"system"}) {
				t.Fatalf("core-4 after 5 minutes: %+v", sv)
			}
			if manual {
				if r := mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqEnableServer, Server: "core-4.neo4j.internal"})); !strings.Contains(r.Message, "enabled") {
					t.Errorf("%q", r.Message)
				}
				s.Advance(5 * time.Minute)
				if sv := serverOf(t, s, "core-4"); sv.State != StateEnabled || !slices.Equal(sv.RequestedHosting, []string{"system"}) {
					t.Fatalf("enabled core-4 hosts %v", sv.RequestedHosting)
				}
			}
			r := mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqReallocateDatabases, IdempotencyKey: "realloc-1"}))
			if len(r.Moves) != 1 || r.Moves[0].ToServerID != serverOf(t, s, "core-4").ID {
				t.Fatalf("reallocate: %+v", r)
			}
			if !s.AdvanceUntil(func(v View) bool { return v.Ready() }, 5*time.Minute) {
				t.Fatal("not ready after the move")
			}
			if sv := serverOf(t, s, "core-4"); len(sv.Hosting) != 2 {
				t.Errorf("core-4 hosts %v after reallocation", sv.Hosting)
			}
			if st := s.Stats(); st.MinPrimariesOnline["neo4j"] < 3 {
				t.Errorf("a move dropped the primaries online to %d", st.MinPrimariesOnline["neo4j"])
			}
			if r := mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqReallocateDatabases, DryRun: true})); len(r.Moves) != 0 {
				t.Errorf("still unbalanced: %+v", r.Moves)
			}
		})
	}
}

// A core keeps its server id across restarts (the id lives with its store, on its volume);
// a replica's replacement task joins as a new server and the old one stays listed,
// Unavailable, until removed [clustering/servers#_dropped_state, tools/neo4j-admin/unbind].
func TestServerIdentity(t *testing.T) {
	s := formed(t, Config{Cores: 3, DefaultSecondaries: 2}, 2)
	core2 := serverOf(t, s, "core-2").ID
	olds := []string{serverOf(t, s, "replicas-1").ID, serverOf(t, s, "replicas-2").ID}
	svcs := running(3, 2)
	svcs["core-2"] = Service{Running: 1, Deployment: "d2"}
	svcs["replicas"] = Service{Running: 2, Deployment: "d2"}
	s.Apply(svcs)
	s.Advance(5 * time.Minute)
	st := status(t, s)
	ids := map[string]neo4jadmin.Server{}
	for _, sv := range st.Servers {
		ids[sv.ID] = sv
	}
	if sv := ids[core2]; sv.Health != Available || sv.State != StateEnabled || len(st.Servers) != 7 {
		t.Errorf("core-2 after its restart: %+v; %d servers", sv, len(st.Servers))
	}
	for _, id := range olds {
		if sv := ids[id]; sv.Health != Unavailable || sv.State != StateEnabled {
			t.Errorf("replaced replica %s: %+v", id, sv)
		}
	}
	for _, m := range []string{"replicas-3", "replicas-4"} {
		sv := serverOf(t, s, m)
		if sv.Health != Available || sv.State != StateEnabled || slices.Contains(olds, sv.ID) || len(sv.Hosting) != 1 {
			t.Errorf("replacement %s: %+v", m, sv)
		}
	}
	if r := s.Stats().Restarts; r["core-2"] != 1 || r["replicas"] != 2 || r["core-1"] != 0 {
		t.Errorf("restarts %v", r)
	}
	// the old replica's secondaries are still allocated to it: hosting is short until it is
	// removed, which moves them to the new servers
	h := mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqHealth}))
	if h.Health.OK {
		t.Fatal("health passes with two dead replicas still allocated")
	}
	for _, id := range olds {
		mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqDeallocateServer, Server: id, IdempotencyKey: "d-" + id}))
	}
	s.Advance(2 * time.Minute)
	for _, id := range olds {
		mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqDropServer, Server: id, IdempotencyKey: "x-" + id}))
	}
	st = status(t, s)
	if len(st.Servers) != 5 {
		t.Errorf("%d servers listed after dropping the stopped replicas", len(st.Servers))
	}
	if h := mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqHealth})); !h.Health.OK {
		t.Errorf("health after removing the dead replicas: %+v", h.Health)
	}
}

// DEALLOCATE moves a server's databases away before DROP is allowed; the new copy is online
// before the old one stops, so the primaries never drop; DROP needs Deallocated; a dropped
// server stays listed while its process runs [clustering/servers#removing-servers].
func TestDeallocateThenDrop(t *testing.T) {
	s := formed(t, Config{Cores: 4}, 0)
	mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqSetTopology, Database: "neo4j", Primaries: 3}))
	s.AdvanceUntil(View.Ready, time.Minute)
	var victim string
	for _, m := range []string{"core-1", "core-2", "core-3", "core-4"} {
		if slices.Contains(serverOf(t, s, m).Hosting, "neo4j") {
			victim = m
		}
	}
	ref := victim + ".neo4j.internal"
	drop := neo4jadmin.Request{Type: neo4jadmin.ReqDropServer, Server: ref, IdempotencyKey: "drop-1"}
	if r := call(t, s, drop); r.OK || r.Error.Code != neo4jadmin.CodeInvalidRequest {
		t.Fatalf("drop of an enabled server: %+v", r)
	}
	dry := mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqDeallocateServer, Server: ref, DryRun: true}))
	if len(dry.Moves) != 1 || dry.Moves[0].Mode != "primary" || serverOf(t, s, victim).State != StateEnabled {
		t.Fatalf("dry run: %+v", dry)
	}
	mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqDeallocateServer, Server: ref, IdempotencyKey: "dealloc-1"}))
	if sv := serverOf(t, s, victim); sv.State != StateDeallocating || !slices.Contains(sv.Hosting, "neo4j") {
		t.Fatalf("right after DEALLOCATE: %+v", sv)
	}
	if r := call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqDropServer, Server: ref, IdempotencyKey: "drop-2"}); r.OK || r.Error.Code != neo4jadmin.CodeNotReady {
		t.Fatalf("drop while deallocating: %+v", r)
	}
	if !s.AdvanceUntil(func(v View) bool { sv, _ := v.Server(victim); return sv.State == StateDeallocated }, 5*time.Minute) {
		t.Fatal("never Deallocated")
	}
	if st := s.Stats(); st.MinPrimariesOnline["neo4j"] < 3 || len(st.QuorumLosses) != 0 {
		t.Errorf("the move cost primaries: %+v", st)
	}
	if sv := serverOf(t, s, victim); !slices.Equal(sv.Hosting, []string{"system"}) {
		t.Errorf("deallocated server hosts %v", sv.Hosting)
	}
	mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqDropServer, Server: ref, IdempotencyKey: "drop-3"}))
	if sv := serverOf(t, s, victim); sv.State != StateDropped || sv.Health != Available {
		t.Errorf("dropped, still running: %+v", sv)
	}
	svcs := running(4, 0)
	delete(svcs, victim) // its member stack is removed
	s.Apply(svcs)
	for _, sv := range status(t, s).Servers {
		if strings.HasPrefix(sv.Address, victim+".") {
			t.Errorf("dropped and stopped server still listed: %+v", sv)
		}
	}
	if !s.AdvanceUntil(View.Ready, time.Minute) {
		t.Errorf("not ready with three cores: %+v", s.View())
	}
}

// DEALLOCATE is refused, changing nothing, when the rest cannot satisfy a topology, when a
// hosted database has a single primary, or when a quorum of its primaries is cordoned
// [clustering/servers#_deallocating_databases_from_a_server].
func TestDeallocateRefusals(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		setup func(t *testing.T, s *Sim)
		which string
		want  string
	}{
		{name: "not enough servers left", cfg: Config{Cores: 3}, which: "core-2", want: "not enough servers"},
		{name: "a single-primary database", cfg: Config{Cores: 4, Databases: []DatabaseSpec{{"solo", 1, 0}}}, which: "", want: "single primary"},
		{name: "a quorum of primaries cordoned", cfg: Config{Cores: 4}, setup: func(t *testing.T, s *Sim) {
			mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqSetTopology, Database: "neo4j", Primaries: 3}))
			s.AdvanceUntil(View.Ready, time.Minute)
			n := 0
			for _, m := range []string{"core-1", "core-2", "core-3", "core-4"} {
				if slices.Contains(serverOf(t, s, m).Hosting, "neo4j") && n < 2 {
					mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqCordonServer, Server: m + ".neo4j.internal"}))
					n++
				}
			}
		}, which: "cordoned-neo4j-host", want: "cordoned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := formed(t, tt.cfg, 0)
			if tt.setup != nil {
				tt.setup(t, s)
			}
			which := tt.which
			for _, m := range []string{"core-1", "core-2", "core-3", "core-4"} {
				sv, ok := s.View().Server(m)
				if !ok {
					continue
				}
				switch {
				case which == "" && slices.Contains(sv.Leads, "solo"):
					which = m
				case tt.which == "cordoned-neo4j-host" && sv.State == StateEnabled && slices.Contains(serverOf(t, s, m).Hosting, "neo4j"):
					which = m
				}
			}
			before := serverOf(t, s, which).State
			r := call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqDeallocateServer, Server: which + ".neo4j.internal", IdempotencyKey: "k"})
			if r.OK || r.Error.Code != neo4jadmin.CodeNeo4j || !strings.Contains(r.Error.Message, tt.want) {
				t.Fatalf("deallocate %s: %+v", which, r)
			}
			if after := serverOf(t, s, which).State; after != before {
				t.Errorf("state %s -> %s on a refused DEALLOCATE", before, after)
			}
		})
	}
}

// A cordoned server keeps its databases and is given no new copy; ENABLE SERVER undoes it
// [clustering/servers#_cordoned_state].
func TestCordon(t *testing.T) {
	s := formed(t, Config{Cores: 3}, 0)
	s.Apply(running(3, 2))
	s.Advance(2 * time.Minute)
	c := serverOf(t, s, "replicas-1")
	mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqCordonServer, Server: c.ID}))
	mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqSetTopology, Database: "neo4j", Primaries: 3, Secondaries: 1}))
	s.Advance(2 * time.Minute)
	if sv := serverOf(t, s, "replicas-1"); sv.State != StateCordoned || len(sv.RequestedHosting) != 1 {
		t.Errorf("cordoned server got a copy: %+v", sv)
	}
	if sv := serverOf(t, s, "replicas-2"); !slices.Contains(sv.Hosting, "neo4j") {
		t.Errorf("the other replica did not: %+v", sv)
	}
	mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqEnableServer, Server: c.ID}))
	if sv := serverOf(t, s, "replicas-1"); sv.State != StateEnabled {
		t.Errorf("after ENABLE: %+v", sv)
	}
}

// A member re-made on a new volume after its server was dropped comes back as a new server
// (a new id, Free, then enabled by the cluster); the dropped server stays gone. The volume is
// refused while the member runs or while its server was not dropped
// [clustering/servers#_dropped_state].
func TestNewVolumeIsANewServer(t *testing.T) {
	s := formed(t, Config{Cores: 4}, 0)
	if err := s.NewVolume("core-4"); err == nil {
		t.Fatal("a running member's volume replaced")
	}
	svcs := running(4, 0)
	delete(svcs, "core-4")
	s.Apply(svcs)
	if err := s.NewVolume("core-4"); err == nil || !strings.Contains(err.Error(), "drop it") {
		t.Fatalf("an enabled server's volume replaced: %v", err)
	}
	s.Apply(running(4, 0))
	s.AdvanceUntil(View.Ready, 5*time.Minute)
	old := serverOf(t, s, "core-4").ID
	ref := "core-4.neo4j.internal"
	mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqSetTopology, Database: "neo4j", Primaries: 3}))
	s.AdvanceUntil(View.Ready, time.Minute)
	mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqDeallocateServer, Server: ref, IdempotencyKey: "d"}))
	s.AdvanceUntil(func(v View) bool { sv, _ := v.Server("core-4"); return sv.State == StateDeallocated }, 5*time.Minute)
	mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqDropServer, Server: ref, IdempotencyKey: "x"}))
	s.Apply(svcs)
	if err := s.NewVolume("core-4"); err != nil {
		t.Fatal(err)
	}
	s.Apply(running(4, 0))
	if !s.AdvanceUntil(func(v View) bool { sv, _ := v.Server("core-4"); return sv.State == StateEnabled && sv.ID != old }, 5*time.Minute) {
		t.Fatalf("core-4 not back as a new enabled server: %+v", s.View())
	}
	for _, sv := range status(t, s).Servers {
		if sv.ID == old {
			t.Errorf("the dropped server is listed again: %+v", sv)
		}
	}
}
