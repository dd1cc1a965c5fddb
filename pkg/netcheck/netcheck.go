// Package netcheck checks that an existing VPC can carry a neo4jctl cluster, before anything
// is created in it: the VPC and its subnets exist, the VPC resolves Cloud Map's private DNS
// names, every subnet has a way out to the AWS services the cluster's instances, tasks and
// functions call, and enough free addresses. It only reads (ec2:Describe*). Each check gives a
// Finding with a stable code, a verdict, the resource, what was found and the fix: create and
// update refuse on a failure (pkg/ops), diagnose reports them all.
package netcheck

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
)

// EC2 is what the checks read.
type EC2 interface {
	DescribeVpcs(context.Context, *ec2.DescribeVpcsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error)
	DescribeVpcAttribute(context.Context, *ec2.DescribeVpcAttributeInput, ...func(*ec2.Options)) (*ec2.DescribeVpcAttributeOutput, error)
	DescribeSubnets(context.Context, *ec2.DescribeSubnetsInput, ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
	DescribeRouteTables(context.Context, *ec2.DescribeRouteTablesInput, ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error)
	DescribeVpcEndpoints(context.Context, *ec2.DescribeVpcEndpointsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcEndpointsOutput, error)
	DescribeNatGateways(context.Context, *ec2.DescribeNatGatewaysInput, ...func(*ec2.Options)) (*ec2.DescribeNatGatewaysOutput, error)
}

// Verdict is a check's outcome.
type Verdict string

const (
	OK   Verdict = "ok"
	Warn Verdict = "warn" // it may work; neo4jctl cannot tell, or it works less well
	Fail Verdict = "fail" // the cluster would not come up (or not come back): refused
)

// Check codes: stable, for diagnose's output and for scripts.
const (
	CodeVPC           = "network-vpc"            // network.vpcID exists
	CodeSubnet        = "network-subnet"         // a subnet exists and is in the VPC
	CodeDNSSupport    = "network-dns-support"    // enableDnsSupport
	CodeDNSHostnames  = "network-dns-hostnames"  // enableDnsHostnames
	CodeEgress        = "network-egress"         // a subnet reaches the AWS services
	CodeEndpointAZ    = "network-endpoint-az"    // an interface endpoint has no address in the subnet's AZ
	CodeFreeAddresses = "network-free-addresses" // a subnet has the addresses its members, replicas and tasks take
)

// Finding is one check's result for one resource.
type Finding struct {
	Code     string  `json:"code"`
	Verdict  Verdict `json:"verdict"`
	Field    string  `json:"field"`    // the cluster.yaml field that names the resource
	Resource string  `json:"resource"` // vpc-..., subnet-...
	Message  string  `json:"message"`  // what was found
	Fix      string  `json:"fix,omitempty"`
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s %s: %s", f.Field, f.Resource, f.Message)
	if f.Fix != "" {
		s += "; fix: " + f.Fix
	}
	return s
}

// Report is every finding for one VPC, in the order checked.
type Report struct {
	VPC       string            `json:"vpc"`
	Region    string            `json:"region"`
	SubnetAZs map[string]string `json:"subnetAZs"` // the config's subnets that exist in the VPC, by id
	Findings  []Finding         `json:"findings"`
}

// With returns the findings of one verdict.
func (r *Report) With(v Verdict) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Verdict == v {
			out = append(out, f)
		}
	}
	return out
}

// Err is nil when no check failed, else an *Error naming every failure.
func (r *Report) Err() error {
	if fails := r.With(Fail); len(fails) > 0 {
		return &Error{VPC: r.VPC, Region: r.Region, Failures: fails}
	}
	return nil
}

func (r *Report) add(f Finding) { r.Findings = append(r.Findings, f) }

// Error is a VPC that cannot carry the cluster, with every reason and its fix.
type Error struct {
	VPC, Region string
	Failures    []Finding
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("network check: ")
	if len(e.Failures) == 1 {
		b.WriteString(e.Failures[0].String())
		b.WriteString("\nNothing was created; fix it and run the command again.")
		return b.String()
	}
	fmt.Fprintf(&b, "%d problems:", len(e.Failures))
	for _, f := range e.Failures {
		b.WriteString("\n  - " + f.String())
	}
	b.WriteString("\nNothing was created; fix them and run the command again.")
	return b.String()
}

// Options change what the checks expect.
type Options struct {
	// Existing: the cluster runs in the VPC already (update), so its instances and tasks hold
	// their addresses; too few free addresses is then a warning (only what the update adds
	// needs more), not a refusal.
	Existing bool
}

// Check runs every check on cfg's existing VPC (network.vpcID, network.subnets). A failure
// is a Finding (Report.Err); the error is for a VPC that cannot be read at all (credentials,
// permissions, throttling).
func Check(ctx context.Context, api EC2, cfg *cluster.ClusterConfig, o Options) (*Report, error) {
	r := &Report{VPC: cfg.Network.VPCID, Region: cfg.Metadata.Region, SubnetAZs: map[string]string{}}
	found, err := checkVPC(ctx, api, r)
	if err != nil || !found {
		return r, err
	}
	subnets, err := checkSubnets(ctx, api, cfg, r)
	if err != nil {
		return r, err
	}
	if err := checkDNS(ctx, api, r); err != nil {
		return r, err
	}
	if err := checkEgress(ctx, api, cfg, r, subnets); err != nil {
		return r, err
	}
	checkAddresses(cfg, r, subnets, o)
	return r, nil
}

