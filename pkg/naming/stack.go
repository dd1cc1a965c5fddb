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
	EnvBackupType = "NEO4JCTL_BACKUP_TYPE" // FULL | DIFF (scheduled backup task)
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
