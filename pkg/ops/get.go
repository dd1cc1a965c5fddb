package ops

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// ClusterView is what `get cluster` shows: AWS's view of one cluster and Neo4j's, merged
// into one verdict.
type ClusterView struct {
	Name   string `json:"name"`
	Region string `json:"region"`
	// Status is the verdict: ready | forming | degraded | no-quorum | stopped | incomplete |
	// unknown (AWS looks fine, Neo4j's view is missing) | creating | updating | deleting |
	// failed (the stacks). StatusDetail says what makes it so.
	Status       string        `json:"status"`
	StatusDetail []string      `json:"statusDetail,omitempty"`
	Endpoint     string        `json:"endpoint,omitempty"`
	Namespace    string        `json:"namespace,omitempty"`
	Bucket       string        `json:"bucket,omitempty"`
	Stacks       []StackStatus `json:"stacks"`
	Members      []Member      `json:"members"`
	Replicas     *Replicas     `json:"replicas,omitempty"`
	// Neo4j is Neo4j's own view (nil when it could not be had); Neo4jUnavailable says why
	// not, in one line.
	Neo4j            *Neo4jView `json:"neo4j,omitempty"`
	Neo4jUnavailable string     `json:"neo4jUnavailable,omitempty"`
	Problems         []string   `json:"problems,omitempty"`

	ecsCluster string   // the ECS cluster the services run in
	missing    []string // stacks the cluster should have and has not (made)
	expected   int
	// what the view was made from, for diagnose to look further without asking again
	stacks []*engine.StackInfo
	facts  awsFacts
	answer neo4jAnswer
}

// StackStatus is one stack of a cluster.
type StackStatus struct {
	Name    string    `json:"name"`
	Kind    string    `json:"kind"`
	Status  string    `json:"status"`
	Reason  string    `json:"reason,omitempty"`
	Updated time.Time `json:"updated"`
}

// Member is one core member: AWS's view, and Neo4j's of its server.
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
	// Server is the member's Neo4j server (nil: Neo4j's view is missing, or the member has
	// not joined).
	Server *ServerState `json:"server,omitempty"`
}

// Replicas is the replica service and, from Neo4j, the replicas' servers.
type Replicas struct {
	Service string            `json:"service,omitempty"`
	Desired int32             `json:"desired"`
	Running int32             `json:"running"`
	Pending int32             `json:"pending"`
	Tasks   []string          `json:"tasks,omitempty"`
	Servers []ServerState     `json:"servers,omitempty"`
	ips     map[string]string // task address → task id
}

// GetECS is what get reads of ECS: services and their tasks.
type GetECS interface {
	ServiceReader
	TaskReader
}

// Get shows one cluster: its stacks, endpoint, members (AZ, instance, volume, task, and
// Neo4j's server state), replicas, databases, and one verdict. Its AWS calls do not grow
// with the cluster (see awsFacts); Neo4j's view is one admin request through Cluster.Admin,
// made at the same time.
type Get struct {
	*Cluster
	ECS         GetECS
	AutoScaling GroupReader
}

// NewGet is get on the handle's clients.
func NewGet(c *Cluster) *Get {
	return &Get{Cluster: c, ECS: c.AWS.ECS, AutoScaling: c.AWS.AutoScaling}
}

// Execute describes the cluster; NotFoundError when it has no stacks. Neo4j's view is
// missing (with the reason) when it cannot be had; that is no error.
func (g *Get) Execute(ctx context.Context) (*ClusterView, error) {
	stacks, err := g.FindStacks(ctx)
	if err != nil {
		return nil, err
	}
	if len(stacks) == 0 {
		return nil, &NotFoundError{Name: g.Name, Region: g.Region}
	}
	return g.view(ctx, g.Name, stacks, g.Admin), nil
}

