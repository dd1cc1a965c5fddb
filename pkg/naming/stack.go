package naming

// Names the templates (pkg/stack) hand to the hosts and the agent beyond naming.go.
const (
	// AttrMember is the ECS container-instance attribute naming what an instance hosts:
	// core-N for a member's instance, "replica" for the replicas' instances. Services place
	// their tasks with memberOf(attribute:neo4jctl.member == ...).
	AttrMember = "neo4jctl.member"
	// AttrReplica is the AttrMember value of the replicas' instances.
	AttrReplica = "replica"
	// AgentPath is where the agent binary lives in the Neo4j image.
	AgentPath = "/neo4jctl/neo4jctl-agent"
	// DataMount is where a core member's host mounts its data volume (mounted at /data in
	// the container).
	DataMount = "/data/neo4j"

	EnvShipLogs   = "NEO4JCTL_SHIP_LOGS"   // comma-separated Neo4j log files the agent ships: query, debug
	EnvLogGroup   = "NEO4JCTL_LOG_GROUP"   // CloudWatch Logs group for shipped logs (streams <member>/<log>)
	EnvBackupType = "NEO4JCTL_BACKUP_TYPE" // FULL | DIFF | AUTO (scheduled backup task; AUTO: full when no chain exists yet)
	EnvCluster    = "NEO4JCTL_CLUSTER"     // neo4jctl cluster name (metrics dimension)

	// MetricNamespace is the CloudWatch namespace of the agent's metrics; each has the
	// dimension Cluster=<cluster name>.
	MetricNamespace = "neo4jctl"
	// MetricDiskUsed is the data volume's used percent a core's agent publishes
	// (dimensions Cluster and Member).
	MetricDiskUsed = "DataVolumeUsedPercent"
	// MetricBackupFailed is 1 for a failed and 0 for a successful scheduled backup, written
	// by the CloudWatch Logs metric filter on the backup task's JSON report line
	// ({"backup": "failed"|"ok", ...}).
	MetricBackupFailed = "BackupFailed"
)

// The core containers' post-start worker (pkg/agent) keeps the cluster's users, seeds a
// restored cluster once, publishes the disk metric and ships logs. It runs on every core;
// the work that must happen once runs where EnvMember is the first core.
const (
	EnvReadOnlyUser      = "NEO4JCTL_READONLY_USER"      // user name from users.readOnly
	EnvReadOnlyPassword  = "NEO4JCTL_READONLY_PASSWORD"  // injected by ECS from the read-only secret; never logged
	EnvReadWriteUser     = "NEO4JCTL_READWRITE_USER"     // user name from users.readWrite
	EnvReadWritePassword = "NEO4JCTL_READWRITE_PASSWORD" // injected by ECS from the read-write secret; never logged
	// MetricBackupSucceeded is 1 for each successful scheduled backup (same metric filter
	// source as MetricBackupFailed); an alarm on its absence catches backups that never run.
	MetricBackupSucceeded = "BackupSucceeded"
	// DataVolumeTagRole marks a member's data volume (TagRole=data), so that the user data
	// never mistakes the instance's root volume, which carries the member tag too, for it.
	TagRole     = "neo4jctl.io/role"
	TagRoleData = "data"
)

// The agent's container helper and backup runner (pkg/agent) beyond the above.
const (
	// EnvBackupObjectLock is backup.objectLock for the backup task, MODE:days (e.g.
	// COMPLIANCE:30): the bucket locks every new object, and retention checks each backup's
	// lock before it deletes anything. Unset: no object lock.
	EnvBackupObjectLock = "NEO4JCTL_BACKUP_OBJECT_LOCK"
	// EnvBackupRetentionDays is backup.retention.days for the scheduled backup task: after a
	// successful backup the runner deletes whole full+differential chains that are no longer
	// needed to restore any point within the window. Unset or 0: nothing is deleted.
	EnvBackupRetentionDays = "NEO4JCTL_BACKUP_RETENTION_DAYS"
	// RestoreDoneKey is the object in the cluster bucket (EnvBucket) the first core's worker
	// writes once it has seeded the databases of restore.from ({"from", "databases", ...}):
	// a cluster is seeded once, across restarts and replaced volumes.
	RestoreDoneKey = "neo4jctl/restore-done"
	// LastAppliedKey is the object in the cluster bucket where neo4jctl keeps the cluster's
	// last-applied record (the config the stacks were last rendered from, the fields
	// imperative commands set since, and whether the cluster is stopped): JSON, see
	// pkg/ops.Applied. Written by neo4jctl only, after each successful change.
	LastAppliedKey = "neo4jctl/last-applied.json"
	// EnvRunDir is where the container helper keeps its per-container state (Neo4j's pid,
	// the setup and started markers read by the health check). Default /tmp/neo4jctl
	// (writable by the neo4j user the containers run as): it must NOT be on the data
	// volume, a new container starts with none of it.
	EnvRunDir = "NEO4JCTL_RUN_DIR"
	// EnvLogsDir is Neo4j's log directory in the container (default /logs, the official
	// image's), read by the log shipper.
	EnvLogsDir = "NEO4JCTL_LOGS_DIR"
	// SeedProviders is the value the entrypoint gives dbms.databases.seed_from_uri_providers
	// unless the task definition sets NEO4J_dbms_databases_seed__from__uri__providers:
	// CloudSeedProvider reads s3:// with the task role (no AWS CLI in the image) and
	// resolves a differential artifact's chain in the same folder.
	SeedProviders = "CloudSeedProvider"
)

