package netcheck

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
)

// Service is an AWS service the cluster calls from its subnets: Name is its VPC endpoint's
// service name after com.amazonaws.<region>.
type Service struct {
	Name   string
	Caller string
}

// Services are what the instances, tasks and VPC-attached functions in the cluster's subnets
// call: a way out to each is needed, through a NAT gateway or a VPC endpoint. KMS is not
// among them: the volumes, the bucket and the secrets use the cluster key inside EBS, S3 and
// Secrets Manager, and nothing in the subnets calls KMS itself. Cloud Map is not either: its
// names are resolved by the VPC's DNS, and only functions outside the VPC call its API.
var Services = []Service{
	{"ecr.api", "ECS pulling the Neo4j image"},
	{"ecr.dkr", "ECS pulling the Neo4j image"},
	{"s3", "image layers, the host agent download, backups"},
	{"logs", "container logs and each member's boot log"},
	{"secretsmanager", "the passwords ECS injects, the operations and rotation functions"},
	{"ecs", "the ECS agent and the Neo4j worker"},
	{"ecs-agent", "the ECS agent"},
	{"ecs-telemetry", "the ECS agent"},
	{"ec2", "a member's host attaching its data volume"},
	{"autoscaling", "a host that cannot mount its volume marking itself unhealthy"},
	{"monitoring", "the Neo4j worker's CloudWatch metrics"},
}

// network is what the egress check reads of the VPC once.
type network struct {
	tables    map[string]ec2types.RouteTable // by id
	bySubnet  map[string]string              // subnet → its explicitly associated table
	main      string                         // the VPC's main route table
	endpoints []ec2types.VpcEndpoint
	azOf      map[string]string // every subnet of the VPC → AZ
	nats      map[string]string // NAT gateway → state
}

// checkEgress: every subnet reaches every Service through a NAT gateway or endpoints. An
// internet gateway alone is no way out: instances and tasks get no public address.
func checkEgress(ctx context.Context, api EC2, cfg *cluster.ClusterConfig, r *Report, subnets map[string]ec2types.Subnet) error {
	if len(subnets) == 0 {
		return nil
	}
	n, err := readNetwork(ctx, api, r.VPC)
	if err != nil {
		return err
	}
	for i, id := range cfg.Network.Subnets {
		if _, ok := subnets[id]; ok {
			n.checkSubnet(r, fmt.Sprintf("network.subnets[%d]", i), id, r.SubnetAZs[id])
		}
	}
	return nil
}

func readNetwork(ctx context.Context, api EC2, vpc string) (*network, error) {
	n := &network{tables: map[string]ec2types.RouteTable{}, bySubnet: map[string]string{}, azOf: map[string]string{}, nats: map[string]string{}}
	inVPC := []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}
	tables := ec2.NewDescribeRouteTablesPaginator(api, &ec2.DescribeRouteTablesInput{Filters: inVPC})
	var natIDs []string
	for tables.HasMorePages() {
		page, err := tables.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the route tables of %s (ec2:DescribeRouteTables): %w", vpc, awsapi.Clean(err))
		}
		for _, t := range page.RouteTables {
			id := aws.ToString(t.RouteTableId)
			n.tables[id] = t
			for _, a := range t.Associations {
				if aws.ToBool(a.Main) {
					n.main = id
				} else if s := aws.ToString(a.SubnetId); s != "" {
					n.bySubnet[s] = id
				}
			}
			for _, rt := range t.Routes {
				if nat := aws.ToString(rt.NatGatewayId); nat != "" && !slices.Contains(natIDs, nat) {
					natIDs = append(natIDs, nat)
				}
			}
		}
	}
	if err := n.readNATs(ctx, api, natIDs); err != nil {
		return nil, err
	}
	return n, n.readEndpoints(ctx, api, vpc, inVPC)
}

func (n *network) readNATs(ctx context.Context, api EC2, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	nats := ec2.NewDescribeNatGatewaysPaginator(api, &ec2.DescribeNatGatewaysInput{
		Filter: []ec2types.Filter{{Name: aws.String("nat-gateway-id"), Values: ids}},
	})
	for nats.HasMorePages() {
		page, err := nats.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("reading NAT gateways %s (ec2:DescribeNatGateways): %w", strings.Join(ids, ", "), awsapi.Clean(err))
		}
		for _, g := range page.NatGateways {
			n.nats[aws.ToString(g.NatGatewayId)] = string(g.State)
		}
	}
	return nil
}

