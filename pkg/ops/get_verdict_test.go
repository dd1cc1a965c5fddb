package ops

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/neo4jctl/neo4jctl/internal/clustersim"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// simCluster is get against a simulated Neo4j cluster (internal/clustersim) behind the real
// admin Lambda handler, with fakes of the stacks and of ECS that say what the simulator runs.
type simCluster struct {
	t        *testing.T
	sim      *clustersim.Sim
	engine   *fakeEngine
	ecs      *fakeECS
	lambda   *fakeLambda
	cores    int
	replicas int
}

func newSimCluster(t *testing.T, cores, replicas int) *simCluster {
	t.Helper()
	sim := clustersim.New(clustersim.Config{Cores: cores, DefaultSecondaries: replicas, Namespace: "graph-dev.neo4j.internal"})
	x := &simCluster{t: t, sim: sim, engine: newFakeEngine(), ecs: &fakeECS{services: map[string]ecstypes.Service{}}, cores: cores, replicas: replicas}
	x.lambda = &fakeLambda{fn: func(ctx context.Context, p []byte) (*lambda.InvokeOutput, error) {
		out, err := sim.Invoke(ctx, p)
		return &lambda.InvokeOutput{StatusCode: 200, Payload: out}, err
	}}
	x.engine.put("neo4jctl-graph-dev-shared", "graph-dev", naming.KindShared, "", engine.StatusCreateComplete, sharedOutputs("bucket-1"))
	for i := 1; i <= cores; i++ {
		m := naming.CoreService(i)
		x.engine.put("neo4jctl-graph-dev-"+m, "graph-dev", naming.KindCore, m, engine.StatusCreateComplete,
			map[string]string{stack.OutputService: m, stack.OutputVolumeID: "vol-" + m})
	}
	if replicas > 0 {
		x.engine.put("neo4jctl-graph-dev-replicas", "graph-dev", naming.KindReplicas, "", engine.StatusCreateComplete, map[string]string{stack.OutputService: "replicas"})
	}
	x.engine.put("neo4jctl-graph-dev-operations", "graph-dev", naming.KindOperations, "", engine.StatusCreateComplete, nil)
	return x
}

// run makes ECS and the simulator agree: core-N runs running[N-1] tasks of desired 1 (-1:
// stopped on purpose), the replicas all of theirs.
func (x *simCluster) run(running ...int) {
	svcs := clustersim.Services{}
	for i, r := range running {
		name, desired := naming.CoreService(i+1), int32(1)
		if r < 0 {
			r, desired = 0, 0
		}
		x.ecs.services[name] = runningService(name, desired, int32(r))
		svcs[name] = clustersim.Service{Desired: int(desired), Running: r}
	}
	if x.replicas > 0 {
		x.ecs.services["replicas"] = runningService("replicas", int32(x.replicas), int32(x.replicas))
		svcs["replicas"] = clustersim.Service{Desired: x.replicas, Running: x.replicas}
	}
	x.sim.Apply(svcs)
}

func (x *simCluster) all(n int) []int { return slices.Repeat([]int{1}, n) }

func (x *simCluster) get() *ClusterView {
	x.t.Helper()
	g := &Get{Cluster: &Cluster{Name: "graph-dev", Region: "eu-west-1", Stacks: x.engine, Admin: NewLambdaChannel("graph-dev", "eu-west-1", x.lambda)},
		ECS: x.ecs, AutoScaling: &fakeASG{}}
	v, err := g.Execute(context.Background())
	if err != nil {
		x.t.Fatal(err)
	}
	return v
}

func (x *simCluster) formed() {
	x.t.Helper()
	x.run(x.all(x.cores)...)
	if !x.sim.AdvanceUntil(clustersim.View.Ready, 10*time.Minute) {
		x.t.Fatal("the simulated cluster did not form")
	}
}

func wantStatus(t *testing.T, v *ClusterView, status string, detail ...string) {
	t.Helper()
	if v.Status != status {
		t.Fatalf("status %q (%q), want %q; neo4j: %s", v.Status, v.StatusDetail, status, v.Neo4jUnavailable)
	}
	for _, d := range detail {
		if !slices.Contains(v.StatusDetail, d) {
			t.Errorf("status detail %q lacks %q", v.StatusDetail, d)
		}
	}
}

