package ops

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// Adoption is what a create takes over from the data an earlier cluster of the same name
// kept (delete without --purge-data), and what it leaves alone. One generation is adopted:
// the newest whose key is usable and that holds data, or, on a resume, the one the live
// shared stack uses. The users' secrets have fixed names, so they are always adopted,
// --fresh-data or not: a fresh cluster's users keep their passwords.
type Adoption struct {
	Cluster string          `json:"-"`
	Fresh   bool            `json:"fresh,omitempty"`
	Resumed bool            `json:"resumed,omitempty"` // the shared stack exists: only members still to create adopt
	Key     *Key            `json:"key,omitempty"`
	Bucket  string          `json:"bucket,omitempty"`
	Volumes []Volume        `json:"volumes,omitempty"` // one per member, member order
	Secrets []Secret        `json:"secrets,omitempty"`
	Left    []string        `json:"leftAlone,omitempty"` // kept data not adopted, and why
	Notes   []string        `json:"notes,omitempty"`     // adopted volumes that differ from cores.volume
	misfits []azMismatch    // volumes in an AZ their member no longer goes to
	live    map[string]bool // member stacks that exist (resume)
}

// Empty reports whether nothing is adopted and nothing left alone.
func (a *Adoption) Empty() bool {
	return a == nil || a.Key == nil && a.Bucket == "" && len(a.Volumes)+len(a.Secrets)+len(a.Left) == 0
}

// Inputs are the stack builders' existing ids (stack.Adoption).
func (a *Adoption) Inputs() stack.Adoption {
	var in stack.Adoption
	if a == nil {
		return in
	}
	if a.Key != nil {
		in.KMSKeyArn = a.Key.ARN
	}
	in.BucketName = a.Bucket
	in.Volumes = map[int]string{}
	for _, v := range a.Volumes {
		in.Volumes[memberIndex(v.Member)] = v.ID
	}
	for _, s := range a.Secrets {
		switch s.Name {
		case naming.AdminSecret(a.Cluster):
			in.AdminSecretArn = s.ARN
		case naming.ReadOnlySecret(a.Cluster):
			in.ReadOnlySecretArn = s.ARN
		case naming.ReadWriteSecret(a.Cluster):
			in.ReadWriteSecretArn = s.ARN
		}
	}
	return in
}

// azMismatch is a kept volume in another AZ than its member's in the new layout.
type azMismatch struct{ member, volume, volumeAZ, memberAZ, where string }

// planAdoption chooses what to adopt from data: the generation of liveKey (a resume), else,
// unless fresh, the newest with a usable key and data; memberAZs are the members' AZs in the
// new layout; live names the member stacks that exist (they keep what they have).
func planAdoption(cfg *cluster.ClusterConfig, data KeptData, memberAZs map[string]string, liveKey string, live map[string]bool, fresh bool) *Adoption {
	a := &Adoption{Cluster: cfg.Metadata.Name, Fresh: fresh && liveKey == "", Resumed: liveKey != "", live: live}
	chosen := -1
	for i, g := range data.Generations {
		usable := g.Key.State == "Enabled" && len(g.Volumes)+len(g.Buckets) > 0
		if liveKey != "" && g.Key.ID == liveKey || liveKey == "" && !fresh && chosen < 0 && usable {
			chosen = i
		}
	}
	for i, g := range data.Generations {
		if i == chosen {
			a.adoptGeneration(cfg, g, memberAZs)
		} else {
			a.leaveGeneration(g, liveKey != "")
		}
	}
	if !a.Resumed {
		a.adoptSecrets(cfg, data.Secrets)
	}
	return a
}

// adoptGeneration takes the generation's key and bucket (unless resumed: the shared stack
// has them) and, for each member still to create, its newest volume.
func (a *Adoption) adoptGeneration(cfg *cluster.ClusterConfig, g Generation, memberAZs map[string]string) {
	if !a.Resumed {
		a.Key = &g.Key
		for i, b := range g.Buckets {
			if i == 0 {
				a.Bucket = b
			} else {
				a.Left = append(a.Left, "bucket "+b+" (a second bucket encrypted by the same key)")
			}
		}
	}
	members := map[string]cluster.Member{}
	for _, m := range cfg.Members() {
		members[m.Name] = m
	}
	taken := map[string]bool{}
	for _, v := range g.Volumes {
		m, ok := members[v.Member]
		switch {
		case !ok:
			a.Left = append(a.Left, fmt.Sprintf("volume %s (%s: not a member of this cluster.yaml, cores.count %d)", v.ID, v.Member, cfg.Cores.Count))
		case a.live[v.Member]:
			// the member's stack exists and keeps its own volume
		case taken[v.Member]:
			a.Left = append(a.Left, fmt.Sprintf("volume %s (%s: an older volume of the member, made %s)", v.ID, v.Member, day(v.Created)))
		default:
			taken[v.Member] = true
			a.adoptVolume(cfg, m, v, memberAZs[m.Name])
		}
	}
}

