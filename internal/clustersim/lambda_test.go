package clustersim

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// The simulator behind the real admin Lambda handler: the JSON the CLI sends and reads,
// the contract version, idempotency, member connections.
func TestInvokeIsTheLambdaPath(t *testing.T) {
	s := formed(t, Config{Cores: 3}, 0)
	ctx := context.Background()
	out, err := s.Invoke(ctx, []byte(`{"type":"version","version":2}`))
	if err != nil {
		t.Fatal(err)
	}
	var v neo4jadmin.Response
	json.Unmarshal(out, &v)
	if !v.OK || v.ContractVersion != neo4jadmin.ContractVersion || v.Contract == nil || !slices.Contains(v.Contract.RequestTypes, neo4jadmin.ReqTransferLeadership) {
		t.Fatalf("version: %s", out)
	}
	// what a v1 CLI sends still works; what a newer one sends is an upgrade
	out, _ = s.Invoke(ctx, []byte(`{"type":"status"}`))
	if !strings.Contains(string(out), `"ok":true`) || !strings.Contains(string(out), `"contractVersion":2`) {
		t.Errorf("v1 status: %.200s", out)
	}
	out, _ = s.Invoke(ctx, []byte(`{"type":"status","version":3,"shards":true}`))
	if !strings.Contains(string(out), `"code":"upgrade-required"`) {
		t.Errorf("v3 request: %s", out)
	}
	// Handle (a --bolt-uri run with member connections) and Invoke agree
	a := s.Handle(ctx, neo4jadmin.Request{Type: neo4jadmin.ReqStatus})
	b := call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqStatus})
	ja, _ := json.Marshal(a.Status)
	jb, _ := json.Marshal(b.Status)
	if string(ja) != string(jb) {
		t.Errorf("Handle and Invoke disagree:\n%s\n%s", ja, jb)
	}
}

// A retried mutating request is answered from the warm environment's memory; after a cold
// start the operation's own idempotency answers; the same key on another request is refused.
func TestIdempotentRetries(t *testing.T) {
	s := formed(t, Config{Cores: 4}, 0)
	mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqSetTopology, Database: "neo4j", Primaries: 3}))
	s.AdvanceUntil(View.Ready, time.Minute)
	victim := ""
	for _, m := range []string{"core-1", "core-2", "core-3", "core-4"} {
		if len(serverOf(t, s, m).Hosting) > 1 {
			victim = m
		}
	}
	dealloc := neo4jadmin.Request{Type: neo4jadmin.ReqDeallocateServer, Server: victim + ".neo4j.internal", IdempotencyKey: "scale-in-7/deallocate"}
	first := mustOK(t, call(t, s, dealloc))
	if first.Replayed || len(first.Moves) != 1 {
		t.Fatalf("first: %+v", first)
	}
	retry := mustOK(t, call(t, s, dealloc))
	if !retry.Replayed || retry.Message != first.Message {
		t.Errorf("retry: %+v", retry)
	}
	s.ColdStart()
	cold := mustOK(t, call(t, s, dealloc))
	if cold.Replayed || !strings.Contains(cold.Message, "already Deallocating") {
		t.Errorf("after a cold start: %+v", cold)
	}
	other := call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqDropServer, Server: victim + ".neo4j.internal", IdempotencyKey: "scale-in-7/deallocate"})
	if other.OK || other.Error.Code != neo4jadmin.CodeInvalidRequest {
		t.Errorf("key reused: %+v", other)
	}
	s.AdvanceUntil(func(v View) bool { sv, _ := v.Server(victim); return sv.State == StateDeallocated }, 5*time.Minute)
	drop := neo4jadmin.Request{Type: neo4jadmin.ReqDropServer, Server: victim + ".neo4j.internal", IdempotencyKey: "scale-in-7/drop"}
	mustOK(t, call(t, s, drop))
	s.ColdStart()
	if r := mustOK(t, call(t, s, drop)); !strings.Contains(r.Message, "already dropped") {
		t.Errorf("drop retried after a cold start: %+v", r)
	}
	svcs := running(4, 0)
	delete(svcs, victim)
	s.Apply(svcs)
	s.ColdStart()
	if r := mustOK(t, call(t, s, drop)); !strings.Contains(r.Message, "not in SHOW SERVERS") {
		t.Errorf("drop retried once the server is gone: %+v", r)
	}
}

