package ops

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// Imperative is what the commands without -f share (stop, start, scale, reset-data): the
// cluster's last-applied record, its live stacks, and steps, each one apply of the record's
// config with the step's Run to the stacks the step means to change. A step whose change sets
// touch other stacks is refused: the stacks differ from the record (an update that failed
// part-way, or a neo4jctl that renders differently), and `update -f` must bring them in line
// first. The record is written once the command's steps are done.
type Imperative struct {
	*Cluster
	Command  string // e.g. "stop cluster graph-prod", for the record and the retry
	Release  Release
	Precheck Precheck
	S3       UpdateS3
	ECS      ServiceReader
	Now      func() time.Time
	record   *Applied
	live     map[string]*engine.StackInfo
	checked  bool           // a step looked at every stack: the others look at their own only
	volumes  map[int]string // the steps' data volume overrides (see apply.volumes)
	// roll: the steps' member stacks that restart a running member go through the gated
	// roll (upgrade, scale cores) instead of being refused; rollWhat names it in errors.
	roll     *RollOptions
	rollWhat string
	// beforeChange runs once a step's change sets passed every check, right before the
	// first change (upgrade records its version there, not for a step that is refused).
	beforeChange func(context.Context) error
}

func newImperative(c *Cluster, command string, rel Release) Imperative {
	return Imperative{Cluster: c, Command: command, Release: rel, Precheck: existingPrecheck(c.AWS), S3: c.AWS.S3, ECS: c.AWS.ECS, Now: time.Now}
}

// load finds the live stacks (each in a state a change can start from) and the record.
func (i *Imperative) load(ctx context.Context) error {
	a := &apply{Cluster: i.Cluster, retry: i.Command}
	live, err := a.liveStacks(ctx)
	if err != nil {
		return err
	}
	for n, status := range a.empty {
		return fmt.Errorf("stack %s of %s holds nothing (%s: a create or update failed); make it again with `neo4jctl update cluster -f cluster.yaml`, then run `neo4jctl %s` again",
			n, i.Name, status, i.Command)
	}
	i.live = live
	i.record, err = i.LoadApplied(ctx, i.S3)
	return err
}

// Record is the last-applied record the command started from (after Validate).
func (i *Imperative) Record() *Applied { return i.record }

// stackNamed is a live stack by kind and member (nil when it does not exist).
func (i *Imperative) stack(kind string, member int) *engine.StackInfo {
	return i.live[naming.StackName(i.Name, kind, member)]
}

// members are the live core member stacks, in order.
func (i *Imperative) members() []*engine.StackInfo {
	var out []*engine.StackInfo
	for _, s := range i.live {
		if s.Tags[naming.TagStackKind] == naming.KindCore {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *engine.StackInfo) int {
		return memberIndex(a.Tags[naming.TagMember]) - memberIndex(b.Tags[naming.TagMember])
	})
	return out
}

// step is one apply of the record's config with run, to the stacks of the given kinds
// (members all at once when together). A step with nothing to change does nothing.
func (i *Imperative) step(ctx context.Context, what string, run stack.Run, together bool, kinds ...string) error {
	mine := func(s stack.Stack) bool { return slices.Contains(kinds, s.Kind) }
	a := &apply{Cluster: i.stepCluster(), cfg: i.record.Config, run: run, release: i.Release, precheck: i.Precheck, s3: i.S3, ecs: i.ECS,
		together: together, retry: i.Command, volumes: i.volumes, intended: func(s stack.Stack, _ engine.Change) bool { return mine(s) },
		roll: i.roll, resume: "neo4jctl " + i.Command, rollWhat: i.rollWhat}
	if i.checked {
		a.only = mine
	}
	p, err := a.plan(ctx, i.live)
	if err != nil {
		return err
	}
	i.checked = true
	if err := i.unexpected(p, mine); err != nil {
		a.discard(ctx, p.sets)
		return err
	}
	if len(p.Refusals) > 0 {
		a.discard(ctx, p.sets)
		return &RefusedError{Reasons: p.Refusals, Restarts: p.Restarts}
	}
	if p.Changed() == 0 {
		return nil
	}
	if i.beforeChange != nil {
		if err := i.beforeChange(ctx); err != nil {
			a.discard(ctx, p.sets)
			return err
		}
	}
	i.emit(StepStarted{What: what, Notes: p.Notes})
	if err := a.execute(ctx, p); err != nil {
		if ue, ok := err.(*UpdateError); ok {
			ue.What = strings.Fields(i.Command)[0]
		}
		return err
	}
	return i.refresh(ctx)
}

