package stack

import (
	"fmt"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// Logical ids of the shared stack that the tests and the engine may name.
const (
	sharedKey            = "Key"
	sharedBucket         = "Bucket"
	sharedAdminSecret    = "AdminSecret"
	sharedROSecret       = "ReadOnlySecret"
	sharedRWSecret       = "ReadWriteSecret"
	sharedMembersSG      = "MembersSecurityGroup"
	sharedInstanceSG     = "InstanceSecurityGroup"
	sharedBackupSG       = "BackupSecurityGroup"
	sharedLambdaSG       = "LambdaSecurityGroup"
	sharedNamespace      = "Namespace"
	sharedECSCluster     = "Cluster"
	sharedLogGroup       = "LogGroup"
	sharedLambdaLogs     = "LambdaLogGroup"
	sharedTopic          = "AlarmTopic"
	sharedInstanceRole   = "InstanceRole"
	sharedTaskExecRole   = "TaskExecutionRole"
	sharedTaskRole       = "TaskRole" // the Neo4j members' task role
	sharedBackupTaskRole = "BackupTaskRole"
	sharedLambdaRole     = "LambdaRole"
	sharedSchedulerRole  = "SchedulerRole"
	sharedInfraRole      = "ECSInfrastructureRole"
)

func statement(actions []string, resources any, cond M) M {
	s := M{"Effect": "Allow", "Action": toAny(actions), "Resource": resources}
	if cond != nil {
		s["Condition"] = cond
	}
	return s
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// policyDoc is an IAM policy of the statements; nil statements (M(nil): one that does not
// apply to this config) are left out.
func policyDoc(stmts ...any) M {
	out := make([]any, 0, len(stmts))
	for _, st := range stmts {
		if m, ok := st.(M); st == nil || ok && m == nil {
			continue
		}
		out = append(out, st)
	}
	return M{"Version": "2012-10-17", "Statement": out}
}

func assumeRole(service string, cond M) M {
	s := M{"Effect": "Allow", "Principal": M{"Service": service}, "Action": "sts:AssumeRole"}
	if cond != nil {
		s["Condition"] = cond
	}
	return policyDoc(s)
}

func managed(name string) M { return Sub("arn:${AWS::Partition}:iam::aws:policy/" + name) }

// logGroupName is the CloudWatch Logs group of the Neo4j containers and backups.
func (b *builder) logGroupName() string { return naming.LogGroup(b.name) }

// keyAlias names the cluster's KMS key. Resources of the later stacks that take a key by
// name (the queues) use it: a plain string where an import would hide the key from the
// Control Tower rules that check the queue is encrypted.
func (b *builder) keyAlias() string { return "alias/neo4jctl/" + b.name }

// lambdaLogGroupName is the group of the agent's Lambda functions.
func (b *builder) lambdaLogGroupName() string { return naming.LambdaLogGroup(b.name) }

// dlqName is the dead-letter queue of the Lambda functions (operations stack).
func (b *builder) dlqName() string { return naming.StackPrefix(b.name) + "-lambda-dlq" }

// backupDLQName is the dead-letter queue of the backup schedules (operations stack).
func (b *builder) backupDLQName() string { return naming.StackPrefix(b.name) + "-backup-dlq" }

// backupFamilyFull and backupFamilyDiff are the task definition families of the backup tasks
// (operations stack); the scheduler role may run exactly these.
func (b *builder) backupFamilyFull() string   { return naming.BackupFamilyFull(b.name) }
func (b *builder) backupFamilyDiff() string   { return naming.BackupFamilyDiff(b.name) }
func (b *builder) backupFamilyVerify() string { return naming.BackupFamilyVerify(b.name) }
func (b *builder) backupFamilies() []string {
	return []string{b.backupFamilyFull(), b.backupFamilyDiff(), b.backupFamilyVerify()}
}

// secretRefs are the ARNs of the secrets of this cluster (made by the shared stack or adopted).
func (b *builder) secretRefs() []any {
	out := []any{b.secretArn(sharedAdminSecret)}
	if u := b.cfg.Users; u != nil {
		if u.ReadOnly != "" {
			out = append(out, b.secretArn(sharedROSecret))
		}
		if u.ReadWrite != "" {
			out = append(out, b.secretArn(sharedRWSecret))
		}
	}
	return out
}

// secretArn is the ARN of one secret of the shared stack: the adopted one when its
// existing-id parameter is set, else the stack's own.
func (b *builder) secretArn(id string) M {
	return If(condAdoptPrefix+id, Ref("Existing"+id+"Arn"), Ref(id))
}

// adoptionParameters declares the shared stack's existing-id parameters (params.go) and
// returns the create conditions of the key, the bucket and each secret by logical id, and
// the key's and the bucket's ARN and the bucket's name as the rest of the stack uses them.
func (b *builder) adoptionParameters(t *Template, params map[string]string) (creates map[string]string, keyArn, bucketArn, bucketName M) {
	a := b.in.Adopt
	creates = map[string]string{}
	creates[sharedKey], keyArn = adoptable(t, params, ParamExistingKMSKeyArn, sharedKey, `arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-z-]+`, a.KMSKeyArn,
		"KMS key an earlier cluster "+b.name+" kept (it encrypts the kept volumes and backups).", Ref(ParamExistingKMSKeyArn), GetAtt(sharedKey, "Arn"))
	creates[sharedBucket], bucketName = adoptable(t, params, ParamExistingBucketName, sharedBucket, `[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]`, a.BucketName,
		"Bucket (backups) an earlier cluster "+b.name+" kept.", Ref(ParamExistingBucketName), Ref(sharedBucket))
	bucketArn = If(condAdoptPrefix+sharedBucket, Sub("arn:${AWS::Partition}:s3:::${"+ParamExistingBucketName+"}"), GetAtt(sharedBucket, "Arn"))
	secretPattern := `arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+`
	secret := func(id, param, value, name string) {
		creates[id], _ = adoptable(t, params, param, id, secretPattern, value,
			"Secret "+name+" an earlier cluster "+b.name+" kept (its name is fixed: adopt it, it cannot be made again).", Ref(param), Ref(id))
	}
	secret(sharedAdminSecret, ParamExistingAdminSecretArn, a.AdminSecretArn, naming.AdminSecret(b.name))
	if u := b.cfg.Users; u != nil {
		if u.ReadOnly != "" {
			secret(sharedROSecret, ParamExistingReadOnlySecretArn, a.ReadOnlySecretArn, naming.ReadOnlySecret(b.name))
		}
		if u.ReadWrite != "" {
			secret(sharedRWSecret, ParamExistingReadWriteSecretArn, a.ReadWriteSecretArn, naming.ReadWriteSecret(b.name))
		}
	}
	return creates, keyArn, bucketArn, bucketName
}

func (b *builder) shared() (*Template, map[string]string) {
	cfg := b.cfg
	t := NewTemplate(fmt.Sprintf("neo4jctl %s: shared resources (bucket, KMS key, secrets, security groups, IAM, Cloud Map namespace, ECS cluster, logs, alarm topic)", b.name))
	params := map[string]string{}
	exp := func(out string, v any, desc string) { t.Output(out, v, desc, naming.Export(b.name, out)) }
	creates, keyArn, bucketArn, bucketName := b.adoptionParameters(t, params)
	logArnPattern := Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/neo4jctl/" + b.name + "*")

	// KMS key: retained, because it encrypts the retained volumes and backups.
	conditional(Retain(t.Add(sharedKey, "AWS::KMS::Key", M{
		"Description":       "neo4jctl " + b.name + ": volumes, bucket, secrets, logs, topic",
		"EnableKeyRotation": true,
		"KeyPolicy": policyDoc(
			M{"Sid": "AccountAdministers", "Effect": "Allow", "Principal": M{"AWS": Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")}, "Action": "kms:*", "Resource": "*"},
			M{"Sid": "CloudWatchLogs", "Effect": "Allow", "Principal": M{"Service": Sub("logs.${AWS::Region}.amazonaws.com")},
				"Action":    L{"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"},
				"Resource":  "*",
				"Condition": M{"ArnLike": M{"kms:EncryptionContext:aws:logs:arn": logArnPattern}}},
			M{"Sid": "CloudWatchAlarmsToTopic", "Effect": "Allow", "Principal": M{"Service": "cloudwatch.amazonaws.com"},
				"Action": L{"kms:Decrypt", "kms:GenerateDataKey*"}, "Resource": "*"},
			// Grants only for AWS resources (EBS attaching the member volumes, Lambda, Secrets
			// Manager) or made by AWS services: nobody, the account's own principals included,
			// can hand this key to someone else through a grant (Control Tower CT.KMS.PR.3).
			M{"Sid": "GrantsOnlyForAWSResources", "Effect": "Deny", "Principal": M{"AWS": "*"}, "Action": L{"kms:CreateGrant"}, "Resource": "*",
				"Condition": M{"BoolIfExists": M{"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}}},
		),
		"Tags": b.resourceTags(),
	}, true)), creates[sharedKey])
	t.Add("KeyAlias", "AWS::KMS::Alias", M{"AliasName": b.keyAlias(), "TargetKeyId": keyArn}, false)

	// Bucket: backups, seeds, the agent bundle.
	backupRule := M{
		"Id": "backups-backstop", "Status": "Enabled", "Prefix": naming.BackupPrefix,
		// The agent prunes whole full+differential chains older than backup.retention.days;
		// this rule is only a backstop, late enough never to cut into a live chain.
		"ExpirationInDays":               cfg.Backup.Retention.Days + 31,
		"NoncurrentVersionExpiration":    M{"NoncurrentDays": 7},
		"AbortIncompleteMultipartUpload": M{"DaysAfterInitiation": 7},
	}
	if cfg.Backup.Retention.Days == 0 {
		delete(backupRule, "ExpirationInDays")
	}
	bucket := Retain(t.Add(sharedBucket, "AWS::S3::Bucket", M{
		"BucketEncryption": M{"ServerSideEncryptionConfiguration": L{M{
			"ServerSideEncryptionByDefault": M{"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": keyArn},
			"BucketKeyEnabled":              true,
		}}},
		"VersioningConfiguration":        M{"Status": "Enabled"},
		"PublicAccessBlockConfiguration": M{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
		"OwnershipControls":              M{"Rules": L{M{"ObjectOwnership": "BucketOwnerEnforced"}}},
		// object events (backups written, pruned) go to the account's EventBridge bus, for
		// rules of the user's own; free until a rule matches (Control Tower CT.S3.PR.4)
		"NotificationConfiguration": M{"EventBridgeConfiguration": M{"EventBridgeEnabled": true}},
		"LifecycleConfiguration": M{"Rules": L{
			backupRule,
			M{"Id": "noncurrent", "Status": "Enabled", "NoncurrentVersionExpiration": M{"NoncurrentDays": 30},
				"AbortIncompleteMultipartUpload": M{"DaysAfterInitiation": 7}},
		}},
		"Tags": b.resourceTags(),
	}, true))
	conditional(bucket, creates[sharedBucket])
	b.hardenBucket(t, bucket, keyArn, bucketArn)
	policy := t.Add("BucketPolicy", "AWS::S3::BucketPolicy", M{
		"Bucket": bucketName,
		"PolicyDocument": policyDoc(M{
			"Sid": "TLSOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
			"Resource":  L{bucketArn, Join("", bucketArn, "/*")},
			"Condition": M{"Bool": M{"aws:SecureTransport": "false"}},
		}),
	}, false)
	GuardSuppress(policy, "s3_bucket_policy_ssl_requests_only_check", "The policy denies every request without TLS "+
		"(aws:SecureTransport false) on the bucket and its objects; the bucket ARN is an Fn::If between this stack's bucket "+
		"and one kept from an earlier cluster (adoption), which the rule cannot resolve in a template.")

	// Secrets: generated by Secrets Manager, never seen by neo4jctl or the template.
	secret := func(id, name, user, desc string) {
		// Rotation is not configured: it needs a Neo4j-aware rotation function (ALTER USER
		// on the cluster); neo4jctl rotates through its operations Lambda on demand.
		// Retained with the data they open: a kept volume comes back with its users'
		// passwords. Its name is fixed, so a re-create must adopt it (ExistingXSecretArn);
		// delete --purge-data deletes it (force, no recovery window, so the name is free).
		conditional(Retain(t.Add(id, "AWS::SecretsManager::Secret", M{
			"Name":        name,
			"Description": desc,
			"KmsKeyId":    keyArn,
			"GenerateSecretString": M{
				"SecretStringTemplate": fmt.Sprintf(`{"username":%q}`, user),
				"GenerateStringKey":    "password",
				"PasswordLength":       32,
				"ExcludePunctuation":   true,
			},
			"Tags": b.resourceTags(),
		}, true)), creates[id])
	}
	secret(sharedAdminSecret, naming.AdminSecret(b.name), "neo4j", "Neo4j admin user (neo4j) of "+b.name)
	exp(OutputAdminSecretArn, b.secretArn(sharedAdminSecret), "Admin secret ARN (the value stays in Secrets Manager)")
	if u := cfg.Users; u != nil {
		if u.ReadOnly != "" {
			secret(sharedROSecret, naming.ReadOnlySecret(b.name), u.ReadOnly, "Neo4j read-only user of "+b.name)
			exp(OutputReadOnlySecretArn, b.secretArn(sharedROSecret), "Read-only user secret ARN")
		}
		if u.ReadWrite != "" {
			secret(sharedRWSecret, naming.ReadWriteSecret(b.name), u.ReadWrite, "Neo4j read-write user of "+b.name)
			exp(OutputReadWriteSecretArn, b.secretArn(sharedRWSecret), "Read-write user secret ARN")
		}
	}

	b.securityGroups(t)
	b.roles(t, keyArn, bucketArn)
	if cfg.RotatesPasswords() {
		b.rotationRole(t, keyArn)
	}

	// Cloud Map namespace.
	var nsID any = cfg.Network.NamespaceID
	if cfg.Network.NamespaceID == "" {
		t.Add(sharedNamespace, "AWS::ServiceDiscovery::PrivateDnsNamespace", M{
			"Name": cfg.Namespace(), "Vpc": b.vpcID(),
			"Description": "neo4jctl " + b.name + ": member names core-N, core and replica records",
			"Tags":        b.resourceTags(),
		}, true)
		nsID = GetAtt(sharedNamespace, "Id")
	}
	exp(OutputNamespaceID, nsID, "Cloud Map namespace id")
	exp(OutputNamespaceName, cfg.Namespace(), "Cloud Map namespace name")

	// ECS cluster.
	insights := "disabled"
	if cfg.Monitoring.ContainerInsights == nil || *cfg.Monitoring.ContainerInsights {
		insights = "enabled"
	}
	ecs := t.Add(sharedECSCluster, "AWS::ECS::Cluster", M{
		"ClusterName":     naming.ECSCluster(b.name),
		"ClusterSettings": L{M{"Name": "containerInsights", "Value": insights}},
		"Tags":            b.resourceTags(),
	}, true)
	if insights == "disabled" {
		Skip(ecs, "CKV_AWS_65", "Container Insights switched off in cluster.yaml (monitoring.containerInsights: false).")
		GuardSuppress(ecs, "ecs_container_insights_enabled_check", "Container Insights switched off in cluster.yaml "+
			"(monitoring.containerInsights: false); the core task-count alarms, which read it, are left out too.")
	}
	exp(OutputECSCluster, Ref(sharedECSCluster), "ECS cluster name")
	exp(OutputECSClusterArn, GetAtt(sharedECSCluster, "Arn"), "ECS cluster ARN")

	// Logs.
	for _, lg := range []struct{ id, name, out string }{
		{sharedLogGroup, b.logGroupName(), OutputLogGroup},
		{sharedLambdaLogs, b.lambdaLogGroupName(), OutputLambdaLogGroup},
	} {
		r := t.Add(lg.id, "AWS::Logs::LogGroup", M{
			"LogGroupName": lg.name, "RetentionInDays": cfg.Monitoring.LogRetentionDays, "KmsKeyId": keyArn,
			"Tags": b.resourceTags(),
		}, lg.id == sharedLogGroup)
		GuardSuppress(r, "cloudwatch_log_group_encrypted_check", "Encrypted with the cluster's KMS key: KmsKeyId is an "+
			"Fn::If between the key this stack makes and one kept from an earlier cluster (adoption), which the rule cannot "+
			"resolve in a template.")
		if days := cfg.Monitoring.LogRetentionDays; days < 365 {
			GuardSuppress(r, "cloudwatch_log_group_retention_period_check", fmt.Sprintf("monitoring.logRetentionDays is %d days "+
				"(neo4jctl's default, 30, keeps a month of Neo4j and Lambda logs for troubleshooting; they are not audit records). "+
				"Set it to 365 or more in cluster.yaml to keep them a year and meet CT.CLOUDWATCH.PR.2.", days))
		}
		exp(lg.out, Ref(lg.id), "CloudWatch Logs group")
	}

	// Alarm topic.
	if cfg.Monitoring.SNSTopicARN != "" {
		exp(OutputAlarmTopicArn, cfg.Monitoring.SNSTopicARN, "Alarm topic (given in cluster.yaml)")
	} else {
		t.Add(sharedTopic, "AWS::SNS::Topic", M{
			"TopicName":      naming.StackPrefix(b.name) + "-alarms",
			"KmsMasterKeyId": keyArn,
			"Tags":           b.resourceTags(),
		}, true)
		if cfg.Monitoring.AlarmEmail != "" {
			t.Add("AlarmEmailSubscription", "AWS::SNS::Subscription", M{
				"TopicArn": Ref(sharedTopic), "Protocol": "email", "Endpoint": cfg.Monitoring.AlarmEmail,
			}, false)
		}
		exp(OutputAlarmTopicArn, Ref(sharedTopic), "Alarm topic ARN")
	}

	exp(OutputBucketName, bucketName, "Cluster bucket (backups, seeds, agent bundle)")
	exp(OutputBucketArn, bucketArn, "Cluster bucket ARN")
	exp(OutputKMSKeyArn, keyArn, "KMS key of the cluster")
	return t, params
}

// port rules ------------------------------------------------------------------------------

func (b *builder) securityGroups(t *Template) {
	cfg := b.cfg
	exp := func(out string, v any, desc string) { t.Output(out, v, desc, naming.Export(b.name, out)) }
	https := M{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0", "Description": "HTTPS to AWS APIs (ECR, S3, Secrets Manager, CloudWatch) through NAT or endpoints"}
	sg := func(id, desc string) {
		t.Add(id, "AWS::EC2::SecurityGroup", M{
			"GroupDescription":    desc,
			"VpcId":               b.vpcID(),
			"SecurityGroupEgress": L{https},
			"Tags":                append(b.resourceTags(), M{"Key": "Name", "Value": naming.StackPrefix(b.name) + "-" + strings.ToLower(strings.TrimSuffix(id, "SecurityGroup"))}),
		}, true)
	}
	sg(sharedMembersSG, "Neo4j members (cores and replicas) of "+b.name)
	sg(sharedInstanceSG, "ECS container instances of "+b.name+" (no inbound)")
	sg(sharedBackupSG, "Backup tasks of "+b.name)
	sg(sharedLambdaSG, "neo4jctl Lambda functions of "+b.name)

	n := 0
	ingress := func(port int, src M, desc string) {
		n++
		r := M{"GroupId": Ref(sharedMembersSG), "IpProtocol": "tcp", "FromPort": port, "ToPort": port, "Description": desc}
		for k, v := range src {
			r[k] = v
		}
		t.Add(fmt.Sprintf("MembersIngress%02d", n), "AWS::EC2::SecurityGroupIngress", r, false)
	}
	egress := func(group string, port int, dest string, desc string) {
		n++
		t.Add(fmt.Sprintf("Egress%02d", n), "AWS::EC2::SecurityGroupEgress", M{
			"GroupId": Ref(group), "IpProtocol": "tcp", "FromPort": port, "ToPort": port,
			"DestinationSecurityGroupId": Ref(dest), "Description": desc,
		}, false)
	}
	self := M{"SourceSecurityGroupId": Ref(sharedMembersSG)}
	for _, p := range []struct {
		port int
		what string
	}{{naming.PortDiscovery, "discovery v2"}, {naming.PortRaft, "raft"}, {naming.PortRouting, "server-side routing"}, {naming.PortBolt, "bolt between members"}} {
		ingress(p.port, self, fmt.Sprintf("Neo4j %s between members", p.what))
		egress(sharedMembersSG, p.port, sharedMembersSG, fmt.Sprintf("Neo4j %s between members", p.what))
	}
	ingress(naming.PortBackup, M{"SourceSecurityGroupId": Ref(sharedBackupSG)}, "Neo4j online backup from the backup task")
	egress(sharedBackupSG, naming.PortBackup, sharedMembersSG, "Neo4j online backup to members")
	ingress(naming.PortBolt, M{"SourceSecurityGroupId": Ref(sharedLambdaSG)}, "Bolt from the neo4jctl operations Lambda")
	egress(sharedLambdaSG, naming.PortBolt, sharedMembersSG, "Bolt to the members")
	clientPorts := []struct {
		port int
		what string
	}{{naming.PortBolt, "Bolt"}, {naming.PortHTTP, "HTTP"}, {naming.PortHTTPS, "HTTPS"}}
	for _, cidr := range cfg.Network.ClientAccess.CIDRs {
		src := M{"CidrIp": cidr}
		if strings.Contains(cidr, ":") { // validation accepts IPv6 networks too
			src = M{"CidrIpv6": cidr}
		}
		for _, p := range clientPorts {
			ingress(p.port, src, fmt.Sprintf("Neo4j %s from client network %s", p.what, cidr))
		}
	}
	for _, g := range cfg.Network.ClientAccess.SecurityGroups {
		for _, p := range clientPorts {
			ingress(p.port, M{"SourceSecurityGroupId": g}, fmt.Sprintf("Neo4j %s from client group %s", p.what, g))
		}
	}
	exp(OutputMembersSecurityGroup, Ref(sharedMembersSG), "Security group of the Neo4j tasks")
	exp(OutputInstanceSecurityGroup, Ref(sharedInstanceSG), "Security group of the container instances")
	exp(OutputBackupSecurityGroup, Ref(sharedBackupSG), "Security group of the backup task")
	exp(OutputLambdaSecurityGroup, Ref(sharedLambdaSG), "Security group of the Lambda functions")
}

// IAM -------------------------------------------------------------------------------------

func (b *builder) roles(t *Template, keyArn, bucketArn any) {
	exp := func(out string, v any, desc string) { t.Output(out, v, desc, naming.Export(b.name, out)) }
	tagCond := M{"StringEquals": M{"aws:ResourceTag/" + naming.TagCluster: b.name}}
	account := M{"StringEquals": M{"aws:SourceAccount": Sub("${AWS::AccountId}")}}
	clusterArn := GetAtt(sharedECSCluster, "Arn")
	kmsUse := statement([]string{"kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"}, keyArn, nil)
	arn := func(rest string) M { return Sub("arn:${AWS::Partition}:" + rest) }

	// Container instances: the ECS agent, SSM Session Manager, and what a core member's boot
	// does (hostboot.go): fetch the agent bundle, attach this cluster's data volumes (the data
	// role tag: never a root volume of another instance), write the member's boot log stream,
	// and mark its own instance unhealthy when that fails.
	t.Add(sharedInstanceRole, "AWS::IAM::Role", M{
		"Description":              "neo4jctl " + b.name + ": ECS container instances",
		"AssumeRolePolicyDocument": assumeRole("ec2.amazonaws.com", nil),
		"ManagedPolicyArns": L{
			managed("service-role/AmazonEC2ContainerServiceforEC2Role"),
			managed("AmazonSSMManagedInstanceCore"),
		},
		"Policies": L{M{"PolicyName": "attach-member-volume", "PolicyDocument": policyDoc(
			statement([]string{"ec2:DescribeVolumes"}, "*", nil),
			statement([]string{"ec2:AttachVolume"}, arn("ec2:${AWS::Region}:${AWS::AccountId}:volume/*"),
				M{"StringEquals": M{"aws:ResourceTag/" + naming.TagCluster: b.name, "aws:ResourceTag/" + naming.TagRole: naming.TagRoleData}}),
			statement([]string{"ec2:AttachVolume"}, arn("ec2:${AWS::Region}:${AWS::AccountId}:instance/*"), tagCond),
			statement([]string{"kms:CreateGrant"}, keyArn, M{"Bool": M{"kms:GrantIsForAWSResource": "true"}}),
			statement([]string{"kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"}, keyArn, nil),
			statement([]string{"s3:GetObject"}, Join("", bucketArn, "/"+naming.AgentPrefix+"*"), nil),
			statement([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, GetAtt(sharedLogGroup, "Arn"), nil),
			statement([]string{"autoscaling:SetInstanceHealth"},
				arn("autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:*:autoScalingGroupName/"+naming.StackPrefix(b.name)+"-core-*"),
				M{"StringEquals": M{"aws:ResourceTag/" + naming.TagCluster: b.name}}),
		)}},
		"Tags": b.resourceTags(),
	}, true)
	t.Add("InstanceProfile", "AWS::IAM::InstanceProfile", M{"Roles": L{Ref(sharedInstanceRole)}}, false)
	exp(OutputInstanceProfile, Ref("InstanceProfile"), "Instance profile of the container instances")
	exp(OutputInstanceRoleArn, GetAtt(sharedInstanceRole, "Arn"), "Role of the container instances")

	// Task execution: pull the image, read this cluster's secrets, write logs.
	t.Add(sharedTaskExecRole, "AWS::IAM::Role", M{
		"Description":              "neo4jctl " + b.name + ": ECS task execution (image, secrets, logs)",
		"AssumeRolePolicyDocument": assumeRole("ecs-tasks.amazonaws.com", account),
		"ManagedPolicyArns":        L{managed("service-role/AmazonECSTaskExecutionRolePolicy")},
		"Policies": L{M{"PolicyName": "cluster-secrets", "PolicyDocument": policyDoc(
			statement([]string{"secretsmanager:GetSecretValue"}, b.secretRefs(), nil),
			statement([]string{"kms:Decrypt"}, keyArn, nil),
		)}},
		"Tags": b.resourceTags(),
	}, true)
	exp(OutputTaskExecutionRoleArn, GetAtt(sharedTaskExecRole, "Arn"), "ECS task execution role")

	// Neo4j members (cores and replicas) only read backups: an online restore seeds from
	// backups/ (seedURI), a new cluster from restore.from. The core's post-start worker
	// publishes the disk metric, ships query/debug logs to the cluster log group and writes
	// the restore-done record (naming.RestoreDoneKey), its only write to the bucket.
	// ListBucket is not narrowed with s3:prefix: HeadBucket, which S3 clients use to check a
	// bucket, needs it without a prefix. Objects are scoped.
	backups := Join("", bucketArn, "/"+naming.BackupPrefix+"*")
	memberStmts := []any{
		statement([]string{"s3:ListBucket", "s3:GetBucketLocation"}, bucketArn, nil),
		statement([]string{"s3:GetObject"}, backups, nil),
		// the first core's worker records what it seeded from restore.from, once per cluster
		statement([]string{"s3:GetObject", "s3:PutObject"}, Join("", bucketArn, "/"+naming.RestoreDoneKey), nil),
		kmsUse,
		statement([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, GetAtt(sharedLogGroup, "Arn"), nil),
		// PutMetricData has no resource; the namespace condition scopes it
		statement([]string{"cloudwatch:PutMetricData"}, "*", M{"StringEquals": M{"cloudwatch:namespace": naming.MetricNamespace}}),
		// the first core's worker follows the replicas service's desired count (secondaries
		// topology); only that one service of this cluster, read-only
		statement([]string{"ecs:DescribeServices"},
			arn("ecs:${AWS::Region}:${AWS::AccountId}:service/"+naming.ECSCluster(b.name)+"/"+naming.ReplicasService), nil),
	}
	if b.cfg.RotatesPasswords() {
		// the first core's worker reads the passwords' current versions: rotation changes
		// them after ECS injected them into the container
		memberStmts = append(memberStmts, statement([]string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, b.secretRefs(), nil))
	}
	if bkt, path, ok := b.restoreSource(); ok {
		memberStmts = append(memberStmts,
			statement([]string{"s3:ListBucket", "s3:GetBucketLocation"}, arn("s3:::"+bkt), nil),
			statement([]string{"s3:GetObject"}, arn("s3:::"+bkt+"/"+path+"*"), nil),
		)
	}
	t.Add(sharedTaskRole, "AWS::IAM::Role", M{
		"Description":              "neo4jctl " + b.name + ": Neo4j members (read backups and the restore source, metrics, log shipping)",
		"AssumeRolePolicyDocument": assumeRole("ecs-tasks.amazonaws.com", account),
		"Policies":                 L{M{"PolicyName": "neo4j-member", "PolicyDocument": policyDoc(memberStmts...)}},
		"Tags":                     b.resourceTags(),
	}, true)
	exp(OutputTaskRoleArn, GetAtt(sharedTaskRole, "Arn"), "ECS task role of the Neo4j members (read-only on backups)")

	// The backup task alone writes and prunes backups/ (chain-aware retention in the agent).
	t.Add(sharedBackupTaskRole, "AWS::IAM::Role", M{
		"Description":              "neo4jctl " + b.name + ": backup task (writes and prunes backups/)",
		"AssumeRolePolicyDocument": assumeRole("ecs-tasks.amazonaws.com", account),
		"Policies": L{M{"PolicyName": "write-backups", "PolicyDocument": policyDoc(
			statement([]string{"s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"}, bucketArn, nil),
			statement([]string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}, backups, nil),
			kmsUse,
			b.objectLockRead(backups),
		)}},
		"Tags": b.resourceTags(),
	}, true)
	exp(OutputBackupTaskRoleArn, GetAtt(sharedBackupTaskRole, "Arn"), "ECS task role of the backup task")

	// Lambdas: Cloud Map records (and the Route 53 calls Cloud Map makes as the caller when it
	// registers an instance in a DNS namespace), ECS reads, the secrets, the DLQ.
	hostedZone := arn("route53:::hostedzone/*")
	if b.cfg.Network.NamespaceID == "" {
		hostedZone = Join("", Sub("arn:${AWS::Partition}:route53:::hostedzone/"), GetAtt(sharedNamespace, "HostedZoneId"))
	}
	t.Add(sharedLambdaRole, "AWS::IAM::Role", M{
		"Description":              "neo4jctl " + b.name + ": DNS sync, operations and cleanup functions",
		"AssumeRolePolicyDocument": assumeRole("lambda.amazonaws.com", account),
		"ManagedPolicyArns":        L{managed("service-role/AWSLambdaVPCAccessExecutionRole")},
		"Policies": L{M{"PolicyName": "cluster-operations", "PolicyDocument": policyDoc(
			statement([]string{"servicediscovery:RegisterInstance", "servicediscovery:DeregisterInstance", "servicediscovery:ListInstances", "servicediscovery:GetInstance", "servicediscovery:GetService"},
				arn("servicediscovery:${AWS::Region}:${AWS::AccountId}:service/*"), tagCond),
			statement([]string{"servicediscovery:GetOperation", "servicediscovery:DiscoverInstances", "servicediscovery:GetNamespace", "servicediscovery:ListServices"}, "*", nil),
			// Cloud Map's RegisterInstance/DeregisterInstance act on Route 53 as the caller;
			// ListHostedZonesByName takes no resource. No health checks: the services have none.
			statement([]string{"route53:ChangeResourceRecordSets", "route53:GetHostedZone", "route53:ListResourceRecordSets"}, hostedZone, nil),
			statement([]string{"route53:ListHostedZonesByName"}, "*", nil),
			statement([]string{"ecs:ListTasks", "ecs:DescribeTasks", "ecs:DescribeServices", "ecs:ListServices", "ecs:DescribeContainerInstances", "ecs:ListContainerInstances"}, "*",
				M{"ArnEquals": M{"ecs:cluster": clusterArn}}),
			statement([]string{"secretsmanager:GetSecretValue"}, b.secretRefs(), nil),
			kmsUse,
			statement([]string{"sqs:SendMessage"}, arn("sqs:${AWS::Region}:${AWS::AccountId}:"+b.dlqName()), nil),
			statement([]string{"s3:ListBucket"}, bucketArn, nil),
			statement([]string{"s3:GetObject"}, Join("", bucketArn, "/*"), nil),
		)}},
		"Tags": b.resourceTags(),
	}, true)
	exp(OutputLambdaRoleArn, GetAtt(sharedLambdaRole, "Arn"), "Role of the Lambda functions")

	// ECS creates and deletes the backup tasks' scratch EBS volumes with this role (the
	// managed policy is limited to volumes ECS creates and tags); the volumes are encrypted
	// with the cluster key.
	t.Add(sharedInfraRole, "AWS::IAM::Role", M{
		"Description":              "neo4jctl " + b.name + ": ECS infrastructure role (backup scratch volumes)",
		"AssumeRolePolicyDocument": assumeRole("ecs.amazonaws.com", account),
		"ManagedPolicyArns":        L{managed("service-role/AmazonECSInfrastructureRolePolicyForVolumes")},
		"Policies": L{M{"PolicyName": "scratch-volume-key", "PolicyDocument": policyDoc(
			statement([]string{"kms:CreateGrant"}, keyArn, M{"Bool": M{"kms:GrantIsForAWSResource": "true"}}),
			statement([]string{"kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"}, keyArn, nil),
		)}},
		"Tags": b.resourceTags(),
	}, true)
	exp(OutputECSInfrastructureRoleArn, GetAtt(sharedInfraRole, "Arn"), "ECS infrastructure role (backup scratch volumes)")

	// EventBridge Scheduler: run the backup and verify tasks (their families, exactly) with
	// their scratch volumes, and dead-letter what it could not start into the (cluster-key
	// encrypted) backup DLQ.
	var families []any
	for _, f := range b.backupFamilies() {
		families = append(families, arn("ecs:${AWS::Region}:${AWS::AccountId}:task-definition/"+f+":*"))
	}
	t.Add(sharedSchedulerRole, "AWS::IAM::Role", M{
		"Description":              "neo4jctl " + b.name + ": EventBridge Scheduler runs the backup task",
		"AssumeRolePolicyDocument": assumeRole("scheduler.amazonaws.com", account),
		"Policies": L{M{"PolicyName": "run-backup-task", "PolicyDocument": policyDoc(
			statement([]string{"ecs:RunTask"}, families, M{"ArnEquals": M{"ecs:cluster": clusterArn}}),
			statement([]string{"iam:PassRole"}, L{GetAtt(sharedTaskExecRole, "Arn"), GetAtt(sharedBackupTaskRole, "Arn")},
				M{"StringEquals": M{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
			statement([]string{"iam:PassRole"}, L{GetAtt(sharedInfraRole, "Arn")},
				M{"StringEquals": M{"iam:PassedToService": "ecs.amazonaws.com"}}),
			statement([]string{"sqs:SendMessage"}, arn("sqs:${AWS::Region}:${AWS::AccountId}:"+b.backupDLQName()), nil),
			statement([]string{"kms:Decrypt", "kms:GenerateDataKey"}, keyArn, nil),
		)}},
		"Tags": b.resourceTags(),
	}, true)
	exp(OutputSchedulerRoleArn, GetAtt(sharedSchedulerRole, "Arn"), "Role of the backup schedules")
}

// restoreSource is the bucket and key prefix of restore.from (s3://bucket/path), which may be
// a bucket of another cluster or account.
func (b *builder) restoreSource() (bucket, prefix string, ok bool) {
	r := b.cfg.Restore
	if r == nil || !strings.HasPrefix(r.From, "s3://") {
		return "", "", false
	}
	bucket, prefix, _ = strings.Cut(strings.TrimPrefix(r.From, "s3://"), "/")
	return bucket, prefix, bucket != ""
}
