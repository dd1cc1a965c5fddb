package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestCreateRefusesANetworkThatCannotCarryTheCluster: an existing VPC that would leave the
// members unable to resolve each other, or to reach AWS, is refused before any stack, with
// the resource and the fix, exit 1 (the config is valid; the account's network is not ready).
// moto itself would create the stacks in either network: only the check stops them.
func TestCreateRefusesANetworkThatCannotCarryTheCluster(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	ctx := context.Background()
	c := ec2.NewFromConfig(a.cfg)
	n := a.readyNetwork("10.30", "a", "b", "c")
	file := productionConfig(t, n.VPC, n.Subnets)
	create := func(what string) string {
		t.Helper()
		code, stdout, stderr := a.cli("", "create", "cluster", "-f", file)
		if code != exitFailed || stdout != "" {
			t.Fatalf("%s: exit %d (want %d), stdout %q\n%s", what, code, exitFailed, stdout, stderr)
		}
		if left := a.stacks("graph-prod"); len(left) != 0 {
			t.Fatalf("%s: stacks were created: %v", what, left)
		}
		return stderr
	}

	// a VPC made through the API: DNS hostnames off
	if _, err := c.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: aws.String(n.VPC), EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	stderr := create("DNS hostnames off")
	mustContain(t, "hostnames off", stderr, "network check: network.vpcID "+n.VPC+": enableDnsHostnames is false",
		fmt.Sprintf("fix: aws ec2 modify-vpc-attribute --region eu-west-1 --vpc-id %s --enable-dns-hostnames Value=true", n.VPC), "Nothing was created")

	// hostnames on again; the private subnets lose their NAT route, and have no endpoints
	if _, err := c.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: aws.String(n.VPC), EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: aws.String(n.PrivateTable), DestinationCidrBlock: aws.String("0.0.0.0/0")}); err != nil {
		t.Fatal(err)
	}
	stderr = create("no way out")
	mustContain(t, "no way out", stderr, "network check: 3 problems:")
	for i, s := range n.Subnets {
		mustContain(t, "no way out", stderr, fmt.Sprintf("  - network.subnets[%d] %s: no way out to ecr.api, ecr.dkr, s3, logs, secretsmanager, ecs, ecs-agent, ecs-telemetry, ec2, autoscaling, monitoring: route table %s (associated) has no 0.0.0.0/0 route", i, s, n.PrivateTable))
	}
	mustContain(t, "no way out", stderr, "--nat-gateway-id NAT_GATEWAY_ID", "--service-name com.amazonaws.eu-west-1.s3 --route-table-ids "+n.PrivateTable)
	if strings.Contains(stderr, "enableDns") {
		t.Errorf("DNS is fine now:\n%s", stderr)
	}
}
