package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// deployScript runs a generated deploy.sh with the plain AWS CLI against moto, in this
// account (an access key of an IAM user made here selects it), and returns its exit code and
// output.
func (a *motoAccount) deployScript(dir string) (int, string) {
	a.t.Helper()
	ctx := context.Background()
	cli, err := testbed.AWSCLI()
	if err != nil {
		a.t.Fatal(err)
	}
	c := iam.NewFromConfig(a.cfg)
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("deployer")}); err != nil && !strings.Contains(err.Error(), "EntityAlreadyExists") {
		a.t.Fatal(err)
	}
	key, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("deployer")})
	if err != nil {
		a.t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(dir, stack.DeployScript))
	// newMotoAccount points AWS_ENDPOINT_URL and the rest at moto; the CLI takes an empty
	// AWS_PROFILE for a profile named "", so the empty ones go
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if (v == "" && strings.HasPrefix(k, "AWS_")) || k == "AWS_ACCESS_KEY_ID" || k == "AWS_SECRET_ACCESS_KEY" || k == "PATH" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, "AWS_ACCESS_KEY_ID="+aws.ToString(key.AccessKey.AccessKeyId), "AWS_SECRET_ACCESS_KEY="+aws.ToString(key.AccessKey.SecretAccessKey),
		"PATH="+filepath.Dir(cli)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			a.t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	return code, string(out)
}

// TestGeneratedDirectoryDeploysWithTheAWSCLI: with AWS at hand, generate templates looks up
// the subnets' AZs and the AMI to pin and writes the agent bundles beside deploy.sh; the
// directory then deploys with the plain AWS CLI, in the order deploy.sh gives, into a
// cluster whose members boot the pinned AMI. Offline, deploy.sh refuses to start until the
// placeholders are filled in.
func TestGeneratedDirectoryDeploysWithTheAWSCLI(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	ctx := context.Background()
	vpc, subnets := a.network("10.30", "a", "b", "c")
	file := productionConfig(t, vpc, subnets)

	offline := t.TempDir()
	code, _, stderr := a.cli("", "generate", "templates", "-f", file, "--dir", offline, "--offline")
	if code != 0 {
		t.Fatalf("generate --offline: exit %d\n%s", code, stderr)
	}
	mustContain(t, "offline", stderr, "Fill in first (deploy.sh says how): neo4jctl-graph-prod-core-1.parameters.json FILL_IN_ImageId, neo4jctl-graph-prod-core-1.parameters.json FILL_IN_AvailabilityZone,",
		"neo4jctl-graph-prod-replicas.parameters.json FILL_IN_ImageId")
	code, out := a.deployScript(offline)
	if code != 1 || !strings.Contains(out, "fill in the FILL_IN_ values of the files above first") {
		t.Fatalf("deploy.sh with placeholders: exit %d\n%s", code, out)
	}
	if n := len(a.stacks("graph-prod")); n != 0 {
		t.Fatalf("deploy.sh with placeholders created %d stacks", n)
	}

	dir := t.TempDir()
	code, stdout, stderr := a.cli("", "generate", "templates", "-f", file, "--dir", dir)
	if code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	if n := len(strings.Fields(stdout)); n != 6 {
		t.Fatalf("templates listed: %s", stdout)
	}
	mustContain(t, "generate", stderr, "Looked up in eu-west-1: the subnets' availability zones and the ECS-optimized AMI to pin.",
		"Wrote 6 stacks, deploy.sh and the agent bundle agent-arm64.zip to "+dir)
	// production.yaml runs arm64 only: its hosts and functions need that bundle alone
	want, _, _ := fakeBundle("arm64")
	if got, err := os.ReadFile(filepath.Join(dir, "agent-arm64.zip")); err != nil || string(got) != string(want) {
		t.Fatalf("agent-arm64.zip beside deploy.sh: %v", err)
	}

	code, out = a.deployScript(dir)
	if code != 0 {
		t.Fatalf("deploy.sh: exit %d\n%s", code, out)
	}
	got := a.stacks("graph-prod")
	if len(got) != 6 {
		t.Fatalf("stacks after deploy.sh: %v\n%s", got, out)
	}
	for name, status := range got {
		if status != "CREATE_COMPLETE" {
			t.Errorf("%s is %s", name, status)
		}
	}
	// what the members boot: the AMI looked up at generate time, pinned
	if ami, want := a.launchAMI("neo4jctl-graph-prod-core-2"), a.recommendedAMI("arm64"); ami != want {
		t.Errorf("core-2 boots %s, want the pinned %s", ami, want)
	}
	// the bundle the members download is where the template says
	shared, err := cloudformation.NewFromConfig(a.cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("neo4jctl-graph-prod-shared")})
	if err != nil {
		t.Fatal(err)
	}
	bucket := ""
	for _, o := range shared.Stacks[0].Outputs {
		if aws.ToString(o.OutputKey) == stack.OutputBucketName {
			bucket = aws.ToString(o.OutputValue)
		}
	}
	_, sum, _ := fakeBundle("arm64")
	s3c := s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(naming.AgentKey("arm64", sum))}); err != nil {
		t.Errorf("the arm64 agent bundle is not in s3://%s: %v", bucket, err)
	}
}
