// Package naming is the contract between what neo4jctl creates and what finds it again: stack,
// service, secret and export names, ownership tags, and the environment the templates hand to
// the agent. Templates, the stack engine, the operations and the agent all read them here so
// that a rename happens in one place.
package naming

import "fmt"

// Tags every stack (and through it every resource) carries. neo4jctl finds its stacks by them.
const (
	TagCluster   = "neo4jctl.io/cluster"    // cluster name
	TagStackKind = "neo4jctl.io/stack-kind" // vpc | shared | core | replicas | operations
	TagMember    = "neo4jctl.io/member"     // core-N on a member stack and its volume
	TagVersion   = "neo4jctl.io/version"    // neo4jctl version that last wrote the stack
	TagManagedBy = "neo4jctl.io/managed-by" // always "neo4jctl"
	TagName      = "Name"                   // the console's name of a resource
)

// MaxTagsPerResource is AWS's limit of tags on one resource (tags starting with aws:, such
// as CloudFormation's own, do not count).
const MaxTagsPerResource = 50

// OwnTagKeys are every tag key neo4jctl itself may put on one resource: the stack tags that
// CloudFormation propagates plus the resource's own. metadata.tags share MaxTagsPerResource
// with them. pkg/stack's tests keep the list true: every key its templates write is here,
// and some resource carries them all.
func OwnTagKeys() []string {
	return []string{TagCluster, TagStackKind, TagMember, TagVersion, TagManagedBy, TagRole, TagName}
}

// Stack kinds.
const (
	KindVPC        = "vpc"
	KindShared     = "shared"
	KindCore       = "core"
	KindReplicas   = "replicas"
	KindOperations = "operations"
)

// StackPrefix starts every stack name of a cluster.
func StackPrefix(cluster string) string { return "neo4jctl-" + cluster }

// StackName is the name of one stack: neo4jctl-<cluster>-<kind>, or -core-N for a member.
func StackName(cluster, kind string, member int) string {
	if kind == KindCore {
		return fmt.Sprintf("%s-core-%d", StackPrefix(cluster), member)
	}
	return StackPrefix(cluster) + "-" + kind
}

// ECSCluster is the ECS cluster of a neo4jctl cluster.
func ECSCluster(cluster string) string { return StackPrefix(cluster) }

// CoreService is the ECS service (and Cloud Map service) of core member N.
func CoreService(member int) string { return fmt.Sprintf("core-%d", member) }

// ReplicasService is the ECS service of the replicas.
const ReplicasService = "replicas"

// Function is the name of one of the cluster's Lambda functions (handler: HandlerAdmin,
// HandlerDNSSync, HandlerCleanup); neo4jctl invokes Function(cluster, HandlerAdmin).
func Function(cluster, handler string) string { return StackPrefix(cluster) + "-" + handler }

// LogGroup is the cluster's CloudWatch Logs group (members, backups); LambdaLogGroup that of
// its Lambda functions.
func LogGroup(cluster string) string       { return "/neo4jctl/" + cluster }
func LambdaLogGroup(cluster string) string { return LogGroup(cluster) + "/lambda" }

// Secrets Manager secret names; each holds {"username": ..., "password": ...}.
func AdminSecret(cluster string) string     { return "neo4jctl/" + cluster + "/admin" }
func ReadOnlySecret(cluster string) string  { return "neo4jctl/" + cluster + "/read-only" }
func ReadWriteSecret(cluster string) string { return "neo4jctl/" + cluster + "/read-write" }

// Export is the CloudFormation export name of a shared-stack output, imported by the other
// stacks with Fn::ImportValue.
func Export(cluster, output string) string { return StackPrefix(cluster) + "::" + output }

// AgentPrefix is where the agent bundles live in the cluster bucket.
const AgentPrefix = "neo4jctl/agent/"

// AgentKey is the S3 key of an agent bundle in the cluster bucket: content-addressed so that
// unchanged code never updates a stack.
func AgentKey(arch, sha256hex string) string {
	return fmt.Sprintf("%s%s/%s.zip", AgentPrefix, arch, sha256hex)
}

// RestartStateKey is where a rolling restart keeps its pinned order in the cluster bucket,
// so that `restart cluster NAME --from core-N` resumes it exactly.
const RestartStateKey = "neo4jctl/restart-state.json"

// BackupPrefix is where scheduled backups go in the cluster bucket.
const BackupPrefix = "backups/"

// DefaultImageRepository is the ECR repository `neo4jctl image push` creates by default.
const DefaultImageRepository = "neo4jctl/neo4j"

