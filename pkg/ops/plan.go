package ops

import (
	"fmt"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// Plan is what create will make, in order, and what an operator should know about it: the
// dry run (create cluster --dry-run), made without AWS.
type Plan struct {
	Cluster  string       `json:"cluster"`
	Region   string       `json:"region"`
	Stacks   []PlanStack  `json:"stacks"`
	Members  []PlanMember `json:"members"`
	Replicas int          `json:"replicas"`
	Endpoint string       `json:"endpoint"`
	Notes    []string     `json:"notes,omitempty"`
	// TransitEncryption is which member traffic the instances' Nitro cards encrypt in
	// hardware; TLS is Neo4j's own, as neo4j.config sets it (neo4jctl does not turn it on).
	TransitEncryption cluster.TransitEncryption `json:"transitEncryption"`
	TLS               PlanTLS                   `json:"tls"`
	// Adoption is what create adopts of the data an earlier cluster of the same name kept;
	// nil when not looked up (an offline dry run).
	Adoption *Adoption `json:"adoption,omitempty"`
}

// PlanTLS is whether Neo4j's SSL policies are on: cluster (between members), bolt (clients).
type PlanTLS struct {
	Cluster bool `json:"cluster"`
	Bolt    bool `json:"bolt"`
}

// PlanStack is one CloudFormation stack and its key resources.
type PlanStack struct {
	Name      string   `json:"name"`
	Kind      string   `json:"kind"`
	DependsOn []string `json:"dependsOn,omitempty"`
	Resources []string `json:"resources,omitempty"`
}

// PlanMember is where one core member lives.
type PlanMember struct {
	cluster.Member
	Placement string `json:"placement"`
}

// NewPlan renders the stacks with the same builders create uses (in: what is known without
// AWS, Release.OfflineInputs) and lists them with the members' placement and the notes.
func NewPlan(cfg *cluster.ClusterConfig, in stack.Inputs) (*Plan, error) {
	stacks, err := stack.Build(cfg, in)
	if err != nil {
		return nil, fmt.Errorf("rendering templates: %w", err)
	}
	p := &Plan{
		Cluster:  cfg.Metadata.Name,
		Region:   cfg.Metadata.Region,
		Replicas: cfg.ReplicaCount(),
		Endpoint: naming.BoltURI(cfg.Network.Subdomains.Cores + "." + cfg.Namespace()),
		Notes:    planNotes(cfg),
		// neo4j.conf values are case-insensitive booleans
		TransitEncryption: cfg.TransitEncryption(),
		TLS: PlanTLS{Cluster: strings.EqualFold(cfg.Neo4j.Config["dbms.ssl.policy.cluster.enabled"], "true"),
			Bolt: strings.EqualFold(cfg.Neo4j.Config["dbms.ssl.policy.bolt.enabled"], "true")},
	}
	for _, s := range stacks {
		p.Stacks = append(p.Stacks, PlanStack{Name: s.Name, Kind: s.Kind, DependsOn: s.DependsOn, Resources: markAdopted(s, in.Adopt)})
	}
	for _, m := range cfg.Members() {
		pm := PlanMember{Member: m}
		if cfg.CreatesVPC() {
			pm.Placement = fmt.Sprintf("private subnet in AZ %d of %d (new VPC)", m.SubnetIndex+1, cfg.SubnetSlots())
		} else {
			pm.Placement = fmt.Sprintf("%s (subnet %d of %d)", m.Subnet, m.SubnetIndex+1, cfg.SubnetSlots())
		}
		p.Members = append(p.Members, pm)
	}
	return p, nil
}

// markAdopted marks the key resources (Type LogicalId) a stack adopts instead of making.
func markAdopted(s stack.Stack, a stack.Adoption) []string {
	adopted := map[string]string{}
	switch s.Kind {
	case naming.KindShared:
		adopted = map[string]string{"AWS::KMS::Key Key": keyID(a.KMSKeyArn), "AWS::S3::Bucket Bucket": a.BucketName,
			"AWS::SecretsManager::Secret AdminSecret": a.AdminSecretArn, "AWS::SecretsManager::Secret ReadOnlySecret": a.ReadOnlySecretArn,
			"AWS::SecretsManager::Secret ReadWriteSecret": a.ReadWriteSecretArn}
	case naming.KindCore:
		adopted["AWS::EC2::Volume DataVolume"] = a.Volumes[s.Member]
	}
	out := make([]string, len(s.Resources))
	for i, r := range s.Resources {
		out[i] = r
		if id := adopted[r]; id != "" {
			out[i] = r + ": adopted " + id + ", not made"
		}
	}
	return out
}

// planNotes are what an operator should know before creating: high availability (a
// majority of cores in one subnet), reachability, backups off, a single core.
func planNotes(cfg *cluster.ClusterConfig) []string {
	var notes []string
	if slots := cfg.SubnetSlots(); slots < cfg.Cores.Count && cfg.Cores.Count > 1 {
		if perAZ := (cfg.Cores.Count + slots - 1) / slots; perAZ > cfg.Cores.Count/2 {
			notes = append(notes, fmt.Sprintf("%d cores over %d subnets: losing the busiest subnet loses %d members, a majority; add subnets in other AZs", cfg.Cores.Count, slots, perAZ))
		}
	}
	if len(cfg.Network.ClientAccess.CIDRs) == 0 && len(cfg.Network.ClientAccess.SecurityGroups) == 0 {
		notes = append(notes, "network.clientAccess is empty: only the members and neo4jctl's operations Lambda can reach Neo4j")
	}
	if !cfg.BackupsEnabled() {
		notes = append(notes, "scheduled backups are off (backup.enabled: false)")
	}
	if cfg.Cores.Count == 1 {
		notes = append(notes, "a single core has no fault tolerance: development only")
	}
	return notes
}

// Text is the plan for people.
func (p *Plan) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Plan for cluster %s in %s:\n", p.Cluster, p.Region)
	fmt.Fprintf(&b, "Stacks, in order; stacks that wait on the same stack are created in parallel:\n")
	for _, s := range p.Stacks {
		dep := ""
		if len(s.DependsOn) > 0 {
			dep = " after " + strings.Join(s.DependsOn, ", ")
		}
		fmt.Fprintf(&b, "  %s (%s)%s\n", s.Name, s.Kind, dep)
		for _, r := range s.Resources {
			fmt.Fprintf(&b, "      %s\n", r)
		}
	}
	fmt.Fprintf(&b, "Core members:\n")
	for _, m := range p.Members {
		fmt.Fprintf(&b, "  %-8s %-40s %s\n", m.Name, m.DNSName, m.Placement)
	}
	fmt.Fprintf(&b, "Replicas: %d\n", p.Replicas)
	fmt.Fprintf(&b, "Clients connect to %s\n", p.Endpoint)
	b.WriteString(p.encryptionText())
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "Note: %s\n", n)
	}
	switch {
	case p.Adoption == nil:
		fmt.Fprintf(&b, "Kept data of an earlier cluster %s: not looked up (offline dry run); --dry-run=aws looks in AWS and shows what create adopts.\n", p.Cluster)
	case p.Adoption.Text() == "":
		fmt.Fprintf(&b, "Kept data: none of an earlier cluster %s in %s; create makes new volumes, a new bucket, key and secrets.\n", p.Cluster, p.Region)
	default:
		fmt.Fprintf(&b, "%s\n", p.Adoption.Text())
	}
	return b.String()
}

