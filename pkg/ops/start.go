package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// Start brings a stopped cluster back as its last-applied record says: the instances first
// (each core's attaches its volume by tag), then every core member at once (a restarted
// cluster needs a majority of its primaries; one at a time, the first would wait alone),
// then, once Neo4j has formed, the replicas, and last the alarm actions and backup
// schedules. All through the stacks' parameters; the record then says the cluster runs.
type Start struct {
	Imperative
	Yes  bool
	Wait bool // for Neo4j: formed before the replicas, the replicas before the alarms
	EC2  VolumeReader
	// Timeout bounds each wait for Neo4j (default DefaultStartTimeout); Poll paces it.
	Timeout, Poll time.Duration
}

// DefaultStartTimeout bounds each of start's waits for Neo4j.
const DefaultStartTimeout = 20 * time.Minute

// NewStart is start on the handle's clients.
func NewStart(c *Cluster, yes, wait bool, rel Release) *Start {
	return &Start{Imperative: newImperative(c, "start cluster "+c.Name, rel), Yes: yes, Wait: wait, EC2: c.AWS.EC2}
}

// StartPlan is what start brings back.
type StartPlan struct {
	Cluster  string        `json:"cluster"`
	Running  bool          `json:"alreadyRunning"`
	Since    *time.Time    `json:"stoppedSince,omitempty"`
	Cores    int           `json:"cores"`
	Replicas int           `json:"replicas"`
	Members  []MemberState `json:"members"`
	Wait     bool          `json:"waitForNeo4j"`
}

// Text is the plan for people.
func (p *StartPlan) Text() string {
	if p.Running {
		return fmt.Sprintf("Cluster %s runs: nothing to start.\n", p.Cluster)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Start cluster %s", p.Cluster)
	if p.Since != nil {
		fmt.Fprintf(&b, " (stopped since %s)", p.Since.UTC().Format(time.RFC3339))
	}
	var vols []string
	for _, m := range p.Members {
		vols = append(vols, fmt.Sprintf("%s %s", m.Name, m.Volume))
	}
	fmt.Fprintf(&b, ":\n  1. instances: one per core member (volumes %s)", strings.Join(vols, ", "))
	if p.Replicas > 0 {
		fmt.Fprintf(&b, ", %d for the replicas", p.Replicas)
	}
	fmt.Fprintf(&b, "\n  2. all %d core members at once", p.Cores)
	if p.Wait {
		fmt.Fprintf(&b, ", then wait until Neo4j has formed the cluster")
	}
	fmt.Fprintf(&b, "\n  3. %d replicas", p.Replicas)
	if p.Wait && p.Replicas > 0 {
		fmt.Fprintf(&b, ", then wait until Neo4j shows them hosting their databases")
	}
	fmt.Fprintf(&b, "\n  4. alarm actions on, backup schedules resumed\n")
	return b.String()
}

// Plan reads the record and the stacks and checks every member's volume; it changes nothing.
func (s *Start) Plan(ctx context.Context) (*StartPlan, error) {
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	if s.Wait && s.Admin == nil {
		return nil, fmt.Errorf("start waits for Neo4j through the admin channel, and this command has none; pass --wait=false to start without waiting")
	}
	cfg := s.record.Config
	p := &StartPlan{Cluster: s.Name, Cores: cfg.Cores.Count, Replicas: cfg.ReplicaCount(), Wait: s.Wait}
	if s.record.Stopped != nil {
		p.Since = &s.record.Stopped.At
	}
	full := s.record.Stopped == nil && s.liveParam(naming.KindOperations, 0, stack.ParamAlarmActions) != "false"
	for _, m := range s.members() {
		st := memberState(m.Tags[naming.TagMember], m.Parameters, m.Outputs)
		full = full && st.Tasks == 1 && st.Instances == 1
		p.Members = append(p.Members, st)
	}
	if r := s.stack(naming.KindReplicas, 0); r != nil {
		st := memberState("replicas", r.Parameters, r.Outputs)
		full = full && st.Tasks == p.Replicas && st.Instances == p.Replicas
	}
	p.Running = full
	if full {
		return p, nil
	}
	return p, s.checkVolumes(ctx, p.Members)
}

// checkVolumes: each member's volume must exist (a reset-data that did not finish leaves a
// member without one) before instances come up to attach them.
func (s *Start) checkVolumes(ctx context.Context, members []MemberState) error {
	var ids []string
	for _, m := range members {
		ids = append(ids, m.Volume)
	}
	out, err := s.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{{Name: aws.String("volume-id"), Values: ids}}})
	if err != nil {
		return fmt.Errorf("reading the data volumes of %s: %w", s.Name, awsapi.Clean(err))
	}
	found := map[string]bool{}
	for _, v := range out.Volumes {
		found[aws.ToString(v.VolumeId)] = true
	}
	var missing []string
	for _, m := range members {
		if !found[m.Volume] {
			missing = append(missing, fmt.Sprintf("%s's volume %s does not exist", m.Name, m.Volume))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("start refused: %s (a reset-data that did not finish?); nothing was changed. Finish it with `neo4jctl reset-data cluster %s`",
			strings.Join(missing, "; "), s.Name)
	}
	return nil
}

// Ask confirms (unless Yes).
func (s *Start) Ask(ctx context.Context, p *StartPlan) error {
	ok, err := s.confirm(ctx, fmt.Sprintf("Start cluster %s? [y/N] ", s.Name), "start cluster "+s.Name, "--yes", s.Yes)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("nothing changed")
	}
	return nil
}

// Execute runs the steps, waiting for Neo4j between them with Wait, and records the cluster
// as running.
func (s *Start) Execute(ctx context.Context, p *StartPlan) error {
	r := p.Replicas
	instances := stack.Run{Muted: true, Cores: &stack.Capacity{Tasks: 0, Instances: 1}, Replicas: &stack.Capacity{Tasks: 0, Instances: r}}
	cores := instances
	cores.Cores = &stack.Capacity{Tasks: 1, Instances: 1}
	replicas := stack.Run{Muted: true}
	if err := s.step(ctx, "Bringing the instances back", instances, true, naming.KindCore, naming.KindReplicas); err != nil {
		return err
	}
	if err := s.step(ctx, "Starting every core member at once", cores, true, naming.KindCore); err != nil {
		return err
	}
	if err := s.waitFormed(ctx, p); err != nil {
		return err
	}
	if err := s.step(ctx, fmt.Sprintf("Starting %d replicas", r), replicas, false, naming.KindReplicas); err != nil {
		return err
	}
	if s.Wait && r > 0 {
		if err := waitSecondaries(ctx, s.Cluster, p.Cores, r, s.Timeout, s.Poll); err != nil {
			return err
		}
	}
	if err := s.step(ctx, "Turning the alarm actions on and resuming the backup schedules", stack.Run{}, false, naming.KindOperations); err != nil {
		return err
	}
	s.record.Stopped = nil
	return s.save(ctx)
}