// adoptVolume adopts v for member m, or records that it is in another AZ than m's.
func (a *Adoption) adoptVolume(cfg *cluster.ClusterConfig, m cluster.Member, v Volume, az string) {
	if az != "" && v.AZ != az {
		where := fmt.Sprintf("AZ %d of the new VPC's %d (network.azCount)", m.SubnetIndex+1, cfg.SubnetSlots())
		if m.Subnet != "" {
			where = fmt.Sprintf("subnet %s, network.subnets[%d]", m.Subnet, m.SubnetIndex)
		}
		a.misfits = append(a.misfits, azMismatch{member: m.Name, volume: v.ID, volumeAZ: v.AZ, memberAZ: az, where: where})
		return
	}
	a.Volumes = append(a.Volumes, v)
	want := cfg.Cores.Volume
	if int(v.SizeGiB) == want.SizeGiB && v.Type == want.Type && (want.IOPS == 0 || int(v.IOPS) == want.IOPS) &&
		(want.ThroughputMiBps == 0 || int(v.Throughput) == want.ThroughputMiBps) {
		return
	}
	fix := fmt.Sprintf("`aws ec2 modify-volume --volume-id %s --size %d --volume-type %s`", v.ID, max(want.SizeGiB, int(v.SizeGiB)), want.Type)
	if int(v.SizeGiB) > want.SizeGiB {
		fix += " (a volume cannot shrink)"
	}
	a.Notes = append(a.Notes, fmt.Sprintf("%s: adopted volume %s is %s; cores.volume asks %d GiB %s. The stack does not change an adopted volume: %s does, online, and the member grows its file system at its next boot",
		v.Member, v.ID, v.shape(), want.SizeGiB, want.Type, fix))
}

// leaveGeneration names a generation that is not adopted, and why.
func (a *Adoption) leaveGeneration(g Generation, resumed bool) {
	why := "an older generation"
	switch {
	case g.Key.ID == "":
		why = "its KMS key is gone"
	case g.Key.pending():
		why = fmt.Sprintf("its KMS key %s is pending deletion on %s; `aws kms cancel-key-deletion --key-id %s` keeps it", g.Key.ID, day(g.Key.Deletion), g.Key.ID)
	case g.Key.State != "Enabled":
		why = fmt.Sprintf("its KMS key %s is %s", g.Key.ID, g.Key.State)
	case a.Fresh:
		why = "--fresh-data"
	case resumed:
		why = "not the generation the existing shared stack uses"
	}
	if g.Key.ID != "" {
		why += fmt.Sprintf(", KMS key %s made %s", g.Key.ID, day(g.Key.Created))
	}
	for _, v := range g.Volumes {
		a.Left = append(a.Left, fmt.Sprintf("volume %s (%s, %s; %s)", v.ID, v.Member, v.AZ, why))
	}
	for _, b := range g.Buckets {
		a.Left = append(a.Left, fmt.Sprintf("bucket %s (%s)", b, why))
	}
	switch {
	case g.Key.ID == "" || g.Key.pending():
	case len(g.Volumes)+len(g.Buckets) == 0:
		a.Left = append(a.Left, fmt.Sprintf("KMS key %s (encrypts nothing that is kept; made %s)", g.Key.ID, day(g.Key.Created)))
	default:
		a.Left = append(a.Left, fmt.Sprintf("KMS key %s (encrypts these)", g.Key.ID))
	}
}