// encryptionText says what encrypts the cluster's traffic in transit: the instances'
// hardware between members, and Neo4j's TLS where neo4j.config turns it on.
func (p *Plan) encryptionText() string {
	onOff := func(b bool, yes, no string) string {
		if b {
			return yes
		}
		return no
	}
	t := p.TransitEncryption
	var b strings.Builder
	fmt.Fprintf(&b, "Encryption in transit:\n  between members, by the instances' Nitro cards (in hardware): core to core %s", onOff(t.CoreToCore, "yes", "no"))
	if p.Replicas > 0 {
		fmt.Fprintf(&b, ", core to replica %s, replica to replica %s", onOff(t.CoreToReplica, "yes", "no"), onOff(t.ReplicaToReplica, "yes", "no"))
	}
	if len(t.Unencrypting) > 0 {
		fmt.Fprintf(&b, "; not by %s (types that do: r7g, r7i, m7g, c7g, ...)", strings.Join(t.Unencrypting, ", "))
	}
	fmt.Fprintf(&b, "\n  Neo4j TLS between members (dbms.ssl.policy.cluster): %s\n", onOff(p.TLS.Cluster, "on (neo4j.config)", "off"))
	fmt.Fprintf(&b, "  Neo4j TLS for clients (dbms.ssl.policy.bolt): %s\n", onOff(p.TLS.Bolt, "on (neo4j.config)", "off"))
	return b.String()
}
