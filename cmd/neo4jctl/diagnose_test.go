package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/neo4jctl/neo4jctl/internal/clustersim"
	"github.com/neo4jctl/neo4jctl/pkg/agent"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

// On a running cluster (moto made to look like one, Neo4j simulated) every check passes,
// exit 0, and the text report lists each check on one line.
func TestDiagnoseRunningClusterPasses(t *testing.T) {
	lc := newLiveCluster(t)
	code, r, stderr := lc.a.diagnose(lc.name)
	if code != 0 || r.Status != "ready" {
		t.Fatalf("exit %d, status %s\n%s", code, r.Status, stderr)
	}
	if len(r.Checks) != len(ops.CheckCodes()) || r.Counts["ok"] != len(ops.CheckCodes()) {
		for _, c := range r.Checks {
			t.Errorf("%s %s: %s%s\n%s", c.Verdict, c.Code, c.Summary, c.Why, c.evidence())
		}
	}
	expect(t, r.check(t, "members"), "ok", "3 of 3 core members run; replicas 2 of 2")
	expect(t, r.check(t, "membership"), "ok", "core-2.graph-prod.neo4j.internal: task at "+lc.member("core-2").ip+" = Cloud Map; Neo4j server")
	expect(t, r.check(t, "volumes"), "ok", "core-1: data volume "+lc.member("core-1").volume+" mounted on /data/neo4j")
	expect(t, r.check(t, "disk"), "ok", "core-1 41%, core-2 41%, core-3 41%")
	expect(t, r.check(t, "backups"), "ok", "neo4j: newest restorable point 30m old", "system: newest restorable point 30m old")
	expect(t, r.check(t, "leader-stability"), "ok", "0 leader changes since", "neo4j: leader core-", "heap 10g")
	expect(t, r.check(t, "forming"), "ok", "formed: the system database's leader is core-")
	code, text, _ := lc.a.cli("", "diagnose", lc.name)
	mustContain(t, "text report", text, "Cluster graph-prod in eu-west-1: ready\n", "16 checks since", ": 0 failed, 0 warnings, 16 ok, 0 skipped",
		"OK   stacks: 6 stacks complete\n", "OK   network: VPC "+lc.vpc)
	if code != 0 || strings.Contains(text, "next:") {
		t.Errorf("text report: exit %d\n%s", code, text)
	}
}

// Each check fails (or warns) on what it looks for, on one running cluster: every case
// breaks one thing, runs the check alone, asserts what the user sees (verdict, evidence,
// next step) and the exit code, and mends it; each check is also seen passing. Every check
// code must have its case here (forming's failure is TestDiagnoseFormingNamesTheMissingMember's).
func TestDiagnoseEachCheckFails(t *testing.T) {
	c := newDiagCase(t)
	for _, tc := range []struct {
		code string
		run  func(*testing.T, *diagCase)
	}{
		{"stacks", diagStacks},
		{"stack-drift", diagStackDrift},
		{"members", diagMembers},
		{"stopped-tasks", diagStoppedTasks},
		{"log-errors", diagLogErrors},
		{"forming", diagForming},
		{"membership", diagMembership},
		{"leader-stability", diagLeaderStability},
		{"databases", diagDatabases},
		{"versions", diagVersions},
		{"placement", diagPlacement},
		{"volumes", diagVolumes},
		{"disk", diagDisk},
		{"host", diagHost},
		{"network", diagNetwork},
		{"backups", diagBackups},
	} {
		t.Run(tc.code, func(t *testing.T) { tc.run(t, c) })
	}
	for _, code := range ops.CheckCodes() {
		failed := c.seen[code]["fail"] || c.seen[code]["warn"] || code == "forming"
		if !failed || !c.seen[code]["ok"] {
			t.Errorf("check %s: no case makes it fail and one pass (seen %v)", code, c.seen[code])
		}
	}
}

// diagCase is the running cluster the cases of TestDiagnoseEachCheckFails share, and the
// verdicts each check was seen to give.
type diagCase struct {
	lc    *liveCluster
	a     *motoAccount
	fakes *diagFakes
	ctx   context.Context
	core2 *liveMember
	seen  map[string]map[string]bool
}

func newDiagCase(t *testing.T) *diagCase {
	lc := newLiveCluster(t)
	return &diagCase{lc: lc, a: lc.a, fakes: lc.a.diagFakes(), ctx: context.Background(), core2: lc.member("core-2"), seen: map[string]map[string]bool{}}
}

// run runs one check alone (-o json) and checks the exit code goes with its verdict.
func (c *diagCase) run(t *testing.T, code string, args ...string) diagCheck {
	t.Helper()
	exit, r, stderr := c.a.diagnose(c.lc.name, append([]string{"--check", code}, args...)...)
	ch := r.check(t, code)
	if want := map[string]int{"fail": 1, "warn": 0, "ok": 0, "skipped": 0}[ch.Verdict]; exit != want || len(r.Checks) != 1 {
		t.Errorf("--check %s: exit %d with %s, %d checks\n%s", code, exit, ch.Verdict, len(r.Checks), stderr)
	}
	if ch.Verdict == "fail" {
		mustContain(t, "stderr", stderr, "Error: cluster graph-prod: 1 check(s) failed: "+code)
	}
	if c.seen[code] == nil {
		c.seen[code] = map[string]bool{}
	}
	c.seen[code][ch.Verdict] = true
	return ch
}

