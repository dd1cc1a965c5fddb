package rollout_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/internal/clustersim"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
	"github.com/neo4jctl/neo4jctl/pkg/rollout"
)

// two user databases on every core, a secondary on each replica, a steady write load
func twoDatabases(cores int) clustersim.Config {
	return clustersim.Config{Cores: cores, DefaultSecondaries: 2, Timing: clustersim.Timing{WriteRate: 50},
		Databases: []clustersim.DatabaseSpec{{Name: "shop", Primaries: 3, Secondaries: 2}, {Name: "ledger", Primaries: 3, Secondaries: 2}}}
}

var opts = rollout.Options{MemberTimeout: 10 * time.Minute}

// leaderCounts is how many databases each core member leads (system included).
func leaderCounts(s *clustersim.Sim) map[string]int {
	out := map[string]int{}
	for _, sv := range s.View().Servers {
		if sv.Listed {
			out[sv.Member] += len(sv.Leads)
		}
	}
	return out
}

// The roll restarts each member once, replicas first and the member leading the most last,
// with never a second core down and never a database below its majority; the user
// databases never lose their writer, as their leaderships are handed over first.
func TestRollingRestart(t *testing.T) {
	c := newCluster(t, twoDatabases(3), 2)
	c.oneDownAtATime(t)
	leads := leaderCounts(c.sim)
	res, err := c.roll.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	c.restartedOnce(t, allMembers(3, true)...)
	c.quorumKept(t)
	if !slices.Equal(c.restart.restarts, res.Order) || !slices.Equal(res.Done, res.Order) || res.Next != "" {
		t.Errorf("restarted %v, result %+v", c.restart.restarts, res)
	}
	if res.Order[0] != "replicas" {
		t.Errorf("order %v: replicas not first", res.Order)
	}
	for _, m := range res.Order[1:] {
		if leads[m] > leads[res.Order[len(res.Order)-1]] {
			t.Errorf("order %v: %s leads %d databases, more than the last one (%v)", res.Order, m, leads[m], leads)
		}
	}
	st := c.sim.Stats()
	for _, db := range []string{"neo4j", "shop", "ledger"} {
		if st.WriteUnavailable[db] != 0 {
			t.Errorf("%s without a writer for %s", db, st.WriteUnavailable[db])
		}
	}
	moved := eventsOf[rollout.LeadershipMoved](c.events)
	if len(moved) != 3 {
		t.Errorf("leadership events %v", moved)
	}
	if res.Restarts != 20*time.Second+3*30*time.Second || res.Gates == 0 {
		t.Errorf("time in restarts %s, in gates %s", res.Restarts, res.Gates)
	}
	// the hand-over is given back: nothing is left read-only
	for _, d := range c.status(t).Databases {
		if d.Access == "read-only" {
			t.Errorf("%s is left read-only on %s", d.Name, d.Address)
		}
	}
}

func (c *cluster) status(t *testing.T) *neo4jadmin.Status {
	t.Helper()
	r, err := c.admin.Send(context.Background(), neo4jadmin.Request{Type: neo4jadmin.ReqStatus})
	if err != nil || !r.OK {
		t.Fatalf("status: %v %+v", err, r.Error)
	}
	return r.Status
}