func TestGetShowsNeo4jsViewOfAReadyCluster(t *testing.T) {
	x := newSimCluster(t, 3, 2)
	x.formed()
	v := x.get()
	wantStatus(t, v, VerdictReady)
	if v.StatusLine() != "ready" || v.Neo4j == nil || v.Neo4j.Edition != "enterprise" || v.Neo4j.Version != "5.26.30" || v.Neo4j.Via != "admin function neo4jctl-graph-dev-operations" {
		t.Fatalf("neo4j view: %+v", v.Neo4j)
	}
	for _, m := range v.Members {
		if s := m.Server; s == nil || s.State != "Enabled" || s.Health != "Available" || s.Version != "5.26.30" || !slices.Contains(s.Hosting, "system") || s.Member != m.Name {
			t.Errorf("%s's server: %+v", m.Name, s)
		}
	}
	if len(v.Replicas.Servers) != 2 || v.Replicas.Servers[0].Mode != "SECONDARY" {
		t.Errorf("replica servers: %+v", v.Replicas.Servers)
	}
	var neo *DatabaseState
	for i, d := range v.Neo4j.Databases {
		if d.Name == "neo4j" {
			neo = &v.Neo4j.Databases[i]
		}
	}
	if neo == nil || neo.CurrentStatus != "online" || !strings.HasPrefix(neo.LeaderMember, "core-") || neo.PrimariesOnline != 3 || neo.SecondariesOnline != 2 {
		t.Fatalf("database neo4j: %+v", neo)
	}
	secondaries := 0
	for _, l := range neo.Lag {
		if l.Role == "secondary" {
			secondaries++
			if l.Member != "replica" || l.Behind != 0 {
				t.Errorf("lag of a secondary: %+v", l)
			}
		}
	}
	if secondaries != 2 || len(neo.Lag) != 4 {
		t.Errorf("lag of each copy but the leader's: %+v", neo.Lag)
	}
	if x.lambda.calls.Load() != 1 {
		t.Errorf("%d invocations for one get, want 1", x.lambda.calls.Load())
	}
}

func TestGetVerdicts(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(x *simCluster)
		status string
		detail []string
	}{
		{"forming: every member runs, Neo4j has not formed yet", func(x *simCluster) {
			x.run(x.all(3)...)
			x.sim.Advance(5 * time.Second)
		}, VerdictForming, []string{"every member runs; Neo4j does not answer yet"}},
		{"degraded: a member's task is down", func(x *simCluster) {
			x.formed()
			x.run(1, 1, 0)
			x.sim.Advance(30 * time.Second)
		}, VerdictDegraded, []string{"core-3: 0 of 1 tasks running", "neo4j: 2 of 3 primaries online"}},
		{"degraded: a member runs but Neo4j has it Unavailable", func(x *simCluster) {
			x.formed()
			x.sim.Fault("core-2", clustersim.NeverAvailable)
			x.sim.Advance(30 * time.Second)
		}, VerdictDegraded, []string{"core-2 is Unavailable", "neo4j on core-2 is unknown (Server is unavailable)"}},
		{"no-quorum: two of three cores down", func(x *simCluster) {
			x.formed()
			x.run(1, 0, 0)
			x.sim.Advance(30 * time.Second)
		}, VerdictNoQuorum, []string{"system: 1 primaries online, a majority is 2", "core-2: 0 of 1 tasks running"}},
		{"no-quorum: tasks run, Neo4j has lost two servers", func(x *simCluster) {
			x.formed()
			x.sim.Fault("core-1", clustersim.NeverAvailable)
			x.sim.Fault("core-3", clustersim.NeverAvailable)
			x.sim.Advance(30 * time.Second)
		}, VerdictNoQuorum, []string{"system: 1 primaries online, a majority is 2"}},
		{"stopped", func(x *simCluster) {
			x.formed()
			x.run(-1, -1, -1)
		}, VerdictStopped, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := newSimCluster(t, 3, 0)
			tc.setup(x)
			wantStatus(t, x.get(), tc.status, tc.detail...)
		})
	}
}

