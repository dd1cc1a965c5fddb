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

// requested is each user database's requested primaries.
func (c *cluster) requested(t *testing.T) map[string]int64 {
	out := map[string]int64{}
	for _, d := range c.status(t).Databases {
		if d.RequestedPrimaries != nil {
			out[d.Name] = *d.RequestedPrimaries
		}
	}
	return out
}

// leadEverything makes member lead every database it hosts: the others' copies are made
// read-only (leaderships move away from them), then given back (no balancing moves them).
func (c *cluster) leadEverything(t *testing.T, member string) {
	t.Helper()
	send := func(m string, undo bool) {
		r, err := c.admin.Send(context.Background(), neo4jadmin.Request{Type: neo4jadmin.ReqTransferLeadership, Server: m + "." + namespace, Undo: undo})
		if err != nil || !r.OK {
			t.Fatalf("transfer-leadership %s: %v %+v", m, err, r.Error)
		}
	}
	for _, m := range allMembers(c.cores, false) {
		if m != member {
			send(m, false)
		}
	}
	c.sim.Advance(30 * time.Second)
	for _, m := range allMembers(c.cores, false) {
		if m != member {
			send(m, true)
		}
	}
}

// Scaling in removes a core that leads databases: its leaderships are handed over first,
// the database on every core follows the count, the copies move, the server is dropped; no
// database loses its majority or its writer, and running it again changes nothing.
func TestScaleInALeader(t *testing.T) {
	cfg := twoDatabases(5)
	cfg.NoLeaderBalancing = true
	c := newCluster(t, cfg, 1)
	c.leadEverything(t, "core-5")
	sv, _ := c.sim.View().Server("core-5")
	if !slices.Contains(sv.Leads, "neo4j") {
		t.Fatalf("core-5 leads %v", sv.Leads)
	}
	c.sim.ResetStats()
	in := &rollout.ScaleIn{Admin: c.admin, Clock: c.sim, Events: c.events, Members: rollout.Members(5, namespace, true),
		Member: rollout.Members(5, namespace, false)[4], Cores: 5, Timeout: 10 * time.Minute}

	plan, err := in.Plan(context.Background())
	if err != nil || len(plan.Topology) != 1 || plan.Topology[0] != (rollout.TopologyChange{Database: "neo4j", From: 5, To: 4, Secondaries: 1, SecondariesKnown: true}) ||
		plan.State != "Enabled" || !strings.Contains(plan.MovesNote, "once the topology is lowered") {
		t.Fatalf("plan %+v, %v", plan, err)
	}
	var confirmed []rollout.Move
	in.Confirm = func(_ context.Context, moves []rollout.Move) error { confirmed = moves; return nil }
	done, err := in.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(confirmed, done.Moves) {
		t.Errorf("confirmed %v, plan %v", confirmed, done.Moves)
	}
	for _, m := range confirmed {
		if m.From != "core-5" || m.To == "core-5" || !strings.HasPrefix(m.To, "core-") || m.Database == "neo4j" {
			t.Errorf("move %+v", m)
		}
	}
	if got := serverState(t, c, "core-5"); got != "Dropped" {
		t.Errorf("core-5 is %s", got)
	}
	if r := c.requested(t); r["neo4j"] != 4 || r["shop"] != 3 || r["ledger"] != 3 {
		t.Errorf("requested primaries %v", r)
	}
	st := c.sim.Stats()
	for _, db := range []string{"neo4j", "shop", "ledger"} {
		if st.WriteUnavailable[db] != 0 {
			t.Errorf("%s without a writer for %s", db, st.WriteUnavailable[db])
		}
	}
	c.quorumKept(t)
	if moved := eventsOf[rollout.LeadershipMoved](c.events); len(moved) != 1 || len(moved[0].To) == 0 {
		t.Errorf("hand-over events %v", moved)
	}
	for _, want := range []string{"core-5: cordoned", "core-5: neo4j: 5 primaries to 4", "core-5: deallocation moves", "core-5: dropped"} {
		if !slices.ContainsFunc(c.events.events, func(e rollout.Event) bool {
			return strings.HasPrefix(strings.ReplaceAll(e.String(), "database ", ""), want)
		}) {
			t.Errorf("no event %q", want)
		}
	}

	// again: nothing left to do; the stack goes, the server with it
	n := len(c.events.events)
	if _, err := in.Run(context.Background()); err != nil {
		t.Fatalf("running it again: %v", err)
	}
	for _, e := range c.events.events[n:] {
		if s, ok := e.(rollout.Step); ok && !s.Done {
			t.Errorf("running it again did %s", s)
		}
	}
	c.sim.Set("core-5", clustersim.Service{})
	if _, err := in.Run(context.Background()); err != nil {
		t.Fatalf("once the member is gone: %v", err)
	}
}

