package stack

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// Every cluster.yaml field must reach AWS where it belongs. moto, cfn-lint and checkov all
// accepted core launch templates without an instance type, so passing them proves nothing
// about a field: this table does. Each field of the schema (cluster.Schema, so a new field
// without an entry fails TestEveryFieldHasAnEffect) is changed on a full config, and the
// rendering (templates, parameters, tags, region of every stack) must change in exactly the
// stack kinds named, with the new value written out where it has a literal form.

// fieldEffect is where one field shows.
type fieldEffect struct {
	base   string                         // full config to change: baseExisting or baseCreated
	change func(c *cluster.ClusterConfig) // a valid change of the field (and only of what validation couples to it)
	kinds  []string                       // stack kinds whose rendering must change, exactly
	// literal must appear in every changed stack of the kinds in literalIn (default: every
	// changed kind) and in no stack of the base config ("" for values with no literal form,
	// e.g. booleans, or none kept as given, e.g. a count that becomes one stack per member).
	literal   string
	literalIn []string
	// none, when set, says why the field has no rendering of its own (then change and
	// kinds are empty). Kept for fields that only steer validation.
	none string
}

const (
	baseExisting = "existing"
	baseCreated  = "created"
)

const kindsAll = "all"

// fullConfigs set every field, so a change of any one is a change from a real value.
var fullConfigs = map[string]string{
	baseExisting: `
metadata: {name: fx, region: eu-west-1, tags: {team: graph}}
neo4j:
  version: "5.26.30"
  acceptLicense: "yes"
  image: 111111111111.dkr.ecr.eu-west-1.amazonaws.com/neo4j:5.26.30-custom
  config: {db.transaction.timeout: 60s}
  memory: {containerMiB: 28000, heap: 10g, pageCache: 12g}
network:
  vpcID: vpc-0a1b2c3d4e5f60718
  subnets: [subnet-0a1b2c3d4e5f60711, subnet-0a1b2c3d4e5f60722, subnet-0a1b2c3d4e5f60733]
  clientAccess: {cidrs: [10.0.0.0/8], securityGroups: [sg-0a1b2c3d4e5f60799]}
  namespace: fx.neo4j.internal
  subdomains: {cores: core, replicas: replica}
cores:
  count: 3
  instanceType: r7g.xlarge
  volume: {sizeGiB: 500, type: gp3, iops: 6000, throughputMiBps: 250}
replicas: {count: 2, instanceTypes: [r7g.xlarge, r6g.xlarge], spot: true}
backup:
  enabled: true
  schedule: {full: "cron(0 2 * * ? *)", differential: "rate(1 hour)"}
  retention: {days: 30}
  databases: ["*"]
  accessLogs: {bucket: fx-access-logs, prefix: fx/}
  objectLock: {mode: governance, days: 14}
  copyTo: {region: eu-north-1, bucket: fx-dr, kmsKeyARN: "arn:aws:kms:eu-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
  verify: {schedule: "cron(0 4 ? * SAT *)"}
restore: {from: "s3://old-backups/graph/"}
users: {readOnly: reader, readWrite: app, rotation: {days: 30}}
monitoring:
  alarmEmail: ops@example.com
  slowQueryLog: {enabled: true, threshold: 500ms}
  debugLog: true
  dashboard: true
  containerInsights: true
  logRetentionDays: 90
`,
	baseCreated: `
metadata: {name: fc, region: eu-west-1}
neo4j: {acceptLicense: "yes"}
network: {cidr: 10.42.0.0/16, azCount: 3, natGateways: 1, vpcEndpoints: false}
monitoring: {snsTopicARN: "arn:aws:sns:eu-west-1:123456789012:alarms"}
`,
}

func ptr[T any](v T) *T { return &v }

