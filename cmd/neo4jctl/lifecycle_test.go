package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// The lifecycle tests run neo4jctl in-process, as a user would, against a real moto_server
// (with the CloudFormation types test/moto registers) started once for the package; the
// --bolt-uri tests against the real Neo4j 5.26 test server.
func TestMain(m *testing.M) { testbed.Main(m, testbed.NeedMoto, testbed.NeedNeo4j) }

// fakeBundle stands in for the embedded agent bundle (built by `go run ./cmd/build-agent`,
// which these tests do not need): an empty zip, so the upload path is the real one.
func fakeBundle(arch string) ([]byte, string, error) {
	b := append([]byte("PK\x05\x06"), make([]byte, 18)...)
	b = append(b, arch...) // a different object per architecture
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:]), nil
}

// defaultImageTag is the tag of the image a default cluster runs (naming.ImageTag of the
// amd64 agent bundle).
func defaultImageTag(version string) string {
	_, sum, _ := fakeBundle("amd64")
	return naming.ImageTag(version, sum)
}

// motoAccount is one test's view of moto: its own account, so tests never see each other.
type motoAccount struct {
	t       testing.TB
	region  string
	account string
	cfg     aws.Config
	hooks   hooks
	ctx     context.Context // what the CLI runs with; cancel it for a Ctrl-C
	sim     *simulated      // the Neo4j cluster behind the admin Lambda, once simulate is called
}

func newMotoAccount(t testing.TB, region string) *motoAccount {
	t.Helper()
	m := testbed.SharedMoto(t)
	for _, kv := range m.Env(region) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("NO_COLOR", "1")
	t.Setenv("CI", "")
	t.Cleanup(func() {
		if t.Failed() { // moto's side of the story: its tracebacks
			logs := m.Logs()
			if i := strings.LastIndex(logs, "Traceback"); i >= 0 {
				// up to the next request line, and its end: the exception itself
				tb := logs[i:]
				if j := strings.Index(tb, "\n127.0.0.1 - - "); j >= 0 {
					tb = tb[:j]
				}
				t.Logf("moto's last traceback (its end):\n%s", tb[max(0, len(tb)-5000):])
			} else {
				t.Logf("moto's log ends:\n%s", logs[max(0, len(logs)-3000):])
			}
		}
	})
	cfg, account := m.IsolatedConfig(context.Background(), region)
	a := &motoAccount{t: t, region: region, account: account, cfg: cfg, ctx: context.Background()}
	a.hooks = hooks{awsConfig: []func(*aws.Config){testbed.WithAccountID(account)}, bundle: fakeBundle}
	return a
}

// cli runs neo4jctl in this account with stdin.
func (a *motoAccount) cli(stdin string, args ...string) (int, string, string) {
	a.t.Helper()
	return a.cliReader(strings.NewReader(stdin), args...)
}

func (a *motoAccount) cliReader(stdin io.Reader, args ...string) (int, string, string) {
	a.t.Helper()
	args = a.noWait(args)
	var out, errb bytes.Buffer
	code := a.run(args, streams{in: stdin, out: &out, err: &errb})
	return code, out.String(), errb.String()
}

// noWait adds --wait=false to a create that would wait for Neo4j: moto runs no containers,
// so no cluster ever forms there; tests that wait run a cluster simulator (simulate).
func (a *motoAccount) noWait(args []string) []string {
	if a.sim != nil || len(args) < 2 || !slices.Contains(args, "create") {
		return args
	}
	for _, f := range args {
		if f == "--dry-run" || f == "--detach" || strings.HasPrefix(f, "--wait") {
			return args
		}
	}
	return append(slices.Clone(args), "--wait=false")
}

// run runs neo4jctl in this account, recording its AWS calls, and fails the test when the
// IAM policy of the command lacks one of them.
func (a *motoAccount) run(args []string, s streams) int { return a.runCtx(a.ctx, args, s) }

// runCtx is run with a context of the caller's (a follow that the test stops).
func (a *motoAccount) runCtx(ctx context.Context, args []string, s streams) int {
	rec := &callRecorder{account: a.account}
	h := a.hooks
	h.awsConfig = append(slices.Clip(h.awsConfig), rec.install)
	code := runWith(ctx, args, s, h)
	rec.checkPermissions(a.t, args)
	return code
}

