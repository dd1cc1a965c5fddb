package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/neo4jctl/neo4jctl/internal/clustersim"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
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
// next step) and the exit code, and mends it.
func TestDiagnoseEachCheckFails(t *testing.T) {
	lc := newLiveCluster(t)
	a := lc.a
	fakes := a.diagFakes()
	ctx := context.Background()
	run := func(t *testing.T, code string, args ...string) diagCheck {
		t.Helper()
		exit, r, stderr := a.diagnose(lc.name, append([]string{"--check", code}, args...)...)
		c := r.check(t, code)
		if want := map[string]int{"fail": 1, "warn": 0, "ok": 0, "skipped": 0}[c.Verdict]; exit != want || len(r.Checks) != 1 {
			t.Errorf("--check %s: exit %d with %s, %d checks\n%s", code, exit, c.Verdict, len(r.Checks), stderr)
		}
		if c.Verdict == "fail" {
			mustContain(t, "stderr", stderr, "Error: cluster graph-prod: 1 check(s) failed: "+code)
		}
		return c
	}
	core2 := lc.member("core-2")

	t.Run("stacks", func(t *testing.T) {
		st := naming.StackName(lc.name, naming.KindCore, 3)
		lc.drift.stuck = map[string]string{st: "UPDATE_ROLLBACK_FAILED"}
		lc.drift.events = map[string][]cfntypes.StackEvent{st: {failedEvent(st, "Service", "AWS::ECS::Service", "Resource handler returned message: service core-3 not found", 0)}}
		expect(t, run(t, "stacks"), "fail", "1 of 6 stacks not as they should be", "UPDATE_ROLLBACK_FAILED",
			"event: Service (AWS::ECS::Service) CREATE_FAILED: Resource handler returned message: service core-3 not found",
			"aws cloudformation continue-update-rollback --stack-name "+st)
		lc.drift.stuck, lc.drift.events = nil, nil
		expect(t, run(t, "stacks"), "ok", "6 stacks complete")
	})

	t.Run("stack-drift", func(t *testing.T) {
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
	})

	t.Run("members", func(t *testing.T) {
		fakes.ecs.running["core-2"] = 0
		fakes.ecs.events["core-2"] = []ecstypes.ServiceEvent{
			{CreatedAt: aws.Time(lc.now().Add(-5 * time.Minute)), Message: aws.String("(service core-2) was unable to place a task because no container instance met all of its requirements. The closest matching container-instance is missing an attribute required by your task.")},
			{CreatedAt: aws.Time(lc.now().Add(-4 * time.Hour)), Message: aws.String("(service core-2) was unable to place a task: an old event, before the window")},
			{CreatedAt: aws.Time(lc.now().Add(-3 * time.Minute)), Message: aws.String("(service core-2) has reached a steady state.")}}
		c := run(t, "members")
		expect(t, c, "fail", "2 of 3 core members run; not running: core-2; replicas 2 of 2", "core-2 service core-2: 0 of 1 tasks running",
			"service event: (service core-2) was unable to place a task because no container instance met all of its requirements",
			"`neo4jctl restart cluster graph-prod --member core-2` starts it again")
		if strings.Contains(c.evidence(), "old event") || strings.Contains(c.evidence(), "steady state") {
			t.Errorf("events outside the window or that say nothing are shown:\n%s", c.evidence())
		}
		delete(fakes.ecs.running, "core-2")
		delete(fakes.ecs.events, "core-2")
	})

	t.Run("stopped-tasks", func(t *testing.T) {
		expect(t, run(t, "stopped-tasks"), "ok", "no member task stopped since")
		expect(t, run(t, "stopped-tasks", "--since", "6h"), "warn", "no member task stopped since",
			"stops before", "are not visible (ECS keeps stopped tasks about an hour")
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
	})

	t.Run("log-errors", func(t *testing.T) {
		lc.put(naming.LogStreamContainerPrefix("core-2")+taskIDOf(core2.task), lc.now().Add(-2*time.Minute),
			"2026-01-01 00:00:00.000+0000 ERROR Failed to resolve core-3.graph-prod.neo4j.internal:6000 (UnknownHostException)")
		expect(t, run(t, "log-errors"), "warn", "discovery failure (1 line on core-2)", "UnknownHostException", "`neo4jctl diagnose graph-prod --check membership`")
		lc.put(naming.LogStreamContainerPrefix("core-2")+taskIDOf(core2.task), lc.now().Add(-time.Minute),
			"java.lang.OutOfMemoryError: Java heap space", "Exception in thread \"neo4j.BoltWorker\" java.lang.OutOfMemoryError: Java heap space")
		expect(t, run(t, "log-errors"), "fail", "out of memory (2 lines on core-2); discovery failure (1 line on core-2)",
			"core-2 "+naming.LogStreamContainerPrefix("core-2")+taskIDOf(core2.task)+": java.lang.OutOfMemoryError: Java heap space",
			"give Neo4j more memory", "`neo4jctl update cluster -f cluster.yaml --force`")
	})

	t.Run("membership", func(t *testing.T) {
		lc.deregisterName(core2.cloudMap, core2.task)
		expect(t, run(t, "membership"), "fail", "its task runs at "+core2.ip+" but core-2.graph-prod.neo4j.internal is not registered in Cloud Map",
			"`neo4jctl restart cluster graph-prod --member core-2`")
		lc.registerName(core2.cloudMap, core2.task, "10.30.99.99")
		expect(t, run(t, "membership"), "fail", "core-2.graph-prod.neo4j.internal is registered as 10.30.99.99 in Cloud Map, its running task is at "+core2.ip)
		lc.deregisterName(core2.cloudMap, core2.task) // moto adds a second instance of a re-registered id
		lc.registerName(core2.cloudMap, core2.task, core2.ip)
		expect(t, run(t, "membership"), "ok", "3 core members")
	})

	t.Run("leader-stability", func(t *testing.T) {
		lc.put(naming.LogStreamDebug("core-1"), lc.now().Add(-30*time.Minute), `2026-01-01 WARN  [o.n.k.i.c.VmPauseMonitorComponent] Detected VM stop-the-world pause: {pauseTime=8140, gcTime=8097, gcCount=1}`)
		lc.put(naming.LogStreamDebug("core-2"), lc.now().Add(-29*time.Minute), `2026-01-01 INFO  [o.n.c.c.c.s.RaftState] [neo4j/4b3f5e1a] Election timeout triggered`,
			`2026-01-01 INFO  [o.n.c.c.c.RaftMachine] [neo4j/4b3f5e1a] Moving to LEADER state at term 2 (I am MemberId{5e400002}), voted for by [MemberId{5e400003}]`)
		lc.put(naming.LogStreamDebug("core-3"), lc.now().Add(-15*time.Minute), `2026-01-01 INFO  [o.n.c.c.c.RaftMachine] [neo4j/4b3f5e1a] Moving to LEADER state at term 3 (I am MemberId{5e400003}), voted for by [MemberId{5e400001}]`)
		lc.put(naming.LogStreamDebug("core-2"), lc.now().Add(-5*time.Minute), `2026-01-01 INFO  [o.n.c.c.c.RaftMachine] [neo4j/4b3f5e1a] Moving to LEADER state at term 4 (I am MemberId{5e400002}), voted for by [MemberId{5e400001}]`)
		expect(t, run(t, "leader-stability"), "fail", "3 leader changes since", "1 after a GC pause", "leaders keep changing: neo4j 3 times",
			"neo4j: core-2 became leader at term 2 (a GC pause)", "pauseTime=8140", "1 VM pause of 2s or more",
			"heap 10g (server.memory.heap.max_size)", "give the heap room", "`neo4jctl update cluster -f cluster.yaml --force`")
	})

	t.Run("databases", func(t *testing.T) {
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
	})

	t.Run("versions", func(t *testing.T) {
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
	})

	t.Run("placement", func(t *testing.T) {
		fakes.volumes.az[core2.volume] = "eu-west-1c"
		expect(t, run(t, "placement"), "fail", "volume "+core2.volume+" is in eu-west-1c, instance "+core2.instance+" in eu-west-1b",
			"aws ec2 create-snapshot --volume-id "+core2.volume)
		clear(fakes.volumes.az)
	})

	t.Run("volumes", func(t *testing.T) {
		lc.detach(core2)
		expect(t, run(t, "volumes"), "fail", "2 of 3 members' volumes attached and mounted", "volume "+core2.volume+" is attached to no instance, not to the member's instance "+core2.instance,
			"boot log: "+core2.instance+" core-2: data volume", "`neo4jctl restart cluster graph-prod --member core-2`")
		lc.attach(core2)
		core3 := lc.member("core-3")
		lc.put(naming.LogStreamBoot("core-3"), lc.now().Add(-time.Minute), fmt.Sprintf("%s core-3: FAILED: volume %s is in eu-west-1a and this instance in eu-west-1c: an instance attaches volumes of its own AZ only; marking this instance unhealthy so that its Auto Scaling group replaces it", core3.instance, core3.volume))
		expect(t, run(t, "volumes"), "fail", "boot log: "+core3.instance+" core-3: FAILED: volume "+core3.volume+" is in eu-west-1a")
		lc.put(naming.LogStreamBoot("core-3"), lc.now(), fmt.Sprintf("%s core-3: data volume %s mounted on %s", core3.instance, core3.volume, naming.DataMount))
		expect(t, run(t, "volumes"), "ok", "3 of 3 members' volumes attached and mounted")
	})

	t.Run("disk", func(t *testing.T) {
		lc.s.sim.Advance(time.Minute)
		lc.disk("core-1", 85)
		expect(t, run(t, "disk"), "warn", "core-1 85%", "raise cores.volume.sizeGiB", "`neo4jctl update cluster -f cluster.yaml`")
		lc.s.sim.Advance(time.Minute)
		lc.disk("core-1", 93.5)
		expect(t, run(t, "disk"), "fail", "core-1 94%", "93.5% used")
		lc.s.sim.Advance(time.Minute)
		lc.disk("core-1", 41)
	})

	t.Run("host", func(t *testing.T) {
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
	})

	t.Run("network", func(t *testing.T) {
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
	})

	t.Run("backups", func(t *testing.T) {
		lc.put("backup/backup/5a6b7c8d", lc.now().Add(-time.Minute), `{"event":"neo4jctl.backup","backup":"failed","ok":false,"exitCode":1,"type":"DIFF","error":"neo4j-admin database backup exited 1: No space left on device"}`)
		expect(t, run(t, "backups"), "fail", "failed runs since", "backup task 5a6b7c8d", "diff backup failed (exit 1): neo4j-admin database backup exited 1: No space left on device",
			"`neo4jctl backup create graph-prod`", "`neo4jctl backup list graph-prod`")
		lc.put("backup/backup/6b7c8d9e", lc.now(), `{"event":"neo4jctl.backup","backup":"ok","ok":true,"exitCode":0,"type":"DIFF"}`)
		expect(t, run(t, "backups"), "warn", "diff backup failed")
		// three hours on, with hourly differentials none newer
		lc.s.sim.Advance(3*time.Hour + time.Minute)
		expect(t, run(t, "backups"), "fail", "late or missing: neo4j, system", "neo4j: newest restorable point 3h", "schedule rate(1 hour) and cron(0 2 * * ? *) (at most 1h apart)")
	})
}

// stop adds a task ECS stopped, as DescribeTasks shows it.
func (f *fakeECSEvidence) stop(id, service string, at time.Time, code ecstypes.TaskStopCode, reason string, exit int32, containerReason string) {
	arn := "arn:aws:ecs:eu-west-1:1:task/graph-prod/" + id
	f.stopped[arn] = ecstypes.Task{TaskArn: aws.String(arn), Group: aws.String("service:" + service),
		LastStatus: aws.String("STOPPED"), DesiredStatus: aws.String("STOPPED"), StopCode: code, StoppedReason: aws.String(reason), StoppedAt: aws.Time(at),
		Containers: []ecstypes.Container{{Name: aws.String(naming.ContainerNeo4j), ExitCode: aws.Int32(exit), Reason: aws.String(containerReason)}}}
}