func diagStacks(t *testing.T, c *diagCase) {
	lc, run := c.lc, c.run
	st := naming.StackName(lc.name, naming.KindCore, 3)
	lc.drift.stuck = map[string]string{st: "UPDATE_ROLLBACK_FAILED"}
	lc.drift.events = map[string][]cfntypes.StackEvent{st: {failedEvent(st, "Service", "AWS::ECS::Service", "Resource handler returned message: service core-3 not found", 0)}}
	expect(t, run(t, "stacks"), "fail", "1 of 6 stacks not as they should be", "UPDATE_ROLLBACK_FAILED",
		"event: Service (AWS::ECS::Service) CREATE_FAILED: Resource handler returned message: service core-3 not found",
		"aws cloudformation continue-update-rollback --stack-name "+st)
	lc.drift.stuck, lc.drift.events = map[string]string{st: "ROLLBACK_COMPLETE"}, nil // a member an update added, never created
	expect(t, run(t, "stacks"), "fail", "ROLLBACK_COMPLETE", "added by an update, was never created",
		"`neo4jctl update cluster -f cluster.yaml` deletes it and makes it again")
	lc.drift.stuck = map[string]string{st: "UPDATE_ROLLBACK_COMPLETE"}
	expect(t, run(t, "stacks"), "warn", "UPDATE_ROLLBACK_COMPLETE: the last update failed and was rolled back", "`neo4jctl update cluster -f cluster.yaml`")
	lc.drift.stuck = map[string]string{st: "UPDATE_IN_PROGRESS"}
	lc.drift.updated = map[string]time.Time{st: lc.now().Add(-10 * time.Minute)}
	expect(t, run(t, "stacks"), "warn", "UPDATE_IN_PROGRESS since", "an operation is running")
	lc.drift.updated[st] = lc.now().Add(-2 * time.Hour)
	expect(t, run(t, "stacks"), "fail", "UPDATE_IN_PROGRESS since", "(2h0m0s): stuck",
		"`aws cloudformation describe-stack-events --stack-name "+st+" --max-items 10`", "`aws cloudformation cancel-update-stack --stack-name "+st+"`")
	lc.drift.stuck, lc.drift.updated = nil, nil
	expect(t, run(t, "stacks"), "ok", "6 stacks complete")
}

func diagStackDrift(t *testing.T, c *diagCase) {
	lc, run, core2 := c.lc, c.run, c.core2
	st := naming.StackName(lc.name, naming.KindCore, 2)
	lc.drift.set(st, "DRIFTED", cfntypes.StackResourceDrift{LogicalResourceId: aws.String("AutoScalingGroup"), PhysicalResourceId: aws.String("asg-core-2"),
		ResourceType: aws.String("AWS::AutoScaling::AutoScalingGroup"), StackResourceDriftStatus: cfntypes.StackResourceDriftStatusModified,
		PropertyDifferences: []cfntypes.PropertyDifference{{PropertyPath: aws.String("/MaxSize")}}, Timestamp: aws.Time(time.Now())})
	expect(t, run(t, "stack-drift"), "warn", "AutoScalingGroup (AWS::AutoScaling::AutoScalingGroup) MODIFIED (/MaxSize)", "`neo4jctl update cluster -f cluster.yaml`")
	lc.drift.set(st, "DRIFTED", cfntypes.StackResourceDrift{LogicalResourceId: aws.String("DataVolume"), PhysicalResourceId: aws.String(core2.volume),
		ResourceType: aws.String("AWS::EC2::Volume"), StackResourceDriftStatus: cfntypes.StackResourceDriftStatusDeleted})
	expect(t, run(t, "stack-drift"), "fail", "DataVolume (AWS::EC2::Volume) DELETED", "a deleted resource comes back only through the update")
	for i := 1; i <= 3; i++ {
		lc.drift.set(naming.StackName(lc.name, naming.KindCore, i), "NOT_CHECKED")
	}
	expect(t, run(t, "stack-drift"), "skipped", "no member stack has a drift detection yet; diagnose started one for core-1, core-2, core-3",
		"`neo4jctl diagnose graph-prod --check stack-drift`")
	if len(lc.drift.detected) != 3 {
		t.Errorf("detections started: %v", lc.drift.detected)
	}
	for i := 1; i <= 3; i++ {
		lc.drift.set(naming.StackName(lc.name, naming.KindCore, i), "IN_SYNC")
	}
	expect(t, run(t, "stack-drift"), "ok", "core-1, core-2, core-3 in sync with their templates")
}

func diagMembers(t *testing.T, c *diagCase) {
	lc, fakes, run := c.lc, c.fakes, c.run
	fakes.ecs.running["core-2"] = 0
	fakes.ecs.events["core-2"] = []ecstypes.ServiceEvent{
		{CreatedAt: aws.Time(lc.now().Add(-5 * time.Minute)), Message: aws.String("(service core-2) was unable to place a task because no container instance met all of its requirements. The closest matching container-instance is missing an attribute required by your task.")},
		{CreatedAt: aws.Time(lc.now().Add(-4 * time.Hour)), Message: aws.String("(service core-2) was unable to place a task: an old event, before the window")},
		{CreatedAt: aws.Time(lc.now().Add(-3 * time.Minute)), Message: aws.String("(service core-2) has reached a steady state.")}}
	ch := run(t, "members")
	expect(t, ch, "fail", "2 of 3 core members run; not running: core-2; replicas 2 of 2", "core-2 service core-2: 0 of 1 tasks running",
		"service event: (service core-2) was unable to place a task because no container instance met all of its requirements",
		"`neo4jctl restart cluster graph-prod --member core-2` starts it again")
	if strings.Contains(ch.evidence(), "old event") || strings.Contains(ch.evidence(), "steady state") {
		t.Errorf("events outside the window or that say nothing are shown:\n%s", ch.evidence())
	}
	delete(fakes.ecs.running, "core-2")
	delete(fakes.ecs.events, "core-2")
	expect(t, run(t, "members"), "ok", "3 of 3 core members run; replicas 2 of 2")
}