// stepCluster is the handle a step works on: after the first step, without the events the
// first one said already (the account, the agent bundles found in the bucket), so a
// command of four steps does not repeat them four times.
func (i *Imperative) stepCluster() *Cluster {
	if !i.checked || i.Events == nil {
		return i.Cluster
	}
	c := *i.Cluster
	c.Events = withoutRepeats{i.Events}
	return &c
}

// withoutRepeats drops the events a command's first step said already.
type withoutRepeats struct{ Events }

func (w withoutRepeats) Emit(ev Event) {
	switch e := ev.(type) {
	case AccountChecked:
		return
	case BundleUploaded:
		if e.Existed {
			return
		}
	}
	w.Events.Emit(ev)
}

// refresh reads the live stacks again (their parameters changed).
func (i *Imperative) refresh(ctx context.Context) error {
	stacks, err := i.FindStacks(ctx)
	if err != nil {
		return err
	}
	i.live = map[string]*engine.StackInfo{}
	for _, s := range stacks {
		i.live[s.Name] = s
	}
	return nil
}

// DriftError: a step's change sets change stacks the command does not mean to change. The
// stacks differ from the last-applied record; nothing was changed.
type DriftError struct {
	Cluster, Command, Version string
	Changes                   []string
}

func (e *DriftError) Error() string {
	return fmt.Sprintf("%s refused: the stacks of %s differ from its last-applied config in more than %s changes:\n  %s\n"+
		"The last update may have failed part-way, or this neo4jctl renders the templates differently from the one that wrote the config (%s). "+
		"Nothing was changed. Bring the stacks in line first with `neo4jctl update cluster -f cluster.yaml` (see the diff it shows), then run `neo4jctl %s` again.",
		strings.Fields(e.Command)[0], e.Cluster, strings.Fields(e.Command)[0], strings.Join(e.Changes, "\n  "), e.Version, e.Command)
}

// unexpected refuses change sets of stacks the step does not mean to change.
func (i *Imperative) unexpected(p *UpdatePlan, mine func(stack.Stack) bool) error {
	var out []string
	for _, s := range p.stacks {
		cs := p.sets[s.Name]
		if mine(s) || cs == nil || cs.NoChanges || len(cs.Changes) == 0 {
			continue
		}
		for _, c := range cs.Changes {
			out = append(out, fmt.Sprintf("%s: %s %s (%s)", s.Name, c.Action, c.LogicalID, c.Type))
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &DriftError{Cluster: i.Name, Command: i.Command, Version: i.record.Written.Neo4jctl, Changes: out}
}

// save writes the record, stamped with the command.
func (i *Imperative) save(ctx context.Context) error {
	if err := i.SaveApplied(ctx, i.S3, i.record, i.Command, i.Release.Version, i.Now()); err != nil {
		return fmt.Errorf("the stacks of %s are changed, but %w; run `neo4jctl %s` again to record it", i.Name, err, i.Command)
	}
	return nil
}

// liveParam is a live stack's parameter ("" when the stack or the parameter is missing).
func (i *Imperative) liveParam(kind string, member int, param string) string {
	if s := i.stack(kind, member); s != nil {
		return s.Parameters[param]
	}
	return ""
}
