package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

func TestSummarize(t *testing.T) {
	cases := map[string][]string{
		"ready":    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"},
		"creating": {"CREATE_COMPLETE", "CREATE_IN_PROGRESS"},
		"updating": {"UPDATE_IN_PROGRESS", "CREATE_COMPLETE"},
		// a stack whose change set was never executed holds nothing: missingStacks counts it
		"ready ":   {"CREATE_COMPLETE", "REVIEW_IN_PROGRESS"},
		"failed":   {"CREATE_IN_PROGRESS", "ROLLBACK_COMPLETE"},
		"deleting": {"DELETE_IN_PROGRESS", "ROLLBACK_COMPLETE"},
	}
	for want, in := range cases {
		if got := summarize(in); got != strings.TrimSpace(want) {
			t.Errorf("summarize(%v) = %s, want %s", in, got, want)
		}
	}
}

// liveCluster puts the stacks of a three-core cluster with replicas in a fake engine.
func liveCluster(f *fakeEngine, name string) {
	f.put("neo4jctl-"+name+"-shared", name, naming.KindShared, "", engine.StatusCreateComplete, sharedOutputs("bucket-1"))
	for i := 1; i <= 3; i++ {
		m := fmt.Sprintf("core-%d", i)
		f.put("neo4jctl-"+name+"-"+m, name, naming.KindCore, m, engine.StatusCreateComplete, map[string]string{
			stack.OutputVolumeID: "vol-" + m, stack.OutputService: m, stack.OutputAutoScalingGroup: "asg-" + m})
	}
	f.put("neo4jctl-"+name+"-replicas", name, naming.KindReplicas, "", engine.StatusCreateComplete, map[string]string{stack.OutputService: "replicas"})
	f.put("neo4jctl-"+name+"-operations", name, naming.KindOperations, "", engine.StatusUpdateComplete, map[string]string{stack.OutputEndpoint: "neo4j://core.graph-dev.neo4j.internal:7687"})
}

func runningService(name string, desired, running int32) ecstypes.Service {
	return ecstypes.Service{ServiceName: aws.String(name), Status: aws.String("ACTIVE"), DesiredCount: desired, RunningCount: running}
}

func task(id, service, status string) ecstypes.Task {
	return ecstypes.Task{TaskArn: aws.String("arn:aws:ecs:eu-west-1:1:task/c/" + id), Group: aws.String("service:" + service), LastStatus: aws.String(status), DesiredStatus: aws.String(status)}
}

