package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// publishAMI is AWS publishing a new ECS-optimized AMI: the public SSM parameter gets a new
// value (test/moto lets a PutParameter with its test header write it; AWS refuses /aws/ names).
func (a *motoAccount) publishAMI(arch, ami string) {
	a.t.Helper()
	_, err := ssm.NewFromConfig(a.cfg).PutParameter(context.Background(), &ssm.PutParameterInput{
		Name: aws.String(stack.AMIParameter(arch)), Value: aws.String(ami), Overwrite: aws.Bool(true), Type: "String",
	}, func(o *ssm.Options) {
		o.APIOptions = append(o.APIOptions, smithyhttp.SetHeaderValue("x-neo4jctl-test-publish", "aws"))
	})
	if err != nil {
		a.t.Fatalf("publishing %s: %v", ami, err)
	}
}

func (a *motoAccount) recommendedAMI(arch string) string {
	a.t.Helper()
	out, err := ssm.NewFromConfig(a.cfg).GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String(stack.AMIParameter(arch))})
	if err != nil {
		a.t.Fatal(err)
	}
	return aws.ToString(out.Parameter.Value)
}

// launchAMI is the AMI the newest version of a stack's launch template boots, read back from EC2.
func (a *motoAccount) launchAMI(stackName string) string {
	a.t.Helper()
	ctx := context.Background()
	res, err := cloudformation.NewFromConfig(a.cfg).DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{StackName: aws.String(stackName), LogicalResourceId: aws.String("LaunchTemplate")})
	if err != nil {
		a.t.Fatal(err)
	}
	out, err := ec2.NewFromConfig(a.cfg).DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateId: res.StackResourceDetail.PhysicalResourceId, Versions: []string{"$Latest"}})
	if err != nil || len(out.LaunchTemplateVersions) != 1 {
		a.t.Fatalf("launch template of %s: %v", stackName, err)
	}
	return aws.ToString(out.LaunchTemplateVersions[0].LaunchTemplateData.ImageId)
}

// TestAMIIsPinnedAtCreateAndMovesOnlyWhenAsked: create resolves the ECS-optimized AMI once and
// pins it; after AWS publishes a newer one, update with an unchanged file changes no core
// stack (and says a newer AMI exists); --refresh-ami shows the move, is refused while the
// members run, and with --force rolls the members onto it through the gated sequence.
func TestAMIIsPinnedAtCreateAndMovesOnlyWhenAsked(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	rec := a.withFake()
	sim := a.simulate("graph-prod", 3, 2)
	vpc, subnets := a.network("10.30", "a", "b", "c")
	file := productionConfig(t, vpc, subnets)
	cores := []string{"neo4jctl-graph-prod-core-1", "neo4jctl-graph-prod-core-2", "neo4jctl-graph-prod-core-3"}
	pinned := a.recommendedAMI("arm64") // production.yaml: r7g, arm64

	code, _, stderr := a.cli("", "--quiet", "create", "cluster", "-f", file)
	if code != 0 {
		t.Fatalf("create: exit %d\n%s", code, stderr)
	}
	mustContain(t, "create", stderr, "Pinning the ECS-optimized AMI "+pinned+" (arm64, "+stack.AMIParameter("arm64")+")")
	for _, s := range append(slices.Clone(cores), "neo4jctl-graph-prod-replicas") {
		if got := a.launchAMI(s); got != pinned {
			t.Fatalf("%s boots %s, want the pinned %s", s, got, pinned)
		}
	}

	const newer = "ami-0123456789abcdef0"
	a.publishAMI("arm64", newer)
	before := len(rec.executed)
	code, stdout, stderr := a.cli("", "update", "cluster", "-f", file, "--yes")
	if code != 0 {
		t.Fatalf("update: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, s := range cores {
		mustContain(t, "diff", stdout, s+": no changes")
		if got := a.launchAMI(s); got != pinned {
			t.Errorf("an unchanged update moved %s to %s", s, got)
		}
	}
	for _, s := range rec.executed[before:] {
		if strings.Contains(s, "-core-") {
			t.Errorf("an unchanged update executed %s", s)
		}
	}
	mustContain(t, "update", stderr, "A newer ECS-optimized AMI is available (arm64): "+newer+"; ", " keep "+pinned+". `neo4jctl update cluster -f "+file+" --refresh-ami --force`")

	// the explicit refresh: the diff says so; the running members restart, so --force
	code, stdout, stderr = a.cli("", "update", "cluster", "-f", file, "--yes", "--refresh-ami")
	if code != exitFailed {
		t.Fatalf("refresh without --force: exit %d\n%s\n%s", code, stdout, stderr)
	}
	mustContain(t, "refresh diff", stdout, "neo4jctl-graph-prod-core-1: changes", "  ~ AMI "+pinned+" → "+newer+" (--refresh-ami): the rolling update replaces the instance")
	mustContain(t, "refusal", stderr, "core-1 is running and would restart: AMI "+pinned+" → "+newer+" (--refresh-ami)", "Pass --force to apply it member by member")
	if got := a.launchAMI(cores[0]); got != pinned {
		t.Fatalf("a refused refresh moved core-1 to %s", got)
	}
	// a new instance restarts the member's task, as in AWS
	rec.onExecute = func(stack string) {
		if m := strings.TrimPrefix(stack, "neo4jctl-graph-prod-"); m != stack && (strings.HasPrefix(m, "core-") || m == "replicas") {
			sim.redeploy(t, m)
		}
	}
	sim.sim.ResetStats()
	code, stdout, stderr = a.cli("", "update", "cluster", "-f", file, "--yes", "--refresh-ami", "--force")
	if code != 0 {
		t.Fatalf("refresh: exit %d\n%s\n%s", code, stdout, stderr)
	}
	mustContain(t, "refresh", stderr, "Rolling replicas, core-", "(one at a time, gated)", "[4/4] core-", "replicas: after gate passed")
	if r := sim.restarted(); r["core-1"] != 1 || r["core-2"] != 1 || r["core-3"] != 1 || r["replicas"] != 2 {
		t.Errorf("restarts %v: each member once", r)
	}
	sim.quorumKept(t)
	for _, s := range append(slices.Clone(cores), "neo4jctl-graph-prod-replicas") {
		if got := a.launchAMI(s); got != newer {
			t.Errorf("after --refresh-ami %s boots %s, want %s", s, got, newer)
		}
	}
}
