package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// clusterVolumeIDs are the volumes tagged with the cluster's name.
func (a *motoAccount) clusterVolumeIDs(cluster string) []string {
	a.t.Helper()
	out, err := ec2.NewFromConfig(a.cfg).DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{})
	if err != nil {
		a.t.Fatalf("DescribeVolumes: %v", err)
	}
	var ids []string
	for _, v := range out.Volumes {
		for _, t := range v.Tags {
			if aws.ToString(t.Key) == naming.TagCluster && aws.ToString(t.Value) == cluster {
				ids = append(ids, aws.ToString(v.VolumeId))
			}
		}
	}
	return ids
}

func TestPurgeAfterAPlainDeleteFindsTheDataByTag(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	ctx := context.Background()
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	file := "../../examples/minimal.yaml"
	name := "graph-dev"
	if code, _, stderr := a.cli("", "create", "cluster", "-f", file); code != 0 {
		t.Fatalf("create: %s", stderr)
	}
	code, stdout, _ := a.cli("", "get", "cluster", name, "-o", "json")
	var got struct{ Bucket string }
	if code != 0 || json.Unmarshal([]byte(stdout), &got) != nil || got.Bucket == "" {
		t.Fatalf("get: %d %s", code, stdout)
	}
	s3c := s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	for i := 0; i < 2; i++ { // two versions of a backup
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(got.Bucket), Key: aws.String("backups/neo4j.backup"), Body: strings.NewReader("backup")}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
	}
	kmsc := kms.NewFromConfig(a.cfg)
	key := ""
	shared, err := cloudformation.NewFromConfig(a.cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("neo4jctl-graph-dev-shared")})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range shared.Stacks[0].Outputs {
		if aws.ToString(o.OutputKey) == "KMSKeyArn" {
			key = aws.ToString(o.OutputValue)[strings.LastIndex(aws.ToString(o.OutputValue), "/")+1:]
		}
	}
	vols := a.clusterVolumeIDs(name)
	if len(vols) != 3 || key == "" {
		t.Fatalf("volumes %v, key %q", vols, key)
	}

	// a plain delete keeps the data and names each piece, the KMS key too
	code, _, stderr := a.cli("", "delete", "cluster", name, "--yes")
	if code != 0 {
		t.Fatalf("delete: exit %d\n%s", code, stderr)
	}
	mustContain(t, "delete", stderr, "Member volumes, backups, the KMS key and the users' secrets are kept", "Kept bucket "+got.Bucket+" (backups); --purge-data deletes it",
		"Kept KMS key "+key+" (encrypts the volumes and backups); --purge-data deletes it", "Kept volume "+vols[0])

	// get and delete without --purge-data: no cluster, but the kept data is named
	code, _, stderr = a.cli("", "delete", "cluster", name, "--yes")
	if code != exitFailed {
		t.Fatalf("second delete: exit %d", code)
	}
	mustContain(t, "second delete", stderr, "no cluster graph-dev in eu-west-1", "Kept from an earlier delete: volume vol-", vols[0], vols[1], vols[2], "bucket "+got.Bucket, "KMS key "+key,
		"`neo4jctl create cluster -f cluster.yaml` of the same name adopts them, `neo4jctl delete cluster graph-dev --purge-data` deletes them")

	// the purge finds them by tag, names them and deletes them
	code, _, stderr = a.cli("", "delete", "cluster", name, "--purge-data", "--yes")
	if code != 0 {
		t.Fatalf("purge: exit %d\n%s", code, stderr)
	}
	mustContain(t, "purge", stderr, "Cluster graph-dev in eu-west-1 has no stacks left (deleted before).", "--purge-data also deletes, for good:",
		"bucket "+got.Bucket+" (every backup in it)", "KMS key "+key+" (scheduled for deletion in 7 days",
		"Deleted volume "+vols[0], "Deleted bucket "+got.Bucket, "Scheduled KMS key "+key+" for deletion in 7 days", "Done: cluster graph-dev deleted.")
	if strings.Contains(stderr, "0 stacks") {
		t.Errorf("purge without stacks says 0 stacks:\n%s", stderr)
	}
	if left := a.clusterVolumeIDs(name); len(left) != 0 {
		t.Errorf("volumes left: %v", left)
	}
	if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(got.Bucket)}); err == nil {
		t.Errorf("bucket %s left", got.Bucket)
	}
	d, err := kmsc.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)})
	if err != nil || d.KeyMetadata.KeyState != kmstypes.KeyStatePendingDeletion {
		t.Errorf("KMS key: %v %+v", err, d)
	}
	// nothing left: not found
	if code, _, stderr = a.cli("", "delete", "cluster", name, "--purge-data", "--yes"); code != exitFailed || !strings.Contains(stderr, "no cluster graph-dev") {
		t.Errorf("purge of nothing: exit %d\n%s", code, stderr)
	}
}

func (a *motoAccount) mustCLI(stdin string, args ...string) string {
	a.t.Helper()
	code, stdout, stderr := a.cli(stdin, args...)
	if code != 0 {
		a.t.Fatalf("%v: exit %d\n%s", args, code, stderr)
	}
	return stdout + stderr
}