// A member that never comes back stops the roll at its after gate, within the member
// timeout: the error names it and what is not ready, and the members after it are untouched.
func TestMemberNeverComesBack(t *testing.T) {
	c := newCluster(t, twoDatabases(3), 0)
	var victim string
	c.restart.after = func(m rollout.Member) {
		if victim == "" {
			victim = m.Name
			if err := c.sim.Fault(m.Name, clustersim.NeverAvailable); err != nil {
				t.Fatal(err)
			}
		}
	}
	t0 := c.sim.Now()
	res, err := c.roll.Run(context.Background(), rollout.Options{MemberTimeout: 5 * time.Minute})
	var ge *rollout.GateError
	if !errors.As(err, &ge) || ge.Member != victim || ge.Phase != rollout.PhaseAfter {
		t.Fatalf("err %v, want the after gate of %s", err, victim)
	}
	msg := err.Error()
	for _, want := range []string{victim + " did not come back ready within 5m0s", "server " + victim + " is Unavailable (want Available)",
		"database shop on " + victim + " is unknown"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if took := c.sim.Now().Sub(t0); took < 5*time.Minute || took > 7*time.Minute {
		t.Errorf("gave up after %s", took)
	}
	if len(c.restart.restarts) != 1 || res.Next != res.Order[1] || len(res.Done) != 0 {
		t.Errorf("restarted %v; result %+v", c.restart.restarts, res)
	}
	c.restartedOnce(t, victim)
	c.quorumKept(t)
}

// A cluster that is not healthy is not touched: the gate before the first member names what
// is wrong.
func TestUnhealthyClusterIsNotTouched(t *testing.T) {
	c := newCluster(t, twoDatabases(3), 0)
	if err := c.sim.Fault("core-3", clustersim.NeverAvailable); err != nil {
		t.Fatal(err)
	}
	res, err := c.roll.Run(context.Background(), rollout.Options{MemberTimeout: 2 * time.Minute})
	var ge *rollout.GateError
	if !errors.As(err, &ge) || ge.Phase != rollout.PhaseBefore || ge.Member != res.Order[0] || res.Next != res.Order[0] ||
		!strings.Contains(err.Error(), "server core-3 is Unavailable") {
		t.Fatalf("err %v; result %+v", err, res)
	}
	if len(c.restart.restarts) != 0 {
		t.Errorf("restarted %v", c.restart.restarts)
	}
	if w := eventsOf[rollout.GateWaiting](c.events); len(w) == 0 || !strings.Contains(w[0].String(), "core-3") {
		t.Errorf("waiting events %v", w)
	}
}

// Interrupted while a member is down, the roll finishes that member (back and gated), stops,
// and says where to resume; the resumed run restarts the rest, each member once in all.
func TestInterruptedAndResumed(t *testing.T) {
	c := newCluster(t, twoDatabases(5), 1)
	c.oneDownAtATime(t)
	ctx, cancel := context.WithCancel(context.Background())
	c.events.on = func(e rollout.Event) {
		if _, ok := e.(rollout.MemberStarted); ok && len(c.restart.restarts) == 3 {
			cancel() // Ctrl-C while the third member is still coming back
		}
	}
	res, err := c.roll.Run(ctx, opts)
	var ie *rollout.InterruptedError
	if !errors.As(err, &ie) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if len(res.Done) != 3 || res.Next != res.Order[3] || ie.Next != res.Next || ie.Down != "" {
		t.Fatalf("result %+v; error %+v", res, ie)
	}
	if len(eventsOf[rollout.Interrupting](c.events)) != 1 {
		t.Error("no Interrupting event")
	}
	if !strings.Contains(err.Error(), "resume from "+res.Next) {
		t.Errorf("error %q", err)
	}
	// the finished member is back when the run returns
	if sv, _ := c.sim.View().Server(res.Done[2]); sv.Health != clustersim.Available {
		t.Errorf("the interrupted run left %s %s", res.Done[2], sv.Health)
	}
	c.events.on = nil
	c.sim.Advance(3 * time.Minute) // leaderships rebalance meanwhile: the pinned order still holds
	again, err := c.roll.Run(context.Background(), withTimeout(res.Resume()))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.Skipped, res.Order[:3]) || !slices.Equal(again.Done, res.Order[3:]) {
		t.Errorf("resumed run: %+v", again)
	}
	c.restartedOnce(t, allMembers(5, true)...)
	c.quorumKept(t)
}

func withTimeout(o rollout.Options) rollout.Options {
	o.MemberTimeout = opts.MemberTimeout
	return o
}