func serverState(t *testing.T, c *cluster, member string) string {
	sv, ok := c.sim.View().Server(member)
	if !ok {
		t.Fatalf("no member %s", member)
	}
	for _, s := range c.status(t).Servers {
		if s.ID == sv.ID {
			return s.State
		}
	}
	return ""
}

// A scale-in stopped at the confirmation has deallocated nothing; running it again carries
// on from there. Then the next core goes the same way, down to three.
func TestScaleInResumed(t *testing.T) {
	c := newCluster(t, twoDatabases(5), 0)
	members := rollout.Members(5, namespace, false)
	in := &rollout.ScaleIn{Admin: c.admin, Clock: c.sim, Events: c.events, Members: members, Member: members[4], Cores: 5,
		Confirm: func(context.Context, []rollout.Move) error { return errors.New("not confirmed") }}
	if _, err := in.Run(context.Background()); err == nil || err.Error() != "not confirmed" {
		t.Fatalf("err %v", err)
	}
	if got := serverState(t, c, "core-5"); got != "Cordoned" {
		t.Errorf("core-5 is %s after the refusal", got)
	}
	in.Confirm = nil
	if _, err := in.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.sim.Set("core-5", clustersim.Service{})
	in = &rollout.ScaleIn{Admin: c.admin, Clock: c.sim, Events: c.events, Members: members[:4], Member: members[3], Cores: 4}
	if _, err := in.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.sim.Set("core-4", clustersim.Service{})
	if r := c.requested(t); r["neo4j"] != 3 || r["shop"] != 3 {
		t.Errorf("requested primaries %v", r)
	}
	c.quorumKept(t)
	// the three left roll as a healthy cluster
	c.roll.Members = members[:3]
	if _, err := c.roll.Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
}

// Scaling out waits for the new servers, enables them, raises the database on every core to
// the new count and spreads the others over the new servers.
func TestScaleOut(t *testing.T) {
	cfg := twoDatabases(3)
	cfg.ManualEnable = true
	c := newCluster(t, cfg, 0)
	members := rollout.Members(5, namespace, false)
	c.sim.Set("core-4", clustersim.Service{Desired: 1, Running: 1})
	c.sim.Set("core-5", clustersim.Service{Desired: 1, Running: 1})
	out := &rollout.ScaleOut{Admin: c.admin, Clock: c.sim, Events: c.events, Members: members, New: members[3:], Cores: 3}
	changes, err := out.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 3 { // neo4j, shop and ledger are on every core (3 primaries)
		t.Errorf("changes %v", changes)
	}
	if r := c.requested(t); r["neo4j"] != 5 || r["shop"] != 5 || r["ledger"] != 5 {
		t.Errorf("requested primaries %v", r)
	}
	for _, m := range []string{"core-4", "core-5"} {
		if got := serverState(t, c, m); got != "Enabled" {
			t.Errorf("%s is %s", m, got)
		}
	}
	c.quorumKept(t)
	if _, err := out.Run(context.Background()); err != nil {
		t.Fatalf("again: %v", err)
	}
	c.roll.Members = members
	if _, err := c.roll.Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
}

// A new member that never joins: the error names it.
func TestScaleOutNeverJoins(t *testing.T) {
	c := newCluster(t, twoDatabases(3), 0)
	members := rollout.Members(4, namespace, false)
	out := &rollout.ScaleOut{Admin: c.admin, Clock: c.sim, Events: c.events, Members: members, New: members[3:], Cores: 3, Timeout: 3 * time.Minute}
	_, err := out.Run(context.Background())
	var ge *rollout.GateError
	if !errors.As(err, &ge) || ge.Phase != rollout.PhaseJoin || !strings.Contains(err.Error(), "core-4 did not join within 3m0s: server core-4 is not in SHOW SERVERS yet") {
		t.Fatalf("err %v", err)
	}
}
