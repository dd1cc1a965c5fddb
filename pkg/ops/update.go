package ops

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// ParamDesiredCount is the template parameter through which update keeps the live ECS desired
// count of a member or the replicas (set by scale, stop and start), so an update never
// reverts them.
const ParamDesiredCount = stack.ParamDesiredCount

// Update previews every stack's change set, refuses dangerous changes without Force, and
// applies on confirmation, core members one at a time.
type Update struct {
	*Cluster
	Config *cluster.ClusterConfig
	File   string
	Force  bool // allow replacing a member's volume or restarting a running member
	Yes    bool // apply without asking
	// RefreshAMI moves the instances to the ECS-optimized AMI AWS recommends now (and the core
	// hosts to this release's agent); otherwise each stack keeps what it is pinned to. The
	// members roll like any other instance change (Force), through the gated roll.
	RefreshAMI bool
	Release    Release
	Precheck   Precheck
	S3         BundleStore
	ECS        ServiceReader // live desired counts
	// Roll shapes the gated roll of members that --force restarts (update_roll.go).
	Roll RollOptions
}

// NewUpdate is update on the handle's clients; file is the cluster.yaml's path.
func NewUpdate(c *Cluster, cfg *cluster.ClusterConfig, file string, force, yes bool, rel Release) *Update {
	pc := newPrecheck(c.AWS)
	pc.ClusterExists = true
	return &Update{Cluster: c, Config: cfg, File: file, Force: force, Yes: yes, Release: rel, Precheck: pc, S3: c.AWS.S3, ECS: c.AWS.ECS}
}

// UpdatePlan is every stack's previewed change set and what update thinks of them.
type UpdatePlan struct {
	ChangeSets []*engine.ChangeSet // in stack order
	Notes      map[string][]string // per stack: desired counts the config sets, shown in the diff
	Refusals   []string            // changes that destroy a member's data or restart a running member
	Restarts   bool                // some refusal is a restart (--force rolls it)
	stacks     []stack.Stack       // rendered, with the desired counts to keep
	restarting map[string]bool     // member stacks whose update restarts a running member
	sets       map[string]*engine.ChangeSet
	recreate   map[string]string // empty stacks a failed create left (by status): deleted and made again
	rendered   *rendered
}

// Changed is the number of stacks that change.
func (p *UpdatePlan) Changed() int {
	n := 0
	for _, cs := range p.ChangeSets {
		if cs != nil && ((!cs.NoChanges && len(cs.Changes) > 0) || len(p.Notes[cs.Stack]) > 0) {
			n++
		}
	}
	return n
}

// RefusedError is an update that would destroy a member's data or take a running member down.
type RefusedError struct {
	Reasons []string
	// Restarts: running core members the update would restart; --force rolls them.
	Restarts bool
}

func (e *RefusedError) Error() string {
	msg := "update refused:\n  " + strings.Join(e.Reasons, "\n  ") + "\nNothing was changed."
	if e.Restarts {
		msg += " Pass --force to apply it member by member, quorum first: neo4jctl updates one member stack at a time (replicas," +
			" then followers, the leader of the most databases last), each once Neo4j shows every server and database ready," +
			" and waits until the member is back and caught up before the next, so never two cores are down at once." +
			" Check first that a recent backup is in the cluster bucket's backups/ folder."
	} else {
		msg += " Pass --force to do it anyway (after checking that a recent backup is in the cluster bucket's backups/ folder)."
	}
	return msg
}

// UpdateError is an update that failed or was interrupted part-way, with what to do next.
type UpdateError struct {
	Cluster, File string
	Stopped       bool     // interrupted by the user
	TimedOut      bool     // the command's deadline (--timeout) passed
	InProgress    []string // stacks still updating in AWS (interrupted or timed out)
	NotStarted    []string // stacks whose change set was not applied
	RolledBack    []string // stacks CloudFormation rolled back to their previous state
	Failed        []error
	Explains      []string
}

func (e *UpdateError) Error() string {
	var b strings.Builder
	switch {
	case e.Stopped:
		fmt.Fprintf(&b, "update of cluster %s interrupted", e.Cluster)
	case e.TimedOut:
		fmt.Fprintf(&b, "update of cluster %s stopped by --timeout", e.Cluster)
	default:
		fmt.Fprintf(&b, "update of cluster %s failed", e.Cluster)
	}
	for _, err := range e.Failed {
		fmt.Fprintf(&b, "\n%s", err)
	}
	if len(e.RolledBack) > 0 {
		fmt.Fprintf(&b, "\nCloudFormation rolled back %s: they run as before the update.", strings.Join(e.RolledBack, ", "))
	}
	if len(e.InProgress) > 0 {
		fmt.Fprintf(&b, "\nStill updating in AWS: %s. CloudFormation carries on without neo4jctl (and rolls back by itself if the update fails); follow it with `neo4jctl get cluster %s`.",
			strings.Join(e.InProgress, ", "), e.Cluster)
	}
	if len(e.NotStarted) > 0 {
		fmt.Fprintf(&b, "\nNot updated: %s.", strings.Join(e.NotStarted, ", "))
	}
	for _, x := range e.Explains {
		fmt.Fprintf(&b, "\n%s", x)
	}
	if len(e.InProgress) > 0 {
		fmt.Fprintf(&b, "\nOnce no stack is in progress, run `neo4jctl update cluster -f %s` again to apply the rest.", e.File)
	} else {
		fmt.Fprintf(&b, "\nFix the cause and run `neo4jctl update cluster -f %s` again.", e.File)
	}
	return b.String()
}

