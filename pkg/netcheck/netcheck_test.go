package netcheck_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/netcheck"
)

// The checks run against networks made in a real moto_server, one account per case.
func TestMain(m *testing.M) { testbed.Main(m, testbed.NeedMoto) }

const region = "eu-west-1"

// bed is one case's account: a ready network (testbed.NewNetwork) and the production
// example pointed at it.
type bed struct {
	t   *testing.T
	ctx context.Context
	ec2 *ec2.Client
	net *testbed.Network
	cfg *cluster.ClusterConfig
}

func newBed(t *testing.T) *bed {
	t.Helper()
	ctx := context.Background()
	awsCfg, _ := testbed.SharedMoto(t).IsolatedConfig(ctx, region)
	c := ec2.NewFromConfig(awsCfg)
	n, err := testbed.NewNetwork(ctx, c, region, "10.30", "a", "b", "c")
	if err != nil {
		t.Fatal(err)
	}
	f, err := cluster.Load("../../examples/production.yaml", cluster.Overrides{Region: region})
	if err != nil {
		t.Fatal(err)
	}
	f.Config.Network.VPCID, f.Config.Network.Subnets = n.VPC, slices.Clone(n.Subnets)
	return &bed{t: t, ctx: ctx, ec2: c, net: n, cfg: f.Config}
}

func (b *bed) check(o netcheck.Options) *netcheck.Report {
	b.t.Helper()
	r, err := netcheck.Check(b.ctx, b.ec2, b.cfg, o)
	if err != nil {
		b.t.Fatal(err)
	}
	return r
}

func (b *bed) must(_ any, err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
}

// noNAT takes the NAT route out of the private route table.
func (b *bed) noNAT() {
	b.must(b.ec2.DeleteRoute(b.ctx, &ec2.DeleteRouteInput{RouteTableId: aws.String(b.net.PrivateTable), DestinationCidrBlock: aws.String("0.0.0.0/0")}))
}

// endpoints makes interface endpoints (private DNS on, one subnet in each AZ given by index)
// for services, and an S3 gateway endpoint on the private route table unless s3 is false.
func (b *bed) endpoints(services []string, subnets []int, privateDNS, s3 bool) {
	var ids []string
	for _, i := range subnets {
		ids = append(ids, b.net.Subnets[i])
	}
	for _, s := range services {
		if s == "s3" {
			continue
		}
		b.must(b.ec2.CreateVpcEndpoint(b.ctx, &ec2.CreateVpcEndpointInput{VpcId: aws.String(b.net.VPC), VpcEndpointType: ec2types.VpcEndpointTypeInterface,
			ServiceName: aws.String("com.amazonaws." + region + "." + s), SubnetIds: ids, PrivateDnsEnabled: aws.Bool(privateDNS)}))
	}
	if s3 {
		b.must(b.ec2.CreateVpcEndpoint(b.ctx, &ec2.CreateVpcEndpointInput{VpcId: aws.String(b.net.VPC), VpcEndpointType: ec2types.VpcEndpointTypeGateway,
			ServiceName: aws.String("com.amazonaws." + region + ".s3"), RouteTableIds: []string{b.net.PrivateTable}}))
	}
}

func allServices() []string {
	var out []string
	for _, s := range netcheck.Services {
		out = append(out, s.Name)
	}
	return out
}

// find is the finding of code for resource.
func find(r *netcheck.Report, code, resource string) (netcheck.Finding, bool) {
	for _, f := range r.Findings {
		if f.Code == code && f.Resource == resource {
			return f, true
		}
	}
	return netcheck.Finding{}, false
}

func TestReadyNetworkPassesEveryCheck(t *testing.T) {
	b := newBed(t)
	r := b.check(netcheck.Options{})
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if w := r.With(netcheck.Warn); len(w) > 0 {
		t.Fatalf("warnings on a ready network: %v", w)
	}
	for i, s := range b.net.Subnets {
		if r.SubnetAZs[s] != region+string(rune('a'+i)) {
			t.Errorf("subnet %s in %q", s, r.SubnetAZs[s])
		}
		f, ok := find(r, netcheck.CodeEgress, s)
		if !ok || f.Verdict != netcheck.OK || !strings.Contains(f.Message, "NAT gateway "+b.net.NAT) {
			t.Errorf("egress of %s: %+v", s, f)
		}
	}
	for _, code := range []string{netcheck.CodeVPC, netcheck.CodeDNSSupport, netcheck.CodeDNSHostnames} {
		if f, ok := find(r, code, b.net.VPC); !ok || f.Verdict != netcheck.OK {
			t.Errorf("%s: %+v", code, f)
		}
	}
}

