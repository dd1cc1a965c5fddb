package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/neo4jctl/neo4jctl/internal/clustersim"
	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// liveCluster is a running cluster for diagnose's tests, as far as moto and the cluster
// SIMULATOR can make one. Neo4j's state is the simulator's, behind the admin Lambda (see
// simulated). AWS's is moto's, made to look like a running cluster by the test playing the
// parts that run inside AWS: the ECS agent (each member's instance registered in the ECS
// cluster with its member attribute), the ECS scheduler (a task of each member and replica
// started with RunTask, in the service's network, so it has an address), ECS service
// discovery (each member's Cloud Map name registered with its task's address, the client
// endpoint core.<namespace> with all of them), the user data (the member's volume attached
// and "mounted" in its boot log), the agent (its disk metric, its container log) and the
// backup task (backups in the bucket with their manifests). Everything diagnose reads of
// them is then moto's real state. What neither can show comes from FAKES named as such.
type liveCluster struct {
	a        *motoAccount
	s        *simulated
	name     string
	vpc      string
	bucket   string
	group    string
	members  []*liveMember
	replicas []string // replica task ARNs
	drift    *driftCFN
}

type liveMember struct {
	name, stack, instance, volume, az, service, cloudMap, task, ip, containerInstance string
}

// newLiveCluster creates cluster graph-prod (examples/production.yaml with the debug log
// on) in a network of its own, waits for the simulator to form it, and plays AWS's part.
func newLiveCluster(t *testing.T) *liveCluster {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	manualTasks(t)
	lc := &liveCluster{a: a, name: "graph-prod", group: naming.LogGroup("graph-prod")}
	lc.drift = &driftCFN{status: map[string]string{}, resources: map[string][]cfntypes.StackResourceDrift{}}
	a.hooks.wrapCFN = func(real engine.CloudFormation) engine.CloudFormation {
		lc.drift.CloudFormation = real
		return lc.drift
	}
	vpc, subnets := a.network("10.30", "a", "b", "c")
	lc.vpc = vpc
	// simulated time starts now: CloudWatch takes no log events from weeks ago
	lc.s = a.simulateWith(lc.name, clustersim.Config{Cores: 3, DefaultSecondaries: 2, Start: time.Now().UTC().Truncate(time.Second)})
	doc := strings.Replace(readFile(t, productionConfig(t, vpc, subnets)), "  dashboard: true", "  dashboard: true\n  debugLog: true", 1)
	if code, _, stderr := a.cli("", "create", "cluster", "-f", writeConfig(t, doc)); code != 0 {
		t.Fatalf("create: exit %d\n%s", code, stderr)
	}
	lc.play()
	return lc
}

// manualTasks makes moto's ECS tasks stay RUNNING until stopped (by default moto moves a
// task to STOPPED as soon as it is described), for this test.
func manualTasks(t *testing.T) {
	set := func(path, body string) {
		resp, err := http.Post(testbed.SharedMoto(t).Endpoint()+"/moto-api/state-manager/"+path, "application/json", strings.NewReader(body))
		if err != nil || resp.StatusCode/100 != 2 {
			t.Fatalf("moto state manager %s: %v %v", path, err, resp)
		}
		resp.Body.Close()
	}
	set("set-transition", `{"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1000000}}`)
	t.Cleanup(func() { set("unset-transition", `{"model_name": "ecs::task"}`) })
}

func (lc *liveCluster) now() time.Time { return lc.s.sim.Now() }

func (lc *liveCluster) ctx() context.Context { return context.Background() }

