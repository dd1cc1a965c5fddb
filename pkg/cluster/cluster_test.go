package cluster

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

const minimal = `apiVersion: neo4jctl.io/v1alpha1
kind: ClusterConfig
metadata:
  name: graph
  region: eu-west-1
neo4j:
  acceptLicense: "yes"
`

// load decodes, defaults and validates a config held in a string.
func load(t *testing.T, doc string) (*File, error) {
	t.Helper()
	f, err := Decode([]byte(doc))
	if err != nil {
		return f, err
	}
	SetDefaults(f.Config)
	return f, Validate(f.Config, f)
}

func TestValidConfigs(t *testing.T) {
	cases := map[string]string{
		"minimal":             minimal,
		"yes unquoted":        strings.Replace(minimal, `"yes"`, "yes", 1),
		"calendar version":    minimal + "  version: \"2025.10.1\"\n",
		"floating 5.26.x":     minimal + "  version: 5.26.x\n",
		"single dev server":   minimal + "cores: {count: 1, allowNonHA: true}\n",
		"seven cores, io2":    minimal + "cores: {count: 7, instanceType: r6i.2xlarge, volume: {type: io2, sizeGiB: 200, iops: 64000}}\n",
		"backups off":         minimal + "backup: {enabled: false}\n",
		"replicas no spot":    minimal + "replicas: {count: 1}\n",
		"restore":             minimal + "restore: {from: s3://bucket/backups/2026-11-01/}\n",
		"existing namespace":  minimal + "network: {namespaceID: ns-abcdefgh12345678}\n",
		"rate plural":         minimal + "backup: {schedule: {full: rate(2 days), differential: rate(30 minutes)}}\n",
		"unknown type, sized": minimal + "  memory: {containerMiB: 30000, heap: 8g, pageCache: 12g}\ncores: {instanceType: x8g.large}\n",
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := load(t, doc); err != nil {
				t.Fatalf("valid config refused: %v", err)
			}
		})
	}
}

