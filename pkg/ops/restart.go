package ops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
	"github.com/neo4jctl/neo4jctl/pkg/rollout"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// Restart is `restart cluster`: a rolling restart, quorum first (pkg/rollout: replicas, then
// the cores leading the fewest databases, the leader of the most last; gated before and
// after each member, one member down at a time), each member restarted by a forced new
// deployment of its ECS service. Its order is kept in the cluster bucket (RestartState) so
// that an interrupted run resumes exactly with --from.
type Restart struct {
	*Cluster
	Only []string // --member: these members alone
	From string   // --from: resume at this member
	Yes  bool
	// MemberTimeout bounds each member's gates and restart (0: rollout's default).
	MemberTimeout time.Duration
	// Poll is how often Neo4j and ECS are looked at (0: the defaults).
	Poll time.Duration
	// Interrupts: the first finishes the member in flight and stops, the second abandons it.
	Interrupts <-chan os.Signal
	ECS        ServiceDeployer
	State      StateStore
}

// NewRestart is restart on the handle's clients.
func NewRestart(c *Cluster) *Restart { return &Restart{Cluster: c, ECS: c.AWS.ECS, State: c.AWS.S3} }

// RestartPlan is what a restart will do: for --dry-run and the question.
type RestartPlan struct {
	Cluster string          `json:"cluster"`
	Members []PlannedMember `json:"members"` // in order, from --from on
	Skipped []string        `json:"skipped,omitempty"`
	// Resumes is the earlier run whose order this one keeps (--from).
	Resumes *RestartState `json:"resumes,omitempty"`
	// Unfinished is an earlier run that stopped part-way, which this one does not resume.
	Unfinished *RestartState `json:"unfinished,omitempty"`
	// Repair: a --member run while an unfinished run is kept; the kept run stays as it is,
	// so that its resume still finds its order after the repair.
	Repair        bool          `json:"repair,omitempty"`
	MemberTimeout time.Duration `json:"memberTimeout"`

	members  []rollout.Member
	services map[string]string
	order    []string // the whole pinned order
	only     []string
}

// PlannedMember is one member of the order and what it leads now.
type PlannedMember struct {
	Member string   `json:"member"`
	Leads  []string `json:"leads,omitempty"`
}

// Text is the plan for people.
func (p *RestartPlan) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Rolling restart of cluster %s, one member at a time, gated before and after each (at most %s per member):\n", p.Cluster, p.MemberTimeout)
	for i, m := range p.Members {
		what := "leads nothing"
		if m.Member == naming.ReplicasService {
			what = "every replica task replaced"
		} else if len(m.Leads) > 0 {
			what = "leads " + strings.Join(m.Leads, ", ")
		}
		fmt.Fprintf(&b, "  %d. %-10s %s\n", i+1, m.Member, what)
	}
	if len(p.Skipped) > 0 {
		fmt.Fprintf(&b, "Skipped (restarted by the run this resumes): %s\n", strings.Join(p.Skipped, ", "))
	}
	switch u := p.Unfinished; {
	case u != nil && p.Repair:
		fmt.Fprintf(&b, "Note: the restart started %s that stopped before %s is kept: resume it afterwards with --from %s\n", u.Started.Format(time.RFC3339), u.Next, u.Next)
	case u != nil:
		fmt.Fprintf(&b, "Note: a restart started %s stopped before %s; this starts a new roll (resume that one instead with --from %s)\n",
			u.Started.Format(time.RFC3339), u.Next, u.Next)
	}
	return b.String()
}

// UnknownMemberError names a member the cluster does not have (exit 2: nothing touched).
type UnknownMemberError struct {
	Flag, Name string
	Members    []string
}

func (e *UnknownMemberError) Error() string {
	return fmt.Sprintf("%s %s: the cluster has no such member (members: %s)", e.Flag, e.Name, strings.Join(e.Members, ", "))
}

func (e *UnknownMemberError) ExitCode() int { return 2 }

