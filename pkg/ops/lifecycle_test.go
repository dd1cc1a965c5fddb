package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/neo4jctl/neo4jctl/internal/clustersim"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// lifecycleFixture is a running cluster of examples/production.yaml (three cores, two
// replicas) whose stacks carry the run parameters, with its last-applied record, and a
// SIMULATED Neo4j cluster (internal/clustersim) behind the admin Lambda handler that follows
// the desired counts the stacks' parameters set, as ECS would.
type lifecycleFixture struct {
	*updateFixture
	ec2  *fakeEC2
	asg  *fakeASG
	sim  *clustersim.Sim
	mu   sync.Mutex
	args []string // the steps' stacks, in the order they were executed
}

func newLifecycleFixture(t *testing.T) *lifecycleFixture {
	t.Helper()
	x, u := newUpdateFixture(t)
	f := &lifecycleFixture{updateFixture: x, ec2: newFakeEC2(), asg: &fakeASG{instances: map[string][2]string{}}}
	for k, v := range u.Precheck.EC2.(*fakeEC2).subnets {
		f.ec2.subnets[k] = v
	}
	f.ec2.vpcs = u.Precheck.EC2.(*fakeEC2).vpcs
	for i := 1; i <= 3; i++ {
		name, m := fmt.Sprintf("neo4jctl-graph-prod-core-%d", i), fmt.Sprintf("core-%d", i)
		s := x.eng.stacks[name]
		s.Parameters = map[string]string{stack.ParamDesiredCount: "1", stack.ParamInstanceCount: "1", stack.ParamExistingVolumeID: ""}
		s.Outputs[stack.OutputVolumeID], s.Outputs[stack.OutputAutoScalingGroup] = "vol-"+m, "asg-"+m
		f.ec2.volumes["vol-"+m] = &fakeVolume{tags: map[string]string{naming.TagMember: m}, az: "eu-west-1a", created: testNow.Add(-24 * time.Hour)}
		f.asg.instances["asg-"+m] = [2]string{"i-" + m, "eu-west-1a"}
	}
	x.eng.stacks["neo4jctl-graph-prod-replicas"].Parameters = map[string]string{stack.ParamDesiredCount: "2", stack.ParamInstanceCount: "2"}
	x.eng.stacks["neo4jctl-graph-prod-operations"].Parameters = map[string]string{stack.ParamAlarmActions: "true", stack.ParamBackupSchedules: "ENABLED"}
	x.putRecord(t, NewApplied(loadExample(t, "production.yaml")))

	f.sim = clustersim.New(clustersim.Config{Cores: 3, Namespace: "graph-prod.neo4j.internal", DefaultSecondaries: 2,
		Databases: []clustersim.DatabaseSpec{{Name: "shop", Primaries: 3, Secondaries: 2}}})
	f.sim.Apply(clustersim.Services{"core-1": {Running: 1}, "core-2": {Running: 1}, "core-3": {Running: 1}, "replicas": {Running: 2}})
	if !f.sim.AdvanceUntil(clustersim.View.Ready, 10*time.Minute) {
		t.Fatal("the simulated cluster did not form")
	}
	x.eng.onExecute = f.followStack
	return f
}

// followStack is ECS and Auto Scaling acting on a stack's new parameters.
func (f *lifecycleFixture) followStack(name string, params map[string]string) {
	f.mu.Lock()
	f.args = append(f.args, strings.TrimPrefix(name, "neo4jctl-graph-prod-"))
	f.mu.Unlock()
	svc := strings.TrimPrefix(name, "neo4jctl-graph-prod-")
	if svc != "replicas" && !strings.HasPrefix(svc, "core-") {
		return
	}
	tasks, _ := strconv.Atoi(params[stack.ParamDesiredCount])
	instances, _ := strconv.Atoi(params[stack.ParamInstanceCount])
	f.ecs.setService(svc, runningService(svc, int32(tasks), int32(tasks)))
	if instances == 0 {
		f.asg.setInstance("asg-"+svc, nil)
	} else {
		f.asg.setInstance("asg-"+svc, &[2]string{"i-" + svc, "eu-west-1a"})
	}
	f.sim.Set(svc, clustersim.Service{Desired: tasks, Running: tasks})
}

