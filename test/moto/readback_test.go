package moto_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// TestCreatedResourcesMatchTheConfig is the read-back tier: a full example's stacks are
// created in moto through the CloudFormation API, then what they made is read back through
// each service's own API and compared with cluster.yaml. A template that names a setting
// CloudFormation (or moto's model of it) drops, or a builder that never writes a field, shows
// here as a difference in the resource, not in the template text.
func TestCreatedResourcesMatchTheConfig(t *testing.T) {
	ctx := context.Background()
	f, err := cluster.Load("../../examples/production.yaml", cluster.Overrides{Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.Config
	awsCfg, account := testbed.SharedMoto(t).IsolatedConfig(ctx, cfg.Metadata.Region)
	ec2c := ec2.NewFromConfig(awsCfg)
	in := stack.Inputs{Neo4jctlVersion: "v0.0.0-test", SubnetAZs: existingNetwork(t, ctx, ec2c, cfg)}
	for _, arch := range naming.Archs {
		in.SetAgent(arch, strings.Repeat(arch[:1], 64))
	}
	made := createAll(t, ctx, awsCfg, cfg, in)
	shared := made.outputs[naming.StackName(cfg.Metadata.Name, naming.KindShared, 0)]

	t.Run("core instances and launch templates", func(t *testing.T) { readBackCores(t, ctx, awsCfg, cfg, made) })
	t.Run("replica group: types and Spot", func(t *testing.T) { readBackReplicas(t, ctx, awsCfg, cfg, made) })
	t.Run("member volumes", func(t *testing.T) { readBackVolumes(t, ctx, ec2c, cfg, in, shared) })
	t.Run("task definitions", func(t *testing.T) { readBackTasks(t, ctx, ecs.NewFromConfig(awsCfg), cfg, made) })
	t.Run("client access rules", func(t *testing.T) { readBackRules(t, ctx, ec2c, cfg, shared) })
	t.Run("log retention", func(t *testing.T) {
		out, err := cloudwatchlogs.NewFromConfig(awsCfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/neo4jctl/" + cfg.Metadata.Name)})
		if err != nil || len(out.LogGroups) < 2 {
			t.Fatalf("DescribeLogGroups: %v (%d groups)", err, len(out.LogGroups))
		}
		for _, g := range out.LogGroups {
			if got := aws.ToInt32(g.RetentionInDays); got != int32(cfg.Monitoring.LogRetentionDays) {
				t.Errorf("log group %s keeps %d days, monitoring.logRetentionDays is %d", aws.ToString(g.LogGroupName), got, cfg.Monitoring.LogRetentionDays)
			}
		}
	})
	t.Run("backup schedules", func(t *testing.T) { readBackSchedules(t, ctx, awsCfg, account, cfg) })
	t.Run("alarm targets", func(t *testing.T) { readBackAlarms(t, ctx, awsCfg, account, cfg, shared) })
}

// created is what createAll made: outputs and logical id -> physical id, per stack name.
type created struct {
	stacks    []stack.Stack
	outputs   map[string]map[string]string
	resources map[string]map[string]string
}

func createAll(t *testing.T, ctx context.Context, awsCfg aws.Config, cfg *cluster.ClusterConfig, in stack.Inputs) created {
	t.Helper()
	cfn := cloudformation.NewFromConfig(awsCfg)
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
	stacks, err := stack.Build(cfg, in)
	if err != nil {
		t.Fatal(err)
	}
	out := created{stacks: stacks, outputs: map[string]map[string]string{}, resources: map[string]map[string]string{}}
	for _, st := range stacks {
		if st.Kind == naming.KindOperations {
			bucket := out.outputs[naming.StackName(cfg.Metadata.Name, naming.KindShared, 0)][stack.OutputBucketName]
			for _, key := range in.AgentCodeKeys {
				if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("PK\x05\x06" + strings.Repeat("\x00", 18))}); err != nil {
					t.Fatalf("put agent code: %v", err)
				}
			}
		}
		id, outputs := createStack(t, ctx, cfn, st)
		out.outputs[st.Name] = outputs
		res, err := cfn.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(id)})
		if err != nil {
			t.Fatalf("DescribeStackResources %s: %v", st.Name, err)
		}
		out.resources[st.Name] = map[string]string{}
		for _, r := range res.StackResources {
			out.resources[st.Name][aws.ToString(r.LogicalResourceId)] = aws.ToString(r.PhysicalResourceId)
		}
	}
	return out
}

