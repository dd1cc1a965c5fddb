package main

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

func TestCreateDetachThenResume(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	vpc, subnets := a.network("10.30", "a", "b", "c")
	file := productionConfig(t, vpc, subnets)

	code, stdout, stderr := a.cli("", "create", "cluster", "-f", file, "--detach")
	if code != 0 || stdout != "" {
		t.Fatalf("detach: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	mustContain(t, "detach", stderr, "Started neo4jctl-graph-prod-shared; not waiting (--detach).",
		"5 stacks wait for those: run `neo4jctl create cluster -f "+file+"` again once they are done (watch with `neo4jctl get cluster graph-prod`).")
	if n := len(a.stacks("graph-prod")); n != 1 {
		t.Fatalf("detach made %d stacks, want only the shared one", n)
	}
	code, _, stderr = a.cli("", "create", "cluster", "-f", file)
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	mustContain(t, "resume", stderr, "Resuming a previous create of graph-prod: 1 of 6 stacks exist, 1 of them complete", "Done:")
}

func TestGetAndDeleteUnknownCluster(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	for _, args := range [][]string{{"get", "cluster", "nope"}, {"delete", "cluster", "nope", "--yes"}} {
		code, stdout, stderr := a.cli("", args...)
		if code != exitFailed || stdout != "" {
			t.Fatalf("%v: exit %d stdout %q", args, code, stdout)
		}
		mustContain(t, "stderr", stderr, "no cluster nope in eu-west-1 (no stacks tagged neo4jctl.io/cluster=nope); list clusters with `neo4jctl get cluster`")
	}
	code, stdout, _ := a.cli("", "get", "cluster", "-o", "json")
	if code != 0 || stdout != "[]\n" {
		t.Fatalf("get all in an empty account: exit %d, %q", code, stdout)
	}
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	code, _, stderr := a.cli("", "get", "cluster")
	if code != exitUsage {
		t.Fatalf("no region: exit %d\n%s", code, stderr)
	}
	mustContain(t, "no region", stderr, "no AWS region: pass --region")
}

func TestCreateRefusesAStackNameThatIsNotOurs(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	_, err := cloudformation.NewFromConfig(a.cfg).CreateStack(context.Background(), &cloudformation.CreateStackInput{
		StackName:    aws.String("neo4jctl-graph-dev-shared"),
		TemplateBody: aws.String(`{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := a.cli("", "create", "cluster", "-f", "../../examples/minimal.yaml")
	if code != exitFailed {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	mustContain(t, "stderr", stderr, "stack neo4jctl-graph-dev-shared already exists and is not part of neo4jctl cluster graph-dev; choose another metadata.name")
	if n := len(a.stacks("graph-dev")); n != 0 {
		t.Fatalf("%d stacks made", n)
	}
}
