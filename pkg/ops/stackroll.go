package ops

import (
	"context"
	"os"
	"slices"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/rollout"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// stackRoll is a gated roll whose member restarts are their stacks' updates: each member
// stack's change set is executed as that member's turn in a pkg/rollout roll (the gate
// before it, its leaderships handed over, the update, the gate after it; the leader of the
// most last), so whatever restarts running members through the templates (update --force,
// a pinned-AMI refresh, an upgrade, new discovery endpoints after a scale) takes one member
// down at a time, with Neo4j's checks. A member that is down is updated in its turn: the
// update may be its repair. A run that stops part-way is resumed by running the command
// again: the members done have no change left, so only the rest roll.
type stackRoll struct {
	*Cluster
	sets    map[string]*engine.ChangeSet // by member (core-N, replicas)
	members []rollout.Member             // every member of the cluster
	// MemberTimeout bounds each member; Poll is how often Neo4j is asked (0: defaults).
	memberTimeout, poll time.Duration
	interrupts          <-chan os.Signal
	what, resume        string // "update", and the command that carries on
}

// Restart is the member's stack update: UPDATE_COMPLETE means CloudFormation replaced what
// restarts it (a new task definition deployed by the service, which waits for it; a new
// instance after the old one, with its task, was terminated), so the old process is gone.
func (s *stackRoll) Restart(ctx context.Context, m rollout.Member) error {
	cs := s.sets[m.Name]
	if cs == nil {
		return nil
	}
	_, err := s.Stacks.Execute(ctx, cs)
	return err
}

// only are the members whose stacks change, in member order.
func (s *stackRoll) only() []string {
	var out []string
	for _, m := range s.members {
		if s.sets[m.Name] != nil {
			out = append(out, m.Name)
		}
	}
	return out
}

// run rolls the members whose stacks change. On an error the change sets not executed are
// discarded (nobody else would) and a *RollError says what to run next.
func (s *stackRoll) run(ctx context.Context) (rollout.Result, error) {
	ctx, abort, stop := s.interruptible(ctx, s.interrupts)
	defer stop()
	roll := &rollout.Roll{Admin: s.Admin, Restarter: s, Clock: rollClock{s.clock()}, Events: rollEvents{c: s.Cluster}, Members: s.members}
	res, err := roll.Run(ctx, rollout.Options{Only: s.only(), MemberTimeout: s.memberTimeout, Poll: s.poll, Abort: abort})
	if err == nil {
		return res, nil
	}
	started := down(res, err)
	for m, cs := range s.sets {
		if !slices.Contains(res.Done, m) && m != started {
			_ = s.Stacks.DiscardChangeSet(context.WithoutCancel(ctx), cs)
		}
	}
	re := &RollError{Cluster: s.Name, What: s.what, Result: res, Err: err, Resume: s.resume}
	if started != "" {
		re.Repair = "neo4jctl restart cluster " + s.Name + " --member " + started
	}
	return res, re
}

// memberOfStack is the roll's name of a member or replicas stack ("" for other stacks).
func memberOfStack(s stack.Stack) string {
	switch s.Kind {
	case naming.KindCore:
		return naming.CoreService(s.Member)
	case naming.KindReplicas:
		return naming.ReplicasService
	}
	return ""
}