// fieldEffects: one entry per leaf field of cluster.Schema.
var fieldEffects = map[string]fieldEffect{
	"apiVersion": {none: "fixed by the format (neo4jctl.io/v1alpha1); validation refuses any other"},
	"kind":       {none: "fixed by the format (ClusterConfig); validation refuses any other"},

	"metadata.name": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Metadata.Name = "fxrenamed"
	}, kinds: []string{kindsAll}, literal: "fxrenamed"},
	"metadata.region": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Metadata.Region = "eu-central-1"
	}, kinds: []string{kindsAll}, literal: "eu-central-1"},
	"metadata.tags": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Metadata.Tags["cost-center"] = "cc-4711"
	}, kinds: []string{kindsAll}, literal: "cc-4711"},

	"neo4j.version": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Neo4j.Version = "5.26.31"
	}, kinds: []string{naming.KindCore, naming.KindReplicas, naming.KindOperations}, literal: "5.26.31"},
	"neo4j.acceptLicense": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Neo4j.AcceptLicense = "eval"
	}, kinds: []string{naming.KindCore, naming.KindReplicas, naming.KindOperations}, literal: `"eval"`},
	"neo4j.image": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Neo4j.Image = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/neo4j:patched"
	}, kinds: []string{naming.KindCore, naming.KindReplicas, naming.KindOperations}, literal: "neo4j:patched"},
	"neo4j.config": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Neo4j.Config["db.lock.acquisition.timeout"] = "17s"
	}, kinds: []string{naming.KindCore, naming.KindReplicas}, literal: "NEO4J_db_lock_acquisition_timeout"},
	"neo4j.memory.containerMiB": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Neo4j.Memory.ContainerMiB = 27777
	}, kinds: []string{naming.KindCore, naming.KindReplicas}, literal: "27777"},
	"neo4j.memory.heap": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Neo4j.Memory.Heap = "9g"
	}, kinds: []string{naming.KindCore, naming.KindReplicas}, literal: `"9g"`},
	"neo4j.memory.pageCache": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Neo4j.Memory.PageCache = "11g"
	}, kinds: []string{naming.KindCore, naming.KindReplicas}, literal: `"11g"`},

	"network.vpcID": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Network.VPCID = "vpc-0fedcba9876543210"
	}, kinds: []string{naming.KindShared}, literal: "vpc-0fedcba9876543210"},
	"network.subnets": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Network.Subnets[2] = "subnet-0fedcba9876543210"
	}, kinds: []string{naming.KindCore, naming.KindReplicas, naming.KindOperations}, literal: "subnet-0fedcba9876543210"},
	"network.cidr": {base: baseCreated, change: func(c *cluster.ClusterConfig) {
		c.Network.CIDR = "10.77.0.0/16"
	}, kinds: []string{naming.KindVPC}, literal: "10.77.0.0/16"},
	"network.azCount": {base: baseCreated, change: func(c *cluster.ClusterConfig) {
		c.Network.AZCount = 2
	}, kinds: []string{naming.KindVPC, naming.KindCore, naming.KindOperations}}, // members round-robin over fewer subnets
	"network.natGateways": {base: baseCreated, change: func(c *cluster.ClusterConfig) {
		c.Network.NATGateways = 3
	}, kinds: []string{naming.KindVPC}, literal: "NATGateway3"},
	"network.vpcEndpoints": {base: baseCreated, change: func(c *cluster.ClusterConfig) {
		c.Network.VPCEndpoints = true
	}, kinds: []string{naming.KindVPC}, literal: "com.amazonaws.${AWS::Region}.ecr.dkr"},
	"network.clientAccess.cidrs": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Network.ClientAccess.CIDRs = append(c.Network.ClientAccess.CIDRs, "172.31.64.0/20")
	}, kinds: []string{naming.KindShared}, literal: "172.31.64.0/20"},
	"network.clientAccess.securityGroups": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Network.ClientAccess.SecurityGroups = append(c.Network.ClientAccess.SecurityGroups, "sg-0fedcba9876543210")
	}, kinds: []string{naming.KindShared}, literal: "sg-0fedcba9876543210"},
	"network.namespace": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Network.Namespace = "graph.example.internal"
	}, kinds: []string{naming.KindShared, naming.KindCore, naming.KindReplicas, naming.KindOperations}, literal: "graph.example.internal"},
	"network.namespaceID": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Network.NamespaceID = "ns-abcdefgh12345678"
	}, kinds: []string{naming.KindShared}, literal: "ns-abcdefgh12345678"},
	"network.subdomains.cores": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Network.Subdomains.Cores = "primary" // also names the members: primary-N
	}, kinds: []string{naming.KindCore, naming.KindReplicas, naming.KindOperations}, literal: "primary"},
	"network.subdomains.replicas": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Network.Subdomains.Replicas = "reader"
	}, kinds: []string{naming.KindOperations}, literal: "reader.fx.neo4j.internal"},

	"cores.count": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Cores.Count = 5
	}, kinds: []string{naming.KindCore, naming.KindReplicas, naming.KindOperations}, literal: "core-5.fx.neo4j.internal"},
	"cores.allowNonHA": {none: "validation only: permits cores.count 1, whose rendering is cores.count's"},
	"cores.instanceType": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Cores.InstanceType = "r7g.2xlarge"
	}, kinds: []string{naming.KindCore}, literal: `"r7g.2xlarge"`},
	"cores.volume.sizeGiB": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Cores.Volume.SizeGiB = 777
	}, kinds: []string{naming.KindCore, naming.KindReplicas, naming.KindOperations}, literal: "777", literalIn: []string{naming.KindCore}}, // replicas: a root volume 30 GiB larger; operations: backup and verify tasks sized from it
	"cores.volume.type": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Cores.Volume.Type, c.Cores.Volume.ThroughputMiBps = "io2", 0 // throughput is gp3's alone
	}, kinds: []string{naming.KindCore}, literal: `"io2"`},
	"cores.volume.iops": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Cores.Volume.IOPS = 7321
	}, kinds: []string{naming.KindCore}, literal: "7321"},
	"cores.volume.throughputMiBps": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Cores.Volume.ThroughputMiBps = 321
	}, kinds: []string{naming.KindCore}, literal: "321"},

	"replicas.count": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Replicas.Count = 7
	}, kinds: []string{naming.KindReplicas}, literal: `"7"`},
	"replicas.instanceTypes": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Replicas.InstanceTypes = []string{"m7g.2xlarge", "m6g.2xlarge"}
	}, kinds: []string{naming.KindReplicas}, literal: "m6g.2xlarge"},
	"replicas.spot": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Replicas.Spot = false
	}, kinds: []string{naming.KindReplicas}},

	"backup.enabled": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Backup.Enabled = ptr(false)
		c.Backup.Verify.Schedule = "" // verifies backups: refused without them
		c.Backup.ObjectLock, c.Backup.CopyTo = nil, nil
	}, kinds: []string{naming.KindShared, naming.KindOperations}}, // shared: the bucket without lock and copy
	"backup.accessLogs.bucket": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Backup.AccessLogs.Bucket = "fx-audit-logs"
	}, kinds: []string{naming.KindShared}, literal: "fx-audit-logs"},
	"backup.accessLogs.prefix": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Backup.AccessLogs.Prefix = "s3-access/fx/"
	}, kinds: []string{naming.KindShared}, literal: "s3-access/fx/"},
	"backup.objectLock.mode": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Backup.ObjectLock.Mode = "compliance"
	}, kinds: []string{naming.KindShared, naming.KindOperations}, literal: "COMPLIANCE"}, // the bucket's default retention; the backup task's retention
	"backup.objectLock.days": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Backup.ObjectLock.Days = 23
	}, kinds: []string{naming.KindShared, naming.KindOperations}, literal: "GOVERNANCE:23", literalIn: []string{naming.KindOperations}},
	"backup.copyTo.region": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Backup.CopyTo.Region = "eu-south-1" // with a key there: validation couples them
		c.Backup.CopyTo.KMSKeyARN = "arn:aws:kms:eu-south-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	}, kinds: []string{naming.KindShared}, literal: "s3.eu-south-1.amazonaws.com"},
	"backup.copyTo.bucket": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Backup.CopyTo.Bucket = "fx-far-away"
	}, kinds: []string{naming.KindShared}, literal: "fx-far-away"},
	"backup.copyTo.kmsKeyARN": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Backup.CopyTo.KMSKeyARN = "arn:aws:kms:eu-north-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef"
	}, kinds: []string{naming.KindShared}, literal: "mrk-0123456789abcdef0123456789abcdef"},
	"backup.schedule.full": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Backup.Schedule.Full = "cron(30 3 ? * SUN *)"
	}, kinds: []string{naming.KindOperations}, literal: "cron(30 3 ? * SUN *)"},
	"backup.schedule.differential": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Backup.Schedule.Differential = "rate(4 hours)"
	}, kinds: []string{naming.KindOperations}, literal: "rate(4 hours)"},
	"backup.retention.days": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Backup.Retention.Days = 47
	}, kinds: []string{naming.KindShared, naming.KindOperations}, literal: `"47"`, literalIn: []string{naming.KindOperations}}, // shared: the lifecycle backstop, 31 days later
	"backup.verify.schedule": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Backup.Verify.Schedule = "cron(0 4 ? * SUN *)"
	}, kinds: []string{naming.KindOperations}, literal: "cron(0 4 ? * SUN *)"},
	"backup.databases": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Backup.Databases = []string{"neo4j", "orders"}
	}, kinds: []string{naming.KindOperations}, literal: "neo4j,orders"},

	"restore.from": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Restore.From = "s3://other-backups/graph/2026-01-01/"
	}, kinds: []string{naming.KindShared, naming.KindCore}, literal: "other-backups"},

	"users.readOnly": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Users.ReadOnly = "analyst"
	}, kinds: []string{naming.KindShared, naming.KindCore}, literal: "analyst"},
	"users.readWrite": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Users.ReadWrite = "orders_app"
	}, kinds: []string{naming.KindShared, naming.KindCore}, literal: "orders_app"},
	"users.rotation.days": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Users.Rotation.Days = 89
	}, kinds: []string{naming.KindOperations}, literal: `"AutomaticallyAfterDays":89`},

	"monitoring.alarmEmail": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Monitoring.AlarmEmail = "oncall@example.org"
	}, kinds: []string{naming.KindShared}, literal: "oncall@example.org"},
	"monitoring.snsTopicARN": {base: baseCreated, change: func(c *cluster.ClusterConfig) {
		c.Monitoring.SNSTopicARN = "arn:aws:sns:eu-west-1:123456789012:pager"
	}, kinds: []string{naming.KindShared}, literal: "arn:aws:sns:eu-west-1:123456789012:pager"},
	"monitoring.slowQueryLog.enabled": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Monitoring.SlowQueryLog = cluster.SlowQueryLog{} // the threshold goes with it
	}, kinds: []string{naming.KindCore, naming.KindReplicas}},
	"monitoring.slowQueryLog.threshold": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Monitoring.SlowQueryLog.Threshold = "1234ms"
	}, kinds: []string{naming.KindCore, naming.KindReplicas}, literal: "1234ms"},
	"monitoring.debugLog": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Monitoring.DebugLog = false
	}, kinds: []string{naming.KindCore, naming.KindReplicas}},
	"monitoring.dashboard": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Monitoring.Dashboard = ptr(false)
	}, kinds: []string{naming.KindOperations}},
	"monitoring.containerInsights": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Monitoring.ContainerInsights = ptr(false)
	}, kinds: []string{naming.KindShared, naming.KindOperations}},
	"monitoring.logRetentionDays": {base: baseExisting, change: func(c *cluster.ClusterConfig) {
		c.Monitoring.LogRetentionDays = 545
	}, kinds: []string{naming.KindShared}, literal: "545"},
}

