package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

// cli runs neo4jctl in-process as a user would, returning exit code, stdout and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, streams{in: strings.NewReader(""), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

// noAWS points the AWS SDK at a server that counts requests, so a test can assert that
// nothing reached AWS.
func noAWS(t *testing.T) *atomic.Int32 {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusForbidden)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	return &n
}

func writeConfig(t testing.TB, doc string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodConfig = `apiVersion: neo4jctl.io/v1alpha1
kind: ClusterConfig
metadata: {name: demo, region: eu-west-1}
neo4j: {acceptLicense: "yes"}
`

func TestInvalidConfigExitsTwoListingEveryProblem(t *testing.T) {
	calls := noAWS(t)
	path := writeConfig(t, goodConfig+`cores:
  cuont: 3
  instanceType: r7g.large
network:
  vpcID: vpc-0a1b2c3d
  subnets: [subnet-0a1b2c3d, subnet-0a1b2c3d]
backup:
  schedule: {full: "cron(0 2 * * * *)"}
`)
	for _, args := range [][]string{
		{"create", "cluster", "-f", path, "--dry-run"},
		{"create", "cluster", "-f", path, "--dry-run", "-o", "json"},
	} {
		code, stdout, stderr := cli(t, args...)
		if code != 2 {
			t.Fatalf("exit %d, want 2; stderr: %s", code, stderr)
		}
		if stdout != "" {
			t.Errorf("stdout must stay empty on error, got %q", stdout)
		}
		for _, want := range []string{
			"3 problems",
			"cores.cuont (" + path + ":6): unknown field; did you mean `count`?",
			"network.subnets[1] (" + path + ":10): subnet-0a1b2c3d is listed twice",
			"backup.schedule.full (" + path + ":12): cron needs ? in exactly one of day-of-month and day-of-week",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
	}
	if calls.Load() != 0 {
		t.Fatalf("an invalid config made %d AWS calls", calls.Load())
	}
}

func TestDryRunJSONIsCleanOnStdout(t *testing.T) {
	noAWS(t)
	paths, _ := filepath.Glob("../../examples/*.yaml")
	if len(paths) == 0 {
		t.Fatal("no examples")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			code, stdout, stderr := cli(t, "create", "cluster", "-f", p, "--dry-run", "-o", "json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got struct {
				Config struct {
					Metadata struct{ Name string }
					Cores    struct{ Count int }
				}
				Plan ops.Plan
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
			}
			if got.Config.Cores.Count == 0 || len(got.Plan.Members) != got.Config.Cores.Count {
				t.Fatalf("plan has %d members for %d cores", len(got.Plan.Members), got.Config.Cores.Count)
			}
			if len(got.Plan.Stacks) < 3 {
				t.Fatalf("plan lists %d stacks", len(got.Plan.Stacks))
			}
		})
	}
}

// TestDryRunShowsEncryptionInTransit: the dry run says which member traffic the instances
// encrypt in hardware (examples/production.yaml: its r6g.large replicas do not) and whether
// Neo4j's TLS is on, as text and as JSON.
func TestDryRunShowsEncryptionInTransit(t *testing.T) {
	noAWS(t)
	file := "../../examples/production.yaml"
	code, stdout, stderr := cli(t, "create", "cluster", "-f", file, "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	mustContain(t, "dry run", stdout, "# Encryption in transit:\n"+
		"#   between members, by the instances' Nitro cards (in hardware): core to core yes, core to replica no, replica to replica no; not by r6g.large",
		"#   Neo4j TLS between members (dbms.ssl.policy.cluster): off\n", "#   Neo4j TLS for clients (dbms.ssl.policy.bolt): off\n")
	code, stdout, stderr = cli(t, "create", "cluster", "-f", file, "--dry-run", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct{ Plan ops.Plan }
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if e := got.Plan.TransitEncryption; !e.CoreToCore || e.CoreToReplica || e.ReplicaToReplica || strings.Join(e.Unencrypting, ",") != "r6g.large" || got.Plan.TLS != (ops.PlanTLS{}) {
		t.Errorf("JSON plan: transit %+v, TLS %+v", e, got.Plan.TLS)
	}
}

func TestDryRunYAMLIsAUsableConfig(t *testing.T) {
	noAWS(t)
	code, stdout, stderr := cli(t, "create", "cluster", "-f", writeConfig(t, goodConfig), "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"instanceType: r7g.large", "heap: 5g", "# Core members:", "core-3.demo.neo4j.internal", "AZ 3 of 3", "AWS::EC2::Volume"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run lacks %q", want)
		}
	}
	// what it printed loads again, unchanged
	code, again, stderr := cli(t, "create", "cluster", "-f", writeConfig(t, stdout), "--dry-run")
	if code != 0 || again != stdout {
		t.Fatalf("dry-run output does not load back to itself (exit %d): %s", code, stderr)
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	noAWS(t)
	path := writeConfig(t, goodConfig)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"create"}, "needs an object"},
		{[]string{"create", "cluster", "--dry-run"}, "-f/--config-file is required"},
		{[]string{"create", "cluster", "-f", path, "--dry-run", "-o", "xml"}, `-o "xml" is not a format`},
		{[]string{"create", "cluster", "-f", path, "--no-such-flag"}, "unknown flag"},
		{[]string{"create", "cluster", "-f", filepath.Join(t.TempDir(), "missing.yaml"), "--dry-run"}, "no such file"},
		{[]string{"create", "cluster", "-f", path, "--dry-run", "--region", "us-east-1"}, "disagrees with metadata.region"},
		{[]string{"frobnicate"}, "unknown command"},
	}
	for _, tc := range cases {
		code, stdout, stderr := cli(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 mentioning %q", tc.args, code, stderr, stdout, tc.want)
		}
	}
}

