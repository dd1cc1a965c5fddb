package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// Stop takes a cluster down to what it keeps: every service to zero (the replicas first,
// then all cores at once), then every instance, with the alarm actions muted and the backup
// schedules paused first, all through the stacks' parameters. The last-applied record keeps
// the counts, so start brings back exactly what ran; update keeps a stopped cluster stopped.
type Stop struct {
	Imperative
	Yes  bool
	Wait bool // until the instances are gone and the volumes detached
	ASG  GroupReader
	EC2  VolumeReader
	// Poll and Timeout pace the wait for the instances (defaults 10s and 15m).
	Poll, Timeout time.Duration
}

// VolumeReader reads the data volumes (their state).
type VolumeReader interface {
	DescribeVolumes(context.Context, *ec2.DescribeVolumesInput, ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error)
}

// NewStop is stop on the handle's clients.
func NewStop(c *Cluster, yes, wait bool, rel Release) *Stop {
	return &Stop{Imperative: newImperative(c, "stop cluster "+c.Name, rel), Yes: yes, Wait: wait, ASG: c.AWS.AutoScaling, EC2: c.AWS.EC2}
}

// MemberState is what a member runs, as its stack's parameters say, and its volume.
type MemberState struct {
	Name      string `json:"name"`
	Tasks     int    `json:"tasks"`
	Instances int    `json:"instances"`
	Volume    string `json:"volume,omitempty"`
	Group     string `json:"autoScalingGroup,omitempty"`
}

// StopPlan is what stop will do: what runs now, what is kept.
type StopPlan struct {
	Cluster  string         `json:"cluster"`
	Already  bool           `json:"alreadyStopped"`
	Since    *time.Time     `json:"since,omitempty"`
	Members  []MemberState  `json:"members"`
	Replicas *MemberState   `json:"replicas,omitempty"`
	Bucket   string         `json:"bucket"`
	Restores map[string]int `json:"startRestores"` // what start brings back: cores, replicas
}

// Text is the plan for people.
func (p *StopPlan) Text() string {
	var b strings.Builder
	if p.Already {
		fmt.Fprintf(&b, "Cluster %s is stopped (since %s): nothing runs.\n", p.Cluster, p.Since.UTC().Format(time.RFC3339))
		return b.String()
	}
	fmt.Fprintf(&b, "Stop cluster %s:\n", p.Cluster)
	n := 0
	step := func(format string, a ...any) {
		n++
		fmt.Fprintf(&b, "  %d. %s\n", n, fmt.Sprintf(format, a...))
	}
	step("mute the alarm actions and pause the backup schedules")
	if r := p.Replicas; r != nil {
		step("replicas: %d tasks -> 0", r.Tasks)
	}
	var names, vols []string
	for _, m := range p.Members {
		names = append(names, m.Name)
		vols = append(vols, fmt.Sprintf("%s (%s)", m.Volume, m.Name))
	}
	step("core members %s: 1 task -> 0 each, all at once", strings.Join(names, ", "))
	if r := p.Replicas; r != nil {
		step("instances -> 0: one per core member, the replicas' %d", r.Instances)
	} else {
		step("instances -> 0: one per core member")
	}
	fmt.Fprintf(&b, "Kept: the data volumes %s and the bucket %s; a stopped cluster costs only these and its network.\n", strings.Join(vols, ", "), p.Bucket)
	fmt.Fprintf(&b, "`neo4jctl start cluster %s` brings back %d cores and %d replicas.\n", p.Cluster, p.Restores["cores"], p.Restores["replicas"])
	return b.String()
}

// Plan reads the record and the stacks and says what stop will do; it changes nothing.
func (s *Stop) Plan(ctx context.Context) (*StopPlan, error) {
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	cfg := s.record.Config
	p := &StopPlan{Cluster: s.Name, Restores: map[string]int{"cores": cfg.Cores.Count, "replicas": cfg.ReplicaCount()}}
	p.Bucket, _ = s.bucket(ctx)
	running := false
	for _, m := range s.members() {
		st := memberState(m.Tags[naming.TagMember], m.Parameters, m.Outputs)
		running = running || st.Tasks > 0 || st.Instances > 0
		p.Members = append(p.Members, st)
	}
	if r := s.stack(naming.KindReplicas, 0); r != nil {
		st := memberState("replicas", r.Parameters, r.Outputs)
		running = running || st.Tasks > 0 || st.Instances > 0
		p.Replicas = &st
	}
	if s.record.Stopped != nil && !running {
		p.Already, p.Since = true, &s.record.Stopped.At
	}
	return p, nil
}

