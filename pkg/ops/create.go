package ops

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// CreateS3 is what create does with S3: upload the agent bundles, record the last-applied
// config.
type CreateS3 interface {
	BundleStore
	AppliedStore
}

// Create makes the cluster's stacks in order (members in parallel once the shared stack
// exists), resuming an earlier attempt, and offers to roll back after Ctrl-C.
type Create struct {
	*Cluster
	Config *cluster.ClusterConfig
	File   string // the cluster.yaml path, for the commands suggested
	Detach bool   // start what can start and return
	// Fresh starts with new volumes, bucket and key where an earlier cluster of this name
	// kept data (--fresh-data); that data is left alone. Secrets are adopted even so.
	Fresh    bool
	Release  Release
	Precheck Precheck
	Data     DataAPI  // the kept data to adopt
	AZs      AZReader // the members' AZs, to check kept volumes against
	S3       CreateS3 // the agent bundles, the last-applied config
	ECS      GetECS   // stopped tasks, for a failure report; services, for a formation timeout
	// Wait, after the stacks (not with Detach), until Neo4j has formed the cluster (see
	// WaitFormed), until Deadline on the handle's clock (zero: DefaultFormationTimeout after
	// the stacks); Inspect is the command a timeout suggests.
	Wait     bool
	Deadline time.Time
	Inspect  string
	// Interrupts delivers Ctrl-C. The first one cancels the create's ctx; then, on a
	// terminal, create offers to roll back with Rollback, and the next Ctrl-C ends that
	// question or that rollback.
	Interrupts <-chan os.Signal
	Rollback   *Delete // nil: no rollback offered
	// Drift compares, after a resumed create, the stacks an earlier run made with the file
	// (an update's preview, discarded); nil: not compared.
	Drift *Update
}

// NewCreate is create on the handle's clients; file is the cluster.yaml's path.
func NewCreate(c *Cluster, cfg *cluster.ClusterConfig, file string, detach bool, rel Release) *Create {
	quiet := *c // the comparison after a resume reports nothing of its own
	quiet.Events = nil
	return &Create{Cluster: c, Config: cfg, File: file, Detach: detach, Release: rel, Precheck: newPrecheck(c.AWS),
		Data: dataAPI(c.AWS), AZs: c.AWS.EC2, S3: c.AWS.S3, ECS: c.AWS.ECS, Rollback: NewDelete(c, false, true),
		Drift: &Update{Cluster: &quiet, Config: cfg, File: file, Yes: true, Release: rel, Precheck: existingPrecheck(c.AWS),
			S3: c.AWS.S3, ECS: c.AWS.ECS, Now: time.Now, ignoreRecord: true}}
}

// CreatePlan is what create found: the rendered stacks, those that exist already and the
// kept data the stacks adopt.
type CreatePlan struct {
	Stacks   []stack.Stack
	Live     map[string]*engine.StackInfo // stacks of an earlier attempt, by name
	Recreate []string                     // rolled-back stacks to delete and create again
	Adoption *Adoption
	rendered *rendered
}

// CreateResult is a create that succeeded, or started with Detach.
type CreateResult struct {
	Cluster, Region string
	Detached        bool
	Started         []string // Detach: the stacks started
	Waiting         int      // Detach: the stacks that wait for those
	File            string
	Formed          bool // Neo4j formed the cluster (Wait)
}

// Recommend is the next command to run.
func (r *CreateResult) Recommend() string {
	switch {
	case !r.Detached:
		return fmt.Sprintf("See it with `neo4jctl get cluster %s`.", r.Cluster)
	case r.Waiting > 0:
		return fmt.Sprintf("%d stacks wait for those: run `neo4jctl create cluster -f %s` again once they are done (watch with `neo4jctl get cluster %s`).", r.Waiting, r.File, r.Cluster)
	}
	return ""
}

// CreateError is a create that failed part-way, with what to do next.
type CreateError struct {
	Cluster  string
	File     string
	Failed   []error
	Tasks    []string // stopped ECS tasks and why
	Stopped  bool     // interrupted by the user
	TimedOut bool     // the command's deadline (--timeout) passed
	Started  []string // stacks left creating (interrupted or out of time)
	Explains []string
}

