package iampolicy

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Every document fits an IAM managed policy, for every command alone and all together.
func TestEveryDocumentFitsAManagedPolicy(t *testing.T) {
	for _, cmds := range append([][]string{nil}, slices.Collect(func(yield func([]string) bool) {
		for _, c := range Commands() {
			yield([]string{c})
		}
	})...) {
		ps, err := Policies("", cmds...)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if n := p.Document.Size(); n > MaxDocumentSize {
				t.Errorf("%v: %s is %d characters; IAM takes %d", cmds, p.Name, n, MaxDocumentSize)
			}
		}
	}
}

// A command that only reads gets one small policy that changes nothing in AWS; one that
// deploys also gets what CloudFormation does as the caller.
func TestPoliciesFollowWhatACommandDoes(t *testing.T) {
	ps, err := Policies("", "get cluster")
	if err != nil || len(ps) != 1 || ps[0].Name != "neo4jctl-commands" {
		t.Fatalf("get cluster: %v %+v", err, ps)
	}
	for _, s := range ps[0].Document.Statement {
		for _, a := range s.Action {
			_, name, _ := strings.Cut(a, ":")
			if !slices.ContainsFunc([]string{"Describe", "List", "Get", "InvokeFunction"}, func(p string) bool { return strings.HasPrefix(name, p) }) {
				t.Errorf("get cluster may %s", a)
			}
		}
	}
	ps, _ = Policies("", "create cluster")
	if len(ps) < 2 || !Allows(ps, "iam:CreateRole", "arn:aws:iam::123456789012:role/neo4jctl-graph-dev-shared-TaskRole-1A2B") ||
		!Allows(ps, "ec2:CreateVpc", "") || Allows(ps, "iam:CreateRole", "arn:aws:iam::123456789012:role/admin") {
		t.Errorf("create cluster: %d policies, roles %v", len(ps), Allows(ps, "iam:CreateRole", ""))
	}
}

// --cluster narrows names to one cluster's.
func TestNarrowedToOneCluster(t *testing.T) {
	ps, err := Policies("graph-dev", "delete cluster")
	if err != nil {
		t.Fatal(err)
	}
	mine := "arn:aws:cloudformation:eu-west-1:123456789012:stack/neo4jctl-graph-dev-shared/0b4e9a10"
	other := "arn:aws:cloudformation:eu-west-1:123456789012:stack/neo4jctl-graph-prod-shared/0b4e9a10"
	if !Allows(ps, "cloudformation:DeleteStack", mine) || Allows(ps, "cloudformation:DeleteStack", other) {
		t.Errorf("delete narrowed to graph-dev: its stack %v, another's %v", Allows(ps, "cloudformation:DeleteStack", mine), Allows(ps, "cloudformation:DeleteStack", other))
	}
	if !Allows(ps, "secretsmanager:DeleteSecret", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:neo4jctl/graph-dev/admin-AbCdEf") ||
		Allows(ps, "secretsmanager:DeleteSecret", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:neo4jctl/graph-prod/admin-AbCdEf") {
		t.Error("secrets not narrowed to graph-dev")
	}
	// backup list also lists the copy in the bucket backup.copyTo names (the user's), and
	// only lists it
	ps, _ = Policies("graph-dev", "upgrade cluster")
	if !Allows(ps, "s3:ListBucket", "arn:aws:s3:::graph-dev-dr-123456789012") {
		t.Error("upgrade's backup check cannot list the copy of the backups")
	}
	ps, _ = Policies("graph-dev", "backup list")
	copyBucket, own := "arn:aws:s3:::graph-dev-dr-123456789012", "arn:aws:s3:::neo4jctl-graph-dev-shared-bucket-2cv17j0v5jei"
	if !Allows(ps, "s3:ListBucket", copyBucket) || !Allows(ps, "s3:ListBucket", own) || Allows(ps, "s3:GetObject", copyBucket+"/backups/x") ||
		!Allows(ps, "s3:GetReplicationConfiguration", own) || Allows(ps, "s3:GetReplicationConfiguration", copyBucket) {
		t.Errorf("backup list and the copy bucket: %+v", ps[0].Document)
	}
	var unknown *UnknownCommandError
	if _, err := Policies("", "get clustr"); !errors.As(err, &unknown) || !strings.Contains(err.Error(), "get cluster") {
		t.Errorf("unknown command: %v", err)
	}
}

func TestActionOfAnAPICall(t *testing.T) {
	for _, tc := range []struct {
		service, op string
		in          any
		want        string
	}{
		{"CloudFormation", "DescribeStacks", nil, "cloudformation:DescribeStacks"},
		{"Auto Scaling", "DescribeAutoScalingGroups", nil, "autoscaling:DescribeAutoScalingGroups"},
		{"S3", "HeadObject", &s3.HeadObjectInput{}, "s3:GetObject"},
		{"S3", "DeleteObject", &s3.DeleteObjectInput{VersionId: aws.String("v1")}, "s3:DeleteObjectVersion"},
		{"S3", "DeleteObject", &s3.DeleteObjectInput{}, "s3:DeleteObject"},
		{"S3", "ListObjectVersions", nil, "s3:ListBucketVersions"},
		{"Lambda", "Invoke", nil, "lambda:InvokeFunction"},
		{"Resource Groups Tagging API", "GetResources", nil, "tag:GetResources"},
		{"Some New Service", "DoIt", nil, ""},
	} {
		if got := Action(tc.service, tc.op, tc.in); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.service, tc.op, got, tc.want)
		}
	}
}
