package ops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// apply brings a cluster's stacks to one rendering of a config with a Run: every stack's
// change set at once, the changes that must be refused, then execution in order. `update
// -f` is one apply; stop, start, scale and reset-data are one apply per step, each rendered
// from the last-applied record with the step's Run.
type apply struct {
	*Cluster
	cfg      *cluster.ClusterConfig
	run      stack.Run
	release  Release
	precheck Precheck
	s3       BundleStore
	ecs      ServiceReader
	// together: the core member stacks change all at once (a whole cluster stops or
	// starts), instead of one at a time, each once the one before is complete.
	together bool
	// intended: changes the command means, never refused (stop's desired counts of running
	// members, reset-data's volumes).
	intended func(s stack.Stack, c engine.Change) bool
	// volumes overrides the data volume a member adopts (ExistingVolumeId): an id makes the
	// member's stack let its own volume go and use that one, "" makes it create a new one
	// (reset-data). Members not named keep what their live stack has.
	volumes map[int]string
	// only: the stacks to preview and change (nil: all); the others are left as they are.
	only func(stack.Stack) bool
	// refreshAMI takes the AMI and host agent this release renders instead of the live pins.
	refreshAMI bool
	// empty are the stacks a failed create left holding nothing (by status): made again.
	empty map[string]string
	// roll: the member stacks whose update restarts a running member go through a gated
	// roll (update --force; nil: one at a time, waiting for CloudFormation only); resume is
	// the command that carries on after a roll stopped part-way.
	roll     *RollOptions
	resume   string
	rollWhat string // what a stopped roll says stopped ("" : update)
	// file is the cluster.yaml an update applies ("" for a command without -f); retry is
	// the command a failure says to run again ("" for `update cluster -f file`).
	file, retry string
}

// applyWith is an apply on the handle's clients; retry is the command to run again.
func (c *Cluster) applyWith(cfg *cluster.ClusterConfig, run stack.Run, rel Release, retry string) *apply {
	return &apply{Cluster: c, cfg: cfg, run: run, release: rel, precheck: existingPrecheck(c.AWS), s3: c.AWS.S3, ecs: c.AWS.ECS, retry: retry}
}

// UpdatePlan is every stack's previewed change set and what update thinks of them.
type UpdatePlan struct {
	ChangeSets []*engine.ChangeSet // in stack order
	Notes      map[string][]string // per stack: the parameters that change (counts, alarms, schedules)
	Refusals   []string            // changes that destroy a member's data or restart a running member
	Restarts   bool                // some refusal is a restart (--force rolls it)
	stacks     []stack.Stack       // rendered
	restarting map[string]bool     // member stacks whose update restarts a running member
	sets       map[string]*engine.ChangeSet
	recreate   map[string]string // empty stacks a failed create left (by status): deleted and made again
	rendered   *rendered
}

// Changed is the number of stacks that change.
func (p *UpdatePlan) Changed() int {
	n := 0
	for _, cs := range p.ChangeSets {
		if cs != nil && !cs.NoChanges && len(cs.Changes) > 0 {
			n++
		}
	}
	return n
}

// liveStacks finds the cluster's stacks, each in a state an update can start from; the empty
// ones a failed create left (a.empty) are made again by the apply.
func (a *apply) liveStacks(ctx context.Context) (map[string]*engine.StackInfo, error) {
	stacks, err := a.FindStacks(ctx)
	if err != nil {
		return nil, err
	}
	if len(stacks) == 0 {
		return nil, &NotFoundError{Name: a.Name, Region: a.Region}
	}
	live, empty, err := a.sortStacksByState(stacks)
	a.empty = empty
	return live, err
}