func (e *CreateError) Error() string {
	var b strings.Builder
	switch {
	case e.Stopped:
		fmt.Fprintf(&b, "create of cluster %s interrupted", e.Cluster)
	case e.TimedOut:
		fmt.Fprintf(&b, "create of cluster %s stopped by --timeout", e.Cluster)
	default:
		fmt.Fprintf(&b, "create of cluster %s failed", e.Cluster)
	}
	if len(e.Started) > 0 {
		fmt.Fprintf(&b, "; still creating in AWS: %s", strings.Join(e.Started, ", "))
	}
	for _, err := range e.Failed {
		fmt.Fprintf(&b, "\n%s", err)
	}
	if len(e.Tasks) > 0 {
		fmt.Fprintf(&b, "\nStopped ECS tasks:")
		for _, t := range e.Tasks {
			fmt.Fprintf(&b, "\n  %s", t)
		}
	}
	for _, x := range e.Explains {
		fmt.Fprintf(&b, "\n%s", x)
	}
	fmt.Fprintf(&b, "\nResume with `neo4jctl create cluster -f %s` (it keeps what was made and retries the rest), or remove everything with `neo4jctl delete cluster %s`.", e.File, e.Cluster)
	return b.String()
}

// Plan checks the account and renders the stacks, then looks at what exists: a resume
// carries on, a name taken by another cluster or a cluster that exists is refused, and so
// is a stack in a state only a person can fix; data an earlier cluster of the name kept is
// adopted. Plan changes nothing.
func (c *Create) Plan(ctx context.Context) (*CreatePlan, error) {
	r, err := c.render(ctx, c.Precheck, c.Release, c.Config, stack.Inputs{})
	if err != nil {
		return nil, err
	}
	for _, arch := range slices.Sorted(maps.Keys(r.in.ImageIDs)) {
		c.emit(AMIPinned{Arch: arch, AMI: r.in.ImageIDs[arch], Parameter: stack.AMIParameter(arch)})
	}
	p := &CreatePlan{Stacks: r.stacks, rendered: r}
	if p.Live, err = c.liveStacks(ctx, r.stacks); err != nil {
		return nil, err
	}
	if len(p.Live) > 0 {
		if err := c.checkResumable(p); err != nil {
			return nil, err
		}
	}
	return p, c.adopt(ctx, p)
}

// adopt finds the data an earlier cluster of this name kept, says what the stacks adopt and
// what is left alone, and renders them again with the existing ids. Kept volumes in the
// wrong AZ refuse the create before anything is made.
func (c *Create) adopt(ctx context.Context, p *CreatePlan) error {
	live := map[string]*engine.StackInfo{}
	for n, info := range p.Live {
		if !slices.Contains(p.Recreate, n) {
			live[n] = info
		}
	}
	a, err := c.findAdoption(ctx, c.Data, c.AZs, c.Config, c.File, p.rendered.env.SubnetAZs, live, c.Fresh)
	if err != nil {
		return err
	}
	p.Adoption = a
	if a.Text() != "" {
		c.emit(DataAdopted{Adoption: a})
	}
	in := p.rendered.in
	in.Adopt = a.Inputs()
	stacks, err := stack.Build(c.Config, in)
	if err != nil {
		return fmt.Errorf("rendering templates: %w", err)
	}
	p.Stacks, p.rendered.stacks = stacks, stacks
	return nil
}

// liveStacks describes the stacks that exist; one of another cluster is refused.
func (c *Create) liveStacks(ctx context.Context, stacks []stack.Stack) (map[string]*engine.StackInfo, error) {
	live := map[string]*engine.StackInfo{}
	for _, s := range stacks {
		info, err := c.Stacks.Describe(ctx, s.Name)
		if err != nil {
			return nil, err
		}
		if info == nil {
			continue
		}
		if info.Tags[naming.TagCluster] != c.Name {
			return nil, fmt.Errorf("stack %s already exists and is not part of neo4jctl cluster %s; choose another metadata.name", s.Name, c.Name)
		}
		live[s.Name] = info
	}
	return live, nil
}

// checkResumable refuses a cluster that exists and stacks in states create cannot repair,
// and lists the rolled-back stacks to make again.
func (c *Create) checkResumable(p *CreatePlan) error {
	healthy := 0
	for _, info := range p.Live {
		if engine.Healthy(info.Status) {
			healthy++
		}
	}
	if healthy == len(p.Stacks) {
		return fmt.Errorf("cluster %s already exists (%d stacks); change it with `neo4jctl update cluster -f %s`", c.Name, len(p.Stacks), c.File)
	}
	c.emit(CreateResumed{Cluster: c.Name, Existing: len(p.Live), Total: len(p.Stacks), Complete: healthy})
	for _, s := range p.Stacks {
		info := p.Live[s.Name]
		if info == nil || engine.Healthy(info.Status) || engine.InProgress(info.Status) {
			continue
		}
		switch info.Status {
		case engine.StatusRollbackComplete, engine.StatusRollbackFailed, engine.StatusCreateFailed, engine.StatusReviewInProgress:
			p.Recreate = append(p.Recreate, s.Name)
		default:
			return errors.New(explainStack(s.Name, info.Status, c.Name, c.File))
		}
	}
	return nil
}