// pushImage puts a (manifest-only) image in the account's ECR, as `neo4jctl image push` would.
func (a *motoAccount) pushImage(repo, tag string) {
	a.t.Helper()
	ctx := context.Background()
	c := ecr.NewFromConfig(a.cfg)
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)}); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		a.t.Fatalf("CreateRepository: %v", err)
	}
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}`
	if _, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String(repo), ImageTag: aws.String(tag), ImageManifest: aws.String(manifest)}); err != nil {
		a.t.Fatalf("PutImage: %v", err)
	}
}

func (a *motoAccount) stacks(cluster string) map[string]string {
	a.t.Helper()
	out, err := cloudformation.NewFromConfig(a.cfg).DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{})
	if err != nil {
		a.t.Fatalf("DescribeStacks: %v", err)
	}
	got := map[string]string{}
	for _, s := range out.Stacks {
		for _, tag := range s.Tags {
			if aws.ToString(tag.Key) == naming.TagCluster && aws.ToString(tag.Value) == cluster {
				got[aws.ToString(s.StackName)] = string(s.StackStatus)
			}
		}
	}
	return got
}

func mustContain(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func TestLifecycleMinimal(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	ctx := context.Background()
	file := "../../examples/minimal.yaml"
	name := "graph-dev"

	// no image in ECR yet: create stops before touching anything and says what to do
	code, _, stderr := a.cli("", "create", "cluster", "-f", file)
	if code != exitFailed {
		t.Fatalf("create without an image: exit %d\n%s", code, stderr)
	}
	mustContain(t, "stderr", stderr, "is not in ECR", "neo4jctl image push --repository "+a.account+".dkr.ecr.eu-west-1.amazonaws.com/neo4jctl/neo4j")
	if n := len(a.stacks(name)); n != 0 {
		t.Fatalf("a failed pre-check created %d stacks", n)
	}

	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	code, stdout, stderr := a.cli("", "create", "cluster", "-f", file)
	if code != 0 {
		t.Fatalf("create: exit %d\n%s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("create wrote data to stdout: %q", stdout)
	}
	mustContain(t, "create progress", stderr,
		"Using account "+a.account,
		"neo4jctl-graph-dev-vpc CREATE_IN_PROGRESS", "neo4jctl-graph-dev-vpc CREATE_COMPLETE",
		"neo4jctl-graph-dev-shared CREATE_COMPLETE", "neo4jctl-graph-dev-core-3 CREATE_COMPLETE",
		"neo4jctl-graph-dev-operations CREATE_COMPLETE", "Uploaded agent bundle s3://",
		"Done: cluster graph-dev created")

	// effects in moto
	stacks := a.stacks(name)
	for _, s := range []string{"vpc", "shared", "core-1", "core-2", "core-3", "operations"} {
		if st := stacks["neo4jctl-graph-dev-"+s]; st != engine.StatusCreateComplete {
			t.Errorf("stack %s is %q", s, st)
		}
	}
	ecsc := ecs.NewFromConfig(a.cfg)
	svcs, err := ecsc.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(naming.ECSCluster(name)), Services: []string{"core-1", "core-2", "core-3"}})
	if err != nil || len(svcs.Services) != 3 {
		t.Fatalf("ECS services: %v %+v", err, svcs)
	}
	for _, s := range svcs.Services {
		if s.DesiredCount != 1 {
			t.Errorf("service %s desired %d, want 1", aws.ToString(s.ServiceName), s.DesiredCount)
		}
	}

	// get -o json: valid JSON on stdout and nothing else there
	code, stdout, stderr = a.cli("", "get", "cluster", name, "-o", "json")
	if code != 0 {
		t.Fatalf("get: exit %d\n%s", code, stderr)
	}
	var got struct {
		Name, Status, Endpoint, Bucket string
		Problems                       []string
		Stacks                         []struct{ Name, Status string }
		Members                        []struct {
			Name, DNSName, AvailabilityZone, Volume string
			Desired                                 int
		}
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("get -o json is not JSON: %v\n%s", err, stdout)
	}
	// moto runs no containers: the stacks are complete but no member task runs, so no
	// majority of the cores does (and moto's Lambda answers no admin request)
	if got.Status != "no-quorum" || len(got.Problems) != 3 || got.Problems[0] != "core-1: 0 of 1 tasks running (task: none)" || got.Endpoint != "neo4j://core.graph-dev.neo4j.internal:7687" || len(got.Members) != 3 || len(got.Stacks) != 6 {
		t.Fatalf("get: %+v", got)
	}
	if m := got.Members[1]; m.Name != "core-2" || m.DNSName != "core-2.graph-dev.neo4j.internal" || m.Volume == "" || m.Desired != 1 {
		t.Errorf("member: %+v", m)
	}
	// the agent bundle is in the bucket under its SHA-256
	_, sum, _ := fakeBundle("arm64")
	s3c := s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(got.Bucket), Key: aws.String(naming.AgentKey("arm64", sum))}); err != nil {
		t.Errorf("agent bundle not in s3://%s: %v", got.Bucket, err)
	}

	// get as a table, and all clusters
	code, stdout, _ = a.cli("", "get", "cluster", name)
	mustContain(t, "get table", stdout, "ENDPOINT  neo4j://core.graph-dev.neo4j.internal:7687", "core-3", "neo4jctl-graph-dev-operations")
	code, stdout, _ = a.cli("", "get", "cluster")
	mustContain(t, "get all", stdout, "graph-dev", "no-quorum (0 of 3 core members run, a majority is 2, +3)")

	// create again: the name is taken by this very cluster
	code, _, stderr = a.cli("", "create", "cluster", "-f", file)
	if code != exitFailed {
		t.Fatalf("second create: exit %d", code)
	}
	mustContain(t, "second create", stderr, "cluster graph-dev already exists (6 stacks); change it with `neo4jctl update cluster -f ../../examples/minimal.yaml`")

	// update with nothing changed is success
	code, stdout, stderr = a.cli("", "update", "cluster", "-f", file)
	if code != 0 {
		t.Fatalf("update without changes: exit %d\n%s\n%s", code, stdout, stderr)
	}
	mustContain(t, "update", stderr, "No changes")

	// a real change: a visible diff, refused without a terminal or --yes, then applied
	changed := strings.Replace(readFile(t, file), `acceptLicense: "eval"`, "acceptLicense: \"eval\"\nmonitoring: {logRetentionDays: 90}", 1)
	cfgFile := writeConfig(t, changed)
	code, stdout, stderr = a.cli("", "update", "cluster", "-f", cfgFile)
	if code != exitUsage {
		t.Fatalf("update without --yes: exit %d\n%s", code, stderr)
	}
	mustContain(t, "diff", stdout, "neo4jctl-graph-dev-shared: changes", "~ Modify  LogGroup (AWS::Logs::LogGroup)")
	mustContain(t, "refusal", stderr, "needs confirmation and there is no terminal to ask on; pass --yes")
	code, stdout, stderr = a.cli("", "update", "cluster", "-f", cfgFile, "--yes")
	if code != 0 {
		t.Fatalf("update --yes: exit %d\n%s", code, stderr)
	}
	mustContain(t, "update", stderr, "neo4jctl-graph-dev-shared UPDATE_COMPLETE", "Cluster graph-dev updated.")

	// delete: refused without --yes, then everything goes but the data
	code, _, stderr = a.cli("", "delete", "cluster", name)
	if code != exitUsage || len(a.stacks(name)) != 6 {
		t.Fatalf("delete without --yes: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr = a.cli("", "delete", "cluster", name, "--yes")
	// A clean delete: test/moto/neo4jctl_moto.py gives moto the VPC-side deletes it lacks.
	if code != 0 {
		t.Fatalf("delete: exit %d\n%s", code, stderr)
	}
	mustContain(t, "delete", stderr, "neo4jctl-graph-dev-operations DELETE_COMPLETE", "neo4jctl-graph-dev-core-1 DELETE_COMPLETE",
		"neo4jctl-graph-dev-shared DELETE_COMPLETE", "neo4jctl-graph-dev-vpc DELETE_COMPLETE",
		"Kept bucket "+got.Bucket+" (backups)", "Done: cluster graph-dev deleted.")
	for _, m := range got.Members {
		mustContain(t, "delete keeps the data", stderr, "Kept volume "+m.Volume+" ("+m.Name+")")
	}
	if strings.Contains(stderr, "Error") {
		t.Errorf("delete reported an error:\n%s", stderr)
	}
	for s := range a.stacks(name) {
		t.Errorf("stack %s left after delete", s)
	}
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
