package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// FuzzLoadValidateRender drives the whole offline path of `create --dry-run` and `generate
// templates`: whatever the bytes, loading ends in a config or a config error (exit 2), and
// whatever validates renders, into valid JSON templates within AWS's tag limits.
func FuzzLoadValidateRender(f *testing.F) {
	paths, _ := filepath.Glob("../../examples/*.yaml")
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	head := "apiVersion: neo4jctl.io/v1alpha1\nkind: ClusterConfig\nmetadata: {name: fz, region: eu-west-1}\n"
	for _, c := range configTable {
		f.Add([]byte(head + strings.TrimSpace(c.yaml) + "\n"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := cluster.Read(context.Background(), strings.NewReader(string(data)), "fuzz.yaml", cluster.Overrides{Region: "eu-west-1"})
		if err != nil {
			if !cluster.IsConfigError(err) {
				t.Fatalf("not a config error: %T %v", err, err)
			}
			return
		}
		stacks, err := Build(file.Config, testInputs)
		if err != nil {
			t.Fatalf("a valid config does not render: %v\n%s", err, data)
		}
		for _, s := range stacks {
			if !json.Valid(s.Template) {
				t.Fatalf("%s: template is not JSON", s.Name)
			}
			if len(s.Tags) > naming.MaxTagsPerResource {
				t.Fatalf("%s: %d stack tags", s.Name, len(s.Tags))
			}
		}
	})
}

// fieldTemplate is a valid config with one placeholder per field the fuzzer may set; the
// other placeholders keep their default. Mutating one value at a time reaches rendering far
// more often than mutating whole files, most of which are not YAML.
var fieldTemplate = []struct{ line, def string }{
	{"apiVersion: neo4jctl.io/v1alpha1\nkind: ClusterConfig\nmetadata:\n  name: %s\n", "graph"},
	{"  region: %s\n", "eu-west-1"},
	{"  tags: {team: %s}\n", "social"},
	{"neo4j:\n  acceptLicense: %s\n", `"yes"`},
	{"  version: %s\n", `"5.26"`},
	{"  image: %s\n", `""`},
	{"  config: {db.transaction.timeout: %s}\n", "10s"},
	{"network:\n  vpcID: %s\n", "vpc-0123456789abcdef0"},
	{"  subnets: [subnet-0123456789abcdef1, %s]\n", "subnet-0123456789abcdef2"},
	{"  namespace: %s\n", "graph.neo4j.internal"},
	{"  clientAccess: {cidrs: [%s]}\n", "10.0.0.0/8"},
	{"cores:\n  count: %s\n", "3"},
	{"  instanceType: %s\n", "r7g.large"},
	{"  volume: {sizeGiB: %s}\n", "100"},
	{"replicas: {count: %s, instanceTypes: [r7g.large, r6g.large], spot: true}\n", "2"},
	{"backup:\n  schedule: {full: %s}\n", `"cron(0 2 * * ? *)"`},
	{"  retention: {days: %s}\n", "14"},
	{"  databases: [%s]\n", `"*"`},
	{"users: {readOnly: %s}\n", "reader"},
	{"monitoring:\n  alarmEmail: %s\n", "ops@example.com"},
	{"  slowQueryLog: {enabled: true, threshold: %s}\n", "500ms"},
	{"  logRetentionDays: %s\n", "30"},
}

func FuzzFieldValueRender(f *testing.F) {
	for i, l := range fieldTemplate {
		f.Add(uint8(i), strings.Trim(l.def, `"`))
	}
	f.Add(uint8(0), "a-very-long-cluster-name")
	f.Add(uint8(2), strings.Repeat("ü", 256))
	f.Add(uint8(11), "7")
	f.Fuzz(func(t *testing.T, field uint8, value string) {
		var b strings.Builder
		for i, l := range fieldTemplate {
			v := l.def
			if i == int(field)%len(fieldTemplate) {
				v = value
				if _, err := strconv.Atoi(value); err != nil {
					v = strconv.Quote(value) // YAML reads Go's escapes in double quotes
				}
			}
			fmt.Fprintf(&b, l.line, v)
		}
		file, err := cluster.Read(context.Background(), strings.NewReader(b.String()), "fuzz.yaml", cluster.Overrides{})
		if err != nil {
			if !cluster.IsConfigError(err) {
				t.Fatalf("not a config error: %T %v", err, err)
			}
			return
		}
		stacks, err := Build(file.Config, testInputs)
		if err != nil {
			t.Fatalf("a valid config does not render: %v\n%s", err, b.String())
		}
		for _, s := range stacks {
			if !json.Valid(s.Template) {
				t.Fatalf("%s: template is not JSON", s.Name)
			}
		}
	})
}

// TestFieldTemplateIsValid keeps FuzzFieldValueRender useful: with no value changed, its
// config loads and renders.
func TestFieldTemplateIsValid(t *testing.T) {
	var b strings.Builder
	for _, l := range fieldTemplate {
		fmt.Fprintf(&b, l.line, l.def)
	}
	file, err := cluster.Read(context.Background(), strings.NewReader(b.String()), "template.yaml", cluster.Overrides{})
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if _, err := Build(file.Config, testInputs); err != nil {
		t.Fatal(err)
	}
}
