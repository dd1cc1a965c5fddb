package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
	"github.com/neo4jctl/neo4jctl/pkg/rollout"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// ScaleCores is `scale cores`: the number of core members (primaries), quorum first.
// cores.count is set in the last-applied record (before anything changes, so that an
// `update -f` with the old count is refused instead of undoing a half-done scale), then:
//
//   - out: the new member stacks are created (members are core-1..core-K: the new ones are
//     the next numbers), their servers waited for, enabled, the topology of the databases on
//     every core raised to the new count, the databases reallocated (pkg/rollout ScaleOut);
//   - in: the highest-numbered members leave one at a time: cordoned, their leaderships
//     handed over, the topology lowered, the deallocation planned (DRYRUN, shown and
//     confirmed), deallocated, waited until Deallocated, dropped (pkg/rollout ScaleIn); then
//     the member's stack is deleted, its data volume kept (Retain) and named, and with the
//     stack its DNS name;
//
// then what names the members (every member's discovery endpoints, the backup task's
// --from list, the alarms) is rendered again: the member stacks through the gated roll, the
// operations stack after them. Every step looks first and does only what is left, so a run
// that stopped part-way is resumed by running it again.
type ScaleCores struct {
	Imperative
	Count int
	Yes   bool
	Roll  RollOptions
	// Timeout bounds each wait for Neo4j in the scale steps (0: rollout's default).
	Timeout time.Duration
	// file: the scale is the first part of `update -f file` (ScaleForFile): the count is
	// the file's, not an imperative change.
	file string
}

// ScaleForFile is the scale of the cores that `update cluster -f` runs before the rest of
// the file when the file's cores.count differs from the core members the cluster has: the
// same flow as `scale cores`. Nil when the count is the same, when the cluster has no
// last-applied record yet, or when the file would undo a count `scale cores` set and
// overwrite is false (update refuses that, naming the field).
func ScaleForFile(ctx context.Context, c *Cluster, f *cluster.File, overwrite, yes bool, rel Release) (*ScaleCores, error) {
	k := f.Config.Cores.Count
	stacks, err := c.FindStacks(ctx)
	if err != nil {
		return nil, err
	}
	cores := 0
	for _, st := range stacks {
		if st.Tags[naming.TagStackKind] == naming.KindCore {
			cores++
		}
	}
	if cores == k || len(stacks) == 0 {
		return nil, nil // the same members (or no cluster: update says so)
	}
	for _, st := range stacks {
		if emptyAfterFailedCreate(st.Status) {
			return nil, fmt.Errorf("%s changes cores.count to %d while stack %s of %s holds nothing (%s: a create or update failed); "+
				"apply the file with cores.count %d first (the update makes the stack again), then with %d", f.Path, k, st.Name, c.Name, st.Status, cores, k)
		}
	}
	s := NewScaleCores(c, k, yes, rel)
	s.file, s.Command = f.Path, "update cluster -f "+f.Path
	if err := s.load(ctx); err != nil {
		var none *NoRecordError
		if errors.As(err, &none) {
			return nil, nil
		}
		return nil, err
	}
	if ic := s.record.imperative("cores.count"); ic != nil && string(ic.Value) != fmt.Sprint(k) && !overwrite {
		return nil, nil
	}
	return s, nil
}

// NewScaleCores is scale cores on the handle's clients.
func NewScaleCores(c *Cluster, count int, yes bool, rel Release) *ScaleCores {
	s := &ScaleCores{Imperative: newImperative(c, fmt.Sprintf("scale cores %s --count %d", c.Name, count), rel), Count: count, Yes: yes}
	s.rollWhat = fmt.Sprintf("scale to %d cores", count)
	return s
}

// ScaleCoresPlan is what scale cores will do.
type ScaleCoresPlan struct {
	Cluster string   `json:"cluster"`
	From    int      `json:"from"` // core member stacks now
	To      int      `json:"to"`
	Add     []string `json:"add,omitempty"`
	// Remove are the leaving members, highest first, with what each leads now; the first
	// one's deallocation plan (the others' depend on it).
	Remove []LeavingMember `json:"remove,omitempty"`
	// Resumes: the record says To already (an earlier run stopped part-way).
	Resumes bool `json:"resumes,omitempty"`
	NoOp    bool `json:"nothingToDo,omitempty"`
	// File: the scale is the first part of `update -f File`.
	File    string `json:"file,omitempty"`
	members []rollout.Member
}

// LeavingMember is a core member a scale-in removes.
type LeavingMember struct {
	Member string             `json:"member"`
	Volume string             `json:"volume,omitempty"` // kept
	Leads  []string           `json:"leads,omitempty"`
	Plan   *rollout.ScalePlan `json:"plan,omitempty"`
}

// Plan reads the record, the stacks and Neo4j and checks the count; it changes nothing.
func (s *ScaleCores) Plan(ctx context.Context) (*ScaleCoresPlan, error) {
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	if s.record.Stopped != nil {
		return nil, fmt.Errorf("cluster %s is stopped: scaling cores moves databases between running servers; start it first with `neo4jctl start cluster %s`", s.Name, s.Name)
	}
	next := *s.record.Config
	next.Cores.Count = s.Count
	if err := cluster.Validate(&next, nil); err != nil {
		return nil, fmt.Errorf("--count %d: %w", s.Count, err) // a cluster.ErrorList: exit 2
	}
	p := &ScaleCoresPlan{Cluster: s.Name, From: len(s.members()), To: s.Count, File: s.file}
	p.Resumes = s.record.Config.Cores.Count == s.Count && p.From != s.Count
	p.NoOp = p.From == s.Count && s.record.Config.Cores.Count == s.Count
	if p.NoOp {
		return p, nil
	}
	if s.Admin == nil {
		return nil, fmt.Errorf("scale cores %s: moving databases needs the admin channel to Neo4j (the admin function, or --bolt-uri)", s.Name)
	}
	var err error
	if p.members, err = rollMembers(s.Name, s.liveList()); err != nil {
		return nil, err
	}
	for i := p.From + 1; i <= s.Count; i++ {
		p.Add = append(p.Add, naming.CoreService(i))
	}
	if p.From > s.Count {
		return p, s.planIn(ctx, p)
	}
	return p, nil
}