func TestInvalidConfigs(t *testing.T) {
	type problem struct {
		path string
		line int
		text string
	}
	cases := []struct {
		name string
		doc  string
		want []problem // every problem, in line order
	}{
		{"typo with suggestion", minimal + "cores:\n  cuont: 3\n", []problem{{"cores.cuont", 9, "did you mean `count`?"}}},
		{"several unknown keys at once", minimal + "  verison: \"5.26\"\ncores:\n  cuont: 3\n  volume: {sizeGib: 10}\n", []problem{
			{"neo4j.verison", 8, "did you mean `version`?"},
			{"cores.cuont", 10, "did you mean `count`?"},
			{"cores.volume.sizeGib", 11, "did you mean `sizeGiB`?"},
		}},
		{"wrong types", minimal + "cores: {count: three}\nreplicas: {count: 1, spot: maybe}\n", []problem{
			{"cores.count", 8, "whole number"}, {"replicas.spot", 9, "true or false"},
		}},
		{"password in the file", minimal + "users: {readOnly: reader, password: hunter2}\n", []problem{{"users.password", 8, "Secrets Manager"}}},
		{"secret in neo4j.config", minimal + "  config:\n    dbms.security.ldap.authorization.system_password: x\n", []problem{{`neo4j.config["dbms.security.ldap.authorization.system_password"]`, 9, "Secrets Manager"}}},
		{"bad name and region", strings.NewReplacer("name: graph", "name: Graph_Prod", "eu-west-1", "europe").Replace(minimal), []problem{
			{"metadata.name", 4, "cannot be used"}, {"metadata.region", 5, "not an AWS region"},
		}},
		{"no region anywhere", strings.Replace(minimal, "  region: eu-west-1\n", "", 1), []problem{{"metadata.region", 3, "--region"}}},
		{"neo4j 4.4 refused", minimal + "  version: \"4.4.30\"\n", []problem{{"neo4j.version", 8, "4.x and earlier"}}},
		{"neo4j 5.20 refused", minimal + "  version: \"5.20\"\n", []problem{{"neo4j.version", 8, "5.26 LTS"}}},
		{"licence missing", strings.Replace(minimal, "  acceptLicense: \"yes\"\n", "  version: \"5.26\"\n", 1), []problem{{"neo4j.acceptLicense", 6, "licence"}}},
		{"licence wrong", strings.Replace(minimal, `"yes"`, "true", 1), []problem{{"neo4j.acceptLicense", 7, `"true" is not accepted`}}},
		{"even cores", minimal + "cores: {count: 4}\n", []problem{{"cores.count", 8, "use 3, 5 or 7"}}},
		{"single core without allowNonHA", minimal + "cores: {count: 1}\n", []problem{{"cores.count", 8, "allowNonHA"}}},
		{"subnets twice, bad vpc", minimal + "network:\n  vpcID: vpc-12\n  subnets: [subnet-0a1b2c3d, subnet-0a1b2c3d]\n", []problem{
			{"network.vpcID", 9, "not a VPC id"}, {"network.subnets[1]", 10, "listed twice"},
		}},
		{"subnets without vpc", minimal + "network: {subnets: [subnet-0a1b2c3d]}\n", []problem{{"network.subnets", 8, "without network.vpcID"}}},
		{"bad cidrs", minimal + "network:\n  clientAccess:\n    cidrs: [10.0.0.0/33, 0.0.0.0/0, 10.1.2.3/8]\n", []problem{
			{"network.clientAccess.cidrs[0]", 10, "not a CIDR"}, {"network.clientAccess.cidrs[1]", 10, "whole internet"}, {"network.clientAccess.cidrs[2]", 10, "host bits"},
		}},
		{"schedules", minimal + "backup:\n  schedule:\n    full: cron(0 2 * * * *)\n    differential: rate(1 hours)\n", []problem{
			{"backup.schedule.full", 10, "exactly one of day-of-month"}, {"backup.schedule.differential", 11, "singular"},
		}},
		{"cron range and garbage", minimal + "backup:\n  schedule:\n    full: cron(0 25 * * ? *)\n    differential: every hour\n", []problem{
			{"backup.schedule.full", 10, "outside 0-23"}, {"backup.schedule.differential", 11, "not a schedule expression"},
		}},
		{"explicit zeros are not defaults", minimal + "backup: {retention: {days: 0}}\ncores: {count: 0, volume: {sizeGiB: 0}}\nreplicas: {count: 0}\n", []problem{
			{"backup.retention.days", 8, "0 is not a valid value"}, {"cores.count", 9, "0 is not a valid value"}, {"cores.volume.sizeGiB", 9, "remove the key to get the default"},
		}},
		{"secrets in tags and values", strings.Replace(minimal, "  region: eu-west-1\n", "  region: eu-west-1\n  tags: {db_password: x, owner: AKIAIOSFODNN7EXAMPLE}\n", 1), []problem{
			{"metadata.tags.db_password", 6, "Secrets Manager"}, {"metadata.tags.owner", 6, "an AWS access key id"},
		}},
		{"verify schedule", minimal + "backup:\n  verify: {schedule: \"cron(0 4 * * SUN *)\"}\n", []problem{{"backup.verify.schedule", 9, "exactly one of day-of-month"}}},
		{"verify without backups", minimal + "backup:\n  enabled: false\n  verify: {schedule: \"cron(0 4 ? * SUN *)\"}\n", []problem{{"backup.verify.schedule", 10, "backups are off"}}},
		{"retention too long", minimal + "backup: {retention: {days: 5000}}\n", []problem{{"backup.retention.days", 8, "1 to 3650"}}},
		{"volume limits", minimal + "cores:\n  volume: {sizeGiB: 5, iops: 20000, throughputMiBps: 2000}\n", []problem{
			{"cores.volume.sizeGiB", 9, "too small"}, {"cores.volume.iops", 9, "3000-16000"}, {"cores.volume.throughputMiBps", 9, "125-1000"},
		}},
		{"gp3 throughput needs iops", minimal + "cores:\n  volume: {sizeGiB: 100, iops: 3000, throughputMiBps: 1000}\n", []problem{{"cores.volume.throughputMiBps", 9, "at least 4000 IOPS"}}},
		{"io2 with throughput", minimal + "cores:\n  volume: {type: io2, sizeGiB: 100, iops: 3000, throughputMiBps: 200}\n", []problem{{"cores.volume.throughputMiBps", 9, "only applies to gp3"}}},
		{"restore not s3", minimal + "restore: {from: /backups/x}\n", []problem{{"restore.from", 8, "not an s3://bucket/path"}}},
		{"denied settings", minimal + "  config:\n    server.discovery.advertised_address: x\n    dbms.cluster.discovery.v2.endpoints: y\n    server.bolt.listen_address: z\n    db.transaction.timeout: 10s\n", []problem{
			{`neo4j.config["server.discovery.advertised_address"]`, 9, "discovery"},
			{`neo4j.config["dbms.cluster.discovery.v2.endpoints"]`, 10, "discovery"},
			{`neo4j.config["server.bolt.listen_address"]`, 11, "cannot be set"},
		}},
		{"replicas mixed arch and lone spot", minimal + "replicas: {count: 2, instanceTypes: [r7g.large, r6i.large], spot: true}\n", []problem{{"replicas.instanceTypes[1]", 8, "one CPU architecture"}}},
		{"spot with one type", minimal + "replicas: {count: 2, instanceTypes: [r7g.large], spot: true}\n", []problem{{"replicas.instanceTypes", 8, "two or more"}}},
		{"monitoring", minimal + "monitoring:\n  alarmEmail: not-an-email\n  snsTopicARN: arn:aws:sns:eu-west-1:1:x\n  slowQueryLog: {enabled: true, threshold: fast}\n  logRetentionDays: 10\n", []problem{
			{"monitoring.alarmEmail", 9, "not an email"}, {"monitoring.snsTopicARN", 10, "both alarmEmail and snsTopicARN"}, {"monitoring.snsTopicARN", 10, "not an SNS topic ARN"},
			{"monitoring.slowQueryLog.threshold", 11, "not a duration"}, {"monitoring.logRetentionDays", 12, "not a CloudWatch Logs retention"},
		}},
		{"users", minimal + "users: {readOnly: neo4j, readWrite: 9app}\n", []problem{{"users.readOnly", 8, "admin user"}, {"users.readWrite", 8, "not a Neo4j user name"}}},
		{"unknown instance type without memory", minimal + "cores: {instanceType: x9z.large}\n", []problem{{"cores.instanceType", 8, "does not know the memory"}}},
		{"unknown region", strings.Replace(minimal, "eu-west-1", "eu-wset-1", 1), []problem{{"metadata.region", 5, "did you mean eu-west-1?"}}},
		{"made-up region", strings.Replace(minimal, "eu-west-1", "eu-moon-1", 1), []problem{{"metadata.region", 5, "not a region neo4jctl knows"}}},
		{"wrong apiVersion and kind", strings.NewReplacer("v1alpha1", "v1", "kind: ClusterConfig", "kind: Cluster").Replace(minimal), []problem{
			{"apiVersion", 1, "not supported"}, {"kind", 2, "not supported"},
		}},
		{"not a mapping", "- a\n- b\n", []problem{{"", 1, "must be a mapping"}}},
		{"empty file", "# nothing\n", []problem{{"", 0, "empty"}}},
		{"bad yaml", "metadata: {name: [\n", []problem{{"", 1, "line 1, column 18: not valid YAML"}}},
		{"duplicate key", minimal + "cores: {count: 3}\ncores: {count: 5}\n", []problem{{"cores", 9, "is set twice; keep one"}}},
		{"duplicate map key", minimal + "  config:\n    db.a: x\n    db.a: y\n", []problem{{`neo4j.config["db.a"]`, 10, "is set twice"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.doc)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			list, ok := err.(ErrorList)
			if !ok {
				t.Fatalf("want an ErrorList, got %T %v", err, err)
			}
			if len(list) != len(tc.want) {
				t.Fatalf("want %d problems, got %d:\n%v", len(tc.want), len(list), err)
			}
			for i, w := range tc.want {
				got := list[i]
				if got.Path != w.path || got.Line != w.line || !strings.Contains(got.Error(), w.text) {
					t.Errorf("problem %d: want %s at line %d containing %q, got %s at line %d: %q", i, w.path, w.line, w.text, got.Path, got.Line, got.Error())
				}
			}
		})
	}
}

func TestErrorNamesFileFieldAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, []byte(minimal+"cores:\n  cuont: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, Overrides{})
	want := "cores.cuont (" + path + ":9): unknown field; did you mean `count`?"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("want %q in %v", want, err)
	}
}

func TestRegionOverrideOnlyFillsGaps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte(strings.Replace(minimal, "  region: eu-west-1\n", "", 1)), 0o600)
	f, err := Load(path, Overrides{Region: "us-east-2"})
	if err != nil || f.Config.Metadata.Region != "us-east-2" {
		t.Fatalf("region from override: %v %v", err, f)
	}
	os.WriteFile(path, []byte(minimal), 0o600)
	f, _ = Load(path, Overrides{Region: "us-east-2"})
	if f.Config.Metadata.Region != "eu-west-1" {
		t.Fatalf("file region must win, got %s", f.Config.Metadata.Region)
	}
}

func TestDefaults(t *testing.T) {
	f, err := load(t, minimal)
	if err != nil {
		t.Fatal(err)
	}
	c := f.Config
	checks := map[string][2]any{
		"version":      {c.Neo4j.Version, DefaultVersion},
		"cores":        {c.Cores.Count, 3},
		"instance":     {c.Cores.InstanceType, "r7g.large"},
		"volume":       {c.Cores.Volume, Volume{SizeGiB: 100, Type: "gp3", IOPS: 3000, ThroughputMiBps: 125}},
		"namespace":    {c.Network.Namespace, "graph.neo4j.internal"},
		"vpc cidr":     {c.Network.CIDR, "10.42.0.0/16"},
		"azs":          {c.Network.AZCount, 3},
		"full backup":  {c.Backup.Schedule.Full, "cron(0 2 * * ? *)"},
		"diff backup":  {c.Backup.Schedule.Differential, "rate(1 hour)"},
		"retention":    {c.Backup.Retention.Days, 14},
		"databases":    {c.Backup.Databases, []string{"*"}},
		"log days":     {c.Monitoring.LogRetentionDays, 30},
		"memory":       {c.Neo4j.Memory, Memory{ContainerMiB: 14746, Heap: "5g", PageCache: "6g"}},
		"subdomains":   {c.Network.Subdomains, Subdomains{Cores: "core", Replicas: "replica"}},
		"dashboard on": {*c.Monitoring.Dashboard, true},
	}
	for name, ab := range checks {
		if !reflect.DeepEqual(ab[0], ab[1]) {
			t.Errorf("%s: got %v, want %v", name, ab[0], ab[1])
		}
	}
	// defaulting twice changes nothing: what --dry-run prints loads back to the same config
	before, _ := json.Marshal(c)
	SetDefaults(c)
	after, _ := json.Marshal(c)
	if string(before) != string(after) {
		t.Fatalf("defaulting is not idempotent:\n%s\n%s", before, after)
	}
}