// Execute makes the stacks: the rolled-back ones are deleted first, then everything that
// is missing is created in order (or started, with Detach), and the agent bundles go to the
// bucket once the shared stack exists. After Ctrl-C it offers to roll back.
func (c *Create) Execute(ctx context.Context, p *CreatePlan) (*CreateResult, error) {
	presses := countInterrupts(c.Interrupts)
	defer presses.stop()
	if err := c.clearRolledBack(ctx, p); err != nil {
		return nil, err
	}
	if err := c.restoreSecrets(ctx, p.Adoption); err != nil {
		return nil, err
	}
	var once sync.Once
	var sharedErr error
	upload := func(ctx context.Context) error { // once the shared stack exists
		once.Do(func() {
			if sharedErr = c.uploadBundles(ctx, c.S3, p.rendered); sharedErr == nil {
				sharedErr = c.rekeySecrets(ctx, p.Adoption)
			}
		})
		return sharedErr
	}
	if c.Detach {
		return c.startDetached(ctx, p, upload)
	}
	c.emit(CreateStarted{Cluster: c.Name, Stacks: len(p.Stacks)})
	names, deps := order(p.Stacks)
	errs := engine.InOrder(ctx, names, deps, func(ctx context.Context, n string) error {
		return c.createStack(ctx, p, n, upload)
	})
	if len(errs) == 0 {
		if err := c.checkExisting(ctx, p); err != nil {
			return nil, err
		}
		if err := c.record(ctx); err != nil {
			return nil, err
		}
		return c.formed(ctx)
	}
	ce := c.failure(ctx, names, errs)
	if ce.Stopped && !ce.TimedOut {
		return nil, c.offerRollback(ctx, ce, presses)
	}
	return nil, ce
}

// record makes the config the cluster's last-applied one, once every stack exists.
func (c *Create) record(ctx context.Context) error {
	if err := c.SaveApplied(ctx, c.S3, NewApplied(c.Config), "create cluster -f "+c.File, c.Release.Version, c.clock().Now()); err != nil {
		return fmt.Errorf("cluster %s is created, but %w; record it with `neo4jctl update cluster -f %s`", c.Name, err, c.File)
	}
	return nil
}

// formed waits, when asked to, for Neo4j to form the cluster the stacks made.
func (c *Create) formed(ctx context.Context) (*CreateResult, error) {
	res := &CreateResult{Cluster: c.Name, Region: c.Region, File: c.File}
	if !c.Wait {
		return res, nil
	}
	deadline := c.Deadline
	if deadline.IsZero() {
		deadline = c.clock().Now().Add(DefaultFormationTimeout)
	}
	w := &WaitFormed{Cluster: c.Cluster, Cores: c.Config.Cores.Count, Replicas: c.Config.ReplicaCount(), Namespace: c.Config.Namespace(),
		Deadline: deadline, ECS: c.ECS, Inspect: c.Inspect}
	if err := w.Run(ctx); err != nil {
		return nil, err
	}
	res.Formed = true
	return res, nil
}

// clearRolledBack deletes the empty stacks an earlier attempt left rolled back.
func (c *Create) clearRolledBack(ctx context.Context, p *CreatePlan) error {
	for _, n := range p.Recreate {
		status := p.Live[n].Status
		c.emit(StackRecreated{Stack: n, Status: status})
		if err := c.Stacks.Delete(ctx, n, true); err != nil {
			return fmt.Errorf("%w\n%s", err, explainStack(n, status, c.Name, c.File))
		}
		delete(p.Live, n)
	}
	return nil
}

// createStack creates one stack, or waits for one an earlier run started; right after the
// shared stack, the agent bundles go into its bucket.
func (c *Create) createStack(ctx context.Context, p *CreatePlan, n string, upload func(context.Context) error) error {
	info := p.Live[n]
	switch {
	case info != nil && engine.InProgress(info.Status):
		c.emit(StackAwaited{Stack: n, Status: info.Status})
		if _, err := c.Stacks.Wait(ctx, n, engine.OpCreate, info.Created, ""); err != nil {
			return err
		}
	case info != nil:
		// exists and is healthy
	default:
		if _, err := c.Stacks.Create(ctx, spec(stackNamed(p.Stacks, n)), false); err != nil {
			return err
		}
	}
	if n == naming.StackName(c.Name, naming.KindShared, 0) {
		return upload(ctx)
	}
	return nil
}

