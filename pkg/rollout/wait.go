package rollout

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// GateError: a gate did not pass within its time (or cannot pass at all: Final problems).
// It names the member, the wait, and what was not ready.
type GateError struct {
	Member   string
	Phase    Phase
	Problems Problems
	Waited   time.Duration
	Timeout  time.Duration
}

func (e *GateError) Error() string {
	if e.Problems.final() {
		return fmt.Sprintf("%s cannot go down safely: %s", e.Member, e.Problems)
	}
	var what string
	switch e.Phase {
	case PhaseBefore:
		what = "the cluster was not ready to take " + e.Member + " down"
	case PhaseAfter:
		what = e.Member + " did not come back ready"
	case PhaseLeadership:
		what = e.Member + " kept its leaderships"
	case PhaseJoin:
		what = e.Member + " did not join"
	case PhaseDeallocated:
		what = e.Member + " was not deallocated"
	default:
		what = "the cluster did not settle after " + e.Member
	}
	return fmt.Sprintf("%s within %s: %s", what, e.Timeout, e.Problems)
}

// waiter polls Neo4j's status until a gate passes.
type waiter struct {
	admin  Admin
	clock  Clock
	events Events
	poll   time.Duration
	// quiet: no GatePassed when the gate passes at the first look (a re-check)
	quiet bool
}

// wait polls until eval finds nothing, for up to timeout on the clock. It returns the status
// that passed and the time waited; a *GateError when the time is up or a problem is final;
// ctx's error when ctx ends; a permanent admin error (unauthorized, upgrade required) at
// once. A status request that fails otherwise is a problem like any other: Neo4j may be
// electing, the Lambda cold.
func (w waiter) wait(ctx context.Context, member string, phase Phase, timeout time.Duration,
	eval func(*neo4jadmin.Status) Problems) (*neo4jadmin.Status, time.Duration, error) {
	start := w.clock.Now()
	last := "-"
	for {
		st, err := status(ctx, w.admin)
		waited := w.clock.Now().Sub(start)
		var ps Problems
		switch {
		case ctx.Err() != nil:
			return nil, waited, ctx.Err()
		case err != nil && permanent(err):
			return nil, waited, fmt.Errorf("%s (%s): %w", member, phase, err)
		case err != nil:
			ps = Problems{{Check: CheckStatusRead, Is: "did not answer (" + err.Error() + ")", Want: "an answer"}}
		default:
			ps = eval(st)
		}
		if len(ps) == 0 {
			if !w.quiet || waited > 0 {
				w.events.Emit(GatePassed{Member: member, Phase: phase, Waited: waited})
			}
			return st, waited, nil
		}
		if ps.final() || waited >= timeout {
			return nil, waited, &GateError{Member: member, Phase: phase, Problems: ps, Waited: waited, Timeout: timeout}
		}
		if k := ps.key(); k != last {
			w.events.Emit(GateWaiting{Member: member, Phase: phase, Problems: ps, Waited: waited})
			last = k
		}
		if err := w.clock.Sleep(ctx, min(w.poll, timeout-waited)); err != nil {
			return nil, w.clock.Now().Sub(start), err
		}
	}
}

// key identifies what is missing, not by how much (lag shrinks every poll).
func (ps Problems) key() string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%s|%s|%s;", p.Check, p.Server, p.Database)
	}
	return b.String()
}
