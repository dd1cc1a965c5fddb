package stack

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// testInputs are fixed so that the golden files are stable.
var testInputs = func() Inputs {
	in := Inputs{Neo4jctlVersion: "v0.0.0-test", SubnetAZs: map[string]string{}}
	in.SetAgent("arm64", strings.Repeat("ab", 32))
	in.SetAgent("amd64", strings.Repeat("cd", 32))
	return in
}()

// testCase is one config rendered by the tests.
type testCase struct {
	name string
	cfg  *cluster.ClusterConfig
}

func examples(t *testing.T) []testCase {
	t.Helper()
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	var out []testCase
	for _, f := range files {
		loaded, err := cluster.Load(f, cluster.Overrides{Region: "eu-west-1"})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, testCase{strings.TrimSuffix(filepath.Base(f), ".yaml"), loaded.Config})
	}
	return out
}

// configTable is the table of configs of issue 3: minimal, existing VPC, 3/5/7 cores over
// 1, 2 and 3 subnets, with and without replicas and Spot, 5.26 and 2025.x, with restore,
// each monitoring option.
var configTable = []struct{ name, yaml string }{
	{"minimal", `neo4j: {acceptLicense: "yes"}`},
	{"created-vpc-2az-2nat-endpoints", `
neo4j: {acceptLicense: "yes", version: "2025.10.1"}
network: {cidr: 10.7.0.0/20, azCount: 2, natGateways: 2, vpcEndpoints: true}
cores: {count: 5}`},
	{"created-vpc-3nat-7cores", `
neo4j: {acceptLicense: "yes"}
network: {natGateways: 3}
cores: {count: 7, instanceType: r7i.xlarge}`},
	{"existing-3cores-1subnet", `
neo4j: {acceptLicense: "yes"}
network: {vpcID: vpc-0123456789abcdef0, subnets: [subnet-0123456789abcdef1], clientAccess: {cidrs: [10.0.0.0/8]}}`},
	{"existing-5cores-2subnets-replicas", `
neo4j: {acceptLicense: "yes", version: "5.26"}
network: {vpcID: vpc-0123456789abcdef0, subnets: [subnet-0123456789abcdef1, subnet-0123456789abcdef2], clientAccess: {securityGroups: [sg-0123456789abcdef0]}}
cores: {count: 5}
replicas: {count: 2}`},
	{"existing-7cores-3subnets-spot", `
neo4j: {acceptLicense: "yes", version: "2025.01"}
network: {vpcID: vpc-0123456789abcdef0, subnets: [subnet-0123456789abcdef1, subnet-0123456789abcdef2, subnet-0123456789abcdef3], clientAccess: {cidrs: [10.1.0.0/16, 192.168.0.0/24, "2001:db8:1234::/48"]}}
cores: {count: 7, instanceType: m7g.2xlarge, volume: {type: io2, iops: 10000, sizeGiB: 300}}
replicas: {count: 3, instanceTypes: [m7g.xlarge, m6g.xlarge], spot: true}`},
	{"replicas-amd64-single", `
neo4j: {acceptLicense: "eval"}
cores: {instanceType: r7i.large}
replicas: {count: 1, instanceTypes: [r7i.large, r6i.large], spot: true}`},
	{"restore-users-namespace", `
neo4j: {acceptLicense: "yes", version: "2025.10", config: {db.transaction.timeout: 30s}}
network: {namespace: graph.example.internal}
restore: {from: s3://old-backups/graph/2025-01-01/}
users: {readOnly: reader}`},
	{"existing-namespace-id", `
neo4j: {acceptLicense: "yes"}
network: {vpcID: vpc-0123456789abcdef0, subnets: [subnet-0123456789abcdef1, subnet-0123456789abcdef2, subnet-0123456789abcdef3], namespace: shared.internal, namespaceID: ns-abcdefgh12345678}
users: {readOnly: reader, readWrite: writer}`},
	{"monitoring-email-slow-debug", `
neo4j: {acceptLicense: "yes"}
monitoring: {alarmEmail: ops@example.com, slowQueryLog: {enabled: true}, debugLog: true, logRetentionDays: 365}`},
	{"monitoring-topic-no-dashboard-no-insights", `
neo4j: {acceptLicense: "yes"}
monitoring: {snsTopicARN: "arn:aws:sns:eu-west-1:123456789012:alarms", dashboard: false, containerInsights: false}`},
	{"backups-off", `
neo4j: {acceptLicense: "yes"}
backup: {enabled: false}`},
	{"backups-full-only", `
neo4j: {acceptLicense: "yes"}
backup: {schedule: {full: "rate(12 hours)"}, retention: {days: 7}, databases: [neo4j, system]}`},
	{"single-core-dev", `
neo4j: {acceptLicense: "eval"}
cores: {count: 1, allowNonHA: true, instanceType: t4g.xlarge}`},
	{"hardened-backups-rotation", `
neo4j: {acceptLicense: "yes"}
network: {vpcID: vpc-0123456789abcdef0, subnets: [subnet-0123456789abcdef1, subnet-0123456789abcdef2, subnet-0123456789abcdef3]}
replicas: {count: 2, instanceTypes: [r7g.large, r8g.large], spot: true}
backup:
  retention: {days: 35}
  accessLogs: {bucket: graph-access-logs}
  objectLock: {mode: compliance, days: 35}
  copyTo: {region: eu-central-1, bucket: graph-dr-backups, kmsKeyARN: "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
users: {readOnly: reader, readWrite: app, rotation: {days: 30}}
monitoring: {logRetentionDays: 400}`},
}

