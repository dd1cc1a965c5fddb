package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// runState is what a user reads back from AWS to see what a cluster runs: each service's
// desired count, each Auto Scaling group's sizes and instances, the alarms' ActionsEnabled
// and the backup schedules' State.
type runState struct {
	Tasks     map[string]int32  // ECS service -> desired count
	Groups    map[string][4]int // member or "replicas" -> min, max, desired, instances
	Alarms    map[string]bool   // alarm -> actions enabled
	Schedules map[string]string // schedule -> state
	Volumes   map[string]string // member -> data volume id (the stack's output)
}

func (a *motoAccount) runState(name string) runState {
	a.t.Helper()
	ctx := context.Background()
	st := runState{Tasks: map[string]int32{}, Groups: map[string][4]int{}, Alarms: map[string]bool{}, Schedules: map[string]string{}, Volumes: map[string]string{}}
	cfn := cloudformation.NewFromConfig(a.cfg)
	asg := autoscaling.NewFromConfig(a.cfg)
	for _, m := range []string{"core-1", "core-2", "core-3", "replicas"} {
		out, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(naming.StackPrefix(name) + "-" + m)})
		if err != nil {
			a.t.Fatalf("DescribeStacks %s: %v", m, err)
		}
		outputs := map[string]string{}
		for _, o := range out.Stacks[0].Outputs {
			outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
		}
		st.Volumes[m] = outputs[stack.OutputVolumeID]
		g, err := asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{outputs[stack.OutputAutoScalingGroup]}})
		if err != nil || len(g.AutoScalingGroups) != 1 {
			all, _ := asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
			var names []string
			for _, x := range all.AutoScalingGroups {
				names = append(names, aws.ToString(x.AutoScalingGroupName))
			}
			a.t.Fatalf("Auto Scaling group of %s (%s): %v; groups: %v", m, outputs[stack.OutputAutoScalingGroup], err, names)
		}
		grp := g.AutoScalingGroups[0]
		st.Groups[m] = [4]int{int(aws.ToInt32(grp.MinSize)), int(aws.ToInt32(grp.MaxSize)), int(aws.ToInt32(grp.DesiredCapacity)), len(grp.Instances)}
	}
	svcs, err := ecs.NewFromConfig(a.cfg).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(naming.ECSCluster(name)), Services: []string{"core-1", "core-2", "core-3", "replicas"}})
	if err != nil {
		a.t.Fatalf("DescribeServices: %v", err)
	}
	for _, s := range svcs.Services {
		st.Tasks[aws.ToString(s.ServiceName)] = s.DesiredCount
	}
	a.readAlarmsAndSchedules(name, &st)
	return st
}