func TestRegionFromEnvironmentFillsAGap(t *testing.T) {
	noAWS(t)
	t.Setenv("AWS_REGION", "ap-southeast-2")
	doc := strings.Replace(goodConfig, ", region: eu-west-1", "", 1)
	code, stdout, stderr := cli(t, "create", "cluster", "-f", writeConfig(t, doc), "--dry-run", "-o", "json")
	if code != 0 || !strings.Contains(stdout, `"region": "ap-southeast-2"`) {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
}

func TestSchemaAndVersionPrintData(t *testing.T) {
	code, stdout, _ := cli(t, "utils", "schema")
	var schema map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &schema) != nil || schema["$id"] == nil {
		t.Fatalf("utils schema: exit %d, output %.200s", code, stdout)
	}
	code, stdout, _ = cli(t, "version", "-o", "json")
	var v versionInfo
	if code != 0 || json.Unmarshal([]byte(stdout), &v) != nil || v.ConfigAPI != "neo4jctl.io/v1alpha1" {
		t.Fatalf("version: exit %d, output %s", code, stdout)
	}
	// make test builds the bundle first; its SHA-256 is what the Lambdas run from
	for _, arch := range []string{"amd64", "arm64"} {
		if len(v.Agent[arch]) != 64 {
			t.Errorf("version shows agent %s as %q, want its SHA-256", arch, v.Agent[arch])
		}
	}
}

func TestCompletion(t *testing.T) {
	code, stdout, _ := cli(t, "completion", "bash")
	if code != 0 || !strings.Contains(stdout, "neo4jctl") {
		t.Fatalf("completion bash: exit %d", code)
	}
}

func TestGenerateTemplatesWritesEveryStack(t *testing.T) {
	calls := noAWS(t)
	dir := t.TempDir()
	code, stdout, stderr := cli(t, "generate", "templates", "-f", "../../examples/production.yaml", "--dir", dir, "--offline")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	written := strings.Fields(stdout)
	// shared, 3 cores, replicas, operations
	if len(written) != 6 {
		t.Fatalf("want 6 templates listed on stdout, got %v", written)
	}
	for _, p := range written {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var tmpl struct{ Resources map[string]any }
		if err := json.Unmarshal(b, &tmpl); err != nil || len(tmpl.Resources) == 0 {
			t.Fatalf("%s is not a template: %v", p, err)
		}
		params, err := os.ReadFile(strings.Replace(p, ".template.json", ".parameters.json", 1))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToLower(string(params)), "password") {
			t.Fatalf("%s passes a password parameter", p)
		}
	}
	if calls.Load() != 0 {
		t.Fatal("generate templates --offline called AWS")
	}
	// no credentials at all: placeholders, and says so
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	code, _, stderr = cli(t, "generate", "templates", "-f", "../../examples/production.yaml", "--dir", t.TempDir())
	if code != 0 || !strings.Contains(stderr, "No AWS credentials (") || !strings.Contains(stderr, "FILL_IN_ placeholders; deploy.sh says how to look each up") || calls.Load() != 0 {
		t.Fatalf("without credentials: exit %d, %d AWS calls\n%s", code, calls.Load(), stderr)
	}
	if code, _, stderr := cli(t, "generate", "templates", "-f", "../../examples/production.yaml"); code != 2 || !strings.Contains(stderr, "--dir/-d is required") {
		t.Fatalf("missing --dir: exit %d %s", code, stderr)
	}
	// -o is the output format everywhere: the old spelling says where the directory went
	if code, _, stderr := cli(t, "generate", "templates", "-f", "../../examples/production.yaml", "-o", dir); code != 2 ||
		!strings.Contains(stderr, "-o/--output is the output format in neo4jctl; generate templates takes its directory with --dir/-d, e.g. --dir "+dir) {
		t.Fatalf("-o DIR: exit %d %s", code, stderr)
	}
}
