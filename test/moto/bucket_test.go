package moto_test

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// TestHardenedBucketReadsBack: a shared stack with backup.accessLogs, backup.objectLock and
// backup.copyTo is created in moto through the CloudFormation API; the bucket's policy,
// Object Lock, replication, logging and event settings are read back through S3's own API
// and compared with cluster.yaml.
func TestHardenedBucketReadsBack(t *testing.T) {
	ctx := context.Background()
	awsCfg, account := testbed.SharedMoto(t).IsolatedConfig(ctx, "eu-west-1")
	s3c := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
	// what the user brings: a log bucket here that lets S3's log delivery write, and in
	// another region a versioned bucket and a KMS key for the copy
	logs := "hb-access-logs-" + strings.ToLower(account[len(account)-6:])
	dest := "hb-dr-" + strings.ToLower(account[len(account)-6:])
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(logs),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}}); err != nil {
		t.Fatal(err)
	}
	logPolicy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},"Action":["s3:PutObject"],"Resource":"arn:aws:s3:::%s/*"}]}`, logs)
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(logs), Policy: aws.String(logPolicy)}); err != nil {
		t.Fatal(err)
	}
	far := awsCfg.Copy()
	far.Region = "eu-central-1"
	s3far := s3.NewFromConfig(far, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3far.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(dest),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-central-1"}}); err != nil {
		t.Fatal(err)
	}
	key, err := kms.NewFromConfig(far).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("backup copies")})
	if err != nil {
		t.Fatal(err)
	}
	keyArn := aws.ToString(key.KeyMetadata.Arn)

	doc := fmt.Sprintf(`apiVersion: neo4jctl.io/v1alpha1
kind: ClusterConfig
metadata: {name: hb, region: eu-west-1}
neo4j: {acceptLicense: "yes"}
network: {vpcID: vpc-0123456789abcdef0, subnets: [subnet-0123456789abcdef1, subnet-0123456789abcdef2, subnet-0123456789abcdef3]}
backup:
  retention: {days: 14}
  accessLogs: {bucket: %s}
  objectLock: {mode: compliance, days: 7}
  copyTo: {region: eu-central-1, bucket: %s, kmsKeyARN: %q}