func TestDNSAttributesOffAreRefusedWithTheCommandThatTurnsThemOn(t *testing.T) {
	b := newBed(t)
	b.must(b.ec2.ModifyVpcAttribute(b.ctx, &ec2.ModifyVpcAttributeInput{VpcId: aws.String(b.net.VPC), EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}}))
	r := b.check(netcheck.Options{})
	f, _ := find(r, netcheck.CodeDNSHostnames, b.net.VPC)
	if f.Verdict != netcheck.Fail || f.Field != "network.vpcID" || !strings.HasPrefix(f.Message, "enableDnsHostnames is false") ||
		f.Fix != fmt.Sprintf("aws ec2 modify-vpc-attribute --region %s --vpc-id %s --enable-dns-hostnames Value=true", region, b.net.VPC) {
		t.Fatalf("hostnames off: %+v", f)
	}
	if f, _ := find(r, netcheck.CodeDNSSupport, b.net.VPC); f.Verdict != netcheck.OK {
		t.Errorf("support: %+v", f)
	}
	err := r.Err()
	if err == nil || !strings.Contains(err.Error(), "network.vpcID "+b.net.VPC+": enableDnsHostnames is false") || !strings.HasPrefix(err.Error(), "network check: network.vpcID ") || !strings.HasSuffix(err.Error(), "Nothing was created; fix it and run the command again.") {
		t.Fatalf("error: %v", err)
	}

	b.must(b.ec2.ModifyVpcAttribute(b.ctx, &ec2.ModifyVpcAttributeInput{VpcId: aws.String(b.net.VPC), EnableDnsSupport: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}}))
	r = b.check(netcheck.Options{})
	if f, _ := find(r, netcheck.CodeDNSSupport, b.net.VPC); f.Verdict != netcheck.Fail || !strings.HasSuffix(f.Fix, "--enable-dns-support Value=true") {
		t.Fatalf("support off: %+v", f)
	}
	if len(r.With(netcheck.Fail)) != 2 || !strings.Contains(r.Err().Error(), "2 problems:\n  - ") {
		t.Fatalf("both attributes: %v", r.Err())
	}
}

