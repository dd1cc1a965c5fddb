package iampolicy

// commands are the AWS actions each command calls itself, as the moto end-to-end tests
// record them (cmd/neo4jctl fails a test whose run calls an action its command lacks here).
// Where an action may be narrowed to neo4jctl's names (stacks, buckets, roles, functions,
// log groups, secrets), Policy narrows it; every other action is on "*".
//
// A new command adds its entry; one that changes stacks also gets the permissions
// CloudFormation uses on the caller's behalf (stackOps).
var commands = map[string][]string{
	"create cluster": {
		// pre-checks: account, AZs, an existing VPC's DNS, routes and endpoints, the image, the AMI
		"sts:GetCallerIdentity", "ec2:DescribeAvailabilityZones", "ec2:DescribeVpcs", "ec2:DescribeVpcAttribute",
		"ec2:DescribeSubnets", "ec2:DescribeRouteTables", "ec2:DescribeNatGateways", "ec2:DescribeVpcEndpoints",
		"ecr:DescribeImages", "ssm:GetParameter",
		// kept data of an earlier cluster of the name, adopted
		"tag:GetResources", "ec2:DescribeVolumes", "kms:DescribeKey", "s3:GetBucketLocation", "s3:GetEncryptionConfiguration",
		"secretsmanager:DescribeSecret", "secretsmanager:UpdateSecret",
		// the stacks, and the agent bundles in the bucket
		"cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents", "cloudformation:CreateStack",
		"cloudformation:DeleteStack", "cloudformation:UpdateTerminationProtection", "cloudformation:GetTemplate",
		"cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet", "cloudformation:DeleteChangeSet",
		"cloudformation:ExecuteChangeSet", "s3:GetObject", "s3:PutObject",
		// waiting for Neo4j to form: the admin function, the services and tasks, the groups
		"lambda:InvokeFunction", "ecs:DescribeServices", "ecs:ListTasks", "ecs:DescribeTasks",
		"autoscaling:DescribeAutoScalingGroups", "servicediscovery:ListServices",
	},
	"update cluster": applyActions,
	"delete cluster": {
		"cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents", "cloudformation:DeleteStack",
		"cloudformation:UpdateTerminationProtection",
		"servicediscovery:ListServices", "servicediscovery:ListInstances", "servicediscovery:DeregisterInstance",
		// the kept data, found by tag; --purge-data deletes it
		"tag:GetResources", "ec2:DescribeVolumes", "ec2:DeleteVolume", "kms:DescribeKey", "kms:ScheduleKeyDeletion",
		"s3:GetBucketLocation", "s3:GetEncryptionConfiguration", "s3:ListBucketVersions", "s3:DeleteObject",
		"s3:DeleteObjectVersion", "s3:GetObjectVersion", "s3:DeleteBucket",
		"secretsmanager:DescribeSecret", "secretsmanager:DeleteSecret",
	},
	"get cluster": {
		"cloudformation:DescribeStacks", "ecs:DescribeServices", "ecs:ListTasks", "ecs:DescribeTasks",
		"autoscaling:DescribeAutoScalingGroups", "lambda:InvokeFunction",
		"secretsmanager:GetSecretValue", // --bolt-uri without NEO4J_PASSWORD: the admin secret
	},
	"restart cluster": {
		"cloudformation:DescribeStacks", "ecs:DescribeServices", "ecs:ListTasks", "ecs:UpdateService",
		"lambda:InvokeFunction", "secretsmanager:GetSecretValue", "s3:GetObject", "s3:PutObject",
	},
	"backup create": {
		"cloudformation:DescribeStacks", "ecs:RunTask", "ecs:DescribeTasks", "ecs:ListTasks",
		"iam:PassRole", // RunTask passes the backup task's roles
		"logs:GetLogEvents", "s3:GetObject", "s3:ListBucket",
	},
	"backup list": {
		"cloudformation:DescribeStacks", "ecs:DescribeTaskDefinition", "s3:GetObject", "s3:ListBucket",
		"s3:GetReplicationConfiguration", // where backup.copyTo copies to (listed: elsewhere below)
	},
	"backup verify": {
		"cloudformation:DescribeStacks", "ecs:RunTask", "ecs:DescribeTasks", "ecs:ListTasks", "iam:PassRole",
		"logs:GetLogEvents", "s3:GetObject", "s3:ListBucket",
	},
	"backup restore": {
		// the catalog in the bucket, then recreate-database through the admin channel (the
		// function, or --bolt-uri with the admin secret); Neo4j fetches the backup itself
		"cloudformation:DescribeStacks", "s3:GetObject", "s3:ListBucket",
		"lambda:InvokeFunction", "secretsmanager:GetSecretValue",
	},
	"diagnose": {
		// the stacks, their events, templates and drift (it starts a detection on member
		// stacks never checked: its one change)
		"cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents", "cloudformation:GetTemplate",
		"cloudformation:DetectStackDrift", "cloudformation:DescribeStackResourceDrifts",
		// the members: services, tasks, hosts, groups, volumes, Cloud Map, disk metrics
		"ecs:DescribeClusters", "ecs:DescribeServices", "ecs:ListTasks", "ecs:DescribeTasks", "ecs:DescribeTaskDefinition",
		"ecs:ListContainerInstances", "ecs:DescribeContainerInstances", "autoscaling:DescribeAutoScalingGroups",
		"ec2:DescribeVolumes", "servicediscovery:ListInstances", "cloudwatch:GetMetricData",
		// the network, as create checks it
		"ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeSubnets", "ec2:DescribeRouteTables",
		"ec2:DescribeNatGateways", "ec2:DescribeVpcEndpoints",
		// the container and boot logs, the backup catalog, Neo4j through the admin channel
		"logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents", "s3:GetObject", "s3:ListBucket",
		"lambda:InvokeFunction", "secretsmanager:GetSecretValue",
	},
	"logs": {
		// the cluster's log groups and their streams; --follow polls, or tails them live
		"logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:DescribeLogGroups", "logs:StartLiveTail",
	},
	"image push": imagePush,
	// stop, start, scale replicas and reset-data apply the last-applied config with one
	// field changed, through update's machinery (prechecks, change sets, a stack made again)
	"stop cluster":   with(applyActions, "autoscaling:DescribeAutoScalingGroups", "ec2:DescribeVolumes"),
	"start cluster":  with(with(applyActions, adminChannel...), "ec2:DescribeVolumes"),
	"scale replicas": with(applyActions, adminChannel...),
	"reset-data cluster": with(applyActions, "ec2:DescribeVolumes", "ec2:DeleteVolume",
		"s3:DeleteObject"), // the record of the data it replaced
	// upgrade applies the last-applied config with the new version, the member stacks through
	// the gated roll (Neo4j through the admin channel); first the backup catalog (backup
	// list's reads) and, with --push-image, image push's
	"upgrade cluster": with(with(with(applyActions, adminChannel...), "ecs:DescribeTaskDefinition", "s3:ListBucket",
		"s3:GetReplicationConfiguration"), imagePush...),
	// scale cores: new member stacks or a leaving member's stack deleted, Neo4j's side
	// through the admin channel, then the gated roll of the members
	"scale cores": with(applyActions, adminChannel...),
	// with AWS credentials: an existing VPC's subnets (their AZs) and the AMI to pin
	"generate templates": {"ec2:DescribeSubnets", "ssm:GetParameter"},
	// offline: no AWS call at all
	"utils schema": nil, "utils iam-policy": nil, "version": nil,
	"help": nil, "completion bash": nil, "completion zsh": nil, "completion fish": nil, "completion powershell": nil,
}