// Environment the task definitions and Lambda functions hand to the agent.
const (
	EnvRole             = "NEO4JCTL_ROLE"             // core | replica | backup
	EnvMember           = "NEO4JCTL_MEMBER"           // core-N (cores only)
	EnvNamespace        = "NEO4JCTL_NAMESPACE"        // Cloud Map namespace name
	EnvCoreEndpoints    = "NEO4JCTL_CORE_ENDPOINTS"   // core-1.<ns>,core-2.<ns>,... (host names)
	EnvCoreCount        = "NEO4JCTL_CORE_COUNT"       // number of primaries
	EnvNeo4jVersion     = "NEO4JCTL_NEO4J_VERSION"    // e.g. 5.26.30 or 2025.10.1
	EnvAdminPassword    = "NEO4JCTL_ADMIN_PASSWORD"   // injected by ECS from the admin secret; never logged
	EnvAdminSecretARN   = "NEO4JCTL_ADMIN_SECRET_ARN" // Lambdas read the secret at run time; cores too with users.rotation
	EnvReadOnlyARN      = "NEO4JCTL_READONLY_SECRET_ARN"
	EnvReadWriteARN     = "NEO4JCTL_READWRITE_SECRET_ARN"
	EnvRestoreFrom      = "NEO4JCTL_RESTORE_FROM" // s3:// URI to seed from, once
	EnvBucket           = "NEO4JCTL_BUCKET"       // cluster bucket
	EnvHandler          = "NEO4JCTL_HANDLER"      // Lambda: dns-sync | operations (admin) | cleanup
	EnvECSCluster       = "NEO4JCTL_ECS_CLUSTER"
	EnvNamespaceID      = "NEO4JCTL_NAMESPACE_ID"
	EnvCoresServiceID   = "NEO4JCTL_CORES_SERVICE_ID"    // Cloud Map service of core.<ns>
	EnvReplicaServiceID = "NEO4JCTL_REPLICAS_SERVICE_ID" // Cloud Map service of replica.<ns>
	EnvBackupDatabases  = "NEO4JCTL_BACKUP_DATABASES"    // comma-separated, * for all
	EnvBackupFrom       = "NEO4JCTL_BACKUP_FROM"         // host:6362 list, secondaries first
	EnvBackupTo         = "NEO4JCTL_BACKUP_TO"           // s3://bucket/backups/
	EnvBoltURI          = "NEO4JCTL_BOLT_URI"            // operations Lambda: default neo4j://core.<ns>:7687
	EnvRestoreDatabases = "NEO4JCTL_RESTORE_DATABASES"   // comma-separated databases to seed (default: all in the backup folder)
	EnvDataDir          = "NEO4JCTL_DATA_DIR"            // container: Neo4j data volume (default /data)
	EnvScratchDir       = "NEO4JCTL_SCRATCH_DIR"         // container: scratch disk for backup/restore temp files (default /tmp)
)

// Handler names for EnvHandler.
const (
	HandlerDNSSync = "dns-sync"
	// HandlerAdmin is the admin Lambda (pkg/lambdas/admin). Its value stays "operations":
	// deployed functions carry it in their environment.
	HandlerAdmin   = "operations"
	HandlerCleanup = "cleanup"
	// HandlerRotation is the Secrets Manager rotation function (pkg/lambdas/rotation).
	HandlerRotation = "rotation"
)

// Neo4j ports, in one place so security groups, settings and health checks agree.
const (
	PortBolt      = 7687
	PortHTTP      = 7474
	PortHTTPS     = 7473
	PortDiscovery = 6000 // discovery v2
	PortRaft      = 7000
	PortRouting   = 7688
	PortBackup    = 6362
)

// BoltURI is the routing (neo4j://) Bolt address of a host: clients and the admin Lambda
// reach the cluster at BoltURI("core.<namespace>"), the agent its own server at
// BoltURI("127.0.0.1").
func BoltURI(host string) string { return fmt.Sprintf("neo4j://%s:%d", host, PortBolt) }

// Archs are the architectures the agent is built, embedded and uploaded for (GOARCH names,
// which ECS and Lambda call x86_64/arm64).
var Archs = []string{"amd64", "arm64"}

// ImageTagArch is the architecture whose agent bundle names the image tag, in `image push`
// and in the templates alike, so the templates point at the image it made.
const ImageTagArch = "amd64"

// ImageTag is the tag `neo4jctl image push` gives the image by default, and the tag the
// templates use when neo4j.image is empty: the Neo4j version plus the agent it carries, so a
// new agent is a new image and unchanged code never restarts a task.
func ImageTag(neo4jVersion, agentSHA256 string) string {
	if agentSHA256 == "" {
		return neo4jVersion + "-enterprise-neo4jctl"
	}
	return neo4jVersion + "-enterprise-neo4jctl-" + agentSHA256[:min(12, len(agentSHA256))]
}