func TestGetJoinsStacksServicesAndInstances(t *testing.T) {
	f := newFakeEngine()
	liveCluster(f, "graph-dev")
	liveCluster(f, "other") // another cluster's stacks are not this one's
	ecsAPI := &fakeECS{
		services: map[string]ecstypes.Service{"core-1": runningService("core-1", 1, 1), "core-2": runningService("core-2", 1, 0), "core-3": runningService("core-3", 1, 1), "replicas": runningService("replicas", 2, 1)},
		tasks: map[string][]ecstypes.Task{"core-1": {task("t1", "core-1", "RUNNING")}, "core-2": {{TaskArn: aws.String("arn:aws:ecs:eu-west-1:1:task/c/t2"), Group: aws.String("service:core-2"), LastStatus: aws.String("STOPPED"),
			DesiredStatus: aws.String("STOPPED"), StoppedReason: aws.String("Task failed container health checks")}}, "replicas": {task("r1", "replicas", "RUNNING")}},
	}
	g := &Get{Cluster: &Cluster{Name: "graph-dev", Region: "eu-west-1", Stacks: f}, ECS: ecsAPI,
		AutoScaling: &fakeASG{instances: map[string][2]string{"asg-core-1": {"i-1", "eu-west-1a"}, "asg-core-2": {"i-2", "eu-west-1b"}}}}
	v, err := g.Execute(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "degraded" || v.Bucket != "bucket-1" || v.Endpoint != "neo4j://core.graph-dev.neo4j.internal:7687" || len(v.Stacks) != 6 {
		t.Fatalf("view: %+v", v)
	}
	var kinds []string
	for _, s := range v.Stacks {
		kinds = append(kinds, s.Kind)
	}
	if got := strings.Join(kinds, " "); got != "shared core core core replicas operations" {
		t.Errorf("stacks in creation order: %s", got)
	}
	m1, m2 := v.Members[0], v.Members[1]
	if m1.Name != "core-1" || m1.DNSName != "core-1.graph-dev.neo4j.internal" || m1.Instance != "i-1" || m1.AZ != "eu-west-1a" || m1.Volume != "vol-core-1" || m1.Task != "t1 RUNNING" || m1.Running != 1 {
		t.Errorf("core-1: %+v", m1)
	}
	if m2.Task != "t2 STOPPED (Task failed container health checks)" || m2.Running != 0 {
		t.Errorf("core-2: %+v", m2)
	}
	if v.Members[2].Instance != "" || v.Members[2].Task != "none" {
		t.Errorf("core-3 without instance or task: %+v", v.Members[2])
	}
	want := []string{"core-2: 0 of 1 tasks running (task: t2 STOPPED (Task failed container health checks))", "replicas: 1 of 2 tasks running"}
	if !slices.Equal(v.Problems, want) {
		t.Errorf("problems:\n%q\nwant\n%q", v.Problems, want)
	}
}

func TestGetExplainsStuckStacksAndNamesAnUnknownCluster(t *testing.T) {
	f := newFakeEngine()
	liveCluster(f, "graph-dev")
	f.stacks["neo4jctl-graph-dev-core-3"].Status = engine.StatusUpdateRollbackFailed
	delete(f.stacks["neo4jctl-graph-dev-operations"].Outputs, stack.OutputEndpoint) // stacks from before the Endpoint output
	g := &Get{Cluster: &Cluster{Name: "graph-dev", Region: "eu-west-1", Stacks: f}, ECS: &fakeECS{}, AutoScaling: &fakeASG{}}
	v, err := g.Execute(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "failed" || len(v.Problems) == 0 || !strings.Contains(v.Problems[0], "aws cloudformation continue-update-rollback --stack-name neo4jctl-graph-dev-core-3") {
		t.Fatalf("status %s, problems %q", v.Status, v.Problems)
	}
	if v.Endpoint != "neo4j://core.graph-dev.neo4j.internal:7687" {
		t.Errorf("endpoint from the namespace: %s", v.Endpoint)
	}
	g.Name = "nope"
	var nf *NotFoundError
	if _, err := g.Execute(context.Background()); !errors.As(err, &nf) || !strings.Contains(err.Error(), "list clusters with `neo4jctl get cluster`") {
		t.Fatalf("unknown cluster: %v", err)
	}
}

func TestGetAllListsEveryClusterByName(t *testing.T) {
	f := newFakeEngine()
	liveCluster(f, "b-cluster")
	liveCluster(f, "a-cluster")
	f.put("not-ours", "", naming.KindShared, "", engine.StatusCreateComplete, nil)
	delete(f.stacks["not-ours"].Tags, naming.TagManagedBy)
	g := NewGetAll(&Cluster{Region: "eu-west-1", Stacks: f, AWS: &Clients{}})
	g.ECS, g.AutoScaling = &fakeECS{}, &fakeASG{}
	views, err := g.Execute(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(views) != 2 || views[0].Name != "a-cluster" || views[1].Name != "b-cluster" || len(views[1].Members) != 3 {
		t.Fatalf("views: %+v", views)
	}
	empty, err := NewGetAll(&Cluster{Region: "eu-west-1", Stacks: newFakeEngine(), AWS: &Clients{}}).Execute(context.Background())
	if err != nil || empty == nil || len(empty) != 0 {
		t.Fatalf("no clusters: %v %v (JSON must be [], not null)", empty, err)
	}
}
