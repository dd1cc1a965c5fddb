package rollout

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// handOver asks Neo4j to move the member's user-database leaderships to other primaries
// (transfer-leadership: the databases become read-only on the member, which Neo4j's
// leadership rules move leaders away from) and waits until they have moved, at most
// timeout: otherwise the caller goes ahead and an election moves them when the member
// stops. The system database's leadership cannot be handed over this way; it is reported.
// It returns whether it changed anything to give back, the moves, and the time waited.
func (w waiter) handOver(ctx context.Context, members []Member, m Member, st *neo4jadmin.Status, timeout time.Duration, key string) (bool, map[string]string, time.Duration, error) {
	leads := leadsOf(st, members)[m.Name]
	if !hostsUserDatabase(st, m) {
		w.events.Emit(LeadershipMoved{Member: m.Name, System: leads.System})
		return false, nil, 0, nil
	}
	req := neo4jadmin.Request{Type: neo4jadmin.ReqTransferLeadership, Server: m.Host, IdempotencyKey: key}
	if _, err := send(ctx, w.admin, req); err != nil {
		if ctx.Err() != nil {
			return false, nil, 0, ctx.Err()
		}
		if len(leads.Databases) > 0 || leads.System {
			w.events.Emit(LeadershipKept{Member: m.Name, Databases: leadList(leads), Why: err.Error()})
		}
		return false, nil, 0, nil
	}
	if len(leads.Databases) == 0 {
		w.events.Emit(LeadershipMoved{Member: m.Name, System: leads.System})
		return true, nil, 0, nil
	}
	var moved map[string]string
	_, waited, err := w.wait(ctx, m.Name, PhaseLeadership, timeout, func(st *neo4jadmin.Status) Problems {
		var ps Problems
		moved = map[string]string{}
		for _, db := range leads.Databases {
			switch to := leaderOf(st, members, db); to {
			case m.Name:
				ps = append(ps, Problem{Check: "leadership-moved", Database: db, Is: "is still led by " + m.Name, Want: "another primary"})
			case "":
				ps = append(ps, Problem{Check: neo4jadmin.GateWriters, Database: db, Is: "has no writer", Want: "a leader elsewhere"})
			default:
				moved[db] = to
			}
		}
		return ps
	})
	var ge *GateError
	switch {
	case errors.As(err, &ge):
		w.events.Emit(LeadershipKept{Member: m.Name, Databases: leads.Databases, Why: "not handed over within " + ge.Timeout.String()})
		return true, nil, waited, nil
	case err != nil:
		return true, nil, waited, err
	}
	w.events.Emit(LeadershipMoved{Member: m.Name, To: moved, System: leads.System})
	return true, moved, waited, nil
}

// giveBack undoes a hand-over (the member's databases writable there again). A restart
// does that by itself; this covers a member that was not restarted after all.
func (w waiter) giveBack(ctx context.Context, m Member, key string) {
	req := neo4jadmin.Request{Type: neo4jadmin.ReqTransferLeadership, Server: m.Host, Undo: true, IdempotencyKey: key}
	if _, err := send(ctx, w.admin, req); err != nil {
		w.events.Emit(Step{Member: m.Name, Text: "could not make its databases writable there again (" + err.Error() + "); its next restart does"})
	}
}

func leadList(l Leads) []string {
	out := slices.Clone(l.Databases)
	if l.System {
		out = append(out, "system")
	}
	return out
}

// leaderOf names the member (or server host) leading db, "" when none does.
func leaderOf(st *neo4jadmin.Status, members []Member, db string) string {
	v := newView(st, members)
	for _, d := range st.DatabaseViews() {
		if d.Name == db && d.Leader != "" {
			return v.labelID(d.Leader)
		}
	}
	return ""
}

func hostsUserDatabase(st *neo4jadmin.Status, m Member) bool {
	id, ok := serverID(st, m)
	return ok && slices.ContainsFunc(st.Databases, func(d neo4jadmin.Database) bool {
		return d.ServerID == id && d.Type != "system" && d.Name != "system" && d.Type != "composite"
	})
}
