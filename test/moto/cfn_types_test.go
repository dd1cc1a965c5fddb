// Package moto_test checks that moto, with the resource types test/moto/neo4jctl_moto.py
// registers, creates every stack neo4jctl renders for the examples, and that what the stacks
// make exists in moto's own service backends; and that deleting the stacks (in the order
// neo4jctl deletes them) removes what they made but the retained data.
package moto_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// StartMoto preloads test/moto/neo4jctl_moto.py when it exists (internal/testbed), so a
// plain NeedMoto is the extended moto.
func TestMain(m *testing.M) { testbed.Main(m, testbed.NeedMoto) }

func TestExampleStacksCreateAndDeleteInMoto(t *testing.T) {
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

	in := stack.Inputs{Neo4jctlVersion: "v0.0.0-test"}
	in.SetAgent("arm64", strings.Repeat("a", 64))
	in.SetAgent("amd64", strings.Repeat("b", 64))
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
	ids := map[string]string{} // stack name -> stack id
	for _, st := range stacks {
		if st.Kind == naming.KindOperations {
			// The Lambda functions' code must exist in moto S3 before they are created.
			for _, key := range in.AgentCodeKeys {
				if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("PK\x05\x06" + strings.Repeat("\x00", 18))}); err != nil {
					t.Fatalf("put agent code s3://%s/%s: %v", bucket, key, err)
				}
			}
		}
		id, outputs := createStack(t, ctx, cfn, st)
		ids[st.Name] = id
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
	if t.Failed() {
		return
	}

	deleteExample(t, ctx, awsCfg, account, cfg, stacks, ids)
}

// createStack creates one stack, requires CREATE_COMPLETE and every unconditional resource
// of the template (moto skips types it does not know without a word), and returns its id and
// outputs.
func createStack(t *testing.T, ctx context.Context, cfn *cloudformation.Client, st stack.Stack) (string, map[string]string) {
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
	return aws.ToString(s.StackId), outputs
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
			t.Errorf("Cloud Map service %q missing; have %v", want, slices.Sorted(maps.Keys(names)))
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

// stackResource is one resource a stack made, read before the stack is deleted.
type stackResource struct {
	Stack, Kind, LogicalID, Type, PhysicalID string
	Retain                                   bool // DeletionPolicy Retain
}

// deleteOrder is the order neo4jctl deletes a cluster's stacks in: what imports an export
// goes before what exports it.
func deleteOrder(kind string) int {
	switch kind {
	case naming.KindOperations:
		return 0
	case naming.KindCore, naming.KindReplicas:
		return 1
	case naming.KindShared:
		return 2
	default: // naming.KindVPC
		return 3
	}
}

// deleteExample deletes the example's stacks in neo4jctl's order, each by its id, and checks
// that every stack is DELETE_COMPLETE, that what they made is gone (the network, when the
// cluster made its own, and the Cloud Map namespace and services) and that what they retain
// is still there (member volumes, bucket, key).
func deleteExample(t *testing.T, ctx context.Context, awsCfg aws.Config, account string, cfg *cluster.ClusterConfig, stacks []stack.Stack, ids map[string]string) {
	t.Helper()
	cfn := cloudformation.NewFromConfig(awsCfg)

	var made []stackResource
	for _, st := range stacks {
		var tmpl struct {
			Resources map[string]struct{ DeletionPolicy string }
		}
		if err := json.Unmarshal(st.Template, &tmpl); err != nil {
			t.Fatalf("template of %s: %v", st.Name, err)
		}
		out, err := cfn.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(ids[st.Name])})
		if err != nil {
			t.Fatalf("DescribeStackResources %s: %v", st.Name, err)
		}
		for _, r := range out.StackResources {
			id := aws.ToString(r.LogicalResourceId)
			made = append(made, stackResource{
				Stack: st.Name, Kind: st.Kind, LogicalID: id, Type: aws.ToString(r.ResourceType),
				PhysicalID: aws.ToString(r.PhysicalResourceId), Retain: tmpl.Resources[id].DeletionPolicy == "Retain",
			})
		}
	}

	order := slices.Clone(stacks)
	sort.SliceStable(order, func(i, j int) bool { return deleteOrder(order[i].Kind) < deleteOrder(order[j].Kind) })
	for _, st := range order {
		if _, err := cfn.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(ids[st.Name])}); err != nil {
			t.Fatalf("DeleteStack %s: %v", st.Name, err)
		}
		// By id, as AWS answers for a deleted stack.
		out, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(ids[st.Name])})
		if err != nil {
			t.Fatalf("DescribeStacks %s after delete: %v", st.Name, err)
		}
		if s := out.Stacks[0]; s.StackStatus != cfntypes.StackStatusDeleteComplete {
			t.Errorf("stack %s is %s (%s), want DELETE_COMPLETE", st.Name, s.StackStatus, aws.ToString(s.StackStatusReason))
		}
	}
	// Reading a deleted stack must not bring its resources back (moto's lazy resource map
	// did, see test/moto/neo4jctl_moto.py).
	for _, st := range order {
		if _, err := cfn.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(ids[st.Name])}); err != nil {
			t.Errorf("DescribeStackResources %s after delete: %v", st.Name, err)
		}
	}

	if cfg.CreatesVPC() {
		checkNetworkGone(t, ctx, ec2.NewFromConfig(awsCfg), made)
	} else if _, err := ec2.NewFromConfig(awsCfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{cfg.Network.VPCID}}); err != nil {
		t.Errorf("the cluster's existing VPC %s went with the stacks: %v", cfg.Network.VPCID, err)
	}
	checkCloudMapGone(t, ctx, servicediscovery.NewFromConfig(awsCfg), cfg, made)
	checkRetained(t, ctx, awsCfg, account, cfg, made)
}

