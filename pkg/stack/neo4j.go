package stack

import (
	"fmt"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// Role of a Neo4j task.
const (
	roleCore    = "core"
	roleReplica = "replica"
	roleBackup  = "backup"
)

// coreEndpoints are the member host names, core-1.<ns>,...
func (b *builder) coreEndpoints() []string {
	var out []string
	for _, m := range b.cfg.Members() {
		out = append(out, m.DNSName)
	}
	return out
}

// boltURI is the routing URI of the cluster: the multivalue record of the live cores.
func (b *builder) boltURI() string {
	return naming.BoltURI(b.cfg.Network.Subdomains.Cores + "." + b.cfg.Namespace())
}

// neo4jSettings are the neo4j.conf settings neo4jctl owns for a role, merged with the
// user's neo4j.config (validation refuses user settings that collide with these).
//
// Nothing here may depend on replicas.count: Neo4j reads initial.* settings only at the first
// DBMS start, and a value in the core task definitions would make every replicas.count change
// a new task definition, so a restart, of every core. initial.dbms.default_primaries_count is
// the core count, fixed for the cluster's life. The default and per-database secondaries
// follow the replicas service instead: the first core's worker reconciles them
// (dbms.setDefaultAllocationNumbers, ALTER DATABASE ... SET TOPOLOGY) from its desired count.
func (b *builder) neo4jSettings(role string, member cluster.Member, mem cluster.Memory) map[string]string {
	cfg := b.cfg
	n := cfg.Cores.Count
	var discovery []string
	for _, h := range b.coreEndpoints() {
		discovery = append(discovery, fmt.Sprintf("%s:%d", h, naming.PortDiscovery))
	}
	s := map[string]string{
		"server.default_listen_address":                       "0.0.0.0",
		"dbms.cluster.discovery.resolver_type":                "LIST",
		"initial.dbms.default_primaries_count":                fmt.Sprint(n),
		"dbms.cluster.minimum_initial_system_primaries_count": fmt.Sprint(n),
		"initial.dbms.automatically_enable_free_servers":      "true",
		"server.memory.heap.initial_size":                     mem.Heap,
		"server.memory.heap.max_size":                         mem.Heap,
		"server.memory.pagecache.size":                        mem.PageCache,
		"server.backup.enabled":                               "true",
		"server.backup.listen_address":                        fmt.Sprintf("0.0.0.0:%d", naming.PortBackup),
	}
	if cfg.ParsedVersion().Calendar() {
		s["dbms.cluster.endpoints"] = strings.Join(discovery, ",")
	} else {
		s["dbms.cluster.discovery.version"] = "V2_ONLY"
		s["dbms.cluster.discovery.v2.endpoints"] = strings.Join(discovery, ",")
	}
	switch role {
	case roleCore:
		s["initial.server.mode_constraint"] = "PRIMARY"
		// Every address explicit: left unset, the official image's entrypoint writes the
		// container hostname into the cluster and raft addresses, and that name changes with
		// every task, so the other members could never reach a restarted member by it.
		for k, v := range advertisedAddresses(member.DNSName) {
			s[k] = v
		}
	case roleReplica:
		// the agent advertises the task's own address on the same four settings (replicas
		// have no stable name; see agent.ClusterSettings)
		s["initial.server.mode_constraint"] = "SECONDARY"
		s["server.cluster.system_database_mode"] = "SECONDARY"
	}
	if sq := cfg.Monitoring.SlowQueryLog; sq.Enabled {
		s["db.logs.query.enabled"] = "INFO"
		s["db.logs.query.threshold"] = sq.Threshold
	}
	for k, v := range cfg.Neo4j.Config {
		if _, owned := s[k]; !owned {
			s[k] = v
		}
	}
	return s
}

// advertisedAddresses are the addresses a server gives the others: its host everywhere,
// with the cluster (6000, also discovery v2), raft (7000) and server-side routing (7688)
// ports. The agent computes the same four for a replica from its task address.
func advertisedAddresses(host string) map[string]string {
	return map[string]string{
		"server.default_advertised_address":      host,
		"server.cluster.advertised_address":      fmt.Sprintf("%s:%d", host, naming.PortDiscovery),
		"server.cluster.raft.advertised_address": fmt.Sprintf("%s:%d", host, naming.PortRaft),
		"server.routing.advertised_address":      fmt.Sprintf("%s:%d", host, naming.PortRouting),
	}
}

// containerEnv is the environment of a Neo4j container (core or replica).
func (b *builder) containerEnv(role string, member cluster.Member, mem cluster.Memory) map[string]any {
	cfg := b.cfg
	env := map[string]any{
		"NEO4J_ACCEPT_LICENSE_AGREEMENT": cfg.Neo4j.AcceptLicense,
		naming.EnvRole:                   role,
		naming.EnvCluster:                b.name,
		naming.EnvNamespace:              cfg.Namespace(),
		naming.EnvCoreEndpoints:          strings.Join(b.coreEndpoints(), ","),
		naming.EnvCoreCount:              fmt.Sprint(cfg.Cores.Count),
		naming.EnvNeo4jVersion:           cfg.Neo4j.Version,
		naming.EnvBucket:                 b.imp(OutputBucketName),
		naming.EnvLogGroup:               b.imp(OutputLogGroup),
		"AWS_REGION":                     Ref("AWS::Region"),
	}
	if role == roleCore {
		env[naming.EnvMember] = member.Name
		// the first core's worker reads the replicas service's desired count here
		env[naming.EnvECSCluster] = b.imp(OutputECSCluster)
		if r := cfg.Restore; r != nil && r.From != "" {
			env[naming.EnvRestoreFrom] = r.From
		}
		// with users.rotation the worker reads the passwords' current versions by these ARNs:
		// rotation changes them after ECS injected them at the task's start
		if cfg.RotatesPasswords() {
			env[naming.EnvAdminSecretARN] = b.imp(OutputAdminSecretArn)
			if u := cfg.Users; u.ReadOnly != "" {
				env[naming.EnvReadOnlyARN] = b.imp(OutputReadOnlySecretArn)
			}
			if u := cfg.Users; u.ReadWrite != "" {
				env[naming.EnvReadWriteARN] = b.imp(OutputReadWriteSecretArn)
			}
		}
		// the post-start worker keeps these users (passwords: secrets below)
		if u := cfg.Users; u != nil {
			if u.ReadOnly != "" {
				env[naming.EnvReadOnlyUser] = u.ReadOnly
			}
			if u.ReadWrite != "" {
				env[naming.EnvReadWriteUser] = u.ReadWrite
			}
		}
	}
	var ship []string
	if cfg.Monitoring.SlowQueryLog.Enabled {
		ship = append(ship, "query")
	}
	if cfg.Monitoring.DebugLog {
		ship = append(ship, "debug")
	}
	if len(ship) > 0 {
		env[naming.EnvShipLogs] = strings.Join(ship, ",")
	}
	for k, v := range b.neo4jSettings(role, member, mem) {
		env[settingEnv(k)] = v
	}
	return env
}

// containerSecrets are the passwords ECS injects from Secrets Manager: the admin's, and on
// the cores those of the configured users (the post-start worker creates and updates them).
func (b *builder) containerSecrets(role string) []any {
	secret := func(env, output string) M {
		return M{"Name": env, "ValueFrom": Join("", b.imp(output), ":password::")}
	}
	out := L{secret(naming.EnvAdminPassword, OutputAdminSecretArn)}
	if u := b.cfg.Users; u != nil && role == roleCore {
		if u.ReadOnly != "" {
			out = append(out, secret(naming.EnvReadOnlyPassword, OutputReadOnlySecretArn))
		}
		if u.ReadWrite != "" {
			out = append(out, secret(naming.EnvReadWritePassword, OutputReadWriteSecretArn))
		}
	}
	return out
}

// Stop timeouts: how long Neo4j gets between SIGTERM and SIGKILL. A clean shutdown ends with
// a checkpoint that writes every page dirtied since the last one; with a large page cache on a
// gp3 volume at its default 125 MiB/s that takes minutes, and a killed core recovers from its
// transaction log on the next start (slow) or worse. ECS caps a task definition's stopTimeout
// at 120 s (the documented maximum), so the cores' task definition sets none and their hosts
// give the ECS agent ECS_CONTAINER_STOP_TIMEOUT=coreStopTimeout instead, which the agent
// applies to containers without their own (it has no upper bound). Replicas keep their own
// 90 s: on Spot the instance is gone two minutes after the notice, and ECS's Spot draining
// needs a few seconds of that before it stops the task.
const (
	coreStopTimeout           = "10m"
	replicaStopTimeoutSeconds = 90
)

// neo4jUser is the official Neo4j image's neo4j user and group (uid and gid 7474), which
// every neo4jctl container runs as. Neo4j itself always ran as it (the image's entrypoint,
// started as root, drops to it with su-exec); started as it, the entrypoint skips its root
// steps (chown of $NEO4J_HOME, su-exec), which the image does not need: $NEO4J_HOME, /data
// and /logs are world-writable in the image, and a core's data volume is owned by 7474 (the
// user data makes it so).
const neo4jUser = "7474:7474"

// neo4jReadOnlyReason says why a Neo4j container keeps a writable root filesystem.
const neo4jReadOnlyReason = "Neo4j keeps a writable root filesystem: the official image's entrypoint, which neo4jctl runs " +
	"unchanged (licence check, initial admin login, NEO4J_* settings), rewrites $NEO4J_HOME/conf/neo4j.conf at every start " +
	"(sed -i and appends), and that directory also holds the image's other configuration files, which a writable volume " +
	"mounted there would hide: ECS copies image content only into volumes at the image's VOLUME paths (/data, /logs). " +
	"The container runs as the neo4j user (7474), not root; its data lives on the mounted volume."

// neo4jContainer is the container definition of a core or replica task.
func (b *builder) neo4jContainer(role string, member cluster.Member, mem cluster.Memory, streamPrefix string, mounts []any) M {
	c := M{
		"Name":                   naming.ContainerNeo4j,
		"Image":                  b.image(),
		"Essential":              true,
		"User":                   neo4jUser,
		"ReadonlyRootFilesystem": false, // neo4jReadOnlyReason
		"Memory":                 mem.ContainerMiB,
		// tini -g in front, as in the official image's own entry point, which this one
		// replaces: it reaps the agent's detached worker and forwards ECS's SIGTERM to the
		// whole process group, so Neo4j and the worker both stop cleanly. Not ECS's
		// initProcessEnabled: that init signals only its direct child, never the worker.
		"EntryPoint":  L{"tini", "-g", "--", naming.AgentPath, "entrypoint"},
		"Command":     L{"neo4j"},
		"Environment": envList(b.containerEnv(role, member, mem)),
		"Secrets":     b.containerSecrets(role),
		"PortMappings": L{
			M{"ContainerPort": naming.PortBolt, "Protocol": "tcp", "Name": "bolt"},
			M{"ContainerPort": naming.PortHTTP, "Protocol": "tcp", "Name": "http"},
			M{"ContainerPort": naming.PortHTTPS, "Protocol": "tcp", "Name": "https"},
			M{"ContainerPort": naming.PortDiscovery, "Protocol": "tcp", "Name": "discovery"},
			M{"ContainerPort": naming.PortRaft, "Protocol": "tcp", "Name": "raft"},
			M{"ContainerPort": naming.PortRouting, "Protocol": "tcp", "Name": "routing"},
			M{"ContainerPort": naming.PortBackup, "Protocol": "tcp", "Name": "backup"},
		},
		"Ulimits": L{M{"Name": "nofile", "SoftLimit": 40000, "HardLimit": 40000}},
		"LogConfiguration": M{"LogDriver": "awslogs", "Options": M{
			"awslogs-group":         b.imp(OutputLogGroup),
			"awslogs-region":        Ref("AWS::Region"),
			"awslogs-stream-prefix": streamPrefix,
		}},
		// liveness only: Neo4j answers locally. Never a check that needs a formed cluster.
		"HealthCheck": M{
			"Command":     L{"CMD", naming.AgentPath, "health"},
			"Interval":    30,
			"Timeout":     10,
			"Retries":     5,
			"StartPeriod": 300,
		},
	}
	if role == roleReplica {
		c["StopTimeout"] = replicaStopTimeoutSeconds
	}
	if len(mounts) > 0 {
		c["MountPoints"] = mounts
	}
	return c
}

// replicaMemory sizes the replica container for the smallest replica instance type, with
// the same split as the cores when that type is smaller than the cores' type.
func (b *builder) replicaMemory() cluster.Memory {
	mem := b.cfg.Neo4j.Memory
	if b.cfg.Replicas == nil {
		return mem
	}
	smallest := 0
	for _, it := range b.cfg.Replicas.InstanceTypes {
		info, ok := cluster.LookupInstanceType(it)
		if !ok {
			return mem
		}
		if smallest == 0 || info.MemoryMiB < smallest {
			smallest = info.MemoryMiB
		}
	}
	container := smallest - max(1024, smallest/10)
	if smallest == 0 || container >= mem.ContainerMiB {
		return mem
	}
	size := func(mib int) string {
		if mib >= 1024 {
			return fmt.Sprintf("%dg", mib/1024)
		}
		return fmt.Sprintf("%dm", mib)
	}
	return cluster.Memory{ContainerMiB: container, Heap: size(min(31*1024, container*35/100)), PageCache: size(container * 45 / 100)}
}