// outputs are the cluster's stacks' outputs by stack name.
func (lc *liveCluster) outputs() map[string]map[string]string {
	out, err := cloudformation.NewFromConfig(lc.a.cfg).DescribeStacks(lc.ctx(), &cloudformation.DescribeStacksInput{})
	if err != nil {
		lc.a.t.Fatal(err)
	}
	all := map[string]map[string]string{}
	for _, s := range out.Stacks {
		m := map[string]string{}
		for _, o := range s.Outputs {
			m[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
		}
		all[aws.ToString(s.StackName)] = m
	}
	return all
}

// play does in moto what AWS would do for a running cluster (see liveCluster).
func (lc *liveCluster) play() {
	t := lc.a.t
	outs := lc.outputs()
	lc.bucket = outs[naming.StackName(lc.name, naming.KindShared, 0)][stack.OutputBucketName]
	for i := 1; i <= 3; i++ {
		st := naming.StackName(lc.name, naming.KindCore, i)
		o := outs[st]
		m := &liveMember{name: naming.CoreService(i), stack: st, volume: o[stack.OutputVolumeID], service: o[stack.OutputService], cloudMap: o[stack.OutputMemberServiceID]}
		g, err := autoscaling.NewFromConfig(lc.a.cfg).DescribeAutoScalingGroups(lc.ctx(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{o[stack.OutputAutoScalingGroup]}})
		if err != nil || len(g.AutoScalingGroups) != 1 || len(g.AutoScalingGroups[0].Instances) != 1 {
			t.Fatalf("%s's group: %v %+v", m.name, err, g)
		}
		m.instance, m.az = aws.ToString(g.AutoScalingGroups[0].Instances[0].InstanceId), aws.ToString(g.AutoScalingGroups[0].Instances[0].AvailabilityZone)
		lc.members = append(lc.members, m)
		m.containerInstance = lc.registerHost(m.instance, m.name)
		m.task, m.ip = lc.runTask(m.service)
		lc.registerName(m.cloudMap, m.task, m.ip)
		lc.attach(m)
		lc.put(naming.LogStreamBoot(m.name), lc.now().Add(-50*time.Minute), fmt.Sprintf("%s %s: attaching data volume %s in %s", m.instance, m.name, m.volume, m.az),
			fmt.Sprintf("%s %s: data volume %s mounted on %s", m.instance, m.name, m.volume, naming.DataMount))
		lc.put(naming.LogStreamContainerPrefix(m.name)+taskIDOf(m.task), lc.now().Add(-40*time.Minute), "Started.", "Remote interface available at http://localhost:7474/")
		lc.put(naming.LogStreamDebug(m.name), lc.now().Add(-40*time.Minute), "[o.n.k.i.DatabaseLifecycles] Database started")
		lc.disk(m.name, 41)
	}
	ops := outs[naming.StackName(lc.name, naming.KindOperations, 0)]
	for _, m := range lc.members {
		lc.registerName(ops[stack.OutputCoresServiceID], m.task, m.ip)
	}
	for range 2 {
		task, _ := lc.runTask(naming.ReplicasService)
		lc.replicas = append(lc.replicas, task)
	}
	for _, db := range []string{"system", "neo4j"} {
		lc.backup(db, lc.now().Add(-30*time.Minute))
	}
	lc.put("backup/backup/0f1e2d3c", lc.now().Add(-29*time.Minute), `{"event":"neo4jctl.backup","backup":"ok","ok":true,"exitCode":0,"type":"DIFF"}`)
	for i := range 3 {
		lc.drift.set(naming.StackName(lc.name, naming.KindCore, i+1), "IN_SYNC")
	}
}

func taskIDOf(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// registerHost is the ECS agent's registration of an instance, with its member attribute.
func (lc *liveCluster) registerHost(instance, member string) string {
	api := ecs.NewFromConfig(lc.a.cfg)
	cluster := naming.ECSCluster(lc.name)
	out, err := api.RegisterContainerInstance(lc.ctx(), &ecs.RegisterContainerInstanceInput{Cluster: aws.String(cluster),
		InstanceIdentityDocument: aws.String(fmt.Sprintf(`{"instanceId": %q}`, instance))})
	if err != nil {
		lc.a.t.Fatalf("RegisterContainerInstance: %v", err)
	}
	arn := aws.ToString(out.ContainerInstance.ContainerInstanceArn)
	if _, err := api.PutAttributes(lc.ctx(), &ecs.PutAttributesInput{Cluster: aws.String(cluster), Attributes: []ecstypes.Attribute{
		{Name: aws.String(naming.AttrMember), Value: aws.String(member), TargetId: aws.String(arn)}}}); err != nil {
		lc.a.t.Fatalf("PutAttributes: %v", err)
	}
	return arn
}

// runTask is the ECS scheduler starting a task of a service, in the service's network.
func (lc *liveCluster) runTask(service string) (string, string) {
	api := ecs.NewFromConfig(lc.a.cfg)
	cluster := naming.ECSCluster(lc.name)
	svc, err := api.DescribeServices(lc.ctx(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil || len(svc.Services) != 1 {
		lc.a.t.Fatalf("DescribeServices %s: %v", service, err)
	}
	out, err := api.RunTask(lc.ctx(), &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: svc.Services[0].TaskDefinition,
		Group: aws.String("service:" + service), LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: svc.Services[0].NetworkConfiguration})
	if err != nil || len(out.Tasks) != 1 {
		lc.a.t.Fatalf("RunTask %s: %v", service, err)
	}
	task := out.Tasks[0]
	ip := ""
	for _, at := range task.Attachments {
		for _, d := range at.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" {
				ip = aws.ToString(d.Value)
			}
		}
	}
	return aws.ToString(task.TaskArn), ip
}

// registerName is ECS service discovery registering a task's address under a Cloud Map
// service.
func (lc *liveCluster) registerName(serviceID, task, ip string) {
	if _, err := servicediscovery.NewFromConfig(lc.a.cfg).RegisterInstance(lc.ctx(), &servicediscovery.RegisterInstanceInput{
		ServiceId: aws.String(serviceID), InstanceId: aws.String(taskIDOf(task)), Attributes: map[string]string{"AWS_INSTANCE_IPV4": ip}}); err != nil {
		lc.a.t.Fatalf("RegisterInstance: %v", err)
	}
}

func (lc *liveCluster) deregisterName(serviceID, task string) {
	if _, err := servicediscovery.NewFromConfig(lc.a.cfg).DeregisterInstance(lc.ctx(), &servicediscovery.DeregisterInstanceInput{
		ServiceId: aws.String(serviceID), InstanceId: aws.String(taskIDOf(task))}); err != nil {
		lc.a.t.Fatalf("DeregisterInstance: %v", err)
	}
}

// attach is the user data attaching the member's volume to its instance.
func (lc *liveCluster) attach(m *liveMember) {
	if _, err := ec2.NewFromConfig(lc.a.cfg).AttachVolume(lc.ctx(), &ec2.AttachVolumeInput{VolumeId: aws.String(m.volume), InstanceId: aws.String(m.instance), Device: aws.String("/dev/xvdf")}); err != nil {
		lc.a.t.Fatalf("AttachVolume %s: %v", m.volume, err)
	}
}

func (lc *liveCluster) detach(m *liveMember) {
	if _, err := ec2.NewFromConfig(lc.a.cfg).DetachVolume(lc.ctx(), &ec2.DetachVolumeInput{VolumeId: aws.String(m.volume), InstanceId: aws.String(m.instance), Device: aws.String("/dev/xvdf")}); err != nil {
		lc.a.t.Fatalf("DetachVolume %s: %v", m.volume, err)
	}
}

// put writes log lines to a stream of the cluster's log group, one second apart from at.
func (lc *liveCluster) put(stream string, at time.Time, lines ...string) {
	api := cloudwatchlogs.NewFromConfig(lc.a.cfg)
	_, err := api.CreateLogStream(lc.ctx(), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(lc.group), LogStreamName: aws.String(stream)})
	if err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		lc.a.t.Fatalf("CreateLogStream %s: %v", stream, err)
	}
	var events []cwltypes.InputLogEvent
	for i, l := range lines {
		events = append(events, cwltypes.InputLogEvent{Timestamp: aws.Int64(at.Add(time.Duration(i) * time.Second).UnixMilli()), Message: aws.String(l)})
	}
	if _, err := api.PutLogEvents(lc.ctx(), &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(lc.group), LogStreamName: aws.String(stream), LogEvents: events}); err != nil {
		lc.a.t.Fatalf("PutLogEvents %s: %v", stream, err)
	}
}