// launchData reads a group's launch template (the version it launches) from EC2.
func launchData(t *testing.T, ctx context.Context, c *ec2.Client, id, version string) *ec2types.ResponseLaunchTemplateData {
	t.Helper()
	out, err := c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{version}})
	if err != nil || len(out.LaunchTemplateVersions) != 1 {
		t.Fatalf("DescribeLaunchTemplateVersions %s %s: %v", id, version, err)
	}
	return out.LaunchTemplateVersions[0].LaunchTemplateData
}

func userData(t *testing.T, d *ec2types.ResponseLaunchTemplateData) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(aws.ToString(d.UserData))
	if err != nil {
		t.Fatalf("user data is not base64: %v", err)
	}
	return string(b)
}

func group(t *testing.T, ctx context.Context, c *autoscaling.Client, name string) *autoscaling.DescribeAutoScalingGroupsOutput {
	t.Helper()
	out, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("DescribeAutoScalingGroups %s: %v", name, err)
	}
	return out
}

func readBackCores(t *testing.T, ctx context.Context, awsCfg aws.Config, cfg *cluster.ClusterConfig, made created) {
	ec2c, asg := ec2.NewFromConfig(awsCfg), autoscaling.NewFromConfig(awsCfg)
	for _, m := range cfg.Members() {
		name := naming.StackName(cfg.Metadata.Name, naming.KindCore, m.Index)
		g := group(t, ctx, asg, made.resources[name]["AutoScalingGroup"]).AutoScalingGroups[0]
		if g.LaunchTemplate == nil {
			t.Fatalf("%s: group %s has no launch template", m.Name, aws.ToString(g.AutoScalingGroupName))
		}
		d := launchData(t, ctx, ec2c, aws.ToString(g.LaunchTemplate.LaunchTemplateId), aws.ToString(g.LaunchTemplate.Version))
		if string(d.InstanceType) != cfg.Cores.InstanceType {
			t.Errorf("%s: launch template instance type %q, cores.instanceType is %s", m.Name, d.InstanceType, cfg.Cores.InstanceType)
		}
		if d.MetadataOptions == nil || d.MetadataOptions.HttpTokens != ec2types.LaunchTemplateHttpTokensStateRequired {
			t.Errorf("%s: instance metadata without IMDSv2 only: %+v", m.Name, d.MetadataOptions)
		}
		ud := userData(t, d)
		for _, want := range []string{"ECS_CONTAINER_STOP_TIMEOUT=10m", "attach-volume", "MEMBER='" + m.Name + "'"} {
			if !strings.Contains(ud, want) {
				t.Errorf("%s: user data lacks %q", m.Name, want)
			}
		}
		if strings.Contains(ud, "dnf ") || strings.Contains(ud, "yum ") {
			t.Errorf("%s: user data installs packages", m.Name)
		}
		if len(g.Instances) != 1 {
			t.Fatalf("%s: group runs %d instances, want 1", m.Name, len(g.Instances))
		}
		inst, err := ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{aws.ToString(g.Instances[0].InstanceId)}})
		if err != nil || len(inst.Reservations) != 1 {
			t.Fatalf("%s: DescribeInstances: %v", m.Name, err)
		}
		if got := string(inst.Reservations[0].Instances[0].InstanceType); got != cfg.Cores.InstanceType {
			t.Errorf("%s: instance %s is a %s, cores.instanceType is %s", m.Name, aws.ToString(g.Instances[0].InstanceId), got, cfg.Cores.InstanceType)
		}
		if az := aws.ToString(g.Instances[0].AvailabilityZone); az != made.inputsAZ(m.Subnet) {
			t.Errorf("%s: instance in %s, its subnet %s is in %s", m.Name, az, m.Subnet, made.inputsAZ(m.Subnet))
		}
	}
}

// inputsAZ is the AZ of an existing subnet as the member stack got it.
func (c created) inputsAZ(subnet string) string {
	for _, st := range c.stacks {
		if st.Kind == naming.KindCore && strings.Contains(string(st.Template), `"`+subnet+`"`) {
			return st.Parameters[stack.ParamAvailabilityZone]
		}
	}
	return ""
}