// schemaLeaves lists the dotted paths of every field of the JSON schema that holds a value
// (scalars, lists, maps), walking objects and their $refs.
func schemaLeaves(t *testing.T) []string {
	t.Helper()
	raw, err := cluster.Schema()
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	defs, _ := root["$defs"].(map[string]any)
	deref := func(s map[string]any) map[string]any {
		for s["$ref"] != nil {
			name := strings.TrimPrefix(s["$ref"].(string), "#/$defs/")
			d, ok := defs[name].(map[string]any)
			if !ok {
				t.Fatalf("schema: unresolved $ref %v", s["$ref"])
			}
			s = d
		}
		return s
	}
	var out []string
	var visit func(prefix string, s map[string]any)
	visit = func(prefix string, s map[string]any) {
		s = deref(s)
		props, ok := s["properties"].(map[string]any)
		if !ok {
			out = append(out, prefix)
			return
		}
		for name, p := range props {
			path := name
			if prefix != "" {
				path = prefix + "." + name
			}
			visit(path, p.(map[string]any))
		}
	}
	visit("", root)
	sort.Strings(out)
	return out
}

// TestEveryFieldHasAnEffect: each schema field has an entry; no entry names a field the
// schema lacks.
func TestEveryFieldHasAnEffect(t *testing.T) {
	leaves := schemaLeaves(t)
	if len(leaves) < 40 {
		t.Fatalf("the schema walk found only %d fields: %v", len(leaves), leaves)
	}
	known := map[string]bool{}
	for _, l := range leaves {
		known[l] = true
		if _, ok := fieldEffects[l]; !ok {
			t.Errorf("cluster.yaml field %s has no entry in fieldEffects (pkg/stack/fields_test.go): say which stacks it changes and how", l)
		}
	}
	for path := range fieldEffects {
		if !known[path] {
			t.Errorf("fieldEffects names %s, which the schema does not have", path)
		}
	}
}