// disk is the agent publishing its member's data volume usage, now.
func (lc *liveCluster) disk(member string, pct float64) {
	api := cloudwatch.NewFromConfig(lc.a.cfg, func(o *cloudwatch.Options) { o.Protocol = awsquery.New(cwschemas.GraniteServiceVersion20100801) })
	_, err := api.PutMetricData(lc.ctx(), &cloudwatch.PutMetricDataInput{Namespace: aws.String(naming.MetricNamespace), MetricData: []cwtypes.MetricDatum{{
		MetricName: aws.String(naming.MetricDiskUsed), Unit: cwtypes.StandardUnitPercent, Value: aws.Float64(pct), Timestamp: aws.Time(lc.now()),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("Cluster"), Value: aws.String(lc.name)}, {Name: aws.String("Member"), Value: aws.String(member)}}}}})
	if err != nil {
		lc.a.t.Fatalf("PutMetricData: %v", err)
	}
}

// backup is the backup task's work for one database: an artifact and its manifest entry.
func (lc *liveCluster) backup(db string, at time.Time) {
	api := s3.NewFromConfig(lc.a.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	key := backup.Prefix + db + "-" + at.UTC().Format(backup.NameTimeLayout) + ".backup"
	if _, err := api.PutObject(lc.ctx(), &s3.PutObjectInput{Bucket: aws.String(lc.bucket), Key: aws.String(key), Body: bytes.NewReader([]byte("artifact"))}); err != nil {
		lc.a.t.Fatalf("PutObject: %v", err)
	}
	err := backup.Store{S3: api, Bucket: lc.bucket}.UpdateManifest(lc.ctx(), db, func(m *backup.Manifest) error {
		m.Artifacts = append(m.Artifacts, backup.Entry{Key: key, Time: at.UTC(), Type: "full", HighestTx: 42, Chain: backup.ArtifactName(key), Origin: "backup"})
		return nil
	}, lc.now)
	if err != nil {
		lc.a.t.Fatalf("manifest: %v", err)
	}
}

func (lc *liveCluster) member(name string) *liveMember {
	for _, m := range lc.members {
		if m.name == name {
			return m
		}
	}
	lc.a.t.Fatalf("no member %s", name)
	return nil
}

// driftCFN is a FAKE of CloudFormation's drift detection in front of moto, which has none:
// DescribeStacks carries each member stack's last detection, DetectStackDrift records the
// request, DescribeStackResourceDrifts answers what the test scripted.
type driftCFN struct {
	engine.CloudFormation
	mu        sync.Mutex
	status    map[string]string
	resources map[string][]cfntypes.StackResourceDrift
	detected  []string
	// stuck: these stacks report this status, with failed events
	stuck   map[string]string
	events  map[string][]cfntypes.StackEvent
	updated map[string]time.Time // and were last updated then
}

func (f *driftCFN) set(stack, status string, resources ...cfntypes.StackResourceDrift) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status[stack], f.resources[stack] = status, resources
}

