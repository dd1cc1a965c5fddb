package iampolicy

import "slices"

// cloudFormationTypes are the resource types neo4jctl's templates use (pkg/stack's tests
// keep this list complete); data.json holds their handlers' permissions. A template that
// starts using a new type adds it here and runs `go test ./pkg/iampolicy -update`.
var cloudFormationTypes = []string{
	"AWS::AutoScaling::AutoScalingGroup",
	"AWS::CloudWatch::Alarm",
	"AWS::CloudWatch::Dashboard",
	"AWS::EC2::EIP",
	"AWS::EC2::InternetGateway",
	"AWS::EC2::LaunchTemplate",
	"AWS::EC2::NatGateway",
	"AWS::EC2::Route",
	"AWS::EC2::RouteTable",
	"AWS::EC2::SecurityGroup",
	"AWS::EC2::SecurityGroupEgress",
	"AWS::EC2::SecurityGroupIngress",
	"AWS::EC2::Subnet",
	"AWS::EC2::SubnetRouteTableAssociation",
	"AWS::EC2::VPC",
	"AWS::EC2::VPCEndpoint",
	"AWS::EC2::VPCGatewayAttachment",
	"AWS::EC2::Volume",
	"AWS::ECS::CapacityProvider",
	"AWS::ECS::Cluster",
	"AWS::ECS::ClusterCapacityProviderAssociations",
	"AWS::ECS::Service",
	"AWS::ECS::TaskDefinition",
	"AWS::Events::Rule",
	"AWS::IAM::InstanceProfile",
	"AWS::IAM::Policy",
	"AWS::IAM::Role",
	"AWS::KMS::Alias",
	"AWS::KMS::Key",
	"AWS::Lambda::Function",
	"AWS::Lambda::Permission",
	"AWS::Logs::LogGroup",
	"AWS::Logs::MetricFilter",
	"AWS::S3::Bucket",
	"AWS::S3::BucketPolicy",
	"AWS::SNS::Subscription",
	"AWS::SNS::Topic",
	"AWS::SQS::Queue",
	"AWS::Scheduler::Schedule",
	"AWS::SecretsManager::RotationSchedule",
	"AWS::SecretsManager::Secret",
	"AWS::ServiceDiscovery::PrivateDnsNamespace",
	"AWS::ServiceDiscovery::Service",
	// a Lambda-backed custom resource: CloudFormation invokes the function as the caller
	// (deployExtras), no handlers
	"Custom::Neo4jctlCleanup",
}

// CloudFormationTypes are the resource types whose permissions the policy carries.
func CloudFormationTypes() []string { return slices.Clone(cloudFormationTypes) }
