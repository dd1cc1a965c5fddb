package ops

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// KeyDeletionDays is the shortest waiting period KMS allows before a key is deleted.
const KeyDeletionDays = 7

// VolumeFinder lists EBS volumes by tag: the member volumes.
type VolumeFinder interface {
	DescribeVolumes(context.Context, *ec2.DescribeVolumesInput, ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error)
}

// BucketFinder finds the cluster bucket among the account's buckets by region and tag.
type BucketFinder interface {
	ListBuckets(context.Context, *s3.ListBucketsInput, ...func(*s3.Options)) (*s3.ListBucketsOutput, error)
	GetBucketLocation(context.Context, *s3.GetBucketLocationInput, ...func(*s3.Options)) (*s3.GetBucketLocationOutput, error)
	GetBucketTagging(context.Context, *s3.GetBucketTaggingInput, ...func(*s3.Options)) (*s3.GetBucketTaggingOutput, error)
}

// KeyFinder finds the cluster's KMS key by tag.
type KeyFinder interface {
	ListKeys(context.Context, *kms.ListKeysInput, ...func(*kms.Options)) (*kms.ListKeysOutput, error)
	ListResourceTags(context.Context, *kms.ListResourceTagsInput, ...func(*kms.Options)) (*kms.ListResourceTagsOutput, error)
	DescribeKey(context.Context, *kms.DescribeKeyInput, ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
}

// KeptData is what a cluster keeps when its stacks go: the member volumes, the bucket with
// the backups and the KMS key that encrypts both.
type KeptData struct {
	Volumes []Volume
	Bucket  string
	KeyID   string
}

// Volume is a member's data volume.
type Volume struct{ ID, Member string }

// Empty reports whether nothing is kept.
func (d KeptData) Empty() bool { return len(d.Volumes) == 0 && d.Bucket == "" && d.KeyID == "" }

// Names lists the data for people, one entry each.
func (d KeptData) Names() []string {
	var out []string
	for _, v := range d.Volumes {
		out = append(out, "volume "+v.ID+" ("+v.Member+")")
	}
	if d.Bucket != "" {
		out = append(out, "bucket "+d.Bucket+" (backups)")
	}
	if d.KeyID != "" {
		out = append(out, "KMS key "+d.KeyID+" (encrypts the volumes and backups)")
	}
	return out
}

// dataFinder finds a cluster's kept data.
type dataFinder struct {
	EC2 VolumeFinder
	S3  BucketFinder
	KMS KeyFinder // nil: the key is not looked for
}

// find finds the cluster's data from the live stacks' outputs and, for what outlived its
// stacks (a delete without --purge-data), by the neo4jctl.io/cluster tag.
func (f dataFinder) find(ctx context.Context, name, region string, stacks []*engine.StackInfo) (KeptData, error) {
	var d KeptData
	var err error
	if d.Volumes, err = f.volumes(ctx, name, stacks); err != nil {
		return d, err
	}
	for _, s := range stacks {
		if s.Tags[naming.TagStackKind] == naming.KindShared {
			d.Bucket = s.Outputs[stack.OutputBucketName]
			d.KeyID = keyID(s.Outputs[stack.OutputKMSKeyArn])
		}
	}
	if d.Bucket == "" {
		if d.Bucket, err = f.taggedBucket(ctx, name, region); err != nil {
			return d, err
		}
	}
	if d.KeyID == "" {
		if d.KeyID, err = f.taggedKey(ctx, name); err != nil {
			return d, err
		}
	}
	return d, nil
}

// volumes finds the member volumes, from stack outputs and by the cluster tag, in member
// order.
func (f dataFinder) volumes(ctx context.Context, name string, stacks []*engine.StackInfo) ([]Volume, error) {
	seen := map[string]bool{}
	var out []Volume
	for _, s := range stacks {
		if id := s.Outputs[stack.OutputVolumeID]; id != "" && !seen[id] {
			seen[id] = true
			out = append(out, Volume{id, s.Tags[naming.TagMember]})
		}
	}
	p := ec2.NewDescribeVolumesPaginator(f.EC2, &ec2.DescribeVolumesInput{
		Filters: []ec2types.Filter{{Name: aws.String("tag:" + naming.TagCluster), Values: []string{name}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the volumes of %s: %w", name, awsapi.Clean(err))
		}
		for _, v := range page.Volumes {
			if id := aws.ToString(v.VolumeId); !seen[id] {
				seen[id] = true
				out = append(out, Volume{id, tagValue(v.Tags, naming.TagMember, "?")})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := memberIndex(out[i].Member), memberIndex(out[j].Member); a != b {
			return a < b
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func tagValue(tags []ec2types.Tag, key, missing string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return missing
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
func (f dataFinder) taggedBucket(ctx context.Context, name, region string) (string, error) {
	prefix := strings.ToLower(naming.StackPrefix(name)) + "-"
	p := s3.NewListBucketsPaginator(f.S3, &s3.ListBucketsInput{Prefix: aws.String(prefix)})
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
			if r := aws.ToString(b.BucketRegion); r != "" && r != region {
				continue
			}
			if f.bucketIsClusters(ctx, bucket, name, region) {
				return bucket, nil
			}
		}
	}
	return "", nil
}

// bucketIsClusters reports whether bucket is in region and tagged as the cluster's.
func (f dataFinder) bucketIsClusters(ctx context.Context, bucket, name, region string) bool {
	loc, err := f.S3.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(bucket)})
	if err != nil {
		return false // another region's or an inaccessible bucket: not this cluster's
	}
	if r := string(loc.LocationConstraint); r != region && !(r == "" && region == "us-east-1") {
		return false
	}
	tags, err := f.S3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	if err != nil {
		return false // NoSuchTagSet: not neo4jctl's
	}
	for _, t := range tags.TagSet {
		if aws.ToString(t.Key) == naming.TagCluster && aws.ToString(t.Value) == name {
			return true
		}
	}
	return false
}

// taggedKey finds the cluster's KMS key by its tag, skipping keys already scheduled for
// deletion.
func (f dataFinder) taggedKey(ctx context.Context, name string) (string, error) {
	if f.KMS == nil {
		return "", nil
	}
	p := kms.NewListKeysPaginator(f.KMS, &kms.ListKeysInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("listing KMS keys to find the key of %s: %w", name, awsapi.Clean(err))
		}
		for _, k := range page.Keys {
			id := aws.ToString(k.KeyId)
			tags, err := f.KMS.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(id)})
			if err != nil || !keyTagged(tags.Tags, name) {
				continue // AWS managed keys, keys we may not read, other clusters' keys
			}
			d, err := f.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
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

func keyTagged(tags []kmstypes.Tag, name string) bool {
	for _, t := range tags {
		if aws.ToString(t.TagKey) == naming.TagCluster && aws.ToString(t.TagValue) == name {
			return true
		}
	}
	return false
}

// VolumeDeleter deletes member volumes (--purge-data).
type VolumeDeleter interface {
	VolumeFinder
	DeleteVolume(context.Context, *ec2.DeleteVolumeInput, ...func(*ec2.Options)) (*ec2.DeleteVolumeOutput, error)
}

// BucketDeleter empties and deletes the cluster bucket (--purge-data).
type BucketDeleter interface {
	BucketFinder
	ListObjectVersions(context.Context, *s3.ListObjectVersionsInput, ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
	DeleteObjects(context.Context, *s3.DeleteObjectsInput, ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
	DeleteBucket(context.Context, *s3.DeleteBucketInput, ...func(*s3.Options)) (*s3.DeleteBucketOutput, error)
}

// KeyDeleter schedules the deletion of the cluster's KMS key (--purge-data).
type KeyDeleter interface {
	KeyFinder
	ScheduleKeyDeletion(context.Context, *kms.ScheduleKeyDeletionInput, ...func(*kms.Options)) (*kms.ScheduleKeyDeletionOutput, error)
}

// emptyAndDeleteBucket deletes every version of every object of a bucket, then the bucket.
func emptyAndDeleteBucket(ctx context.Context, api BucketDeleter, bucket string) error {
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)}
	for {
		out, err := api.ListObjectVersions(ctx, in)
		if err != nil {
			return fmt.Errorf("emptying bucket %s: %w", bucket, awsapi.Clean(err))
		}
		var ids []s3types.ObjectIdentifier
		for _, v := range out.Versions {
			ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range out.DeleteMarkers {
			ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if len(ids) > 0 {
			if _, err := api.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
				return fmt.Errorf("emptying bucket %s: %w", bucket, awsapi.Clean(err))
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
	if _, err := api.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("deleting bucket %s: %w", bucket, awsapi.Clean(err))
	}
	return nil
}

// scheduleKeyDeletion schedules the key's deletion after the shortest waiting period; a key
// already pending deletion is fine.
func scheduleKeyDeletion(ctx context.Context, api KeyDeleter, id string) error {
	_, err := api.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(KeyDeletionDays)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "KMSInvalidStateException" && strings.Contains(ae.ErrorMessage(), "pending deletion") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("scheduling the deletion of KMS key %s: %w", id, awsapi.Clean(err))
	}
	return nil
}