func diagStoppedTasks(t *testing.T, c *diagCase) {
	lc, fakes, run := c.lc, c.fakes, c.run
	expect(t, run(t, "stopped-tasks"), "ok", "no member task stopped since")
	expect(t, run(t, "stopped-tasks", "--since", "6h"), "warn", "no member task stopped since",
		"stops before", "are not visible (ECS keeps stopped tasks about an hour",
		"only the logs tell: `neo4jctl diagnose graph-prod --check log-errors --check leader-stability --since 6h`")
	fakes.ecs.stop("0001", "core-2", lc.now().Add(-10*time.Minute), ecstypes.TaskStopCodeEssentialContainerExited,
		"Essential container in task exited", 137, "OutOfMemoryError: Container killed due to memory usage")
	fakes.ecs.stop("0002", "core-2", lc.now().Add(-25*time.Minute), ecstypes.TaskStopCodeEssentialContainerExited,
		"Task failed container health checks", 143, "")
	fakes.ecs.stop("0003", "core-1", lc.now().Add(-30*time.Minute), ecstypes.TaskStopCodeServiceSchedulerInitiated,
		"Scaling activity initiated by (deployment ecs-svc/123)", 0, "")
	fakes.ecs.stop("0004", "core-3", lc.now().Add(-3*time.Hour), ecstypes.TaskStopCodeEssentialContainerExited,
		"Essential container in task exited", 1, "")
	expect(t, run(t, "stopped-tasks"), "fail", "3 member tasks stopped since", "1 out of memory", "1 failed health checks", "1 planned",
		"core-2 task 0001: out of memory: stop code EssentialContainerExited; Essential container in task exited; neo4j exited 137; neo4j: OutOfMemoryError",
		"core-2 task 0002: failed its health checks", "core-2 : restart loop: 2 unplanned stops in the last hour",
		"next: give Neo4j more memory", "`neo4jctl update cluster -f cluster.yaml --force`")
	clear(fakes.ecs.stopped)
	// beyond ECS's hour the container log streams show the restarts
	for i, ago := range []time.Duration{5 * time.Hour, 3 * time.Hour, 2 * time.Hour} {
		lc.put(naming.LogStreamContainerPrefix("core-3")+fmt.Sprintf("old-task-%d", i), lc.now().Add(-ago), "Starting...")
	}
	expect(t, run(t, "stopped-tasks", "--since", "6h"), "fail", "core-3: restart loop: 4 tasks started since", "are not visible",
		"`neo4jctl diagnose graph-prod --check log-errors --check leader-stability --since 6h`")
}

func diagLogErrors(t *testing.T, c *diagCase) {
	lc, run, core2 := c.lc, c.run, c.core2
	expect(t, run(t, "log-errors"), "ok", "no known error line in the container and boot logs since")
	core1 := lc.member("core-1")
	core1Log := naming.LogStreamContainerPrefix("core-1") + taskIDOf(core1.task)
	// the agent's own login, refused after a password changed behind its back
	lc.put(core1Log, lc.now().Add(-3*time.Minute), "neo4jctl-agent worker: health: Neo.ClientError.Security.Unauthorized: The client is unauthorized due to authentication failure.")
	expect(t, run(t, "log-errors"), "warn", "authentication failure (1 line on core-1)", "unauthorized due to authentication failure",
		"`neo4jctl logs graph-prod --member core-1 --grep Unauthorized`")
	lc.put(naming.LogStreamContainerPrefix("core-2")+taskIDOf(core2.task), lc.now().Add(-2*time.Minute),
		"2026-01-01 00:00:00.000+0000 ERROR Failed to resolve core-3.graph-prod.neo4j.internal:6000 (UnknownHostException)")
	expect(t, run(t, "log-errors"), "warn", "discovery failure (1 line on core-2)", "UnknownHostException", "`neo4jctl diagnose graph-prod --check membership`")
	lc.put(naming.LogStreamContainerPrefix("core-2")+taskIDOf(core2.task), lc.now().Add(-time.Minute),
		"java.lang.OutOfMemoryError: Java heap space", "Exception in thread \"neo4j.BoltWorker\" java.lang.OutOfMemoryError: Java heap space")
	expect(t, run(t, "log-errors"), "fail", "out of memory (2 lines on core-2); discovery failure (1 line on core-2)",
		"core-2 "+naming.LogStreamContainerPrefix("core-2")+taskIDOf(core2.task)+": java.lang.OutOfMemoryError: Java heap space",
		"give Neo4j more memory", "`neo4jctl update cluster -f cluster.yaml --force`")
	// the agent's refusal to start Neo4j without its data volume (its own words)
	lc.put(core1Log, lc.now().Add(-time.Minute), "neo4jctl-agent entrypoint: "+agent.CheckVolume(t.TempDir()).Error())
	expect(t, run(t, "log-errors"), "fail", "data volume not attached or not mounted (1 line on core-1)", "refusing to start Neo4j",
		"next: give Neo4j more memory") // out of memory comes first: the first failure's next step
	lc.put(naming.LogStreamDebug("core-3"), lc.now().Add(-time.Minute),
		"2026-01-01 ERROR [o.n.k.i.t.l.c.CheckPointerImpl] [neo4j/4b3f5e1a] Checkpoint failed: java.io.IOException: No space left on device")
	expect(t, run(t, "log-errors"), "fail", "disk full (1 line on core-3); out of memory", "No space left on device",
		"`aws ec2 modify-volume --volume-id VOLUME --size GiB`", "`neo4jctl restart cluster graph-prod --member core-3`")
}

// diagForming: a formed cluster passes; a cluster that cannot form fails in
// TestDiagnoseFormingNamesTheMissingMember (a new cluster's members never started).
func diagForming(t *testing.T, c *diagCase) {
	expect(t, c.run(t, "forming"), "ok", "formed: the system database's leader is core-")
}

