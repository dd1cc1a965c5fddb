package rollout

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// TopologyChange is one database whose primaries a scale step changes (ALTER DATABASE ...
// SET TOPOLOGY; its secondaries are kept).
type TopologyChange struct {
	Database         string
	From, To         int // primaries
	Secondaries      int
	SecondariesKnown bool
}

func (c TopologyChange) String() string {
	return fmt.Sprintf("database %s: %d primaries to %d", c.Database, c.From, c.To)
}

// topologyChanges are the databases whose primaries follow the core count from cores to
// want: those on every core (primaries equal to the core count, as the stacks' default
// topology makes them), and, when cores go, those with more primaries than are left. Other
// topologies are the user's and stay.
func topologyChanges(st *neo4jadmin.Status, cores, want int) []TopologyChange {
	var out []TopologyChange
	for _, d := range st.DatabaseViews() {
		if d.Type == "system" || d.Name == "system" || d.Type == "composite" || d.RequestedPrimaries == nil {
			continue
		}
		p := int(*d.RequestedPrimaries)
		if p == want || (p != cores && p < want) {
			continue
		}
		c := TopologyChange{Database: d.Name, From: p, To: want}
		if d.RequestedSecondaries != nil {
			c.Secondaries, c.SecondariesKnown = int(*d.RequestedSecondaries), true
		}
		out = append(out, c)
	}
	return out
}

// scaleDeps are what the scale sequences share.
type scaleDeps struct {
	Admin   Admin
	Clock   Clock  // default RealClock
	Events  Events // default Discard
	Members []Member
	// Timeout bounds each wait (default DefaultMemberTimeout); Poll is the poll interval.
	Timeout, Poll time.Duration
	// Lag is the replication lag that counts as caught up (default neo4jadmin's).
	MaxReplicationLag int64
}

func (d scaleDeps) waiter() waiter {
	return waiter{admin: d.Admin, clock: cmp.Or[Clock](d.Clock, RealClock{}), events: cmp.Or[Events](d.Events, Discard{}),
		poll: cmp.Or(d.Poll, DefaultPoll)}
}

func (d scaleDeps) timeout() time.Duration { return cmp.Or(d.Timeout, DefaultMemberTimeout) }

// setTopologies applies topology changes, each once per key (retries are deduplicated).
func (d scaleDeps) setTopologies(ctx context.Context, w waiter, member, key string, changes []TopologyChange) error {
	for _, c := range changes {
		if !c.SecondariesKnown {
			return fmt.Errorf("%s: database %s: this Neo4j does not report its requested secondaries, so its topology cannot be changed safely", member, c.Database)
		}
		req := neo4jadmin.Request{Type: neo4jadmin.ReqSetTopology, Database: c.Database, Primaries: c.To, Secondaries: c.Secondaries,
			IdempotencyKey: key + "/topology/" + c.Database}
		if _, err := send(ctx, d.Admin, req); err != nil {
			return fmt.Errorf("%s: %s: %w", member, c, err)
		}
		w.events.Emit(Step{Member: member, Text: c.String()})
	}
	return nil
}

// ScaleIn takes one core member's server out of the cluster: the Neo4j side of scaling cores
// in. Run cordons it (nothing new is allocated to it), hands its leaderships over, lowers
// the topology of the databases that need it, plans the deallocation (DRYRUN, shown through
// Confirm), deallocates, waits until it is Deallocated and drops it; the action layer then
// removes the member's stack. Every step looks first and does only what is left, so an
// interrupted scale-in is resumed by running it again.
type ScaleIn struct {
	Admin   Admin
	Clock   Clock
	Events  Events
	Members []Member // every member now, the leaving one included
	Member  Member   // the core to remove
	Cores   int      // the core count now
	// Confirm sees the planned moves before anything is deallocated; an error stops there
	// (cordon and lowered topologies stay; running again carries on).
	Confirm func(ctx context.Context, moves []Move) error
	// Timeout bounds each wait (default DefaultMemberTimeout).
	Timeout, Poll     time.Duration
	MaxReplicationLag int64
}