// readAlarmsAndSchedules reads CloudWatch (query protocol) and EventBridge Scheduler with
// signed requests: the SDK clients speak protocols moto lacks.
func (a *motoAccount) readAlarmsAndSchedules(name string, st *runState) {
	a.t.Helper()
	form := url.Values{"Action": {"DescribeAlarms"}, "Version": {"2010-08-01"}, "AlarmNamePrefix": {naming.StackPrefix(name) + "-"}, "MaxRecords": {"100"}}
	data := a.signed("monitoring", http.MethodPost, "/", []byte(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	var resp struct {
		Alarms []struct {
			Name    string `xml:"AlarmName"`
			Enabled bool   `xml:"ActionsEnabled"`
		} `xml:"DescribeAlarmsResult>MetricAlarms>member"`
	}
	if err := xml.Unmarshal(data, &resp); err != nil {
		a.t.Fatalf("DescribeAlarms: %v", err)
	}
	for _, al := range resp.Alarms {
		st.Alarms[strings.TrimPrefix(al.Name, naming.StackPrefix(name)+"-")] = al.Enabled
	}
	var list struct{ Schedules []struct{ Name string } }
	if err := json.Unmarshal(a.signed("scheduler", http.MethodGet, "/schedules", nil, nil), &list); err != nil {
		a.t.Fatal(err)
	}
	for _, s := range list.Schedules {
		if !strings.HasPrefix(s.Name, naming.StackPrefix(name)+"-") {
			continue
		}
		var got struct{ State string }
		if err := json.Unmarshal(a.signed("scheduler", http.MethodGet, "/schedules/"+url.PathEscape(s.Name), nil, nil), &got); err != nil {
			a.t.Fatal(err)
		}
		st.Schedules[strings.TrimPrefix(s.Name, naming.StackPrefix(name)+"-")] = got.State
	}
}

func (a *motoAccount) signed(service, method, path string, body []byte, header map[string]string) []byte {
	a.t.Helper()
	ctx := context.Background()
	req, err := http.NewRequestWithContext(ctx, method, aws.ToString(a.cfg.BaseEndpoint)+path, bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	req.Header.Set("x-moto-account-id", a.account)
	creds, err := a.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		a.t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, a.cfg.Region, time.Now()); err != nil {
		a.t.Fatal(err)
	}
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		a.t.Fatalf("%s %s %s: HTTP %d: %s", service, method, path, resp.StatusCode, data)
	}
	return data
}

// expect checks the counts of a run state: each core's tasks and group size, the replicas',
// whether alarms act and schedules run.
func (st runState) expect(t *testing.T, what string, core, replicas int, live bool) {
	t.Helper()
	for _, m := range []string{"core-1", "core-2", "core-3"} {
		if st.Tasks[m] != int32(core) || st.Groups[m] != [4]int{core, core, core, core} {
			t.Errorf("%s: %s runs %d tasks, group (min, max, desired, instances) %v; want %d", what, m, st.Tasks[m], st.Groups[m], core)
		}
	}
	if st.Tasks["replicas"] != int32(replicas) || st.Groups["replicas"] != [4]int{replicas, replicas, replicas, replicas} {
		t.Errorf("%s: replicas run %d tasks, group %v; want %d", what, st.Tasks["replicas"], st.Groups["replicas"], replicas)
	}
	if len(st.Alarms) < 8 || len(st.Schedules) < 2 {
		t.Fatalf("%s: %d alarms, %d schedules read back", what, len(st.Alarms), len(st.Schedules))
	}
	for n, on := range st.Alarms {
		if on != live {
			t.Errorf("%s: alarm %s ActionsEnabled %v, want %v", what, n, on, live)
		}
	}
	want := map[bool]string{true: "ENABLED", false: "DISABLED"}[live]
	for n, s := range st.Schedules {
		if s != want {
			t.Errorf("%s: schedule %s is %s, want %s", what, n, s, want)
		}
	}
}

// TestStopStartScaleAndUpdateThroughMoto: stop, start and scale replicas set what runs
// through the stacks' parameters (read back from AWS: ECS desired counts, Auto Scaling
// groups, alarm actions, schedules), start restores exactly what ran, and an update with
// the original file refuses to undo the scale, naming the field.
func TestStopStartScaleAndUpdateThroughMoto(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	name := "graph-prod"
	a.hooks.pollInterval, a.hooks.waitTimeout = 100*time.Millisecond, 30*time.Second
	vpc, subnets := a.network("10.50", "a", "b", "c")
	file := productionConfig(t, vpc, subnets)
	if code, _, stderr := a.cli("", "--quiet", "create", "cluster", "-f", file); code != 0 {
		t.Fatalf("create: %s", stderr)
	}
	a.runState(name).expect(t, "created", 1, 2, true)

	// scale replicas: the plan, then the count, recorded
	code, stdout, stderr := a.cli("", "scale", "replicas", name, "--count", "3", "--dry-run")
	if code != 0 || !strings.Contains(stdout, "Scale the replicas of graph-prod from 2 to 3") {
		t.Fatalf("scale --dry-run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	a.runState(name).expect(t, "after a dry run", 1, 2, true)
	code, _, stderr = a.cli("", "--quiet", "scale", "replicas", name, "--count", "3", "--yes", "--wait=false")
	if code != 0 {
		t.Fatalf("scale: exit %d\n%s", code, stderr)
	}
	mustContain(t, "scale", stderr, "Scaling the replicas to 3", "neo4jctl-graph-prod-replicas: DesiredCount 2 → 3, InstanceCount 2 → 3", "Done: cluster graph-prod has 3 replicas.")
	if strings.Contains(stderr, "-core-") {
		t.Errorf("scale replicas touched a core stack:\n%s", stderr)
	}
	a.runState(name).expect(t, "scaled", 1, 3, true)

	// stop: everything to zero, muted, paused
	code, stdout, stderr = a.cli("", "--quiet", "stop", "cluster", name, "--yes")
	if code != 0 || stdout != "" {
		t.Fatalf("stop: exit %d\n%s\n%s", code, stdout, stderr)
	}
	mustContain(t, "stop", stderr, "1. mute the alarm actions and pause the backup schedules", "2. replicas: 3 tasks -> 0",
		"Kept: the data volumes", "brings back 3 cores and 3 replicas", "Every instance is gone and every data volume detached.",
		"Done: cluster graph-prod stopped. Start it with `neo4jctl start cluster graph-prod`.")
	if n := strings.Count(stderr, "Using account"); n != 1 {
		t.Errorf("stop says which account %d times, want once:\n%s", n, stderr)
	}
	stopped := a.runState(name)
	stopped.expect(t, "stopped", 0, 0, false)

	// the original file says 2 replicas: update refuses, naming the field and its line
	code, _, stderr = a.cli("", "update", "cluster", "-f", file, "--yes")
	if code != exitUsage {
		t.Fatalf("update with the original file: exit %d\n%s", code, stderr)
	}
	countLine := fmt.Sprintf("replicas.count (%s:%d)", file, lineAfter(t, readFile(t, file), "replicas:", "  count: 2"))
	mustContain(t, "refusal", stderr, "update refused: "+file+" disagrees with what commands set on cluster graph-prod",
		countLine+": the file says 2; `neo4jctl scale replicas` set 3", "pass --overwrite-imperative")
	a.runState(name).expect(t, "after a refused update", 0, 0, false)

	// with the scaled count written in, update applies the file and the cluster stays stopped
	agreeing := writeConfig(t, strings.Replace(readFile(t, file), "  count: 2", "  count: 3", 1))
	if code, stdout, stderr = a.cli("", "update", "cluster", "-f", agreeing, "--yes"); code != 0 {
		t.Fatalf("update with the scaled count: exit %d\n%s\n%s", code, stdout, stderr)
	}
	mustContain(t, "update of a stopped cluster", stderr, "Cluster graph-prod is stopped (since ")
	a.runState(name).expect(t, "updated while stopped", 0, 0, false)

	// start: the exact counts that ran, alarms and schedules back on
	code, _, stderr = a.cli("", "--quiet", "start", "cluster", name, "--yes", "--wait=false")
	if code != 0 {
		t.Fatalf("start: exit %d\n%s", code, stderr)
	}
	mustContain(t, "start", stderr, "Bringing the instances back", "Starting every core member at once", "Starting 3 replicas",
		"Turning the alarm actions on", "Done: cluster graph-prod started: 3 cores, 3 replicas.")
	started := a.runState(name)
	started.expect(t, "started", 1, 3, true)
	for m, v := range stopped.Volumes {
		if started.Volumes[m] != v {
			t.Errorf("%s's volume changed across stop and start: %s -> %s", m, v, started.Volumes[m])
		}
	}
	// the same file again: nothing to change
	if code, stdout, stderr = a.cli("", "update", "cluster", "-f", agreeing, "--yes"); code != 0 || !strings.Contains(stderr, "No changes") {
		t.Fatalf("update after start: exit %d\n%s\n%s", code, stdout, stderr)
	}
	a.runState(name).expect(t, "updated after start", 1, 3, true)
	scaleStopAndStartWithoutWaiting(t, a, name, agreeing)
}

// scaleStopAndStartWithoutWaiting: scale replicas --wait=false on a running cluster, then
// the file last applied is refused naming the field and its line, and changes nothing; stop
// --wait=false sets every count to zero at once, an update with a file that agrees keeps it
// stopped, and start --wait=false brings back exactly what ran.
func scaleStopAndStartWithoutWaiting(t *testing.T, a *motoAccount, name, applied string) {
	t.Helper()
	if code, _, stderr := a.cli("", "--quiet", "scale", "replicas", name, "--count", "4", "--yes", "--wait=false"); code != 0 {
		t.Fatalf("scale replicas --wait=false: exit %d\n%s", code, stderr)
	}
	a.runState(name).expect(t, "scaled to 4", 1, 4, true)
	code, stdout, stderr := a.cli("", "update", "cluster", "-f", applied, "--yes")
	if code != exitUsage || stdout != "" {
		t.Fatalf("update of the running cluster with the file last applied: exit %d\n%s\n%s", code, stdout, stderr)
	}
	line := fmt.Sprintf("replicas.count (%s:%d)", applied, lineAfter(t, readFile(t, applied), "replicas:", "  count: 3"))
	mustContain(t, "refusal of a running cluster", stderr, line+": the file says 3; `neo4jctl scale replicas` set 4", "Nothing was changed.")
	a.runState(name).expect(t, "after a refused update of the running cluster", 1, 4, true)
	if code, _, stderr = a.cli("", "--quiet", "stop", "cluster", name, "--yes", "--wait=false"); code != 0 {
		t.Fatalf("stop --wait=false: exit %d\n%s", code, stderr)
	}
	if strings.Contains(stderr, "Every instance is gone") {
		t.Errorf("stop --wait=false waited for the instances:\n%s", stderr)
	}
	a.runState(name).expect(t, "stopped without waiting", 0, 0, false)
	agreeing := writeConfig(t, strings.Replace(readFile(t, applied), "replicas:\n  count: 3", "replicas:\n  count: 4", 1))
	if code, stdout, stderr = a.cli("", "update", "cluster", "-f", agreeing, "--yes"); code != 0 {
		t.Fatalf("update of the stopped cluster: exit %d\n%s\n%s", code, stdout, stderr)
	}
	a.runState(name).expect(t, "updated while stopped without waiting", 0, 0, false)
	if code, _, stderr = a.cli("", "--quiet", "start", "cluster", name, "--yes", "--wait=false"); code != 0 {
		t.Fatalf("start --wait=false: exit %d\n%s", code, stderr)
	}
	a.runState(name).expect(t, "started again", 1, 4, true)
}

// lineAfter is the 1-based number of the first line equal to line after the line that
// starts with section.
func lineAfter(t *testing.T, doc, section, line string) int {
	t.Helper()
	in := false
	for i, l := range strings.Split(doc, "\n") {
		in = in || strings.HasPrefix(l, section)
		if in && l == line {
			return i + 1
		}
	}
	t.Fatalf("no %q after %q", line, section)
	return 0
}

// TestResetDataThroughMoto: reset-data refuses a running cluster, names each volume, makes
// the user type the name, and gives every member a new volume through its stack; the old
// ones are deleted and the restore marker cleared.
func TestResetDataThroughMoto(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	name := "graph-prod"
	a.hooks.pollInterval, a.hooks.waitTimeout = 100*time.Millisecond, 30*time.Second
	vpc, subnets := a.network("10.60", "a", "b", "c")
	if code, _, stderr := a.cli("", "--quiet", "create", "cluster", "-f", productionConfig(t, vpc, subnets)); code != 0 {
		t.Fatalf("create: %s", stderr)
	}
	code, _, stderr := a.cli("", "reset-data", "cluster", name, "--yes")
	if code != exitFailed {
		t.Fatalf("reset-data of a running cluster: exit %d\n%s", code, stderr)
	}
	mustContain(t, "refusal", stderr, "reset-data refused: cluster graph-prod is not stopped (core-1 runs 1 task on 1 instance",
		"nothing was changed. Stop it first: `neo4jctl stop cluster graph-prod`")
	if code, _, stderr = a.cli("", "--quiet", "stop", "cluster", name, "--yes"); code != 0 {
		t.Fatalf("stop: %s", stderr)
	}
	before := a.runState(name)
	ctx := context.Background()
	bucket := a.bucketOf(name)
	s3c := s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(naming.RestoreDoneKey), Body: strings.NewReader(`{"complete":true}`)}); err != nil {
		t.Fatal(err)
	}

	// asked on a terminal: a wrong name changes nothing
	tty := true
	a.hooks.stdinTTY = &tty
	code, _, stderr = a.cli("graph-dev\n", "reset-data", "cluster", name)
	if code != exitFailed || !strings.Contains(stderr, "the name did not match; nothing changed") {
		t.Fatalf("wrong name: exit %d\n%s", code, stderr)
	}
	for _, m := range []string{"core-1", "core-2", "core-3"} {
		mustContain(t, "the plan names each volume", stderr, fmt.Sprintf("%s  %s  500 GiB", m, before.Volumes[m]))
	}
	code, _, stderr = a.cli(name+"\n", "--quiet", "reset-data", "cluster", name, "--restore-from", "s3://old-backups/graph-prod/")
	if code != 0 {
		t.Fatalf("reset-data: exit %d\n%s", code, stderr)
	}
	after := a.runState(name)
	ec2c := ec2.NewFromConfig(a.cfg)
	for _, m := range []string{"core-1", "core-2", "core-3"} {
		old, fresh := before.Volumes[m], after.Volumes[m]
		mustContain(t, "reset-data", stderr, fmt.Sprintf("Deleted volume %s (%s)", old, m))
		if fresh == "" || fresh == old {
			t.Errorf("%s: volume %s after reset-data, was %s\n%s", m, fresh, old, stderr)
			continue
		}
		if out, err := ec2c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{old}}); err == nil && len(out.Volumes) > 0 {
			t.Errorf("%s's old volume %s is still there", m, old)
		}
		out, err := ec2c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{fresh}})
		if err != nil || len(out.Volumes) != 1 || aws.ToInt32(out.Volumes[0].Size) != 500 || !aws.ToBool(out.Volumes[0].Encrypted) {
			t.Errorf("%s's new volume %s: %v %+v", m, fresh, err, out)
		}
	}
	if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(naming.RestoreDoneKey)}); err == nil {
		t.Error("the restore marker is still in the bucket")
	}
	mustContain(t, "reset-data", stderr, "Start it with `neo4jctl start cluster graph-prod`.")
	after.expect(t, "reset", 0, 0, false)
}