// Validate finds the cluster's stacks, in creation order; there must be some.
func (u *Update) Validate(ctx context.Context) ([]*engine.StackInfo, error) {
	live, err := u.FindStacks(ctx)
	if err != nil {
		return nil, err
	}
	if len(live) == 0 {
		return nil, fmt.Errorf("no cluster %s in %s to update; create it with `neo4jctl create cluster -f %s`", u.Name, u.Region, u.File)
	}
	return live, nil
}

// Plan renders the config, requires every live stack in a state an update can start from,
// keeps the live desired counts and the instances' pins (AMI, host agent), previews every
// stack's change set and finds what must be refused. Change sets are made but nothing is applied: Ask or Discard ends them.
func (u *Update) Plan(ctx context.Context) (*UpdatePlan, error) {
	stacks, err := u.Validate(ctx)
	if err != nil {
		return nil, err
	}
	r, err := u.render(ctx, u.Precheck, u.Release, u.Config)
	if err != nil {
		return nil, err
	}
	live, empty, err := u.liveStacks(stacks)
	if err != nil {
		return nil, err
	}
	u.noteStacksLeftAlone(stacks, r.stacks)
	p := &UpdatePlan{stacks: r.stacks, rendered: r, Notes: map[string][]string{}}
	keepAdoption(p.stacks, live)
	running, err := u.keepDesiredCounts(ctx, p, live)
	if err != nil {
		return nil, err
	}
	replaced, err := u.replacements(ctx, p, live)
	if err != nil {
		return nil, err
	}
	if p.sets, err = u.preview(ctx, withoutStacks(p.stacks, empty), live); err != nil {
		return nil, err
	}
	planRecreates(p, empty)
	for _, s := range p.stacks {
		p.ChangeSets = append(p.ChangeSets, p.sets[s.Name])
	}
	p.Refusals, p.Restarts = refusals(p.stacks, p.sets, running, replaced)
	p.restarting = restartingStacks(p.stacks, p.sets, running, replaced)
	return p, nil
}

// noteStacksLeftAlone: a live stack the config no longer makes (fewer cores or no replicas)
// is never removed by update.
func (u *Update) noteStacksLeftAlone(live []*engine.StackInfo, stacks []stack.Stack) {
	built := map[string]bool{}
	for _, s := range stacks {
		built[s.Name] = true
	}
	for _, s := range live {
		if !built[s.Name] {
			u.emit(StackNotInConfig{Stack: s.Name, File: u.File})
		}
	}
}

// keepDesiredCounts sets each member's and the replicas' desired count parameter: the live
// count (scale, stop, start) wins, unless the config's count changed since the last update
// (the previous template records it); then the config wins and the diff says so. It
// returns the stacks whose service runs.
func (u *Update) keepDesiredCounts(ctx context.Context, p *UpdatePlan, live map[string]*engine.StackInfo) (map[string]bool, error) {
	running := map[string]bool{}
	for i, s := range p.stacks {
		if s.Kind != naming.KindCore && s.Kind != naming.KindReplicas {
			continue
		}
		what, svcName := naming.ReplicasService, naming.ReplicasService
		if s.Kind == naming.KindCore {
			what, svcName = naming.CoreService(s.Member), naming.CoreService(s.Member)
		}
		if info := live[s.Name]; info != nil {
			svcName = cmp.Or(info.Outputs[stack.OutputService], svcName)
		}
		svc := service(ctx, u.ECS, naming.ECSCluster(u.Name), svcName)
		running[s.Name] = svc != nil && svc.DesiredCount > 0
		if svc == nil || !templateHasParameter(s.Template, ParamDesiredCount) {
			continue
		}
		desired, note, err := u.desiredCount(ctx, s, int(svc.DesiredCount), live[s.Name] != nil, what)
		if err != nil {
			return nil, err
		}
		if note != "" {
			p.Notes[s.Name] = append(p.Notes[s.Name], note)
		}
		params := maps.Clone(s.Parameters)
		if params == nil {
			params = map[string]string{}
		}
		params[ParamDesiredCount] = strconv.Itoa(desired)
		p.stacks[i].Parameters = params
	}
	return running, nil
}

// desiredCount is the count to keep for one service running live, and a note when the
// config's count changed since the last update and differs from the live one.
func (u *Update) desiredCount(ctx context.Context, s stack.Stack, live int, exists bool, what string) (int, string, error) {
	want, ok := stack.ConfiguredDesiredCount(s.Template)
	if !ok || !exists {
		return live, "", nil
	}
	prev, err := u.Stacks.Template(ctx, s.Name)
	if err != nil {
		return 0, "", err
	}
	if was, ok := stack.ConfiguredDesiredCount(prev); !ok || was == want {
		return live, "", nil
	}
	if live == want {
		return want, "", nil
	}
	return want, fmt.Sprintf("%s desired %d → %d", what, live, want), nil
}