func tableCases(t *testing.T) []testCase {
	t.Helper()
	var out []testCase
	for _, c := range configTable {
		doc := "apiVersion: neo4jctl.io/v1alpha1\nkind: ClusterConfig\nmetadata: {name: t-" + shortName(c.name) + ", region: eu-west-1, tags: {team: graph}}\n" + strings.TrimPrefix(c.yaml, "\n") + "\n"
		f, err := cluster.Decode([]byte(doc))
		if err != nil {
			t.Fatalf("%s: decode: %v", c.name, err)
		}
		cluster.SetDefaults(f.Config)
		if err := cluster.Validate(f.Config, f); err != nil {
			t.Fatalf("%s: invalid test config: %v", c.name, err)
		}
		out = append(out, testCase{c.name, f.Config})
	}
	return out
}

// shortName keeps cluster names within the 24 characters cluster.yaml allows.
func shortName(s string) string {
	s = strings.ReplaceAll(s, "-", "")
	if len(s) > 20 {
		s = s[:20]
	}
	return s
}

func build(t *testing.T, tc testCase) []Stack {
	t.Helper()
	in := testInputs
	in.SubnetAZs = map[string]string{}
	for i, s := range tc.cfg.Network.Subnets {
		in.SubnetAZs[s] = fmt.Sprintf("eu-west-1%c", 'a'+i)
	}
	stacks, err := Build(tc.cfg, in)
	if err != nil {
		t.Fatalf("%s: Build: %v", tc.name, err)
	}
	return stacks
}

func allCases(t *testing.T) []testCase { return append(examples(t), tableCases(t)...) }

// ---------------------------------------------------------------------------- golden

func TestGolden(t *testing.T) {
	for _, tc := range examples(t) {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "golden", tc.name)
			stacks := build(t, tc)
			want := map[string][]byte{}
			for _, s := range stacks {
				// indented for review; Stack.Template itself is compact (MaxTemplateBody)
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, s.Template, "", "  "); err != nil {
					t.Fatal(err)
				}
				want[s.Name+".json"] = pretty.Bytes()
			}
			summary, err := json.MarshalIndent(summarize(stacks), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			want["stacks.json"] = append(summary, '\n')
			if *update {
				os.RemoveAll(dir)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				for name, body := range want {
					if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			got, _ := filepath.Glob(filepath.Join(dir, "*.json"))
			if len(got) != len(want) {
				t.Errorf("%s holds %d files, Build renders %d (run go test ./pkg/stack -update)", dir, len(got), len(want))
			}
			for name, body := range want {
				old, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Errorf("%v (run go test ./pkg/stack -update)", err)
					continue
				}
				if !bytes.Equal(old, body) {
					t.Errorf("%s/%s differs from the golden file (review, then go test ./pkg/stack -update)", dir, name)
				}
			}
		})
	}
}

// summarize is everything of the stacks but the templates, for the golden stacks.json.
func summarize(stacks []Stack) []M {
	var out []M
	for _, s := range stacks {
		out = append(out, M{"name": s.Name, "region": s.Region, "kind": s.Kind, "member": s.Member, "dependsOn": s.DependsOn,
			"parameters": s.Parameters, "tags": s.Tags, "resources": s.Resources, "uploads": s.Uploads, "unknowns": s.Unknowns})
	}
	return out
}

func TestBuildDeterministic(t *testing.T) {
	for _, tc := range allCases(t) {
		a, b := build(t, tc), build(t, tc)
		for i := range a {
			if !bytes.Equal(a[i].Template, b[i].Template) {
				t.Errorf("%s: %s renders differently twice", tc.name, a[i].Name)
			}
		}
	}
}

// TestWriteDirWritesLookedUpValues: with the subnets' AZs and the AMIs looked up, the files
// carry them and deploy.sh has nothing to fill in.
func TestWriteDirWritesLookedUpValues(t *testing.T) {
	f, err := cluster.Load("../../examples/production.yaml", cluster.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.Config
	in := testInputs
	in.SubnetAZs = map[string]string{}
	for i, s := range cfg.Network.Subnets {
		in.SubnetAZs[s] = "eu-west-1" + string(rune('a'+i))
	}
	in.ImageIDs = map[string]string{"arm64": "ami-0123456789abcdef0"}
	stacks, err := Build(cfg, in)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	d, err := WriteDir(stacks, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.FillIn) != 0 {
		t.Fatalf("values to fill in: %+v", d.FillIn)
	}
	for _, s := range stacks {
		raw, err := os.ReadFile(filepath.Join(dir, s.Name+".parameters.json"))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("FILL_IN_")) {
			t.Errorf("%s: %s", s.Name, raw)
		}
		if s.Kind == naming.KindCore && !bytes.Contains(raw, []byte(`"ParameterValue": "ami-0123456789abcdef0"`)) {
			t.Errorf("%s does not pin the AMI: %s", s.Name, raw)
		}
	}
	script, _ := os.ReadFile(filepath.Join(dir, DeployScript))
	if !bytes.Contains(script, []byte("every parameter has its value")) {
		t.Errorf("deploy.sh:\n%s", script)
	}
}

