package ops

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// ClusterView is what `get cluster` shows: AWS's view of one cluster.
type ClusterView struct {
	Name      string        `json:"name"`
	Region    string        `json:"region"`
	Status    string        `json:"status"` // ready | degraded | stopped | creating | updating | deleting | failed | incomplete
	Endpoint  string        `json:"endpoint,omitempty"`
	Namespace string        `json:"namespace,omitempty"`
	Bucket    string        `json:"bucket,omitempty"`
	Stacks    []StackStatus `json:"stacks"`
	Members   []Member      `json:"members"`
	Replicas  *Replicas     `json:"replicas,omitempty"`
	Problems  []string      `json:"problems,omitempty"`

	ecsCluster string // the ECS cluster the services run in
}

// StackStatus is one stack of a cluster.
type StackStatus struct {
	Name    string    `json:"name"`
	Kind    string    `json:"kind"`
	Status  string    `json:"status"`
	Reason  string    `json:"reason,omitempty"`
	Updated time.Time `json:"updated"`
}

// Member is one core member.
type Member struct {
	Name          string `json:"name"`
	DNSName       string `json:"dnsName"`
	AZ            string `json:"availabilityZone,omitempty"`
	Instance      string `json:"instance,omitempty"`
	InstanceState string `json:"instanceState,omitempty"`
	Volume        string `json:"volume,omitempty"`
	Service       string `json:"service,omitempty"`
	Desired       int32  `json:"desired"`
	Running       int32  `json:"running"`
	Pending       int32  `json:"pending"`
	Task          string `json:"task,omitempty"` // state of its task: RUNNING, PENDING, STOPPED (reason) or none
}

// Replicas is the replica service.
type Replicas struct {
	Service string   `json:"service,omitempty"`
	Desired int32    `json:"desired"`
	Running int32    `json:"running"`
	Pending int32    `json:"pending"`
	Tasks   []string `json:"tasks,omitempty"`
}