// checkNetworkGone requires that nothing of the network the vpc stack made is left: no VPC,
// subnet, route table, internet gateway, Elastic IP, network interface or security group, and
// NAT gateways and VPC endpoints only in state "deleted" (AWS lists them so for a while).
func checkNetworkGone(t *testing.T, ctx context.Context, c *ec2.Client, made []stackResource) {
	t.Helper()
	left := map[string]string{} // physical id -> what it is, of everything EC2 still lists
	var vpcIDs []string
	for _, r := range made {
		if r.Type == "AWS::EC2::VPC" {
			vpcIDs = append(vpcIDs, r.PhysicalID)
		}
	}
	if len(vpcIDs) != 1 {
		t.Fatalf("the stacks made %d VPCs (%v), want 1", len(vpcIDs), vpcIDs)
	}
	vpcFilter := []ec2types.Filter{{Name: aws.String("vpc-id"), Values: vpcIDs}}

	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil {
		t.Fatalf("DescribeVpcs: %v", err)
	}
	for _, v := range vpcs.Vpcs {
		left[aws.ToString(v.VpcId)] = "VPC"
	}
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatalf("DescribeSubnets: %v", err)
	}
	for _, s := range subnets.Subnets {
		left[aws.ToString(s.SubnetId)] = "subnet of " + aws.ToString(s.VpcId)
	}
	tables, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{})
	if err != nil {
		t.Fatalf("DescribeRouteTables: %v", err)
	}
	for _, rt := range tables.RouteTables {
		left[aws.ToString(rt.RouteTableId)] = "route table of " + aws.ToString(rt.VpcId)
		if aws.ToString(rt.VpcId) == vpcIDs[0] {
			t.Errorf("route table %s of the deleted VPC is left", aws.ToString(rt.RouteTableId))
		}
	}
	igws, err := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{})
	if err != nil {
		t.Fatalf("DescribeInternetGateways: %v", err)
	}
	for _, g := range igws.InternetGateways {
		left[aws.ToString(g.InternetGatewayId)] = "internet gateway"
	}
	eips, err := c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{})
	if err != nil {
		t.Fatalf("DescribeAddresses: %v", err)
	}
	for _, a := range eips.Addresses {
		left[aws.ToString(a.PublicIp)] = "Elastic IP " + aws.ToString(a.AllocationId)
	}
	nats, err := c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{})
	if err != nil {
		t.Fatalf("DescribeNatGateways: %v", err)
	}
	for _, n := range nats.NatGateways {
		if n.State != ec2types.NatGatewayStateDeleted {
			left[aws.ToString(n.NatGatewayId)] = "NAT gateway in state " + string(n.State)
		}
	}
	endpoints, err := c.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{})
	if err != nil {
		t.Fatalf("DescribeVpcEndpoints: %v", err)
	}
	for _, e := range endpoints.VpcEndpoints {
		if !strings.EqualFold(string(e.State), "deleted") {
			left[aws.ToString(e.VpcEndpointId)] = "VPC endpoint in state " + string(e.State)
		}
	}
	enis, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: vpcFilter})
	if err != nil {
		t.Fatalf("DescribeNetworkInterfaces: %v", err)
	}
	for _, n := range enis.NetworkInterfaces {
		t.Errorf("network interface %s (%s) of the deleted VPC is left", aws.ToString(n.NetworkInterfaceId), aws.ToString(n.Description))
	}
	groups, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: vpcFilter})
	if err != nil {
		t.Fatalf("DescribeSecurityGroups: %v", err)
	}
	for _, g := range groups.SecurityGroups {
		t.Errorf("security group %s (%s) of the deleted VPC is left", aws.ToString(g.GroupId), aws.ToString(g.GroupName))
	}

	checked := 0
	for _, r := range made {
		switch r.Type {
		case "AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::RouteTable", "AWS::EC2::InternetGateway",
			"AWS::EC2::EIP", "AWS::EC2::NatGateway", "AWS::EC2::VPCEndpoint":
			checked++
			if what, ok := left[r.PhysicalID]; ok {
				t.Errorf("%s %s (%s of stack %s) is left after delete: %s", r.Type, r.PhysicalID, r.LogicalID, r.Stack, what)
			}
		}
	}
	if checked == 0 {
		t.Errorf("no network resources found in the stacks to check")
	}
}