// liveList is the live stacks as a list.
func (i *Imperative) liveList() []*engine.StackInfo {
	out := make([]*engine.StackInfo, 0, len(i.live))
	for _, s := range i.live {
		out = append(out, s)
	}
	return out
}

// planIn lists the leaving members, and the first one's deallocation as Neo4j plans it now.
func (s *ScaleCores) planIn(ctx context.Context, p *ScaleCoresPlan) error {
	resp, err := sendOK(ctx, s.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqStatus})
	if err != nil {
		return fmt.Errorf("reading cluster %s before removing members: %w", s.Name, err)
	}
	leads := rollout.LeadsOf(resp.Status, p.members)
	for n := p.From; n > s.Count; n-- {
		name := naming.CoreService(n)
		l := LeavingMember{Member: name, Leads: leads[name].Databases, Volume: s.liveParam(naming.KindCore, n, stack.ParamExistingVolumeID)}
		if info := s.stack(naming.KindCore, n); info != nil && info.Outputs[stack.OutputVolumeID] != "" {
			l.Volume = info.Outputs[stack.OutputVolumeID]
		}
		if n == p.From {
			in := s.leave(p.members, n)
			plan, err := in.Plan(ctx)
			if err != nil {
				return err
			}
			l.Plan = &plan
		}
		p.Remove = append(p.Remove, l)
	}
	return nil
}

// leave is the Neo4j side of removing member n from a cluster of n cores.
func (s *ScaleCores) leave(members []rollout.Member, n int) *rollout.ScaleIn {
	i := slices.IndexFunc(members, func(m rollout.Member) bool { return m.Name == naming.CoreService(n) })
	return &rollout.ScaleIn{Admin: s.Admin, Clock: rollClock{s.clock()}, Events: rollEvents{c: s.Cluster}, Members: members, Member: members[i],
		Cores: n, Timeout: s.Timeout, Poll: s.Roll.Poll, Confirm: s.confirmMoves}
}

// confirmMoves asks before a deallocation (its plan was shown by the roll's events).
func (s *ScaleCores) confirmMoves(ctx context.Context, moves []rollout.Move) error {
	ok, err := s.confirm(ctx, fmt.Sprintf("Deallocate as planned (%d copies move)? [y/N] ", len(moves)), "scale cores "+s.Name, "--yes", s.Yes)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("nothing deallocated; the member is cordoned: run the command again to carry on, or `neo4jctl scale cores` with the old count to stay")
	}
	return nil
}

// Text is the plan for people.
func (p *ScaleCoresPlan) Text() string {
	var b strings.Builder
	if p.NoOp {
		return fmt.Sprintf("Cluster %s has %d cores already: nothing to do.\n", p.Cluster, p.To)
	}
	fmt.Fprintf(&b, "Scale the cores of %s from %d to %d:\n", p.Cluster, p.From, p.To)
	if p.Resumes {
		fmt.Fprintf(&b, "  (the last-applied config says %d already: an earlier run stopped part-way; this carries on)\n", p.To)
	}
	for _, m := range p.Add {
		fmt.Fprintf(&b, "  + %s: a new member stack; its server is enabled once it joins, and the databases on every core get a copy on it\n", m)
	}
	for _, l := range p.Remove {
		fmt.Fprintf(&b, "  - %s%s: cordoned, leaderships handed over, deallocated, dropped; its stack deleted, its volume %s kept\n",
			l.Member, leadsText(l.Leads), orText(l.Volume, "(none found)"))
		if l.Plan != nil {
			for _, c := range l.Plan.Topology {
				fmt.Fprintf(&b, "      %s\n", c)
			}
			for _, m := range l.Plan.Moves {
				fmt.Fprintf(&b, "      database %s (%s) moves to %s\n", m.Database, m.Role, m.To)
			}
			if l.Plan.MovesNote != "" {
				fmt.Fprintf(&b, "      deallocation: %s\n", l.Plan.MovesNote)
			}
		}
	}
	b.WriteString("Then every member's discovery endpoints, the backup task and the alarms are rendered for the new member list: the member stacks roll one at a time, gated.\n")
	if p.File != "" {
		fmt.Fprintf(&b, "Then the rest of %s is applied.\n", p.File)
	} else {
		fmt.Fprintf(&b, "cores.count becomes %d in the cluster's last-applied config; `update cluster -f` with %d is then refused.\n", p.To, p.From)
	}
	return b.String()
}

func leadsText(leads []string) string {
	if len(leads) == 0 {
		return ""
	}
	return " (leads " + strings.Join(leads, ", ") + ")"
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Ask confirms (unless Yes).
func (s *ScaleCores) Ask(ctx context.Context, p *ScaleCoresPlan) error {
	ok, err := s.confirm(ctx, fmt.Sprintf("Scale the cores of %s from %d to %d? [y/N] ", s.Name, p.From, p.To), "scale cores "+s.Name, "--yes", s.Yes)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("nothing changed")
	}
	return nil
}