func TestMemberSpread(t *testing.T) {
	cases := []struct {
		doc   string
		slots []int
	}{
		{minimal, []int{0, 1, 2}},
		{minimal + "cores: {count: 5}\nnetwork: {vpcID: vpc-0a1b2c3d, subnets: [subnet-0a1b2c3d, subnet-0a1b2c3e, subnet-0a1b2c3f]}\n", []int{0, 1, 2, 0, 1}},
		{minimal + "cores: {count: 7}\nnetwork: {vpcID: vpc-0a1b2c3d, subnets: [subnet-0a1b2c3d, subnet-0a1b2c3e]}\n", []int{0, 1, 0, 1, 0, 1, 0}},
		{minimal + "cores: {count: 3}\nnetwork: {vpcID: vpc-0a1b2c3d, subnets: [subnet-0a1b2c3d]}\n", []int{0, 0, 0}},
	}
	for _, tc := range cases {
		f, err := load(t, tc.doc)
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, m := range f.Config.Members() {
			got = append(got, m.SubnetIndex)
		}
		if !reflect.DeepEqual(got, tc.slots) {
			t.Errorf("spread: got %v want %v", got, tc.slots)
		}
	}
}

func TestMemorySplit(t *testing.T) {
	for _, tc := range []struct {
		it              string
		container       int
		heap, pageCache string
	}{
		{"r7g.large", 14746, "5g", "6g"},
		{"r6i.4xlarge", 117965, "31g", "51g"}, // heap capped at 31g
		{"t3.medium", 3072, "1g", "1g"},
	} {
		m := Memory{}
		setMemoryDefaults(&m, tc.it)
		if m.ContainerMiB != tc.container || m.Heap != tc.heap || m.PageCache != tc.pageCache {
			t.Errorf("%s: got %+v", tc.it, m)
		}
	}
}