// TestWriteDir: every stack's template, parameters and tags in the AWS CLI's file formats,
// the values only AWS knows as named placeholders with their lookup, and the order and the
// uploads in deploy.sh and deploy.json.
func TestWriteDir(t *testing.T) {
	for _, tc := range allCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			stacks, err := Build(tc.cfg, testInputs) // no subnet AZs: as offline
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if _, err := WriteDir(stacks, dir); err != nil {
				t.Fatal(err)
			}
			read := func(name string, v any) {
				t.Helper()
				raw, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(raw, v); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			var d Deployment
			read(DeployManifest, &d)
			order := map[string]int{}
			for i, level := range d.Levels {
				for _, n := range level {
					order[n] = i
				}
			}
			placeholders := 0
			for _, s := range stacks {
				body, err := os.ReadFile(filepath.Join(dir, s.Name+".template.json"))
				if err != nil || !bytes.Equal(body, s.Template) {
					t.Errorf("%s: template not written: %v", s.Name, err)
				}
				var params []map[string]string
				read(s.Name+".parameters.json", &params)
				if len(params) != len(s.Parameters) {
					t.Errorf("%s: %d parameters written, want %d", s.Name, len(params), len(s.Parameters))
				}
				for _, p := range params {
					want := s.Parameters[p["ParameterKey"]]
					if p["ParameterKey"] == ParamAvailabilityZone && !tc.cfg.CreatesVPC() || p["ParameterKey"] == ParamImageID {
						want = Placeholder(p["ParameterKey"]) // not known offline
						placeholders++
					}
					if p["ParameterValue"] != want {
						t.Errorf("%s: parameter %v, want %q", s.Name, p, want)
					}
				}
				var tags []map[string]string
				read(s.Name+".tags.json", &tags)
				if len(tags) != len(s.Tags) {
					t.Errorf("%s: %d tags written, want %d", s.Name, len(tags), len(s.Tags))
				}
				for _, tg := range tags {
					if s.Tags[tg["Key"]] != tg["Value"] {
						t.Errorf("%s: tag %v", s.Name, tg)
					}
				}
				o, ok := order[s.Name]
				if !ok {
					t.Errorf("%s: not in the deployment order", s.Name)
				}
				for _, dep := range s.DependsOn {
					if order[dep] >= o {
						t.Errorf("%s (level %d) is created with or before %s (level %d), which it needs", s.Name, o, dep, order[dep])
					}
				}
				for _, u := range s.Uploads {
					if !slices.ContainsFunc(d.Uploads, func(x DeployUpload) bool { return x.Key == u.Key && x.BeforeLevel <= o }) {
						t.Errorf("%s needs %s uploaded before it", s.Name, u.Key)
					}
				}
			}
			if len(d.FillIn) != placeholders {
				t.Errorf("deploy.json names %d values to fill in, the parameters files hold %d", len(d.FillIn), placeholders)
			}
			script, err := os.ReadFile(filepath.Join(dir, DeployScript))
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("bash", "-n")
			cmd.Stdin = bytes.NewReader(script)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("deploy.sh is not valid bash: %v\n%s", err, out)
			}
			for _, f := range d.FillIn {
				if !strings.Contains(string(script), f.Lookup) {
					t.Errorf("deploy.sh does not say how to find %s", f.What)
				}
			}
			for _, u := range d.Uploads {
				if !strings.Contains(string(script), u.SHA256+"  "+u.File) || !strings.Contains(string(script), u.Key) {
					t.Errorf("deploy.sh does not check and upload %s", u.File)
				}
			}
		})
	}
}

func TestBuildOrderAndDependencies(t *testing.T) {
	for _, tc := range allCases(t) {
		stacks := build(t, tc)
		seen := map[string]bool{}
		kinds := []string{}
		for _, s := range stacks {
			for _, d := range s.DependsOn {
				if !seen[d] {
					t.Errorf("%s: %s depends on %s, which is not created before it", tc.name, s.Name, d)
				}
			}
			seen[s.Name] = true
			kinds = append(kinds, s.Kind)
			if s.Name != naming.StackName(tc.cfg.Metadata.Name, s.Kind, s.Member) {
				t.Errorf("%s: stack name %s", tc.name, s.Name)
			}
		}
		wantCores := tc.cfg.Cores.Count
		if n := strings.Count(strings.Join(kinds, ","), naming.KindCore); n != wantCores {
			t.Errorf("%s: %d core stacks, want %d", tc.name, n, wantCores)
		}
		if (kinds[0] == naming.KindVPC) != tc.cfg.CreatesVPC() {
			t.Errorf("%s: vpc stack present=%v, CreatesVPC=%v", tc.name, kinds[0] == naming.KindVPC, tc.cfg.CreatesVPC())
		}
		if kinds[len(kinds)-1] != naming.KindOperations {
			t.Errorf("%s: operations stack must come last: %v", tc.name, kinds)
		}
	}
}

// ---------------------------------------------------------------------------- cross-references

var pseudo = map[string]bool{
	"AWS::AccountId": true, "AWS::NotificationARNs": true, "AWS::NoValue": true, "AWS::Partition": true,
	"AWS::Region": true, "AWS::StackId": true, "AWS::StackName": true, "AWS::URLSuffix": true,
}

var subVarRe = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)

// expectedOutputs are the outputs the engine reads, per stack kind.
func expectedOutputs(cfg *cluster.ClusterConfig, s Stack) []string {
	switch s.Kind {
	case naming.KindVPC:
		out := []string{OutputVPCID, OutputVPCCIDR}
		for i := 0; i < cfg.Network.AZCount; i++ {
			out = append(out, OutputPrivateSubnet(i), OutputPublicSubnet(i), OutputAZ(i))
		}
		return out
	case naming.KindShared:
		out := []string{OutputBucketName, OutputBucketArn, OutputKMSKeyArn, OutputAdminSecretArn,
			OutputMembersSecurityGroup, OutputInstanceSecurityGroup, OutputBackupSecurityGroup, OutputLambdaSecurityGroup,
			OutputInstanceProfile, OutputInstanceRoleArn, OutputTaskExecutionRoleArn, OutputTaskRoleArn, OutputLambdaRoleArn,
			OutputSchedulerRoleArn, OutputNamespaceID, OutputNamespaceName, OutputECSCluster, OutputECSClusterArn,
			OutputLogGroup, OutputLambdaLogGroup, OutputAlarmTopicArn}
		if cfg.Users != nil && cfg.Users.ReadOnly != "" {
			out = append(out, OutputReadOnlySecretArn)
		}
		if cfg.Users != nil && cfg.Users.ReadWrite != "" {
			out = append(out, OutputReadWriteSecretArn)
		}
		return out
	case naming.KindCore:
		return []string{OutputVolumeID, OutputAutoScalingGroup, OutputCapacityProvider, OutputService, OutputMemberServiceID, OutputTaskDefinition}
	case naming.KindReplicas:
		return []string{OutputAutoScalingGroup, OutputCapacityProvider, OutputService, OutputTaskDefinition}
	case naming.KindOperations:
		out := []string{OutputOperationsFunction, OutputDNSSyncFunction, OutputCleanupFunction, OutputCoresServiceID}
		if cfg.ReplicaCount() > 0 {
			out = append(out, OutputReplicasServiceID)
		}
		if cfg.BackupsEnabled() {
			out = append(out, OutputBackupTaskDefinition)
		}
		if *cfg.Monitoring.Dashboard {
			out = append(out, OutputDashboard)
		}
		return out
	}
	return nil
}

