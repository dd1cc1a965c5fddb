package ops

import (
	"context"
	"errors"
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

// updateFixture is a running cluster of examples/production.yaml (an existing VPC, three
// cores, two replicas) whose stacks all exist and run.
type updateFixture struct {
	eng    *fakeEngine
	s3     *fakeS3
	ecs    *fakeECS
	events *recorder
}

func newUpdateFixture(t *testing.T) (*updateFixture, *Update) {
	x := &updateFixture{eng: newFakeEngine(), s3: newFakeS3(), events: &recorder{}}
	cfg := loadExample(t, "production.yaml")
	name := cfg.Metadata.Name
	x.eng.put("neo4jctl-graph-prod-shared", name, naming.KindShared, "", engine.StatusCreateComplete, sharedOutputs("bucket-1"))
	x.ecs = &fakeECS{services: map[string]ecstypes.Service{"replicas": runningService("replicas", 2, 2)}}
	for i := 1; i <= 3; i++ {
		m := fmt.Sprintf("core-%d", i)
		x.eng.put("neo4jctl-graph-prod-"+m, name, naming.KindCore, m, engine.StatusUpdateComplete, map[string]string{stack.OutputService: m})
		x.ecs.services[m] = runningService(m, 1, 1)
	}
	x.eng.put("neo4jctl-graph-prod-replicas", name, naming.KindReplicas, "", engine.StatusCreateComplete, nil)
	x.eng.put("neo4jctl-graph-prod-operations", name, naming.KindOperations, "", engine.StatusCreateComplete, nil)
	x.s3.buckets["bucket-1"] = &fakeBucket{region: "eu-west-1", objects: map[string]int{}}
	ec2 := newFakeEC2()
	ec2.vpcs[cfg.Network.VPCID] = true
	for i, id := range cfg.Network.Subnets {
		ec2.subnets[id] = [2]string{cfg.Network.VPCID, "eu-west-1" + string(rune('a'+i))}
	}
	u := &Update{Cluster: &Cluster{Name: name, Region: "eu-west-1", Stacks: x.eng, Events: x.events}, Config: cfg, File: "production.yaml",
		Release: testRelease(), Precheck: Precheck{STS: &fakeSTS{account: "111122223333"}, EC2: ec2, ECR: &fakeECR{images: map[string]bool{defaultImage(cfg): true}}, SSM: &fakeSSM{}},
		S3: x.s3, ECS: x.ecs, Now: func() time.Time { return testNow }}
	return x, u
}

func modify(id, typ string, props ...string) engine.Change {
	return engine.Change{Action: "Modify", LogicalID: id, Type: typ, Replacement: "False", Properties: props}
}

func TestUpdateWithoutChangesTouchesNothing(t *testing.T) {
	x, u := newUpdateFixture(t)
	p, err := u.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.Changed() != 0 || len(p.ChangeSets) != 6 || len(p.Refusals) != 0 {
		t.Fatalf("plan: %d changed, %d sets, refusals %v", p.Changed(), len(p.ChangeSets), p.Refusals)
	}
	if len(x.s3.puts) != 0 || len(x.eng.executed) != 0 {
		t.Errorf("a plan uploaded %v or executed %v", x.s3.puts, x.eng.executed)
	}
	// what runs goes as parameters: the config's counts, alarms and backups on
	for _, s := range p.stacks {
		want := map[string]string{}
		switch s.Kind {
		case naming.KindCore:
			want = map[string]string{stack.ParamDesiredCount: "1", stack.ParamInstanceCount: "1"}
		case naming.KindReplicas:
			want = map[string]string{stack.ParamDesiredCount: "2", stack.ParamInstanceCount: "2"}
		case naming.KindOperations:
			want = map[string]string{stack.ParamAlarmActions: "true", stack.ParamBackupSchedules: "ENABLED"}
		}
		for k, v := range want {
			if s.Parameters[k] != v {
				t.Errorf("%s: %s=%q, want %q", s.Name, k, s.Parameters[k], v)
			}
		}
	}
}

func TestUpdateRefusesToReplaceAVolumeOrRestartARunningCore(t *testing.T) {
	x, u := newUpdateFixture(t)
	x.eng.changes["neo4jctl-graph-prod-core-1"] = []engine.Change{{Action: "Modify", LogicalID: "DataVolume", Type: "AWS::EC2::Volume", Replacement: "True", Properties: []string{"AvailabilityZone"}}}
	x.eng.changes["neo4jctl-graph-prod-core-2"] = []engine.Change{modify("TaskDefinition", "AWS::ECS::TaskDefinition", "ContainerDefinitions")}
	x.eng.changes["neo4jctl-graph-prod-core-3"] = []engine.Change{modify("Service", "AWS::ECS::Service", "Tags")} // tags alone: runs on
	p, err := u.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"core-1: Modify DataVolume would replace the data volume with a new, empty one (changing AvailabilityZone)",
		"core-2 is running and would restart: Modify TaskDefinition (new task definition: the service stops the task and starts a new one; changing ContainerDefinitions)"}
	if !slices.Equal(p.Refusals, want) || !p.Restarts || p.Changed() != 3 {
		t.Fatalf("refusals %q (restarts %v, changed %d)", p.Refusals, p.Restarts, p.Changed())
	}
	err = u.Ask(context.Background(), p)
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "Nothing was changed. Pass --force to apply it member by member") {
		t.Fatalf("ask: %v", err)
	}
	if len(x.eng.discarded) != 3 || len(x.eng.executed) != 0 || len(x.s3.puts) != 0 {
		t.Errorf("discarded %v, executed %v, uploaded %v", x.eng.discarded, x.eng.executed, x.s3.puts)
	}
}

