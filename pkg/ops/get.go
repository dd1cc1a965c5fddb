package ops

import (
	"cmp"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// Cluster is what `get cluster` shows.
type Cluster struct {
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

// Clusters lists the names of the neo4jctl clusters in the region (by tag).
func (o *Ops) Clusters(ctx context.Context) ([]string, error) {
	stacks, err := o.Engine.List(ctx, map[string]string{naming.TagManagedBy: "neo4jctl"})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range stacks {
		if n := s.Tags[naming.TagCluster]; n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// NotFoundError is a cluster with no stacks.
type NotFoundError struct{ Name, Region string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no cluster %s in %s (no stacks tagged %s=%s); list clusters with `neo4jctl get cluster`", e.Name, e.Region, naming.TagCluster, e.Name)
}

// clusterStacks are a cluster's stacks found by tag, in creation order.
func (o *Ops) clusterStacks(ctx context.Context, name string) ([]*engine.StackInfo, error) {
	stacks, err := o.Engine.List(ctx, map[string]string{naming.TagCluster: name, naming.TagManagedBy: "neo4jctl"})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(stacks, func(i, j int) bool { return stackRank(stacks[i]) < stackRank(stacks[j]) })
	return stacks, nil
}

func stackRank(s *engine.StackInfo) string {
	order := map[string]string{naming.KindVPC: "0", naming.KindShared: "1", naming.KindCore: "2", naming.KindReplicas: "3", naming.KindOperations: "4"}
	r := order[s.Tags[naming.TagStackKind]]
	if r == "" {
		r = "5"
	}
	member := s.Tags[naming.TagMember]
	return fmt.Sprintf("%s%08s", r, strings.TrimPrefix(member, "core-"))
}

// Get describes one cluster.
func (o *Ops) Get(ctx context.Context, name string) (*Cluster, error) {
	stacks, err := o.clusterStacks(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(stacks) == 0 {
		return nil, &NotFoundError{Name: name, Region: o.AWS.Region}
	}
	c := &Cluster{Name: name, Region: o.AWS.Region, Members: []Member{}}
	ecsCluster := naming.ECSCluster(name)
	statuses := []string{}
	for _, s := range stacks {
		kind := s.Tags[naming.TagStackKind]
		updated := s.Updated
		if updated.IsZero() {
			updated = s.Created
		}
		c.Stacks = append(c.Stacks, StackStatus{Name: s.Name, Kind: kind, Status: s.Status, Reason: s.Reason, Updated: updated.UTC()})
		statuses = append(statuses, s.Status)
		if x := explainStack(s.Name, s.Status, name, ""); x != "" && !engine.InProgress(s.Status) {
			c.Problems = append(c.Problems, x)
		}
		switch kind {
		case naming.KindShared:
			c.Namespace = s.Outputs[stack.OutputNamespaceName]
			c.Bucket = s.Outputs[stack.OutputBucketName]
			if v := s.Outputs[stack.OutputECSCluster]; v != "" {
				ecsCluster = v
			}
		case naming.KindOperations:
			c.Endpoint = s.Outputs[stack.OutputEndpoint]
		}
	}
	if c.Endpoint == "" && c.Namespace != "" {
		// stacks made before the operations stack had an Endpoint output
		c.Endpoint = naming.BoltURI(cluster.DefaultCoresSubdomain + "." + c.Namespace)
	}
	c.Status = summarize(statuses)
	for _, s := range stacks {
		switch s.Tags[naming.TagStackKind] {
		case naming.KindCore:
			m := Member{Name: s.Tags[naming.TagMember], AZ: s.Parameters["AvailabilityZone"], Volume: s.Outputs[stack.OutputVolumeID], Service: s.Outputs[stack.OutputService]}
			if c.Namespace != "" {
				m.DNSName = m.Name + "." + c.Namespace
			}
			if m.Service == "" {
				m.Service = naming.CoreService(memberIndex(m.Name))
			}
			if asg := s.Outputs[stack.OutputAutoScalingGroup]; asg != "" {
				m.Instance, m.InstanceState, m.AZ = o.instanceOf(ctx, asg, m.AZ)
			}
			svc := o.service(ctx, ecsCluster, m.Service)
			if svc != nil {
				m.Desired, m.Running, m.Pending = svc.DesiredCount, svc.RunningCount, svc.PendingCount
			}
			tasks := o.tasks(ctx, ecsCluster, m.Service)
			m.Task = "none"
			if len(tasks) > 0 {
				m.Task = tasks[0]
			}
			c.Members = append(c.Members, m)
		case naming.KindReplicas:
			r := &Replicas{Service: s.Outputs[stack.OutputService]}
			if r.Service == "" {
				r.Service = naming.ReplicasService
			}
			if svc := o.service(ctx, ecsCluster, r.Service); svc != nil {
				r.Desired, r.Running, r.Pending = svc.DesiredCount, svc.RunningCount, svc.PendingCount
			}
			r.Tasks = o.tasks(ctx, ecsCluster, r.Service)
			c.Replicas = r
		}
	}
	c.Status = withTasks(c.Status, c.Members)
	for _, m := range c.Members {
		if m.Desired > 0 && m.Running < m.Desired {
			c.Problems = append(c.Problems, fmt.Sprintf("%s: %d of %d tasks running (task: %s)", m.Name, m.Running, m.Desired, m.Task))
		}
	}
	if r := c.Replicas; r != nil && r.Running < r.Desired {
		c.Problems = append(c.Problems, fmt.Sprintf("replicas: %d of %d tasks running", r.Running, r.Desired))
	}
	return c, nil
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

func memberIndex(name string) int {
	var n int
	fmt.Sscanf(strings.TrimPrefix(name, "core-"), "%d", &n)
	return n
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

// instanceOf names the instance of a member's Auto Scaling group (best effort).
func (o *Ops) instanceOf(ctx context.Context, asg, az string) (id, state, zone string) {
	out, err := o.AWS.ASG.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{asg}})
	if err != nil || len(out.AutoScalingGroups) == 0 {
		return "", "", az
	}
	g := out.AutoScalingGroups[0]
	if az == "" && len(g.AvailabilityZones) > 0 {
		az = g.AvailabilityZones[0]
	}
	for _, i := range g.Instances {
		return aws.ToString(i.InstanceId), string(i.LifecycleState), cmp.Or(aws.ToString(i.AvailabilityZone), az)
	}
	return "", "none", az
}

func (o *Ops) service(ctx context.Context, cluster, name string) *ecstypes.Service {
	out, err := o.AWS.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	if err != nil {
		return nil
	}
	for _, s := range out.Services {
		if aws.ToString(s.Status) != "INACTIVE" {
			return &s
		}
	}
	return nil
}

// tasks describes a service's tasks: RUNNING, PENDING, or STOPPED with the reason.
func (o *Ops) tasks(ctx context.Context, cluster, service string) []string {
	var out []string
	for _, desired := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		lt, err := o.AWS.ECS.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service), DesiredStatus: desired})
		if err != nil || len(lt.TaskArns) == 0 {
			continue
		}
		arns := lt.TaskArns
		if len(arns) > 100 {
			arns = arns[:100]
		}
		dt, err := o.AWS.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns})
		if err != nil {
			continue
		}
		for _, t := range dt.Tasks {
			out = append(out, describeTask(t))
		}
		if desired == ecstypes.DesiredStatusRunning && len(out) > 0 {
			break // stopped tasks matter only when nothing runs
		}
	}
	return out
}