// The data volume marker: the core user data writes it at the root of the member's data
// volume once the volume is mounted at DataMount (content: the EBS volume id), so it is seen
// in the container at <EnvDataDir, default /data>/VolumeMarker. Its absence means the mount
// failed and Neo4j would start on an empty directory of the root disk: the agent refuses to
// start Neo4j without it.
const VolumeMarker = ".neo4jctl-volume"

// Backup and verify tasks (operations stack) beyond the above.
const (
	// TagRoleScratch marks the scratch EBS volumes ECS creates for backup and verify tasks
	// (never TagRoleData: the core user data must never take one for a member's volume).
	TagRoleScratch = "backup-scratch"
	// EnvBackupPageCache is neo4j-admin backup's --pagecache (e.g. 2048m), sized with the task.
	EnvBackupPageCache = "NEO4JCTL_BACKUP_PAGECACHE"
	// EnvVerifyTarget is what a verify task checks: VerifyNewestFull (each database's newest
	// full backup), VerifyNewest (each database's newest restorable point: a differential's
	// chain is aggregated first), or comma-separated artifact keys or names.
	EnvVerifyTarget  = "NEO4JCTL_VERIFY_TARGET"
	VerifyNewestFull = "newest-full"
	VerifyNewest     = "newest"
	// EnvVerifyOffHeap is neo4j-admin database check's --max-off-heap-memory, sized with the task.
	EnvVerifyOffHeap = "NEO4JCTL_VERIFY_OFF_HEAP"
	// MetricVerifyFailed is 1 for each verify run that found an inconsistent backup or
	// could not check one ({"verify": "failed"} report line of the verify task).
	MetricVerifyFailed = "VerifyFailed"
)

// Task definition families of the backup tasks (operations stack): full backups,
// differential (AUTO) backups and consistency checks. `backup create` finds a backup
// that runs already by them.
func BackupFamilyFull(cluster string) string   { return StackPrefix(cluster) + "-backup-full" }
func BackupFamilyDiff(cluster string) string   { return StackPrefix(cluster) + "-backup-differential" }
func BackupFamilyVerify(cluster string) string { return StackPrefix(cluster) + "-backup-verify" }

// CloudWatch Logs streams, all in the cluster's log group (/neo4jctl/<cluster>), so that
// `neo4jctl logs --member M` finds them by name:
//
//	<member>/neo4j/<task-id>   a member's container output (Neo4j's neo4j.log and the agent);
//	                           member is core-N, or "replica" for every replica task
//	<member>/query             Neo4j's query (slow) log, shipped by the agent when enabled
//	<member>/debug             Neo4j's debug.log, shipped by the agent when enabled
//	<member>/boot              the core instance's user data (volume attach and mount)
//	backup/backup/<task-id>    a backup or verify task (one JSON report line each)
//
// The Lambda functions log to /neo4jctl/<cluster>/lambda.
const (
	LogStreamPrefixBackup  = "backup"  // awslogs-stream-prefix of the backup and verify tasks
	LogStreamPrefixReplica = "replica" // awslogs-stream-prefix of the replica tasks
	ContainerNeo4j         = "neo4j"   // container name of the member tasks
)

// LogStreamQuery, LogStreamDebug and LogStreamBoot are a member's shipped log streams.
func LogStreamQuery(member string) string { return member + "/query" }
func LogStreamDebug(member string) string { return member + "/debug" }
func LogStreamBoot(member string) string  { return member + "/boot" }

// LogStreamShipped is the stream of a Neo4j log file the agent ships (query, debug).
func LogStreamShipped(member, log string) string { return member + "/" + log }

// LogStreamContainerPrefix is the start of a member's container streams (awslogs names them
// <prefix>/<container>/<task-id>).
func LogStreamContainerPrefix(member string) string { return member + "/" + ContainerNeo4j + "/" }