// GroupReader reads Auto Scaling groups: a member's instance.
type GroupReader interface {
	DescribeAutoScalingGroups(context.Context, *autoscaling.DescribeAutoScalingGroupsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
}

// GetECS is what get reads of ECS: services and their tasks.
type GetECS interface {
	ServiceReader
	TaskReader
}

// Get shows one cluster as AWS sees it: its stacks, endpoint, members (AZ, instance,
// volume, task), replicas, a status word and the problems found. Neo4j's own view (servers,
// databases, leaders) joins through Cluster.Admin once the admin channel exists.
type Get struct {
	*Cluster
	ECS         GetECS
	AutoScaling GroupReader
}

// NewGet is get on the handle's clients.
func NewGet(c *Cluster) *Get {
	return &Get{Cluster: c, ECS: c.AWS.ECS, AutoScaling: c.AWS.AutoScaling}
}

// Execute describes the cluster; NotFoundError when it has no stacks.
func (g *Get) Execute(ctx context.Context) (*ClusterView, error) {
	stacks, err := g.FindStacks(ctx)
	if err != nil {
		return nil, err
	}
	if len(stacks) == 0 {
		return nil, &NotFoundError{Name: g.Name, Region: g.Region}
	}
	v := g.stackView(stacks)
	for _, s := range stacks {
		switch s.Tags[naming.TagStackKind] {
		case naming.KindCore:
			v.Members = append(v.Members, g.member(ctx, v, s))
		case naming.KindReplicas:
			v.Replicas = g.replicas(ctx, v, s)
		}
	}
	v.Status = withTasks(v.Status, v.Members)
	v.Problems = append(v.Problems, taskProblems(v)...)
	return v, nil
}

// GetAll shows every neo4jctl cluster of the region.
type GetAll struct{ Get }

// NewGetAll is get of every cluster on the handle's clients (the handle's Name is unused).
func NewGetAll(c *Cluster) *GetAll { return &GetAll{*NewGet(c)} }

// Execute describes each cluster found by tag, in name order.
func (g *GetAll) Execute(ctx context.Context) ([]*ClusterView, error) {
	names, err := g.ClusterNames(ctx)
	if err != nil {
		return nil, err
	}
	views := []*ClusterView{}
	for _, n := range names {
		h := *g.Cluster
		h.Name = n
		v, err := (&Get{Cluster: &h, ECS: g.ECS, AutoScaling: g.AutoScaling}).Execute(ctx)
		if err != nil {
			return nil, err
		}
		views = append(views, v)
	}
	return views, nil
}

// stackView is what the stacks alone say: their statuses, the shared stack's namespace and
// bucket, the endpoint, and the way out of any stuck stack.
func (g *Get) stackView(stacks []*engine.StackInfo) *ClusterView {
	v := &ClusterView{Name: g.Name, Region: g.Region, Members: []Member{}, ecsCluster: naming.ECSCluster(g.Name)}
	var statuses []string
	for _, s := range stacks {
		kind := s.Tags[naming.TagStackKind]
		updated := s.Updated
		if updated.IsZero() {
			updated = s.Created
		}
		v.Stacks = append(v.Stacks, StackStatus{Name: s.Name, Kind: kind, Status: s.Status, Reason: s.Reason, Updated: updated.UTC()})
		statuses = append(statuses, s.Status)
		if x := explainStack(s.Name, s.Status, g.Name, ""); x != "" && !engine.InProgress(s.Status) {
			v.Problems = append(v.Problems, x)
		}
		switch kind {
		case naming.KindShared:
			v.Namespace = s.Outputs[stack.OutputNamespaceName]
			v.Bucket = s.Outputs[stack.OutputBucketName]
			v.ecsCluster = cmp.Or(s.Outputs[stack.OutputECSCluster], v.ecsCluster)
		case naming.KindOperations:
			v.Endpoint = s.Outputs[stack.OutputEndpoint]
		}
	}
	if v.Endpoint == "" && v.Namespace != "" {
		// stacks made before the operations stack had an Endpoint output
		v.Endpoint = naming.BoltURI(cluster.DefaultCoresSubdomain + "." + v.Namespace)
	}
	v.Status = summarize(statuses)
	return v
}

// member is a core member from its stack, its Auto Scaling group and its ECS service.
func (g *Get) member(ctx context.Context, v *ClusterView, s *engine.StackInfo) Member {
	m := Member{Name: s.Tags[naming.TagMember], AZ: s.Parameters["AvailabilityZone"], Volume: s.Outputs[stack.OutputVolumeID], Service: s.Outputs[stack.OutputService]}
	if v.Namespace != "" {
		m.DNSName = m.Name + "." + v.Namespace
	}
	m.Service = cmp.Or(m.Service, naming.CoreService(memberIndex(m.Name)))
	if asg := s.Outputs[stack.OutputAutoScalingGroup]; asg != "" {
		m.Instance, m.InstanceState, m.AZ = g.instanceOf(ctx, asg, m.AZ)
	}
	if svc := service(ctx, g.ECS, v.ecsCluster, m.Service); svc != nil {
		m.Desired, m.Running, m.Pending = svc.DesiredCount, svc.RunningCount, svc.PendingCount
	}
	m.Task = "none"
	if tasks := serviceTasks(ctx, g.ECS, v.ecsCluster, m.Service); len(tasks) > 0 {
		m.Task = tasks[0]
	}
	return m
}

// replicas is the replica service from its stack and ECS.
func (g *Get) replicas(ctx context.Context, v *ClusterView, s *engine.StackInfo) *Replicas {
	r := &Replicas{Service: cmp.Or(s.Outputs[stack.OutputService], naming.ReplicasService)}
	if svc := service(ctx, g.ECS, v.ecsCluster, r.Service); svc != nil {
		r.Desired, r.Running, r.Pending = svc.DesiredCount, svc.RunningCount, svc.PendingCount
	}
	r.Tasks = serviceTasks(ctx, g.ECS, v.ecsCluster, r.Service)
	return r
}

// instanceOf names the instance of a member's Auto Scaling group (best effort).
func (g *Get) instanceOf(ctx context.Context, asg, az string) (id, state, zone string) {
	out, err := g.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{asg}})
	if err != nil || len(out.AutoScalingGroups) == 0 {
		return "", "", az
	}
	grp := out.AutoScalingGroups[0]
	if az == "" && len(grp.AvailabilityZones) > 0 {
		az = grp.AvailabilityZones[0]
	}
	for _, i := range grp.Instances {
		return aws.ToString(i.InstanceId), string(i.LifecycleState), cmp.Or(aws.ToString(i.AvailabilityZone), az)
	}
	return "", "none", az
}

// taskProblems names each member and the replicas short of running tasks.
func taskProblems(v *ClusterView) []string {
	var out []string
	for _, m := range v.Members {
		if m.Desired > 0 && m.Running < m.Desired {
			out = append(out, fmt.Sprintf("%s: %d of %d tasks running (task: %s)", m.Name, m.Running, m.Desired, m.Task))
		}
	}
	if r := v.Replicas; r != nil && r.Running < r.Desired {
		out = append(out, fmt.Sprintf("replicas: %d of %d tasks running", r.Running, r.Desired))
	}
	return out
}

// withTasks refines "ready" stacks by what runs on them: complete stacks with a member
// down are not a ready cluster, and members stopped on purpose are "stopped".
func withTasks(status string, members []Member) string {
	if status != "ready" || len(members) == 0 {
		return status
	}
	stopped, down := 0, 0
	for _, m := range members {
		switch {
		case m.Desired == 0:
			stopped++
		case m.Running < m.Desired:
			down++
		}
	}
	switch {
	case stopped == len(members):
		return "stopped"
	case stopped+down > 0:
		return "degraded"
	}
	return status
}

// summarize reduces stack statuses to one word.
func summarize(statuses []string) string {
	worst := "ready"
	for _, s := range statuses {
		switch {
		case strings.HasPrefix(s, "DELETE") && engine.InProgress(s):
			return "deleting"
		case strings.Contains(s, "FAILED") || s == engine.StatusRollbackComplete:
			worst = "failed"
		case worst == "failed":
		case strings.HasPrefix(s, "CREATE") && engine.InProgress(s):
			worst = "creating"
		case engine.InProgress(s) || s == engine.StatusReviewInProgress:
			worst = "updating"
		}
	}
	return worst
}
