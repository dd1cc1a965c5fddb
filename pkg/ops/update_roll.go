package ops

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// RollOptions shape the gated roll of a command that restarts running members through
// their stacks (update --force, the AMI refresh, upgrade, scale cores).
type RollOptions struct {
	// Ungated updates the restarting member stacks one at a time waiting for CloudFormation
	// only (update --force --ungated): the repair of a cluster whose Neo4j cannot pass a
	// gate, e.g. a neo4j.config that keeps it from starting.
	Ungated bool
	// MemberTimeout bounds each member's gates and update (0: rollout's default).
	MemberTimeout time.Duration
	Poll          time.Duration
	// Interrupts: the first finishes the member in flight, the second abandons it.
	Interrupts <-chan os.Signal
}

// restartingStacks are the member and replicas stacks whose change restarts a running
// member: a core's launch template, group, task definition or service (tags aside); the
// replicas' task definition or service (which replace their tasks; the gate after them
// waits for the new servers); and either's instance replaced (replaced: a new instance
// type, AMI or host agent, which a change set may not show).
func restartingStacks(stacks []stack.Stack, sets map[string]*engine.ChangeSet, running map[string]bool, replaced map[string][]string) map[string]bool {
	out := map[string]bool{}
	for _, s := range stacks {
		cs := sets[s.Name]
		if cs == nil || cs.NoChanges || !running[s.Name] || memberOfStack(s) == "" {
			continue // a change set without changes restarts nothing when executed
		}
		if len(replaced[s.Name]) > 0 {
			out[s.Name] = true
		}
		for _, c := range cs.Changes {
			replicaTasks := c.Type == "AWS::ECS::TaskDefinition" || c.Type == "AWS::ECS::Service"
			if disruptive(c) && (s.Kind == naming.KindCore || replicaTasks) {
				out[s.Name] = true
			}
		}
	}
	return out
}

// executeGated applies an update whose member stacks restart running members: the stacks
// the members need first (shared, and member stacks that change without a restart), then
// the restarting member stacks through a gated roll, then what needs the members (the
// operations stack).
func (a *apply) executeGated(ctx context.Context, p *UpdatePlan, names []string, deps map[string][]string) error {
	if a.Admin == nil {
		a.discard(ctx, p.sets)
		return fmt.Errorf("update cluster %s: the gated roll needs an admin channel to Neo4j", a.Name)
	}
	needsMembers := map[string]bool{} // by what the stacks reference, not the one-at-a-time chain
	for _, s := range p.stacks {
		needsMembers[s.Name] = slices.ContainsFunc(s.DependsOn, func(d string) bool { return p.restarting[d] })
	}
	var first, last []string
	for _, n := range names {
		switch {
		case p.restarting[n]:
		case needsMembers[n]:
			last = append(last, n)
		default:
			first = append(first, n)
		}
	}
	// as the ungated sequence does: a stack a failed create left empty is made again
	exec := func(ctx context.Context, n string) error { return a.applyStack(ctx, p, n) }
	if errs := engine.InOrder(ctx, first, deps, exec); len(errs) > 0 {
		for _, n := range names {
			if !slices.Contains(first, n) {
				errs[n] = &engine.SkippedError{Stack: n, Because: "the stacks before the members"}
			}
		}
		return a.failure(ctx, p, names, errs)
	}
	roll, err := a.stackRoll(ctx, p)
	if err != nil {
		a.discardNames(ctx, p, names, first)
		return err
	}
	if _, err := roll.run(ctx); err != nil {
		a.discardNames(ctx, p, last, nil)
		return err
	}
	if errs := engine.InOrder(ctx, last, deps, exec); len(errs) > 0 {
		return a.failure(ctx, p, last, errs)
	}
	return nil
}

// stackRoll is the roll of the plan's restarting member stacks.
func (a *apply) stackRoll(ctx context.Context, p *UpdatePlan) (*stackRoll, error) {
	live, err := a.FindStacks(ctx)
	if err != nil {
		return nil, err
	}
	members, err := rollMembers(a.Name, live)
	if err != nil {
		return nil, err
	}
	sets := map[string]*engine.ChangeSet{}
	for _, s := range p.stacks {
		if p.restarting[s.Name] {
			sets[memberOfStack(s)] = p.sets[s.Name]
		}
	}
	return &stackRoll{Cluster: a.Cluster, sets: sets, members: members, memberTimeout: a.roll.MemberTimeout, poll: a.roll.Poll,
		interrupts: a.roll.Interrupts, what: cmp.Or(a.rollWhat, "update"), resume: a.resume}, nil
}

// discardNames discards the change sets of names, except those in keep.
func (a *apply) discardNames(ctx context.Context, p *UpdatePlan, names, keep []string) {
	for _, n := range names {
		if !slices.Contains(keep, n) && p.sets[n] != nil {
			_ = a.Stacks.DiscardChangeSet(context.WithoutCancel(ctx), p.sets[n])
		}
	}
}