func TestEgress(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(b *bed)
		verdict netcheck.Verdict
		want    []string // in the message; {private}, {public}, {igw}: the network's route tables and internet gateway
		fix     []string
	}{
		{"internet gateway only", func(b *bed) {
			b.noNAT()
			b.must(b.ec2.CreateRoute(b.ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(b.net.PrivateTable), DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(b.net.IGW)}))
		}, netcheck.Fail, []string{"no way out to ecr.api, ecr.dkr, s3, logs, secretsmanager, ecs, ecs-agent, ecs-telemetry, ec2, autoscaling, monitoring",
			"route table {private} (associated) sends 0.0.0.0/0 to internet gateway {igw}, but the instances and tasks have no public address"},
			[]string{"aws ec2 create-route --region eu-west-1 --route-table-id {private} --destination-cidr-block 0.0.0.0/0 --nat-gateway-id NAT_GATEWAY_ID",
				"--vpc-endpoint-type Interface --private-dns-enabled", "--service-name com.amazonaws.eu-west-1.s3 --route-table-ids {private}"}},
		{"no association: the main route table, which has no default route", func(b *bed) {
			for _, s := range b.net.Subnets {
				b.must(b.ec2.DisassociateRouteTable(b.ctx, &ec2.DisassociateRouteTableInput{AssociationId: b.association(s)}))
			}
		}, netcheck.Fail, []string{"(the VPC's main route table, as the subnet has none of its own) has no 0.0.0.0/0 route"}, nil},
		{"every endpoint, no NAT", func(b *bed) {
			b.noNAT()
			b.endpoints(allServices(), []int{0, 1, 2}, true, true)
		}, netcheck.OK, []string{"VPC endpoints for every service the cluster calls (route table {private} (associated) has no 0.0.0.0/0 route)"}, nil},
		{"endpoints without private DNS, S3 on another route table", func(b *bed) {
			b.noNAT()
			b.endpoints([]string{"ecr.api", "ecr.dkr", "logs"}, []int{0, 1, 2}, false, false)
			b.endpoints([]string{"secretsmanager", "ecs", "ecs-agent", "ecs-telemetry", "ec2", "autoscaling", "monitoring"}, []int{0, 1, 2}, true, false)
			b.must(b.ec2.CreateVpcEndpoint(b.ctx, &ec2.CreateVpcEndpointInput{VpcId: aws.String(b.net.VPC), VpcEndpointType: ec2types.VpcEndpointTypeGateway,
				ServiceName: aws.String("com.amazonaws." + region + ".s3"), RouteTableIds: []string{b.net.PublicTable}}))
		}, netcheck.Fail, []string{"no way out to ecr.api, ecr.dkr, s3, logs:"}, []string{"for each of ecr.api, ecr.dkr, logs: aws ec2 create-vpc-endpoint", "; for S3 a gateway endpoint"}},
		{"transit gateway: cannot tell", func(b *bed) {
			b.noNAT()
			tgw, err := b.ec2.CreateTransitGateway(b.ctx, &ec2.CreateTransitGatewayInput{})
			if err != nil {
				b.t.Fatal(err)
			}
			b.must(b.ec2.CreateRoute(b.ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(b.net.PrivateTable), DestinationCidrBlock: aws.String("0.0.0.0/0"), TransitGatewayId: tgw.TransitGateway.TransitGatewayId}))
			b.endpoints([]string{"s3"}, nil, true, true)
		}, netcheck.Warn, []string{"sends 0.0.0.0/0 to tgw-", "neo4jctl cannot see past it: it must reach ecr.api, ecr.dkr, logs,"}, nil},
		{"explicit association wins over a main table with NAT", func(b *bed) {
			main := b.mainTable()
			b.must(b.ec2.CreateRoute(b.ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(main), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(b.net.NAT)}))
			b.noNAT()
		}, netcheck.Fail, []string{"route table {private} (associated) has no 0.0.0.0/0 route"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBed(t)
			tc.setup(b)
			r := b.check(netcheck.Options{})
			ids := strings.NewReplacer("{private}", b.net.PrivateTable, "{public}", b.net.PublicTable, "{igw}", b.net.IGW)
			for _, s := range b.net.Subnets {
				f, _ := find(r, netcheck.CodeEgress, s)
				if f.Verdict != tc.verdict {
					t.Fatalf("%s: verdict %s, want %s: %s", s, f.Verdict, tc.verdict, f)
				}
				for _, w := range tc.want {
					if w = ids.Replace(w); !strings.Contains(f.Message, w) {
						t.Errorf("%s: message lacks %q:\n%s", s, w, f.Message)
					}
				}
				for _, w := range tc.fix {
					if w = ids.Replace(w); !strings.Contains(f.Fix, w) {
						t.Errorf("%s: fix lacks %q:\n%s", s, w, f.Fix)
					}
				}
			}
			if (r.Err() != nil) != (tc.verdict == netcheck.Fail) {
				t.Errorf("Err: %v", r.Err())
			}
		})
	}
}

func (b *bed) mainTable() string {
	b.t.Helper()
	out, err := b.ec2.DescribeRouteTables(b.ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{b.net.VPC}}, {Name: aws.String("association.main"), Values: []string{"true"}}}})
	if err != nil || len(out.RouteTables) != 1 {
		b.t.Fatalf("main route table: %v", err)
	}
	return aws.ToString(out.RouteTables[0].RouteTableId)
}

func (b *bed) association(subnet string) *string {
	b.t.Helper()
	out, err := b.ec2.DescribeRouteTables(b.ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{b.net.PrivateTable}})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, a := range out.RouteTables[0].Associations {
		if aws.ToString(a.SubnetId) == subnet {
			return a.RouteTableAssociationId
		}
	}
	b.t.Fatalf("%s is not associated with %s", subnet, b.net.PrivateTable)
	return nil
}