// ScalePlan is what a scale step does or did.
type ScalePlan struct {
	Member   string
	State    string // the member's server state when planned ("" when it is not a server)
	Topology []TopologyChange
	Moves    []Move // the deallocation's dry run, when it can be made now
	// MovesNote says why Moves is empty.
	MovesNote string
}

func (s *ScaleIn) deps() scaleDeps {
	return scaleDeps{Admin: s.Admin, Clock: s.Clock, Events: s.Events, Members: s.Members, Timeout: s.Timeout, Poll: s.Poll, MaxReplicationLag: s.MaxReplicationLag}
}

// server is the member's row in SHOW SERVERS (ok false when it is not listed).
func server(st *neo4jadmin.Status, m Member) (neo4jadmin.Server, bool) {
	for _, s := range st.Servers {
		if _, ok := memberOf(s, []Member{m}); ok {
			return s, true
		}
	}
	return neo4jadmin.Server{}, false
}

// Plan says what Run would do now, changing nothing: for `--dry-run` and the confirmation.
func (s *ScaleIn) Plan(ctx context.Context) (ScalePlan, error) {
	st, err := status(ctx, s.Admin)
	if err != nil {
		return ScalePlan{}, fmt.Errorf("reading the cluster before removing %s: %w", s.Member.Name, err)
	}
	return s.plan(ctx, st)
}

func (s *ScaleIn) plan(ctx context.Context, st *neo4jadmin.Status) (ScalePlan, error) {
	if s.Cores < 2 {
		return ScalePlan{}, fmt.Errorf("removing %s: a cluster keeps at least one core", s.Member.Name)
	}
	p := ScalePlan{Member: s.Member.Name}
	sv, ok := server(st, s.Member)
	if !ok {
		p.MovesNote = "it is not a server of the cluster (already dropped)"
		return p, nil
	}
	p.State = sv.State
	p.Topology = topologyChanges(st, s.Cores, s.Cores-1)
	switch state := strings.ToLower(sv.State); {
	case state != "enabled" && state != "cordoned":
		p.MovesNote = "it is already " + sv.State
	case len(p.Topology) > 0:
		p.MovesNote = "the moves are planned once the topology is lowered"
	default:
		moves, err := s.dryRun(ctx, st)
		if err != nil {
			return p, err
		}
		p.Moves = moves
	}
	return p, nil
}

// dryRun is DRYRUN DEALLOCATE with the servers named for people.
func (s *ScaleIn) dryRun(ctx context.Context, st *neo4jadmin.Status) ([]Move, error) {
	resp, err := send(ctx, s.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqDeallocateServer, Server: s.Member.Host, DryRun: true})
	if err != nil {
		return nil, fmt.Errorf("planning the deallocation of %s: %w", s.Member.Name, err)
	}
	v := newView(st, s.Members)
	var out []Move
	for _, m := range resp.Moves {
		out = append(out, Move{Database: m.Database, Role: m.Mode, From: v.labelID(m.FromServerID), To: v.labelID(m.ToServerID)})
	}
	return out, nil
}