// startDetached starts the stacks whose dependencies exist and returns.
func (c *Create) startDetached(ctx context.Context, p *CreatePlan, upload func(context.Context) error) (*CreateResult, error) {
	if info := p.Live[naming.StackName(c.Name, naming.KindShared, 0)]; info != nil && engine.Healthy(info.Status) {
		if err := upload(ctx); err != nil {
			return nil, err
		}
	}
	res := &CreateResult{Cluster: c.Name, Region: c.Region, File: c.File, Detached: true}
	for _, s := range p.Stacks {
		if p.Live[s.Name] != nil {
			continue
		}
		ready := true
		for _, d := range s.DependsOn {
			if info := p.Live[d]; info == nil || !engine.Healthy(info.Status) {
				ready = false
			}
		}
		if !ready {
			res.Waiting++
			continue
		}
		if _, err := c.Stacks.Create(ctx, spec(s), true); err != nil {
			return nil, err
		}
		res.Started = append(res.Started, s.Name)
	}
	return res, nil
}

// failure turns the stacks' errors into one CreateError: interrupted, failed, or both, with
// the stopped ECS tasks when something failed.
func (c *Create) failure(ctx context.Context, names []string, errs map[string]error) *CreateError {
	ce := &CreateError{Cluster: c.Name, File: c.File, TimedOut: errors.Is(ctx.Err(), context.DeadlineExceeded)}
	for _, n := range names {
		err := errs[n]
		var skipped *engine.SkippedError
		switch {
		case err == nil, errors.As(err, &skipped):
		case engine.IsInterrupted(err):
			ce.Started = append(ce.Started, n)
			ce.TimedOut = timedOut(ctx)
			ce.Stopped = !ce.TimedOut
		default:
			ce.Failed = append(ce.Failed, err)
		}
	}
	if len(ce.Failed) > 0 {
		ce.Tasks = stoppedTasks(context.WithoutCancel(ctx), c.ECS, c.Name)
	}
	return ce
}

// offerRollback: after Ctrl-C, on a terminal, asks whether to delete what this create made
// (volumes and backups are kept). A second Ctrl-C ends the question, or the rollback, and
// leaves the stacks as they are.
func (c *Create) offerRollback(ctx context.Context, ce *CreateError, presses *interruptCount) error {
	if c.Prompt == nil || c.Rollback == nil {
		return ce
	}
	rctx, cancel := presses.untilSecond(context.WithoutCancel(ctx))
	defer cancel()
	ok, err := c.Prompt.Confirm(rctx, fmt.Sprintf("\nInterrupted. Roll back: delete the stacks of cluster %s made so far (volumes and backups are kept)? [y/N] ", c.Name))
	switch {
	case rctx.Err() != nil:
		c.emit(RollbackDeclined{})
		return ce
	case err != nil || !ok:
		return ce
	}
	if _, err := c.Rollback.Run(rctx); err != nil {
		return fmt.Errorf("rolling back the create of %s: %w", c.Name, err)
	}
	return fmt.Errorf("create of cluster %s interrupted and rolled back; nothing of it is left but kept data", c.Name)
}

// timedOut reports whether ctx ended at its deadline (the command's --timeout) rather than
// by the user (Ctrl-C): no rollback is offered then, nobody asked to stop.
func timedOut(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.DeadlineExceeded)
}

// interruptCount counts the Ctrl-Cs on a channel from the start of a create, so the second
// is told from the first however late the create gets to ask about a rollback: a second
// press while the stacks' waits wind down is not mistaken for the first (and lost, leaving
// the question waiting for an answer nobody gives).
type interruptCount struct {
	second chan struct{} // closed at the second Ctrl-C
	done   chan struct{}
}

func countInterrupts(sig <-chan os.Signal) *interruptCount {
	ic := &interruptCount{second: make(chan struct{}), done: make(chan struct{})}
	if sig == nil {
		return ic
	}
	go func() {
		for n := 0; ; {
			select {
			case <-sig:
				if n++; n == 2 {
					close(ic.second)
				}
			case <-ic.done:
				return
			}
		}
	}()
	return ic
}

func (ic *interruptCount) stop() { close(ic.done) }

// untilSecond is ctx cancelled at the second Ctrl-C (at once if it came already).
func (ic *interruptCount) untilSecond(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-ic.second:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// order is the stacks' names in creation order and their dependencies.
func order(stacks []stack.Stack) ([]string, map[string][]string) {
	var names []string
	deps := map[string][]string{}
	for _, s := range stacks {
		names = append(names, s.Name)
		deps[s.Name] = s.DependsOn
	}
	return names, deps
}

func stackNamed(stacks []stack.Stack, name string) stack.Stack {
	for _, s := range stacks {
		if s.Name == name {
			return s
		}
	}
	return stack.Stack{Name: name}
}

// spec is a stack as the engine makes it: always with termination protection.
func spec(s stack.Stack) engine.Spec {
	return engine.Spec{Name: s.Name, Template: s.Template, Parameters: s.Parameters, Tags: s.Tags, TerminationProtection: true}
}
