package testbed

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// Network is an existing VPC as a user brings one to neo4jctl: DNS support and hostnames on,
// a private subnet per AZ whose route table sends 0.0.0.0/0 to a NAT gateway, which sits in
// a public subnet behind an internet gateway. Tests break one part of it at a time.
type Network struct {
	VPC          string
	Subnets      []string // private, one per AZ given, in that order
	PrivateTable string   // the private subnets' route table (0.0.0.0/0 → NAT)
	PublicSubnet string
	PublicTable  string // 0.0.0.0/0 → internet gateway
	IGW, NAT     string
}

// NewNetwork makes a Network in the account of c: cidr is the first two octets ("10.30"),
// azs the AZ suffixes of the private subnets ("a", "b", "c").
func NewNetwork(ctx context.Context, c *ec2.Client, region, cidr string, azs ...string) (*Network, error) {
	n := &Network{}
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr + ".0.0/16")})
	if err != nil {
		return nil, fmt.Errorf("CreateVpc: %w", err)
	}
	n.VPC = aws.ToString(vpc.Vpc.VpcId)
	// the API makes VPCs with hostnames off; one attribute per call
	if _, err := c.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: aws.String(n.VPC), EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		return nil, fmt.Errorf("ModifyVpcAttribute: %w", err)
	}
	for i, az := range azs {
		sn, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(n.VPC), CidrBlock: aws.String(fmt.Sprintf("%s.%d.0/24", cidr, i)), AvailabilityZone: aws.String(region + az)})
		if err != nil {
			return nil, fmt.Errorf("CreateSubnet: %w", err)
		}
		n.Subnets = append(n.Subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	if err := n.public(ctx, c, region, cidr, azs[0]); err != nil {
		return nil, err
	}
	rt, err := c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(n.VPC)})
	if err != nil {
		return nil, fmt.Errorf("CreateRouteTable: %w", err)
	}
	n.PrivateTable = aws.ToString(rt.RouteTable.RouteTableId)
	if _, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(n.PrivateTable), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(n.NAT)}); err != nil {
		return nil, fmt.Errorf("CreateRoute (NAT): %w", err)
	}
	for _, s := range n.Subnets {
		if _, err := c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(n.PrivateTable), SubnetId: aws.String(s)}); err != nil {
			return nil, fmt.Errorf("AssociateRouteTable: %w", err)
		}
	}
	return n, nil
}

// routesToIGW reports whether a CreateRoute that failed with RouteAlreadyExists was in fact
// made by its own first attempt: the table is new, so a 0.0.0.0/0 route to our internet
// gateway there is ours. (AWSConfig retries a call whose connection to moto was reset, and
// moto had done the call before the reset.)
func (n *Network) routesToIGW(ctx context.Context, c *ec2.Client, err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "RouteAlreadyExists" {
		return false
	}
	out, derr := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{n.PublicTable}})
	if derr != nil || len(out.RouteTables) != 1 {
		return false
	}
	for _, r := range out.RouteTables[0].Routes {
		if aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" && aws.ToString(r.GatewayId) == n.IGW {
			return true
		}
	}
	return false
}

// public makes the public subnet, its internet gateway route and the NAT gateway in it.
func (n *Network) public(ctx context.Context, c *ec2.Client, region, cidr, az string) error {
	sn, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(n.VPC), CidrBlock: aws.String(cidr + ".200.0/24"), AvailabilityZone: aws.String(region + az)})
	if err != nil {
		return fmt.Errorf("CreateSubnet (public): %w", err)
	}
	n.PublicSubnet = aws.ToString(sn.Subnet.SubnetId)
	igw, err := c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	if err != nil {
		return fmt.Errorf("CreateInternetGateway: %w", err)
	}
	n.IGW = aws.ToString(igw.InternetGateway.InternetGatewayId)
	if _, err := c.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: aws.String(n.IGW), VpcId: aws.String(n.VPC)}); err != nil {
		return fmt.Errorf("AttachInternetGateway: %w", err)
	}
	rt, err := c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(n.VPC)})
	if err != nil {
		return fmt.Errorf("CreateRouteTable: %w", err)
	}
	n.PublicTable = aws.ToString(rt.RouteTable.RouteTableId)
	if _, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(n.PublicTable), DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(n.IGW)}); err != nil && !n.routesToIGW(ctx, c, err) {
		return fmt.Errorf("CreateRoute (internet gateway): %w", err)
	}
	if _, err := c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(n.PublicTable), SubnetId: aws.String(n.PublicSubnet)}); err != nil {
		return fmt.Errorf("AssociateRouteTable (public): %w", err)
	}
	eip, err := c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	if err != nil {
		return fmt.Errorf("AllocateAddress: %w", err)
	}
	nat, err := c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(n.PublicSubnet), AllocationId: eip.AllocationId})
	if err != nil {
		return fmt.Errorf("CreateNatGateway: %w", err)
	}
	n.NAT = aws.ToString(nat.NatGateway.NatGatewayId)
	return nil
}