// readEndpoints reads the VPC's endpoints and, when there are interface endpoints, the AZs
// of the VPC's subnets (where each endpoint has its addresses).
func (n *network) readEndpoints(ctx context.Context, api EC2, vpc string, inVPC []ec2types.Filter) error {
	eps := ec2.NewDescribeVpcEndpointsPaginator(api, &ec2.DescribeVpcEndpointsInput{Filters: inVPC})
	for eps.HasMorePages() {
		page, err := eps.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("reading the VPC endpoints of %s (ec2:DescribeVpcEndpoints): %w", vpc, awsapi.Clean(err))
		}
		n.endpoints = append(n.endpoints, page.VpcEndpoints...)
	}
	if !slices.ContainsFunc(n.endpoints, func(e ec2types.VpcEndpoint) bool { return e.VpcEndpointType == ec2types.VpcEndpointTypeInterface }) {
		return nil
	}
	subnets := ec2.NewDescribeSubnetsPaginator(api, &ec2.DescribeSubnetsInput{Filters: inVPC})
	for subnets.HasMorePages() {
		page, err := subnets.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("reading the subnets of %s (ec2:DescribeSubnets): %w", vpc, awsapi.Clean(err))
		}
		for _, s := range page.Subnets {
			n.azOf[aws.ToString(s.SubnetId)] = aws.ToString(s.AvailabilityZone)
		}
	}
	return nil
}

// checkSubnet finds the subnet's way out: a NAT gateway takes it to every service, else
// each service needs its endpoint. A default route neo4jctl cannot see past (transit
// gateway, firewall, appliance, peering) is a warning for the services without one.
func (n *network) checkSubnet(r *Report, field, subnet, az string) {
	table, how := n.bySubnet[subnet], "associated"
	if table == "" {
		table, how = n.main, "the VPC's main route table, as the subnet has none of its own"
	}
	def := defaultRoute(n.tables[table])
	f := Finding{Code: CodeEgress, Field: field, Resource: subnet}
	if def.kind == "nat" && strings.EqualFold(n.nats[def.target], "available") {
		f.Verdict, f.Message = OK, fmt.Sprintf("0.0.0.0/0 goes to NAT gateway %s (route table %s)", def.target, table)
		r.add(f)
		return
	}
	var missing, crossAZ []string
	for _, s := range Services {
		switch n.covered(r.Region, s.Name, table, az) {
		case "":
			missing = append(missing, s.Name)
		case "other-az":
			crossAZ = append(crossAZ, s.Name)
		}
	}
	if len(crossAZ) > 0 {
		r.add(Finding{Code: CodeEndpointAZ, Verdict: Warn, Field: field, Resource: subnet,
			Message: fmt.Sprintf("the endpoints for %s have no address in %s: traffic crosses AZs and stops when theirs fails", strings.Join(crossAZ, ", "), az),
			Fix:     "add a subnet in " + az + " to those endpoints (aws ec2 modify-vpc-endpoint --add-subnet-ids)"})
	}
	route := def.describe(table, how, n.nats)
	switch {
	case len(missing) == 0:
		f.Verdict, f.Message = OK, "VPC endpoints for every service the cluster calls ("+route+")"
	case def.kind == "other":
		f.Verdict = Warn
		f.Message = fmt.Sprintf("%s; neo4jctl cannot see past it: it must reach %s (no VPC endpoints for them)", route, strings.Join(missing, ", "))
		f.Fix = "make sure that route reaches those AWS services, or create their VPC endpoints"
	default:
		f.Verdict = Fail
		f.Message = fmt.Sprintf("no way out to %s: %s, and the VPC has no endpoints (with private DNS, in %s) for them", strings.Join(missing, ", "), route, az)
		f.Fix = egressFix(r.Region, r.VPC, subnet, table, missing)
	}
	r.add(f)
}

