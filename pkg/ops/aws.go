// Package ops runs a cluster's lifecycle against AWS: create, update, get and delete, on top
// of the stack engine (pkg/engine) and the templates (pkg/stack). Every AWS service is used
// through a small interface declared here, so tests swap in moto (through the real SDK) or
// fakes.
package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
)

// STS identifies the caller.
type STS interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// EC2 checks the network and finds member volumes.
type EC2 interface {
	DescribeVpcs(context.Context, *ec2.DescribeVpcsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error)
	DescribeSubnets(context.Context, *ec2.DescribeSubnetsInput, ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
	DescribeAvailabilityZones(context.Context, *ec2.DescribeAvailabilityZonesInput, ...func(*ec2.Options)) (*ec2.DescribeAvailabilityZonesOutput, error)
	DescribeVolumes(context.Context, *ec2.DescribeVolumesInput, ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error)
	DeleteVolume(context.Context, *ec2.DeleteVolumeInput, ...func(*ec2.Options)) (*ec2.DeleteVolumeOutput, error)
}

// ECR checks that the image is there.
type ECR interface {
	DescribeImages(context.Context, *ecr.DescribeImagesInput, ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error)
}

// S3 holds the agent bundle and the backups.
type S3 interface {
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	ListObjectVersions(context.Context, *s3.ListObjectVersionsInput, ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
	DeleteObjects(context.Context, *s3.DeleteObjectsInput, ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
	DeleteBucket(context.Context, *s3.DeleteBucketInput, ...func(*s3.Options)) (*s3.DeleteBucketOutput, error)
	ListBuckets(context.Context, *s3.ListBucketsInput, ...func(*s3.Options)) (*s3.ListBucketsOutput, error)
	GetBucketLocation(context.Context, *s3.GetBucketLocationInput, ...func(*s3.Options)) (*s3.GetBucketLocationOutput, error)
	GetBucketTagging(context.Context, *s3.GetBucketTaggingInput, ...func(*s3.Options)) (*s3.GetBucketTaggingOutput, error)
}

// ECS shows services and tasks.
type ECS interface {
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
}

// CloudMap cleans instances registered outside CloudFormation.
type CloudMap interface {
	ListServices(context.Context, *servicediscovery.ListServicesInput, ...func(*servicediscovery.Options)) (*servicediscovery.ListServicesOutput, error)
	ListInstances(context.Context, *servicediscovery.ListInstancesInput, ...func(*servicediscovery.Options)) (*servicediscovery.ListInstancesOutput, error)
	DeregisterInstance(context.Context, *servicediscovery.DeregisterInstanceInput, ...func(*servicediscovery.Options)) (*servicediscovery.DeregisterInstanceOutput, error)
}

// AutoScaling shows a member's instance.
type AutoScaling interface {
	DescribeAutoScalingGroups(context.Context, *autoscaling.DescribeAutoScalingGroupsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
}

// AWS is every client ops uses.
type AWS struct {
	Region   string
	CFN      engine.CloudFormation
	STS      STS
	EC2      EC2
	ECR      ECR
	S3       S3
	ECS      ECS
	CloudMap CloudMap
	ASG      AutoScaling
	KMS      KMS
}

// NewAWS makes the clients from one aws.Config. With a custom endpoint (AWS_ENDPOINT_URL,
// an emulator or a proxy) S3 uses path-style addressing, which such endpoints expect.
func NewAWS(cfg aws.Config) *AWS {
	custom := cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != ""
	return &AWS{
		Region: cfg.Region,
		CFN:    cloudformation.NewFromConfig(cfg),
		STS:    sts.NewFromConfig(cfg),
		EC2:    ec2.NewFromConfig(cfg),
		ECR:    ecr.NewFromConfig(cfg),
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = o.UsePathStyle || custom || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
		}),
		ECS:      ecs.NewFromConfig(cfg),
		CloudMap: servicediscovery.NewFromConfig(cfg),
		ASG:      autoscaling.NewFromConfig(cfg),
		KMS:      kms.NewFromConfig(cfg),
	}
}

// EndpointOverride reports whether the service's calls go to a configured endpoint (an
// emulator such as moto, or a proxy) instead of AWS: AWS_ENDPOINT_URL (the config's base
// endpoint) or AWS_ENDPOINT_URL_<SERVICE>, e.g. service "CLOUDFORMATION".
func EndpointOverride(cfg aws.Config, service string) bool {
	return (cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "") || os.Getenv("AWS_ENDPOINT_URL_"+service) != ""
}

// ErrNoRegion: neither the config, the flags, the environment nor the profile names a region.
var ErrNoRegion = errors.New("no AWS region: pass --region, set AWS_REGION or a region in the profile")

// ConfigOptions choose how neo4jctl talks to AWS.
type ConfigOptions struct {
	Region  string
	Profile string
	// MaxAttempts per call, SDK retries included; 0 takes AWS_MAX_ATTEMPTS, else the SDK's 3.
	// Emulators want 1: moto answers a retried CreateStack with AlreadyExists.
	MaxAttempts int
	// Customize runs last (tests: emulator headers and middleware).
	Customize []func(*aws.Config)
}

// LoadConfig is config.LoadDefaultConfig with neo4jctl's choices: --region and --profile win
// over the environment, AWS_ENDPOINT_URL is honoured, and the SDK's retries never exhaust a
// client-side retry quota during long waits (the engine slows its polling instead), while
// still retrying throttled calls with backoff.
func LoadConfig(ctx context.Context, o ConfigOptions) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	// A custom retryer makes LoadDefaultConfig ignore AWS_MAX_ATTEMPTS, so read it here.
	attempts := o.MaxAttempts
	if attempts <= 0 {
		attempts, _ = strconv.Atoi(os.Getenv("AWS_MAX_ATTEMPTS"))
	}
	opts = append(opts, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(so *retry.StandardOptions) {
			so.RateLimiter = ratelimit.None
			if attempts > 0 {
				so.MaxAttempts = attempts
			}
		})
	}))
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, ErrNoRegion
	}
	if attempts > 0 && attempts < readAttempts {
		cfg.APIOptions = append(cfg.APIOptions, retryReadsOnConnectionErrors)
	}
	cfg.Logger = sdkLogger()
	for _, c := range o.Customize {
		c(&cfg)
	}
	return cfg, nil
}