// plan renders the config with the run, previews every stack's change set and finds what
// must be refused. Change sets are made, nothing is applied: discard or execute ends them.
func (a *apply) plan(ctx context.Context, live map[string]*engine.StackInfo) (*UpdatePlan, error) {
	run := a.run
	run.KeepReplicas = live[naming.StackName(a.Name, naming.KindReplicas, 0)] != nil
	r, err := a.render(ctx, a.precheck, a.release, a.cfg, stack.Inputs{Run: run})
	if err != nil {
		return nil, err
	}
	keepAdoption(r.stacks, live)
	a.overrideVolumes(r.stacks)
	a.noteStacksLeftAlone(live, r.stacks)
	stacks := r.stacks
	if a.only != nil {
		stacks = slices.DeleteFunc(slices.Clone(stacks), func(s stack.Stack) bool { return !a.only(s) })
	}
	p := &UpdatePlan{stacks: stacks, rendered: r, Notes: parameterNotes(stacks, live)}
	replaced, err := a.replacements(ctx, p, live)
	if err != nil {
		return nil, err
	}
	if p.sets, err = a.preview(ctx, withoutStacks(p.stacks, a.empty), live); err != nil {
		return nil, err
	}
	planRecreates(p, a.empty)
	for _, s := range p.stacks {
		p.ChangeSets = append(p.ChangeSets, p.sets[s.Name])
	}
	running := a.running(ctx, p.stacks, live)
	p.Refusals, p.Restarts = refusals(p.stacks, p.sets, running, replaced, a.intended)
	p.restarting = restartingStacks(p.stacks, p.sets, running, replaced)
	return p, nil
}

// overrideVolumes sets the data volume the members named in a.volumes adopt (reset-data):
// an id, or "" for a new one. The parameter alone decides (the template is the same).
func (a *apply) overrideVolumes(stacks []stack.Stack) {
	for i, s := range stacks {
		id, ok := a.volumes[s.Member]
		if s.Kind != naming.KindCore || !ok {
			continue
		}
		params := maps.Clone(s.Parameters)
		params[stack.ParamExistingVolumeID] = id
		stacks[i].Parameters = params
	}
}

// noteStacksLeftAlone: a live stack the config no longer makes (fewer cores) is never
// removed by an update.
func (a *apply) noteStacksLeftAlone(live map[string]*engine.StackInfo, stacks []stack.Stack) {
	built := map[string]bool{}
	for _, s := range stacks {
		built[s.Name] = true
	}
	for _, n := range slices.Sorted(maps.Keys(live)) {
		if !built[n] {
			a.emit(StackNotInConfig{Stack: n, File: cmp.Or(a.file, "the last-applied config")})
		}
	}
}

// running is the member and replicas stacks whose ECS service has tasks to run now.
func (a *apply) running(ctx context.Context, stacks []stack.Stack, live map[string]*engine.StackInfo) map[string]bool {
	out := map[string]bool{}
	for _, s := range stacks {
		if s.Kind != naming.KindCore && s.Kind != naming.KindReplicas || live[s.Name] == nil {
			continue
		}
		svc := service(ctx, a.ecs, naming.ECSCluster(a.Name), serviceName(s, live[s.Name]))
		out[s.Name] = svc != nil && svc.DesiredCount > 0
	}
	return out
}

// serviceName is the ECS service of a member or the replicas stack.
func serviceName(s stack.Stack, info *engine.StackInfo) string {
	name := naming.ReplicasService
	if s.Kind == naming.KindCore {
		name = naming.CoreService(s.Member)
	}
	if info != nil {
		name = cmp.Or(info.Outputs[stack.OutputService], name)
	}
	return name
}

// runParameters are the parameters through which what runs is set: a change of one is
// noted in the diff, as change sets (and moto's) do not always name the property it moves.
var runParameters = []string{stack.ParamDesiredCount, stack.ParamInstanceCount, stack.ParamAlarmActions, stack.ParamBackupSchedules}

// parameterNotes are the run parameters whose value changes, per stack.
func parameterNotes(stacks []stack.Stack, live map[string]*engine.StackInfo) map[string][]string {
	notes := map[string][]string{}
	for _, s := range stacks {
		info := live[s.Name]
		if info == nil {
			continue
		}
		for _, p := range runParameters {
			was, ok := info.Parameters[p]
			if now, set := s.Parameters[p]; set && ok && was != now {
				notes[s.Name] = append(notes[s.Name], fmt.Sprintf("%s %s → %s", p, was, now))
			}
		}
	}
	return notes
}

// preview makes every stack's change set at once.
func (a *apply) preview(ctx context.Context, stacks []stack.Stack, live map[string]*engine.StackInfo) (map[string]*engine.ChangeSet, error) {
	var mu sync.Mutex
	sets := map[string]*engine.ChangeSet{}
	var errs []error
	var wg sync.WaitGroup
	for _, s := range stacks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs, err := a.Stacks.Preview(ctx, spec(s), live[s.Name] != nil)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			sets[s.Name] = cs
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		a.discard(ctx, sets)
		return nil, errors.Join(errs...)
	}
	return sets, nil
}