func readBackReplicas(t *testing.T, ctx context.Context, awsCfg aws.Config, cfg *cluster.ClusterConfig, made created) {
	name := naming.StackName(cfg.Metadata.Name, naming.KindReplicas, 0)
	g := group(t, ctx, autoscaling.NewFromConfig(awsCfg), made.resources[name]["AutoScalingGroup"]).AutoScalingGroups[0]
	p := g.MixedInstancesPolicy
	if p == nil || p.LaunchTemplate == nil || p.InstancesDistribution == nil {
		t.Fatalf("replica group without a mixed instances policy: %+v", g)
	}
	var types []string
	for _, o := range p.LaunchTemplate.Overrides {
		types = append(types, aws.ToString(o.InstanceType))
	}
	if !slices.Equal(types, cfg.Replicas.InstanceTypes) {
		t.Errorf("replica instance types %v, replicas.instanceTypes is %v", types, cfg.Replicas.InstanceTypes)
	}
	d := p.InstancesDistribution
	wantOnDemand := int32(100)
	if cfg.Replicas.Spot {
		wantOnDemand = 0
	}
	if aws.ToInt32(d.OnDemandPercentageAboveBaseCapacity) != wantOnDemand || aws.ToInt32(d.OnDemandBaseCapacity) != 0 || aws.ToString(d.SpotAllocationStrategy) != "price-capacity-optimized" {
		t.Errorf("instances distribution %d%% on demand above %d, Spot %q; replicas.spot is %v",
			aws.ToInt32(d.OnDemandPercentageAboveBaseCapacity), aws.ToInt32(d.OnDemandBaseCapacity), aws.ToString(d.SpotAllocationStrategy), cfg.Replicas.Spot)
	}
	if aws.ToBool(g.CapacityRebalance) != cfg.Replicas.Spot {
		t.Errorf("capacity rebalance %v, replicas.spot is %v", aws.ToBool(g.CapacityRebalance), cfg.Replicas.Spot)
	}
	if n := aws.ToInt32(g.DesiredCapacity); n != int32(cfg.Replicas.Count) {
		t.Errorf("replica group wants %d instances, replicas.count is %d", n, cfg.Replicas.Count)
	}
	spec := p.LaunchTemplate.LaunchTemplateSpecification
	ud := userData(t, launchData(t, ctx, ec2.NewFromConfig(awsCfg), aws.ToString(spec.LaunchTemplateId), aws.ToString(spec.Version)))
	if strings.Contains(ud, "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true") != cfg.Replicas.Spot {
		t.Errorf("ECS Spot instance draining in the replica hosts' user data: %v, replicas.spot is %v", !cfg.Replicas.Spot, cfg.Replicas.Spot)
	}
}

func readBackVolumes(t *testing.T, ctx context.Context, c *ec2.Client, cfg *cluster.ClusterConfig, in stack.Inputs, shared map[string]string) {
	out, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + naming.TagCluster), Values: []string{cfg.Metadata.Name}},
		{Name: aws.String("tag:" + naming.TagRole), Values: []string{naming.TagRoleData}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	byMember := map[string]ec2types.Volume{}
	for _, v := range out.Volumes {
		for _, tag := range v.Tags {
			if aws.ToString(tag.Key) == naming.TagMember {
				byMember[aws.ToString(tag.Value)] = v
			}
		}
	}
	want := cfg.Cores.Volume
	for _, m := range cfg.Members() {
		v, ok := byMember[m.Name]
		if !ok {
			t.Errorf("%s: no data volume tagged %s=%s", m.Name, naming.TagMember, m.Name)
			continue
		}
		got := fmt.Sprintf("%d GiB %s, %d IOPS, %d MiB/s, encrypted %v with %s, in %s",
			aws.ToInt32(v.Size), v.VolumeType, aws.ToInt32(v.Iops), aws.ToInt32(v.Throughput), aws.ToBool(v.Encrypted), aws.ToString(v.KmsKeyId), aws.ToString(v.AvailabilityZone))
		exp := fmt.Sprintf("%d GiB %s, %d IOPS, %d MiB/s, encrypted true with %s, in %s",
			want.SizeGiB, want.Type, want.IOPS, want.ThroughputMiBps, shared[stack.OutputKMSKeyArn], in.SubnetAZs[m.Subnet])
		if got != exp {
			t.Errorf("%s: volume %s is %s; cores.volume says %s", m.Name, aws.ToString(v.VolumeId), got, exp)
		}
	}
	if len(byMember) != len(cfg.Members()) {
		t.Errorf("%d data volumes, %d members", len(byMember), len(cfg.Members()))
	}
}

