package stack

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// lambdaArch picks the Lambda architecture: arm64 (cheaper) unless only an amd64 bundle was
// given. It returns the agent arch name and the Lambda one.
func (b *builder) lambdaArch() (string, string) {
	if _, ok := b.in.AgentCodeKeys["arm64"]; !ok {
		if _, ok := b.in.AgentCodeKeys["amd64"]; ok {
			return "amd64", "x86_64"
		}
	}
	return "arm64", "arm64"
}

func (b *builder) agentKey(arch string) string {
	if k := b.in.AgentCodeKeys[arch]; k != "" {
		return k
	}
	return naming.AgentKey(arch, strings.Repeat("0", 64))
}

// Logical ids of the operations stack.
const (
	opsDNSSync      = "DNSSyncFunction"
	opsOperations   = "OperationsFunction"
	opsCleanup      = "CleanupFunction"
	opsCores        = "CoresDiscovery"
	opsReplicas     = "ReplicasDiscovery"
	opsDLQ          = "DeadLetterQueue"
	opsBackupFull   = "BackupFullTask"
	opsBackupDiff   = "BackupDifferentialTask"
	opsBackupVerify = "BackupVerifyTask"
	opsBackupDLQ    = "BackupDeadLetterQueue"
	opsTaskStateEvt = "TaskStateRule"
	opsSyncSchedule = "DNSSyncSchedule"
)

// guardLambdaVPC says why a function does not pass Control Tower's CT.LAMBDA.PR.3 (functions
// in a VPC).
func guardLambdaVPC(fn M, inVPC bool) {
	if inVPC {
		GuardSuppress(fn, "lambda_inside_vpc_check", "The function is in the VPC: its SecurityGroupIds (and, in a VPC "+
			"neo4jctl made, its SubnetIds) are imports of the shared and vpc stacks (Fn::ImportValue), which the rule "+
			"cannot resolve in a template; Control Tower's hook sees the resolved ids.")
		return
	}
	GuardSuppress(fn, "lambda_inside_vpc_check", "Outside the VPC on purpose: the function calls only AWS APIs (ECS, Cloud "+
		"Map) and CloudFormation's response URL, never Neo4j, so DNS records and stack deletion do not depend on the VPC's "+
		"NAT or endpoints. The functions that speak Bolt to Neo4j run in the VPC.")
}

// deadLetterQueue is a queue that only ever is a dead-letter queue (of the Lambda functions'
// asynchronous invocations, of the backup schedules): kept 14 days, encrypted with the
// cluster key by its alias, and marked as a dead-letter queue (RedriveAllowPolicy allowAll,
// SQS's default) so that Control Tower's CT.SQS.PR.1 does not ask it for one of its own.
func (b *builder) deadLetterQueue(name string) M {
	return M{
		"QueueName":              name,
		"KmsMasterKeyId":         b.keyAlias(),
		"MessageRetentionPeriod": 1209600,
		"RedriveAllowPolicy":     M{"redrivePermission": "allowAll"},
		"Tags":                   b.resourceTags(),
	}
}