// memberState reads a member's (or the replicas') counts from its stack.
func memberState(name string, params, outputs map[string]string) MemberState {
	st := MemberState{Name: name, Volume: outputs[stack.OutputVolumeID], Group: outputs[stack.OutputAutoScalingGroup]}
	fmt.Sscan(params[stack.ParamDesiredCount], &st.Tasks)
	fmt.Sscan(params[stack.ParamInstanceCount], &st.Instances)
	return st
}

// Ask confirms (unless Yes): the cluster will be down until start.
func (s *Stop) Ask(ctx context.Context, p *StopPlan) error {
	ok, err := s.confirm(ctx, fmt.Sprintf("Stop cluster %s? Neo4j is unavailable until `neo4jctl start cluster %s`. [y/N] ", s.Name, s.Name),
		"stop cluster "+s.Name, "--yes", s.Yes)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("nothing changed")
	}
	return nil
}

// Execute runs the steps, records the cluster as stopped and, with Wait, waits until every
// instance is gone and every volume detached.
func (s *Stop) Execute(ctx context.Context, p *StopPlan) error {
	cfg := s.record.Config
	muted := stack.Run{Muted: true}
	replicasDown := stack.Run{Muted: true, Replicas: &stack.Capacity{Tasks: 0, Instances: cfg.ReplicaCount()}}
	coresDown := replicasDown
	coresDown.Cores = &stack.Capacity{Tasks: 0, Instances: 1}
	steps := []struct {
		what     string
		run      stack.Run
		together bool
		kinds    []string
	}{
		{"Muting the alarm actions and pausing the backup schedules", muted, false, []string{naming.KindOperations}},
		{"Stopping the replicas", replicasDown, false, []string{naming.KindReplicas}},
		{"Stopping every core member at once", coresDown, true, []string{naming.KindCore}},
		{"Taking the instances to zero", stack.Stopped(), true, []string{naming.KindCore, naming.KindReplicas}},
	}
	for _, st := range steps {
		if err := s.step(ctx, st.what, st.run, st.together, st.kinds...); err != nil {
			return err
		}
	}
	if s.record.Stopped == nil {
		s.record.Stopped = &StoppedState{At: s.Now().UTC(), Cores: cfg.Cores.Count, Replicas: cfg.ReplicaCount()}
	}
	if err := s.save(ctx); err != nil {
		return err
	}
	if !s.Wait {
		return nil
	}
	return s.waitGone(ctx, p)
}

// waitGone polls until no instance is left in the cluster's groups and every member's
// volume is available (detached): a stopped cluster, and volumes reset-data can replace.
func (s *Stop) waitGone(ctx context.Context, p *StopPlan) error {
	poll, timeout := s.Poll, s.Timeout
	if poll == 0 {
		poll = 10 * time.Second
	}
	if timeout == 0 {
		timeout = 15 * time.Minute
	}
	deadline := s.clock().Now().Add(timeout)
	for {
		left, err := s.stillThere(ctx, p)
		if err != nil {
			return err
		}
		if len(left) == 0 {
			s.emit(Note{Text: "Every instance is gone and every data volume detached."})
			return nil
		}
		if !s.clock().Now().Before(deadline) {
			return fmt.Errorf("cluster %s is stopped in its stacks, but after %s still %s; see `neo4jctl get cluster %s`", s.Name, timeout, strings.Join(left, ", "), s.Name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.clock().After(poll):
		}
	}
}

// stillThere lists the instances and attached volumes left.
func (s *Stop) stillThere(ctx context.Context, p *StopPlan) ([]string, error) {
	var left, groups, vols []string
	for _, m := range append(append([]MemberState{}, p.Members...), derefState(p.Replicas)...) {
		if m.Group != "" {
			groups = append(groups, m.Group)
		}
		if m.Volume != "" {
			vols = append(vols, m.Volume)
		}
	}
	out, err := s.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: groups})
	if err != nil {
		return nil, fmt.Errorf("reading the Auto Scaling groups of %s: %w", s.Name, err)
	}
	for _, g := range out.AutoScalingGroups {
		for _, in := range g.Instances {
			left = append(left, fmt.Sprintf("instance %s (%s)", aws.ToString(in.InstanceId), in.LifecycleState))
		}
	}
	if len(vols) == 0 {
		return left, nil
	}
	vout, err := s.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: vols})
	if err != nil {
		return nil, fmt.Errorf("reading the data volumes of %s: %w", s.Name, err)
	}
	for _, v := range vout.Volumes {
		if v.State != "available" {
			left = append(left, fmt.Sprintf("volume %s (%s)", aws.ToString(v.VolumeId), v.State))
		}
	}
	return left, nil
}

func derefState(m *MemberState) []MemberState {
	if m == nil {
		return nil
	}
	return []MemberState{*m}
}