// --force rolls the member stacks that restart through the gated roll: the shared stack
// first, then one member stack at a time as Neo4j allows (the leader of the most last),
// each once the member before is back, then the operations stack.
func TestUpdateForceRollsRestartingMembersThroughGates(t *testing.T) {
	x, u := newUpdateFixture(t)
	sim := x.simulate(t, u)
	for i := 1; i <= 3; i++ {
		x.eng.changes[fmt.Sprintf("neo4jctl-graph-prod-core-%d", i)] = []engine.Change{modify("LaunchTemplate", "AWS::EC2::LaunchTemplate", "LaunchTemplateData")}
	}
	x.eng.changes["neo4jctl-graph-prod-shared"] = []engine.Change{modify("LogGroup", "AWS::Logs::LogGroup", "RetentionInDays")}
	x.eng.changes["neo4jctl-graph-prod-operations"] = []engine.Change{modify("Dashboard", "AWS::CloudWatch::Dashboard", "DashboardBody")}
	u.Force, u.Yes = true, true
	p, err := u.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Ask(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	leads := leaderCounts(sim)
	if err := u.Execute(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	ex := x.eng.executed
	if len(ex) != 5 || ex[0] != "neo4jctl-graph-prod-shared" || ex[4] != "neo4jctl-graph-prod-operations" || len(x.eng.overlaps) != 0 {
		t.Fatalf("executed %v, overlaps %v", ex, x.eng.overlaps)
	}
	last := strings.TrimPrefix(ex[3], "neo4jctl-graph-prod-")
	for _, m := range ex[1:3] {
		if m := strings.TrimPrefix(m, "neo4jctl-graph-prod-"); leads[m] > leads[last] {
			t.Errorf("%s (leading %d) rolled before %s (leading %d)", m, leads[m], last, leads[last])
		}
	}
	st := sim.Stats()
	if st.Restarts["core-1"] != 1 || st.Restarts["core-2"] != 1 || st.Restarts["core-3"] != 1 || st.Restarts["replicas"] != 0 || len(st.QuorumLosses) != 0 {
		t.Errorf("restarts %v, quorum losses %v", st.Restarts, st.QuorumLosses)
	}
	lines := strings.Join(x.events.lines(), "\n")
	for _, want := range []string{"Rolling core-", "(one at a time, gated)", "[3/3] " + last, last + ": after gate passed"} {
		if !strings.Contains(lines, want) {
			t.Errorf("events lack %q:\n%s", want, lines)
		}
	}
}

// simulate puts a formed simulated cluster behind the update's admin channel; a core
// member's stack update restarts it there.
func (x *updateFixture) simulate(t *testing.T, u *Update) *clustersim.Sim {
	sim := clustersim.New(clustersim.Config{Cores: 3, DefaultSecondaries: 2, Namespace: "graph-prod.neo4j.internal"})
	sim.Apply(clustersim.Services{"core-1": {Running: 1}, "core-2": {Running: 1}, "core-3": {Running: 1}, "replicas": {Running: 2}})
	if !sim.AdvanceUntil(clustersim.View.Ready, 10*time.Minute) {
		t.Fatal("not formed")
	}
	sim.ResetStats()
	x.eng.stacks["neo4jctl-graph-prod-shared"].Outputs[stack.OutputNamespaceName] = "graph-prod.neo4j.internal"
	x.eng.onExecute = func(name string, _ map[string]string) {
		if m := strings.TrimPrefix(name, "neo4jctl-graph-prod-"); strings.HasPrefix(m, "core-") {
			if err := sim.Restart(m); err != nil {
				t.Error(err)
			}
		}
	}
	u.Clock = simClock{sim}
	u.Admin = NewLambdaChannel("graph-prod", "eu-west-1", &fakeLambda{fn: func(ctx context.Context, p []byte) (*lambda.InvokeOutput, error) {
		out, err := sim.Invoke(ctx, p)
		return &lambda.InvokeOutput{StatusCode: 200, Payload: out}, err
	}})
	return sim
}

// leaderCounts is how many databases each core member leads.
func leaderCounts(sim *clustersim.Sim) map[string]int {
	out := map[string]int{}
	for _, sv := range sim.View().Servers {
		if sv.Listed {
			out[sv.Member] += len(sv.Leads)
		}
	}
	return out
}

// --force --ungated: one core stack at a time waiting for CloudFormation only.
func TestUpdateForceUngatedRollsCoresOneAtATime(t *testing.T) {
	x, u := newUpdateFixture(t)
	for i := 1; i <= 3; i++ {
		x.eng.changes[fmt.Sprintf("neo4jctl-graph-prod-core-%d", i)] = []engine.Change{modify("LaunchTemplate", "AWS::EC2::LaunchTemplate", "LaunchTemplateData")}
	}
	x.eng.changes["neo4jctl-graph-prod-shared"] = []engine.Change{modify("LogGroup", "AWS::Logs::LogGroup", "RetentionInDays")}
	u.Force, u.Yes, u.Roll.Ungated = true, true, true
	p, err := u.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Ask(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if err := u.Execute(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	want := []string{"neo4jctl-graph-prod-shared", "neo4jctl-graph-prod-core-1", "neo4jctl-graph-prod-core-2", "neo4jctl-graph-prod-core-3"}
	if !slices.Equal(x.eng.executed, want) || len(x.eng.overlaps) != 0 {
		t.Fatalf("executed %v, overlaps %v", x.eng.executed, x.eng.overlaps)
	}
	ev, ok := eventOf[CoresRolling](x.events)
	if !ok || !strings.Contains(ev.String(), "one at a time (neo4jctl-graph-prod-core-1, then neo4jctl-graph-prod-core-2, then neo4jctl-graph-prod-core-3)") {
		t.Errorf("events %q", x.events.lines())
	}
	if len(x.s3.puts) != 3 || x.s3.puts[2] != naming.LastAppliedKey {
		t.Errorf("bundles not uploaded before applying, or the file not recorded after: %v", x.s3.puts)
	}
}

func TestUpdateAsksAndDiscardsOnNo(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prompt Prompter
		want   string
	}{
		{"no terminal", nil, "update cluster graph-prod needs confirmation and there is no terminal to ask on; pass --yes to go ahead"},
		{"answered no", &fakePrompt{answers: []bool{false}}, "nothing changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, u := newUpdateFixture(t)
			u.Prompt = tc.prompt
			x.eng.changes["neo4jctl-graph-prod-shared"] = []engine.Change{modify("LogGroup", "AWS::Logs::LogGroup", "RetentionInDays")}
			p, err := u.Plan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := u.Ask(context.Background(), p); err == nil || err.Error() != tc.want {
				t.Fatalf("got %v", err)
			}
			if !slices.Equal(x.eng.discarded, []string{"neo4jctl-graph-prod-shared"}) {
				t.Errorf("discarded %v", x.eng.discarded)
			}
		})
	}
}

func TestUpdateRefusesAMissingClusterOrAStuckStack(t *testing.T) {
	x, u := newUpdateFixture(t)
	x.eng.stacks["neo4jctl-graph-prod-core-3"].Status = engine.StatusUpdateRollbackFailed
	if _, err := u.Plan(context.Background()); err == nil || !strings.Contains(err.Error(), "aws cloudformation continue-update-rollback --stack-name neo4jctl-graph-prod-core-3") {
		t.Fatalf("stuck: %v", err)
	}
	u.Name = "nope"
	if _, err := u.Plan(context.Background()); err == nil || err.Error() != "no cluster nope in eu-west-1 to update; create it with `neo4jctl create cluster -f production.yaml`" {
		t.Fatalf("missing: %v", err)
	}
}

func TestUpdateNotesStacksTheConfigNoLongerMakes(t *testing.T) {
	x, u := newUpdateFixture(t)
	x.eng.put("neo4jctl-graph-prod-core-4", "graph-prod", naming.KindCore, "core-4", engine.StatusCreateComplete, nil)
	if _, err := u.Plan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ev, ok := eventOf[StackNotInConfig](x.events); !ok || ev.Stack != "neo4jctl-graph-prod-core-4" {
		t.Fatalf("events %q", x.events.lines())
	}
}

func TestUpdateFailureSaysWhatRolledBackAndWhatNeverStarted(t *testing.T) {
	x, u := newUpdateFixture(t)
	shared := "neo4jctl-graph-prod-shared"
	x.eng.changes[shared] = []engine.Change{modify("LogGroup", "AWS::Logs::LogGroup", "RetentionInDays")}
	x.eng.changes["neo4jctl-graph-prod-core-1"] = []engine.Change{modify("MemberDiscovery", "AWS::ServiceDiscovery::Service", "Description")}
	x.eng.execErr[shared] = &engine.StackError{Stack: shared, Op: engine.OpUpdate, Status: engine.StatusUpdateRollbackComplete}
	u.Yes = true
	p, err := u.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	err = u.Execute(context.Background(), p)
	var ue *UpdateError
	if !errors.As(err, &ue) || !slices.Equal(ue.RolledBack, []string{shared}) || !slices.Equal(ue.NotStarted, []string{"neo4jctl-graph-prod-core-1"}) {
		t.Fatalf("got %v", err)
	}
	if !slices.Contains(x.eng.discarded, "neo4jctl-graph-prod-core-1") {
		t.Errorf("the change set never applied is left: %v", x.eng.discarded)
	}
	if !strings.HasSuffix(err.Error(), "Fix the cause and run `neo4jctl update cluster -f production.yaml` again.") {
		t.Errorf("error: %v", err)
	}
}

func TestUpdateInterruptedSaysWhatStillRunsInAWS(t *testing.T) {
	x, u := newUpdateFixture(t)
	shared := "neo4jctl-graph-prod-shared"
	x.eng.changes[shared] = []engine.Change{modify("LogGroup", "AWS::Logs::LogGroup", "RetentionInDays")}
	x.eng.changes["neo4jctl-graph-prod-core-1"] = []engine.Change{modify("MemberDiscovery", "AWS::ServiceDiscovery::Service", "Description")}
	x.eng.block[shared] = true
	ctx, cancel := context.WithCancel(context.Background())
	x.eng.onBlock = func(string) { cancel() }
	u.Yes = true
	p, err := u.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = u.Execute(ctx, p)
	var ue *UpdateError
	if !errors.As(err, &ue) || !ue.Stopped || !slices.Equal(ue.InProgress, []string{shared + " (UPDATE_IN_PROGRESS)"}) || !slices.Equal(ue.NotStarted, []string{"neo4jctl-graph-prod-core-1"}) {
		t.Fatalf("got %v", err)
	}
	if !strings.HasSuffix(err.Error(), "Once no stack is in progress, run `neo4jctl update cluster -f production.yaml` again to apply the rest.") {
		t.Errorf("error: %v", err)
	}
}

// A stack a failed create left empty (the replicas an earlier update added) is not a refusal:
// the update shows it as the new stack it becomes, deletes it and creates it again, and
// applies the other changes in the same run.
func TestUpdateMakesAgainAStackAFailedCreateLeftEmpty(t *testing.T) {
	for _, status := range []string{engine.StatusRollbackComplete, engine.StatusReviewInProgress} {
		t.Run(status, func(t *testing.T) {
			x, u := newUpdateFixture(t)
			x.eng.stacks["neo4jctl-graph-prod-replicas"].Status = status
			x.eng.changes["neo4jctl-graph-prod-operations"] = []engine.Change{modify("Dashboard", "AWS::CloudWatch::Dashboard", "DashboardBody")}
			p, err := u.Plan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			cs := p.sets["neo4jctl-graph-prod-replicas"]
			if cs == nil || cs.Type != "CREATE" || len(cs.Changes) == 0 || cs.Changes[0].Action != "Add" ||
				!slices.Contains(p.Notes["neo4jctl-graph-prod-replicas"], "replaces the empty stack a failed create left ("+status+")") {
				t.Fatalf("plan for the empty stack: %+v, notes %v", cs, p.Notes)
			}
			if err := u.Execute(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(x.eng.deleted, "neo4jctl-graph-prod-replicas") || !slices.Contains(x.eng.created, "neo4jctl-graph-prod-replicas") ||
				!slices.Contains(x.eng.executed, "neo4jctl-graph-prod-operations") || slices.Contains(x.eng.executed, "neo4jctl-graph-prod-replicas") {
				t.Errorf("deleted %v, created %v, executed %v", x.eng.deleted, x.eng.created, x.eng.executed)
			}
			if want := (StackRecreated{Stack: "neo4jctl-graph-prod-replicas", Status: status}).String(); !slices.Contains(x.events.lines(), want) {
				t.Errorf("events %v lack %q", x.events.lines(), want)
			}
		})
	}
}

// --force with a stack a failed create left empty: the gated roll makes it again before the
// members roll (not an execute of a change set that does not exist), and the cores roll once each.
func TestUpdateForceGatedMakesAgainAStackAFailedCreateLeftEmpty(t *testing.T) {
	x, u := newUpdateFixture(t)
	sim := x.simulate(t, u)
	x.eng.stacks["neo4jctl-graph-prod-replicas"].Status = engine.StatusRollbackComplete
	for i := 1; i <= 3; i++ {
		x.eng.changes[fmt.Sprintf("neo4jctl-graph-prod-core-%d", i)] = []engine.Change{modify("LaunchTemplate", "AWS::EC2::LaunchTemplate", "LaunchTemplateData")}
	}
	u.Force, u.Yes = true, true
	p, err := u.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Execute(context.Background(), p); err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(x.events.lines(), "\n"))
	}
	if !slices.Contains(x.eng.deleted, "neo4jctl-graph-prod-replicas") || !slices.Contains(x.eng.created, "neo4jctl-graph-prod-replicas") ||
		slices.Contains(x.eng.executed, "neo4jctl-graph-prod-replicas") {
		t.Errorf("deleted %v, created %v, executed %v", x.eng.deleted, x.eng.created, x.eng.executed)
	}
	if st := sim.Stats(); st.Restarts["core-1"] != 1 || st.Restarts["core-2"] != 1 || st.Restarts["core-3"] != 1 || len(st.QuorumLosses) != 0 {
		t.Errorf("restarts %v, quorum losses %v", st.Restarts, st.QuorumLosses)
	}
}