// loadFull decodes, defaults and validates one of fullConfigs.
func loadFull(t *testing.T, base string) *cluster.ClusterConfig {
	t.Helper()
	doc := "apiVersion: neo4jctl.io/v1alpha1\nkind: ClusterConfig\n" + strings.TrimPrefix(fullConfigs[base], "\n")
	f, err := cluster.Decode([]byte(doc))
	if err != nil {
		t.Fatalf("%s: decode: %v", base, err)
	}
	cluster.SetDefaults(f.Config)
	if err := cluster.Validate(f.Config, f); err != nil {
		t.Fatalf("%s: invalid base config: %v", base, err)
	}
	return f.Config
}

// rendering is everything a stack hands to CloudFormation, keyed by stack name, grouped by kind.
func rendering(t *testing.T, cfg *cluster.ClusterConfig) map[string]map[string]string {
	t.Helper()
	stacks := build(t, testCase{"fields", cfg})
	out := map[string]map[string]string{}
	for _, s := range stacks {
		doc, err := json.Marshal(M{"region": s.Region, "parameters": s.Parameters, "tags": s.Tags, "dependsOn": s.DependsOn})
		if err != nil {
			t.Fatal(err)
		}
		if out[s.Kind] == nil {
			out[s.Kind] = map[string]string{}
		}
		// stacks are compared by their place in the cluster, not their (name-derived) name
		out[s.Kind][fmt.Sprint(s.Member)] = string(s.Template) + "\n" + string(doc)
	}
	return out
}