// bucketOf is a cluster's bucket, from its shared stack.
func (a *motoAccount) bucketOf(name string) string {
	a.t.Helper()
	out, err := cloudformation.NewFromConfig(a.cfg).DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(naming.StackPrefix(name) + "-shared")})
	if err != nil {
		a.t.Fatal(err)
	}
	for _, o := range out.Stacks[0].Outputs {
		if aws.ToString(o.OutputKey) == stack.OutputBucketName {
			return aws.ToString(o.OutputValue)
		}
	}
	a.t.Fatal("no bucket")
	return ""
}

// TestStopStartWithTheSimulatorForming: a cluster stopped and started with the Neo4j waits,
// a SIMULATED Neo4j (internal/clustersim) behind the admin Lambda following moto's ECS
// services: start waits for the cores to form before it starts the replicas, and for the
// replicas to host their databases before the alarms act again; the counts that ran come
// back exactly, and the replica servers of before the stop are removed.
func TestStopStartWithTheSimulatorForming(t *testing.T) {
	a, s, _ := formedProduction(t, twoDatabases(3, 2))
	name := "graph-prod"
	if code, _, stderr := a.cli("", "--quiet", "stop", "cluster", name, "--yes"); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, stderr)
	}
	a.runState(name).expect(t, "stopped", 0, 0, false)
	s.schedule(context.Background()) // what runs now: nothing
	for _, sv := range s.sim.View().Servers {
		if sv.Running {
			t.Errorf("%s still runs after stop", sv.Member)
		}
	}
	code, _, stderr := a.cli("", "--quiet", "start", "cluster", name, "--yes")
	if code != 0 {
		t.Fatalf("start: exit %d\n%s", code, stderr)
	}
	order := []string{"Starting every core member at once", "Neo4j has formed the cluster: 3 core members",
		"Starting 2 replicas", "Neo4j shows 2 secondaries, each hosting its databases.", "Turning the alarm actions on",
		"Done: cluster graph-prod started: 3 cores, 2 replicas."}
	for i := 1; i < len(order); i++ {
		if a, b := strings.Index(stderr, order[i-1]), strings.Index(stderr, order[i]); a < 0 || b < a {
			t.Errorf("%q does not come before %q:\n%s", order[i-1], order[i], stderr)
		}
	}
	mustContain(t, "start", stderr, "Removed replica server")
	a.runState(name).expect(t, "started", 1, 2, true)
	if v := s.sim.View(); !v.Ready() {
		t.Errorf("the simulated cluster is not ready after start: %+v", v.Servers)
	}
}

