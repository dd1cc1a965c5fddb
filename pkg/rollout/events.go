package rollout

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Event is something a rolling operation reports while it works: a small struct with the
// facts, and String, the line people read (the same shape as ops.Event).
type Event interface{ String() string }

// Events receives the events (ops.Events satisfies it).
type Events interface{ Emit(Event) }

// Discard drops every event.
type Discard struct{}

func (Discard) Emit(Event) {}

// Phase names a wait.
type Phase string

const (
	PhaseBefore      Phase = "before"      // the cluster is healthy enough to take the member down
	PhaseLeadership  Phase = "leadership"  // the member's leaderships have moved
	PhaseAfter       Phase = "after"       // the member is back and caught up
	PhaseJoin        Phase = "join"        // a new server is listed and Available
	PhaseDeallocated Phase = "deallocated" // a server being removed hosts nothing any more
	PhaseSettled     Phase = "settled"     // after a scale step: hosting as requested everywhere
)

// Planned: the order the roll takes (Skipped: before Options.From).
type Planned struct {
	Order, Skipped []string
}

func (e Planned) String() string {
	s := "Rolling " + strings.Join(e.Order, ", ") + " (one at a time, gated)"
	if len(e.Skipped) > 0 {
		s += "; skipping " + strings.Join(e.Skipped, ", ") + " (before --from)"
	}
	return s
}

// MemberBegun: the roll reached a member.
type MemberBegun struct {
	Member       string
	Index, Total int // 1-based
}

func (e MemberBegun) String() string {
	return fmt.Sprintf("[%d/%d] %s", e.Index, e.Total, e.Member)
}

// GateWaiting: a gate is not passed yet; Problems say what is missing. Sent when the wait
// starts and whenever what is missing changes.
type GateWaiting struct {
	Member   string
	Phase    Phase
	Problems Problems
	Waited   time.Duration
}

func (e GateWaiting) String() string {
	return fmt.Sprintf("%s: waiting (%s, %s): %s", e.Member, e.Phase, e.Waited.Round(time.Second), e.Problems)
}

// GatePassed: a gate passed after Waited.
type GatePassed struct {
	Member string
	Phase  Phase
	Waited time.Duration
}

func (e GatePassed) String() string {
	return fmt.Sprintf("%s: %s gate passed (%s)", e.Member, e.Phase, e.Waited.Round(time.Second))
}

// LeadershipMoved: the member's user-database leaderships are elsewhere now (To: database
// -> member). System is set when the member leads the system database, whose leadership
// cannot be handed over: it is elected anew when the member stops.
type LeadershipMoved struct {
	Member string
	To     map[string]string
	System bool
}

func (e LeadershipMoved) String() string {
	var parts []string
	for _, db := range slices.Sorted(maps.Keys(e.To)) {
		parts = append(parts, db+" to "+e.To[db])
	}
	s := e.Member + ": leadership of " + strings.Join(parts, ", ") + " handed over"
	if len(parts) == 0 {
		s = e.Member + ": leads no user database"
	}
	if e.System {
		s += "; it leads system, which cannot be handed over: a new system leader is elected when it stops"
	}
	return s
}

// LeadershipKept: the leaderships could not be handed over before the restart (Why); they
// move by election when the member stops.
type LeadershipKept struct {
	Member    string
	Databases []string
	Why       string
}

func (e LeadershipKept) String() string {
	return fmt.Sprintf("%s: still leads %s (%s); an election moves them when it stops", e.Member, strings.Join(e.Databases, ", "), e.Why)
}

// MemberStopping: the restart was requested; the member is going down.
type MemberStopping struct{ Member string }

func (e MemberStopping) String() string { return e.Member + ": restarting" }

// MemberStarted: the restart action returned: the old process is gone and the new one runs
// (Neo4j may not be ready yet: the after gate waits for that).
type MemberStarted struct {
	Member string
	Took   time.Duration
}

func (e MemberStarted) String() string {
	return fmt.Sprintf("%s: restarted (%s); waiting for Neo4j", e.Member, e.Took.Round(time.Second))
}

// MemberDone: the member is back, gated.
type MemberDone struct {
	Member string
	Took   time.Duration
}

func (e MemberDone) String() string {
	return fmt.Sprintf("%s: done (%s)", e.Member, e.Took.Round(time.Second))
}

// Interrupting: the roll was interrupted while a member was down: it finishes that member
// (until it is back and gated, at most the member timeout) and stops there.
type Interrupting struct{ Member string }

func (e Interrupting) String() string {
	return fmt.Sprintf("Interrupted: finishing %s (it is down; leaving now would leave the cluster one failure from losing quorum), then stopping", e.Member)
}

// Step: one step of a scale sequence (Done: it was already done, nothing changed).
type Step struct {
	Member, Text string
	Done         bool
}

func (e Step) String() string {
	if e.Done {
		return e.Member + ": " + e.Text + " (already done)"
	}
	return e.Member + ": " + e.Text
}

// Move is one database copy a deallocation moves, with servers named for people.
type Move struct {
	Database, Role, From, To string
}

// DeallocationPlanned: the dry run of DEALLOCATE DATABASES FROM SERVER: the copies that
// will move.
type DeallocationPlanned struct {
	Member string
	Moves  []Move
}

func (e DeallocationPlanned) String() string {
	if len(e.Moves) == 0 {
		return e.Member + ": deallocation moves nothing"
	}
	var parts []string
	for _, m := range e.Moves {
		parts = append(parts, fmt.Sprintf("%s (%s) to %s", m.Database, m.Role, m.To))
	}
	return e.Member + ": deallocation moves " + strings.Join(parts, ", ")
}