// handle is a cluster handle whose admin channel is the Lambda handler on the simulator;
// every request moves simulated time on by 5 seconds (the polls' interval).
func (f *lifecycleFixture) handle() *Cluster {
	fl := &fakeLambda{fn: func(ctx context.Context, p []byte) (*lambda.InvokeOutput, error) {
		f.sim.Advance(5 * time.Second)
		out, err := f.sim.Invoke(ctx, p)
		return &lambda.InvokeOutput{StatusCode: 200, Payload: out}, err
	}}
	return &Cluster{Name: "graph-prod", Region: "eu-west-1", Stacks: f.eng, Events: f.events, Admin: NewLambdaChannel("graph-prod", "eu-west-1", fl)}
}

func (f *lifecycleFixture) imperative(c *Cluster, command string) Imperative {
	cfg := loadExample(&testing.T{}, "production.yaml")
	return Imperative{Cluster: c, Command: command, Release: testRelease(), S3: f.s3, ECS: f.ecs, Now: func() time.Time { return testNow },
		Precheck: Precheck{STS: &fakeSTS{account: "111122223333"}, EC2: f.ec2, ECR: &fakeECR{images: map[string]bool{defaultImage(cfg): true}}, SSM: &fakeSSM{}}}
}

func (f *lifecycleFixture) params(kind string) map[string]string {
	return f.eng.stacks["neo4jctl-graph-prod-"+kind].Parameters
}