func diagMembership(t *testing.T, c *diagCase) {
	lc, a, run, core2 := c.lc, c.a, c.run, c.core2
	lc.deregisterName(core2.cloudMap, core2.task)
	expect(t, run(t, "membership"), "fail", "its task runs at "+core2.ip+" but core-2.graph-prod.neo4j.internal is not registered in Cloud Map",
		"`neo4jctl restart cluster graph-prod --member core-2`")
	lc.registerName(core2.cloudMap, core2.task, "10.30.99.99")
	expect(t, run(t, "membership"), "fail", "core-2.graph-prod.neo4j.internal is registered as 10.30.99.99 in Cloud Map, its running task is at "+core2.ip)
	lc.deregisterName(core2.cloudMap, core2.task) // moto adds a second instance of a re-registered id
	lc.registerName(core2.cloudMap, core2.task, core2.ip)
	expect(t, run(t, "membership"), "ok", "3 core members")
	// a member that runs and is registered but never joined (SHOW SERVERS without it)
	sim := a.hooks.wrapLambda
	a.hooks.wrapLambda = func(api ops.LambdaInvoker) ops.LambdaInvoker { return forgetServer{sim(api), "core-2."} }
	expect(t, run(t, "membership"), "fail", "task at "+core2.ip+", registered in Cloud Map, but Neo4j lists no server core-2.graph-prod.neo4j.internal",
		"`neo4jctl restart cluster graph-prod --member core-2`")
	a.hooks.wrapLambda = sim
}

func diagLeaderStability(t *testing.T, c *diagCase) {
	lc, run := c.lc, c.run
	expect(t, run(t, "leader-stability"), "ok", "0 leader changes since", "heap 10g")
	lc.put(naming.LogStreamDebug("core-1"), lc.now().Add(-30*time.Minute), `2026-01-01 WARN  [o.n.k.i.c.VmPauseMonitorComponent] Detected VM stop-the-world pause: {pauseTime=8140, gcTime=8097, gcCount=1}`)
	lc.put(naming.LogStreamDebug("core-2"), lc.now().Add(-29*time.Minute), `2026-01-01 INFO  [o.n.c.c.c.s.RaftState] [neo4j/4b3f5e1a] Election timeout triggered`,
		`2026-01-01 INFO  [o.n.c.c.c.RaftMachine] [neo4j/4b3f5e1a] Moving to LEADER state at term 2 (I am MemberId{5e400002}), voted for by [MemberId{5e400003}]`)
	lc.put(naming.LogStreamDebug("core-3"), lc.now().Add(-15*time.Minute), `2026-01-01 INFO  [o.n.c.c.c.RaftMachine] [neo4j/4b3f5e1a] Moving to LEADER state at term 3 (I am MemberId{5e400003}), voted for by [MemberId{5e400001}]`)
	lc.put(naming.LogStreamDebug("core-2"), lc.now().Add(-5*time.Minute), `2026-01-01 INFO  [o.n.c.c.c.RaftMachine] [neo4j/4b3f5e1a] Moving to LEADER state at term 4 (I am MemberId{5e400002}), voted for by [MemberId{5e400001}]`)
	expect(t, run(t, "leader-stability"), "fail", "3 leader changes since", "1 after a GC pause", "leaders keep changing: neo4j 3 times",
		"neo4j: core-2 became leader at term 2 (a GC pause)", "pauseTime=8140", "1 VM pause of 2s or more",
		"heap 10g (server.memory.heap.max_size)", "give the heap room", "`neo4jctl update cluster -f cluster.yaml --force`")
}

func diagDatabases(t *testing.T, c *diagCase) {
	lc, run := c.lc, c.run
	if err := lc.s.sim.Fault("core-3", clustersim.NeverAvailable); err != nil {
		t.Fatal(err)
	}
	lc.s.sim.Advance(30 * time.Second)
	expect(t, run(t, "databases"), "fail", "not as requested: neo4j, system", "neo4j on core-3 is unknown (Server is unavailable)",
		"`neo4jctl get cluster graph-prod`")
	expect(t, run(t, "membership"), "fail", "Neo4j has server 5e400003-5e4f-4c1d-9a00-000000000003 Enabled and Unavailable")
	lc.s.sim.Fault("core-3", clustersim.NoFault)
	lc.s.sim.AdvanceUntil(clustersim.View.Ready, 5*time.Minute)
	expect(t, run(t, "databases"), "ok", "2 databases at their requested status")
	// core-3 down while 100000 transactions commit: back, it is behind until it catches up
	dep := lc.s.deployments["core-3"]
	lc.s.sim.Set("core-3", clustersim.Service{Desired: 1, Running: 0, Deployment: dep})
	lc.s.sim.Advance(30 * time.Second)
	if err := lc.s.sim.Write("neo4j", 100000); err != nil {
		t.Fatal(err)
	}
	lc.s.sim.Set("core-3", clustersim.Service{Desired: 1, Running: 1, Deployment: dep})
	lc.s.sim.Advance(40 * time.Second)
	expect(t, run(t, "databases"), "warn", "neo4j on core-3 is ", " transactions behind its leader", "`neo4jctl get cluster graph-prod`")
	lc.s.sim.AdvanceUntil(clustersim.View.Ready, 10*time.Minute)
	lc.s.sim.Advance(5 * time.Minute)
	expect(t, run(t, "databases"), "ok", "2 databases at their requested status")
}