// Plan finds the members, checks they can be restarted, reads Neo4j and fixes the order:
// the earlier run's with --from (when the bucket keeps it), else from who leads what now.
// It changes nothing.
func (r *Restart) Plan(ctx context.Context) (*RestartPlan, error) {
	stacks, err := r.FindStacks(ctx)
	if err != nil {
		return nil, err
	}
	if len(stacks) == 0 {
		return nil, &NotFoundError{Name: r.Name, Region: r.Region}
	}
	p := &RestartPlan{Cluster: r.Name, MemberTimeout: cmp.Or(r.MemberTimeout, rollout.DefaultMemberTimeout), services: map[string]string{}}
	if p.members, err = r.rollable(ctx, stacks, p.services); err != nil {
		return nil, err
	}
	if r.Admin == nil {
		return nil, fmt.Errorf("restart cluster %s: no admin channel to Neo4j", r.Name)
	}
	resp, err := sendOK(ctx, r.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqStatus})
	if err != nil {
		return nil, fmt.Errorf("reading cluster %s before restarting it (the gates need Neo4j's view): %w", r.Name, err)
	}
	if err := r.order(ctx, p, resp.Status); err != nil {
		return nil, err
	}
	return p, nil
}

// rollable are the members to roll, every one of them with a service that runs: a stopped
// member or cluster is not restarted (start it); the replicas only when they run.
func (r *Restart) rollable(ctx context.Context, stacks []*engine.StackInfo, services map[string]string) ([]rollout.Member, error) {
	for _, s := range stacks {
		if engine.InProgress(s.Status) {
			return nil, errors.New(explainStack(s.Name, s.Status, r.Name, ""))
		}
	}
	all, err := rollMembers(r.Name, stacks)
	if err != nil {
		return nil, err
	}
	for _, name := range append(slices.Clone(r.Only), r.From) {
		if name != "" && !slices.Contains(memberNames(all), name) {
			flag := "--member"
			if name == r.From {
				flag = "--from"
			}
			return nil, &UnknownMemberError{Flag: flag, Name: name, Members: memberNames(all)}
		}
	}
	for _, s := range stacks {
		if m := s.Tags[naming.TagMember]; m != "" && s.Outputs[stack.OutputService] != "" {
			services[m] = s.Outputs[stack.OutputService]
		} else if s.Tags[naming.TagStackKind] == naming.KindReplicas && s.Outputs[stack.OutputService] != "" {
			services[naming.ReplicasService] = s.Outputs[stack.OutputService]
		}
	}
	var out []rollout.Member
	for _, m := range all {
		svc := service(ctx, r.ECS, naming.ECSCluster(r.Name), cmp.Or(services[m.Name], m.Name))
		switch {
		case svc != nil && svc.DesiredCount > 0:
			out = append(out, m)
		case m.Replicas() && !slices.Contains(r.Only, m.Name):
			// no replica runs: nothing to restart
		default:
			return nil, fmt.Errorf("%s is not running (its ECS service wants no task): a stopped member is not restarted; start the cluster first", m.Name)
		}
	}
	return out, nil
}

// order fixes the run's order: pinned from the bucket when --from resumes an earlier run,
// else computed now; and it fills the plan's members with what each leads.
func (r *Restart) order(ctx context.Context, p *RestartPlan, st *neo4jadmin.Status) error {
	prev, err := r.loadRestartState(ctx, r.State)
	if err != nil {
		r.emit(Note{Text: "Warning: " + err.Error()})
	}
	p.only = r.Only
	switch {
	case prev != nil && prev.Next != "" && r.From != "" && slices.Contains(prev.Order, r.From) && (len(r.Only) == 0 || slices.Equal(r.Only, prev.Only)):
		p.Resumes, p.order, p.only = prev, prev.Order, prev.Only
	case prev != nil && prev.Next != "" && r.From == "":
		p.Unfinished, p.Repair = prev, len(r.Only) > 0
	}
	if p.order == nil {
		sel := p.members
		if len(p.only) > 0 {
			sel = slices.DeleteFunc(slices.Clone(p.members), func(m rollout.Member) bool { return !slices.Contains(p.only, m.Name) })
		}
		p.order = memberNames(rollout.Order(st, sel))
	}
	start := 0
	if r.From != "" {
		if start = slices.Index(p.order, r.From); start < 0 {
			return fmt.Errorf("--from %s: not in the order %s", r.From, strings.Join(p.order, ", "))
		}
	}
	p.Skipped = p.order[:start]
	leads := rollout.LeadsOf(st, p.members)
	for _, name := range p.order[start:] {
		l := leads[name]
		pm := PlannedMember{Member: name, Leads: slices.Clone(l.Databases)}
		if l.System {
			pm.Leads = append(pm.Leads, "system")
		}
		p.Members = append(p.Members, pm)
	}
	return nil
}

