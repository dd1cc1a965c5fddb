package cluster

import (
	"fmt"
	"maps"
	"net"
	"net/mail"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jversion"
)

var (
	nameRe      = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)
	regionRe    = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$`)
	vpcRe       = regexp.MustCompile(`^vpc-[0-9a-f]{8}([0-9a-f]{9})?$`)
	subnetRe    = regexp.MustCompile(`^subnet-[0-9a-f]{8}([0-9a-f]{9})?$`)
	sgRe        = regexp.MustCompile(`^sg-[0-9a-f]{8}([0-9a-f]{9})?$`)
	nsIDRe      = regexp.MustCompile(`^ns-[a-z0-9]{16}$`)
	dnsLabelRe  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	userRe      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
	dbNameRe    = regexp.MustCompile(`^(\*|[a-z0-9][a-z0-9.-]{2,62})$`)
	instTypeRe  = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	snsARNRe    = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$`)
	confKeyRe   = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)
	memSizeRe   = regexp.MustCompile(`^\d+[kmg]$`)
	imageRe     = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\.[a-z0-9-]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$`)
	rateRe      = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)
	cronRe      = regexp.MustCompile(`^cron\((.*)\)$`)
	maxNameSize = 24
)

// knownRegions are the AWS regions as of late 2026. A region missing here is refused with a
// suggestion rather than sent to AWS; add new regions as they open.
var knownRegions = map[string]bool{}

func init() {
	for _, r := range strings.Fields(`us-east-1 us-east-2 us-west-1 us-west-2 af-south-1 ap-east-1 ap-east-2
		ap-south-1 ap-south-2 ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-4 ap-southeast-5
		ap-southeast-6 ap-southeast-7 ap-northeast-1 ap-northeast-2 ap-northeast-3 ca-central-1 ca-west-1
		eu-central-1 eu-central-2 eu-west-1 eu-west-2 eu-west-3 eu-south-1 eu-south-2 eu-north-1
		il-central-1 me-south-1 me-central-1 mx-central-1 sa-east-1 us-gov-east-1 us-gov-west-1
		cn-north-1 cn-northwest-1`) {
		knownRegions[r] = true
	}
}

func suggestRegion(r string) string {
	best, dist := "", 1<<30
	for k := range knownRegions {
		if d := editDistance(r, k); d < dist || d == dist && k < best {
			best, dist = k, d
		}
	}
	if dist <= 3 {
		return fmt.Sprintf("did you mean %s?", best)
	}
	return "use a region code such as eu-west-1"
}

// logRetentionValues are the retention periods CloudWatch Logs accepts.
var logRetentionValues = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Validate checks a defaulted config and returns every problem at once. f gives lines; it
// may be nil for a config built in code.
func Validate(c *ClusterConfig, f *File) error {
	v := &validator{file: f}
	v.metadata(c)
	v.neo4j(c)
	v.network(c)
	v.cores(c)
	v.replicas(c)
	v.backup(c)
	v.backupBucket(c)
	v.restore(c)
	v.users(c)
	v.rotation(c)
	v.monitoring(c)
	if f != nil {
		v.errs = append(v.errs, explicitZeros(f)...)
	}
	if len(v.errs) == 0 {
		return nil
	}
	sort.SliceStable(v.errs, func(i, j int) bool { return v.errs[i].Line < v.errs[j].Line })
	if f != nil && f.Path != "" {
		v.errs.setFile(f.Path)
	}
	return v.errs
}

type validator struct {
	file *File
	errs ErrorList
}

func (v *validator) add(path, msg, fix string) {
	v.errs = append(v.errs, FieldError{Path: path, Line: v.file.Line(path), Message: msg, Fix: fix})
}

func (v *validator) metadata(c *ClusterConfig) {
	if c.APIVersion != APIVersion {
		v.add("apiVersion", fmt.Sprintf("%q is not supported", c.APIVersion), "use "+APIVersion)
	}
	if c.Kind != Kind {
		v.add("kind", fmt.Sprintf("%q is not supported", c.Kind), "use "+Kind)
	}
	m := c.Metadata
	switch {
	case m.Name == "":
		v.add("metadata.name", "is required", "name the cluster, e.g. graph-prod")
	case len(m.Name) > maxNameSize || !nameRe.MatchString(m.Name) || strings.Contains(m.Name, "--"):
		v.add("metadata.name", fmt.Sprintf("%q cannot be used in stack and DNS names", m.Name),
			fmt.Sprintf("use 2-%d lower-case letters, digits and single dashes, starting with a letter", maxNameSize))
	}
	switch {
	case m.Region == "":
		v.add("metadata.region", "is required", "set metadata.region, pass --region or set AWS_REGION")
	case !regionRe.MatchString(m.Region):
		v.add("metadata.region", fmt.Sprintf("%q is not an AWS region", m.Region), "use a region code such as eu-west-1")
	case !knownRegions[m.Region]:
		v.add("metadata.region", fmt.Sprintf("%q is not a region neo4jctl knows", m.Region), suggestRegion(m.Region))
	}
	v.tags(m.Tags)
}

// tagCharsRe is AWS's tag character set: letters, digits and spaces in any script, and
// _ . : / = + - @.
var tagCharsRe = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// tags applies AWS's tagging rules to metadata.tags, which go on every stack and resource
// beside neo4jctl's own tags. Lengths are in Unicode characters, as AWS counts them.
func (v *validator) tags(tags map[string]string) {
	own := map[string]bool{}
	for _, k := range naming.OwnTagKeys() {
		own[k] = true
	}
	userMax := naming.MaxTagsPerResource - len(own)
	n := 0
	for k := range tags {
		if !own[k] {
			n++
		}
	}
	if n > userMax {
		v.add("metadata.tags", fmt.Sprintf("has %d tags; AWS allows %d per resource and neo4jctl puts up to %d of its own on each", n, naming.MaxTagsPerResource, len(own)),
			fmt.Sprintf("keep at most %d tags", userMax))
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		path, line := joinPath("metadata.tags", k), v.file.Line(joinPath("metadata.tags", k))
		if utf8.RuneCountInString(k) > 40 { // name a long key by its start
			path = joinPath("metadata.tags", string([]rune(k)[:40])+"…")
		}
		add := func(msg, fix string) {
			v.errs = append(v.errs, FieldError{Path: path, Line: line, Message: msg, Fix: fix})
		}
		klen, vlen := utf8.RuneCountInString(k), utf8.RuneCountInString(tags[k])
		switch {
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			add("tag keys starting with aws: are reserved by AWS", "rename the tag")
		case strings.HasPrefix(k, "neo4jctl.io/"):
			add("tag keys starting with neo4jctl.io/ are neo4jctl's own", "rename the tag")
		case klen == 0 || klen > 128:
			add(fmt.Sprintf("the key is %d characters; AWS allows 1 to 128", klen), "shorten the key")
		case !tagCharsRe.MatchString(k):
			add("the key has characters AWS does not allow in tags", "use letters, digits, spaces and _ . : / = + - @")
		case vlen > 256:
			add(fmt.Sprintf("the value is %d characters; AWS allows at most 256", vlen), "shorten the value")
		case !tagCharsRe.MatchString(tags[k]):
			add("the value has characters AWS does not allow in tags", "use letters, digits, spaces and _ . : / = + - @")
		}
	}
}

// deniedSettings are neo4j.conf settings neo4jctl computes; changing them breaks the cluster.
var deniedSettings = []struct{ prefix, why string }{
	{"server.discovery.", "discovery v1 settings; neo4jctl configures discovery v2 itself"},
	{"dbms.cluster.discovery.", "cluster discovery is configured by neo4jctl"},
	{"dbms.cluster.endpoints", "cluster discovery is configured by neo4jctl"},
	{"server.cluster.", "cluster addresses and ports are configured by neo4jctl"},
	{"server.routing.", "routing addresses are configured by neo4jctl"},
	{"server.default_advertised_address", "each member advertises its own DNS name"},
	{"server.default_listen_address", "listen addresses are configured by neo4jctl"},
	{"server.bolt.", "the Bolt connector is configured by neo4jctl"},
	{"server.http.", "the HTTP connector is configured by neo4jctl"},
	{"server.https.", "the HTTPS connector is configured by neo4jctl"},
	{"server.backup.", "the backup listener is configured by neo4jctl"},
	{"initial.dbms.default_primaries_count", "set by neo4jctl from cores.count"},
	{"initial.dbms.default_secondaries_count", "neo4jctl keeps the secondaries equal to replicas.count while the cluster runs"},
	{"dbms.cluster.minimum_initial_system_primaries_count", "set by neo4jctl from cores.count"},
	{"initial.server.mode_constraint", "set by neo4jctl: cores are primaries, replicas secondaries"},
	{"server.memory.heap.", "set neo4j.memory.heap instead"},
	{"server.memory.pagecache.size", "set neo4j.memory.pageCache instead"},
	{"server.directories.", "data and log directories live on the member's volume, set by neo4jctl"},
	{"dbms.security.auth_enabled", "authentication stays on; users are managed by neo4jctl"},
	{"dbms.security.procedures.unrestricted", "neo4jctl's operations need the default procedure security"},
}

func (v *validator) neo4j(c *ClusterConfig) {
	n := c.Neo4j
	if msg, fix := neo4jversion.Problem(n.Version); msg != "" {
		if _, err := ParseVersion(n.Version); err != nil && n.Version != "" {
			fix += ", quoted" // YAML reads 5.10 as a number
		}
		v.add("neo4j.version", msg, fix)
	}
	switch n.AcceptLicense {
	case "yes", "eval":
	case "":
		v.add("neo4j.acceptLicense", "is required: Neo4j Enterprise runs only with its licence accepted", `set acceptLicense: "yes" (commercial licence) or "eval" (evaluation)`)
	default:
		v.add("neo4j.acceptLicense", fmt.Sprintf("%q is not accepted", n.AcceptLicense), `use "yes" or "eval"`)
	}
	if n.Image != "" && !imageRe.MatchString(n.Image) {
		v.add("neo4j.image", fmt.Sprintf("%q is not an image reference", n.Image), "use REGISTRY/REPOSITORY:TAG, or leave it empty for the image `neo4jctl image push` made")
	}
	for _, k := range slices.Sorted(maps.Keys(n.Config)) {
		p := joinPath("neo4j.config", k)
		if secretKey(k) {
			v.add(p, "secret values are not allowed in cluster.yaml", "neo4jctl keeps passwords in AWS Secrets Manager; remove this setting")
			continue
		}
		if !confKeyRe.MatchString(k) {
			v.add(p, "is not a neo4j.conf setting name", "use the dotted name, e.g. db.transaction.timeout")
			continue
		}
		for _, d := range deniedSettings {
			if strings.HasPrefix(k, d.prefix) || strings.HasSuffix(k, ".advertised_address") || strings.HasSuffix(k, ".listen_address") {
				why := d.why
				if !strings.HasPrefix(k, d.prefix) {
					why = "addresses are configured by neo4jctl"
				}
				v.add(p, "cannot be set: "+why, "remove it from neo4j.config")
				break
			}
		}
	}
	m := n.Memory
	if m.ContainerMiB == 0 || m.Heap == "" || m.PageCache == "" {
		if _, known := LookupInstanceType(c.Cores.InstanceType); !known && instTypeRe.MatchString(c.Cores.InstanceType) {
			v.add("cores.instanceType", fmt.Sprintf("neo4jctl does not know the memory of %s", c.Cores.InstanceType), "use a known type (r7g.large, r6i.xlarge, m7g.2xlarge, ...) or set neo4j.memory.containerMiB, heap and pageCache")
		}
		return
	}
	heap, okH := parseMiB(m.Heap)
	pc, okP := parseMiB(m.PageCache)
	if !okH {
		v.add("neo4j.memory.heap", fmt.Sprintf("%q is not a size", m.Heap), "write a size such as 8g or 512m")
	}
	if !okP {
		v.add("neo4j.memory.pageCache", fmt.Sprintf("%q is not a size", m.PageCache), "write a size such as 8g or 512m")
	}
	if okH && okP && heap+pc > m.ContainerMiB*9/10 {
		v.add("neo4j.memory", fmt.Sprintf("heap %s + page cache %s leave less than 10%% of the container's %d MiB for Neo4j's native memory", m.Heap, m.PageCache, m.ContainerMiB), "lower heap or pageCache")
	}
	if it, ok := LookupInstanceType(c.Cores.InstanceType); ok && m.ContainerMiB > it.MemoryMiB-512 {
		v.add("neo4j.memory.containerMiB", fmt.Sprintf("%d MiB does not fit on %s (%d MiB, of which the OS and ECS agent need some)", m.ContainerMiB, it.Name, it.MemoryMiB), fmt.Sprintf("use at most %d", it.MemoryMiB-512))
	}
}

func parseMiB(s string) (int, bool) {
	if !memSizeRe.MatchString(s) {
		return 0, false
	}
	n, _ := strconv.Atoi(s[:len(s)-1])
	switch s[len(s)-1] {
	case 'k':
		return n / 1024, true
	case 'g':
		return n * 1024, true
	}
	return n, true
}

func (v *validator) network(c *ClusterConfig) {
	n := c.Network
	if n.VPCID == "" {
		if len(n.Subnets) > 0 {
			v.add("network.subnets", "subnets were given without network.vpcID", "set network.vpcID to the subnets' VPC, or remove subnets to let neo4jctl create a VPC")
		}
		if _, ipn, err := net.ParseCIDR(n.CIDR); err != nil || ipn.IP.To4() == nil {
			v.add("network.cidr", fmt.Sprintf("%q is not an IPv4 CIDR", n.CIDR), "use e.g. 10.42.0.0/16")
		} else if ones, _ := ipn.Mask.Size(); ones < 16 || ones > 22 {
			v.add("network.cidr", fmt.Sprintf("/%d does not fit the VPC neo4jctl creates", ones), "use a prefix from /16 to /22")
		}
		if n.AZCount < 2 || n.AZCount > 3 {
			v.add("network.azCount", fmt.Sprintf("%d is not supported", n.AZCount), "use 2 or 3")
		}
		if n.NATGateways != 1 && n.NATGateways != n.AZCount {
			v.add("network.natGateways", fmt.Sprintf("%d does not match the design", n.NATGateways), fmt.Sprintf("use 1 (cheaper) or %d (one per AZ)", n.AZCount))
		}
	} else {
		if !vpcRe.MatchString(n.VPCID) {
			v.add("network.vpcID", fmt.Sprintf("%q is not a VPC id", n.VPCID), "use the id from the VPC console, e.g. vpc-0abc1234def567890")
		}
		if len(n.Subnets) == 0 {
			v.add("network.subnets", "are required with network.vpcID", "list the private subnets for the members, one per AZ")
		}
		seen := map[string]int{}
		for i, s := range n.Subnets {
			p := fmt.Sprintf("network.subnets[%d]", i)
			if !subnetRe.MatchString(s) {
				v.add(p, fmt.Sprintf("%q is not a subnet id", s), "use ids such as subnet-0abc1234def567890")
			}
			if j, dup := seen[s]; dup {
				v.add(p, fmt.Sprintf("%s is listed twice (also at subnets[%d])", s, j), "list each subnet once")
			}
			seen[s] = i
		}
		if n.CIDR != "" && n.CIDR != DefaultVPCCIDR {
			v.add("network.cidr", "only applies to a VPC neo4jctl creates", "remove it")
		}
	}
	for i, cidr := range n.ClientAccess.CIDRs {
		p := fmt.Sprintf("network.clientAccess.cidrs[%d]", i)
		_, ipn, err := net.ParseCIDR(cidr)
		switch {
		case err != nil:
			v.add(p, fmt.Sprintf("%q is not a CIDR", cidr), "use e.g. 10.0.0.0/8")
		case ipn.String() != cidr:
			v.add(p, fmt.Sprintf("%q has host bits set", cidr), "use "+ipn.String())
		default:
			if ones, _ := ipn.Mask.Size(); ones == 0 {
				v.add(p, "opens Neo4j to the whole internet", "list the networks of your applications; the cluster is private by design")
			}
		}
	}
	for i, sg := range n.ClientAccess.SecurityGroups {
		if !sgRe.MatchString(sg) {
			v.add(fmt.Sprintf("network.clientAccess.securityGroups[%d]", i), fmt.Sprintf("%q is not a security group id", sg), "use ids such as sg-0abc1234def567890")
		}
	}
	if n.NamespaceID != "" && !nsIDRe.MatchString(n.NamespaceID) {
		v.add("network.namespaceID", fmt.Sprintf("%q is not a Cloud Map namespace id", n.NamespaceID), "use the id such as ns-abcdefgh12345678")
	}
	// a namespace derived from a bad name is already reported as the name
	derivedFromBadName := n.Namespace == c.Metadata.Name+".neo4j.internal" && !nameRe.MatchString(c.Metadata.Name)
	if n.NamespaceID == "" && !derivedFromBadName {
		labels := strings.Split(n.Namespace, ".")
		ok := len(n.Namespace) <= 200 && len(labels) >= 2
		for _, l := range labels {
			ok = ok && dnsLabelRe.MatchString(l)
		}
		if !ok {
			v.add("network.namespace", fmt.Sprintf("%q is not a private DNS name", n.Namespace), "use lower-case DNS labels such as graph.neo4j.internal")
		}
	}
	for _, s := range []struct{ path, val string }{{"network.subdomains.cores", n.Subdomains.Cores}, {"network.subdomains.replicas", n.Subdomains.Replicas}} {
		if !dnsLabelRe.MatchString(s.val) || len(s.val) > 50 {
			v.add(s.path, fmt.Sprintf("%q is not a DNS label", s.val), "use lower-case letters, digits and dashes")
		}
	}
	if n.Subdomains.Cores == n.Subdomains.Replicas {
		v.add("network.subdomains.replicas", "must differ from network.subdomains.cores", "")
	}
}

func (v *validator) cores(c *ClusterConfig) {
	k := c.Cores
	switch {
	case k.Count == 3 || k.Count == 5 || k.Count == 7:
	case k.Count == 1 && k.AllowNonHA:
	case k.Count == 1:
		v.add("cores.count", "1 core has no fault tolerance", "use 3, 5 or 7; or set cores.allowNonHA: true for a development setup")
	default:
		v.add("cores.count", fmt.Sprintf("%d is not supported", k.Count), "use 3, 5 or 7: an odd number keeps a majority through one (3), two (5) or three (7) lost members")
	}
	if !instTypeRe.MatchString(k.InstanceType) {
		v.add("cores.instanceType", fmt.Sprintf("%q is not an EC2 instance type", k.InstanceType), "use e.g. r7g.large")
	}
	v.volume(k.Volume)
}

// EBS limits per volume type: size GiB, IOPS, and IOPS per GiB.
var ebsLimits = map[string]struct{ minSize, maxSize, minIOPS, maxIOPS, iopsPerGiB int }{
	"gp3": {1, 16384, 3000, 16000, 500},
	"io2": {4, 65536, 100, 256000, 1000},
	"io1": {4, 16384, 100, 64000, 50},
}

func (v *validator) volume(vol Volume) {
	lim, ok := ebsLimits[vol.Type]
	if !ok {
		v.add("cores.volume.type", fmt.Sprintf("%q is not supported", vol.Type), "use gp3 (default), io2 or io1")
		return
	}
	switch {
	case vol.SizeGiB < 10:
		v.add("cores.volume.sizeGiB", fmt.Sprintf("%d GiB is too small for a Neo4j member", vol.SizeGiB), "use at least 10")
	case vol.SizeGiB < lim.minSize || vol.SizeGiB > lim.maxSize:
		v.add("cores.volume.sizeGiB", fmt.Sprintf("%d GiB is outside %s's %d-%d GiB", vol.SizeGiB, vol.Type, lim.minSize, lim.maxSize), "")
	}
	switch {
	case vol.IOPS < lim.minIOPS || vol.IOPS > lim.maxIOPS:
		v.add("cores.volume.iops", fmt.Sprintf("%d is outside %s's %d-%d IOPS", vol.IOPS, vol.Type, lim.minIOPS, lim.maxIOPS), "")
	case vol.IOPS > vol.SizeGiB*lim.iopsPerGiB && vol.IOPS > 3000:
		v.add("cores.volume.iops", fmt.Sprintf("%d IOPS exceeds %d per GiB of a %d GiB %s volume", vol.IOPS, lim.iopsPerGiB, vol.SizeGiB, vol.Type), fmt.Sprintf("raise sizeGiB to %d or lower iops", (vol.IOPS+lim.iopsPerGiB-1)/lim.iopsPerGiB))
	}
	if vol.Type == "gp3" {
		switch {
		case vol.ThroughputMiBps < 125 || vol.ThroughputMiBps > 1000:
			v.add("cores.volume.throughputMiBps", fmt.Sprintf("%d is outside gp3's 125-1000 MiB/s", vol.ThroughputMiBps), "")
		case vol.ThroughputMiBps > 125 && vol.ThroughputMiBps*4 > vol.IOPS:
			v.add("cores.volume.throughputMiBps", fmt.Sprintf("%d MiB/s needs at least %d IOPS (0.25 MiB/s per IOPS)", vol.ThroughputMiBps, vol.ThroughputMiBps*4), "raise iops or lower throughputMiBps")
		}
	} else if vol.ThroughputMiBps != 0 {
		v.add("cores.volume.throughputMiBps", "only applies to gp3 volumes", "remove it")
	}
}

func (v *validator) replicas(c *ClusterConfig) {
	r := c.Replicas
	if r == nil {
		return
	}
	if r.Count < 0 || r.Count > 20 {
		v.add("replicas.count", fmt.Sprintf("%d is not supported", r.Count), "use 0 to 20")
	}
	arch := ""
	for i, t := range r.InstanceTypes {
		p := fmt.Sprintf("replicas.instanceTypes[%d]", i)
		if !instTypeRe.MatchString(t) {
			v.add(p, fmt.Sprintf("%q is not an EC2 instance type", t), "use e.g. r7g.large")
			continue
		}
		if a := InstanceArch(t); arch == "" {
			arch = a
		} else if a != arch {
			v.add(p, fmt.Sprintf("%s is %s but the first type is %s", t, a, arch), "use one CPU architecture for all replica instance types")
		}
	}
	if r.Spot && len(r.InstanceTypes) < 2 {
		v.add("replicas.instanceTypes", "Spot with one instance type is interrupted often", "list two or more types of the same size, e.g. [r7g.large, r6g.large]")
	}
}

func (v *validator) backup(c *ClusterConfig) {
	b := c.Backup
	if b.Enabled != nil && !*b.Enabled {
		if b.Verify.Schedule != "" {
			v.add("backup.verify.schedule", "verifies backups, but backups are off", "remove backup.verify or set backup.enabled: true")
		}
		return
	}
	if b.Verify.Schedule != "" {
		if msg := checkSchedule(b.Verify.Schedule); msg != "" {
			v.add("backup.verify.schedule", msg, `use cron(0 4 ? * SUN *) for a weekly check`)
		}
	}
	if msg := checkSchedule(b.Schedule.Full); msg != "" {
		v.add("backup.schedule.full", msg, `use cron(0 2 * * ? *) or rate(1 day)`)
	}
	if b.Schedule.Differential != "" {
		if msg := checkSchedule(b.Schedule.Differential); msg != "" {
			v.add("backup.schedule.differential", msg, `use rate(1 hour) or cron(0 * * * ? *)`)
		}
	}
	if b.Retention.Days < 1 || b.Retention.Days > 3650 {
		v.add("backup.retention.days", fmt.Sprintf("%d is not supported", b.Retention.Days), "use 1 to 3650")
	}
	for i, db := range b.Databases {
		if !dbNameRe.MatchString(db) {
			v.add(fmt.Sprintf("backup.databases[%d]", i), fmt.Sprintf("%q is not a database name", db), `use * for all, or names of 3-63 lower-case letters, digits, dots and dashes`)
		}
	}
}

// checkSchedule validates an EventBridge Scheduler expression; it returns what is wrong.
func checkSchedule(expr string) string {
	if m := rateRe.FindStringSubmatch(expr); m != nil {
		n, _ := strconv.Atoi(m[1])
		unit := m[2]
		switch {
		case n < 1:
			return "a rate must be at least 1"
		case n == 1 && strings.HasSuffix(unit, "s"):
			return fmt.Sprintf("rate(1 %s) must be singular: rate(1 %s)", unit, strings.TrimSuffix(unit, "s"))
		case n > 1 && !strings.HasSuffix(unit, "s"):
			return fmt.Sprintf("rate(%d %s) must be plural: rate(%d %ss)", n, unit, n, unit)
		case strings.HasPrefix(unit, "minute") && n < 15:
			return "backups more often than every 15 minutes overlap each other"
		}
		return ""
	}
	m := cronRe.FindStringSubmatch(expr)
	if m == nil {
		if expr == "" {
			return "is required"
		}
		return fmt.Sprintf("%q is not a schedule expression", expr)
	}
	f := strings.Fields(m[1])
	if len(f) != 6 {
		return fmt.Sprintf("cron needs 6 fields (minutes hours day-of-month month day-of-week year), got %d", len(f))
	}
	if (f[2] == "?") == (f[4] == "?") {
		return "cron needs ? in exactly one of day-of-month and day-of-week"
	}
	for i, lim := range [][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {1, 7}, {1970, 2199}} {
		if err := cronField(f[i], lim[0], lim[1]); err != "" {
			names := []string{"minutes", "hours", "day-of-month", "month", "day-of-week", "year"}
			return fmt.Sprintf("cron %s field %q: %s", names[i], f[i], err)
		}
	}
	return ""
}

var cronTokenRe = regexp.MustCompile(`^(\*|\?|L|LW|\d+W|\d+L|\d+#\d|[A-Z]{3}|\d+)(-(\d+|[A-Z]{3}))?(/\d+)?$`)

func cronField(field string, lo, hi int) string {
	for _, part := range strings.Split(field, ",") {
		if !cronTokenRe.MatchString(part) {
			return "not a cron value"
		}
		for _, num := range regexp.MustCompile(`^\d+|-\d+`).FindAllString(part, -1) {
			n, _ := strconv.Atoi(strings.TrimPrefix(num, "-"))
			if n < lo || n > hi {
				return fmt.Sprintf("%d is outside %d-%d", n, lo, hi)
			}
		}
	}
	return ""
}

func (v *validator) restore(c *ClusterConfig) {
	if c.Restore == nil {
		return
	}
	from := c.Restore.From
	bucket, key, ok := strings.Cut(strings.TrimPrefix(from, "s3://"), "/")
	switch {
	case from == "":
		v.add("restore.from", "is required in restore", "give the backup's s3://bucket/path, or remove restore")
	case !strings.HasPrefix(from, "s3://") || !ok || bucket == "" || key == "":
		v.add("restore.from", fmt.Sprintf("%q is not an s3://bucket/path URI", from), "use the backup location, e.g. s3://my-backups/graph-prod/2026-11-01/")
	}
}

func (v *validator) users(c *ClusterConfig) {
	u := c.Users
	if u == nil {
		return
	}
	for _, f := range []struct{ path, name string }{{"users.readOnly", u.ReadOnly}, {"users.readWrite", u.ReadWrite}} {
		switch {
		case f.name == "":
		case !userRe.MatchString(f.name):
			v.add(f.path, fmt.Sprintf("%q is not a Neo4j user name", f.name), "use letters, digits and underscores, starting with a letter")
		case f.name == "neo4j":
			v.add(f.path, "neo4j is the admin user", "choose another name")
		}
	}
	if u.ReadOnly != "" && u.ReadOnly == u.ReadWrite {
		v.add("users.readWrite", "must differ from users.readOnly", "")
	}
}

func (v *validator) monitoring(c *ClusterConfig) {
	m := c.Monitoring
	if m.AlarmEmail != "" && m.SNSTopicARN != "" {
		v.add("monitoring.snsTopicARN", "both alarmEmail and snsTopicARN are set", "set one: alarmEmail creates a topic, snsTopicARN uses yours")
	}
	if m.AlarmEmail != "" {
		if a, err := mail.ParseAddress(m.AlarmEmail); err != nil || a.Address != m.AlarmEmail {
			v.add("monitoring.alarmEmail", fmt.Sprintf("%q is not an email address", m.AlarmEmail), "")
		}
	}
	if m.SNSTopicARN != "" && !snsARNRe.MatchString(m.SNSTopicARN) {
		v.add("monitoring.snsTopicARN", fmt.Sprintf("%q is not an SNS topic ARN", m.SNSTopicARN), "use arn:aws:sns:REGION:ACCOUNT:NAME")
	}
	if m.SlowQueryLog.Enabled {
		d, err := time.ParseDuration(m.SlowQueryLog.Threshold)
		switch {
		case err != nil:
			v.add("monitoring.slowQueryLog.threshold", fmt.Sprintf("%q is not a duration", m.SlowQueryLog.Threshold), "use e.g. 500ms or 2s")
		case d < 10*time.Millisecond:
			v.add("monitoring.slowQueryLog.threshold", "below 10ms logs nearly every query", "use 100ms or more")
		}
	} else if m.SlowQueryLog.Threshold != "" {
		v.add("monitoring.slowQueryLog.threshold", "is set but slowQueryLog.enabled is false", "set enabled: true or remove threshold")
	}
	okRetention := false
	for _, d := range logRetentionValues {
		okRetention = okRetention || d == m.LogRetentionDays
	}
	if !okRetention {
		v.add("monitoring.logRetentionDays", fmt.Sprintf("%d is not a CloudWatch Logs retention", m.LogRetentionDays), "use one of 1, 3, 5, 7, 14, 30, 60, 90, 180, 365, ...")
	}
}

var (
	s3BucketRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	kmsKeyRe   = regexp.MustCompile(`^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:key/(mrk-)?[0-9a-f-]{32,36}$`)
)

// bucketNameProblem says what is wrong with an S3 bucket name ("" when nothing).
func bucketNameProblem(name string) string {
	switch {
	case !s3BucketRe.MatchString(name):
		return fmt.Sprintf("%q is not an S3 bucket name", name)
	case strings.Contains(name, ".."), net.ParseIP(name) != nil:
		return fmt.Sprintf("%q is not an S3 bucket name", name)
	}
	return ""
}

// backupBucket checks the cluster bucket's hardening: access logs, object lock, the copy in
// another region. Object lock and the copy apply to backups, so they need backups on.
func (v *validator) backupBucket(c *ClusterConfig) {
	b := c.Backup
	off := b.Enabled != nil && !*b.Enabled
	if l := b.AccessLogs; l != nil {
		if msg := bucketNameProblem(l.Bucket); msg != "" {
			v.add("backup.accessLogs.bucket", msg, "name an existing bucket of yours in "+c.Metadata.Region+" (SSE-S3, no object lock) that lets logging.s3.amazonaws.com put objects")
		}
		if len(l.Prefix) > 512 || strings.HasPrefix(l.Prefix, "/") {
			v.add("backup.accessLogs.prefix", fmt.Sprintf("%q is not a key prefix", l.Prefix), "use e.g. "+c.Metadata.Name+"/")
		}
	}
	if l := b.ObjectLock; l != nil {
		if off {
			v.add("backup.objectLock", "locks backups, but backups are off", "remove backup.objectLock or set backup.enabled: true")
		}
		if l.Mode != "governance" && l.Mode != "compliance" {
			v.add("backup.objectLock.mode", fmt.Sprintf("%q is not an object lock mode", l.Mode), "use governance (deletable with s3:BypassGovernanceRetention) or compliance (by no one)")
		}
		switch {
		case l.Days < 1 || l.Days > 3650:
			v.add("backup.objectLock.days", fmt.Sprintf("%d is not supported", l.Days), "use 1 to 3650")
		case !off && l.Days > b.Retention.Days:
			v.add("backup.objectLock.days", fmt.Sprintf("%d days is longer than backup.retention.days (%d): retention would meet backups it may not delete yet", l.Days, b.Retention.Days),
				fmt.Sprintf("lock for at most %d days, or raise backup.retention.days to %d", b.Retention.Days, l.Days))
		}
	}
	if cp := b.CopyTo; cp != nil {
		if off {
			v.add("backup.copyTo", "copies backups, but backups are off", "remove backup.copyTo or set backup.enabled: true")
		}
		switch {
		case !regionRe.MatchString(cp.Region) || !knownRegions[cp.Region]:
			v.add("backup.copyTo.region", fmt.Sprintf("%q is not a region neo4jctl knows", cp.Region), suggestRegion(cp.Region))
		case cp.Region == c.Metadata.Region:
			v.add("backup.copyTo.region", "is the cluster's own region: the copy would not survive the region", "choose another region, e.g. the region of your disaster recovery site")
		}
		if msg := bucketNameProblem(cp.Bucket); msg != "" {
			v.add("backup.copyTo.bucket", msg, "name an existing versioned bucket in "+cp.Region)
		}
		if m := kmsKeyRe.FindStringSubmatch(cp.KMSKeyARN); m == nil {
			v.add("backup.copyTo.kmsKeyARN", fmt.Sprintf("%q is not a KMS key ARN", cp.KMSKeyARN), "use arn:aws:kms:"+cp.Region+":ACCOUNT:key/KEY-ID of a key in "+cp.Region)
		} else if m[1] != cp.Region {
			v.add("backup.copyTo.kmsKeyARN", fmt.Sprintf("the key is in %s, the copy in %s", m[1], cp.Region), "use a key in "+cp.Region+" (S3 encrypts the copy in its own region)")
		}
	}
}

// rotation checks the password rotation schedule (Secrets Manager takes 1 to 1000 days).
func (v *validator) rotation(c *ClusterConfig) {
	if c.Users == nil || c.Users.Rotation == nil {
		return
	}
	if d := c.Users.Rotation.Days; d < 1 || d > 1000 {
		v.add("users.rotation.days", fmt.Sprintf("%d is not supported", d), "use 1 to 1000 (Secrets Manager's range), e.g. 30")
	}
}