// preview makes every stack's change set at once.
func (u *Update) preview(ctx context.Context, stacks []stack.Stack, live map[string]*engine.StackInfo) (map[string]*engine.ChangeSet, error) {
	var mu sync.Mutex
	sets := map[string]*engine.ChangeSet{}
	var errs []error
	var wg sync.WaitGroup
	for _, s := range stacks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs, err := u.Stacks.Preview(ctx, spec(s), live[s.Name] != nil)
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
		u.discard(ctx, sets)
		return nil, errors.Join(errs...)
	}
	return sets, nil
}

// Discard removes the plan's change sets: nothing of it will be applied.
func (u *Update) Discard(ctx context.Context, p *UpdatePlan) { u.discard(ctx, p.sets) }

func (u *Update) discard(ctx context.Context, sets map[string]*engine.ChangeSet) {
	for _, cs := range sets {
		_ = u.Stacks.DiscardChangeSet(context.WithoutCancel(ctx), cs)
	}
}

// Ask refuses what must be refused without Force, then asks (unless Yes). Either way out
// discards the change sets.
func (u *Update) Ask(ctx context.Context, p *UpdatePlan) error {
	if len(p.Refusals) > 0 && !u.Force {
		u.Discard(ctx, p)
		return &RefusedError{Reasons: p.Refusals, Restarts: p.Restarts}
	}
	ok, err := u.confirm(ctx, fmt.Sprintf("Apply these changes to %d stacks? [y/N] ", p.Changed()), "update cluster "+u.Name, "--yes", u.Yes)
	if err != nil || !ok {
		u.Discard(ctx, p)
		if err != nil {
			return err
		}
		return errors.New("nothing changed")
	}
	return nil
}

// Execute uploads the agent bundles (only now, once the user said yes: the operations
// stack's Lambdas need them) and applies the change sets in order, core members one at a
// time, each once the one before is complete.
func (u *Update) Execute(ctx context.Context, p *UpdatePlan) error {
	if err := u.uploadBundles(ctx, u.S3, p.rendered); err != nil {
		u.Discard(ctx, p)
		return err
	}
	names, deps, cores := rollingOrder(p)
	if u.Force && !u.Roll.Ungated && len(p.restarting) > 0 {
		return u.executeGated(ctx, p, names, deps)
	}
	if len(cores) > 1 {
		u.emit(CoresRolling{Stacks: cores})
	}
	errs := engine.InOrder(ctx, names, deps, func(ctx context.Context, n string) error { return u.apply(ctx, p, n) })
	if len(errs) == 0 {
		return nil
	}
	return u.failure(ctx, p, names, errs)
}

// rollingOrder is the stacks that change, their dependencies, and the core member stacks,
// each made to wait for the one before it.
func rollingOrder(p *UpdatePlan) (names []string, deps map[string][]string, cores []string) {
	deps = map[string][]string{}
	for _, s := range p.stacks {
		if cs := p.sets[s.Name]; cs == nil || cs.NoChanges {
			continue
		}
		names = append(names, s.Name)
		deps[s.Name] = append([]string(nil), s.DependsOn...)
		if s.Kind == naming.KindCore {
			if len(cores) > 0 {
				deps[s.Name] = append(deps[s.Name], cores[len(cores)-1])
			}
			cores = append(cores, s.Name)
		}
	}
	return names, deps, cores
}

// failure turns the stacks' errors into one UpdateError: what rolled back, what still runs
// in AWS, what never started (its change set discarded), and how to get out.
func (u *Update) failure(ctx context.Context, p *UpdatePlan, names []string, errs map[string]error) *UpdateError {
	ue := &UpdateError{Cluster: u.Name, File: u.File}
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
			_ = u.Stacks.DiscardChangeSet(context.WithoutCancel(ctx), p.sets[n])
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
			u.explainFailed(ue, n, se.Status)
		default:
			ue.Failed = append(ue.Failed, err)
		}
	}
	return ue
}

// explainFailed: a stack CloudFormation rolled back runs as before; a new stack that failed
// to create is empty, and the next update makes it again; any other failed state gets its
// way out.
func (u *Update) explainFailed(ue *UpdateError, n, status string) {
	switch {
	case status == engine.StatusUpdateRollbackComplete:
		ue.RolledBack = append(ue.RolledBack, n)
	case emptyAfterFailedCreate(status):
		ue.Explains = append(ue.Explains, fmt.Sprintf("The new stack %s failed to create (%s) and holds nothing; the next update deletes it and creates it again.", n, status))
	default:
		if x := explainStack(n, status, u.Name, u.File); x != "" {
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

func templateHasParameter(body []byte, name string) bool {
	var t struct {
		Parameters map[string]json.RawMessage
	}
	if json.Unmarshal(body, &t) != nil {
		return false
	}
	_, ok := t.Parameters[name]
	return ok
}
