// Package moto_test checks that moto, with the resource types test/moto/neo4jctl_moto.py
// registers, creates every stack neo4jctl renders for the examples, and that what the stacks
// make exists in moto's own service backends.
package moto_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// StartMoto preloads test/moto/neo4jctl_moto.py when it exists (internal/testbed), so a
// plain NeedMoto is the extended moto.
func TestMain(m *testing.M) { testbed.Main(m, testbed.NeedMoto) }

func TestExampleStacksCreateInMoto(t *testing.T) {
	examples, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, path := range examples {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".yaml"), func(t *testing.T) {
			t.Parallel()
			createExample(t, path)
		})
	}
}

func createExample(t *testing.T, path string) {
	ctx := context.Background()
	f, err := cluster.Load(path, cluster.Overrides{Region: "eu-west-1"})
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	cfg := f.Config
	region := cfg.Metadata.Region
	awsCfg, account := testbed.SharedMoto(t).IsolatedConfig(ctx, region)
	t.Logf("moto account %s, region %s", account, region)
	cfn := cloudformation.NewFromConfig(awsCfg)
	ec2c := ec2.NewFromConfig(awsCfg)
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })

	in := stack.Inputs{
		Neo4jctlVersion: "v0.0.0-test",
		AgentCodeKeys: map[string]string{
			"arm64": naming.AgentKey("arm64", strings.Repeat("a", 64)),
			"amd64": naming.AgentKey("amd64", strings.Repeat("b", 64)),
		},
	}
	if !cfg.CreatesVPC() {
		// The example names a VPC, subnets and client security groups that moto does not
		// have (and moto cannot create resources with given ids): make real ones and point
		// the config at them.
		in.SubnetAZs = existingNetwork(t, ctx, ec2c, cfg)
	}
	stacks, err := stack.Build(cfg, in)
	if err != nil {
		t.Fatalf("stack.Build: %v", err)
	}

	var bucket, ecsCluster string
	for _, st := range stacks {
		if st.Kind == naming.KindOperations {
			// The Lambda functions' code must exist in moto S3 before they are created.
			for _, key := range in.AgentCodeKeys {
				if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("PK\x05\x06" + strings.Repeat("\x00", 18))}); err != nil {
					t.Fatalf("put agent code s3://%s/%s: %v", bucket, key, err)
				}
			}
		}
		outputs := createStack(t, ctx, cfn, st)
		if st.Kind == naming.KindShared {
			bucket, ecsCluster = outputs[stack.OutputBucketName], outputs[stack.OutputECSCluster]
		}
	}

	// What the stacks made, read back through moto's service APIs.
	if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Errorf("cluster bucket %q: %v", bucket, err)
	}
	checkCloudMap(t, ctx, servicediscovery.NewFromConfig(awsCfg), cfg)
	checkECS(t, ctx, ecs.NewFromConfig(awsCfg), cfg, ecsCluster)
	checkVolumes(t, ctx, ec2c, cfg)
}

// createStack creates one stack, requires CREATE_COMPLETE and every unconditional resource
// of the template (moto skips types it does not know without a word), and returns its outputs.
func createStack(t *testing.T, ctx context.Context, cfn *cloudformation.Client, st stack.Stack) map[string]string {
	t.Helper()
	var params []cfntypes.Parameter
	for k, v := range st.Parameters {
		params = append(params, cfntypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)})
	}
	var tags []cfntypes.Tag
	for k, v := range st.Tags {
		tags = append(tags, cfntypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	_, err := cfn.CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName:    aws.String(st.Name),
		TemplateBody: aws.String(string(st.Template)),
		Parameters:   params,
		Tags:         tags,
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityNamedIam},
	})
	if err != nil {
		t.Fatalf("CreateStack %s: %v", st.Name, err)
	}
	out, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(st.Name)})
	if err != nil {
		t.Fatalf("DescribeStacks %s: %v", st.Name, err)
	}
	s := out.Stacks[0]
	if s.StackStatus != cfntypes.StackStatusCreateComplete {
		t.Fatalf("stack %s is %s (%s), want CREATE_COMPLETE", st.Name, s.StackStatus, aws.ToString(s.StackStatusReason))
	}

	var tmpl struct {
		Resources map[string]struct {
			Type      string
			Condition string
		}
	}
	if err := json.Unmarshal(st.Template, &tmpl); err != nil {
		t.Fatalf("template of %s: %v", st.Name, err)
	}
	created := map[string]bool{}
	p := cloudformation.NewListStackResourcesPaginator(cfn, &cloudformation.ListStackResourcesInput{StackName: aws.String(st.Name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListStackResources %s: %v", st.Name, err)
		}
		for _, r := range page.StackResourceSummaries {
			created[aws.ToString(r.LogicalResourceId)] = true
		}
	}
	var missing []string
	for id, r := range tmpl.Resources {
		if !created[id] && r.Condition == "" {
			missing = append(missing, r.Type+" "+id)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("stack %s: moto did not create %d resources (type not registered? see test/moto/neo4jctl_moto.py): %s",
			st.Name, len(missing), strings.Join(missing, ", "))
	}

	outputs := map[string]string{}
	for _, o := range s.Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return outputs
}

// existingNetwork creates a VPC, one subnet per configured subnet (each in its own AZ) and
// the client security groups, rewrites cfg to use them, and returns subnet -> AZ.
func existingNetwork(t *testing.T, ctx context.Context, c *ec2.Client, cfg *cluster.ClusterConfig) map[string]string {
	t.Helper()
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.20.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	vpcID := aws.ToString(vpc.Vpc.VpcId)
	azs := map[string]string{}
	subnets := make([]string, len(cfg.Network.Subnets))
	for i := range cfg.Network.Subnets {
		az := fmt.Sprintf("%s%c", cfg.Metadata.Region, 'a'+i%3)
		sn, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpcID), CidrBlock: aws.String(fmt.Sprintf("10.20.%d.0/24", i)), AvailabilityZone: aws.String(az)})
		if err != nil {
			t.Fatalf("CreateSubnet: %v", err)
		}
		subnets[i] = aws.ToString(sn.Subnet.SubnetId)
		azs[subnets[i]] = az
	}
	groups := make([]string, len(cfg.Network.ClientAccess.SecurityGroups))
	for i := range groups {
		sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(fmt.Sprintf("clients-%d", i)), Description: aws.String("clients"), VpcId: aws.String(vpcID)})
		if err != nil {
			t.Fatalf("CreateSecurityGroup: %v", err)
		}
		groups[i] = aws.ToString(sg.GroupId)
	}
	cfg.Network.VPCID, cfg.Network.Subnets, cfg.Network.ClientAccess.SecurityGroups = vpcID, subnets, groups
	return azs
}

