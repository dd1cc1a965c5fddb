package ops

import (
	"context"
	"fmt"
	"slices"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
	"github.com/neo4jctl/neo4jctl/pkg/rollout"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// Execute records the count, adds or removes the members, then rolls what names them.
func (s *ScaleCores) Execute(ctx context.Context, p *ScaleCoresPlan) error {
	if err := s.setCount(); err != nil {
		return err
	}
	if err := s.save(ctx); err != nil {
		return err
	}
	var err error
	switch {
	case p.From < s.Count:
		err = s.scaleOut(ctx, p)
	case p.From > s.Count:
		err = s.scaleIn(ctx, p)
	}
	if err != nil {
		return err
	}
	s.roll = &s.Roll
	what := fmt.Sprintf("Rendering the %d members' discovery, the backup task and the alarms", s.Count)
	if err := s.step(ctx, what, s.record.Run(s.stack(naming.KindReplicas, 0) != nil), false, naming.KindCore, naming.KindReplicas, naming.KindOperations); err != nil {
		return err
	}
	s.defaultAllocation(ctx)
	return s.save(ctx)
}

// scaleOut creates the new member stacks, then brings their servers in.
func (s *ScaleCores) scaleOut(ctx context.Context, p *ScaleCoresPlan) error {
	isNew := func(st stack.Stack) bool { return st.Kind == naming.KindCore && st.Member > p.From }
	a := &apply{Cluster: s.Cluster, cfg: s.record.Config, run: s.record.Run(s.stack(naming.KindReplicas, 0) != nil), release: s.Release,
		precheck: s.Precheck, s3: s.S3, ecs: s.ECS, retry: s.Command, only: isNew, together: true,
		intended: func(st stack.Stack, _ engine.Change) bool { return isNew(st) }}
	s.checked = true // the roll step after looks at the existing stacks
	plan, err := a.plan(ctx, s.live)
	if err != nil {
		return err
	}
	if plan.Changed() > 0 {
		s.emit(StepStarted{What: fmt.Sprintf("Adding %d core members", s.Count-p.From)})
		if err := a.execute(ctx, plan); err != nil {
			return err
		}
	}
	if err := s.refresh(ctx); err != nil {
		return err
	}
	members, err := rollMembers(s.Name, s.liveList())
	if err != nil {
		return err
	}
	var added []rollout.Member
	for _, m := range members {
		if memberIndex(m.Name) > p.From {
			added = append(added, m)
		}
	}
	s.dropLeftReplicas(ctx)
	out := &rollout.ScaleOut{Admin: s.Admin, Clock: rollClock{s.clock()}, Events: rollEvents{c: s.Cluster}, Members: members, New: added,
		Cores: p.From, Timeout: s.Timeout, Poll: s.Roll.Poll}
	_, err = out.Run(ctx)
	return err
}

// scaleIn takes the highest-numbered members out one at a time: Neo4j first, then the
// member's stack (its volume kept).
func (s *ScaleCores) scaleIn(ctx context.Context, p *ScaleCoresPlan) error {
	for n := p.From; n > s.Count; n-- {
		members, err := rollMembers(s.Name, s.liveList())
		if err != nil {
			return err
		}
		if _, err := s.leave(members, n).Run(ctx); err != nil {
			return err
		}
		if err := s.removeMember(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// removeMember deletes member n's stack; its data volume stays (Retain) and is named.
func (s *ScaleCores) removeMember(ctx context.Context, n int) error {
	name := naming.StackName(s.Name, naming.KindCore, n)
	info := s.live[name]
	if info == nil {
		return nil
	}
	volume := info.Outputs[stack.OutputVolumeID]
	if err := s.Stacks.Delete(ctx, name, true); err != nil {
		return fmt.Errorf("core-%d has left Neo4j (dropped), but deleting its stack %s failed: %w; run `neo4jctl %s` again", n, name, err, s.Command)
	}
	s.emit(MemberRemoved{Member: naming.CoreService(n), Stack: name, Volume: volume})
	return s.refresh(ctx)
}

// MemberRemoved: a core member's stack is deleted, its data volume kept.
type MemberRemoved struct{ Member, Stack, Volume string }

func (e MemberRemoved) String() string {
	if e.Volume == "" {
		return fmt.Sprintf("%s removed: stack %s deleted", e.Member, e.Stack)
	}
	return fmt.Sprintf("%s removed: stack %s deleted; its data volume %s is kept (delete it with `aws ec2 delete-volume --volume-id %s` once you no longer need it)",
		e.Member, e.Stack, e.Volume, e.Volume)
}

// defaultAllocation makes databases created from now on have a primary on every core (as
// the stacks' initial.dbms.default_primaries_count does at creation); a refusal is a note.
func (s *ScaleCores) defaultAllocation(ctx context.Context) {
	req := neo4jadmin.Request{Type: neo4jadmin.ReqSetDefaultAllocation, Primaries: s.Count, Secondaries: s.record.Config.ReplicaCount()}
	if _, err := sendOK(ctx, s.Admin, req); err != nil {
		s.emit(Note{Text: fmt.Sprintf("Warning: the default topology of new databases stays as it was (%v)", err)})
	}
}

// setCount records the count: an imperative change of cores.count, or for `update -f` the
// file's (which the update then records whole).
func (s *ScaleCores) setCount() error {
	if s.file == "" {
		return s.record.Set("cores.count", "scale cores", s.Now(), func(c *cluster.ClusterConfig) { c.Cores.Count = s.Count })
	}
	s.record.Config.Cores.Count = s.Count
	s.record.Imperative = slices.DeleteFunc(s.record.Imperative, func(c ImperativeChange) bool { return c.Field == "cores.count" })
	return nil
}

// dropLeftReplicas removes the replica servers that left (replaced replica tasks: a replica
// has no volume, its server never comes back) before databases are reallocated, which would
// otherwise count them as enabled servers with room; as scale replicas does.
func (s *ScaleCores) dropLeftReplicas(ctx context.Context) {
	resp, err := sendOK(ctx, s.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqStatus})
	if err != nil {
		return // ScaleOut reads the cluster next and says what is wrong
	}
	_, left := secondariesMissing(resp.Status, s.record.Config.ReplicaCount())
	dropLeft(ctx, s.Cluster, left)
}