func (a *apply) discard(ctx context.Context, sets map[string]*engine.ChangeSet) {
	for _, cs := range sets {
		_ = a.Stacks.DiscardChangeSet(context.WithoutCancel(ctx), cs)
	}
}

// execute uploads the agent bundles (only now: the operations stack's Lambdas need them)
// and applies the change sets in order; core member stacks one at a time unless together.
func (a *apply) execute(ctx context.Context, p *UpdatePlan) error {
	if err := a.uploadBundles(ctx, a.s3, p.rendered); err != nil {
		a.discard(ctx, p.sets)
		return err
	}
	names, deps, cores := changeOrder(p, a.together)
	if a.roll != nil && len(p.restarting) > 0 {
		return a.executeGated(ctx, p, names, deps)
	}
	if len(cores) > 1 && !a.together {
		a.emit(CoresRolling{Stacks: cores})
	}
	errs := engine.InOrder(ctx, names, deps, func(ctx context.Context, n string) error { return a.applyStack(ctx, p, n) })
	if len(errs) == 0 {
		return nil
	}
	return a.failure(ctx, p, names, errs)
}

// changeOrder is the stacks that change, their dependencies, and the core member stacks; one
// at a time (each waits for the one before it) unless together.
func changeOrder(p *UpdatePlan, together bool) (names []string, deps map[string][]string, cores []string) {
	deps = map[string][]string{}
	for _, s := range p.stacks {
		if cs := p.sets[s.Name]; cs == nil || cs.NoChanges {
			continue
		}
		names = append(names, s.Name)
		deps[s.Name] = append([]string(nil), s.DependsOn...)
		if s.Kind == naming.KindCore {
			if len(cores) > 0 && !together {
				deps[s.Name] = append(deps[s.Name], cores[len(cores)-1])
			}
			cores = append(cores, s.Name)
		}
	}
	return names, deps, cores
}

// failure turns the stacks' errors into one UpdateError: what rolled back, what still runs
// in AWS, what never started (its change set discarded), and how to get out.
func (a *apply) failure(ctx context.Context, p *UpdatePlan, names []string, errs map[string]error) *UpdateError {
	ue := &UpdateError{Cluster: a.Name, File: a.file, Retry: a.retry}
	for _, n := range names {
		err := errs[n]
		var skipped *engine.SkippedError
		var ie *engine.InterruptedError
		var se *engine.StackError
		var te *engine.TimeoutError
		switch {
		case err == nil:
		case errors.As(err, &skipped), errors.As(err, &ie) && ie.Op == "start":
			// change sets not executed are left for nobody: remove them
			_ = a.Stacks.DiscardChangeSet(context.WithoutCancel(ctx), p.sets[n])
			ue.NotStarted = append(ue.NotStarted, n)
			ue.Stopped = ue.Stopped || ie != nil && !timedOut(ctx)
		case engine.IsInterrupted(err):
			ue.TimedOut = timedOut(ctx)
			ue.Stopped = !ue.TimedOut
			ue.InProgress = append(ue.InProgress, fmt.Sprintf("%s (%s)", n, cmp.Or(interruptedStatus(err), "UPDATE_IN_PROGRESS")))
		case errors.As(err, &te):
			ue.Failed = append(ue.Failed, err)
			ue.InProgress = append(ue.InProgress, fmt.Sprintf("%s (%s)", n, cmp.Or(te.Status, "UPDATE_IN_PROGRESS")))
		case errors.As(err, &se):
			ue.Failed = append(ue.Failed, err)
			a.explainFailed(ue, n, se.Status)
		default:
			ue.Failed = append(ue.Failed, err)
		}
	}
	return ue
}

// explainFailed: a stack CloudFormation rolled back runs as before; a new stack that failed
// to create is empty, and the next update makes it again; any other failed state gets its
// way out.
func (a *apply) explainFailed(ue *UpdateError, n, status string) {
	switch {
	case status == engine.StatusUpdateRollbackComplete:
		ue.RolledBack = append(ue.RolledBack, n)
	case emptyAfterFailedCreate(status):
		ue.Explains = append(ue.Explains, fmt.Sprintf("The new stack %s failed to create (%s) and holds nothing; the next update deletes it and creates it again.", n, status))
	default:
		if x := explainStack(n, status, a.Name, a.file); x != "" {
			ue.Explains = append(ue.Explains, x)
		}
	}
}

func interruptedStatus(err error) string {
	var ie *engine.InterruptedError
	if errors.As(err, &ie) {
		return ie.Status
	}
	return ""
}