// readAttempts is how often a read-only call is tried when the connection drops.
const readAttempts = 3

// readOnly reports whether an operation only looks (and so is safe to send again).
func readOnly(op string) bool {
	for _, p := range []string{"Describe", "Get", "List", "Head"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// retryReadsOnConnectionErrors retries read-only calls whose connection failed (dropped,
// reset, "use of closed network connection") even when retries are turned down with
// AWS_MAX_ATTEMPTS (as against moto): such a call never reached AWS or changed nothing.
// Calls that change something (CreateStack, ...) keep the configured attempts: a retried
// CreateStack that did reach the emulator comes back as AlreadyExists.
func retryReadsOnConnectionErrors(st *middleware.Stack) error {
	if !readOnly(st.ID()) {
		return nil
	}
	if _, ok := st.Finalize.Get("Retry"); !ok {
		return nil
	}
	r := retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = readAttempts
		so.RateLimiter = ratelimit.None
		so.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
	})
	_, err := st.Finalize.Swap("Retry", retry.NewAttemptMiddleware(r, smithyhttp.RequestCloner))
	return err
}

// sdkLogger keeps the SDK's own log lines (e.g. "WARN failed to discard remaining HTTP
// response body") off neo4jctl's output; NEO4JCTL_DEBUG=1 shows them on stderr.
func sdkLogger() logging.Logger {
	if os.Getenv("NEO4JCTL_DEBUG") == "" {
		return logging.Nop{}
	}
	return logging.NewStandardLogger(os.Stderr)
}