func TestFieldEffects(t *testing.T) {
	bases := map[string]*cluster.ClusterConfig{}
	renders := map[string]map[string]map[string]string{}
	for name := range fullConfigs {
		bases[name] = loadFull(t, name)
		renders[name] = rendering(t, bases[name])
	}
	allKinds := []string{naming.KindVPC, naming.KindShared, naming.KindCore, naming.KindReplicas, naming.KindOperations}
	for _, path := range slices.Sorted(maps.Keys(fieldEffects)) {
		fe := fieldEffects[path]
		t.Run(path, func(t *testing.T) {
			if fe.none != "" {
				if fe.change != nil || len(fe.kinds) > 0 {
					t.Fatal("an entry with no rendering changes nothing")
				}
				return
			}
			base, ok := bases[fe.base]
			if !ok || fe.change == nil || len(fe.kinds) == 0 {
				t.Fatalf("entry needs a base (%q), a change and the kinds it changes", fe.base)
			}
			cfg := loadFull(t, fe.base)
			fe.change(cfg)
			if reflect.DeepEqual(cfg, base) {
				t.Fatal("the change leaves the config as it was")
			}
			if err := cluster.Validate(cfg, nil); err != nil {
				t.Fatalf("the changed config is invalid: %v", err)
			}
			before, after := renders[fe.base], rendering(t, cfg)
			want := map[string]bool{}
			for _, k := range fe.kinds {
				if k == kindsAll {
					for kind := range before {
						want[kind] = true
					}
					continue
				}
				want[k] = true
			}
			for _, kind := range allKinds {
				changed := !reflect.DeepEqual(before[kind], after[kind])
				switch {
				case want[kind] && !changed:
					t.Errorf("%s does not change the %s stack(s)", path, kind)
				case !want[kind] && changed:
					t.Errorf("%s changes the %s stack(s) too: add the kind to its entry if that is where it belongs, else fix the builder", path, kind)
				}
				if !want[kind] || !changed || fe.literal == "" || (len(fe.literalIn) > 0 && !slices.Contains(fe.literalIn, kind)) {
					continue
				}
				for member, text := range after[kind] {
					if text != before[kind][member] && !strings.Contains(text, fe.literal) {
						t.Errorf("%s: the changed %s stack %s does not carry the new value %s", path, kind, member, fe.literal)
					}
				}
			}
			if fe.literal != "" {
				for kind, stacks := range before {
					for member, text := range stacks {
						if strings.Contains(text, fe.literal) {
							t.Errorf("literal %s is already in the base %s stack %s: pick a value the base does not render", fe.literal, kind, member)
						}
					}
				}
			}
		})
	}
}