// GetAll shows every neo4jctl cluster of the region: one listing of the stacks for all of
// them, then the same constant number of calls per cluster as Get, clusters side by side.
type GetAll struct {
	Get
	// AdminOf is the admin channel of each cluster (nil: Neo4j's views are left out).
	AdminOf func(cluster string) AdminChannel
}

// NewGetAll is get of every cluster on the handle's clients (the handle's Name is unused).
func NewGetAll(c *Cluster) *GetAll { return &GetAll{Get: *NewGet(c)} }

// getAllParallel bounds the clusters described at once.
const getAllParallel = 4

// Execute describes each cluster found by tag, in name order.
func (g *GetAll) Execute(ctx context.Context) ([]*ClusterView, error) {
	stacks, err := g.Stacks.List(ctx, map[string]string{naming.TagManagedBy: "neo4jctl"})
	if err != nil {
		return nil, err
	}
	byName := map[string][]*engine.StackInfo{}
	for _, s := range stacks {
		if n := s.Tags[naming.TagCluster]; n != "" {
			byName[n] = append(byName[n], s)
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	views := make([]*ClusterView, len(names))
	sem := make(chan struct{}, getAllParallel)
	var wg sync.WaitGroup
	for i, n := range names {
		var admin AdminChannel
		if g.AdminOf != nil {
			admin = g.AdminOf(n)
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			views[i] = g.view(ctx, n, sortStacks(byName[n]), admin)
		})
	}
	wg.Wait()
	return views, nil
}

// view describes one cluster from its stacks: ECS, Auto Scaling and Neo4j at the same time,
// then the verdict.
func (g *Get) view(ctx context.Context, name string, stacks []*engine.StackInfo, admin AdminChannel) *ClusterView {
	v := stackView(name, g.Region, stacks)
	var services, groups []string
	for _, s := range stacks {
		switch s.Tags[naming.TagStackKind] {
		case naming.KindCore:
			services = append(services, cmp.Or(s.Outputs[stack.OutputService], s.Tags[naming.TagMember]))
			if asg := s.Outputs[stack.OutputAutoScalingGroup]; asg != "" {
				groups = append(groups, asg)
			}
		case naming.KindReplicas:
			services = append(services, cmp.Or(s.Outputs[stack.OutputService], naming.ReplicasService))
		}
	}
	var facts awsFacts
	var neo neo4jAnswer
	var wg sync.WaitGroup
	wg.Go(func() { facts = readAWS(ctx, g.ECS, g.AutoScaling, v.ecsCluster, services, groups) })
	if admin != nil {
		wg.Go(func() { neo = askNeo4j(ctx, admin) })
	} else {
		neo.err = errNoChannel
	}
	wg.Wait()
	for _, s := range stacks {
		switch s.Tags[naming.TagStackKind] {
		case naming.KindCore:
			v.Members = append(v.Members, member(v, s, facts))
		case naming.KindReplicas:
			v.Replicas = replicas(s, facts)
		}
	}
	v.Problems = append(v.Problems, taskProblems(v)...)
	v.joinNeo4j(neo)
	v.decide(neo)
	v.stacks, v.facts, v.answer = stacks, facts, neo
	return v
}

// stackView is what the stacks alone say: their statuses, the shared stack's namespace and
// bucket, the endpoint, the stacks missing, and the way out of any stuck stack.
func stackView(name, region string, stacks []*engine.StackInfo) *ClusterView {
	v := &ClusterView{Name: name, Region: region, Members: []Member{}, ecsCluster: naming.ECSCluster(name)}
	created := slices.ContainsFunc(stacks, func(s *engine.StackInfo) bool {
		return s.Tags[naming.TagStackKind] == naming.KindOperations && !emptyStack(s.Status)
	})
	for _, s := range stacks {
		kind := s.Tags[naming.TagStackKind]
		updated := s.Updated
		if updated.IsZero() {
			updated = s.Created
		}
		v.Stacks = append(v.Stacks, StackStatus{Name: s.Name, Kind: kind, Status: s.Status, Reason: s.Reason, Updated: updated.UTC()})
		x := explainStack(s.Name, s.Status, name, "")
		if created && emptyStack(s.Status) {
			x = explainAddedStack(s.Name, s.Status, "")
		}
		if x != "" && !engine.InProgress(s.Status) {
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
	v.missing, v.expected = missingStacks(name, stacks)
	return v
}

// missingStacks names the stacks a cluster should have and has not made, and how many it
// should have. A cluster always has its shared and operations stacks, the core members
// 1..N up to the highest one found, and a VPC and replicas stack where one was found (a
// stack records nothing more of the config). A stack REVIEW_IN_PROGRESS holds nothing yet:
// its change set was never executed.
func missingStacks(name string, stacks []*engine.StackInfo) (missing []string, expected int) {
	exists, made := map[string]bool{}, map[string]bool{}
	cores := 0
	for _, s := range stacks {
		exists[s.Name], made[s.Name] = true, s.Status != engine.StatusReviewInProgress
		if s.Tags[naming.TagStackKind] == naming.KindCore {
			cores = max(cores, memberIndex(s.Tags[naming.TagMember]))
		}
	}
	want := []string{naming.StackName(name, naming.KindShared, 0)}
	for i := 1; i <= max(cores, 1); i++ {
		want = append(want, naming.StackName(name, naming.KindCore, i))
	}
	want = append(want, naming.StackName(name, naming.KindOperations, 0))
	for _, kind := range []string{naming.KindVPC, naming.KindReplicas} {
		if n := naming.StackName(name, kind, 0); exists[n] {
			want = append(want, n)
		}
	}
	for _, n := range want {
		if !made[n] {
			missing = append(missing, n)
		}
	}
	return missing, len(want)
}

// member is a core member from its stack, its Auto Scaling group and its ECS service.
func member(v *ClusterView, s *engine.StackInfo, f awsFacts) Member {
	m := Member{Name: s.Tags[naming.TagMember], AZ: s.Parameters["AvailabilityZone"], Volume: s.Outputs[stack.OutputVolumeID], Service: s.Outputs[stack.OutputService]}
	if v.Namespace != "" {
		m.DNSName = m.Name + "." + v.Namespace
	}
	m.Service = cmp.Or(m.Service, naming.CoreService(memberIndex(m.Name)))
	if grp, ok := f.groups[s.Outputs[stack.OutputAutoScalingGroup]]; ok {
		m.AZ = cmp.Or(m.AZ, first(grp.AvailabilityZones))
		m.InstanceState = "none"
		for _, i := range grp.Instances {
			m.Instance, m.InstanceState, m.AZ = aws.ToString(i.InstanceId), string(i.LifecycleState), cmp.Or(aws.ToString(i.AvailabilityZone), m.AZ)
			break
		}
	}
	if svc, ok := f.services[m.Service]; ok {
		m.Desired, m.Running, m.Pending = svc.DesiredCount, svc.RunningCount, svc.PendingCount
	}
	m.Task = "none"
	if tasks := f.tasks[m.Service]; len(tasks) > 0 {
		m.Task = describeTask(tasks[0])
	}
	return m
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// replicas is the replica service from its stack and ECS.
func replicas(s *engine.StackInfo, f awsFacts) *Replicas {
	r := &Replicas{Service: cmp.Or(s.Outputs[stack.OutputService], naming.ReplicasService), ips: map[string]string{}}
	if svc, ok := f.services[r.Service]; ok {
		r.Desired, r.Running, r.Pending = svc.DesiredCount, svc.RunningCount, svc.PendingCount
	}
	for _, t := range f.tasks[r.Service] {
		r.Tasks = append(r.Tasks, describeTask(t))
		if ip := taskIP(t); ip != "" {
			r.ips[ip] = taskID(t)
		}
	}
	return r
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