// The driver's own failures: a wrong password, an address nothing answers at, a member not
// running.
func TestDial(t *testing.T) {
	s := formed(t, Config{Cores: 3}, 0)
	ctx := context.Background()
	for _, tt := range []struct {
		uri, password, code string
	}{
		{"neo4j://core.neo4j.internal:7687", "wrong", neo4jadmin.CodeUnauthorized},
		{"neo4j://core.other.internal:7687", s.cfg.AdminPassword, neo4jadmin.CodeUnavailable},
		{"bolt://core-9.neo4j.internal:7687", s.cfg.AdminPassword, neo4jadmin.CodeUnavailable},
		{"bolt://core-2.neo4j.internal:7687", s.cfg.AdminPassword, ""},
	} {
		c, err := s.Dial(tt.uri, "neo4j", tt.password)
		if err != nil {
			t.Fatal(err)
		}
		r := neo4jadmin.Execute(ctx, c, neo4jadmin.Request{Type: neo4jadmin.ReqStatus}, nil)
		if (tt.code == "" && !r.OK) || (tt.code != "" && (r.OK || r.Error.Code != tt.code)) {
			t.Errorf("%s: %+v", tt.uri, r.Error)
		}
	}
}

// gate polls the health request until it passes, advancing the clock between polls (as the
// CLI's poll with a fake sleeper will), and returns the simulated time it took.
func gate(t *testing.T, s *Sim, max time.Duration) (time.Duration, bool) {
	t.Helper()
	t0 := s.Now()
	for {
		h := call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqHealth})
		if h.OK && h.Health.OK {
			return s.Now().Sub(t0), true
		}
		if s.Now().Sub(t0) >= max {
			return s.Now().Sub(t0), false
		}
		s.Advance(5 * time.Second)
	}
}

// roll restarts the cores one at a time as the rolling restart of issue 12 will: gate,
// leadership away, restart, gate; followers first, the member leading most last.
func roll(t *testing.T, s *Sim, cores int) (gated time.Duration) {
	t.Helper()
	var order []string
	for i := 1; i <= cores; i++ {
		order = append(order, fmt.Sprintf("core-%d", i))
	}
	v := s.View()
	nLeads := func(m string) int { sv, _ := v.Server(m); return len(sv.Leads) }
	slices.SortStableFunc(order, func(a, b string) int { return nLeads(a) - nLeads(b) })
	for _, m := range order {
		d, ok := gate(t, s, 10*time.Minute)
		if !ok {
			t.Fatalf("gate before %s never passed", m)
		}
		gated += d
		mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqTransferLeadership, Server: m + ".neo4j.internal"}))
		if err := s.Restart(m); err != nil {
			t.Fatal(err)
		}
	}
	d, ok := gate(t, s, 10*time.Minute)
	if !ok {
		t.Fatal("gate after the last member never passed")
	}
	return gated + d
}

// A gated rolling restart restarts each core once and never has fewer than a majority of
// primaries online; transferring leadership first leaves the user databases never without
// a writer. Restarting two at once is caught by the counters.
func TestRollingRestartOnTheSimulator(t *testing.T) {
	for _, cores := range []int{3, 5, 7} {
		t.Run(fmt.Sprintf("%d cores", cores), func(t *testing.T) {
			s := formed(t, Config{Cores: cores, DefaultSecondaries: 1, Databases: []DatabaseSpec{{"shop", 3, 1}},
				Timing: Timing{WriteRate: 50}}, 1)
			gated := roll(t, s, cores)
			st := s.Stats()
			for i := 1; i <= cores; i++ {
				if n := st.Restarts[fmt.Sprintf("core-%d", i)]; n != 1 {
					t.Errorf("core-%d restarted %d times", i, n)
				}
			}
			if len(st.QuorumLosses) != 0 {
				t.Errorf("quorum lost: %+v", st.QuorumLosses)
			}
			for _, db := range []string{"neo4j", "shop"} {
				d, _ := s.View().Database(db)
				if st.MinPrimariesOnline[db] < d.Voters/2+1 {
					t.Errorf("%s: %d primaries online at the worst, majority %d", db, st.MinPrimariesOnline[db], d.Voters/2+1)
				}
				if st.WriteUnavailable[db] != 0 {
					t.Errorf("%s without a writer for %s", db, st.WriteUnavailable[db])
				}
			}
			t.Logf("%d cores: leader changes %v, system without a writer %s, %s in gates", cores, st.LeaderChanges, st.WriteUnavailable["system"], gated)
		})
	}
	t.Run("two at once loses quorum", func(t *testing.T) {
		s := formed(t, Config{Cores: 3}, 0)
		s.Restart("core-1")
		s.Restart("core-2")
		s.AdvanceUntil(View.Ready, 5*time.Minute)
		if st := s.Stats(); len(st.QuorumLosses) == 0 || st.MinPrimariesOnline["neo4j"] != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}