func parse(t *testing.T, s Stack) M {
	t.Helper()
	var doc M
	if err := json.Unmarshal(s.Template, &doc); err != nil {
		t.Fatalf("%s: template is not JSON: %v", s.Name, err)
	}
	return doc
}

func section(doc M, name string) M {
	m, _ := doc[name].(M)
	if m == nil {
		return M{}
	}
	return m
}

// walk visits every value of a JSON tree with its parent key.
func walk(v any, key string, fn func(key string, v any)) {
	fn(key, v)
	switch x := v.(type) {
	case M:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			walk(x[k], k, fn)
		}
	case []any:
		for _, e := range x {
			walk(e, key, fn)
		}
	}
}

func TestCrossReferences(t *testing.T) {
	for _, tc := range allCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			stacks := build(t, tc)
			exports := map[string]string{} // export name -> stack
			for _, s := range stacks {
				for _, o := range section(parse(t, s), "Outputs") {
					if e, ok := o.(M)["Export"].(M); ok {
						exports[e["Name"].(string)] = s.Name
					}
				}
			}
			before := map[string]map[string]bool{} // stack -> stacks it (transitively) depends on
			for _, s := range stacks {
				deps := map[string]bool{}
				for _, d := range s.DependsOn {
					deps[d] = true
					for dd := range before[d] {
						deps[dd] = true
					}
				}
				before[s.Name] = deps
			}
			for _, s := range stacks {
				doc := parse(t, s)
				res, params, conds := section(doc, "Resources"), section(doc, "Parameters"), section(doc, "Conditions")
				if len(res) == 0 {
					t.Errorf("%s: no resources", s.Name)
				}
				known := func(id string) bool { return pseudo[id] || res[id] != nil || params[id] != nil }
				used := map[string]bool{}
				walk(doc, "", func(_ string, v any) {
					m, ok := v.(M)
					if !ok {
						return
					}
					if r, ok := m["Ref"].(string); ok {
						used[r] = true
						if !known(r) {
							t.Errorf("%s: Ref to unknown %q", s.Name, r)
						}
					}
					if ga, ok := m["Fn::GetAtt"].([]any); ok {
						if id, _ := ga[0].(string); res[id] == nil {
							t.Errorf("%s: GetAtt of unknown resource %q", s.Name, id)
						}
					}
					if sub, ok := m["Fn::Sub"]; ok {
						str, vars := "", M{}
						switch x := sub.(type) {
						case string:
							str = x
						case []any:
							str, _ = x[0].(string)
							vars, _ = x[1].(M)
						}
						for _, mm := range subVarRe.FindAllStringSubmatch(str, -1) {
							id, _, _ := strings.Cut(mm[1], ".")
							used[id] = true
							if vars[mm[1]] == nil && !known(id) {
								t.Errorf("%s: Sub of unknown %q", s.Name, mm[1])
							}
						}
					}
					if iv, ok := m["Fn::ImportValue"]; ok {
						name, _ := iv.(string)
						from, ok := exports[name]
						switch {
						case !ok:
							t.Errorf("%s: imports %q, which no stack exports", s.Name, name)
						case !before[s.Name][from]:
							t.Errorf("%s: imports %q from %s without depending on it", s.Name, name, from)
						}
					}
					if c, ok := m["Fn::If"].([]any); ok {
						if conds[c[0].(string)] == nil {
							t.Errorf("%s: Fn::If on unknown condition %v", s.Name, c[0])
						}
					}
				})
				for id, r := range res {
					switch d := r.(M)["DependsOn"].(type) {
					case string:
						if res[d] == nil {
							t.Errorf("%s: %s depends on unknown %s", s.Name, id, d)
						}
					case []any:
						for _, x := range d {
							if res[x.(string)] == nil {
								t.Errorf("%s: %s depends on unknown %v", s.Name, id, x)
							}
						}
					}
				}
				for p := range params {
					if !used[p] {
						t.Errorf("%s: parameter %s is declared but not used", s.Name, p)
					}
					if _, ok := s.Parameters[p]; !ok {
						t.Errorf("%s: parameter %s has no value in Stack.Parameters", s.Name, p)
					}
				}
				for p := range s.Parameters {
					if params[p] == nil {
						t.Errorf("%s: Stack.Parameters passes %s, which the template does not declare", s.Name, p)
					}
				}
				outs := section(doc, "Outputs")
				for _, o := range expectedOutputs(tc.cfg, s) {
					if outs[o] == nil {
						t.Errorf("%s: output %s (read by neo4jctl) is not declared", s.Name, o)
					}
				}
				for name, o := range outs {
					e, exported := o.(M)["Export"].(M)
					wantExport := s.Kind == naming.KindVPC || s.Kind == naming.KindShared
					if exported != wantExport {
						t.Errorf("%s: output %s exported=%v", s.Name, name, exported)
					}
					if exported && e["Name"] != naming.Export(tc.cfg.Metadata.Name, name) {
						t.Errorf("%s: output %s exported as %v", s.Name, name, e["Name"])
					}
				}
			}
		})
	}
}