// elsewhere are actions a command also calls on resources neo4jctl does not name, so on "*"
// (and its own names with them).
var elsewhere = map[string][]string{
	// the copy of the backups in the bucket backup.copyTo names (yours, in another region)
	"backup list": {"s3:ListBucket"},
	// its backup check reads the catalog as backup list does, the copy included
	"upgrade cluster": {"s3:ListBucket"},
}

// applyActions are what update calls: the prechecks, the stacks' change sets (a stack a
// failed create left empty is deleted and made again), the agent bundles and the
// last-applied config in the bucket.
var applyActions = []string{
	"sts:GetCallerIdentity", "ec2:DescribeAvailabilityZones", "ec2:DescribeVpcs", "ec2:DescribeVpcAttribute",
	"ec2:DescribeSubnets", "ec2:DescribeRouteTables", "ec2:DescribeNatGateways", "ec2:DescribeVpcEndpoints",
	"ecr:DescribeImages", "ssm:GetParameter", "ecs:DescribeServices",
	"cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents", "cloudformation:GetTemplate",
	"cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet", "cloudformation:DeleteChangeSet",
	"cloudformation:ExecuteChangeSet", "cloudformation:CreateStack", "cloudformation:DeleteStack",
	"cloudformation:UpdateTerminationProtection", "s3:GetObject", "s3:PutObject",
}

// imagePush is what image push calls (and upgrade --push-image).
var imagePush = []string{
	// the SDK's: a registry login, --create-repository
	"ecr:GetAuthorizationToken", "ecr:CreateRepository",
	// the registry API's (pull of an ECR base, push): no SDK call shows them
	"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability",
	"ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage",
}

// adminChannel is what talking to Neo4j takes: the cluster's admin function, or with
// --bolt-uri and no NEO4J_PASSWORD, the admin secret.
var adminChannel = []string{"lambda:InvokeFunction", "secretsmanager:GetSecretValue"}

// with is a copy of base with more actions.
func with(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}

// stackOps are the commands that make, change or delete stacks, and the CloudFormation
// handlers whose permissions they need (CloudFormation acts with the caller's credentials).
var stackOps = map[string][]string{
	"create cluster": {"create", "read", "delete"}, // delete: a rolled-back stack, a Ctrl-C rollback
	"update cluster": {"create", "read", "update", "delete"},
	// they apply the config as update does: whatever this neo4jctl's templates change rides along
	"stop cluster": {"create", "read", "update", "delete"}, "start cluster": {"create", "read", "update", "delete"},
	"scale replicas": {"create", "read", "update", "delete"}, "reset-data cluster": {"create", "read", "update", "delete"},
	"upgrade cluster": {"create", "read", "update", "delete"}, "scale cores": {"create", "read", "update", "delete"},
	"delete cluster": {"read", "delete"},
}

// deployExtras are what CloudFormation needs of the caller beyond the resources' handlers:
// the SSM parameter types of the templates (the AMI) and the custom resource's function.
var deployExtras = []string{"ssm:GetParameters", "lambda:InvokeFunction"}
