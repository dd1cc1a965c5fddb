// Package cluster is the cluster.yaml API (neo4jctl.io/v1alpha1): the types a user writes,
// the strict decoder that points at lines, the defaulting pass, the validation pass and the
// JSON schema generated from the types. Defaults are applied first and validation runs on the
// defaulted config, never mixed, so `create cluster --dry-run` shows exactly what is validated
// and built.
package cluster

// APIVersion and Kind identify the only config format this package reads.
const (
	APIVersion = "neo4jctl.io/v1alpha1"
	Kind       = "ClusterConfig"
)

// ClusterConfig is one Neo4j Enterprise cluster on AWS ECS.
type ClusterConfig struct {
	APIVersion string     `json:"apiVersion" jsonschema:"required,enum=neo4jctl.io/v1alpha1"`
	Kind       string     `json:"kind" jsonschema:"required,enum=ClusterConfig"`
	Metadata   Metadata   `json:"metadata" jsonschema:"required"`
	Neo4j      Neo4j      `json:"neo4j" jsonschema:"required"`
	Network    Network    `json:"network,omitempty" jsonschema_description:"Omitted: neo4jctl creates a VPC across 3 AZs."`
	Cores      Cores      `json:"cores"`
	Replicas   *Replicas  `json:"replicas,omitempty" jsonschema_description:"Secondaries: stateless read replicas, optional, may run on Spot."`
	Backup     Backup     `json:"backup,omitempty"`
	Restore    *Restore   `json:"restore,omitempty" jsonschema_description:"Bootstrap a new cluster from a backup, once."`
	Users      *Users     `json:"users,omitempty" jsonschema_description:"Application user names; their passwords are generated in Secrets Manager."`
	Monitoring Monitoring `json:"monitoring,omitempty"`
}

// Metadata names the cluster and where it lives.
type Metadata struct {
	Name   string            `json:"name" jsonschema:"required" jsonschema_description:"Lower-case letters, digits and dashes; used in stack, DNS and resource names."`
	Region string            `json:"region,omitempty" jsonschema_description:"AWS region; defaults to --region, AWS_REGION or the profile's region."`
	Tags   map[string]string `json:"tags,omitempty" jsonschema_description:"Tags put on every stack and resource."`
}

// Neo4j is the database itself.
type Neo4j struct {
	Version       string            `json:"version,omitempty" jsonschema_description:"5.26[.N] (LTS) or a calendar release YYYY.MM[.N] from 2025.01 on."`
	AcceptLicense string            `json:"acceptLicense" jsonschema:"required,enum=yes,enum=eval" jsonschema_description:"Neo4j Enterprise licence: yes (commercial licence) or eval (evaluation)."`
	Image         string            `json:"image,omitempty" jsonschema_description:"Container image; default: the image 'neo4jctl image push' made in this account's ECR."`
	Config        map[string]string `json:"config,omitempty" jsonschema_description:"Extra neo4j.conf settings. Settings neo4jctl owns (discovery, addresses, ports, memory, auth) are refused."`
	Memory        Memory            `json:"memory,omitempty" jsonschema_description:"Computed from the instance type's memory unless set."`
}

// Memory is the split of a member's container memory.
type Memory struct {
	ContainerMiB int    `json:"containerMiB,omitempty" jsonschema_description:"Memory reserved for the Neo4j container, MiB."`
	Heap         string `json:"heap,omitempty" jsonschema_description:"server.memory.heap.initial_size and max_size, e.g. 5g."`
	PageCache    string `json:"pageCache,omitempty" jsonschema_description:"server.memory.pagecache.size, e.g. 7g."`
}