// ---------------------------------------------------------------------------- assertions

var (
	secretArnRe            = regexp.MustCompile(`^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[^:]+$`)
	port5000Re             = regexp.MustCompile(`[:"]5000\b`)
	allowedPasswordStrings = map[string]bool{"password": true, ":password::": true, naming.EnvAdminPassword: true,
		"secretsmanager:GetRandomPassword": true, // the rotation function's IAM action
		naming.EnvReadOnlyPassword:         true, naming.EnvReadWritePassword: true}
)

func resourcesOf(doc M, typ string) map[string]M {
	out := map[string]M{}
	for id, r := range section(doc, "Resources") {
		if r.(M)["Type"] == typ {
			out[id] = r.(M)
		}
	}
	return out
}

func props(r M) M { p, _ := r["Properties"].(M); return p }

func TestTemplateAssertions(t *testing.T) {
	for _, tc := range allCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			stacks := build(t, tc)
			for _, s := range stacks {
				text := string(s.Template)
				doc := parse(t, s)
				for _, bad := range []string{"server.discovery", "server_discovery", "rexray", "NoEcho"} {
					if strings.Contains(strings.ToLower(text), strings.ToLower(bad)) {
						t.Errorf("%s: contains %q", s.Name, bad)
					}
				}
				if port5000Re.MatchString(text) {
					t.Errorf("%s: mentions port 5000", s.Name)
				}
				walk(doc, "", func(key string, v any) {
					switch x := v.(type) {
					case string:
						if strings.Contains(strings.ToLower(x), "password") && !allowedPasswordStrings[x] {
							t.Errorf("%s: suspicious string under %s: %q", s.Name, key, x)
						}
					case float64:
						if (key == "FromPort" || key == "ToPort" || key == "ContainerPort") && x == 5000 {
							t.Errorf("%s: port 5000", s.Name)
						}
					case M:
						if x["CidrIp"] == "0.0.0.0/0" && key != "SecurityGroupEgress" {
							if p, _ := x["FromPort"].(float64); p != 443 {
								t.Errorf("%s: 0.0.0.0/0 rule on port %v", s.Name, x["FromPort"])
							}
						}
					}
				})
				for id, r := range resourcesOf(doc, "AWS::EC2::SecurityGroupIngress") {
					if cidr := props(r)["CidrIp"]; cidr == "0.0.0.0/0" {
						t.Errorf("%s: %s opens a port to the internet", s.Name, id)
					}
				}
				for p, v := range s.Parameters {
					// a secret's ARN names it (adoption); it never holds its value
					if strings.HasSuffix(p, "SecretArn") && (v == "" || secretArnRe.MatchString(v)) {
						continue
					}
					if strings.Contains(strings.ToLower(p), "password") || strings.Contains(strings.ToLower(p), "secret") {
						t.Errorf("%s: parameter %s looks like a secret", s.Name, p)
					}
				}
				for _, r := range resourcesOf(doc, "AWS::EC2::LaunchTemplate") {
					data := props(r)["LaunchTemplateData"].(M)
					if data["MetadataOptions"].(M)["HttpTokens"] != "required" {
						t.Errorf("%s: launch template without IMDSv2", s.Name)
					}
					for _, bd := range data["BlockDeviceMappings"].([]any) {
						if bd.(M)["Ebs"].(M)["Encrypted"] != true {
							t.Errorf("%s: unencrypted root volume", s.Name)
						}
					}
				}
				for id, r := range resourcesOf(doc, "AWS::ECS::TaskDefinition") {
					for _, c := range props(r)["ContainerDefinitions"].([]any) {
						c := c.(M)
						if c["Name"] != "neo4j" {
							continue
						}
						if ep := fmt.Sprint(c["EntryPoint"]); ep != "[tini -g -- "+naming.AgentPath+" entrypoint]" {
							t.Errorf("%s: %s entry point %s, want tini -g in front of the agent", s.Name, id, ep)
						}
						if lp, _ := c["LinuxParameters"].(M); lp["InitProcessEnabled"] != nil {
							t.Errorf("%s: %s sets initProcessEnabled besides tini", s.Name, id)
						}
						st, has := c["StopTimeout"]
						switch s.Kind {
						case naming.KindCore:
							// beyond ECS's 120 s cap: the host's ECS agent setting applies
							if has {
								t.Errorf("%s: core StopTimeout %v overrides the host's ECS_CONTAINER_STOP_TIMEOUT", s.Name, st)
							}
						case naming.KindReplicas:
							if st != float64(replicaStopTimeoutSeconds) {
								t.Errorf("%s: replica StopTimeout %v", s.Name, st)
							}
						}
					}
				}
				for _, r := range resourcesOf(doc, "AWS::EC2::LaunchTemplate") {
					data := props(r)["LaunchTemplateData"].(M)
					script := resolve(data["UserData"].(M)["Fn::Base64"])
					switch s.Kind {
					case naming.KindCore:
						if data["InstanceType"] != cfg.Cores.InstanceType {
							t.Errorf("%s: launch template instance type %v, want cores.instanceType %s", s.Name, data["InstanceType"], cfg.Cores.InstanceType)
						}
						if !strings.Contains(script, "\nECS_CONTAINER_STOP_TIMEOUT="+coreStopTimeout+"\n") {
							t.Errorf("%s: core hosts without ECS_CONTAINER_STOP_TIMEOUT=%s", s.Name, coreStopTimeout)
						}
					case naming.KindReplicas:
						if strings.Contains(script, "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true") != cfg.Replicas.Spot {
							t.Errorf("%s: Spot instance draining set=%v, replicas.spot=%v", s.Name, !cfg.Replicas.Spot, cfg.Replicas.Spot)
						}
					}
				}
				for id, r := range resourcesOf(doc, "AWS::SecretsManager::Secret") {
					if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
						t.Errorf("%s: secret %s not retained with the data it opens", s.Name, id)
					}
				}
				for id, r := range resourcesOf(doc, "AWS::EC2::Volume") {
					p := props(r)
					if p["Encrypted"] != true || p["KmsKeyId"] == nil {
						t.Errorf("%s: volume %s not encrypted with the cluster key", s.Name, id)
					}
					if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
						t.Errorf("%s: volume %s not retained", s.Name, id)
					}
					tags := map[string]any{}
					for _, tg := range p["Tags"].([]any) {
						tags[tg.(M)["Key"].(string)] = tg.(M)["Value"]
					}
					if tags[naming.TagCluster] != cfg.Metadata.Name || tags[naming.TagMember] != naming.CoreService(s.Member) || tags[naming.TagRole] != naming.TagRoleData {
						t.Errorf("%s: volume tags %v", s.Name, tags)
					}
				}
				for id, r := range resourcesOf(doc, "AWS::S3::Bucket") {
					if props(r)["BucketEncryption"] == nil || r["DeletionPolicy"] != "Retain" {
						t.Errorf("%s: bucket %s not encrypted or not retained", s.Name, id)
					}
				}
				for typ, field := range map[string]string{"AWS::Logs::LogGroup": "KmsKeyId", "AWS::SNS::Topic": "KmsMasterKeyId",
					"AWS::SQS::Queue": "KmsMasterKeyId", "AWS::SecretsManager::Secret": "KmsKeyId", "AWS::Lambda::Function": "KmsKeyArn"} {
					for id, r := range resourcesOf(doc, typ) {
						if props(r)[field] == nil {
							t.Errorf("%s: %s %s has no %s", s.Name, typ, id, field)
						}
					}
				}
				for id, r := range resourcesOf(doc, "AWS::SecretsManager::Secret") {
					g, _ := props(r)["GenerateSecretString"].(M)
					if g == nil || g["GenerateStringKey"] != "password" || props(r)["SecretString"] != nil {
						t.Errorf("%s: secret %s is not generated by Secrets Manager", s.Name, id)
					}
				}
				// ownership tags
				for _, k := range []string{naming.TagCluster, naming.TagStackKind, naming.TagManagedBy, naming.TagVersion} {
					if s.Tags[k] == "" {
						t.Errorf("%s: stack tag %s missing", s.Name, k)
					}
				}
				if s.Kind == naming.KindCore && s.Tags[naming.TagMember] != naming.CoreService(s.Member) {
					t.Errorf("%s: member tag %q", s.Name, s.Tags[naming.TagMember])
				}
				for k, v := range cfg.Metadata.Tags {
					if s.Tags[k] != v {
						t.Errorf("%s: metadata tag %s missing", s.Name, k)
					}
				}
				if len(s.Resources) == 0 {
					t.Errorf("%s: no key resources for the plan", s.Name)
				}
			}
		})
	}
}