// Run removes the member's server. It returns the plan it followed.
func (s *ScaleIn) Run(ctx context.Context) (ScalePlan, error) {
	d, m := s.deps(), s.Member
	w := d.waiter()
	key := runID() + "/scale-in/" + m.Name
	st, err := status(ctx, s.Admin)
	if err != nil {
		return ScalePlan{}, fmt.Errorf("reading the cluster before removing %s: %w", m.Name, err)
	}
	p, err := s.plan(ctx, st)
	if err != nil || p.State == "" {
		if err == nil {
			w.events.Emit(Step{Member: m.Name, Text: "not a server of the cluster", Done: true})
		}
		return p, err
	}
	id, _ := serverID(st, m)
	if slices.Contains([]string{"enabled", "cordoned"}, strings.ToLower(p.State)) {
		if st, err = s.prepare(ctx, w, st, id, p, key); err != nil {
			return p, err
		}
		moves, err := s.dryRun(ctx, st)
		if err != nil {
			return p, err
		}
		p.Moves, p.MovesNote = moves, ""
		w.events.Emit(DeallocationPlanned{Member: m.Name, Moves: moves})
		if s.Confirm != nil {
			if err := s.Confirm(ctx, moves); err != nil {
				return p, err
			}
		}
		if _, err := send(ctx, s.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqDeallocateServer, Server: m.Host, IdempotencyKey: key + "/deallocate"}); err != nil {
			return p, fmt.Errorf("deallocating %s: %w", m.Name, err)
		}
		w.events.Emit(Step{Member: m.Name, Text: fmt.Sprintf("deallocating (%d copies move)", len(moves))})
	}
	return p, s.finish(ctx, w, d, id, key)
}

// prepare: a healthy cluster first, then cordon, hand over, lower the topology and wait for
// the copies to settle.
func (s *ScaleIn) prepare(ctx context.Context, w waiter, st *neo4jadmin.Status, id string, p ScalePlan, key string) (*neo4jadmin.Status, error) {
	d, m := s.deps(), s.Member
	spec := gateSpec{members: s.Members, maxLag: s.MaxReplicationLag, leaving: id}
	gate := func(st *neo4jadmin.Status) Problems { return check(st, spec) }
	st, _, err := w.wait(ctx, m.Name, PhaseBefore, d.timeout(), gate)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(p.State, "Enabled") {
		if _, err := send(ctx, s.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqCordonServer, Server: m.Host, IdempotencyKey: key + "/cordon"}); err != nil {
			return nil, fmt.Errorf("cordoning %s: %w", m.Name, err)
		}
		w.events.Emit(Step{Member: m.Name, Text: "cordoned: nothing new is allocated to it"})
	} else {
		w.events.Emit(Step{Member: m.Name, Text: "cordoned", Done: true})
	}
	if _, _, _, err := w.handOver(ctx, s.Members, m, st, min(DefaultLeadershipTimeout, d.timeout()), key+"/hand-over"); err != nil {
		return nil, err
	}
	// the plan's changes are recomputed: a resumed run may have lowered some already
	if err := d.setTopologies(ctx, w, m.Name, key, topologyChanges(st, s.Cores, s.Cores-1)); err != nil {
		return nil, err
	}
	st, _, err = w.wait(ctx, m.Name, PhaseSettled, d.timeout(), gate)
	return st, err
}

// finish waits for Deallocated, drops the server and waits for the cluster to settle.
func (s *ScaleIn) finish(ctx context.Context, w waiter, d scaleDeps, id, key string) error {
	m := s.Member
	var state string
	_, _, err := w.wait(ctx, m.Name, PhaseDeallocated, d.timeout(), func(st *neo4jadmin.Status) Problems {
		sv, ok := server(st, m)
		state = sv.State
		if !ok || slices.Contains([]string{"deallocated", "dropped"}, strings.ToLower(sv.State)) {
			return nil
		}
		if strings.EqualFold(sv.State, "Free") {
			return Problems{{Check: CheckServerGone, Server: m.Name, Final: true, Is: "is Free (never enabled, it hosts nothing): there is nothing to deallocate", Want: "Deallocated"}}
		}
		return Problems{{Check: CheckServerGone, Server: m.Name, Is: fmt.Sprintf("is %s and hosts %s", sv.State, strings.Join(without(sv.RequestedHosting, []string{"system"}), ", ")),
			Want: "Deallocated"}}
	})
	if err != nil {
		return err
	}
	if state == "" || strings.EqualFold(state, "Dropped") {
		w.events.Emit(Step{Member: m.Name, Text: "dropped", Done: true})
	} else {
		if _, err := send(ctx, s.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqDropServer, Server: m.Host, IdempotencyKey: key + "/drop"}); err != nil {
			return fmt.Errorf("dropping %s: %w", m.Name, err)
		}
		w.events.Emit(Step{Member: m.Name, Text: "dropped: its stack can go now"})
	}
	spec := gateSpec{members: s.Members, maxLag: d.MaxReplicationLag, leaving: id}
	_, _, err = w.wait(ctx, m.Name, PhaseSettled, d.timeout(), func(st *neo4jadmin.Status) Problems { return check(st, spec) })
	return err
}