func diagVersions(t *testing.T, c *diagCase) {
	lc, run := c.lc, c.run
	dep := lc.s.deployments["core-2"]
	lc.s.sim.Set("core-2", clustersim.Service{Desired: 1, Running: 0, Deployment: dep})
	lc.s.sim.Set("core-2", clustersim.Service{Desired: 1, Running: 1, Deployment: dep, Version: "5.26.29"})
	lc.s.sim.AdvanceUntil(clustersim.View.Ready, 5*time.Minute)
	expect(t, run(t, "versions"), "fail", "servers on different Neo4j versions outside an upgrade: 5.26.29 on core-2; 5.26.30 on core-1, core-3",
		"the cores' task definition runs 5.26.30", "`neo4jctl update cluster -f cluster.yaml --force`")
	lc.s.sim.Set("core-2", clustersim.Service{Desired: 1, Running: 0, Deployment: dep})
	lc.s.sim.Set("core-2", clustersim.Service{Desired: 1, Running: 1, Deployment: dep})
	lc.s.sim.AdvanceUntil(clustersim.View.Ready, 5*time.Minute)
	expect(t, run(t, "versions"), "ok", "every server on 5.26.30")
}

func diagPlacement(t *testing.T, c *diagCase) {
	fakes, run, core2 := c.fakes, c.run, c.core2
	fakes.volumes.az[core2.volume] = "eu-west-1c"
	expect(t, run(t, "placement"), "fail", "volume "+core2.volume+" is in eu-west-1c, instance "+core2.instance+" in eu-west-1b",
		"aws ec2 create-snapshot --volume-id "+core2.volume)
	clear(fakes.volumes.az)
	expect(t, run(t, "placement"), "ok", "3 cores over 3 AZs (eu-west-1a: core-1; eu-west-1b: core-2; eu-west-1c: core-3)")
}

func diagVolumes(t *testing.T, c *diagCase) {
	lc, run, core2 := c.lc, c.run, c.core2
	lc.detach(core2)
	expect(t, run(t, "volumes"), "fail", "2 of 3 members' volumes attached and mounted", "volume "+core2.volume+" is attached to no instance, not to the member's instance "+core2.instance,
		"boot log: "+core2.instance+" core-2: data volume", "`neo4jctl restart cluster graph-prod --member core-2`")
	lc.attach(core2)
	core3 := lc.member("core-3")
	lc.put(naming.LogStreamBoot("core-3"), lc.now().Add(-time.Minute), fmt.Sprintf("%s core-3: FAILED: volume %s is in eu-west-1a and this instance in eu-west-1c: an instance attaches volumes of its own AZ only; marking this instance unhealthy so that its Auto Scaling group replaces it", core3.instance, core3.volume))
	expect(t, run(t, "volumes"), "fail", "boot log: "+core3.instance+" core-3: FAILED: volume "+core3.volume+" is in eu-west-1a")
	lc.put(naming.LogStreamBoot("core-3"), lc.now(), fmt.Sprintf("%s core-3: data volume %s mounted on %s", core3.instance, core3.volume, naming.DataMount))
	expect(t, run(t, "volumes"), "ok", "3 of 3 members' volumes attached and mounted")
}

func diagDisk(t *testing.T, c *diagCase) {
	lc, run := c.lc, c.run
	lc.s.sim.Advance(time.Minute)
	lc.disk("core-1", 85)
	expect(t, run(t, "disk"), "warn", "core-1 85%", "raise cores.volume.sizeGiB", "`neo4jctl update cluster -f cluster.yaml`")
	lc.s.sim.Advance(time.Minute)
	lc.disk("core-1", 93.5)
	expect(t, run(t, "disk"), "fail", "core-1 94%", "93.5% used")
	lc.s.sim.Advance(time.Minute)
	lc.disk("core-1", 41)
	expect(t, run(t, "disk"), "ok", "core-1 41%")
}

func diagHost(t *testing.T, c *diagCase) {
	lc, a, ctx, run, core2 := c.lc, c.a, c.ctx, c.run, c.core2
	api := ecs.NewFromConfig(a.cfg)
	cluster := aws.String(naming.ECSCluster(lc.name))
	core1 := lc.member("core-1")
	if _, err := api.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: cluster, ContainerInstances: []string{core1.containerInstance}, Status: ecstypes.ContainerInstanceStatusDraining}); err != nil {
		t.Fatal(err)
	}
	expect(t, run(t, "host"), "warn", "container instance "+core1.instance+" is DRAINING", "aws ecs update-container-instances-state --cluster neo4jctl-graph-prod --status ACTIVE")
	if _, err := api.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: cluster, ContainerInstances: []string{core1.containerInstance}, Status: ecstypes.ContainerInstanceStatusActive}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: cluster, ContainerInstance: aws.String(core2.containerInstance), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	expect(t, run(t, "host"), "fail", "instance "+core2.instance+" is not registered in the ECS cluster neo4jctl-graph-prod", "`neo4jctl restart cluster graph-prod --member core-2`")
	core2.containerInstance = lc.registerHost(core2.instance, "core-2")
	providers, err := api.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{*cluster}})
	if err != nil || len(providers.Clusters[0].CapacityProviders) != 4 {
		t.Fatalf("capacity providers: %v %+v", err, providers)
	}
	if _, err := api.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: cluster, CapacityProviders: []string{}, DefaultCapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{}}); err != nil {
		t.Fatal(err)
	}
	expect(t, run(t, "host"), "fail", "is not associated with the ECS cluster neo4jctl-graph-prod: the service cannot place its task", "`neo4jctl update cluster -f cluster.yaml`")
	if _, err := api.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: cluster, CapacityProviders: providers.Clusters[0].CapacityProviders, DefaultCapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{}}); err != nil {
		t.Fatal(err)
	}
	expect(t, run(t, "host"), "ok", "3 of 3 core members' instances connected to ECS")
}

