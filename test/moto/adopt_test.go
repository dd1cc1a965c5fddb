package moto_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// TestRecreateAdoptsKeptData: the template side of a re-create (stack.Adoption). The stacks of
// a cluster are created and deleted (the volumes, bucket and key stay); secrets that outlived
// them are there with their fixed names. Created again with the kept ids in the existing-id
// parameters, the stacks make no volume, bucket, key or secret of their own, succeed (a
// secret made again would fail: its name is taken), and every output and every reference
// names the kept ones.
func TestRecreateAdoptsKeptData(t *testing.T) {
	ctx := context.Background()
	f, err := cluster.Load("../../examples/production.yaml", cluster.Overrides{Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.Config
	awsCfg, _ := testbed.SharedMoto(t).IsolatedConfig(ctx, cfg.Metadata.Region)
	cfn := cloudformation.NewFromConfig(awsCfg)
	ec2c := ec2.NewFromConfig(awsCfg)
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
	sm := secretsmanager.NewFromConfig(awsCfg)

	in := stack.Inputs{Neo4jctlVersion: "v0.0.0-test", SubnetAZs: existingNetwork(t, ctx, ec2c, cfg)}
	in.SetAgent("arm64", strings.Repeat("a", 64))
	in.SetAgent("amd64", strings.Repeat("b", 64))

	// 1. A first cluster, then a plain delete (no purge): what is retained stays.
	first := createCoreStacks(t, ctx, cfn, cfg, in)
	for _, name := range slices.Backward(first.order) {
		if _, err := cfn.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(first.ids[name])}); err != nil {
			t.Fatalf("DeleteStack %s: %v", name, err)
		}
	}
	// Secrets outlive their stack with the data (DeletionPolicy Retain). Where the shared stack
	// did not keep one, it is made here under its fixed name, as a kept one is.
	secrets := map[string]string{}
	for _, name := range []string{naming.AdminSecret(cfg.Metadata.Name), naming.ReadOnlySecret(cfg.Metadata.Name), naming.ReadWriteSecret(cfg.Metadata.Name)} {
		if out, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)}); err == nil {
			secrets[name] = aws.ToString(out.ARN)
			continue
		}
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(`{"username":"kept","password":"kept-password"}`)})
		if err != nil {
			t.Fatalf("CreateSecret %s: %v", name, err)
		}
		secrets[name] = aws.ToString(out.ARN)
	}

	// 2. Found again as neo4jctl finds them: volumes by tags, the rest from the first outputs.
	in.Adopt = stack.Adoption{
		KMSKeyArn:          first.shared[stack.OutputKMSKeyArn],
		BucketName:         first.shared[stack.OutputBucketName],
		AdminSecretArn:     secrets[naming.AdminSecret(cfg.Metadata.Name)],
		ReadOnlySecretArn:  secrets[naming.ReadOnlySecret(cfg.Metadata.Name)],
		ReadWriteSecretArn: secrets[naming.ReadWriteSecret(cfg.Metadata.Name)],
		Volumes:            map[int]string{},
	}
	for _, m := range cfg.Members() {
		out, err := ec2c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{
			{Name: aws.String("tag:" + naming.TagCluster), Values: []string{cfg.Metadata.Name}},
			{Name: aws.String("tag:" + naming.TagMember), Values: []string{m.Name}},
			{Name: aws.String("tag:" + naming.TagRole), Values: []string{naming.TagRoleData}},
		}})
		if err != nil || len(out.Volumes) != 1 {
			t.Fatalf("kept volume of %s: %v, %d found", m.Name, err, len(out.Volumes))
		}
		in.Adopt.Volumes[m.Index] = aws.ToString(out.Volumes[0].VolumeId)
		if got := first.members[m.Index]; got != in.Adopt.Volumes[m.Index] {
			t.Fatalf("%s: kept volume %s, the first stack made %s", m.Name, in.Adopt.Volumes[m.Index], got)
		}
	}

	// 3. The re-create adopts them.
	second := createCoreStacks(t, ctx, cfn, cfg, in)
	for output, want := range map[string]string{
		stack.OutputKMSKeyArn:          in.Adopt.KMSKeyArn,
		stack.OutputBucketName:         in.Adopt.BucketName,
		stack.OutputAdminSecretArn:     in.Adopt.AdminSecretArn,
		stack.OutputReadOnlySecretArn:  in.Adopt.ReadOnlySecretArn,
		stack.OutputReadWriteSecretArn: in.Adopt.ReadWriteSecretArn,
	} {
		if got := second.shared[output]; got != want {
			t.Errorf("shared output %s = %q, want the kept %q", output, got, want)
		}
	}
	if arn := second.shared[stack.OutputBucketArn]; arn != "arn:aws:s3:::"+in.Adopt.BucketName {
		t.Errorf("shared output %s = %q", stack.OutputBucketArn, arn)
	}
	for _, m := range cfg.Members() {
		if got := second.members[m.Index]; got != in.Adopt.Volumes[m.Index] {
			t.Errorf("%s: volume output %s, want the kept %s", m.Name, got, in.Adopt.Volumes[m.Index])
		}
	}
	for name, id := range second.ids {
		out, err := cfn.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(id)})
		if err != nil {
			t.Fatalf("DescribeStackResources %s: %v", name, err)
		}
		for _, r := range out.StackResources {
			switch aws.ToString(r.ResourceType) {
			case "AWS::EC2::Volume", "AWS::S3::Bucket", "AWS::KMS::Key", "AWS::SecretsManager::Secret":
				t.Errorf("%s made %s %s although one was adopted", name, aws.ToString(r.ResourceType), aws.ToString(r.PhysicalResourceId))
			}
		}
	}
	vols, err := ec2c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + naming.TagCluster), Values: []string{cfg.Metadata.Name}},
		{Name: aws.String("tag:" + naming.TagRole), Values: []string{naming.TagRoleData}},
	}})
	if err != nil || len(vols.Volumes) != len(cfg.Members()) {
		t.Errorf("data volumes of %s after the re-create: %d (%v), want the %d kept ones", cfg.Metadata.Name, len(vols.Volumes), err, len(cfg.Members()))
	}
	if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(in.Adopt.BucketName)}); err != nil {
		t.Errorf("kept bucket: %v", err)
	}
}

// coreStacks is what createCoreStacks made: stack ids by name in creation order, the shared
// stack's outputs and each member's volume output.
type coreStacks struct {
	order   []string
	ids     map[string]string
	shared  map[string]string
	members map[int]string
}

// createCoreStacks creates the shared stack and the core member stacks (what holds data).
func createCoreStacks(t *testing.T, ctx context.Context, cfn *cloudformation.Client, cfg *cluster.ClusterConfig, in stack.Inputs) coreStacks {
	t.Helper()
	stacks, err := stack.Build(cfg, in)
	if err != nil {
		t.Fatal(err)
	}
	out := coreStacks{ids: map[string]string{}, members: map[int]string{}}
	for _, st := range stacks {
		if st.Kind != naming.KindShared && st.Kind != naming.KindCore {
			continue
		}
		id, outputs := createStack(t, ctx, cfn, st)
		out.order = append(out.order, st.Name)
		out.ids[st.Name] = id
		if st.Kind == naming.KindShared {
			out.shared = outputs
		} else {
			out.members[st.Member] = outputs[stack.OutputVolumeID]
		}
	}
	return out
}