// Interrupted before the member went down, the roll gives its leaderships back and stops
// there: it is where the resumed run starts.
func TestInterruptedBeforeTheRestart(t *testing.T) {
	c := newCluster(t, twoDatabases(3), 0)
	ctx, cancel := context.WithCancel(context.Background())
	c.events.on = func(e rollout.Event) {
		if m, ok := e.(rollout.LeadershipMoved); ok && len(m.To) > 0 {
			cancel()
		}
	}
	res, err := c.roll.Run(ctx, opts)
	var ie *rollout.InterruptedError
	if !errors.As(err, &ie) || ie.Down != "" || len(c.restart.restarts) != 0 || res.Next == "" || len(res.Done) != 0 {
		t.Fatalf("err %v; result %+v; restarted %v", err, res, c.restart.restarts)
	}
	for _, d := range c.status(t).Databases {
		if d.Access == "read-only" {
			t.Errorf("%s is left read-only on %s", d.Name, d.Address)
		}
	}
}

// A second interruption (Abort) abandons the member that is down: it is where the resumed
// run starts, and the error says it may be down.
func TestAborted(t *testing.T) {
	c := newCluster(t, twoDatabases(3), 0)
	ctx, cancel := context.WithCancel(context.Background())
	abort := make(chan struct{})
	c.restart.before = func(rollout.Member) { cancel(); close(abort) }
	c.restart.hang = true
	o := opts
	o.Abort = abort
	res, err := c.roll.Run(ctx, o)
	var ie *rollout.InterruptedError
	if !errors.As(err, &ie) || ie.Down != res.Order[0] || res.Next != res.Order[0] || !strings.Contains(err.Error(), "may be down") {
		t.Fatalf("err %v; result %+v", err, res)
	}
	if sv, _ := c.sim.View().Server(res.Order[0]); sv.Running {
		t.Errorf("%s runs: the abandoned restart was not cut short", res.Order[0])
	}
	// resumed from the member that is down: named, so its being down does not block it
	c.restart.before, c.restart.hang = nil, false
	again, err := c.roll.Run(context.Background(), withTimeout(res.Resume()))
	if err != nil || !slices.Equal(again.Done, res.Order) {
		t.Fatalf("resumed: %v; %+v", err, again)
	}
	c.restartedOnce(t, allMembers(3, false)...)
}

// A hung member named alone (restart --member core-2) is restarted although it is down: that
// is the repair. Reached by a whole roll, a member that is down stops the roll instead.
func TestRestartAHungMember(t *testing.T) {
	c := newCluster(t, twoDatabases(3), 1)
	if err := c.sim.Fault("core-2", clustersim.NeverAvailable); err != nil {
		t.Fatal(err)
	}
	c.sim.Advance(time.Minute)
	_, err := c.roll.Run(context.Background(), rollout.Options{MemberTimeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "server core-2 is Unavailable") || len(c.restart.restarts) != 0 {
		t.Fatalf("whole roll: %v; restarted %v", err, c.restart.restarts)
	}
	c.restart.before = func(m rollout.Member) { _ = c.sim.Fault(m.Name, clustersim.NoFault) } // a new process
	res, err := c.roll.Run(context.Background(), rollout.Options{MemberTimeout: time.Minute, Only: []string{"core-2"}})
	if err != nil || !slices.Equal(res.Done, []string{"core-2"}) {
		t.Fatalf("--member core-2: %v; %+v", err, res)
	}
	if kept := eventsOf[rollout.LeadershipKept](c.events); len(kept) != 0 {
		t.Errorf("a hand-over from a member that is down: %v", kept)
	}
	c.restartedOnce(t, "core-2")
	c.quorumKept(t)
}

// The whole-run deadline stops before the next member.
func TestOutOfTime(t *testing.T) {
	c := newCluster(t, twoDatabases(3), 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	c.events.on = func(e rollout.Event) {
		if _, ok := e.(rollout.MemberDone); ok {
			cancel()
		}
	}
	res, err := c.roll.Run(ctx, opts)
	if !errors.Is(err, context.Canceled) || len(res.Done) != 1 || res.Next != res.Order[1] {
		t.Fatalf("err %v; result %+v", err, res)
	}
}

// One member alone (restart --member core-2), and a member the cluster does not have.
func TestOnly(t *testing.T) {
	c := newCluster(t, twoDatabases(3), 1)
	o := opts
	o.Only = []string{"core-2"}
	res, err := c.roll.Run(context.Background(), o)
	if err != nil || !slices.Equal(res.Done, []string{"core-2"}) {
		t.Fatalf("err %v; result %+v", err, res)
	}
	c.restartedOnce(t, "core-2")
	o.Only = []string{"core-9"}
	if _, err := c.roll.Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "no member core-9") {
		t.Errorf("core-9: %v", err)
	}
	o.Only, o.From = nil, "core-9"
	if _, err := c.roll.Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "--from core-9") {
		t.Errorf("--from core-9: %v", err)
	}
	o.From, o.Order = "", []string{"core-1", "core-2"}
	if _, err := c.roll.Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "lacks core-3, replicas") {
		t.Errorf("a stale order: %v", err)
	}
}

