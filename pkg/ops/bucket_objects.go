package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
)

// StateStore reads and writes small objects in the cluster bucket (the last-applied
// record, a restart's pinned order).
type StateStore interface {
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// readBucketObject reads key from the cluster bucket, at most limit bytes; body is nil when
// there is no such object. what names it in errors ("the restart state").
func (c *Cluster) readBucketObject(ctx context.Context, api StateStore, key string, limit int64, what string) (bucket string, body []byte, err error) {
	if bucket, err = c.bucket(ctx); err != nil {
		return "", nil, err
	}
	out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if awsapi.IsNotFound(err) {
		return bucket, nil, nil
	}
	if err != nil {
		return bucket, nil, fmt.Errorf("reading %s s3://%s/%s: %w", what, bucket, key, awsapi.Clean(err))
	}
	defer out.Body.Close()
	if body, err = io.ReadAll(io.LimitReader(out.Body, limit)); err != nil {
		return bucket, nil, fmt.Errorf("reading %s s3://%s/%s: %w", what, bucket, key, err)
	}
	return bucket, body, nil
}

// writeBucketObject writes v as JSON to key in the cluster bucket. The upload carries a
// checksum: a bucket with Object Lock (backup.objectLock) takes no upload without one.
// what names it in errors ("the restart order").
func (c *Cluster) writeBucketObject(ctx context.Context, api StateStore, key string, v any, what string) error {
	bucket, err := c.bucket(ctx)
	if err != nil {
		return err
	}
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: bytes.NewReader(body), ContentType: aws.String("application/json"), ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32}); err != nil {
		return fmt.Errorf("recording %s in s3://%s/%s: %w", what, bucket, key, awsapi.Clean(err))
	}
	return nil
}
