package stack

import (
	"fmt"
	"net"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// interfaceEndpoints are the AWS services the cluster reaches without internet access when
// network.vpcEndpoints is set (S3 always gets a free gateway endpoint).
var interfaceEndpoints = []string{
	"ecr.api", "ecr.dkr", "ecs", "ecs-agent", "ecs-telemetry", "logs", "monitoring",
	"secretsmanager", "kms", "ssm", "ssmmessages", "ec2messages", "ec2", "sts", "servicediscovery",
}

// vpc: the VPC neo4jctl makes when cluster.yaml has no network.vpcID: one public and one
// private subnet per AZ (AZs picked with Fn::GetAZs), NAT gateways (one, or one per AZ),
// an S3 gateway endpoint, and the interface endpoints when asked.
func (b *builder) vpc() *Template {
	cfg := b.cfg
	n := cfg.Network
	t := NewTemplate(fmt.Sprintf("neo4jctl %s: VPC over %d availability zones", b.name, n.AZCount))
	exp := func(out string, v any, desc string) { t.Output(out, v, desc, naming.Export(b.name, out)) }
	name := func(s string) []any { return b.resourceTags("Name", naming.StackPrefix(b.name)+"-"+s) }

	// eight equal subnets of the VPC CIDR: private 0..2, public 4..6
	cidrBits := 13
	if _, ipn, err := net.ParseCIDR(n.CIDR); err == nil {
		ones, _ := ipn.Mask.Size()
		cidrBits = 32 - (ones + 3)
	}
	subnets := M{"Fn::Cidr": L{GetAtt("VPC", "CidrBlock"), 8, fmt.Sprint(cidrBits)}}

	t.Add("VPC", "AWS::EC2::VPC", M{
		"CidrBlock": n.CIDR, "EnableDnsSupport": true, "EnableDnsHostnames": true, "Tags": name("vpc"),
	}, true)
	t.Add("InternetGateway", "AWS::EC2::InternetGateway", M{"Tags": name("igw")}, false)
	t.Add("InternetGatewayAttachment", "AWS::EC2::VPCGatewayAttachment", M{"VpcId": Ref("VPC"), "InternetGatewayId": Ref("InternetGateway")}, false)
	t.Add("PublicRouteTable", "AWS::EC2::RouteTable", M{"VpcId": Ref("VPC"), "Tags": name("public")}, false)
	route := t.Add("PublicDefaultRoute", "AWS::EC2::Route", M{"RouteTableId": Ref("PublicRouteTable"), "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": Ref("InternetGateway")}, false)
	route["DependsOn"] = "InternetGatewayAttachment"

	var privateTables []any
	for i := 0; i < n.AZCount; i++ {
		az := Select(i, M{"Fn::GetAZs": ""})
		pub, priv := fmt.Sprintf("PublicSubnet%d", i+1), fmt.Sprintf("PrivateSubnet%d", i+1)
		t.Add(pub, "AWS::EC2::Subnet", M{
			"VpcId": Ref("VPC"), "AvailabilityZone": az, "CidrBlock": Select(4+i, subnets),
			"MapPublicIpOnLaunch": false, "Tags": name(fmt.Sprintf("public-%d", i+1)),
		}, false)
		t.Add(pub+"RouteTableAssociation", "AWS::EC2::SubnetRouteTableAssociation", M{"SubnetId": Ref(pub), "RouteTableId": Ref("PublicRouteTable")}, false)
		t.Add(priv, "AWS::EC2::Subnet", M{
			"VpcId": Ref("VPC"), "AvailabilityZone": az, "CidrBlock": Select(i, subnets),
			"MapPublicIpOnLaunch": false, "Tags": name(fmt.Sprintf("private-%d", i+1)),
		}, true)
		if i < n.NATGateways {
			eip := t.Add(fmt.Sprintf("NATAddress%d", i+1), "AWS::EC2::EIP", M{"Domain": "vpc", "Tags": name(fmt.Sprintf("nat-%d", i+1))}, false)
			eip["DependsOn"] = "InternetGatewayAttachment"
			t.Add(fmt.Sprintf("NATGateway%d", i+1), "AWS::EC2::NatGateway", M{
				"AllocationId": GetAtt(fmt.Sprintf("NATAddress%d", i+1), "AllocationId"),
				"SubnetId":     Ref(pub), "Tags": name(fmt.Sprintf("nat-%d", i+1)),
			}, true)
		}
		rt := fmt.Sprintf("PrivateRouteTable%d", i+1)
		t.Add(rt, "AWS::EC2::RouteTable", M{"VpcId": Ref("VPC"), "Tags": name(fmt.Sprintf("private-%d", i+1))}, false)
		t.Add(rt+"DefaultRoute", "AWS::EC2::Route", M{
			"RouteTableId": Ref(rt), "DestinationCidrBlock": "0.0.0.0/0",
			"NatGatewayId": Ref(fmt.Sprintf("NATGateway%d", i%max(1, n.NATGateways)+1)),
		}, false)
		t.Add(priv+"RouteTableAssociation", "AWS::EC2::SubnetRouteTableAssociation", M{"SubnetId": Ref(priv), "RouteTableId": Ref(rt)}, false)
		privateTables = append(privateTables, Ref(rt))

		exp(OutputPrivateSubnet(i), Ref(priv), "Private subnet "+fmt.Sprint(i+1))
		exp(OutputPublicSubnet(i), Ref(pub), "Public subnet "+fmt.Sprint(i+1))
		exp(OutputAZ(i), GetAtt(priv, "AvailabilityZone"), "Availability zone of subnet pair "+fmt.Sprint(i+1))
	}

	t.Add("S3Endpoint", "AWS::EC2::VPCEndpoint", M{
		"VpcId": Ref("VPC"), "ServiceName": Sub("com.amazonaws.${AWS::Region}.s3"),
		"VpcEndpointType": "Gateway", "RouteTableIds": privateTables,
	}, false)
	if n.VPCEndpoints {
		t.Add("EndpointSecurityGroup", "AWS::EC2::SecurityGroup", M{
			"GroupDescription": "VPC interface endpoints of " + b.name,
			"VpcId":            Ref("VPC"),
			"SecurityGroupIngress": L{M{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": GetAtt("VPC", "CidrBlock"),
				"Description": "HTTPS from the VPC"}},
			"SecurityGroupEgress": L{M{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": GetAtt("VPC", "CidrBlock"),
				"Description": "HTTPS within the VPC"}},
			"Tags": name("endpoints"),
		}, false)
		var privSubnets []any
		for i := 0; i < n.AZCount; i++ {
			privSubnets = append(privSubnets, Ref(fmt.Sprintf("PrivateSubnet%d", i+1)))
		}
		for _, svc := range interfaceEndpoints {
			id := ""
			for _, part := range splitAny(svc, ".-") {
				id += string(part[0]-'a'+'A') + part[1:]
			}
			t.Add(id+"Endpoint", "AWS::EC2::VPCEndpoint", M{
				"VpcId": Ref("VPC"), "ServiceName": Sub("com.amazonaws.${AWS::Region}." + svc),
				"VpcEndpointType": "Interface", "PrivateDnsEnabled": true,
				"SubnetIds": privSubnets, "SecurityGroupIds": L{Ref("EndpointSecurityGroup")},
			}, false)
		}
	}
	exp(OutputVPCID, Ref("VPC"), "VPC id")
	exp(OutputVPCCIDR, GetAtt("VPC", "CidrBlock"), "VPC CIDR")
	return t
}

func splitAny(s, seps string) []string {
	var out []string
	cur := ""
	for _, r := range s {
		if containsRune(seps, r) {
			if cur != "" {
				out = append(out, cur)
			}
			cur = ""
			continue
		}
		cur += string(r)
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

func containsRune(s string, r rune) bool {
	for _, c := range s {
		if c == r {
			return true
		}
	}
	return false
}