func checkCloudMap(t *testing.T, ctx context.Context, sd *servicediscovery.Client, cfg *cluster.ClusterConfig) {
	t.Helper()
	nss, err := sd.ListNamespaces(ctx, &servicediscovery.ListNamespacesInput{})
	if err != nil {
		t.Fatalf("ListNamespaces: %v", err)
	}
	var nsID string
	for _, ns := range nss.Namespaces {
		if aws.ToString(ns.Name) == cfg.Namespace() {
			nsID = aws.ToString(ns.Id)
		}
	}
	if nsID == "" {
		t.Fatalf("Cloud Map namespace %q not in moto (got %d namespaces)", cfg.Namespace(), len(nss.Namespaces))
	}
	svcs, err := sd.ListServices(ctx, &servicediscovery.ListServicesInput{})
	if err != nil {
		t.Fatalf("ListServices: %v", err)
	}
	names := map[string]bool{}
	for _, s := range svcs.Services {
		names[aws.ToString(s.Name)] = true
	}
	for _, m := range cfg.Members() {
		if want := fmt.Sprintf("core-%d", m.Index); !names[want] {
			t.Errorf("Cloud Map service %q missing; have %v", want, sortedKeys(names))
		}
	}
}

func checkECS(t *testing.T, ctx context.Context, c *ecs.Client, cfg *cluster.ClusterConfig, clusterName string) {
	t.Helper()
	list, err := c.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(clusterName)})
	if err != nil {
		t.Fatalf("ECS ListServices %s: %v", clusterName, err)
	}
	if len(list.ServiceArns) == 0 {
		t.Fatalf("no ECS services in cluster %q", clusterName)
	}
	var desired []int32
	var registries, constraints int
	for i := 0; i < len(list.ServiceArns); i += 10 {
		chunk := list.ServiceArns[i:min(i+10, len(list.ServiceArns))]
		out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(clusterName), Services: chunk})
		if err != nil {
			t.Fatalf("ECS DescribeServices: %v", err)
		}
		for _, s := range out.Services {
			desired = append(desired, s.DesiredCount)
			registries += len(s.ServiceRegistries)
			constraints += len(s.PlacementConstraints)
		}
	}
	want := len(cfg.Members()) + min(1, cfg.ReplicaCount())
	if len(desired) != want {
		t.Errorf("ECS services: got %d, want %d (one per core member, one for replicas)", len(desired), want)
	}
	total := int32(0)
	for _, d := range desired {
		total += d
	}
	if wantTasks := int32(len(cfg.Members()) + cfg.ReplicaCount()); total != wantTasks {
		t.Errorf("ECS desired counts %v add up to %d, want %d", desired, total, wantTasks)
	}
	if registries < len(cfg.Members()) {
		t.Errorf("ECS services carry %d Cloud Map registries, want at least %d", registries, len(cfg.Members()))
	}
	if constraints < len(cfg.Members()) {
		t.Errorf("ECS services carry %d placement constraints, want at least %d (one per core member)", constraints, len(cfg.Members()))
	}
	cl, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{clusterName}})
	if err != nil || len(cl.Clusters) != 1 {
		t.Fatalf("ECS DescribeClusters %s: %v", clusterName, err)
	}
	if got := len(cl.Clusters[0].CapacityProviders); got < len(cfg.Members()) {
		t.Errorf("cluster %s has %d capacity providers associated, want at least %d", clusterName, got, len(cfg.Members()))
	}
}

func checkVolumes(t *testing.T, ctx context.Context, c *ec2.Client, cfg *cluster.ClusterConfig) {
	t.Helper()
	out, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:aws:cloudformation:logical-id"), Values: []string{"Volume", "DataVolume"}},
	}})
	if err != nil {
		t.Fatalf("DescribeVolumes: %v", err)
	}
	var tagged int
	for _, v := range out.Volumes {
		tags := map[string]string{}
		for _, tg := range v.Tags {
			tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		if tags["neo4jctl.io/cluster"] == cfg.Metadata.Name {
			tagged++
		}
		if !aws.ToBool(v.Encrypted) {
			t.Errorf("volume %s is not encrypted", aws.ToString(v.VolumeId))
		}
	}
	if tagged != len(cfg.Members()) {
		t.Errorf("EBS volumes tagged neo4jctl.io/cluster=%s: got %d, want one per core member (%d)", cfg.Metadata.Name, tagged, len(cfg.Members()))
	}
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