func (f *driftCFN) DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	out, err := f.CloudFormation.DescribeStacks(ctx, in, opts...)
	if err != nil {
		return out, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, s := range out.Stacks {
		name := aws.ToString(s.StackName)
		if st, ok := f.status[name]; ok {
			out.Stacks[i].DriftInformation = &cfntypes.StackDriftInformation{StackDriftStatus: cfntypes.StackDriftStatus(st), LastCheckTimestamp: aws.Time(time.Now().Add(-time.Hour))}
		}
		if st, ok := f.stuck[name]; ok {
			out.Stacks[i].StackStatus = cfntypes.StackStatus(st)
		}
		if u, ok := f.updated[name]; ok {
			out.Stacks[i].LastUpdatedTime = aws.Time(u)
		}
	}
	return out, nil
}

func (f *driftCFN) DescribeStackEvents(ctx context.Context, in *cloudformation.DescribeStackEventsInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error) {
	out, err := f.CloudFormation.DescribeStackEvents(ctx, in, opts...)
	if err != nil {
		return out, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out.StackEvents = append(append([]cfntypes.StackEvent{}, f.events[aws.ToString(in.StackName)]...), out.StackEvents...)
	return out, nil
}

func (f *driftCFN) DetectStackDrift(_ context.Context, in *cloudformation.DetectStackDriftInput, _ ...func(*cloudformation.Options)) (*cloudformation.DetectStackDriftOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.detected = append(f.detected, aws.ToString(in.StackName))
	return &cloudformation.DetectStackDriftOutput{StackDriftDetectionId: aws.String("detection-1")}, nil
}

func (f *driftCFN) DescribeStackResourceDrifts(_ context.Context, in *cloudformation.DescribeStackResourceDriftsInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStackResourceDriftsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &cloudformation.DescribeStackResourceDriftsOutput{StackResourceDrifts: f.resources[aws.ToString(in.StackName)]}, nil
}

// diagReport is `diagnose -o json`, decoded.
type diagReport struct {
	Status string
	Counts map[string]int
	Checks []diagCheck
}

type diagCheck struct {
	Code, Verdict, Summary, Why, Next string
	Evidence                          []struct {
		Member, Resource, Text string
		Time                   *time.Time
	}
}

func (c diagCheck) evidence() string {
	var b strings.Builder
	for _, e := range c.Evidence {
		fmt.Fprintf(&b, "%s %s: %s\n", e.Member, e.Resource, e.Text)
	}
	return b.String()
}

func (r diagReport) check(t *testing.T, code string) diagCheck {
	t.Helper()
	for _, c := range r.Checks {
		if c.Code == code {
			return c
		}
	}
	t.Fatalf("no check %s in the report", code)
	return diagCheck{}
}

// diagnose runs `diagnose NAME -o json` with args and decodes the report.
func (a *motoAccount) diagnose(name string, args ...string) (int, diagReport, string) {
	a.t.Helper()
	code, stdout, stderr := a.cli("", append([]string{"diagnose", name, "-o", "json"}, args...)...)
	var r diagReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		a.t.Fatalf("diagnose -o json (exit %d): %v\n%s\n%s", code, err, stdout, stderr)
	}
	for _, c := range r.Checks {
		nextStepsExist(a.t, c.Code, c.Next+" "+c.Why)
	}
	return code, r, stderr
}