// TestExamples checks every example against the validator and the generated JSON schema.
func TestExamples(t *testing.T) {
	paths, _ := filepath.Glob("../../examples/*.yaml")
	if len(paths) < 3 {
		t.Fatalf("want at least 3 examples, found %v", paths)
	}
	raw, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			if _, err := Load(p, Overrides{}); err != nil {
				t.Fatalf("example invalid: %v", err)
			}
			b, _ := os.ReadFile(p)
			j, err := yaml.YAMLToJSON(b)
			if err != nil {
				t.Fatal(err)
			}
			inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(string(j)))
			if err := schema.Validate(inst); err != nil {
				t.Fatalf("example does not match the schema: %v", err)
			}
		})
	}
	// and the schema refuses what the decoder refuses
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"apiVersion":"neo4jctl.io/v1alpha1","kind":"ClusterConfig","metadata":{"name":"x"},"neo4j":{"acceptLicense":"yes"},"cores":{"cuont":3}}`))
	if schema.Validate(bad) == nil {
		t.Fatal("schema accepted an unknown field")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(minimal))
	paths, _ := filepath.Glob("../../examples/*.yaml")
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte("a: &x [1]\nb: *x\n"))
	f.Add([]byte("\uFEFF" + strings.ReplaceAll(minimal, "\n", "\r\n")))
	f.Add([]byte(minimal + "cores:\n\tcount: 3\n"))
	f.Add([]byte(minimal + "cores: " + strings.Repeat("[", 40) + "\n"))
	f.Add(billionLaughs())
	f.Add([]byte(withTags("aws:x", "y", strings.Repeat("ü", 129), "v")))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Decode(data)
		if err != nil {
			if !IsConfigError(err) {
				t.Fatalf("a bad file must be a config error, got %T %v", err, err)
			}
			if strings.ContainsFunc(err.Error(), func(r rune) bool { return r != '\n' && !unicode.IsPrint(r) }) {
				t.Fatalf("the error echoes control or invisible characters: %q", err)
			}
		}
		if file == nil {
			return
		}
		SetDefaults(file.Config)
		_ = Validate(file.Config, file)
		_ = file.Config.Members()
	})
}