// env reads the environment of a task definition's first container.
func env(t *testing.T, doc M, id string) map[string]string {
	t.Helper()
	r := section(doc, "Resources")[id].(M)
	c := props(r)["ContainerDefinitions"].([]any)[0].(M)
	out := map[string]string{}
	for _, e := range c["Environment"].([]any) {
		v, _ := e.(M)["Value"].(string)
		out[e.(M)["Name"].(string)] = v
	}
	return out
}

func TestNeo4jSettings(t *testing.T) {
	for _, tc := range allCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			var endpoints []string
			for _, m := range cfg.Members() {
				endpoints = append(endpoints, m.DNSName+":6000")
			}
			for _, s := range build(t, tc) {
				if s.Kind != naming.KindCore && s.Kind != naming.KindReplicas {
					continue
				}
				doc := parse(t, s)
				e := env(t, doc, "TaskDefinition")
				want := map[string]string{
					"NEO4J_dbms_cluster_discovery_resolver__type":                   "LIST",
					"NEO4J_initial_dbms_default__primaries__count":                  fmt.Sprint(cfg.Cores.Count),
					"NEO4J_dbms_cluster_minimum__initial__system__primaries__count": fmt.Sprint(cfg.Cores.Count),
					"NEO4J_server_memory_pagecache_size":                            "",
					"NEO4J_ACCEPT_LICENSE_AGREEMENT":                                cfg.Neo4j.AcceptLicense,
					naming.EnvCoreCount:                                             fmt.Sprint(cfg.Cores.Count),
					naming.EnvNeo4jVersion:                                          cfg.Neo4j.Version,
				}
				if cfg.ParsedVersion().Calendar() {
					want["NEO4J_dbms_cluster_endpoints"] = strings.Join(endpoints, ",")
					if _, ok := e["NEO4J_dbms_cluster_discovery_version"]; ok {
						t.Errorf("%s: discovery.version set on a calendar release", s.Name)
					}
				} else {
					want["NEO4J_dbms_cluster_discovery_version"] = "V2_ONLY"
					want["NEO4J_dbms_cluster_discovery_v2_endpoints"] = strings.Join(endpoints, ",")
				}
				if s.Kind == naming.KindCore {
					m := cfg.Members()[s.Member-1]
					want["NEO4J_initial_server_mode__constraint"] = "PRIMARY"
					want["NEO4J_server_default__advertised__address"] = m.DNSName
					want["NEO4J_server_cluster_advertised__address"] = m.DNSName + ":6000"
					want["NEO4J_server_cluster_raft_advertised__address"] = m.DNSName + ":7000"
					want["NEO4J_server_routing_advertised__address"] = m.DNSName + ":7688"
					want[naming.EnvMember] = m.Name
					want[naming.EnvRole] = "core"
					want[naming.EnvECSCluster] = "" // an import: the worker reads the replicas service
					if cfg.Restore != nil {
						want[naming.EnvRestoreFrom] = cfg.Restore.From
					}
				} else {
					want["NEO4J_initial_server_mode__constraint"] = "SECONDARY"
					want[naming.EnvRole] = "replica"
				}
				for k, v := range want {
					got, ok := e[k]
					if !ok || (v != "" && got != v) {
						t.Errorf("%s: %s=%q, want %q", s.Name, k, got, v)
					}
				}
				if v, ok := e[settingEnv("initial.dbms.default_secondaries_count")]; ok {
					t.Errorf("%s: initial.dbms.default_secondaries_count=%s in the task definition (a replicas.count change would restart it)", s.Name, v)
				}
				for k := range cfg.Neo4j.Config {
					if _, ok := e[settingEnv(k)]; !ok {
						t.Errorf("%s: neo4j.config %s not passed", s.Name, k)
					}
				}
				for k := range e {
					if strings.Contains(k, "PASSWORD") || strings.Contains(k, "AUTH") {
						t.Errorf("%s: %s in plain environment", s.Name, k)
					}
				}
			}
		})
	}
}