func diagNetwork(t *testing.T, c *diagCase) {
	lc, a, ctx, run := c.lc, c.a, c.ctx, c.run
	api := ec2.NewFromConfig(a.cfg)
	set := func(on bool) {
		if _, err := api.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: aws.String(lc.vpc), EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(on)}}); err != nil {
			t.Fatal(err)
		}
	}
	set(false)
	expect(t, run(t, "network"), "fail", "network-dns-hostnames network.vpcID: enableDnsHostnames is false",
		"aws ec2 modify-vpc-attribute --region eu-west-1 --vpc-id "+lc.vpc+" --enable-dns-hostnames Value=true")
	set(true)
	expect(t, run(t, "network"), "ok", "0 failed")
}

func diagBackups(t *testing.T, c *diagCase) {
	lc, run := c.lc, c.run
	expect(t, run(t, "backups"), "ok", "neo4j: newest restorable point", "system: newest restorable point")
	lc.put("backup/backup/5a6b7c8d", lc.now().Add(-time.Minute), `{"event":"neo4jctl.backup","backup":"failed","ok":false,"exitCode":1,"type":"DIFF","error":"neo4j-admin database backup exited 1: No space left on device"}`)
	expect(t, run(t, "backups"), "fail", "failed runs since", "backup task 5a6b7c8d", "diff backup failed (exit 1): neo4j-admin database backup exited 1: No space left on device",
		"`neo4jctl backup create graph-prod`", "`neo4jctl backup list graph-prod`")
	lc.put("backup/backup/6b7c8d9e", lc.now(), `{"event":"neo4jctl.backup","backup":"ok","ok":true,"exitCode":0,"type":"DIFF"}`)
	expect(t, run(t, "backups"), "warn", "diff backup failed")
	// three hours on, with hourly differentials none newer
	lc.s.sim.Advance(3*time.Hour + time.Minute)
	expect(t, run(t, "backups"), "fail", "late or missing: neo4j, system", "neo4j: newest restorable point 3h", "schedule rate(1 hour) and cron(0 2 * * ? *) (at most 1h apart)")
}

// stop adds a task ECS stopped, as DescribeTasks shows it.
func (f *fakeECSEvidence) stop(id, service string, at time.Time, code ecstypes.TaskStopCode, reason string, exit int32, containerReason string) {
	arn := "arn:aws:ecs:eu-west-1:1:task/graph-prod/" + id
	f.stopped[arn] = ecstypes.Task{TaskArn: aws.String(arn), Group: aws.String("service:" + service),
		LastStatus: aws.String("STOPPED"), DesiredStatus: aws.String("STOPPED"), StopCode: code, StoppedReason: aws.String(reason), StoppedAt: aws.Time(at),
		Containers: []ecstypes.Container{{Name: aws.String(naming.ContainerNeo4j), ExitCode: aws.Int32(exit), Reason: aws.String(containerReason)}}}
}

// A new cluster that cannot form: create times out pointing at diagnose, which names the
// initial primary that is missing and why (its service's events), exit 1.
func TestDiagnoseFormingNamesTheMissingMember(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	a.simulate("graph-dev", 3, 0, "core-3")
	fakes := a.diagFakes()
	fakes.ecs.events["core-3"] = []ecstypes.ServiceEvent{{CreatedAt: aws.Time(time.Now()),
		Message: aws.String("(service core-3) was unable to place a task because no container instance met all of its requirements.")}}
	// a VPC of 2 AZs for 3 cores: two of them share one
	doc := readFile(t, "../../examples/minimal.yaml") + "network:\n  azCount: 2\n"
	code, _, stderr := a.cli("", "create", "cluster", "-f", writeConfig(t, doc), "--timeout", "6m")
	if code != exitFailed {
		t.Fatalf("create: exit %d\n%s", code, stderr)
	}
	mustContain(t, "create", stderr, "See what is wrong with `neo4jctl diagnose graph-dev`")
	code, r, _ := a.diagnose("graph-dev")
	if code != exitFailed {
		t.Fatalf("diagnose: exit %d", code)
	}
	expect(t, r.check(t, "forming"), "fail", "Neo4j has not formed the cluster: it needs all 3 initial primaries (dbms.cluster.minimum_initial_system_primaries_count), 1 missing: core-3",
		"core-3 : does not run: 0 of 1 tasks", "service event: (service core-3) was unable to place a task", "`neo4jctl restart cluster graph-dev --member core-3`")
	expect(t, r.check(t, "members"), "fail", "2 of 3 core members run; not running: core-3")
	expect(t, r.check(t, "databases"), "skipped", "Neo4j's view is missing: unavailable:", "the cluster has not formed")
	expect(t, r.check(t, "leader-stability"), "skipped", "the debug log is off (monitoring.debugLog: false)", "`neo4jctl update cluster -f cluster.yaml`")
	expect(t, r.check(t, "network"), "skipped", "neo4jctl made this VPC (stack neo4jctl-graph-dev-vpc)")
	expect(t, r.check(t, "placement"), "warn", "3 cores over 2 AZs (eu-west-1a: core-1, core-3; eu-west-1b: core-2)",
		"2 of 3 cores in eu-west-1a: losing that AZ loses the majority", "network.azCount: 3")
	if r.Checks[0].Verdict != "fail" || r.Checks[len(r.Checks)-1].Verdict != "skipped" {
		t.Errorf("failures first, skipped last: %s ... %s", r.Checks[0].Verdict, r.Checks[len(r.Checks)-1].Verdict)
	}
}

