package rollout

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// Restarter restarts one member's process; the action layer implements it (an ECS forced
// deployment of the member's service, a CloudFormation update of the member's stack for an
// upgrade or AMI refresh, or a stop then start). Restart must return only once the old
// process is gone and its replacement runs (ECS: the new deployment's task RUNNING, the
// old one STOPPED): until then Neo4j may still see the old process, and the gate after
// the member would pass on a member that has not gone down yet. The roll bounds it with
// the member timeout and lets it finish when interrupted.
type Restarter interface {
	Restart(ctx context.Context, m Member) error
}

// RestartFunc adapts a function to Restarter.
type RestartFunc func(ctx context.Context, m Member) error

func (f RestartFunc) Restart(ctx context.Context, m Member) error { return f(ctx, m) }

// StopStart is a Restarter made of a stop and a start (ECS desired count 0, then 1: a core
// never runs two tasks on its one data volume, which a deployment that starts the new task
// before stopping the old would do). Stop returns once the member's task has stopped,
// Start once the new one runs.
type StopStart struct {
	Stop, Start func(ctx context.Context, m Member) error
}

func (s StopStart) Restart(ctx context.Context, m Member) error {
	if err := s.Stop(ctx, m); err != nil {
		return fmt.Errorf("stopping %s: %w", m.Name, err)
	}
	if err := s.Start(ctx, m); err != nil {
		return fmt.Errorf("starting %s again (it is stopped): %w", m.Name, err)
	}
	return nil
}

// Roll is a rolling restart: one member at a time, gated before and after, quorum first.
type Roll struct {
	Admin     Admin
	Restarter Restarter
	Clock     Clock  // default RealClock
	Events    Events // default Discard
	// Members are every member of the cluster (Members()): the roll takes them all unless
	// Options.Only says otherwise, and names servers by them.
	Members []Member
}

// Defaults of Options.
const (
	DefaultMemberTimeout     = 15 * time.Minute
	DefaultPoll              = 5 * time.Second
	DefaultLeadershipTimeout = 2 * time.Minute
)

// Options shape one run.
type Options struct {
	// Only rolls these members (restart --member); empty: all.
	Only []string
	// From skips the members before it in the order (resuming an interrupted roll).
	From string
	// Order is the order of an earlier run (Result.Order) to resume exactly: the order is
	// otherwise computed from who leads what now, which the earlier run changed.
	Order []string
	// MemberTimeout bounds each wait of a member: the gate before it, the restart, the gate
	// after it (--member-timeout). The whole run is bounded by ctx (--timeout).
	MemberTimeout time.Duration
	// LeadershipTimeout bounds waiting for a member's leaderships to move before its restart;
	// when they do not, the restart goes ahead and an election moves them.
	LeadershipTimeout time.Duration
	Poll              time.Duration
	// MaxReplicationLag is "caught up" (default neo4jadmin.DefaultMaxReplicationLag).
	MaxReplicationLag int64
	// AcceptWriteOutage restarts members whose databases cannot spare a primary (fewer than
	// three): those databases refuse writes until the member is back.
	AcceptWriteOutage bool
	// Abort, when closed, abandons even a member that is down (a second Ctrl-C); the first
	// interruption (ctx) lets such a member finish.
	Abort <-chan struct{}
}

// named: the member was named by the user (Only, From), so it may be restarted while it is
// down: that is how a hung member is repaired, and how a run abandoned mid-restart resumes.
func (o Options) named(m Member) bool { return o.From == m.Name || slices.Contains(o.Only, m.Name) }

func (o Options) withDefaults() Options {
	o.MemberTimeout = cmp.Or(o.MemberTimeout, DefaultMemberTimeout)
	o.LeadershipTimeout = min(cmp.Or(o.LeadershipTimeout, DefaultLeadershipTimeout), o.MemberTimeout)
	o.Poll = cmp.Or(o.Poll, DefaultPoll)
	return o
}