func TestStopThenStartRestoresTheExactCounts(t *testing.T) {
	f := newLifecycleFixture(t)
	ctx := context.Background()
	stop := &Stop{Imperative: f.imperative(f.handle(), "stop cluster graph-prod"), Yes: true, Wait: true, ASG: f.asg, EC2: f.ec2, Poll: time.Millisecond}
	p, err := stop.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Already || !strings.Contains(p.Text(), "2. replicas: 2 tasks -> 0") || !strings.Contains(p.Text(), "vol-core-2 (core-2)") {
		t.Fatalf("plan:\n%s", p.Text())
	}
	if err := stop.Ask(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := stop.Execute(ctx, p); err != nil {
		t.Fatal(err)
	}
	// muted first, replicas before the cores, every core at once, then the instances
	want := []string{"operations", "replicas", "core-1", "core-2", "core-3"}
	if got := f.args[:5]; !slices.Equal(got[:2], want[:2]) || !sameSet(got[2:], want[2:]) {
		t.Fatalf("steps %v", f.args)
	}
	if len(f.eng.overlaps) == 0 {
		t.Errorf("the cores did not stop at once")
	}
	for _, k := range []string{"core-1", "core-2", "core-3", "replicas"} {
		if p := f.params(k); p[stack.ParamDesiredCount] != "0" || p[stack.ParamInstanceCount] != "0" {
			t.Errorf("%s after stop: %v", k, p)
		}
	}
	if p := f.params("operations"); p[stack.ParamAlarmActions] != "false" || p[stack.ParamBackupSchedules] != "DISABLED" {
		t.Errorf("operations after stop: %v", p)
	}
	rec := f.record(t, "graph-prod")
	if rec.Stopped == nil || rec.Stopped.Replicas != 2 || rec.Stopped.Cores != 3 || rec.Written.Command != "stop cluster graph-prod" {
		t.Fatalf("record after stop: %+v", rec)
	}
	if v := f.sim.View(); v.Formed && anyRunning(v) {
		t.Errorf("a member still runs in the simulator: %+v", v.Servers)
	}

	// stop again: nothing to do
	again := &Stop{Imperative: f.imperative(f.handle(), "stop cluster graph-prod"), Yes: true, ASG: f.asg, EC2: f.ec2}
	if p, err := again.Plan(ctx); err != nil || !p.Already {
		t.Fatalf("second stop: %v %+v", err, p)
	}

	// start with the Neo4j waits: formed before the replicas, the replicas before the alarms
	f.args = nil
	f.events.events = nil
	start := &Start{Imperative: f.imperative(f.handle(), "start cluster graph-prod"), Yes: true, Wait: true, EC2: f.ec2, Poll: time.Millisecond, Timeout: 3 * time.Second}
	sp, err := start.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := start.Execute(ctx, sp); err != nil {
		t.Fatalf("start: %v\n%q", err, f.events.lines())
	}
	for k, want := range map[string]string{"core-1": "1", "core-3": "1", "replicas": "2"} {
		if p := f.params(k); p[stack.ParamDesiredCount] != want || p[stack.ParamInstanceCount] != want {
			t.Errorf("%s after start: %v, want %s", k, p, want)
		}
	}
	if p := f.params("operations"); p[stack.ParamAlarmActions] != "true" || p[stack.ParamBackupSchedules] != "ENABLED" {
		t.Errorf("operations after start: %v", p)
	}
	lines := strings.Join(f.events.lines(), "\n")
	order := []string{"Bringing the instances back", "Starting every core member at once", "Neo4j has formed the cluster",
		"Starting 2 replicas", "Neo4j shows 2 secondaries", "Turning the alarm actions on"}
	for i := 1; i < len(order); i++ {
		if a, b := strings.Index(lines, order[i-1]), strings.Index(lines, order[i]); a < 0 || b < a {
			t.Errorf("%q does not come before %q:\n%s", order[i-1], order[i], lines)
		}
	}
	if !strings.Contains(lines, "Removed replica server") {
		t.Errorf("the replica servers of before the stop were not removed:\n%s", lines)
	}
	if rec := f.record(t, "graph-prod"); rec.Stopped != nil {
		t.Errorf("record after start: %+v", rec.Stopped)
	}
	v := f.sim.View()
	if !v.Ready() {
		t.Errorf("the simulated cluster is not ready after start: %+v", v)
	}
}

func anyRunning(v clustersim.View) bool {
	for _, s := range v.Servers {
		if s.Running {
			return true
		}
	}
	return false
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func TestStartWaitsForAFormedClusterBeforeTheReplicas(t *testing.T) {
	f := newLifecycleFixture(t)
	ctx := context.Background()
	stop := &Stop{Imperative: f.imperative(f.handle(), "stop cluster graph-prod"), Yes: true, ASG: f.asg, EC2: f.ec2}
	p, _ := stop.Plan(ctx)
	if err := stop.Execute(ctx, p); err != nil {
		t.Fatal(err)
	}
	// core-2 never comes back: start stops before the replicas and leaves the alarms muted
	if err := f.sim.Fault("core-2", clustersim.NeverAvailable); err != nil {
		t.Fatal(err)
	}
	start := &Start{Imperative: f.imperative(f.handle(), "start cluster graph-prod"), Yes: true, Wait: true, EC2: f.ec2, Poll: time.Millisecond, Timeout: 300 * time.Millisecond}
	sp, err := start.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = start.Execute(ctx, sp)
	var te *RestartedTimeoutError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "core-2 is not Enabled and Available") ||
		!strings.Contains(err.Error(), "run `neo4jctl start cluster graph-prod` again") {
		t.Fatalf("start: %v", err)
	}
	if p := f.params("replicas"); p[stack.ParamDesiredCount] != "0" {
		t.Errorf("the replicas started before the cluster formed: %v", p)
	}
	if p := f.params("operations"); p[stack.ParamAlarmActions] != "false" {
		t.Errorf("alarms unmuted before the cluster formed: %v", p)
	}
	if rec := f.record(t, "graph-prod"); rec.Stopped == nil {
		t.Error("a start that failed recorded the cluster as running")
	}
}

func TestScaleReplicasRecordsTheCountAndWaitsForNeo4j(t *testing.T) {
	f := newLifecycleFixture(t)
	ctx := context.Background()
	scale := &ScaleReplicas{Imperative: f.imperative(f.handle(), "scale replicas graph-prod --count 1"), Count: 1, Yes: true, Wait: true, Poll: time.Millisecond, Timeout: 3 * time.Second}
	p, err := scale.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.From != 2 || p.Running != 2 || p.To != 1 || p.NoOp {
		t.Fatalf("plan %+v", p)
	}
	if err := scale.Execute(ctx, p); err != nil {
		t.Fatalf("scale: %v\n%q", err, f.events.lines())
	}
	if p := f.params("replicas"); p[stack.ParamDesiredCount] != "1" || p[stack.ParamInstanceCount] != "1" {
		t.Errorf("replicas after scale: %v", p)
	}
	rec := f.record(t, "graph-prod")
	if rec.Config.Replicas.Count != 1 || len(rec.Imperative) != 1 || rec.Imperative[0].Field != "replicas.count" || string(rec.Imperative[0].File) != "2" {
		t.Fatalf("record: %+v", rec.Imperative)
	}
	if !strings.Contains(strings.Join(f.events.lines(), "\n"), "Removed replica server") {
		t.Errorf("the replica that left is still a server:\n%q", f.events.lines())
	}
	// the cores never moved: only the replicas' stack changed
	if slices.ContainsFunc(f.args, func(s string) bool { return strings.HasPrefix(s, "core-") }) {
		t.Errorf("scale replicas changed %v", f.args)
	}
	if _, err := (&ScaleReplicas{Imperative: f.imperative(f.handle(), "x"), Count: 21}).Plan(ctx); err == nil || exitCodeOf(err) != 2 || !strings.Contains(err.Error(), "replicas.count") {
		t.Errorf("--count 21: %v", err)
	}
}

func TestResetDataRefusesARunningClusterAndReplacesTheVolumesOfAStoppedOne(t *testing.T) {
	f := newLifecycleFixture(t)
	ctx := context.Background()
	reset := &ResetData{Imperative: f.imperative(f.handle(), "reset-data cluster graph-prod"), Yes: true, EC2: f.ec2, Objects: f.s3}
	_, err := reset.Plan(ctx)
	var ns *NotStoppedError
	if !errors.As(err, &ns) || !strings.Contains(err.Error(), "core-1 runs 1 task on 1 instance") || !strings.Contains(err.Error(), "`neo4jctl stop cluster graph-prod`") {
		t.Fatalf("running: %v", err)
	}
	stop := &Stop{Imperative: f.imperative(f.handle(), "stop cluster graph-prod"), Yes: true, ASG: f.asg, EC2: f.ec2}
	sp, _ := stop.Plan(ctx)
	if err := stop.Execute(ctx, sp); err != nil {
		t.Fatal(err)
	}
	f.s3.buckets["bucket-1"].data[naming.RestoreDoneKey] = []byte(`{"complete":true}`)
	f.s3.buckets["bucket-1"].objects[naming.RestoreDoneKey] = 1

	reset = &ResetData{Imperative: f.imperative(f.handle(), "reset-data cluster graph-prod --restore-from s3://old/backups/"), RestoreFrom: "s3://old/backups/", EC2: f.ec2, Objects: f.s3}
	p, err := reset.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"core-1  vol-core-1  100 GiB in eu-west-1a", "core-3  vol-core-3", "seeds the databases from s3://old/backups/"} {
		if !strings.Contains(p.Text(), want) {
			t.Errorf("plan lacks %q:\n%s", want, p.Text())
		}
	}
	if err := reset.Ask(ctx, p); err == nil || exitCodeOf(err) != 2 {
		t.Errorf("without a terminal or --yes: %v", err)
	}
	reset.Prompt = &namePrompt{typed: "graph-prod"}
	if err := reset.Ask(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := reset.Execute(ctx, p); err != nil {
		t.Fatalf("reset: %v\n%q", err, f.events.lines())
	}
	if !sameSet(f.ec2.deleted, []string{"vol-core-1", "vol-core-2", "vol-core-3"}) {
		t.Errorf("deleted %v", f.ec2.deleted)
	}
	for i := 1; i <= 3; i++ {
		if v := f.params(fmt.Sprintf("core-%d", i))[stack.ParamExistingVolumeID]; v != "" {
			t.Errorf("core-%d still adopts %s: no new volume", i, v)
		}
	}
	if _, ok := f.s3.buckets["bucket-1"].data[naming.RestoreDoneKey]; ok {
		t.Error("the restore marker is still there")
	}
	rec := f.record(t, "graph-prod")
	if rec.Stopped == nil || rec.Config.Restore == nil || rec.Config.Restore.From != "s3://old/backups/" {
		t.Errorf("record: stopped %v, restore %+v", rec.Stopped, rec.Config.Restore)
	}
	// the stacks let the volumes go before they were deleted, and made new ones after
	lines := strings.Join(f.events.lines(), "\n")
	if a, b, c := strings.Index(lines, "Releasing the data volumes"), strings.Index(lines, "Deleted volume vol-core-2 (core-2)"), strings.Index(lines, "a new, empty data volume"); a < 0 || b < a || c < b {
		t.Errorf("order:\n%s", lines)
	}
}

// namePrompt is a FAKE terminal where the user types a name.
type namePrompt struct{ typed string }

func (p *namePrompt) Confirm(context.Context, string) (bool, error) { return true, nil }
func (p *namePrompt) ConfirmName(_ context.Context, _ string, name string) (bool, error) {
	return p.typed == name, nil
}

var _ = engine.StatusCreateComplete