// The demo's cluster (moto, no container runs): diagnose reports the members not running
// with the evidence, exit 1; bad usage exits 2 before any AWS call.
func TestDiagnoseDemoClusterMembersNotRunning(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	vpc, subnets := a.network("10.30", "a", "b", "c")
	if code, _, stderr := a.cli("", "create", "cluster", "-f", productionConfig(t, vpc, subnets), "--wait=false"); code != 0 {
		t.Fatalf("create: %s", stderr)
	}
	code, text, stderr := a.cli("", "diagnose", "graph-prod")
	if code != exitFailed {
		t.Fatalf("diagnose: exit %d\n%s\n%s", code, text, stderr)
	}
	mustContain(t, "report", text, "Cluster graph-prod in eu-west-1: no-quorum (0 of 3 core members run",
		"FAIL members: 0 of 3 core members run; not running: core-1, core-2, core-3; replicas 0 of 2\n",
		"       core-1 service core-1: 0 of 1 tasks running", "       replicas service replicas: 0 of 2 tasks running",
		"       next: the stopped-tasks, host and log-errors checks say why; once the cause is fixed, `neo4jctl restart cluster graph-prod --member core-1` starts it again",
		"FAIL forming: Neo4j has not formed the cluster: it needs all 3 initial primaries", "FAIL host:", "is not registered in the ECS cluster neo4jctl-graph-prod",
		"OK   stacks: 6 stacks complete", "OK   network: VPC "+vpc, "SKIP databases: Neo4j's view is missing: admin function neo4jctl-graph-prod-operations")
	if strings.Index(text, "FAIL") > strings.Index(text, "OK ") || strings.Index(text, "OK ") > strings.Index(text, "SKIP") {
		t.Errorf("not grouped failures first:\n%s", text)
	}
	mustContain(t, "stderr", stderr, "Error: cluster graph-prod: 4 check(s) failed: members, forming, volumes, host")

	code, r, _ := a.diagnose("graph-prod", "--check", "members,stacks")
	if code != exitFailed || len(r.Checks) != 2 || r.Checks[0].Code != "members" || r.Checks[1].Code != "stacks" {
		t.Errorf("--check members,stacks: exit %d, %+v", code, r.Checks)
	}
	calls := noAWS(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--check", "members", "--check", "dsik"}, "--check dsik: no such check; the checks are stacks, stack-drift, members, stopped-tasks, log-errors, forming, membership, leader-stability, databases, versions, placement, volumes, disk, backups, host, network"},
		{[]string{"--since", "yesterday"}, `--since "yesterday": use a duration (30m, 2h, 3d) or a time`},
		{[]string{"--since", "45d"}, "--since 45d: at most 30d"},
		{[]string{"-o", "xml"}, `-o "xml" is not a format`},
		{[]string{"--bundle", "diagnose_test.go"}, "--bundle diagnose_test.go exists; name a new file"},
	} {
		code, stdout, stderr := a.cli("", append([]string{"diagnose", "graph-prod"}, tc.args...)...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 saying %q", tc.args, code, stderr, tc.want)
		}
	}
	if code, _, stderr := a.cli("", "diagnose"); code != exitUsage {
		t.Errorf("no name: exit %d %s", code, stderr)
	}
	if calls.Load() != 0 {
		t.Errorf("bad usage made %d AWS calls", calls.Load())
	}
}

// The support bundle holds the report and its evidence, and no value of the cluster's
// secrets, even where one leaked into a log line.
func TestDiagnoseBundleRedactsEverySecret(t *testing.T) {
	lc := newLiveCluster(t)
	sm := secretsmanager.NewFromConfig(lc.a.cfg)
	var secrets []string
	for _, id := range []string{naming.AdminSecret(lc.name), naming.ReadOnlySecret(lc.name), naming.ReadWriteSecret(lc.name)} {
		out, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			t.Fatalf("the cluster's secret %s: %v", id, err)
		}
		var v struct{ Password string }
		if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil || len(v.Password) < 16 {
			t.Fatalf("secret %s: %v %q", id, err, v.Password)
		}
		secrets = append(secrets, aws.ToString(out.SecretString), v.Password)
	}
	// the read-only password rotated: its old value (now AWSPREVIOUS) is as much a secret
	newRO := `{"username":"neo4j-ro","password":"rotated-Zq8vN3xKp2Lm7Wc4"}`
	if _, err := sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(naming.ReadOnlySecret(lc.name)), SecretString: aws.String(newRO)}); err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, newRO, "rotated-Zq8vN3xKp2Lm7Wc4")
	// leaks: the admin password in the container log, a user's in the debug log
	core1 := lc.member("core-1")
	container := naming.LogStreamContainerPrefix("core-1") + taskIDOf(core1.task)
	lc.put(container, lc.now().Add(-time.Minute), "NEO4J_AUTH=neo4j/"+secrets[1], "login as neo4j with "+secrets[1]+" refused")
	lc.put(naming.LogStreamDebug("core-2"), lc.now().Add(-time.Minute), `{"user": "app", "password": "`+secrets[5]+`"}`,
		"reader pool: retrying with "+secrets[3]+" then "+secrets[7]) // no pattern catches these: only the values read
	path := filepath.Join(t.TempDir(), "graph-prod.tar.gz")
	code, stdout, stderr := lc.a.cli("", "diagnose", lc.name, "--bundle", path)
	if code != 0 {
		t.Fatalf("diagnose --bundle: exit %d\n%s", code, stderr)
	}
	mustContain(t, "report", stdout, "16 checks since")
	mustContain(t, "stderr", stderr, "Wrote the support bundle "+path+": ", "every secret redacted")
	files := untar(t, path)
	prefix := "neo4jctl-diagnose-graph-prod/"
	for _, name := range []string{"README.txt", "diagnose.json", "cluster.json", "neo4j/status.json", "neo4j/health.json", "aws/stacks.json",
		"aws/stack-events/neo4jctl-graph-prod-core-1.json", "aws/ecs-services.json", "aws/ecs-tasks.json", "aws/ecs-stopped-tasks.json",
		"aws/ecs-container-instances.json", "aws/ec2-volumes.json", "aws/cloud-map.json", "logs/matched-lines.json", "logs/boot.json",
		"logs/recent/" + strings.ReplaceAll(container, "/", "_") + ".log", "logs/recent/core-2_debug.log"} {
		if _, ok := files[prefix+name]; !ok {
			t.Errorf("the bundle has no %s (it has %v)", name, slices.Sorted(maps.Keys(files)))
		}
	}
	for name, body := range files {
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("%s carries a secret's value", name)
			}
		}
	}
	mustContain(t, "container log", files[prefix+"logs/recent/"+strings.ReplaceAll(container, "/", "_")+".log"], "NEO4J_AUTH=neo4j/[REDACTED]", "login as neo4j with [REDACTED] refused")
	mustContain(t, "debug log", files[prefix+"logs/recent/core-2_debug.log"], `"password": "[REDACTED]"`, "reader pool: retrying with [REDACTED] then [REDACTED]")
	mustContain(t, "README", files[prefix+"README.txt"], "cluster graph-prod in eu-west-1", "Redacted everywhere: the values of the cluster's secrets in Secrets Manager (8 values read, current and around a rotation)")
	var r diagReport
	if err := json.Unmarshal([]byte(files[prefix+"diagnose.json"]), &r); err != nil || len(r.Checks) != 16 {
		t.Errorf("diagnose.json: %v, %d checks", err, len(r.Checks))
	}
	mustContain(t, "Neo4j's answer", files[prefix+"neo4j/status.json"], `"address": "core-2.graph-prod.neo4j.internal:7687"`, `"name": "neo4j"`)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("bundle file: %v %v", err, fi.Mode())
	}

	// an identity that may not read the admin secret: the bundle says so, and a password in
	// a recognisable place is still redacted
	lc.a.hooks.diagnoseAWS = func(d *ops.DiagnoseAWS) { d.Secrets = denyAdminSecret{d.Secrets, naming.AdminSecret(lc.name)} }
	path = filepath.Join(t.TempDir(), "denied.tar.gz")
	if code, _, stderr = lc.a.cli("", "diagnose", lc.name, "--bundle", path); code != 0 {
		t.Fatalf("diagnose --bundle: exit %d\n%s", code, stderr)
	}
	mustContain(t, "stderr", stderr, "Wrote the support bundle "+path, "these secrets could not be read", "check before you share it", "AccessDeniedException")
	files = untar(t, path)
	mustContain(t, "README", files[prefix+"README.txt"], "NOT READ, so its values are redacted only where they look like a password: ", "AccessDeniedException")
	mustContain(t, "container log", files[prefix+"logs/recent/"+strings.ReplaceAll(container, "/", "_")+".log"], "NEO4J_AUTH=neo4j/[REDACTED]")
}