// A database of two primaries cannot lose one without losing its writer: the roll refuses at
// once, naming it, unless the outage is accepted.
func TestDatabaseThatCannotSpareAPrimary(t *testing.T) {
	cfg := twoDatabases(3)
	cfg.Databases = append(cfg.Databases, clustersim.DatabaseSpec{Name: "fragile", Primaries: 2, Secondaries: 0})
	c := newCluster(t, cfg, 0)
	t0 := c.sim.Now()
	_, err := c.roll.Run(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "database fragile has 2 primaries") || !strings.Contains(err.Error(), "cannot go down safely") {
		t.Fatalf("err %v", err)
	}
	if c.sim.Now() != t0 || len(c.restart.restarts) != 0 {
		t.Errorf("waited %s, restarted %v", c.sim.Now().Sub(t0), c.restart.restarts)
	}
	o := opts
	o.AcceptWriteOutage = true
	if _, err := c.roll.Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	c.restartedOnce(t, allMembers(3, false)...)
}

// flakyAdmin fails some requests as a channel can: every third status poll times out, and
// transfer-leadership is unsupported (a --bolt-uri run has no member connections).
type flakyAdmin struct {
	rollout.Admin
	polls int
}

func (f *flakyAdmin) Send(ctx context.Context, req neo4jadmin.Request) (neo4jadmin.Response, error) {
	switch req.Type {
	case neo4jadmin.ReqStatus:
		if f.polls++; f.polls%3 == 0 {
			return neo4jadmin.Response{}, errors.New("invoking the admin function: context deadline exceeded")
		}
	case neo4jadmin.ReqTransferLeadership:
		return neo4jadmin.Response{Type: req.Type, Error: &neo4jadmin.Error{Code: neo4jadmin.CodeUnsupported, Message: "transferring leadership needs a direct connection"}}, nil
	}
	return f.Admin.Send(ctx, req)
}

// Without hand-overs the roll still goes one member at a time and keeps the majority; the
// leaderships move by election (a writer gap of the election timeout), which it says; a
// status poll that fails is waited out like any gate.
func TestWithoutHandOverAndFlakyChannel(t *testing.T) {
	c := newCluster(t, twoDatabases(3), 0)
	c.oneDownAtATime(t)
	c.roll.Admin = &flakyAdmin{Admin: c.admin}
	if _, err := c.roll.Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	c.restartedOnce(t, allMembers(3, false)...)
	c.quorumKept(t)
	kept := eventsOf[rollout.LeadershipKept](c.events)
	if len(kept) == 0 || !strings.Contains(kept[0].String(), "needs a direct connection") {
		t.Errorf("no LeadershipKept event: %v", kept)
	}
	if w := eventsOf[rollout.GateWaiting](c.events); !slices.ContainsFunc(w, func(e rollout.GateWaiting) bool {
		return strings.Contains(e.String(), "did not answer (admin request status: invoking the admin function")
	}) {
		t.Errorf("no wait on a failed poll: %v", w)
	}
}