// TestScaleReplicasWaitsForTheSecondaries: scale replicas with --wait through moto and a
// simulated Neo4j: out, it waits until Neo4j shows the new secondaries hosting their
// databases (which follow the replicas); in, it drops the servers of the replicas that left;
// the file last applied is then refused naming replicas.count.
func TestScaleReplicasWaitsForTheSecondaries(t *testing.T) {
	a, s, file := formedProduction(t, twoDatabases(3, 2))
	name := "graph-prod"
	code, _, stderr := a.cli("", "--quiet", "scale", "replicas", name, "--count", "3", "--yes")
	if code != 0 {
		t.Fatalf("scale out: exit %d\n%s", code, stderr)
	}
	mustContain(t, "scale out", stderr, "Scaling the replicas to 3", "Neo4j shows 3 secondaries, each hosting its databases.", "Done: cluster graph-prod has 3 replicas.")
	a.runState(name).expect(t, "scaled out", 1, 3, true)
	if n := secondaries(s); n != 3 {
		t.Errorf("scaled out: Neo4j has %d secondaries Enabled and Available, want 3", n)
	}
	code, _, stderr = a.cli("", "--quiet", "scale", "replicas", name, "--count", "1", "--yes")
	if code != 0 {
		t.Fatalf("scale in: exit %d\n%s", code, stderr)
	}
	mustContain(t, "scale in", stderr, "Removed replica server", "Neo4j shows 1 secondaries, each hosting its databases.", "Done: cluster graph-prod has 1 replicas.")
	a.runState(name).expect(t, "scaled in", 1, 1, true)
	if n := secondaries(s); n != 1 {
		t.Errorf("scaled in: Neo4j has %d secondaries Enabled and Available, want 1", n)
	}
	code, _, stderr = a.cli("", "update", "cluster", "-f", file, "--yes")
	line := fmt.Sprintf("replicas.count (%s:%d)", file, lineAfter(t, readFile(t, file), "replicas:", "  count: 2"))
	if code != exitUsage || !strings.Contains(stderr, line+": the file says 2; `neo4jctl scale replicas` set 1") {
		t.Fatalf("update with the file last applied: exit %d\n%s", code, stderr)
	}
	a.runState(name).expect(t, "after the refused update", 1, 1, true)
}

// secondaries counts the simulated cluster's servers that are listed, not core members,
// Enabled and Available.
func secondaries(s *simulated) int {
	n := 0
	for _, sv := range s.sim.View().Servers {
		if sv.Listed && !strings.HasPrefix(sv.Member, "core-") && sv.State == "Enabled" && sv.Health == "Available" {
			n++
		}
	}
	return n
}