func describeTask(t ecstypes.Task) string {
	id := aws.ToString(t.TaskArn)
	if i := strings.LastIndex(id, "/"); i >= 0 {
		id = id[i+1:]
	}
	s := aws.ToString(t.LastStatus)
	if h := string(t.HealthStatus); h != "" && h != "UNKNOWN" {
		s += " " + strings.ToLower(h)
	}
	if s == "STOPPED" || aws.ToString(t.DesiredStatus) == "STOPPED" {
		var why []string
		if r := aws.ToString(t.StoppedReason); r != "" {
			why = append(why, r)
		}
		for _, c := range t.Containers {
			if c.ExitCode != nil && *c.ExitCode != 0 {
				why = append(why, fmt.Sprintf("%s exited %d", aws.ToString(c.Name), *c.ExitCode))
			}
			if r := aws.ToString(c.Reason); r != "" {
				why = append(why, aws.ToString(c.Name)+": "+r)
			}
		}
		if len(why) > 0 {
			s += " (" + strings.Join(why, "; ") + ")"
		}
	}
	return id + " " + s
}

// stoppedTasks lists the cluster's recently stopped tasks and why, for a failure report.
func (o *Ops) stoppedTasks(ctx context.Context, name string) []string {
	cluster := naming.ECSCluster(name)
	lt, err := o.AWS.ECS.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: ecstypes.DesiredStatusStopped})
	if err != nil || len(lt.TaskArns) == 0 {
		return nil
	}
	arns := lt.TaskArns
	if len(arns) > 10 {
		arns = arns[:10]
	}
	dt, err := o.AWS.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns})
	if err != nil {
		return nil
	}
	var out []string
	for _, t := range dt.Tasks {
		out = append(out, aws.ToString(t.Group)+": "+describeTask(t))
	}
	return out
}
