package ops

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// replication answers GetBucketReplication with a configuration or an error.
type replication struct {
	rules []s3types.ReplicationRule
	err   error
}

func (r replication) GetBucketReplication(context.Context, *s3.GetBucketReplicationInput, ...func(*s3.Options)) (*s3.GetBucketReplicationOutput, error) {
	if r.err != nil {
		return nil, r.err
	}
	return &s3.GetBucketReplicationOutput{ReplicationConfiguration: &s3types.ReplicationConfiguration{Role: aws.String("arn:aws:iam::1:role/r"), Rules: r.rules}}, nil
}

// TestCopyDestination: the copy's bucket and region come from the cluster bucket's enabled
// replication rule (the region from the replica key, else the rule's id); no replication is
// no copy; another error is reported.
func TestCopyDestination(t *testing.T) {
	rule := func(status s3types.ReplicationRuleStatus, id, dest, key string) s3types.ReplicationRule {
		r := s3types.ReplicationRule{ID: aws.String(id), Status: status, Destination: &s3types.Destination{Bucket: aws.String(dest)}}
		if key != "" {
			r.Destination.EncryptionConfiguration = &s3types.EncryptionConfiguration{ReplicaKmsKeyID: aws.String(key)}
		}
		return r
	}
	on, off := s3types.ReplicationRuleStatusEnabled, s3types.ReplicationRuleStatusDisabled
	for _, tc := range []struct {
		name                 string
		api                  replication
		bucket, region, fail string
		ok                   bool
	}{
		{"neo4jctl's rule", replication{rules: []s3types.ReplicationRule{rule(on, "backups-to-eu-central-1", "arn:aws:s3:::dr", "arn:aws:kms:eu-central-1:123456789012:key/k")}}, "dr", "eu-central-1", "", true},
		{"no key: the rule's id", replication{rules: []s3types.ReplicationRule{rule(on, "backups-to-us-east-2", "arn:aws:s3:::dr", "")}}, "dr", "us-east-2", "", true},
		{"another partition", replication{rules: []s3types.ReplicationRule{rule(on, "x", "arn:aws-cn:s3:::dr", "arn:aws-cn:kms:cn-north-1:123456789012:key/k")}}, "dr", "cn-north-1", "", true},
		{"a disabled rule is no copy", replication{rules: []s3types.ReplicationRule{rule(off, "backups-to-eu-central-1", "arn:aws:s3:::dr", "")}}, "", "", "", false},
		{"no replication", replication{err: apiErr("ReplicationConfigurationNotFoundError", "The replication configuration was not found")}, "", "", "", false},
		{"denied", replication{err: apiErr("AccessDenied", "Access Denied")}, "", "", "reading the replication of s3://b: ", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bucket, region, ok, err := copyDestination(context.Background(), tc.api, "b")
			if bucket != tc.bucket || region != tc.region || ok != tc.ok || (err == nil) != (tc.fail == "") || (err != nil && !strings.Contains(err.Error(), tc.fail)) {
				t.Errorf("got %q %q %v %v", bucket, region, ok, err)
			}
		})
	}
}