func readBackTasks(t *testing.T, ctx context.Context, c *ecs.Client, cfg *cluster.ClusterConfig, made created) {
	container := func(name string) ecstypes.ContainerDefinition {
		t.Helper()
		out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(made.resources[name]["TaskDefinition"])})
		if err != nil || len(out.TaskDefinition.ContainerDefinitions) == 0 {
			t.Fatalf("DescribeTaskDefinition of %s: %v", name, err)
		}
		return out.TaskDefinition.ContainerDefinitions[0]
	}
	env := func(c ecstypes.ContainerDefinition) map[string]string {
		out := map[string]string{}
		for _, kv := range c.Environment {
			out[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
		}
		return out
	}
	mem := cfg.Neo4j.Memory
	entry := []string{"tini", "-g", "--", naming.AgentPath, "entrypoint"}
	for _, m := range cfg.Members() {
		c := container(naming.StackName(cfg.Metadata.Name, naming.KindCore, m.Index))
		e := env(c)
		if aws.ToInt32(c.Memory) != int32(mem.ContainerMiB) || e["NEO4J_server_memory_heap_max__size"] != mem.Heap || e["NEO4J_server_memory_pagecache_size"] != mem.PageCache {
			t.Errorf("%s: container %d MiB, heap %s, page cache %s; neo4j.memory says %d MiB, %s, %s", m.Name,
				aws.ToInt32(c.Memory), e["NEO4J_server_memory_heap_max__size"], e["NEO4J_server_memory_pagecache_size"], mem.ContainerMiB, mem.Heap, mem.PageCache)
		}
		if !slices.Equal(c.EntryPoint, entry) {
			t.Errorf("%s: entry point %v, want %v (tini -g in front)", m.Name, c.EntryPoint, entry)
		}
		if c.LinuxParameters != nil && aws.ToBool(c.LinuxParameters.InitProcessEnabled) {
			t.Errorf("%s: initProcessEnabled besides tini", m.Name)
		}
		if c.StopTimeout != nil {
			t.Errorf("%s: stopTimeout %d overrides the host's ECS_CONTAINER_STOP_TIMEOUT", m.Name, aws.ToInt32(c.StopTimeout))
		}
		for k, v := range map[string]string{
			"NEO4J_server_default__advertised__address":     m.DNSName,
			"NEO4J_server_cluster_advertised__address":      m.DNSName + ":6000",
			"NEO4J_server_cluster_raft_advertised__address": m.DNSName + ":7000",
			"NEO4J_server_routing_advertised__address":      m.DNSName + ":7688",
		} {
			if e[k] != v {
				t.Errorf("%s: %s=%q, want %q", m.Name, k, e[k], v)
			}
		}
	}
	if cfg.ReplicaCount() > 0 {
		c := container(naming.StackName(cfg.Metadata.Name, naming.KindReplicas, 0))
		if !slices.Equal(c.EntryPoint, entry) || aws.ToInt32(c.StopTimeout) != 90 {
			t.Errorf("replicas: entry point %v, stop timeout %d; want tini in front and 90 s (inside Spot's two minutes)", c.EntryPoint, aws.ToInt32(c.StopTimeout))
		}
		if _, ok := env(c)["NEO4J_server_default__advertised__address"]; ok {
			t.Error("replicas: a fixed advertised address (each task must advertise its own)")
		}
	}
}

func readBackRules(t *testing.T, ctx context.Context, c *ec2.Client, cfg *cluster.ClusterConfig, shared map[string]string) {
	sg := shared[stack.OutputMembersSecurityGroup]
	out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{sg}})
	if err != nil || len(out.SecurityGroups) != 1 {
		t.Fatalf("DescribeSecurityGroups %s: %v", sg, err)
	}
	open := map[string][]int32{} // CIDR -> ports
	for _, p := range out.SecurityGroups[0].IpPermissions {
		for _, r := range p.IpRanges {
			cidr := aws.ToString(r.CidrIp)
			if cidr == "0.0.0.0/0" {
				t.Errorf("members' group %s opens port %d to the internet", sg, aws.ToInt32(p.FromPort))
			}
			open[cidr] = append(open[cidr], aws.ToInt32(p.FromPort))
		}
	}
	for _, cidr := range cfg.Network.ClientAccess.CIDRs {
		ports := open[cidr]
		slices.Sort(ports)
		if !slices.Equal(ports, []int32{naming.PortHTTPS, naming.PortHTTP, naming.PortBolt}) {
			t.Errorf("client network %s reaches ports %v, want 7473, 7474, 7687", cidr, ports)
		}
		delete(open, cidr)
	}
	for cidr, ports := range open {
		t.Errorf("members' group opens %v to %s, which network.clientAccess does not name", ports, cidr)
	}
}