func TestGetCallsAClusterWithMissingStacksIncomplete(t *testing.T) {
	x := newSimCluster(t, 3, 2)
	x.formed()
	delete(x.engine.stacks, "neo4jctl-graph-dev-operations")
	x.engine.stacks["neo4jctl-graph-dev-replicas"].Status = engine.StatusReviewInProgress
	v := x.get()
	wantStatus(t, v, VerdictIncomplete, "4 of 6 stacks")
	if v.StatusLine() != "incomplete (4 of 6 stacks)" {
		t.Errorf("status line %q", v.StatusLine())
	}
	var got []string
	for _, p := range v.Problems {
		if strings.Contains(p, "operations") || strings.Contains(p, "replicas") {
			got = append(got, p)
		}
	}
	if len(got) != 2 || !strings.Contains(got[0], "neo4jctl-graph-dev-replicas was reserved by a change set that was never executed") ||
		!strings.Contains(got[1], "stack neo4jctl-graph-dev-operations is missing; `neo4jctl create cluster -f cluster.yaml`") {
		t.Errorf("problems: %q", v.Problems)
	}
}

// When Neo4j cannot be reached, get still shows what AWS knows, and why Neo4j's view is
// missing, on one line.
func TestGetWithoutNeo4jSaysWhy(t *testing.T) {
	x := newSimCluster(t, 3, 0)
	x.formed()
	x.lambda.fn = func(context.Context, []byte) (*lambda.InvokeOutput, error) {
		return nil, apiErr("ResourceNotFoundException", "Function not found: arn:aws:lambda:eu-west-1:1:function:neo4jctl-graph-dev-operations")
	}
	v := x.get()
	wantStatus(t, v, VerdictUnknown, "Neo4j's view is missing")
	if v.Neo4j != nil || !strings.HasPrefix(v.Neo4jUnavailable, "admin function neo4jctl-graph-dev-operations: not deployed") || len(v.Members) != 3 || v.Members[0].Running != 1 {
		t.Fatalf("view: %+v", v)
	}
}

// get's AWS calls do not grow with the cluster: the same for 3 cores and 7 cores with 20
// replicas (the moto benchmark in cmd/neo4jctl measures it on the real SDK).
func TestGetCallsDoNotGrowWithTheCluster(t *testing.T) {
	calls := func(cores, replicas int) [3]int32 {
		x := newSimCluster(t, cores, replicas)
		for i := 1; i <= cores; i++ {
			m := naming.CoreService(i)
			x.engine.stacks["neo4jctl-graph-dev-"+m].Outputs[stack.OutputAutoScalingGroup] = "asg-" + m
			x.ecs.tasks = map[string][]ecstypes.Task{}
		}
		x.run(x.all(cores)...)
		for i := range cores + replicas {
			svc := "replicas"
			if i < cores {
				svc = naming.CoreService(i + 1)
			}
			x.ecs.tasks[svc] = append(x.ecs.tasks[svc], task(fmt.Sprintf("t%d", i), svc, "RUNNING"))
		}
		asg := &fakeASG{}
		g := &Get{Cluster: &Cluster{Name: "graph-dev", Region: "eu-west-1", Stacks: x.engine, Admin: NewLambdaChannel("graph-dev", "eu-west-1", x.lambda)}, ECS: x.ecs, AutoScaling: asg}
		v, err := g.Execute(context.Background())
		if err != nil || len(v.Members) != cores || v.Members[cores-1].Task != fmt.Sprintf("t%d RUNNING", cores-1) {
			t.Fatalf("get: %v %+v", err, v)
		}
		return [3]int32{x.ecs.calls.Load(), asg.calls.Load(), x.lambda.calls.Load()}
	}
	small, large := calls(3, 0), calls(7, 20)
	if small != large || small != [3]int32{4, 1, 1} {
		t.Fatalf("ECS, Auto Scaling, Lambda calls: 3+0 members %v, 7+20 members %v; want [4 1 1] for both", small, large)
	}
}