`, logs, dest, keyArn)
	f, err := cluster.Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.Config
	cluster.SetDefaults(cfg)
	if err := cluster.Validate(cfg, f); err != nil {
		t.Fatal(err)
	}
	existingNetwork(t, ctx, ec2.NewFromConfig(awsCfg), cfg)
	stacks, err := stack.Build(cfg, stack.Inputs{Neo4jctlVersion: "v0.0.0-test"})
	if err != nil {
		t.Fatal(err)
	}
	var shared stack.Stack
	for _, s := range stacks {
		if s.Kind == naming.KindShared {
			shared = s
		}
	}
	cfn := cloudformation.NewFromConfig(awsCfg)
	_, outputs := createStack(t, ctx, cfn, shared)
	bucket := outputs[stack.OutputBucketName]
	if bucket == "" {
		t.Fatalf("no bucket output: %v", outputs)
	}
	role, err := cfn.DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{StackName: aws.String(shared.Name), LogicalResourceId: aws.String("ReplicationRole")})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("TLS-only policy", func(t *testing.T) {
		out, err := s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Statement []struct {
				Effect    string
				Principal any
				Action    any
				Resource  []string
				Condition map[string]map[string]string
			}
		}
		if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &p); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, st := range p.Statement {
			if st.Effect == "Deny" && st.Principal == "*" && st.Action == "s3:*" && st.Condition["Bool"]["aws:SecureTransport"] == "false" &&
				strings.Join(st.Resource, " ") == "arn:aws:s3:::"+bucket+" arn:aws:s3:::"+bucket+"/*" {
				found = true
			}
		}
		if !found {
			t.Errorf("no Deny of non-TLS requests on the bucket and its objects: %s", aws.ToString(out.Policy))
		}
		// the policy stands in S3 without denying the (emulated HTTPS) requests the cluster
		// makes; with a Content-MD5, which S3 requires of objects the bucket's Object Lock
		// retains (the SDK's default CRC32 does as well; the testbed turns it off for moto)
		sum := md5.Sum([]byte("x"))
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("backups/probe"), Body: strings.NewReader("x"),
			ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:]))}); err != nil {
			t.Errorf("a TLS request is refused: %v", err)
		}
	})
	t.Run("object lock", func(t *testing.T) {
		out, err := s3c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatal(err)
		}
		c := out.ObjectLockConfiguration
		if c.ObjectLockEnabled != s3types.ObjectLockEnabledEnabled || c.Rule == nil || c.Rule.DefaultRetention.Mode != s3types.ObjectLockRetentionModeCompliance ||
			aws.ToInt32(c.Rule.DefaultRetention.Days) != 7 {
			t.Errorf("object lock %+v, want COMPLIANCE for 7 days", c)
		}
		v, err := s3c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
		if err != nil || v.Status != s3types.BucketVersioningStatusEnabled {
			t.Errorf("versioning %v %v", v.Status, err)
		}
	})
	t.Run("replication", func(t *testing.T) {
		out, err := s3c.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatal(err)
		}
		c := out.ReplicationConfiguration
		if aws.ToString(c.Role) != "arn:aws:iam::"+account+":role/"+aws.ToString(role.StackResourceDetail.PhysicalResourceId) || len(c.Rules) != 1 {
			t.Fatalf("replication role %s, %d rules", aws.ToString(c.Role), len(c.Rules))
		}
		r := c.Rules[0]
		if r.Status != s3types.ReplicationRuleStatusEnabled || r.Filter == nil || aws.ToString(r.Filter.Prefix) != naming.BackupPrefix {
			t.Errorf("rule %s, filter %+v: want enabled, prefix %s", r.Status, r.Filter, naming.BackupPrefix)
		}
		if aws.ToString(r.Destination.Bucket) != "arn:aws:s3:::"+dest || r.Destination.EncryptionConfiguration == nil ||
			aws.ToString(r.Destination.EncryptionConfiguration.ReplicaKmsKeyID) != keyArn {
			t.Errorf("destination %+v, want %s encrypted with %s", r.Destination, dest, keyArn)
		}
		if r.SourceSelectionCriteria == nil || r.SourceSelectionCriteria.SseKmsEncryptedObjects.Status != s3types.SseKmsEncryptedObjectsStatusEnabled {
			t.Errorf("SSE-KMS objects not selected: %+v", r.SourceSelectionCriteria)
		}
		if r.DeleteMarkerReplication == nil || r.DeleteMarkerReplication.Status != s3types.DeleteMarkerReplicationStatusDisabled {
			t.Errorf("delete markers replicated: %+v", r.DeleteMarkerReplication)
		}
	})
	t.Run("access logs", func(t *testing.T) {
		out, err := s3c.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: aws.String(bucket)})
		if err != nil || out.LoggingEnabled == nil {
			t.Fatalf("logging %+v %v", out, err)
		}
		if aws.ToString(out.LoggingEnabled.TargetBucket) != logs || aws.ToString(out.LoggingEnabled.TargetPrefix) != "hb/" {
			t.Errorf("logs to %s/%s, want %s/hb/", aws.ToString(out.LoggingEnabled.TargetBucket), aws.ToString(out.LoggingEnabled.TargetPrefix), logs)
		}
	})
	t.Run("events to EventBridge", func(t *testing.T) {
		out, err := s3c.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(bucket)})
		if err != nil || out.EventBridgeConfiguration == nil {
			t.Errorf("EventBridge notifications off: %+v %v", out, err)
		}
	})
}

// TestObjectLockUploadsNeedAChecksum: S3 refuses an upload that Object Lock retains (the
// bucket's default retention, as backup.objectLock sets) without Content-MD5 or a checksum
// header, with InvalidRequest; it takes a checksum in any form, the x-amz-checksum-crc32 the
// SDK sends by default included; into a bucket with Object Lock but no default retention an
// upload needs none. neo4jctl's own uploads ask for CRC32 (the SDK then sends it whatever
// the user's AWS config says about checksums); this keeps moto as strict as S3 about it.
func TestObjectLockUploadsNeedAChecksum(t *testing.T) {
	ctx := context.Background()
	cfg, account := testbed.SharedMoto(t).IsolatedConfig(ctx, "eu-west-1") // checksums only when required
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	sdkDefault := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
	})
	retained, bare := "ol-retained-"+account, "ol-bare-"+account
	for _, b := range []string{retained, bare} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b), ObjectLockEnabledForBucket: aws.Bool(true),
			CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}}); err != nil {
			t.Fatal(err)
		}
	}
	sum := md5.Sum([]byte("x"))
	if _, err := s3c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(retained),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:])), // S3 asks it of this call too
		ObjectLockConfiguration: &s3types.ObjectLockConfiguration{ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
			Rule: &s3types.ObjectLockRule{DefaultRetention: &s3types.DefaultRetention{Mode: s3types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1)}}}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		client  *s3.Client
		bucket  string
		in      s3.PutObjectInput
		refused bool
	}{
		{"no checksum, default retention", s3c, retained, s3.PutObjectInput{}, true},
		{"CRC32 asked for", s3c, retained, s3.PutObjectInput{ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32}, false},
		{"the SDK's default x-amz-checksum-crc32", sdkDefault, retained, s3.PutObjectInput{}, false},
		{"Content-MD5", s3c, retained, s3.PutObjectInput{ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:]))}, false},
		{"no checksum, no default retention", s3c, bare, s3.PutObjectInput{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Bucket, in.Key, in.Body = aws.String(tc.bucket), aws.String("backups/"+strings.ReplaceAll(tc.name, " ", "-")), strings.NewReader("x")
			_, err := tc.client.PutObject(ctx, &in)
			if tc.refused {
				if err == nil || !strings.Contains(err.Error(), "InvalidRequest") || !strings.Contains(err.Error(), "Content-MD5 OR x-amz-checksum- HTTP header is required") {
					t.Fatalf("want S3's InvalidRequest, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			head, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: in.Bucket, Key: in.Key})
			if err != nil {
				t.Fatal(err)
			}
			if locked := head.ObjectLockMode == s3types.ObjectLockModeGovernance; locked != (tc.bucket == retained) {
				t.Errorf("object lock mode %q in %s", head.ObjectLockMode, tc.bucket)
			}
		})
	}
}