// Result is what a run did, also when it stopped early.
type Result struct {
	// Order is the run's order (after Only); Options{From: Next, Order: Order} resumes it.
	Order   []string
	Skipped []string // before From
	Done    []string // restarted and gated by this run
	// Next is the first member this run did not finish: where a resumed run starts ("" when
	// the roll is complete). A member that was restarted but did not pass its after gate is
	// not restarted again: Next is the one after it, whose before gate waits for it.
	Next    string
	Members []MemberReport
	// Time spent, summed over members: in gates (before and after), waiting for
	// leaderships to move, and in the restarts themselves.
	Gates, Leadership, Restarts time.Duration
}

// Resume is the Options that carry on where the run stopped.
func (r Result) Resume() Options { return Options{From: r.Next, Order: r.Order} }

// MemberReport is one member's timings.
type MemberReport struct {
	Member                             string
	Before, Leadership, Restart, After time.Duration
	// Moved: user databases whose leadership was handed over, to which member.
	Moved map[string]string
}

// InterruptedError: the run stopped because ctx ended (Ctrl-C, or the whole-run timeout)
// or Options.Abort closed. Next is where to resume.
type InterruptedError struct {
	Next  string
	Done  []string
	Cause error
	// Down names a member abandoned mid-restart (Abort): it may still be down.
	Down string
}

func (e *InterruptedError) Error() string {
	why := "interrupted"
	if errors.Is(e.Cause, context.DeadlineExceeded) {
		why = "out of time"
	}
	s := why
	if len(e.Done) > 0 {
		s += " after " + strings.Join(e.Done, ", ")
	}
	if e.Down != "" {
		s += fmt.Sprintf("; %s was abandoned mid-restart and may be down", e.Down)
	}
	if e.Next != "" {
		s += "; resume from " + e.Next
	}
	return s
}

func (e *InterruptedError) Unwrap() error { return e.Cause }

// RestartError: the restart action failed; the member may be down.
type RestartError struct {
	Member string
	Err    error
}

func (e *RestartError) Error() string { return fmt.Sprintf("restarting %s: %v", e.Member, e.Err) }
func (e *RestartError) Unwrap() error { return e.Err }

// Run rolls the members. It returns the Result with an error that is nil (all done), a
// *GateError (a gate did not pass; the members after it are untouched), an
// *InterruptedError, a *RestartError, or an admin error; Result.Next says where to resume.
//
// Interrupted (ctx ends) before a member goes down, the roll stops there and hands the
// member's leaderships back. Once the member's restart was requested it finishes it (the
// restart, then its after gate, each within the member timeout) before stopping: leaving a
// core down leaves the cluster one failure away from losing quorum, and a resumed run would
// only wait for it anyway. Options.Abort abandons it too.
func (r *Roll) Run(ctx context.Context, o Options) (Result, error) {
	o = o.withDefaults()
	r = r.withDefaults()
	st, err := status(ctx, r.Admin)
	if err != nil {
		return Result{}, fmt.Errorf("reading the cluster before rolling: %w", err)
	}
	plan, err := r.plan(st, o)
	if err != nil {
		return Result{}, err
	}
	res := Result{Order: names(plan)}
	start := 0
	if o.From != "" {
		start = slices.Index(res.Order, o.From)
		if start < 0 {
			return res, fmt.Errorf("--from %s: not in the order %s", o.From, strings.Join(res.Order, ", "))
		}
		res.Skipped = res.Order[:start]
	}
	if err := r.preflight(st, plan[start:], o); err != nil {
		res.Next = plan[start].Name
		return res, err
	}
	r.Events.Emit(Planned{Order: res.Order[start:], Skipped: res.Skipped})
	run := runID()
	for i := start; i < len(plan); i++ {
		m := plan[i]
		res.Next = m.Name
		if err := ctx.Err(); err != nil {
			return res, &InterruptedError{Next: m.Name, Done: res.Done, Cause: err}
		}
		r.Events.Emit(MemberBegun{Member: m.Name, Index: i - start + 1, Total: len(plan) - start})
		t0 := r.Clock.Now()
		rep, reached, err := r.member(ctx, m, o, run)
		res.add(rep)
		if err == nil {
			res.Done = append(res.Done, m.Name)
			r.Events.Emit(MemberDone{Member: m.Name, Took: r.Clock.Now().Sub(t0)})
			continue
		}
		if reached == stageAfter { // restarted: the next run starts after it
			res.Next = ""
			if i+1 < len(plan) {
				res.Next = plan[i+1].Name
			}
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			ie := &InterruptedError{Next: res.Next, Done: res.Done, Cause: cmp.Or(ctx.Err(), err)}
			if reached != stageBefore {
				ie.Down = m.Name
			}
			return res, ie
		}
		return res, err
	}
	res.Next = ""
	return res, nil
}