// adoptSecrets adopts the secrets of the users cluster.yaml has; one of a user it no longer
// has is left alone (the stack makes none of that name).
func (a *Adoption) adoptSecrets(cfg *cluster.ClusterConfig, secrets []Secret) {
	want := map[string]bool{naming.AdminSecret(a.Cluster): true}
	if u := cfg.Users; u != nil {
		want[naming.ReadOnlySecret(a.Cluster)] = u.ReadOnly != ""
		want[naming.ReadWriteSecret(a.Cluster)] = u.ReadWrite != ""
	}
	for _, s := range secrets {
		if want[s.Name] {
			a.Secrets = append(a.Secrets, s)
		} else {
			a.Left = append(a.Left, "secret "+s.Name+" (its user is not in cluster.yaml's users)")
		}
	}
}

// AdoptionRefusedError is a create that would have to put kept volumes in an AZ their
// member no longer goes to: an instance can only attach a volume in its own AZ.
type AdoptionRefusedError struct {
	Cluster, File string
	misfits       []azMismatch
}

func (e *AdoptionRefusedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "create of cluster %s refused, nothing was created: volumes that an earlier cluster %s kept are in another AZ than their members go to now:", e.Cluster, e.Cluster)
	for _, m := range e.misfits {
		fmt.Fprintf(&b, "\n  %s: volume %s is in %s; %s goes to %s (%s)", m.member, m.volume, m.volumeAZ, m.member, m.memberAZ, m.where)
	}
	fmt.Fprintf(&b, "\nAn instance attaches only a volume in its own AZ. Either put each member back in its volume's AZ "+
		"(core-N takes network.subnets[(N-1) mod the number of subnets]; in a VPC neo4jctl makes, keep network.azCount as it was), "+
		"or move the data: `aws ec2 create-snapshot --volume-id VOL`, then `aws ec2 create-volume --snapshot-id SNAP --availability-zone AZ` with the old volume's tags, and delete the old volume, "+
		"or start with new, empty volumes: `neo4jctl create cluster -f %s --fresh-data` (the kept data is left as it is).", e.File)
	return b.String()
}

// Text is the adoption for people: what is adopted, what is left alone, what that means.
func (a *Adoption) Text() string {
	if a.Empty() {
		return ""
	}
	var b strings.Builder
	switch {
	case a.Resumed:
		fmt.Fprintf(&b, "Members still to create adopt the volumes kept for them:")
	case a.Fresh:
		fmt.Fprintf(&b, "--fresh-data: new, empty volumes, a new bucket and a new KMS key.")
	case a.Key != nil:
		fmt.Fprintf(&b, "Adopting the data an earlier cluster %s kept (KMS key made %s), so it comes back with its databases, backups and passwords:", a.Cluster, day(a.Key.Created))
	default:
		fmt.Fprintf(&b, "An earlier cluster %s kept data this create does not adopt.", a.Cluster)
	}
	for _, v := range a.Volumes {
		fmt.Fprintf(&b, "\n  %s: volume %s (%s, %s)", v.Member, v.ID, v.AZ, v.shape())
	}
	if a.Key != nil {
		fmt.Fprintf(&b, "\n  KMS key %s", a.Key.ID)
	}
	if a.Bucket != "" {
		fmt.Fprintf(&b, "\n  bucket %s (backups)", a.Bucket)
	}
	for _, s := range a.Secrets {
		fmt.Fprintf(&b, "\n  secret %s (same password)", s.Name)
	}
	if len(a.Secrets) > 0 && (a.Fresh || a.Key == nil) {
		fmt.Fprintf(&b, "\nSecrets keep their fixed names, so they are adopted even with new data: the users keep their passwords, re-encrypted with the new key.")
	}
	if len(a.Volumes) > 0 || a.Bucket != "" {
		fmt.Fprintf(&b, "\nAdopted resources are not managed by the stacks: a later change of cores.volume does not reach these volumes "+
			"(change one with `aws ec2 modify-volume`; the member grows its file system at its next boot), and the bucket keeps its own lifecycle, object lock and logging settings.")
	}
	for _, n := range a.Notes {
		fmt.Fprintf(&b, "\nNote: %s.", n)
	}
	if len(a.Left) > 0 {
		fmt.Fprintf(&b, "\nLeft as it is (`neo4jctl delete cluster %s --purge-data` would delete it, with this cluster's data):", a.Cluster)
		for _, l := range a.Left {
			fmt.Fprintf(&b, "\n  %s", l)
		}
	}
	return b.String()
}

