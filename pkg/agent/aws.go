package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3API is the part of the S3 client the agent uses.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, opts ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
}

// S3Store is the ObjectStore over S3.
type S3Store struct{ S3 S3API }

func (s S3Store) List(ctx context.Context, bucket, prefix string) ([]Object, error) {
	var out []Object
	p := s3.NewListObjectsV2Paginator(s.S3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			out = append(out, Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), LastModified: aws.ToTime(o.LastModified)})
		}
	}
	return out, nil
}

func (s S3Store) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	resp, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var nsk *s3types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, ErrNoObject
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

func (s S3Store) Put(ctx context.Context, bucket, key string, body []byte) error {
	// with a checksum: a bucket with Object Lock's default retention takes no upload without one
	_, err := s.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: bytes.NewReader(body), ContentType: aws.String("application/json"), ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32})
	return err
}

func (s S3Store) Delete(ctx context.Context, bucket string, keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		var ids []s3types.ObjectIdentifier
		for _, k := range keys[:n] {
			ids = append(ids, s3types.ObjectIdentifier{Key: aws.String(k)})
		}
		resp, err := s.S3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket),
			Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return err
		}
		if len(resp.Errors) > 0 {
			e := resp.Errors[0]
			return fmt.Errorf("deleting %s: %s %s (and %d more)", aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message), len(resp.Errors)-1)
		}
		keys = keys[n:]
	}
	return nil
}

// CloudWatchAPI is the part of the CloudWatch client the agent uses.
type CloudWatchAPI interface {
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

// CloudWatchMetrics is the MetricPublisher over CloudWatch.
type CloudWatchMetrics struct{ CW CloudWatchAPI }

func (c CloudWatchMetrics) PutMetric(ctx context.Context, m Metric) error {
	keys := make([]string, 0, len(m.Dimensions))
	for k := range m.Dimensions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var dims []cwtypes.Dimension
	for _, k := range keys {
		dims = append(dims, cwtypes.Dimension{Name: aws.String(k), Value: aws.String(m.Dimensions[k])})
	}
	_, err := c.CW.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
		Namespace: aws.String(m.Namespace),
		MetricData: []cwtypes.MetricDatum{{MetricName: aws.String(m.Name), Value: aws.Float64(m.Value),
			Unit: cwtypes.StandardUnit(m.Unit), Dimensions: dims, Timestamp: aws.Time(m.Time)}},
	})
	return err
}

// LogsAPI is the part of the CloudWatch Logs client the agent uses.
type LogsAPI interface {
	CreateLogStream(ctx context.Context, in *cloudwatchlogs.CreateLogStreamInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error)
	PutLogEvents(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error)
}

// CloudWatchLogs is the LogSink over CloudWatch Logs.
type CloudWatchLogs struct{ Logs LogsAPI }

func (c CloudWatchLogs) EnsureStream(ctx context.Context, group, stream string) error {
	_, err := c.Logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
	var exists *cwltypes.ResourceAlreadyExistsException
	if errors.As(err, &exists) {
		return nil
	}
	return err
}

func (c CloudWatchLogs) Put(ctx context.Context, group, stream string, events []LogEvent) error {
	in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}
	for _, e := range events {
		in.LogEvents = append(in.LogEvents, cwltypes.InputLogEvent{Message: aws.String(e.Message), Timestamp: aws.Int64(e.Time.UnixMilli())})
	}
	// Events of one call must be in time order.
	sort.SliceStable(in.LogEvents, func(i, j int) bool { return *in.LogEvents[i].Timestamp < *in.LogEvents[j].Timestamp })
	// Rejected events (too old or too new for the stream) are dropped, not retried: they
	// would be rejected again.
	_, err := c.Logs.PutLogEvents(ctx, in)
	return err
}