// checkVPC: network.vpcID exists in the region.
func checkVPC(ctx context.Context, api EC2, r *Report) (bool, error) {
	_, err := api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{r.VPC}})
	switch {
	case err == nil:
		r.add(Finding{Code: CodeVPC, Verdict: OK, Field: "network.vpcID", Resource: r.VPC, Message: "exists"})
		return true, nil
	case awsapi.IsNotFound(err):
		r.add(Finding{Code: CodeVPC, Verdict: Fail, Field: "network.vpcID", Resource: r.VPC,
			Message: fmt.Sprintf("not found in %s (%v)", r.Region, awsapi.Clean(err)),
			Fix:     fmt.Sprintf("name a VPC of this account in %s: aws ec2 describe-vpcs --region %s --query 'Vpcs[].VpcId'", r.Region, r.Region)})
		return false, nil
	}
	return false, fmt.Errorf("reading network.vpcID %s (ec2:DescribeVpcs): %w", r.VPC, awsapi.Clean(err))
}

// checkSubnets: each of network.subnets exists and is in the VPC. Filters, not ids, so one
// missing subnet does not hide the others (DescribeSubnets by id fails on the first unknown).
func checkSubnets(ctx context.Context, api EC2, cfg *cluster.ClusterConfig, r *Report) (map[string]ec2types.Subnet, error) {
	out, err := api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("subnet-id"), Values: cfg.Network.Subnets}},
	})
	if err != nil {
		return nil, fmt.Errorf("reading network.subnets (ec2:DescribeSubnets): %w", awsapi.Clean(err))
	}
	byID := map[string]ec2types.Subnet{}
	for _, s := range out.Subnets {
		byID[aws.ToString(s.SubnetId)] = s
	}
	ours := map[string]ec2types.Subnet{}
	for i, id := range cfg.Network.Subnets {
		f := Finding{Code: CodeSubnet, Field: fmt.Sprintf("network.subnets[%d]", i), Resource: id}
		s, ok := byID[id]
		switch {
		case !ok:
			f.Verdict, f.Message = Fail, "does not exist in "+r.Region
			f.Fix = fmt.Sprintf("list the VPC's subnets: aws ec2 describe-subnets --region %s --filters Name=vpc-id,Values=%s --query 'Subnets[].[SubnetId,AvailabilityZone]'", r.Region, r.VPC)
		case aws.ToString(s.VpcId) != r.VPC:
			f.Verdict, f.Message = Fail, fmt.Sprintf("belongs to %s, not network.vpcID %s", aws.ToString(s.VpcId), r.VPC)
			f.Fix = "use subnets of " + r.VPC + " only"
		default:
			f.Verdict, f.Message = OK, "in "+aws.ToString(s.AvailabilityZone)
			ours[id] = s
			r.SubnetAZs[id] = aws.ToString(s.AvailabilityZone)
		}
		r.add(f)
	}
	return ours, nil
}

// checkDNS: members are core-N.<namespace>, names in a Route 53 private hosted zone (Cloud
// Map's). A VPC resolves those only with both enableDnsSupport and enableDnsHostnames on;
// VPCs made through the API have hostnames off.
func checkDNS(ctx context.Context, api EC2, r *Report) error {
	for _, a := range []struct {
		code string
		attr ec2types.VpcAttributeName
		flag string
	}{
		{CodeDNSSupport, ec2types.VpcAttributeNameEnableDnsSupport, "--enable-dns-support"},
		{CodeDNSHostnames, ec2types.VpcAttributeNameEnableDnsHostnames, "--enable-dns-hostnames"},
	} {
		out, err := api.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(r.VPC), Attribute: a.attr})
		if err != nil {
			return fmt.Errorf("reading %s of %s (ec2:DescribeVpcAttribute): %w", a.attr, r.VPC, awsapi.Clean(err))
		}
		on := (out.EnableDnsSupport != nil && aws.ToBool(out.EnableDnsSupport.Value)) ||
			(out.EnableDnsHostnames != nil && aws.ToBool(out.EnableDnsHostnames.Value))
		f := Finding{Code: a.code, Verdict: OK, Field: "network.vpcID", Resource: r.VPC, Message: string(a.attr) + " is true"}
		if !on {
			f.Verdict = Fail
			f.Message = string(a.attr) + " is false: the members' names (core-N.<namespace>, a Cloud Map private DNS zone) resolve only in a VPC with enableDnsSupport and enableDnsHostnames both true"
			f.Fix = fmt.Sprintf("aws ec2 modify-vpc-attribute --region %s --vpc-id %s %s Value=true", r.Region, r.VPC, a.flag)
		}
		r.add(f)
	}
	return nil
}