func names(ms []Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func (r *Result) add(rep MemberReport) {
	r.Members = append(r.Members, rep)
	r.Gates += rep.Before + rep.After
	r.Leadership += rep.Leadership
	r.Restarts += rep.Restart
}

// plan is the order of this run: pinned, or computed from who leads what; Only applied.
func (r *Roll) plan(st *neo4jadmin.Status, o Options) ([]Member, error) {
	members := r.Members
	if len(o.Only) > 0 {
		members = nil
		for _, name := range o.Only {
			i := slices.IndexFunc(r.Members, func(m Member) bool { return m.Name == name })
			if i < 0 {
				return nil, fmt.Errorf("no member %s (members: %s)", name, strings.Join(names(r.Members), ", "))
			}
			members = append(members, r.Members[i])
		}
	}
	if len(members) == 0 {
		return nil, errors.New("no members to roll")
	}
	if len(o.Order) > 0 {
		return pinned(o.Order, members)
	}
	return Order(st, members), nil
}

// preflight refuses, before anything is touched, a roll that would stop half-way on what
// waiting cannot fix: a database that cannot spare a primary of a member to restart.
func (r *Roll) preflight(st *neo4jadmin.Status, todo []Member, o Options) error {
	for _, m := range todo {
		if m.Replicas() {
			continue
		}
		ps := check(st, gateSpec{members: r.Members, down: &m, acceptOutage: o.AcceptWriteOutage})
		if ps = slices.DeleteFunc(ps, func(p Problem) bool { return !p.Final }); len(ps) > 0 {
			return &GateError{Member: m.Name, Phase: PhaseBefore, Problems: ps}
		}
	}
	return nil
}

// withDefaults is a copy with the defaults filled in (the Roll is not changed).
func (r *Roll) withDefaults() *Roll {
	c := *r
	c.Clock, c.Events = cmp.Or[Clock](r.Clock, RealClock{}), cmp.Or[Events](r.Events, Discard{})
	return &c
}

func (r *Roll) waiter(o Options) waiter {
	return waiter{admin: r.Admin, clock: r.Clock, events: r.Events, poll: o.Poll}
}

// stage is how far a member got.
type stage int

const (
	stageBefore  stage = iota // not taken down
	stageRestart              // its restart was requested and did not complete
	stageAfter                // restarted (a resumed run does not restart it again)
)

// member takes one member through gate, hand-over, restart, gate; on an error, reached says
// how far it got.
func (r *Roll) member(ctx context.Context, m Member, o Options, run string) (rep MemberReport, reached stage, err error) {
	rep.Member = m.Name
	st, giveBack, err := r.prepare(ctx, m, o, run, &rep)
	if err != nil {
		return rep, stageBefore, err
	}
	// Committed: from here the member is finished even when ctx ends.
	fin, stop := r.finishing(ctx, o, m)
	defer stop()
	reached, err = r.restart(fin, m, o, st, &rep)
	if err == nil {
		giveBack(fin) // a restart clears it; this covers a restart that did not happen
	}
	return rep, reached, err
}

// prepare waits for the gate before the member, hands its leaderships over and looks again.
// It returns the status the restart goes ahead on and how to give the leaderships back; on
// an error it has given them back already.
func (r *Roll) prepare(ctx context.Context, m Member, o Options, run string, rep *MemberReport) (*neo4jadmin.Status, func(context.Context), error) {
	w := r.waiter(o)
	before := gateSpec{members: r.Members, maxLag: o.MaxReplicationLag, acceptOutage: o.AcceptWriteOutage}
	if !m.Replicas() {
		before.down = &m
	}
	gate := func(st *neo4jadmin.Status) Problems {
		spec := before
		if sv, ok := server(st, m); ok && o.named(m) && !strings.EqualFold(sv.Health, "Available") {
			spec.self = sv.ID
		}
		ps := check(st, spec)
		if _, ok := serverID(st, m); !ok && !m.Replicas() {
			ps = append(ps, Problem{Check: neo4jadmin.GateServersEnabled, Server: m.Name, Final: true,
				Is: "is not in SHOW SERVERS (no server at " + m.Host + ")", Want: "a server of this cluster"})
		}
		return ps
	}
	nothing := func(context.Context) {}
	st, waited, err := w.wait(ctx, m.Name, PhaseBefore, o.MemberTimeout, gate)
	rep.Before += waited
	if err != nil || m.Replicas() {
		return st, nothing, err
	}
	handedOver, moved, waited, err := w.handOver(ctx, r.Members, m, st, o.LeadershipTimeout, run+"/"+m.Name+"/hand-over")
	rep.Moved, rep.Leadership = moved, waited
	giveBack := nothing
	if handedOver {
		giveBack = func(ctx context.Context) { w.giveBack(ctx, m, run+"/"+m.Name+"/give-back") }
	}
	if err == nil && handedOver { // leaderships moved meanwhile: look again right before
		recheck := w
		recheck.quiet = true
		st, waited, err = recheck.wait(ctx, m.Name, PhaseBefore, o.MemberTimeout, gate)
		rep.Before += waited
	}
	if err != nil {
		giveBack(context.WithoutCancel(ctx))
		return nil, nothing, err
	}
	return st, giveBack, nil
}

// restart restarts the member and waits for the gate after it, under fin (which outlives an
// interruption). st is the status before: a replicas restart must replace its servers.
func (r *Roll) restart(fin context.Context, m Member, o Options, st *neo4jadmin.Status, rep *MemberReport) (stage, error) {
	r.Events.Emit(MemberStopping{Member: m.Name})
	t0 := r.Clock.Now()
	rctx, cancel := context.WithTimeout(fin, o.MemberTimeout)
	err := r.Restarter.Restart(rctx, m)
	cancel()
	rep.Restart = r.Clock.Now().Sub(t0)
	if err != nil {
		if fin.Err() != nil {
			return stageRestart, fin.Err()
		}
		return stageRestart, &RestartError{Member: m.Name, Err: err}
	}
	r.Events.Emit(MemberStarted{Member: m.Name, Took: rep.Restart})
	after := gateSpec{members: r.Members, maxLag: o.MaxReplicationLag}
	if m.Replicas() {
		after.oldReplicas = replicaServers(st)
		after.minReplicas = len(after.oldReplicas)
	}
	_, waited, err := r.waiter(o).wait(fin, m.Name, PhaseAfter, o.MemberTimeout, func(st *neo4jadmin.Status) Problems { return check(st, after) })
	rep.After = waited
	return stageAfter, err
}

// finishing is the context a committed member runs under: it outlives ctx (the member is
// finished when interrupted) but ends when Options.Abort closes.
func (r *Roll) finishing(ctx context.Context, o Options, m Member) (context.Context, func()) {
	fin, cancel := context.WithCancel(context.WithoutCancel(ctx))
	emitted := make(chan struct{})
	told := context.AfterFunc(ctx, func() {
		defer close(emitted)
		r.Events.Emit(Interrupting{Member: m.Name})
	})
	done := make(chan struct{})
	if o.Abort != nil {
		go func() {
			select {
			case <-o.Abort:
				cancel()
			case <-done:
			}
		}()
	}
	return fin, func() {
		if !told() {
			<-emitted // said before the run returns
		}
		close(done)
		cancel()
	}
}