// checkCloudMapGone requires the cluster's Cloud Map namespace and every Cloud Map service
// the stacks made to be gone.
func checkCloudMapGone(t *testing.T, ctx context.Context, sd *servicediscovery.Client, cfg *cluster.ClusterConfig, made []stackResource) {
	t.Helper()
	nss, err := sd.ListNamespaces(ctx, &servicediscovery.ListNamespacesInput{})
	if err != nil {
		t.Fatalf("ListNamespaces: %v", err)
	}
	for _, ns := range nss.Namespaces {
		if aws.ToString(ns.Name) == cfg.Namespace() {
			t.Errorf("Cloud Map namespace %s (%s) is left after delete", cfg.Namespace(), aws.ToString(ns.Id))
		}
	}
	svcs, err := sd.ListServices(ctx, &servicediscovery.ListServicesInput{})
	if err != nil {
		t.Fatalf("ListServices: %v", err)
	}
	left := map[string]string{}
	for _, s := range svcs.Services {
		left[aws.ToString(s.Id)] = aws.ToString(s.Name)
	}
	for _, r := range made {
		if r.Type == "AWS::ServiceDiscovery::Service" {
			if name, ok := left[r.PhysicalID]; ok {
				t.Errorf("Cloud Map service %s (%s of stack %s) is left after delete", name, r.LogicalID, r.Stack)
			}
		}
	}
}

// checkRetained requires every resource with DeletionPolicy Retain to outlive its stack:
// one data volume per core member, the bucket and the KMS key.
func checkRetained(t *testing.T, ctx context.Context, awsCfg aws.Config, account string, cfg *cluster.ClusterConfig, made []stackResource) {
	t.Helper()
	ec2c := ec2.NewFromConfig(awsCfg)
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
	count := map[string]int{}
	for _, r := range made {
		if !r.Retain {
			continue
		}
		count[r.Type]++
		switch r.Type {
		case "AWS::EC2::Volume":
			out, err := ec2c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{r.PhysicalID}})
			if err != nil || len(out.Volumes) != 1 {
				t.Errorf("retained volume %s (%s of stack %s) is gone: %v", r.PhysicalID, r.LogicalID, r.Stack, err)
			}
		case "AWS::S3::Bucket":
			if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(r.PhysicalID)}); err != nil {
				t.Errorf("retained bucket %s (stack %s) is gone: %v", r.PhysicalID, r.Stack, err)
			}
		case "AWS::KMS::Key":
			if state, err := kmsKeyState(ctx, awsCfg, account, r.PhysicalID); err != nil || state != "Enabled" {
				t.Errorf("retained KMS key %s (stack %s): state %q, %v; want Enabled", r.PhysicalID, r.Stack, state, err)
			}
		case "AWS::SecretsManager::Secret":
			if _, err := secretsmanager.NewFromConfig(awsCfg).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(r.PhysicalID)}); err != nil {
				t.Errorf("retained secret %s (stack %s) is gone: %v", r.PhysicalID, r.Stack, err)
			}
		default:
			t.Errorf("retained %s %s (stack %s): the test has no check for the type", r.Type, r.LogicalID, r.Stack)
		}
	}
	secrets := 1
	if u := cfg.Users; u != nil {
		secrets += min(1, len(u.ReadOnly)) + min(1, len(u.ReadWrite))
	}
	want := map[string]int{"AWS::EC2::Volume": len(cfg.Members()), "AWS::S3::Bucket": 1, "AWS::KMS::Key": 1, "AWS::SecretsManager::Secret": secrets}
	for typ, n := range want {
		if count[typ] != n {
			t.Errorf("the stacks retain %d %s, want %d", count[typ], typ, n)
		}
	}
}

// kmsKeyState answers KMS DescribeKey's KeyState. The module has no KMS client, so this is
// the JSON request, signed like the SDK's, in the test's moto account.
func kmsKeyState(ctx context.Context, awsCfg aws.Config, account, keyID string) (string, error) {
	body, _ := json.Marshal(map[string]string{"KeyId": keyID})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, aws.ToString(awsCfg.BaseEndpoint)+"/", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService.DescribeKey")
	req.Header.Set("x-moto-account-id", account)
	creds, err := awsCfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "kms", awsCfg.Region, time.Now()); err != nil {
		return "", err
	}
	resp, err := awsCfg.HTTPClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("DescribeKey %s: HTTP %d: %s", keyID, resp.StatusCode, data)
	}
	var out struct{ KeyMetadata struct{ KeyState string } }
	if err := json.Unmarshal(data, &out); err != nil {
		return "", fmt.Errorf("DescribeKey %s: %v: %s", keyID, err, data)
	}
	return out.KeyMetadata.KeyState, nil
}
