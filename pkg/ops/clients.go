package ops

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	tagging "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	taggingschemas "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/schemas"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
)

// Clients are the AWS SDK clients of one region, made from one aws.Config (awsapi.LoadConfig).
// Actions never hold them: New<Verb> hands each action the narrow interfaces it declares.
// A new verb that needs another service adds its client here.
type Clients struct {
	CloudFormation *cloudformation.Client // for the engine (pkg/engine)
	STS            *sts.Client
	EC2            *ec2.Client
	ECR            *ecr.Client
	S3             *s3.Client
	ECS            *ecs.Client
	CloudMap       *servicediscovery.Client
	AutoScaling    *autoscaling.Client
	KMS            *kms.Client
	Lambda         *lambda.Client         // the admin channel's invocations
	SecretsManager *secretsmanager.Client // --bolt-uri's admin credentials; kept secrets
	Logs           *cloudwatchlogs.Client // logs, and the backup tasks' reports
	Tagging        *tagging.Client        // kept data by tag (one lookup per region)
	SSM            *ssm.Client            // the ECS-optimized AMI to pin
	CloudWatch     *cloudwatch.Client     // the agent's metrics (diagnose: disk usage)
	cfg            aws.Config
}

// S3In is an S3 client of another region (the copy of the backups, backup.copyTo), made
// like S3.
func (c *Clients) S3In(region string) *s3.Client {
	return s3.NewFromConfig(c.cfg, func(o *s3.Options) {
		o.Region = region
		o.UsePathStyle = c.S3.Options().UsePathStyle
	})
}

// NewClients makes the clients from one aws.Config. With a custom endpoint (AWS_ENDPOINT_URL,
// an emulator or a proxy) S3 uses path-style addressing, which such endpoints expect.
func NewClients(cfg aws.Config) *Clients {
	custom := cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != ""
	return &Clients{
		CloudFormation: cloudformation.NewFromConfig(cfg),
		STS:            sts.NewFromConfig(cfg),
		EC2:            ec2.NewFromConfig(cfg),
		ECR:            ecr.NewFromConfig(cfg),
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = o.UsePathStyle || custom || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
		}),
		ECS:         ecs.NewFromConfig(cfg),
		CloudMap:    servicediscovery.NewFromConfig(cfg),
		AutoScaling: autoscaling.NewFromConfig(cfg),
		KMS:         kms.NewFromConfig(cfg),
		// an invocation waits for the function on purpose; the admin channel bounds it
		Lambda:         lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.HTTPClient = awsapi.WithoutAnswerTimeout(cfg) }),
		SecretsManager: secretsmanager.NewFromConfig(cfg),
		Logs:           cloudwatchlogs.NewFromConfig(cfg),
		// AWS JSON 1.1, the API's first protocol, which every endpoint speaks; the SDK would
		// prefer RPCv2 CBOR, which emulators and proxies (moto) do not
		Tagging: tagging.NewFromConfig(cfg, func(o *tagging.Options) {
			o.Protocol = awsjson.New11(taggingschemas.ResourceGroupsTaggingAPI_20170126)
		}),
		SSM: ssm.NewFromConfig(cfg),
		// AWS Query, the API's first protocol, which every endpoint speaks; the SDK would
		// prefer RPCv2 CBOR, which emulators and proxies (moto) do not
		CloudWatch: cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
			o.Protocol = awsquery.New(cwschemas.GraniteServiceVersion20100801)
		}),
		cfg: cfg,
	}
}