// Network places the cluster. With no vpcID neo4jctl creates the VPC.
type Network struct {
	VPCID        string       `json:"vpcID,omitempty" jsonschema_description:"Existing VPC; omit to let neo4jctl create one."`
	Subnets      []string     `json:"subnets,omitempty" jsonschema_description:"Existing private subnets; core members are spread round-robin over them."`
	CIDR         string       `json:"cidr,omitempty" jsonschema_description:"CIDR of the VPC neo4jctl creates."`
	AZCount      int          `json:"azCount,omitempty" jsonschema_description:"Availability zones of the VPC neo4jctl creates."`
	NATGateways  int          `json:"natGateways,omitempty" jsonschema_description:"NAT gateways of the VPC neo4jctl creates (1, or one per AZ)."`
	VPCEndpoints bool         `json:"vpcEndpoints,omitempty" jsonschema_description:"Create the VPC endpoints the cluster needs to run without internet access."`
	ClientAccess ClientAccess `json:"clientAccess,omitempty"`
	Namespace    string       `json:"namespace,omitempty" jsonschema_description:"Cloud Map private DNS namespace name."`
	NamespaceID  string       `json:"namespaceID,omitempty" jsonschema_description:"Existing Cloud Map namespace id (ns-...) to use instead of creating one."`
	Subdomains   Subdomains   `json:"subdomains,omitempty"`
}

