package cluster

import (
	"regexp"
	"slices"
	"strings"
)

// nitroEncryptingFamilies are the instance families whose AWS Nitro cards encrypt the
// traffic between two such instances (in one VPC or peered VPCs) in hardware: the list of
// Control Tower's CT.AUTOSCALING.PR.11 (the EC2 User Guide, "Encryption in transit"), plus
// the Graviton4 families. A family missing here is reported as not encrypting: the plan
// never claims encryption it cannot vouch for.
var nitroEncryptingFamilies = map[string]bool{}

var nitroEncryptingRe = regexp.MustCompile(`^u-\d+tb1$`) // high-memory u-3tb1 ... u-24tb1

func init() {
	for _, f := range strings.Fields(`c5a c5ad c5n c6a c6gn c6i c6id c6in c7a c7g c7gd c7gn c7i
		d3 d3en dl1 dl2q g4ad g4dn g5 hpc6a hpc6id hpc7a hpc7g i3en i4g i4i im4gn inf1 inf2 is4gen
		m5dn m5n m5zn m6a m6i m6id m6idn m6in m7a m7g m7gd m7i-flex m7i p3dn p4d p4de p5
		r5dn r5n r6a r6i r6id r6idn r6in r7a r7g r7gd r7i r7iz trn1 trn1n vt1 x2idn x2iedn x2iezn
		c8g c8gd c8gn m8g m8gd r8g r8gd x8g`) {
		nitroEncryptingFamilies[f] = true
	}
}

// EncryptsInTransit reports whether an instance type encrypts the traffic to other such
// instances in hardware (AWS Nitro encryption in transit).
func EncryptsInTransit(instanceType string) bool {
	family, _, ok := strings.Cut(instanceType, ".")
	return ok && (nitroEncryptingFamilies[family] || nitroEncryptingRe.MatchString(family))
}

// TransitEncryption says which traffic between the cluster's members the instances' Nitro
// cards encrypt in hardware: traffic is encrypted only when both ends run on types that do.
// Neo4j's own TLS (SSL policies) is another matter; neo4jctl does not configure it.
type TransitEncryption struct {
	CoreToCore       bool     `json:"coreToCore"`
	CoreToReplica    bool     `json:"coreToReplica,omitempty"`     // only with replicas
	ReplicaToReplica bool     `json:"replicaToReplica,omitempty"`  // only with replicas
	Unencrypting     []string `json:"unencryptingTypes,omitempty"` // the config's types that do not
}

// TransitEncryption is what `create cluster --dry-run` can say about member traffic.
func (c *ClusterConfig) TransitEncryption() TransitEncryption {
	var t TransitEncryption
	cores := EncryptsInTransit(c.Cores.InstanceType)
	if !cores {
		t.Unencrypting = append(t.Unencrypting, c.Cores.InstanceType)
	}
	t.CoreToCore = cores
	if c.ReplicaCount() == 0 {
		return t
	}
	replicas := true
	for _, it := range c.Replicas.InstanceTypes {
		if !EncryptsInTransit(it) {
			replicas = false
			if !slices.Contains(t.Unencrypting, it) {
				t.Unencrypting = append(t.Unencrypting, it)
			}
		}
	}
	t.CoreToReplica = cores && replicas
	t.ReplicaToReplica = replicas
	return t
}
