package ops

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// KMS finds and retires the cluster's key.
type KMS interface {
	ListKeys(context.Context, *kms.ListKeysInput, ...func(*kms.Options)) (*kms.ListKeysOutput, error)
	ListResourceTags(context.Context, *kms.ListResourceTagsInput, ...func(*kms.Options)) (*kms.ListResourceTagsOutput, error)
	DescribeKey(context.Context, *kms.DescribeKeyInput, ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	ScheduleKeyDeletion(context.Context, *kms.ScheduleKeyDeletionInput, ...func(*kms.Options)) (*kms.ScheduleKeyDeletionOutput, error)
}

// KeyDeletionDays is the shortest waiting period KMS allows before a key is deleted.
const KeyDeletionDays = 7

// clusterData is what a cluster keeps when its stacks go: the member volumes, the bucket
// with the backups and the KMS key that encrypts both.
type clusterData struct {
	volumes []volume
	bucket  string
	key     string // key id
}

func (d clusterData) empty() bool { return len(d.volumes) == 0 && d.bucket == "" && d.key == "" }

// names lists the data for people, one entry each.
func (d clusterData) names() []string {
	var out []string
	for _, v := range d.volumes {
		out = append(out, "volume "+v.id+" ("+v.member+")")
	}
	if d.bucket != "" {
		out = append(out, "bucket "+d.bucket+" (backups)")
	}
	if d.key != "" {
		out = append(out, "KMS key "+d.key+" (encrypts the volumes and backups)")
	}
	return out
}

// findData finds the cluster's data from the live stacks' outputs and, for what outlived
// its stacks (a delete without --purge-data), by the neo4jctl.io/cluster tag.
func (o *Ops) findData(ctx context.Context, name string, stacks []*engine.StackInfo) (clusterData, error) {
	var d clusterData
	var err error
	if d.volumes, err = o.clusterVolumes(ctx, name, stacks); err != nil {
		return d, err
	}
	sort.SliceStable(d.volumes, func(i, j int) bool {
		if a, b := memberIndex(d.volumes[i].member), memberIndex(d.volumes[j].member); a != b {
			return a < b
		}
		return d.volumes[i].id < d.volumes[j].id
	})
	for _, s := range stacks {
		if s.Tags[naming.TagStackKind] == naming.KindShared {
			d.bucket = s.Outputs[stack.OutputBucketName]
			d.key = keyID(s.Outputs[stack.OutputKMSKeyArn])
		}
	}
	if d.bucket == "" {
		if d.bucket, err = o.taggedBucket(ctx, name); err != nil {
			return d, err
		}
	}
	if d.key == "" {
		if d.key, err = o.taggedKey(ctx, name); err != nil {
			return d, err
		}
	}
	return d, nil
}

// keyID is the key id of a KMS key ARN (arn:aws:kms:region:account:key/ID).
func keyID(arn string) string {
	if i := strings.LastIndex(arn, "key/"); i >= 0 {
		return arn[i+len("key/"):]
	}
	return arn
}

// taggedBucket finds the cluster's bucket in this region by its tag. CloudFormation names
// it after the shared stack (neo4jctl-NAME-shared-bucket-...), so only those are looked at.
func (o *Ops) taggedBucket(ctx context.Context, name string) (string, error) {
	prefix := strings.ToLower(naming.StackPrefix(name)) + "-"
	p := s3.NewListBucketsPaginator(o.AWS.S3, &s3.ListBucketsInput{Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("listing buckets to find those of %s: %w", name, awsapi.Clean(err))
		}
		for _, b := range page.Buckets {
			bucket := aws.ToString(b.Name)
			if !strings.HasPrefix(bucket, prefix) {
				continue
			}
			if r := aws.ToString(b.BucketRegion); r != "" && r != o.AWS.Region {
				continue
			}
			loc, err := o.AWS.S3.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(bucket)})
			if err != nil {
				continue // another region's or an inaccessible bucket: not this cluster's
			}
			region := string(loc.LocationConstraint)
			if region == "" {
				region = "us-east-1"
			}
			if region != o.AWS.Region {
				continue
			}
			tags, err := o.AWS.S3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
			if err != nil {
				continue // NoSuchTagSet: not neo4jctl's
			}
			for _, t := range tags.TagSet {
				if aws.ToString(t.Key) == naming.TagCluster && aws.ToString(t.Value) == name {
					return bucket, nil
				}
			}
		}
	}
	return "", nil
}

// taggedKey finds the cluster's KMS key by its tag, skipping keys already scheduled for
// deletion.
func (o *Ops) taggedKey(ctx context.Context, name string) (string, error) {
	if o.AWS.KMS == nil {
		return "", nil
	}
	p := kms.NewListKeysPaginator(o.AWS.KMS, &kms.ListKeysInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("listing KMS keys to find the key of %s: %w", name, awsapi.Clean(err))
		}
		for _, k := range page.Keys {
			id := aws.ToString(k.KeyId)
			tags, err := o.AWS.KMS.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(id)})
			if err != nil {
				continue // AWS managed keys and keys we may not read
			}
			ours := false
			for _, t := range tags.Tags {
				if aws.ToString(t.TagKey) == naming.TagCluster && aws.ToString(t.TagValue) == name {
					ours = true
				}
			}
			if !ours {
				continue
			}
			d, err := o.AWS.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
			if err != nil {
				return "", fmt.Errorf("reading KMS key %s of %s: %w", id, name, awsapi.Clean(err))
			}
			if d.KeyMetadata != nil && d.KeyMetadata.KeyState == kmstypes.KeyStatePendingDeletion {
				continue
			}
			return id, nil
		}
	}
	return "", nil
}

// scheduleKeyDeletion schedules the key's deletion after the shortest waiting period.
func (o *Ops) scheduleKeyDeletion(ctx context.Context, id string) error {
	_, err := o.AWS.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(KeyDeletionDays)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "KMSInvalidStateException" && strings.Contains(ae.ErrorMessage(), "pending deletion") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("scheduling the deletion of KMS key %s: %w", id, awsapi.Clean(err))
	}
	return nil
}