// ClientAccess is who may reach Neo4j's client ports (7474, 7473, 7687).
type ClientAccess struct {
	CIDRs          []string `json:"cidrs,omitempty"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
}

// Subdomains are the DNS labels under the namespace that clients use.
type Subdomains struct {
	Cores    string `json:"cores,omitempty" jsonschema_description:"Multivalue record of healthy core members; members are <cores>-N."`
	Replicas string `json:"replicas,omitempty" jsonschema_description:"Multivalue record of healthy replicas."`
}

// Cores are the primaries: members with identity, one volume each.
type Cores struct {
	Count        int    `json:"count,omitempty" jsonschema_description:"3, 5 or 7 (1 only with allowNonHA)."`
	AllowNonHA   bool   `json:"allowNonHA,omitempty" jsonschema_description:"Permit a single server: a development setup with no fault tolerance."`
	InstanceType string `json:"instanceType,omitempty"`
	Volume       Volume `json:"volume,omitempty"`
}

// Volume is each core member's retained data volume.
type Volume struct {
	SizeGiB         int    `json:"sizeGiB,omitempty"`
	Type            string `json:"type,omitempty" jsonschema:"enum=gp3,enum=io2,enum=io1"`
	IOPS            int    `json:"iops,omitempty"`
	ThroughputMiBps int    `json:"throughputMiBps,omitempty" jsonschema_description:"gp3 only."`
}

// Replicas are the secondaries: one service of N tasks, no volumes.
type Replicas struct {
	Count         int      `json:"count"`
	InstanceTypes []string `json:"instanceTypes,omitempty"`
	Spot          bool     `json:"spot,omitempty"`
}

// Backup is the scheduled backup of every database to the cluster bucket.
type Backup struct {
	Enabled   *bool           `json:"enabled,omitempty" jsonschema_description:"Scheduled backups; on unless false."`
	Schedule  BackupSchedule  `json:"schedule,omitempty"`
	Retention BackupRetention `json:"retention,omitempty"`
	Databases []string        `json:"databases,omitempty" jsonschema_description:"Database names, or * for all databases with system."`
	Verify    BackupVerify    `json:"verify,omitempty"`
	// Hardening of the cluster bucket (issue 15): access logs, write-once backups, a copy in
	// another region.
	AccessLogs *BackupAccessLogs `json:"accessLogs,omitempty" jsonschema_description:"S3 server access logs of the cluster bucket, delivered to a bucket of yours."`
	ObjectLock *BackupObjectLock `json:"objectLock,omitempty" jsonschema_description:"S3 Object Lock on the cluster bucket: every object written (backups included) can be neither deleted nor overwritten for days, by anyone in governance mode without the bypass permission, by no one in compliance mode. Cannot be turned off once on."`
	CopyTo     *BackupCopy       `json:"copyTo,omitempty" jsonschema_description:"S3 replication of every new backup to a bucket in another region, encrypted there with a key of that region."`
}

// BackupAccessLogs names where S3 delivers the cluster bucket's server access logs. The
// bucket is yours: same account and region, SSE-S3 encryption (S3 cannot deliver to SSE-KMS
// or object-locked buckets) and a policy that lets logging.s3.amazonaws.com put objects.
type BackupAccessLogs struct {
	Bucket string `json:"bucket" jsonschema:"required" jsonschema_description:"Log bucket, in the cluster's account and region."`
	Prefix string `json:"prefix,omitempty" jsonschema_description:"Key prefix of the log objects; default <cluster name>/."`
}

// BackupObjectLock is the default retention S3 Object Lock gives every new object of the
// cluster bucket.
type BackupObjectLock struct {
	Mode string `json:"mode" jsonschema:"required,enum=governance,enum=compliance" jsonschema_description:"governance: principals with s3:BypassGovernanceRetention may still delete early; compliance: no one can, the root user included."`
	Days int    `json:"days" jsonschema:"required" jsonschema_description:"Days each object is locked; at most backup.retention.days, so that retention never meets a locked backup."`
}

// BackupCopy is the replication target of the backups.
type BackupCopy struct {
	Region    string `json:"region" jsonschema:"required" jsonschema_description:"Region of the copy; not the cluster's."`
	Bucket    string `json:"bucket" jsonschema:"required" jsonschema_description:"Existing bucket in that region and this account, with versioning on (and Object Lock on when backup.objectLock is set)."`
	KMSKeyARN string `json:"kmsKeyARN" jsonschema:"required" jsonschema_description:"KMS key in that region the copies are encrypted with; its key policy must let this account's IAM policies use it (the default key policy does)."`
}

// BackupVerify is the consistency check of backups (neo4j-admin database check of an
// artifact, in a task with scratch space sized for the store); its verdict is recorded in
// the backup manifest. The task always exists, for `neo4jctl backup verify`.
type BackupVerify struct {
	Schedule string `json:"schedule,omitempty" jsonschema_description:"cron(...) or rate(...) to verify the newest full backup of each database, e.g. cron(0 4 ? * SUN *) weekly; empty: on demand only."`
}

// BackupSchedule holds EventBridge Scheduler expressions.
type BackupSchedule struct {
	Full         string `json:"full,omitempty" jsonschema_description:"cron(...) or rate(...)."`
	Differential string `json:"differential,omitempty" jsonschema_description:"cron(...) or rate(...); empty for full backups only."`
}

// BackupRetention keeps backups this long, never breaking a full+differential chain.
type BackupRetention struct {
	Days int `json:"days,omitempty"`
}

// Restore seeds a new cluster from a backup once.
type Restore struct {
	From string `json:"from" jsonschema:"required" jsonschema_description:"s3://bucket/path of the backup."`
}

// Users are the application users neo4jctl keeps in Neo4j; passwords live in Secrets Manager.
type Users struct {
	ReadOnly  string         `json:"readOnly,omitempty"`
	ReadWrite string         `json:"readWrite,omitempty"`
	Rotation  *UsersRotation `json:"rotation,omitempty" jsonschema_description:"Secrets Manager rotates the admin's and these users' passwords on a schedule; the agent's rotation function changes them in Neo4j."`
}

// UsersRotation is the schedule of the password rotation.
type UsersRotation struct {
	Days int `json:"days" jsonschema:"required" jsonschema_description:"Rotate every N days (1-1000)."`
}

// Monitoring is alarms, logs and the dashboard.
type Monitoring struct {
	AlarmEmail        string       `json:"alarmEmail,omitempty"`
	SNSTopicARN       string       `json:"snsTopicARN,omitempty"`
	SlowQueryLog      SlowQueryLog `json:"slowQueryLog,omitempty"`
	DebugLog          bool         `json:"debugLog,omitempty"`
	Dashboard         *bool        `json:"dashboard,omitempty" jsonschema_description:"CloudWatch dashboard; on unless false."`
	ContainerInsights *bool        `json:"containerInsights,omitempty" jsonschema_description:"ECS Container Insights; on unless false."`
	LogRetentionDays  int          `json:"logRetentionDays,omitempty" jsonschema_description:"CloudWatch Logs retention; one of the values CloudWatch accepts."`
}

// SlowQueryLog ships Neo4j's query log for queries slower than Threshold.
type SlowQueryLog struct {
	Enabled   bool   `json:"enabled,omitempty"`
	Threshold string `json:"threshold,omitempty" jsonschema_description:"A duration such as 500ms or 2s."`
}