// covered says how service is reached from a subnet in az using table: "endpoint", "other-az"
// (an interface endpoint with addresses in other AZs only), or "" (not through an endpoint).
func (n *network) covered(region, service, table, az string) string {
	how := ""
	for _, e := range n.endpoints {
		name := aws.ToString(e.ServiceName)
		if !strings.HasSuffix(name, "."+region+"."+service) || !strings.EqualFold(string(e.State), "available") {
			continue
		}
		switch e.VpcEndpointType {
		case ec2types.VpcEndpointTypeGateway:
			if slices.Contains(e.RouteTableIds, table) {
				return "endpoint"
			}
		case ec2types.VpcEndpointTypeInterface:
			if !aws.ToBool(e.PrivateDnsEnabled) {
				continue // the services' usual names do not reach it
			}
			if slices.ContainsFunc(e.SubnetIds, func(s string) bool { return n.azOf[s] == az }) {
				return "endpoint"
			}
			how = "other-az"
		}
	}
	return how
}

// route is a route table's 0.0.0.0/0 route: kind nat, igw, other (transit gateway, network
// interface, peering, ...), blackhole or none, and its target.
type route struct{ kind, target string }

func defaultRoute(t ec2types.RouteTable) route {
	for _, r := range t.Routes {
		if aws.ToString(r.DestinationCidrBlock) != "0.0.0.0/0" {
			continue
		}
		target := cmp.Or(aws.ToString(r.NatGatewayId), aws.ToString(r.GatewayId), aws.ToString(r.TransitGatewayId),
			aws.ToString(r.NetworkInterfaceId), aws.ToString(r.InstanceId), aws.ToString(r.VpcPeeringConnectionId),
			aws.ToString(r.LocalGatewayId), aws.ToString(r.CarrierGatewayId), aws.ToString(r.CoreNetworkArn))
		switch {
		case r.State == ec2types.RouteStateBlackhole:
			return route{"blackhole", target}
		case aws.ToString(r.NatGatewayId) != "":
			return route{"nat", target}
		case strings.HasPrefix(aws.ToString(r.GatewayId), "igw-"):
			return route{"igw", target}
		}
		return route{"other", target}
	}
	return route{kind: "none"}
}

// describe says where the subnet's traffic to the internet goes, for a message.
func (d route) describe(table, how string, nats map[string]string) string {
	in := fmt.Sprintf("route table %s (%s)", table, how)
	switch d.kind {
	case "nat":
		return fmt.Sprintf("%s sends 0.0.0.0/0 to NAT gateway %s, which is %s", in, d.target, cmp.Or(nats[d.target], "not found"))
	case "igw":
		return fmt.Sprintf("%s sends 0.0.0.0/0 to internet gateway %s, but the instances and tasks have no public address", in, d.target)
	case "blackhole":
		return fmt.Sprintf("%s sends 0.0.0.0/0 to %s, which is gone (blackhole)", in, d.target)
	case "other":
		return fmt.Sprintf("%s sends 0.0.0.0/0 to %s", in, d.target)
	}
	return in + " has no 0.0.0.0/0 route"
}

// egressFix is the two ways out, as AWS CLI commands.
func egressFix(region, vpc, subnet, table string, missing []string) string {
	var ifaces []string
	s3 := false
	for _, m := range missing {
		if m == "s3" {
			s3 = true
		} else {
			ifaces = append(ifaces, m)
		}
	}
	fix := fmt.Sprintf("route 0.0.0.0/0 of %s to a NAT gateway in a public subnet (aws ec2 create-route --region %s --route-table-id %s --destination-cidr-block 0.0.0.0/0 --nat-gateway-id NAT_GATEWAY_ID), or create VPC endpoints:", table, region, table)
	if len(ifaces) > 0 {
		fix += fmt.Sprintf(" for each of %s: aws ec2 create-vpc-endpoint --region %s --vpc-id %s --vpc-endpoint-type Interface --private-dns-enabled --subnet-ids %s --security-group-ids GROUP_ALLOWING_443_FROM_THE_VPC --service-name com.amazonaws.%s.SERVICE",
			strings.Join(ifaces, ", "), region, vpc, subnet, region)
	}
	if s3 {
		if len(ifaces) > 0 {
			fix += ";"
		}
		fix += fmt.Sprintf(" for S3 a gateway endpoint: aws ec2 create-vpc-endpoint --region %s --vpc-id %s --service-name com.amazonaws.%s.s3 --route-table-ids %s", region, vpc, region, table)
	}
	return fix
}