// Ask asks before anything restarts (unless Yes).
func (r *Restart) Ask(ctx context.Context, p *RestartPlan) error {
	q := fmt.Sprintf("Restart %d members of cluster %s one at a time (%s)? [y/N] ", len(p.Members), r.Name, strings.Join(p.order[len(p.Skipped):], ", "))
	ok, err := r.confirm(ctx, q, "restart cluster "+r.Name, "--yes", r.Yes)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("nothing restarted")
	}
	return nil
}

// Execute rolls the members in the plan's order, keeping the order in the bucket as it
// goes. A run that stops part-way returns a *RollError naming the command that resumes.
func (r *Restart) Execute(ctx context.Context, p *RestartPlan) (rollout.Result, error) {
	ctx, abort, stop := r.interruptible(ctx, r.Interrupts)
	defer stop()
	state := &RestartState{Only: p.only, Order: p.order, Started: r.clock().Now().UTC()}
	if p.Resumes != nil {
		state.Started, state.Done = p.Resumes.Started, slices.Clone(p.Resumes.Done)
	}
	if len(p.Members) > 0 {
		state.Next = p.Members[0].Member
	}
	if p.Repair {
		state = nil // the kept run's state stays
	}
	r.keep(ctx, state)
	roll := &rollout.Roll{Admin: r.Admin, Clock: rollClock{r.clock()}, Members: p.members,
		Restarter: redeploy{c: r.Cluster, ecs: r.ECS, services: p.services, poll: r.Poll},
		Events:    rollEvents{c: r.Cluster, on: func(e rollout.Event) { r.track(ctx, state, e) }}}
	res, err := roll.Run(ctx, rollout.Options{Only: p.only, From: r.From, Order: p.order, MemberTimeout: r.MemberTimeout, Poll: r.Poll, Abort: abort})
	if state != nil {
		state.Next = res.Next
	}
	r.keep(ctx, state)
	if err == nil {
		return res, nil
	}
	return res, r.rollError(res, err)
}

// track keeps the state as members pass.
func (r *Restart) track(ctx context.Context, state *RestartState, e rollout.Event) {
	if state == nil {
		return
	}
	switch e := e.(type) {
	case rollout.MemberBegun:
		state.Next = e.Member
		r.keep(ctx, state)
	case rollout.MemberDone:
		state.Done = append(state.Done, e.Member)
		if i := slices.Index(state.Order, e.Member); i >= 0 && i+1 < len(state.Order) {
			state.Next = state.Order[i+1]
		}
	}
}

// keep writes the state; a failure is a warning (the roll goes on; a resume without it
// computes a new order).
func (r *Restart) keep(ctx context.Context, state *RestartState) {
	if state == nil {
		return
	}
	if err := r.saveRestartState(context.WithoutCancel(ctx), r.State, state); err != nil {
		r.emit(Note{Text: "Warning: " + err.Error()})
	}
}

// rollError says what stopped the roll and what to run next.
func (r *Restart) rollError(res rollout.Result, err error) *RollError {
	re := &RollError{Cluster: r.Name, What: "restart", Result: res, Err: err}
	var ge *rollout.GateError
	final := errors.As(err, &ge) && slices.ContainsFunc(ge.Problems, func(p rollout.Problem) bool { return p.Final })
	if res.Next != "" && !final {
		re.Resume = r.command("--from " + res.Next)
	}
	if m := down(res, err); m != "" {
		re.Repair = r.command("--member " + m)
	}
	return re
}

// command is a restart command line for this cluster with the run's --member.
func (r *Restart) command(flags string) string {
	s := "neo4jctl restart cluster " + r.Name
	if len(r.Only) > 0 && !strings.HasPrefix(flags, "--member") {
		s += " --member " + strings.Join(r.Only, ",")
	}
	return s + " " + flags
}