func (b *builder) operations() (*Template, map[string]string) {
	cfg := b.cfg
	params := map[string]string{}
	t := NewTemplate(fmt.Sprintf("neo4jctl %s: operations (Lambda functions, DNS records, capacity providers, backups, alarms, dashboard)", b.name))
	arch, lambdaArch := b.lambdaArch()
	t.uploads = append(t.uploads, Upload{Key: b.agentKey(arch), Arch: arch, SHA256: b.hostAgentSHA256(arch)})
	topic := b.imp(OutputAlarmTopicArn)
	b.addOperationsRunParameters(t, params)

	// Capacity providers of all members (and replicas) are associated with the cluster here,
	// in one resource: ECS allows one association set per cluster, so it lives in the stack
	// created after every member and updated whenever members come or go. Services do not
	// depend on it: they place with the EC2 launch type and the member attribute.
	providers := L{}
	for _, m := range cfg.Members() {
		providers = append(providers, CapacityProviderName(cfg, m.Index))
	}
	if b.hasReplicas() {
		providers = append(providers, CapacityProviderName(cfg, 0))
	}
	t.Add("CapacityProviderAssociations", "AWS::ECS::ClusterCapacityProviderAssociations", M{
		"Cluster":                         b.imp(OutputECSCluster),
		"CapacityProviders":               providers,
		"DefaultCapacityProviderStrategy": L{},
	}, true)

	// Cloud Map records clients use: core.<ns> and replica.<ns>, kept by the DNS Lambda.
	disco := func(id, name, desc string) {
		t.Add(id, "AWS::ServiceDiscovery::Service", M{
			"Name":        name,
			"NamespaceId": b.imp(OutputNamespaceID),
			"Description": desc,
			"DnsConfig":   M{"DnsRecords": L{M{"Type": "A", "TTL": 10}}, "RoutingPolicy": "MULTIVALUE"},
			"Tags":        b.resourceTags(),
		}, true)
	}
	disco(opsCores, cfg.Network.Subdomains.Cores, "neo4jctl "+b.name+": live core members (neo4j://"+cfg.Network.Subdomains.Cores+"."+cfg.Namespace()+")")
	serviceIDs := L{GetAtt(opsCores, "Id")}
	if b.hasReplicas() {
		disco(opsReplicas, cfg.Network.Subdomains.Replicas, "neo4jctl "+b.name+": live replicas")
		serviceIDs = append(serviceIDs, GetAtt(opsReplicas, "Id"))
	}

	t.Add(opsDLQ, "AWS::SQS::Queue", b.deadLetterQueue(b.dlqName()), false)

	env := map[string]any{
		naming.EnvCluster:        b.name,
		naming.EnvECSCluster:     b.imp(OutputECSCluster),
		naming.EnvNamespace:      cfg.Namespace(),
		naming.EnvNamespaceID:    b.imp(OutputNamespaceID),
		naming.EnvCoresServiceID: GetAtt(opsCores, "Id"),
		naming.EnvAdminSecretARN: b.imp(OutputAdminSecretArn),
		naming.EnvBucket:         b.imp(OutputBucketName),
		naming.EnvCoreEndpoints:  strings.Join(b.coreEndpoints(), ","),
		naming.EnvCoreCount:      fmt.Sprint(cfg.Cores.Count),
		naming.EnvNeo4jVersion:   cfg.Neo4j.Version,
	}
	if b.hasReplicas() {
		env[naming.EnvReplicaServiceID] = GetAtt(opsReplicas, "Id")
	}
	if u := cfg.Users; u != nil {
		if u.ReadOnly != "" {
			env[naming.EnvReadOnlyARN] = b.imp(OutputReadOnlySecretArn)
		}
		if u.ReadWrite != "" {
			env[naming.EnvReadWriteARN] = b.imp(OutputReadWriteSecretArn)
		}
	}
	// Only the operations function speaks Bolt, so only it lives in the VPC; dns-sync and
	// cleanup call AWS APIs only. No reserved concurrency: reserving any fails in accounts whose
	// concurrency limit is still the new-account 10 (the unreserved pool must keep 10), and
	// dns-sync does not need it: every run reconciles the records to the live tasks from
	// scratch (idempotent), so an overlap at worst leaves a record that the next run (task
	// event or the 5-minute safety net) corrects.
	fn := func(id, handler, desc string, timeout int, extra map[string]any, inVPC bool) M {
		vars := M{naming.EnvHandler: handler, naming.EnvCluster: b.name}
		// each function gets what it reads: the cleanup function works from its custom
		// resource's ServiceIds alone, dns-sync from the ECS cluster and the Cloud Map
		// services (a 7-core template stays under the inline limit)
		for k, v := range env {
			switch handler {
			case naming.HandlerCleanup:
				continue
			case naming.HandlerDNSSync:
				if k != naming.EnvECSCluster && k != naming.EnvCoresServiceID && k != naming.EnvReplicaServiceID && k != naming.EnvNamespace {
					continue
				}
			}
			vars[k] = v
		}
		for k, v := range extra {
			vars[k] = v
		}
		p := M{
			"FunctionName":     naming.Function(b.name, handler),
			"Description":      "neo4jctl " + b.name + ": " + desc,
			"Runtime":          "provided.al2023",
			"Handler":          "bootstrap",
			"Architectures":    L{lambdaArch},
			"Code":             M{"S3Bucket": b.imp(OutputBucketName), "S3Key": b.agentKey(arch)},
			"Role":             b.imp(OutputLambdaRoleArn),
			"MemorySize":       256,
			"Timeout":          timeout,
			"Environment":      M{"Variables": vars},
			"KmsKeyArn":        b.imp(OutputKMSKeyArn),
			"DeadLetterConfig": M{"TargetArn": GetAtt(opsDLQ, "Arn")},
			"LoggingConfig":    M{"LogGroup": b.imp(OutputLambdaLogGroup), "LogFormat": "JSON"},
			"Tags":             b.resourceTags(),
		}
		if inVPC {
			p["VpcConfig"] = M{
				"SubnetIds":        b.privateSubnets(),
				"SecurityGroupIds": L{b.imp(OutputLambdaSecurityGroup)},
			}
		}
		r := t.Add(id, "AWS::Lambda::Function", p, true)
		Skip(r, "CKV_AWS_115", "No reserved concurrency on purpose: reserving any fails in new accounts (concurrency limit 10), and the function is invoked by neo4jctl, CloudFormation or a rate-limited EventBridge rule only.")
		if !inVPC {
			Skip(r, "CKV_AWS_117", "Calls only AWS APIs (ECS, Cloud Map, Route 53 through Cloud Map), never Neo4j: no VPC attachment needed, none wanted (no ENIs to clean up on deletion). Only the operations function, which speaks Bolt, is in the VPC.")
		}
		guardLambdaVPC(r, inVPC)
		return r
	}
	fn(opsDNSSync, naming.HandlerDNSSync, "keeps "+cfg.Network.Subdomains.Cores+"."+cfg.Namespace()+" equal to the live members", 60, nil, false)
	fn(opsOperations, naming.HandlerAdmin, "admin Cypher inside the VPC (status, servers, users, restore); short: long waits are the caller's polls", 60,
		map[string]any{naming.EnvBoltURI: b.boltURI()}, true)
	fn(opsCleanup, naming.HandlerCleanup, "empties the Cloud Map services on stack deletion", 300, nil, false)
	if cfg.RotatesPasswords() {
		// speaks Bolt (ALTER USER), so in the VPC
		b.rotationSchedules(t, fn(opsRotation, naming.HandlerRotation, "rotates the Neo4j credentials kept in Secrets Manager (ALTER USER)", 120,
			map[string]any{naming.EnvBoltURI: b.boltURI()}, true))
	}

	// Stack deletion: the cleanup custom resource deregisters what the DNS Lambda registered,
	// so that CloudFormation can delete the Cloud Map services afterwards.
	t.Add("Cleanup", "Custom::Neo4jctlCleanup", M{
		"ServiceToken":   GetAtt(opsCleanup, "Arn"),
		"ServiceTimeout": 300,
		"ServiceIds":     serviceIDs,
	}, true)

	// DNS sync on every ECS task state change of this cluster, and every 5 minutes. The rules
	// and their permissions depend on Cleanup so that, on stack deletion, they are gone before
	// Cleanup empties the records: nothing can register a task again afterwards.
	t.Add(opsTaskStateEvt, "AWS::Events::Rule", M{
		"Description": "neo4jctl " + b.name + ": ECS task state changes to the DNS sync",
		"EventPattern": M{
			"source":      L{"aws.ecs"},
			"detail-type": L{"ECS Task State Change"},
			"detail":      M{"clusterArn": L{b.imp(OutputECSClusterArn)}},
		},
		"State":   "ENABLED",
		"Targets": L{M{"Arn": GetAtt(opsDNSSync, "Arn"), "Id": "dns-sync", "RetryPolicy": M{"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 300}}},
	}, true)["DependsOn"] = L{"Cleanup"}
	t.Add(opsSyncSchedule, "AWS::Events::Rule", M{
		"Description":        "neo4jctl " + b.name + ": DNS sync safety net",
		"ScheduleExpression": "rate(5 minutes)",
		"State":              "ENABLED",
		"Targets":            L{M{"Arn": GetAtt(opsDNSSync, "Arn"), "Id": "dns-sync"}},
	}, false)["DependsOn"] = L{"Cleanup"}
	for _, rule := range []string{opsTaskStateEvt, opsSyncSchedule} {
		t.Add(rule+"Permission", "AWS::Lambda::Permission", M{
			"FunctionName":  Ref(opsDNSSync),
			"Action":        "lambda:InvokeFunction",
			"Principal":     "events.amazonaws.com",
			"SourceArn":     GetAtt(rule, "Arn"),
			"SourceAccount": Ref("AWS::AccountId"),
		}, false)["DependsOn"] = L{"Cleanup"}
	}

	if cfg.BackupsEnabled() {
		b.backups(t)
	}
	b.alarms(t, topic)
	if cfg.Monitoring.Dashboard == nil || *cfg.Monitoring.Dashboard {
		b.dashboard(t)
	}

	t.Output(OutputDNSSyncFunction, Ref(opsDNSSync), "DNS sync function", "")
	t.Output(OutputOperationsFunction, Ref(opsOperations), "Operations function (invoked by neo4jctl)", "")
	t.Output(OutputCleanupFunction, Ref(opsCleanup), "Cleanup function", "")
	t.Output(OutputEndpoint, b.boltURI(), "Client endpoint: the healthy core members", "")
	t.Output(OutputCoresServiceID, GetAtt(opsCores, "Id"), "Cloud Map service of "+cfg.Network.Subdomains.Cores+"."+cfg.Namespace(), "")
	if b.hasReplicas() {
		t.Output(OutputReplicasServiceID, GetAtt(opsReplicas, "Id"), "Cloud Map service of "+cfg.Network.Subdomains.Replicas+"."+cfg.Namespace(), "")
	}
	return t, params
}

// backupSize is a backup or verify task's Fargate size and its scratch volume.
type backupSize struct {
	CPU, MemoryMiB, ScratchGiB int
}

// backupSizes sizes the backup and verify tasks from the store, whose upper bound is the
// core volume: neo4j-admin backup to S3 first copies the store and transaction logs into
// its temp path (as large as the database), so the backup's scratch is the volume plus a
// tenth; a check downloads the artifact and expands it (up to twice the store). Both are
// EBS volumes ECS attaches at launch (Fargate's own storage stops at 200 GiB; gp3 at 16 TiB).
// CPU and memory grow with the store: the backup's page cache applies the pulled
// transactions, the checker caches the store off-heap.
func backupSizes(volumeGiB int) (backupTask, verifyTask backupSize) {
	type step struct{ upToGiB, cpu, mem int }
	steps := []step{{256, 1024, 4096}, {1024, 2048, 8192}, {4096, 4096, 16384}, {1 << 30, 8192, 32768}}
	i := 0
	for volumeGiB > steps[i].upToGiB {
		i++
	}
	j := min(i+1, len(steps)-1)
	verifyCPU, verifyMem := steps[j].cpu, steps[j].mem
	if i == len(steps)-1 {
		verifyCPU, verifyMem = 16384, 65536
	}
	backupTask = backupSize{steps[i].cpu, steps[i].mem, min(maxScratchGiB, volumeGiB+volumeGiB/10+10)}
	verifyTask = backupSize{verifyCPU, verifyMem, min(maxScratchGiB, 2*volumeGiB+10)}
	return backupTask, verifyTask
}

// maxScratchGiB is the largest gp3 volume.
const maxScratchGiB = 16384

// backupLogsVolume is the backup and verify tasks' writable /logs (neo4j-admin's log files):
// their root filesystem is read-only, they run as the neo4j user.
const backupLogsVolume = "logs"

// backups: the backup task definition (FULL for the full schedule, AUTO for the
// differential one: a differential before the first full backup must still back up) and
// the verify task definition, on Fargate, so a backup never competes with a member for
// memory; each gets a scratch EBS volume at launch. EventBridge Scheduler starts them
// through its universal RunTask target (the templated ECS target cannot pass a volume);
// `neo4jctl backup create|verify` start the same with the outputs below.
func (b *builder) backups(t *Template) {
	cfg := b.cfg
	var from []string
	if cfg.ReplicaCount() > 0 { // secondaries first
		from = append(from, fmt.Sprintf("%s.%s:%d", cfg.Network.Subdomains.Replicas, cfg.Namespace(), naming.PortBackup))
	}
	for _, h := range b.coreEndpoints() {
		from = append(from, fmt.Sprintf("%s:%d", h, naming.PortBackup))
	}
	cpuArch := "X86_64"
	if cfg.Arch() == "arm64" {
		cpuArch = "ARM64"
	}
	backupSz, verifySz := backupSizes(cfg.Cores.Volume.SizeGiB)
	task := func(id, family, command string, size backupSize, extra map[string]any) {
		env := map[string]any{
			"NEO4J_ACCEPT_LICENSE_AGREEMENT": cfg.Neo4j.AcceptLicense,
			naming.EnvRole:                   roleBackup,
			naming.EnvCluster:                b.name,
			naming.EnvNamespace:              cfg.Namespace(),
			naming.EnvNeo4jVersion:           cfg.Neo4j.Version,
			naming.EnvBucket:                 b.imp(OutputBucketName),
			naming.EnvBackupTo:               Join("", "s3://", b.imp(OutputBucketName), "/"+naming.BackupPrefix),
			naming.EnvScratchDir:             backup.ScratchPath,
			// the root filesystem is read-only: the agent's, neo4j-admin's and the JVM's
			// temporary files go to the scratch volume too
			"TMPDIR":            backup.ScratchPath,
			"JAVA_TOOL_OPTIONS": "-Djava.io.tmpdir=" + backup.ScratchPath,
			// neo4j-admin's JVM heap; the rest of the task's memory is page cache / off-heap
			"HEAP_SIZE":  fmt.Sprintf("%dm", size.MemoryMiB/4),
			"AWS_REGION": Ref("AWS::Region"),
		}
		for k, v := range extra {
			env[k] = v
		}
		t.Add(id, "AWS::ECS::TaskDefinition", M{
			"Family":                  family,
			"NetworkMode":             "awsvpc",
			"RequiresCompatibilities": L{"FARGATE"},
			"Cpu":                     fmt.Sprint(size.CPU),
			"Memory":                  fmt.Sprint(size.MemoryMiB),
			"RuntimePlatform":         M{"CpuArchitecture": cpuArch, "OperatingSystemFamily": "LINUX"},
			// the scratch EBS volume (ECS gives the task's non-root user write access to it),
			// and neo4j-admin's logs on a bind mount at the image's /logs, a VOLUME of the
			// image: ECS fills it from the image, world-writable as there
			"Volumes":          L{M{"Name": backup.ScratchVolume, "ConfiguredAtLaunch": true}, M{"Name": backupLogsVolume}},
			"ExecutionRoleArn": b.imp(OutputTaskExecutionRoleArn),
			"TaskRoleArn":      b.imp(OutputBackupTaskRoleArn),
			"ContainerDefinitions": L{M{
				"Name":                   backup.ContainerName,
				"Image":                  b.image(),
				"Essential":              true,
				"User":                   neo4jUser,
				"ReadonlyRootFilesystem": true,
				"Memory":                 size.MemoryMiB, // the whole task's: a hard limit
				"EntryPoint":             L{naming.AgentPath, command},
				"Environment":            envList(env),
				"MountPoints": L{
					M{"SourceVolume": backup.ScratchVolume, "ContainerPath": backup.ScratchPath, "ReadOnly": false},
					M{"SourceVolume": backupLogsVolume, "ContainerPath": "/logs", "ReadOnly": false},
				},
				"LogConfiguration": M{"LogDriver": "awslogs", "Options": M{
					"awslogs-group":         b.imp(OutputLogGroup),
					"awslogs-region":        Ref("AWS::Region"),
					"awslogs-stream-prefix": naming.LogStreamPrefixBackup,
				}},
			}},
			"Tags": b.resourceTags(),
		}, true)
	}
	backupEnv := func(typ string) map[string]any {
		env := map[string]any{
			naming.EnvBackupType:          typ,
			naming.EnvBackupRetentionDays: fmt.Sprint(cfg.Backup.Retention.Days),
			naming.EnvBackupDatabases:     strings.Join(cfg.Backup.Databases, ","),
			naming.EnvBackupFrom:          strings.Join(from, ","),
			naming.EnvBackupPageCache:     fmt.Sprintf("%dm", backupSz.MemoryMiB/2),
		}
		if lock := b.objectLockEnv(); lock != "" {
			env[naming.EnvBackupObjectLock] = lock
		}
		return env
	}
	task(opsBackupFull, b.backupFamilyFull(), "backup", backupSz, backupEnv("FULL"))
	task(opsBackupVerify, b.backupFamilyVerify(), "verify", verifySz, map[string]any{
		naming.EnvVerifyTarget:    naming.VerifyNewestFull,
		naming.EnvVerifyOffHeap:   fmt.Sprintf("%dm", verifySz.MemoryMiB/2),
		naming.EnvBackupDatabases: strings.Join(cfg.Backup.Databases, ","),
	})
	schedule := func(id, expr, taskID, what string, size backupSize) {
		t.Add(id, "AWS::Scheduler::Schedule", M{
			"Name":               naming.StackPrefix(b.name) + "-" + what,
			"Description":        "neo4jctl " + b.name + ": " + what,
			"ScheduleExpression": expr,
			"FlexibleTimeWindow": M{"Mode": "OFF"},
			"State":              Ref(ParamBackupSchedules),
			"Target": M{
				"Arn":              Sub("arn:${AWS::Partition}:scheduler:::aws-sdk:ecs:runTask"),
				"RoleArn":          b.imp(OutputSchedulerRoleArn),
				"Input":            b.runTaskInput(taskID, size, "neo4jctl-schedule"),
				"RetryPolicy":      M{"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
				"DeadLetterConfig": M{"Arn": GetAtt(opsBackupDLQ, "Arn")},
			},
		}, true)
	}
	// what the scheduler could not start (RunTask refused, no capacity) lands here; the
	// missing-success alarm says that backups stopped
	t.Add(opsBackupDLQ, "AWS::SQS::Queue", b.deadLetterQueue(b.backupDLQName()), false)
	schedule("FullBackupSchedule", cfg.Backup.Schedule.Full, opsBackupFull, "backup-full", backupSz)
	if cfg.Backup.Schedule.Differential != "" {
		task(opsBackupDiff, b.backupFamilyDiff(), "backup", backupSz, backupEnv("AUTO"))
		schedule("DifferentialBackupSchedule", cfg.Backup.Schedule.Differential, opsBackupDiff, "backup-differential", backupSz)
	}
	if expr := cfg.Backup.Verify.Schedule; expr != "" {
		schedule("VerifyBackupSchedule", expr, opsBackupVerify, "backup-verify", verifySz)
	}

	// What `neo4jctl backup create|verify` need to start the same tasks: the RunTask request
	// the schedules send (cluster, task definition, subnets, security group, launch type,
	// scratch volume), as JSON in the API's member names (pkg/backup.ParseRunTaskInput);
	// they add environment overrides (NEO4JCTL_BACKUP_TYPE, NEO4JCTL_BACKUP_DATABASES,
	// NEO4JCTL_VERIFY_TARGET). cfn-lint's W6001 (an output repeating an import) is off for
	// this template: these outputs carry the imported subnets and groups on purpose, so the
	// CLI reads one complete request instead of rebuilding it from four stacks.
	t.Output(OutputBackupTaskDefinition, Ref(opsBackupFull), "Backup task definition", "")
	t.Output(OutputVerifyTaskDefinition, Ref(opsBackupVerify), "Backup verify task definition (consistency check of an artifact)", "")
	t.Output(OutputBackupRunTask, b.runTaskInput(opsBackupFull, backupSz, "neo4jctl"), "RunTask request of a backup (JSON, as the schedules send it)", "")
	t.Output(OutputVerifyRunTask, b.runTaskInput(opsBackupVerify, verifySz, "neo4jctl"), "RunTask request of a backup check (JSON)", "")
	t.Metadata["cfn-lint"] = M{"config": M{"ignore_checks": L{"W6001"}}}

	// Backup failure: the backup runner prints one JSON report line; count the failures.
	t.Add("BackupFailedMetricFilter", "AWS::Logs::MetricFilter", M{
		"LogGroupName":  b.imp(OutputLogGroup),
		"FilterPattern": `{ $.backup = "failed" }`,
		"MetricTransformations": L{M{
			"MetricNamespace": b.metricNamespace(),
			"MetricName":      naming.MetricBackupFailed,
			"MetricValue":     "1",
			"DefaultValue":    0,
		}},
	}, false)
	// Backup success, for the alarm on backups that never run (or never finish).
	t.Add("BackupSucceededMetricFilter", "AWS::Logs::MetricFilter", M{
		"LogGroupName":  b.imp(OutputLogGroup),
		"FilterPattern": `{ $.backup = "ok" }`,
		"MetricTransformations": L{M{
			"MetricNamespace": b.metricNamespace(),
			"MetricName":      naming.MetricBackupSucceeded,
			"MetricValue":     "1",
		}},
	}, false)
	// Verify: a check that found inconsistencies or could not run.
	t.Add("VerifyFailedMetricFilter", "AWS::Logs::MetricFilter", M{
		"LogGroupName":  b.imp(OutputLogGroup),
		"FilterPattern": `{ $.verify = "failed" }`,
		"MetricTransformations": L{M{
			"MetricNamespace": b.metricNamespace(),
			"MetricName":      naming.MetricVerifyFailed,
			"MetricValue":     "1",
			"DefaultValue":    0,
		}},
	}, false)
}

// backupPlatformVersion is the Fargate platform of the backup tasks (EBS volumes attached
// at launch need 1.4.0 or later).
const backupPlatformVersion = "LATEST"

// runTaskInput is the universal target's Input: pkg/backup.Launch rendered with
// placeholders, filled by Fn::Sub (imports, refs), so the schedules and `backup create`
// start tasks the same way.
func (b *builder) runTaskInput(taskID string, size backupSize, startedBy string) M {
	vars := M{
		"Cluster":            b.imp(OutputECSClusterArn),
		"TaskDefinition":     Ref(taskID),
		"SecurityGroup":      b.imp(OutputBackupSecurityGroup),
		"KMSKey":             b.imp(OutputKMSKeyArn),
		"InfrastructureRole": b.imp(OutputECSInfrastructureRoleArn),
	}
	var subnets []string
	for i, s := range b.privateSubnets() {
		name := fmt.Sprintf("Subnet%d", i+1)
		vars[name] = s
		subnets = append(subnets, "${"+name+"}")
	}
	l := backup.Launch{
		Cluster: "${Cluster}", TaskDefinition: "${TaskDefinition}", Subnets: subnets, SecurityGroups: []string{"${SecurityGroup}"},
		LaunchType: "FARGATE", PlatformVersion: backupPlatformVersion, ScratchGiB: size.ScratchGiB, ScratchVolumeType: "gp3",
		KMSKeyARN: "${KMSKey}", InfrastructureRoleARN: "${InfrastructureRole}", StartedBy: startedBy,
		VolumeTags: map[string]string{naming.TagCluster: b.name, naming.TagManagedBy: "neo4jctl", naming.TagRole: naming.TagRoleScratch},
	}
	input, err := backup.SchedulerInput(l.RunTaskInput(nil))
	if err != nil {
		panic(err) // only plain strings and numbers: cannot fail
	}
	return SubVars(input, vars)
}

// metricNamespace is the per-cluster namespace of the log metric filters.
func (b *builder) metricNamespace() string { return naming.MetricNamespace + "/" + b.name }

func (b *builder) alarm(t *Template, id, desc string, props M) {
	p := M{
		"AlarmName":        naming.StackPrefix(b.name) + "-" + id,
		"AlarmDescription": desc,
		"AlarmActions":     L{b.imp(OutputAlarmTopicArn)},
		"OKActions":        L{b.imp(OutputAlarmTopicArn)},
		"ActionsEnabled":   Ref(ParamAlarmActions),
	}
	for k, v := range props {
		p[k] = v
	}
	// the rule cannot resolve the Ref: true, but for a stopped cluster (below quorum by design)
	GuardSuppress(t.Add(id+"Alarm", "AWS::CloudWatch::Alarm", p, false), "cloudwatch_alarm_action_enabled_check", mutedReason)
}

// mutedReason: ActionsEnabled is true unless the cluster is stopped (kept short: a 7-core
// operations template has 17 alarms, and is within 1 KB of CloudFormation's inline limit).
const mutedReason = "false only while `neo4jctl stop` holds it"

func (b *builder) alarms(t *Template, topic any) {
	cfg := b.cfg
	ecsCluster := naming.ECSCluster(b.name)
	for _, a := range []struct{ id, metric string }{{"CPU", "CPUUtilization"}, {"Memory", "MemoryUtilization"}} {
		b.alarm(t, a.id, fmt.Sprintf("%s of the ECS cluster above 80%% for 15 minutes", a.metric), M{
			"Namespace": "AWS/ECS", "MetricName": a.metric,
			"Dimensions":         L{M{"Name": "ClusterName", "Value": ecsCluster}},
			"Statistic":          "Average",
			"Period":             300,
			"EvaluationPeriods":  3,
			"Threshold":          80,
			"ComparisonOperator": "GreaterThanThreshold",
			"TreatMissingData":   "missing",
		})
	}
	for _, m := range cfg.Members() {
		b.alarm(t, fmt.Sprintf("DiskMember%d", m.Index), "Data volume of "+m.Name+" above 80% (published by the agent)", M{
			"Namespace": naming.MetricNamespace, "MetricName": naming.MetricDiskUsed,
			"Dimensions":         L{M{"Name": "Cluster", "Value": b.name}, M{"Name": "Member", "Value": m.Name}},
			"Statistic":          "Maximum",
			"Period":             300,
			"EvaluationPeriods":  2,
			"Threshold":          80,
			"ComparisonOperator": "GreaterThanThreshold",
			"TreatMissingData":   "missing",
		})
	}
	if cfg.BackupsEnabled() {
		b.alarm(t, "BackupFailed", "A scheduled backup failed", M{
			"Namespace": b.metricNamespace(), "MetricName": naming.MetricBackupFailed,
			"Statistic":          "Maximum",
			"Period":             3600,
			"EvaluationPeriods":  1,
			"Threshold":          1,
			"ComparisonOperator": "GreaterThanOrEqualToThreshold",
			"TreatMissingData":   "notBreaching",
		})
		b.alarm(t, "VerifyFailed", "A backup consistency check found inconsistencies or could not run (see `neo4jctl backup list`)", M{
			"Namespace": b.metricNamespace(), "MetricName": naming.MetricVerifyFailed,
			"Statistic":          "Maximum",
			"Period":             3600,
			"EvaluationPeriods":  1,
			"Threshold":          1,
			"ComparisonOperator": "GreaterThanOrEqualToThreshold",
			"TreatMissingData":   "notBreaching",
		})
		if hours := b.backupAlarmHours(); hours > 0 {
			b.alarm(t, "BackupMissing", fmt.Sprintf("No backup succeeded in %d hours (schedule %s): backups are not running or not finishing", hours, cfg.Backup.Schedule.Full), M{
				"Namespace": b.metricNamespace(), "MetricName": naming.MetricBackupSucceeded,
				"Statistic": "Sum",
				// hourly sums, all below 1 (or missing) for the whole window
				"Period":             3600,
				"EvaluationPeriods":  hours,
				"DatapointsToAlarm":  hours,
				"Threshold":          1,
				"ComparisonOperator": "LessThanThreshold",
				"TreatMissingData":   "breaching",
			})
		}
	}
	if cfg.Monitoring.ContainerInsights != nil && !*cfg.Monitoring.ContainerInsights {
		return // the task-count alarms read Container Insights
	}
	// running cores below quorum, and members not running (tasks exiting, crash loops)
	var running, desired []any
	var runIDs, wantIDs []string
	for _, m := range cfg.Members() {
		for _, x := range []struct {
			metric string
			list   *[]any
			ids    *[]string
		}{{"RunningTaskCount", &running, &runIDs}, {"DesiredTaskCount", &desired, &wantIDs}} {
			id := fmt.Sprintf("%s%d", strings.ToLower(x.metric[:1]), m.Index)
			*x.list = append(*x.list, M{"Id": id, "ReturnData": false, "MetricStat": M{
				"Metric": M{"Namespace": "ECS/ContainerInsights", "MetricName": x.metric, "Dimensions": L{
					M{"Name": "ClusterName", "Value": ecsCluster}, M{"Name": "ServiceName", "Value": naming.CoreService(m.Index)},
				}},
				"Period": 60, "Stat": "Minimum",
			}})
			*x.ids = append(*x.ids, "FILL("+id+",0)")
		}
	}
	quorum := cfg.Cores.Count/2 + 1
	b.alarm(t, "CoresBelowQuorum", fmt.Sprintf("Fewer than %d of %d core members running: the cluster cannot write", quorum, cfg.Cores.Count), M{
		"Metrics": append(append(L{}, running...), M{
			"Id": "running", "Label": "Running core members", "ReturnData": true, "Expression": strings.Join(runIDs, "+"),
		}),
		"EvaluationPeriods":  3,
		"DatapointsToAlarm":  3,
		"Threshold":          quorum,
		"ComparisonOperator": "LessThanThreshold",
		"TreatMissingData":   "breaching",
	})
	b.alarm(t, "MembersNotRunning", "A core member has not been running for 10 minutes (tasks exiting or not placed)", M{
		"Metrics": append(append(append(L{}, running...), desired...), M{
			"Id": "missing", "Label": "Core members not running", "ReturnData": true,
			"Expression": "(" + strings.Join(wantIDs, "+") + ")-(" + strings.Join(runIDs, "+") + ")",
		}),
		"EvaluationPeriods":  10,
		"DatapointsToAlarm":  10,
		"Threshold":          0,
		"ComparisonOperator": "GreaterThanThreshold",
		"TreatMissingData":   "missing",
	})
}

// dashboard: cluster CPU and memory, running members, disk, backups.
func (b *builder) dashboard(t *Template) {
	cfg := b.cfg
	ecsCluster := naming.ECSCluster(b.name)
	var running, disk []any
	for _, m := range cfg.Members() {
		running = append(running, L{"ECS/ContainerInsights", "RunningTaskCount", "ClusterName", ecsCluster, "ServiceName", naming.CoreService(m.Index)})
		disk = append(disk, L{naming.MetricNamespace, naming.MetricDiskUsed, "Cluster", b.name, "Member", m.Name})
	}
	if b.hasReplicas() {
		running = append(running, L{"ECS/ContainerInsights", "RunningTaskCount", "ClusterName", ecsCluster, "ServiceName", naming.ReplicasService})
	}
	widget := func(x, y int, title string, metrics []any, stat string) M {
		return M{"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": M{
			"title": title, "metrics": metrics, "stat": stat, "period": 300, "region": "${AWS::Region}", "view": "timeSeries",
		}}
	}
	widgets := L{
		widget(0, 0, "CPU utilization", L{L{"AWS/ECS", "CPUUtilization", "ClusterName", ecsCluster}}, "Average"),
		widget(12, 0, "Memory utilization", L{L{"AWS/ECS", "MemoryUtilization", "ClusterName", ecsCluster}}, "Average"),
		widget(0, 6, "Running tasks", running, "Minimum"),
		widget(12, 6, "Data volume used %", disk, "Maximum"),
	}
	if cfg.BackupsEnabled() {
		widgets = append(widgets, widget(0, 12, "Backups", L{
			L{b.metricNamespace(), naming.MetricBackupSucceeded, M{"label": "succeeded"}},
			L{b.metricNamespace(), naming.MetricBackupFailed, M{"label": "failed"}},
		}, "Sum"))
	}
	body, _ := jsonString(M{"widgets": widgets})
	t.Add("Dashboard", "AWS::CloudWatch::Dashboard", M{
		"DashboardName": naming.StackPrefix(b.name),
		"DashboardBody": Sub(body),
	}, true)
	t.Output(OutputDashboard, Ref("Dashboard"), "CloudWatch dashboard", "")
}

// maxAlarmHours is the longest window an alarm evaluates (Period x EvaluationPeriods is at
// most 7 days).
const maxAlarmHours = 7 * 24

// backupAlarmHours is the window of the missing-backup alarm: the full backup interval plus
// two hours for the backup to run (26 hours for a daily full backup). Any successful backup
// resets it, differentials included; when the full interval does not fit the 7 days an alarm
// may evaluate, the differential interval is used, and without one there is no such alarm.
func (b *builder) backupAlarmHours() int {
	s := b.cfg.Backup.Schedule
	for _, expr := range []string{s.Full, s.Differential} {
		if h := scheduleHours(expr); h > 0 && h+2 <= maxAlarmHours {
			return h + 2
		}
	}
	return 0
}

// scheduleHours is the longest gap, in whole hours rounded up, between two runs of an
// EventBridge Scheduler expression (validated by pkg/cluster); 0 when unknown or too long.
func scheduleHours(expr string) int {
	if m := rateExprRe.FindStringSubmatch(expr); m != nil {
		n, _ := strconv.Atoi(m[1])
		switch strings.TrimSuffix(m[2], "s") {
		case "minute":
			return (n + 59) / 60
		case "hour":
			return n
		case "day":
			return n * 24
		}
		return 0
	}
	if !strings.HasPrefix(expr, "cron(") {
		return 0
	}
	f := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(expr, "cron("), ")"))
	if len(f) != 6 {
		return 0
	}
	dom, month, dow, year := f[2], f[3], f[4], f[5]
	switch {
	case year != "*" || month != "*" || (dom != "*" && dom != "?"):
		return 0 // monthly or rarer: longer than an alarm can look back
	case dow != "*" && dow != "?":
		return 7 * 24 // some days of the week: at most a week apart
	}
	return 24 // every day, at one or more hours
}

var rateExprRe = regexp.MustCompile(`^rate\((\d+) (minutes?|hours?|days?)\)$`)