// denyAdminSecret is a FAKE Secrets Manager that refuses one secret, as IAM would.
type denyAdminSecret struct {
	ops.SecretReader
	id string
}

func (d denyAdminSecret) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if strings.Contains(aws.ToString(in.SecretId), d.id) {
		return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: arn:aws:iam::123456789012:user/oncall is not authorized to perform: secretsmanager:GetSecretValue"}
	}
	return d.SecretReader.GetSecretValue(ctx, in, opts...)
}

// untar reads a .tar.gz into memory: file name → content.
func untar(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = string(b)
	}
}

// diagnose reads each piece of evidence once, whichever checks need it: the AWS calls of a
// run on a 3-core, 2-replica cluster, counted by a proxy in front of moto.
func TestDiagnoseAWSCalls(t *testing.T) {
	lc := newLiveCluster(t)
	p := newCountingProxy(t)
	n, calls, byOp := p.measureOps(lc.a, "diagnose", lc.name, "-o", "json")
	t.Logf("diagnose: %d AWS calls: %s", n, calls)
	want := map[string]int{
		"query.DescribeStacks": 1, "query.GetTemplate": 1, "query.DescribeAutoScalingGroups": 1,
		"EC2ContainerService.DescribeServices": 1, "EC2ContainerService.ListTasks": 2, "EC2ContainerService.DescribeTasks": 1,
		"EC2ContainerService.DescribeTaskDefinition": 2, "EC2ContainerService.ListContainerInstances": 1,
		"EC2ContainerService.DescribeContainerInstances": 1, "EC2ContainerService.DescribeClusters": 1,
		"query.DescribeVolumes": 1, "query.GetMetricData": 1,
		"Logs_20140328.FilterLogEvents": 1, "Logs_20140328.DescribeLogStreams": 1,
		"Logs_20140328.GetLogEvents":                3, // each core's boot log
		"Route53AutoNaming_v20170314.ListInstances": 4, // each core's name, and core.<namespace>
		"query.DescribeSubnets":                     2, // the members' subnets, then the network check's own
	}
	for op, w := range want {
		if byOp[op] != w {
			t.Errorf("%s: %d calls, want %d", op, byOp[op], w)
		}
	}
	if byOp["Lambda.Invoke"] > 1 {
		t.Errorf("Neo4j asked %d times", byOp["Lambda.Invoke"])
	}
}

// forgetServer is a FAKE in front of the admin channel: Neo4j's answer without the server
// whose address starts so, as for a member that runs but never joined the cluster.
type forgetServer struct {
	ops.LambdaInvoker
	address string
}

func (f forgetServer) Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	out, err := f.LambdaInvoker.Invoke(ctx, in, opts...)
	var r neo4jadmin.Response
	if err != nil || json.Unmarshal(out.Payload, &r) != nil || r.Status == nil {
		return out, err
	}
	r.Status.Servers = slices.DeleteFunc(r.Status.Servers, func(s neo4jadmin.Server) bool { return strings.HasPrefix(s.Address, f.address) })
	out.Payload, err = json.Marshal(r)
	return out, err
}