func TestAnEndpointInAnotherAZIsAWarning(t *testing.T) {
	b := newBed(t)
	b.noNAT()
	b.endpoints(allServices(), []int{0}, true, true) // addresses in the first AZ only
	r := b.check(netcheck.Options{})
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if _, ok := find(r, netcheck.CodeEndpointAZ, b.net.Subnets[0]); ok {
		t.Errorf("the endpoints' own AZ is warned about")
	}
	f, ok := find(r, netcheck.CodeEndpointAZ, b.net.Subnets[1])
	if !ok || f.Verdict != netcheck.Warn || !strings.Contains(f.Message, "the endpoints for ecr.api, ecr.dkr, logs,") || !strings.Contains(f.Message, "have no address in eu-west-1b") {
		t.Fatalf("subnet in eu-west-1b: %+v", f)
	}
}

func TestFreeAddresses(t *testing.T) {
	b := newBed(t)
	small, err := b.ec2.CreateSubnet(b.ctx, &ec2.CreateSubnetInput{VpcId: aws.String(b.net.VPC), CidrBlock: aws.String("10.30.100.0/28"), AvailabilityZone: aws.String(region + "c")})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(small.Subnet.SubnetId)
	b.must(b.ec2.AssociateRouteTable(b.ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(b.net.PrivateTable), SubnetId: aws.String(id)}))
	b.cfg.Network.Subnets[2] = id
	b.cfg.Replicas.Count = 9 // 3 in each subnet
	free := int(aws.ToInt32(small.Subnet.AvailableIpAddressCount))
	need := netcheck.NeededAddresses(b.cfg, id)
	if need != (netcheck.Addresses{Members: 1, Replicas: 3, Tasks: 2, Lambdas: 1, Rolling: 2}) || need.Total() != 13 || free >= 13 {
		t.Fatalf("need %+v (%d), %d free", need, need.Total(), free)
	}
	f, _ := find(b.check(netcheck.Options{}), netcheck.CodeFreeAddresses, id)
	want := fmt.Sprintf("%d free addresses, the cluster needs up to 13 here (1 members and 3 replicas with an instance and a task each, 2 backup tasks, 1 for the VPC functions, 2 for a rolling replacement)", free)
	if f.Verdict != netcheck.Fail || f.Message != want || f.Field != "network.subnets[2]" {
		t.Fatalf("small subnet: %+v\nwant %s", f, want)
	}
	// the cluster exists: only what an update adds must be free
	f, _ = find(b.check(netcheck.Options{Existing: true}), netcheck.CodeFreeAddresses, id)
	if f.Verdict != netcheck.OK {
		t.Fatalf("update: %+v", f)
	}
}

func TestMissingVPCAndSubnetsAreNamed(t *testing.T) {
	b := newBed(t)
	other, err := testbed.NewNetwork(b.ctx, b.ec2, region, "10.40", "a")
	if err != nil {
		t.Fatal(err)
	}
	b.cfg.Network.Subnets = []string{b.net.Subnets[0], other.Subnets[0], "subnet-0a1b2c3d4e5f60733"}
	r := b.check(netcheck.Options{})
	fails := r.With(netcheck.Fail)
	if len(fails) != 2 {
		t.Fatalf("failures: %v", fails)
	}
	if fails[0].String() != fmt.Sprintf("network.subnets[1] %s: belongs to %s, not network.vpcID %s; fix: use subnets of %s only", other.Subnets[0], other.VPC, b.net.VPC, b.net.VPC) {
		t.Errorf("other VPC: %s", fails[0])
	}
	if fails[1].Field != "network.subnets[2]" || fails[1].Message != "does not exist in eu-west-1" {
		t.Errorf("missing: %s", fails[1])
	}
	if f, _ := find(r, netcheck.CodeEgress, b.net.Subnets[0]); f.Verdict != netcheck.OK {
		t.Errorf("the good subnet is still checked: %+v", f)
	}

	b.cfg.Network.VPCID = "vpc-0a1b2c3d4e5f60718"
	r = b.check(netcheck.Options{})
	if len(r.Findings) != 1 || r.Findings[0].Verdict != netcheck.Fail || !strings.Contains(r.Findings[0].Message, "not found in eu-west-1") {
		t.Fatalf("missing VPC: %v", r.Findings)
	}
}