// ScaleOut brings new core members' servers into the cluster: the Neo4j side of scaling
// cores out, once their stacks run. Run waits until each is listed and Available, enables
// it (when the cluster did not already), raises the topology of the databases on every core
// to the new count, reallocates (REALLOCATE DATABASES) and waits for the cluster to settle.
// Like ScaleIn, every step is idempotent: running it again carries on.
type ScaleOut struct {
	Admin   Admin
	Clock   Clock
	Events  Events
	Members []Member // every member, the new ones included
	New     []Member // the new core members
	Cores   int      // the core count before them
	// Timeout bounds each wait (default DefaultMemberTimeout).
	Timeout, Poll     time.Duration
	MaxReplicationLag int64
}

// Run brings the new servers in; it returns the topology changes it made.
func (s *ScaleOut) Run(ctx context.Context) ([]TopologyChange, error) {
	d := scaleDeps{Admin: s.Admin, Clock: s.Clock, Events: s.Events, Members: s.Members, Timeout: s.Timeout, Poll: s.Poll, MaxReplicationLag: s.MaxReplicationLag}
	w := d.waiter()
	key := runID() + "/scale-out"
	label := strings.Join(names(s.New), ", ")
	st, _, err := w.wait(ctx, label, PhaseJoin, d.timeout(), func(st *neo4jadmin.Status) Problems {
		var ps Problems
		for _, m := range s.New {
			sv, ok := server(st, m)
			switch {
			case !ok:
				ps = append(ps, Problem{Check: CheckJoined, Server: m.Name, Is: "is not in SHOW SERVERS yet", Want: "listed"})
			case !strings.EqualFold(sv.Health, "Available"):
				ps = append(ps, Problem{Check: neo4jadmin.GateServersAvailable, Server: m.Name, Is: "is " + sv.Health, Want: "Available"})
			}
		}
		return ps
	})
	if err != nil {
		return nil, err
	}
	for _, m := range s.New {
		sv, _ := server(st, m)
		if strings.EqualFold(sv.State, "Enabled") {
			w.events.Emit(Step{Member: m.Name, Text: "enabled", Done: true})
			continue
		}
		if _, err := send(ctx, s.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqEnableServer, Server: m.Host, IdempotencyKey: key + "/enable/" + m.Name}); err != nil {
			return nil, fmt.Errorf("enabling %s: %w", m.Name, err)
		}
		w.events.Emit(Step{Member: m.Name, Text: "enabled (was " + sv.State + ")"})
	}
	changes := topologyChanges(st, s.Cores, s.Cores+len(s.New))
	if err := d.setTopologies(ctx, w, label, key, changes); err != nil {
		return changes, err
	}
	resp, err := send(ctx, s.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqReallocateDatabases, IdempotencyKey: key + "/reallocate"})
	if err != nil {
		return changes, fmt.Errorf("reallocating databases onto %s: %w", label, err)
	}
	w.events.Emit(Step{Member: label, Text: fmt.Sprintf("reallocated: %d copies move", len(resp.Moves))})
	spec := gateSpec{members: s.Members, maxLag: d.MaxReplicationLag}
	_, _, err = w.wait(ctx, label, PhaseSettled, d.timeout(), func(st *neo4jadmin.Status) Problems { return check(st, spec) })
	return changes, err
}