// day is when something was made or goes, for people.
func day(t time.Time) string {
	if t.IsZero() {
		return "at an unknown time"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func (v Volume) shape() string {
	s := fmt.Sprintf("%d GiB %s", v.SizeGiB, v.Type)
	if v.IOPS > 0 {
		s += fmt.Sprintf(", %d IOPS", v.IOPS)
	}
	if v.Throughput > 0 {
		s += fmt.Sprintf(", %d MiB/s", v.Throughput)
	}
	return s
}

// AZReader reads what Fn::GetAZs answers: the region's AZs and the default subnets.
type AZReader interface {
	DescribeAvailabilityZones(context.Context, *ec2.DescribeAvailabilityZonesInput, ...func(*ec2.Options)) (*ec2.DescribeAvailabilityZonesOutput, error)
	DescribeSubnets(context.Context, *ec2.DescribeSubnetsInput, ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
}

// memberAZs is each member's AZ in the new layout: its subnet's AZ in an existing VPC; in a
// VPC neo4jctl makes, the VPC stack's if it exists, else what the stack's Fn::GetAZs will
// pick (the region's AZs in alphabetical order; only those with a default subnet, if any).
func memberAZs(ctx context.Context, api AZReader, cfg *cluster.ClusterConfig, subnetAZs map[string]string, vpc *engine.StackInfo) (map[string]string, error) {
	out := map[string]string{}
	var azs []string
	if !cfg.CreatesVPC() && subnetAZs == nil {
		subs, err := api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: cfg.Network.Subnets})
		if err != nil {
			return nil, fmt.Errorf("network.subnets: %w", awsapi.Clean(err))
		}
		subnetAZs = map[string]string{}
		for _, s := range subs.Subnets {
			subnetAZs[aws.ToString(s.SubnetId)] = aws.ToString(s.AvailabilityZone)
		}
	}
	if cfg.CreatesVPC() && vpc != nil {
		for i := range cfg.SubnetSlots() {
			azs = append(azs, vpc.Outputs[stack.OutputAZ(i)])
		}
	} else if cfg.CreatesVPC() {
		var err error
		if azs, err = getAZs(ctx, api); err != nil {
			return nil, err
		}
	}
	for _, m := range cfg.Members() {
		if m.Subnet != "" {
			out[m.Name] = subnetAZs[m.Subnet]
		} else if m.SubnetIndex < len(azs) {
			out[m.Name] = azs[m.SubnetIndex]
		}
	}
	return out, nil
}

// getAZs is what Fn::GetAZs answers in this account and region.
func getAZs(ctx context.Context, api AZReader) ([]string, error) {
	zones, err := api.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{
		Filters: []ec2types.Filter{{Name: aws.String("state"), Values: []string{"available"}}, {Name: aws.String("zone-type"), Values: []string{"availability-zone"}}},
	})
	if err != nil {
		return nil, fmt.Errorf("reading the region's availability zones (ec2:DescribeAvailabilityZones): %w", awsapi.Clean(err))
	}
	defaults, err := api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	if err != nil {
		return nil, fmt.Errorf("reading the default subnets (ec2:DescribeSubnets): %w", awsapi.Clean(err))
	}
	withDefault := map[string]bool{}
	for _, s := range defaults.Subnets {
		withDefault[aws.ToString(s.AvailabilityZone)] = true
	}
	var azs []string
	for _, z := range zones.AvailabilityZones {
		if name := aws.ToString(z.ZoneName); len(withDefault) == 0 || withDefault[name] {
			azs = append(azs, name)
		}
	}
	slices.Sort(azs)
	return azs, nil
}

// keepAdoption gives each stack that exists the existing ids it was made with, so that an
// update never turns an adopted volume, key, bucket or secret back into one the stack makes
// (a secret of that name exists: the update would fail; a volume would be made new, empty).
func keepAdoption(stacks []stack.Stack, live map[string]*engine.StackInfo) {
	for i, s := range stacks {
		info := live[s.Name]
		if info == nil {
			continue
		}
		for _, p := range stack.ExistingParameters {
			if v := info.Parameters[p]; v != "" && s.Parameters != nil {
				if _, ok := s.Parameters[p]; ok {
					stacks[i].Parameters[p] = v
				}
			}
		}
	}
}

