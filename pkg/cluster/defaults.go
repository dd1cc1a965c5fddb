package cluster

import (
	"fmt"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jversion"
)

// Defaults neo4jctl applies. A version is pinned (not a floating tag) so that a replaced
// instance never pulls a newer Neo4j than its peers run.
const (
	DefaultVersion          = "5.26.30"
	DefaultCoreCount        = 3
	DefaultInstanceType     = "r7g.large"
	DefaultVolumeType       = "gp3"
	DefaultVolumeSizeGiB    = 100
	DefaultGP3IOPS          = 3000
	DefaultGP3Throughput    = 125
	DefaultIO2IOPS          = 3000
	DefaultVPCCIDR          = "10.42.0.0/16"
	DefaultAZCount          = 3
	DefaultNATGateways      = 1
	DefaultFullBackup       = "cron(0 2 * * ? *)"
	DefaultDiffBackup       = "rate(1 hour)"
	DefaultRetentionDays    = 14
	DefaultLogRetentionDays = 30
	DefaultSlowQuery        = "1s"
	DefaultCoresSubdomain   = "core"
	DefaultReplicaSubdomain = "replica"
)

// SetDefaults fills every field the user left out. It never fails and never validates: bad
// values are left for Validate to report.
func SetDefaults(c *ClusterConfig) {
	if c.APIVersion == "" {
		c.APIVersion = APIVersion
	}
	if c.Kind == "" {
		c.Kind = Kind
	}
	setNeo4jDefaults(&c.Neo4j)
	setNetworkDefaults(&c.Network, c.Metadata.Name)
	setCoreDefaults(&c.Cores)
	if c.Replicas != nil {
		if len(c.Replicas.InstanceTypes) == 0 {
			c.Replicas.InstanceTypes = []string{c.Cores.InstanceType}
		}
	}
	setBackupDefaults(&c.Backup)
	setBackupBucketDefaults(&c.Backup, c.Metadata.Name)
	setMonitoringDefaults(&c.Monitoring)
	setMemoryDefaults(&c.Neo4j.Memory, c.Cores.InstanceType)
}

func setNeo4jDefaults(n *Neo4j) {
	switch {
	case n.Version == "":
		n.Version = DefaultVersion
	default:
		n.Version = neo4jversion.Floating(n.Version)
	}
	if n.Config == nil {
		n.Config = map[string]string{}
	}
}

func setNetworkDefaults(n *Network, name string) {
	if n.VPCID == "" {
		if n.CIDR == "" {
			n.CIDR = DefaultVPCCIDR
		}
		if n.AZCount == 0 {
			n.AZCount = DefaultAZCount
		}
		if n.NATGateways == 0 {
			n.NATGateways = DefaultNATGateways
		}
	}
	if n.Namespace == "" && n.NamespaceID == "" {
		// one namespace per cluster: two clusters in one VPC must not share DNS names
		n.Namespace = name + ".neo4j.internal"
	}
	if n.Subdomains.Cores == "" {
		n.Subdomains.Cores = DefaultCoresSubdomain
	}
	if n.Subdomains.Replicas == "" {
		n.Subdomains.Replicas = DefaultReplicaSubdomain
	}
}

func setCoreDefaults(c *Cores) {
	if c.Count == 0 {
		c.Count = DefaultCoreCount
	}
	if c.InstanceType == "" {
		c.InstanceType = DefaultInstanceType
	}
	v := &c.Volume
	if v.Type == "" {
		v.Type = DefaultVolumeType
	}
	if v.SizeGiB == 0 {
		v.SizeGiB = DefaultVolumeSizeGiB
	}
	switch v.Type {
	case "gp3":
		if v.IOPS == 0 {
			v.IOPS = DefaultGP3IOPS
		}
		if v.ThroughputMiBps == 0 {
			v.ThroughputMiBps = DefaultGP3Throughput
		}
	case "io1", "io2":
		if v.IOPS == 0 {
			v.IOPS = DefaultIO2IOPS
		}
	}
}

func setBackupDefaults(b *Backup) {
	if b.Enabled == nil {
		on := true
		b.Enabled = &on
	}
	if !*b.Enabled {
		return
	}
	if b.Schedule.Full == "" {
		b.Schedule.Full = DefaultFullBackup
		if b.Schedule.Differential == "" {
			b.Schedule.Differential = DefaultDiffBackup
		}
	}
	if b.Retention.Days == 0 {
		b.Retention.Days = DefaultRetentionDays
	}
	if len(b.Databases) == 0 {
		b.Databases = []string{"*"}
	}
}

// setBackupBucketDefaults: access logs go under the cluster's name in the log bucket.
func setBackupBucketDefaults(b *Backup, name string) {
	if b.AccessLogs != nil && b.AccessLogs.Prefix == "" {
		b.AccessLogs.Prefix = name + "/"
	}
}

func setMonitoringDefaults(m *Monitoring) {
	on := true
	if m.Dashboard == nil {
		m.Dashboard = &on
	}
	if m.ContainerInsights == nil {
		m.ContainerInsights = &on
	}
	if m.LogRetentionDays == 0 {
		m.LogRetentionDays = DefaultLogRetentionDays
	}
	if m.SlowQueryLog.Enabled && m.SlowQueryLog.Threshold == "" {
		m.SlowQueryLog.Threshold = DefaultSlowQuery
	}
}

// setMemoryDefaults splits the instance's memory the way Neo4j's memory recommendation does:
// leave room for the OS and the ECS agent, give the page cache the largest share, cap the
// heap at 31g (compressed oops).
func setMemoryDefaults(m *Memory, instanceType string) {
	it, ok := LookupInstanceType(instanceType)
	if !ok {
		return // Validate asks for explicit memory settings
	}
	if m.ContainerMiB == 0 {
		reserve := max(1024, it.MemoryMiB/10)
		m.ContainerMiB = it.MemoryMiB - reserve
	}
	if m.Heap == "" {
		m.Heap = sizeString(min(31*1024, m.ContainerMiB*35/100))
	}
	if m.PageCache == "" {
		m.PageCache = sizeString(m.ContainerMiB * 45 / 100)
	}
}

// sizeString writes MiB the way neo4j.conf reads sizes: whole gigabytes when it can.
func sizeString(mib int) string {
	if mib >= 1024 {
		return fmt.Sprintf("%dg", mib/1024)
	}
	return fmt.Sprintf("%dm", mib)
}