var backquoted = regexp.MustCompile("`(neo4jctl [^`]*)`")

// nextStepsExist fails the test when a neo4jctl command a check suggests is not one: each
// must name an existing command and parse with its flags.
func nextStepsExist(t testing.TB, code, text string) {
	t.Helper()
	for _, m := range backquoted.FindAllStringSubmatch(text, -1) {
		root := newRootCommand(&globals{streams: streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard}})
		args := strings.Fields(m[1])[1:]
		c, rest, err := root.Find(args)
		if err != nil || c == root || !c.Runnable() {
			t.Errorf("%s suggests `%s`: no such command (%v)", code, m[1], err)
			continue
		}
		if err := c.ParseFlags(rest); err != nil {
			t.Errorf("%s suggests `%s`: %v", code, m[1], err)
		}
	}
}

// expect asserts what a user sees of one check: its verdict, words of its summary (or why
// it was skipped) and evidence, and its next step.
func expect(t *testing.T, c diagCheck, verdict string, want ...string) {
	t.Helper()
	if c.Verdict != verdict {
		t.Errorf("%s: verdict %s, want %s\nsummary: %s%s\nevidence:\n%s", c.Code, c.Verdict, verdict, c.Summary, c.Why, c.evidence())
	}
	// a failure or warning tells what to do next; a pass has nothing to do
	switch {
	case (verdict == "fail" || verdict == "warn") && c.Next == "":
		t.Errorf("%s %s: no next step", c.Code, c.Verdict)
	case verdict == "ok" && c.Next != "":
		t.Errorf("%s ok, yet a next step: %q", c.Code, c.Next)
	}
	all := c.Summary + "\n" + c.Why + "\n" + c.evidence() + "next: " + c.Next
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("%s lacks %q:\n%s", c.Code, w, all)
		}
	}
}