// findAdoption looks up the data an earlier cluster of this name kept and chooses what a
// create of cfg adopts; live are the stacks that exist (a resume) by name. Volumes in the
// wrong AZ are an AdoptionRefusedError. It reads only.
func (c *Cluster) findAdoption(ctx context.Context, api DataAPI, azr AZReader, cfg *cluster.ClusterConfig, file string, subnetAZs map[string]string, live map[string]*engine.StackInfo, fresh bool) (*Adoption, error) {
	var stacks []*engine.StackInfo
	liveKey, liveMembers := "", map[string]bool{}
	for _, s := range live {
		stacks = append(stacks, s)
		switch s.Tags[naming.TagStackKind] {
		case naming.KindShared:
			liveKey = keyID(s.Outputs[stack.OutputKMSKeyArn])
		case naming.KindCore:
			liveMembers[s.Tags[naming.TagMember]] = true
		}
	}
	data, err := dataFinder{api: api, name: c.Name, region: c.Region}.find(ctx, stacks)
	if err != nil {
		return nil, err
	}
	var azs map[string]string
	if slices.ContainsFunc(data.Generations, func(g Generation) bool { return len(g.Volumes) > 0 }) {
		if azs, err = memberAZs(ctx, azr, cfg, subnetAZs, live[naming.StackName(c.Name, naming.KindVPC, 0)]); err != nil {
			return nil, err
		}
	}
	a := planAdoption(cfg, data, azs, liveKey, liveMembers, fresh)
	if len(a.misfits) > 0 {
		return a, &AdoptionRefusedError{Cluster: c.Name, File: file, misfits: a.misfits}
	}
	return a, nil
}

// LookupAdoption is what a create of cfg would adopt, for `create cluster --dry-run=aws`:
// it reads the kept data and the stacks, and changes nothing.
func LookupAdoption(ctx context.Context, c *Cluster, cfg *cluster.ClusterConfig, file string, fresh bool) (*Adoption, error) {
	stacks, err := c.FindStacks(ctx)
	if err != nil {
		return nil, err
	}
	live := map[string]*engine.StackInfo{}
	for _, s := range stacks {
		live[s.Name] = s
	}
	return c.findAdoption(ctx, dataAPI(c.AWS), c.AWS.EC2, cfg, file, nil, live, fresh)
}

// restoreSecrets restores the adopted secrets someone scheduled for deletion: a secret's name
// is taken until it is deleted for good, and it holds the password of the kept data.
func (c *Create) restoreSecrets(ctx context.Context, a *Adoption) error {
	if a == nil {
		return nil
	}
	for i, s := range a.Secrets {
		if s.Deleted.IsZero() {
			continue
		}
		if _, err := c.Data.Secrets.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: aws.String(s.ARN)}); err != nil {
			return fmt.Errorf("restoring secret %s, scheduled for deletion on %s (its name is taken until then): %w", s.Name, day(s.Deleted), awsapi.Clean(err))
		}
		c.emit(SecretRestored{Name: s.Name, Deletion: s.Deleted})
		a.Secrets[i].Deleted = time.Time{}
	}
	return nil
}

// rekeySecrets moves adopted secrets that another key encrypts (a --fresh-data create, or a
// secret of an older generation) to the cluster's key, which is the only one the members'
// roles may decrypt with. Secrets Manager re-encrypts the current and previous versions.
func (c *Create) rekeySecrets(ctx context.Context, a *Adoption) error {
	if a == nil || len(a.Secrets) == 0 {
		return nil
	}
	info, err := c.Stacks.Describe(ctx, naming.StackName(c.Name, naming.KindShared, 0))
	if err != nil || info == nil {
		return err
	}
	arn := info.Outputs[stack.OutputKMSKeyArn]
	for i, s := range a.Secrets {
		if arn == "" || s.KeyID == keyID(arn) {
			continue
		}
		if _, err := c.Data.Secrets.UpdateSecret(ctx, &secretsmanager.UpdateSecretInput{SecretId: aws.String(s.ARN), KmsKeyId: aws.String(arn)}); err != nil {
			return fmt.Errorf("moving secret %s to the cluster's KMS key %s (the members may decrypt only with it): %w", s.Name, keyID(arn), awsapi.Clean(err))
		}
		c.emit(SecretRekeyed{Name: s.Name, From: s.KeyID, To: keyID(arn)})
		a.Secrets[i].KeyID = keyID(arn)
	}
	return nil
}