// signed sends one SigV4-signed request to moto in the test's account, for the services whose
// Go client moto cannot serve (CloudWatch's protocol) or this module has none (Scheduler).
func signed(ctx context.Context, awsCfg aws.Config, account, service, method, path string, body []byte, header map[string]string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, aws.ToString(awsCfg.BaseEndpoint)+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	req.Header.Set("x-moto-account-id", account)
	creds, err := awsCfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, awsCfg.Region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := awsCfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s %s: HTTP %d: %s", service, method, path, resp.StatusCode, data)
	}
	return data, nil
}

func readBackSchedules(t *testing.T, ctx context.Context, awsCfg aws.Config, account string, cfg *cluster.ClusterConfig) {
	data, err := signed(ctx, awsCfg, account, "scheduler", http.MethodGet, "/schedules", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Schedules []struct{ Name, GroupName string }
	}
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatalf("ListSchedules: %v: %s", err, data)
	}
	exprs := map[string]bool{}
	for _, s := range list.Schedules {
		if !strings.HasPrefix(s.Name, naming.StackPrefix(cfg.Metadata.Name)) {
			continue
		}
		q := ""
		if s.GroupName != "" {
			q = "?groupName=" + url.QueryEscape(s.GroupName)
		}
		data, err := signed(ctx, awsCfg, account, "scheduler", http.MethodGet, "/schedules/"+url.PathEscape(s.Name)+q, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ ScheduleExpression, State string }
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		exprs[got.ScheduleExpression] = got.State == "ENABLED"
	}
	for _, want := range []string{cfg.Backup.Schedule.Full, cfg.Backup.Schedule.Differential} {
		if want != "" && !exprs[want] {
			t.Errorf("no enabled schedule runs %q (backup.schedule); schedules: %v", want, exprs)
		}
	}
}

func readBackAlarms(t *testing.T, ctx context.Context, awsCfg aws.Config, account string, cfg *cluster.ClusterConfig, shared map[string]string) {
	form := url.Values{"Action": {"DescribeAlarms"}, "Version": {"2010-08-01"}, "AlarmNamePrefix": {naming.StackPrefix(cfg.Metadata.Name) + "-"}, "MaxRecords": {"100"}}
	data, err := signed(ctx, awsCfg, account, "monitoring", http.MethodPost, "/", []byte(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Alarms []struct {
			AlarmName    string   `xml:"AlarmName"`
			AlarmActions []string `xml:"AlarmActions>member"`
			OKActions    []string `xml:"OKActions>member"`
		} `xml:"DescribeAlarmsResult>MetricAlarms>member"`
	}
	if err := xml.Unmarshal(data, &resp); err != nil {
		t.Fatalf("DescribeAlarms: %v", err)
	}
	topic := shared[stack.OutputAlarmTopicArn]
	if topic == "" || len(resp.Alarms) < 3+len(cfg.Members()) {
		t.Fatalf("%d alarms, topic %q", len(resp.Alarms), topic)
	}
	var names []string
	for _, a := range resp.Alarms {
		names = append(names, a.AlarmName)
		if !slices.Equal(a.AlarmActions, []string{topic}) || !slices.Equal(a.OKActions, []string{topic}) {
			t.Errorf("alarm %s notifies %v / %v, want the cluster's topic %s", a.AlarmName, a.AlarmActions, a.OKActions, topic)
		}
	}
	sort.Strings(names)
	for _, want := range []string{"CoresBelowQuorum", "BackupFailed", "DiskMember1"} {
		if !slices.Contains(names, naming.StackPrefix(cfg.Metadata.Name)+"-"+want) {
			t.Errorf("no alarm %s; have %v", want, names)
		}
	}
	if cfg.Monitoring.AlarmEmail != "" {
		form := url.Values{"Action": {"ListSubscriptionsByTopic"}, "Version": {"2010-03-31"}, "TopicArn": {topic}}
		data, err := signed(ctx, awsCfg, account, "sns", http.MethodPost, "/", []byte(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "<Endpoint>"+cfg.Monitoring.AlarmEmail+"</Endpoint>") {
			t.Errorf("topic %s does not mail %s: %s", topic, cfg.Monitoring.AlarmEmail, data)
		}
	}
}