// fakeECSEvidence is a FAKE in front of moto's ECS for diagnose, for what moto cannot show:
// stopped tasks with stop codes, exit codes, container reasons and stop times, and service
// events. Everything else is moto's.
type fakeECSEvidence struct {
	ops.DiagnoseECS
	stopped map[string]ecstypes.Task           // by ARN
	events  map[string][]ecstypes.ServiceEvent // by service
	running map[string]int32                   // service → running count to report
}

func (f *fakeECSEvidence) ListTasks(ctx context.Context, in *ecs.ListTasksInput, opts ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	out, err := f.DiagnoseECS.ListTasks(ctx, in, opts...)
	if err == nil && in.DesiredStatus == ecstypes.DesiredStatusStopped {
		for arn := range f.stopped {
			out.TaskArns = append(out.TaskArns, arn)
		}
	}
	return out, err
}

func (f *fakeECSEvidence) DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, opts ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	var real []string
	var fake []ecstypes.Task
	for _, arn := range in.Tasks {
		if t, ok := f.stopped[arn]; ok {
			fake = append(fake, t)
		} else {
			real = append(real, arn)
		}
	}
	out := &ecs.DescribeTasksOutput{}
	if len(real) > 0 {
		cp := *in
		cp.Tasks = real
		o, err := f.DiagnoseECS.DescribeTasks(ctx, &cp, opts...)
		if err != nil {
			return o, err
		}
		out = o
	}
	out.Tasks = append(out.Tasks, fake...)
	return out, nil
}

func (f *fakeECSEvidence) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, opts ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	out, err := f.DiagnoseECS.DescribeServices(ctx, in, opts...)
	if err != nil {
		return out, err
	}
	for i, s := range out.Services {
		name := aws.ToString(s.ServiceName)
		out.Services[i].Events = append(f.events[name], s.Events...)
		if n, ok := f.running[name]; ok {
			out.Services[i].RunningCount = n
		}
	}
	return out, nil
}

// fakeVolumes is a FAKE in front of moto's EC2 for diagnose: volumes in another AZ than
// moto made them (moto cannot move a volume, and create refuses to make one there).
type fakeVolumes struct {
	ops.DiagnoseEC2
	az map[string]string // volume → AZ to report
}

func (f *fakeVolumes) DescribeVolumes(ctx context.Context, in *ec2.DescribeVolumesInput, opts ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error) {
	out, err := f.DiagnoseEC2.DescribeVolumes(ctx, in, opts...)
	if err != nil {
		return out, err
	}
	for i, v := range out.Volumes {
		if az, ok := f.az[aws.ToString(v.VolumeId)]; ok {
			out.Volumes[i].AvailabilityZone = aws.String(az)
		}
	}
	return out, nil
}

// diagFakes are the fakes in front of diagnose's reads, installed for the account's runs.
type diagFakes struct {
	ecs     *fakeECSEvidence
	volumes *fakeVolumes
}

func (a *motoAccount) diagFakes() *diagFakes {
	f := &diagFakes{ecs: &fakeECSEvidence{stopped: map[string]ecstypes.Task{}, events: map[string][]ecstypes.ServiceEvent{}, running: map[string]int32{}},
		volumes: &fakeVolumes{az: map[string]string{}}}
	a.hooks.diagnoseAWS = func(d *ops.DiagnoseAWS) {
		f.ecs.DiagnoseECS, d.ECS = d.ECS, f.ecs
		f.volumes.DiagnoseEC2, d.EC2 = d.EC2, f.volumes
	}
	return f
}