func TestSettingEnv(t *testing.T) {
	for in, want := range map[string]string{
		"server.default_advertised_address":       "NEO4J_server_default__advertised__address",
		"dbms.cluster.discovery.v2.endpoints":     "NEO4J_dbms_cluster_discovery_v2_endpoints",
		"db.logs.query.parameter_logging_enabled": "NEO4J_db_logs_query_parameter__logging__enabled",
	} {
		if got := settingEnv(in); got != want {
			t.Errorf("settingEnv(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestNamespaceIDWithoutName(t *testing.T) {
	tc := tableCases(t)[0]
	cfg := *tc.cfg
	cfg.Network.Namespace, cfg.Network.NamespaceID = "", "ns-abcdefgh12345678"
	if _, err := Build(&cfg, testInputs); err == nil {
		t.Fatal("Build accepted an existing namespace id without its name")
	}
}

func TestPlaceholderAgentKey(t *testing.T) {
	tc := tableCases(t)[0]
	stacks, err := Build(tc.cfg, Inputs{})
	if err != nil {
		t.Fatal(err)
	}
	ops := stacks[len(stacks)-1]
	if !bytes.Contains(ops.Template, []byte(naming.AgentKey("arm64", strings.Repeat("0", 64)))) {
		t.Error("no placeholder agent key in the operations stack")
	}
	if !bytes.Contains(ops.Template, []byte("dkr.ecr")) {
		t.Error("no default ECR image")
	}
}

func sortedStrings(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestReplicasCountLeavesCoresAlone: replicas.count (and adding or removing replicas) never
// changes a core stack's template or parameters, nor the shared stack, nor the replicas' task
// definition, so `neo4jctl update` of a replicas.count restarts no core. The secondaries
// follow the replicas service through the first core's worker instead of
// initial.dbms.default_secondaries_count, which Neo4j reads only at the first start.
func TestReplicasCountLeavesCoresAlone(t *testing.T) {
	render := func(replicas string) map[string]Stack {
		t.Helper()
		doc := "apiVersion: neo4jctl.io/v1alpha1\nkind: ClusterConfig\nmetadata: {name: t-replicas, region: eu-west-1}\n" +
			"neo4j: {acceptLicense: \"yes\"}\n" + replicas
		f, err := cluster.Decode([]byte(doc))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		cluster.SetDefaults(f.Config)
		if err := cluster.Validate(f.Config, f); err != nil {
			t.Fatalf("invalid test config: %v", err)
		}
		out := map[string]Stack{}
		for _, s := range build(t, testCase{"replicas", f.Config}) {
			out[s.Name] = s
		}
		return out
	}
	two := render("replicas: {count: 2}\n")
	for _, other := range []struct{ name, yaml string }{
		{"count 4", "replicas: {count: 4}\n"},
		{"count 1", "replicas: {count: 1}\n"},
		{"no replicas", ""},
	} {
		t.Run(other.name, func(t *testing.T) {
			got := render(other.yaml)
			cores := 0
			for name, s := range two {
				if s.Kind != naming.KindCore && s.Kind != naming.KindShared {
					continue
				}
				o, ok := got[name]
				if !ok {
					t.Fatalf("%s missing with %s", name, other.name)
				}
				if !bytes.Equal(s.Template, o.Template) {
					t.Errorf("%s: template differs between replicas count 2 and %s", name, other.name)
				}
				if !reflect.DeepEqual(s.Parameters, o.Parameters) {
					t.Errorf("%s: parameters differ between replicas count 2 and %s: %v vs %v", name, other.name, s.Parameters, o.Parameters)
				}
				if s.Kind == naming.KindCore {
					cores++
				}
			}
			if cores != 3 {
				t.Fatalf("compared %d core stacks, want 3", cores)
			}
			// the replicas' own task definition does not follow the count either (only the
			// service's desired count does): no replica restarts for a count change
			r2, r := two["neo4jctl-t-replicas-replicas"], got["neo4jctl-t-replicas-replicas"]
			if r.Name != "" {
				td2, _ := json.Marshal(resourcesOf(parse(t, r2), "AWS::ECS::TaskDefinition"))
				td, _ := json.Marshal(resourcesOf(parse(t, r), "AWS::ECS::TaskDefinition"))
				if !bytes.Equal(td2, td) {
					t.Errorf("replicas task definition differs between count 2 and %s", other.name)
				}
			}
		})
	}
	for name, s := range two {
		if bytes.Contains(s.Template, []byte("secondaries__count")) {
			t.Errorf("%s sets initial.dbms.default_secondaries_count", name)
		}
	}
}

// TestEndpointFollowsTheCoresSubdomain: get cluster shows the operations stack's Endpoint
// output, so it must name the subdomain the DNS sync keeps, not a hard-coded "core".
func TestEndpointFollowsTheCoresSubdomain(t *testing.T) {
	f, err := cluster.Decode([]byte("apiVersion: neo4jctl.io/v1alpha1\nkind: ClusterConfig\nmetadata: {name: ep, region: eu-west-1}\nneo4j: {acceptLicense: \"yes\"}\nnetwork: {subdomains: {cores: graph}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cluster.SetDefaults(f.Config)
	if err := cluster.Validate(f.Config, f); err != nil {
		t.Fatal(err)
	}
	for _, s := range build(t, testCase{"ep", f.Config}) {
		if s.Kind != naming.KindOperations {
			continue
		}
		var tmpl struct {
			Outputs map[string]struct{ Value any }
		}
		if err := json.Unmarshal(s.Template, &tmpl); err != nil {
			t.Fatal(err)
		}
		if got := tmpl.Outputs[OutputEndpoint].Value; got != "neo4j://graph.ep.neo4j.internal:7687" {
			t.Fatalf("Endpoint output = %v", got)
		}
		return
	}
	t.Fatal("no operations stack")
}

// TestInputsReachTheParameters: the pinned AMI and the kept data's ids (params.go) are passed
// as the stacks' parameters; without them the parameters are empty and the stacks create
// their own resources and resolve the AMI from SSM.
func TestInputsReachTheParameters(t *testing.T) {
	tc := examples(t)[0]
	for _, e := range examples(t) {
		if e.cfg.Users != nil && e.cfg.ReplicaCount() > 0 {
			tc = e
		}
	}
	in := testInputs
	in.ImageIDs = map[string]string{"arm64": "ami-0123456789abcdef0", "amd64": "ami-0fedcba9876543210"}
	in.Adopt = Adoption{
		KMSKeyArn:          "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		BucketName:         "kept-bucket",
		AdminSecretArn:     "arn:aws:secretsmanager:eu-west-1:123456789012:secret:neo4jctl/x/admin-AbCdEf",
		ReadOnlySecretArn:  "arn:aws:secretsmanager:eu-west-1:123456789012:secret:neo4jctl/x/read-only-AbCdEf",
		ReadWriteSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:neo4jctl/x/read-write-AbCdEf",
		Volumes:            map[int]string{1: "vol-0123456789abcdef1", 3: "vol-0123456789abcdef3"},
	}
	for _, pinned := range []bool{true, false} {
		use := in
		if !pinned {
			use = testInputs
		}
		stacks, err := Build(tc.cfg, use)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stacks {
			want := map[string]string{}
			switch s.Kind {
			case naming.KindShared:
				want = map[string]string{ParamExistingKMSKeyArn: in.Adopt.KMSKeyArn, ParamExistingBucketName: in.Adopt.BucketName,
					ParamExistingAdminSecretArn: in.Adopt.AdminSecretArn, ParamExistingReadOnlySecretArn: in.Adopt.ReadOnlySecretArn,
					ParamExistingReadWriteSecretArn: in.Adopt.ReadWriteSecretArn}
			case naming.KindCore:
				want = map[string]string{ParamImageID: in.ImageIDs[tc.cfg.Arch()], ParamExistingVolumeID: in.Adopt.Volumes[s.Member]}
			case naming.KindReplicas:
				want = map[string]string{ParamImageID: in.ImageIDs[cluster.InstanceArch(tc.cfg.Replicas.InstanceTypes[0])]}
			}
			for k, v := range want {
				if !pinned {
					v = ""
				}
				if got, ok := s.Parameters[k]; !ok || got != v {
					t.Errorf("pinned=%v: %s: parameter %s=%q, want %q", pinned, s.Name, k, got, v)
				}
			}
			if s.Kind == naming.KindCore || s.Kind == naming.KindReplicas {
				if !strings.HasPrefix(s.Parameters[ParamImageSSMParameter], "/aws/service/ecs/optimized-ami/amazon-linux-2023/") {
					t.Errorf("%s: SSM fallback %q", s.Name, s.Parameters[ParamImageSSMParameter])
				}
			}
		}
	}
}

// TestTemplatesFitCloudFormation: AWS refuses a template over 51,200 bytes passed inline (the
// engine passes TemplateBody), and more than 200 parameters or outputs or 500 resources;
// moto, cfn-lint and checkov take them all. The shared stack's, indented, was over.
func TestTemplatesFitCloudFormation(t *testing.T) {
	for _, tc := range allCases(t) {
		for _, s := range build(t, tc) {
			if len(s.Template) > MaxTemplateBody {
				t.Errorf("%s: %d bytes, CloudFormation takes %d inline", s.Name, len(s.Template), MaxTemplateBody)
			}
			doc := parse(t, s)
			for sec, limit := range map[string]int{"Parameters": 200, "Outputs": 200, "Resources": 500} {
				if n := len(section(doc, sec)); n > limit {
					t.Errorf("%s: %d %s, CloudFormation allows %d", s.Name, n, sec, limit)
				}
			}
		}
	}
}
