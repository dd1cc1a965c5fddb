package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/middleware"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// The kept-data lifecycle through the CLI on moto: delete keeps the volumes, bucket, key and
// secrets; create of the same name adopts them; --purge-data removes every generation.

// withUsers is examples/minimal.yaml with a read-only and a read-write user (three secrets).
const withUsers = `apiVersion: neo4jctl.io/v1alpha1
kind: ClusterConfig
metadata: {name: graph-dev, region: eu-west-1}
neo4j: {acceptLicense: "eval"}
users: {readOnly: reader, readWrite: app}
`

var secretNames = []string{naming.AdminSecret("graph-dev"), naming.ReadOnlySecret("graph-dev"), naming.ReadWriteSecret("graph-dev")}

// dataVolumes are the data volumes of cluster in moto by member, but for those of skip (an
// earlier generation).
func (a *motoAccount) dataVolumes(cluster string, skip ...map[string]string) map[string]string {
	a.t.Helper()
	out, err := ec2.NewFromConfig(a.cfg).DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + naming.TagCluster), Values: []string{cluster}}, {Name: aws.String("tag:" + naming.TagRole), Values: []string{naming.TagRoleData}}}})
	if err != nil {
		a.t.Fatalf("DescribeVolumes: %v", err)
	}
	got := map[string]string{}
	for _, v := range out.Volumes {
		id := aws.ToString(v.VolumeId)
		if slices.ContainsFunc(skip, func(m map[string]string) bool { return slices.Contains(values(m), id) }) {
			continue
		}
		for _, t := range v.Tags {
			if member := aws.ToString(t.Value); aws.ToString(t.Key) == naming.TagMember {
				if got[member] != "" {
					a.t.Errorf("two data volumes of %s: %s and %s", member, got[member], id)
				}
				got[member] = id
			}
		}
	}
	return got
}

// volumesLeft are those of ids that still exist.
func (a *motoAccount) volumesLeft(ids []string) []string {
	a.t.Helper()
	out, err := ec2.NewFromConfig(a.cfg).DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{{Name: aws.String("volume-id"), Values: ids}}})
	if err != nil {
		a.t.Fatalf("DescribeVolumes: %v", err)
	}
	var left []string
	for _, v := range out.Volumes {
		left = append(left, aws.ToString(v.VolumeId))
	}
	return left
}

// kept is what a cluster of graph-dev holds in moto: the shared stack's bucket and key, and
// each secret's ARN, password and key.
type kept struct {
	bucket, key string
	secrets     map[string][3]string // name → ARN, value, key ARN
}

func (a *motoAccount) kept() kept {
	a.t.Helper()
	ctx := context.Background()
	out, err := cloudformation.NewFromConfig(a.cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("neo4jctl-graph-dev-shared")})
	if err != nil {
		a.t.Fatalf("DescribeStacks: %v", err)
	}
	k := kept{secrets: map[string][3]string{}}
	for _, o := range out.Stacks[0].Outputs {
		switch aws.ToString(o.OutputKey) {
		case stack.OutputBucketName:
			k.bucket = aws.ToString(o.OutputValue)
		case stack.OutputKMSKeyArn:
			k.key = aws.ToString(o.OutputValue)[strings.LastIndex(aws.ToString(o.OutputValue), "/")+1:]
		}
	}
	sm := secretsmanager.NewFromConfig(a.cfg)
	for _, name := range secretNames {
		d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		if err != nil {
			continue
		}
		v, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		if err != nil {
			a.t.Fatalf("GetSecretValue %s: %v", name, err)
		}
		k.secrets[name] = [3]string{aws.ToString(d.ARN), aws.ToString(v.SecretString), aws.ToString(d.KmsKeyId)}
	}
	return k
}

func (a *motoAccount) keyState(id string) kmstypes.KeyState {
	a.t.Helper()
	d, err := kms.NewFromConfig(a.cfg).DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String(id)})
	if err != nil {
		a.t.Fatalf("DescribeKey %s: %v", id, err)
	}
	return d.KeyMetadata.KeyState
}

func (a *motoAccount) bucketExists(b string) bool {
	_, err := s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = true }).HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String(b)})
	return err == nil
}

func (a *motoAccount) secretExists(arn string) bool {
	_, err := secretsmanager.NewFromConfig(a.cfg).DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	return err == nil
}

func values(m map[string]string) []string { return slices.Sorted(maps.Values(m)) }

func TestDeleteThenCreateComesBackWithTheSameDataAndPasswords(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	ctx := context.Background()
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	file := writeConfig(t, withUsers)
	a.mustCLI("", "create", "cluster", "-f", file)
	vols, before := a.dataVolumes("graph-dev"), a.kept()
	if len(vols) != 3 || len(before.secrets) != 3 || before.bucket == "" {
		t.Fatalf("first create: volumes %v, kept %+v", vols, before)
	}
	s3c := s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(before.bucket), Key: aws.String("backups/neo4j/full.backup"), Body: strings.NewReader("backup")}); err != nil {
		t.Fatal(err)
	}

	out := a.mustCLI("", "delete", "cluster", "graph-dev", "--yes")
	mustContain(t, "delete", out, "Member volumes, backups, the KMS key and the users' secrets are kept: `neo4jctl create cluster` of the same name adopts them.",
		"Kept secret neo4jctl/graph-dev/admin (a Neo4j user's password); --purge-data deletes it", "Kept volume "+vols["core-2"]+" (core-2)")

	// the dry run looks in AWS and says what create adopts, touching nothing
	code, stdout, stderr := a.cli("", "create", "cluster", "-f", file, "--dry-run=aws")
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s", code, stderr)
	}
	mustContain(t, "dry run", stdout, "# Adopting the data an earlier cluster graph-dev kept", "#   core-1: volume "+vols["core-1"]+" (eu-west-1a, 100 GiB gp3",
		"#   KMS key "+before.key, "#   bucket "+before.bucket+" (backups)", "#   secret neo4jctl/graph-dev/read-write (same password)",
		"#       AWS::EC2::Volume DataVolume: adopted "+vols["core-2"]+", not made", "#       AWS::KMS::Key Key: adopted "+before.key+", not made")
	if len(a.stacks("graph-dev")) != 0 {
		t.Fatal("the dry run created stacks")
	}

	out = a.mustCLI("", "create", "cluster", "-f", file)
	mustContain(t, "create again", out, "Adopting the data an earlier cluster graph-dev kept", "core-3: volume "+vols["core-3"], "secret neo4jctl/graph-dev/read-only (same password)",
		"Done: cluster graph-dev created")
	// read back: the same volumes (and no new one), bucket, key, secrets and passwords
	if again := a.dataVolumes("graph-dev"); !slices.Equal(values(again), values(vols)) || again["core-1"] != vols["core-1"] {
		t.Errorf("volumes after the re-create %v, want the kept %v", again, vols)
	}
	if after := a.kept(); after.bucket != before.bucket || after.key != before.key || fmt.Sprint(after.secrets) != fmt.Sprint(before.secrets) {
		t.Errorf("after the re-create %+v\nwant the kept %+v", after, before)
	}
	var got struct {
		Members []struct{ Name, Volume string }
	}
	if err := json.Unmarshal([]byte(a.mustCLI("", "get", "cluster", "graph-dev", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	for _, m := range got.Members {
		if m.Volume != vols[m.Name] {
			t.Errorf("get: %s has volume %s, want the kept %s", m.Name, m.Volume, vols[m.Name])
		}
	}
	if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(before.bucket), Key: aws.String("backups/neo4j/full.backup")}); err != nil {
		t.Errorf("the backup is gone: %v", err)
	}

	// an update with the same file keeps them adopted. moto's change sets compare templates
	// only (a parameter that flips a condition shows "no changes"), so the test reads what
	// update asked CloudFormation for: on AWS an empty existing id would make a new, empty
	// volume and fail on the taken secret names.
	sets := &changeSetParams{params: map[string]map[string]string{}}
	a.hooks.wrapCFN = sets.wrap
	code, stdout, stderr = a.cli("", "update", "cluster", "-f", file, "--yes")
	a.hooks.wrapCFN = nil
	if code != 0 {
		t.Fatalf("update after the re-create: exit %d\n%s%s", code, stdout, stderr)
	}
	for stackName, want := range map[string][2]string{
		"neo4jctl-graph-dev-core-2": {stack.ParamExistingVolumeID, vols["core-2"]},
		"neo4jctl-graph-dev-shared": {stack.ParamExistingAdminSecretArn, before.secrets[naming.AdminSecret("graph-dev")][0]},
	} {
		if got := sets.get(stackName, want[0]); got != want[1] {
			t.Errorf("update's change set of %s has %s=%q, want the adopted %q", stackName, want[0], got, want[1])
		}
	}
	if again := a.dataVolumes("graph-dev"); fmt.Sprint(again) != fmt.Sprint(vols) || fmt.Sprint(a.kept()) != fmt.Sprint(before) {
		t.Errorf("after the update: volumes %v, kept %+v; want %v, %+v\n%s%s", again, a.kept(), vols, before, stdout, stderr)
	}

	// --purge-data leaves none of them
	out = a.mustCLI("", "delete", "cluster", "graph-dev", "--purge-data", "--yes")
	mustContain(t, "purge", out, "Deleted secret neo4jctl/graph-dev/admin (no recovery window: the name is free again)", "Done: cluster graph-dev deleted.")
	if left := a.volumesLeft(values(vols)); len(left) != 0 {
		t.Errorf("volumes left: %v", left)
	}
	for name, s := range before.secrets {
		if a.secretExists(s[0]) || a.secretExists(name) {
			t.Errorf("secret %s left", name)
		}
	}
	if a.bucketExists(before.bucket) || a.keyState(before.key) != kmstypes.KeyStatePendingDeletion {
		t.Errorf("bucket %s left: %v; key %s", before.bucket, a.bucketExists(before.bucket), a.keyState(before.key))
	}
}

func TestFreshDataThenPurgeRemovesEveryGeneration(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	file := "../../examples/minimal.yaml"
	a.mustCLI("", "create", "cluster", "-f", file)
	gen1, kept1 := a.dataVolumes("graph-dev"), a.kept()
	a.mustCLI("", "delete", "cluster", "graph-dev", "--yes")

	// --fresh-data: new volumes, bucket and key; the old ones are named and left alone; the
	// admin secret (a fixed name) is adopted and moves to the new key, same password
	out := a.mustCLI("", "create", "cluster", "-f", file, "--fresh-data")
	gen2, kept2 := a.dataVolumes("graph-dev", gen1), a.kept()
	if kept2.key == kept1.key || kept2.bucket == kept1.bucket || slices.ContainsFunc(values(gen2), func(v string) bool { return slices.Contains(values(gen1), v) }) {
		t.Fatalf("--fresh-data reused data: %v %+v, before %v %+v", gen2, kept2, gen1, kept1)
	}
	admin := naming.AdminSecret("graph-dev")
	if kept2.secrets[admin][0] != kept1.secrets[admin][0] || kept2.secrets[admin][1] != kept1.secrets[admin][1] || !strings.HasSuffix(kept2.secrets[admin][2], kept2.key) {
		t.Errorf("admin secret after --fresh-data %v, before %v (want the same secret and password, on key %s)", kept2.secrets[admin], kept1.secrets[admin], kept2.key)
	}
	mustContain(t, "fresh create", out, "--fresh-data: new, empty volumes, a new bucket and a new KMS key.", "volume "+gen1["core-1"]+" (core-1, eu-west-1a; --fresh-data, KMS key "+kept1.key,
		"bucket "+kept1.bucket+" (--fresh-data", "Secret "+admin+" re-encrypted from KMS key "+kept1.key+" to the cluster's KMS key "+kept2.key+" (same password)")

	// a plain delete again: two generations kept; a create adopts the newest and names the other
	a.mustCLI("", "delete", "cluster", "graph-dev", "--yes")
	code, stdout, stderr := a.cli("", "create", "cluster", "-f", file, "--dry-run=aws")
	if code != 0 {
		t.Fatalf("dry run: %s", stderr)
	}
	mustContain(t, "dry run of two generations", stdout, "#   core-2: volume "+gen2["core-2"], "#   KMS key "+kept2.key,
		"#   volume "+gen1["core-2"]+" (core-2, eu-west-1b; an older generation, KMS key "+kept1.key)

	// one purge removes both generations
	out = a.mustCLI("", "delete", "cluster", "graph-dev", "--purge-data", "--yes")
	mustContain(t, "purge", out, "Cluster graph-dev in eu-west-1 has no stacks left (deleted before).", "volume "+gen1["core-3"]+" (core-3 data)",
		"volume "+gen2["core-3"]+" (core-3 data)", "Deleted bucket "+kept1.bucket, "Deleted bucket "+kept2.bucket,
		"Scheduled KMS key "+kept1.key, "Scheduled KMS key "+kept2.key, "Deleted secret "+admin)
	if left := a.volumesLeft(append(values(gen1), values(gen2)...)); len(left) != 0 {
		t.Errorf("volumes left: %v", left)
	}
	if a.bucketExists(kept1.bucket) || a.bucketExists(kept2.bucket) || a.secretExists(admin) || a.keyState(kept1.key) != kmstypes.KeyStatePendingDeletion || a.keyState(kept2.key) != kmstypes.KeyStatePendingDeletion {
		t.Errorf("left: buckets %v %v, secret %v, keys %s %s", a.bucketExists(kept1.bucket), a.bucketExists(kept2.bucket), a.secretExists(admin), a.keyState(kept1.key), a.keyState(kept2.key))
	}
	// nothing kept: a create starts from scratch, with a new secret under the free name
	out = a.mustCLI("", "create", "cluster", "-f", file)
	if strings.Contains(out, "Adopting") || a.kept().secrets[admin][0] == kept1.secrets[admin][0] {
		t.Errorf("create after the purge adopted something:\n%s", out)
	}
}

func TestAKeptVolumeInAnotherAZRefusesTheCreate(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	a.mustCLI("", "create", "cluster", "-f", "../../examples/minimal.yaml")
	vols := a.dataVolumes("graph-dev")
	a.mustCLI("", "delete", "cluster", "graph-dev", "--yes")
	// two AZs now: core-3 would go to the first AZ, its volume is in the third
	file := writeConfig(t, strings.Replace(readFile(t, "../../examples/minimal.yaml"), "neo4j:", "network: {azCount: 2}\nneo4j:", 1))
	for _, args := range [][]string{{"create", "cluster", "-f", file}, {"create", "cluster", "-f", file, "--dry-run=aws"}} {
		code, stdout, stderr := a.cli("", args...)
		if code != exitFailed || stdout != "" {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
		mustContain(t, strings.Join(args, " "), stderr, "create of cluster graph-dev refused, nothing was created",
			"core-3: volume "+vols["core-3"]+" is in eu-west-1c; core-3 goes to eu-west-1a (AZ 1 of the new VPC's 2 (network.azCount))",
			"`neo4jctl create cluster -f "+file+" --fresh-data`")
		if strings.Contains(stderr, "core-1: volume") || len(a.stacks("graph-dev")) != 0 {
			t.Errorf("%v: stacks %v\n%s", args, a.stacks("graph-dev"), stderr)
		}
	}
}

func TestAFailedPurgeShowsItsCauseAndTheSameCommandFinishesIt(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	ctx := context.Background()
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	a.mustCLI("", "create", "cluster", "-f", "../../examples/minimal.yaml")
	vols, k := a.dataVolumes("graph-dev"), a.kept()
	a.mustCLI("", "delete", "cluster", "graph-dev", "--yes")
	// someone attached core-2's kept volume to an instance of theirs
	ec2c := ec2.NewFromConfig(a.cfg)
	run, err := ec2c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		Placement: &ec2types.Placement{AvailabilityZone: aws.String("eu-west-1b")}})
	if err != nil {
		t.Fatal(err)
	}
	instance := aws.ToString(run.Instances[0].InstanceId)
	if _, err := ec2c.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: aws.String(vols["core-2"]), InstanceId: aws.String(instance), Device: aws.String("/dev/sdf")}); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := a.cli("", "delete", "cluster", "graph-dev", "--purge-data", "--yes")
	if code != exitFailed {
		t.Fatalf("purge with a volume in use: exit %d\n%s", code, stderr)
	}
	mustContain(t, "failed purge", stderr, "delete of cluster graph-dev did not finish; left behind:", "volume "+vols["core-2"]+" (core-2)",
		"deleting volume "+vols["core-2"]+" (core-2) (attached to instance "+instance+": detach it with `aws ec2 detach-volume --volume-id "+vols["core-2"]+"`)",
		"Fix the cause above and run `neo4jctl delete cluster graph-dev --purge-data --yes` again.")
	if !a.secretExists(naming.AdminSecret("graph-dev")) || a.keyState(k.key) != kmstypes.KeyStateEnabled {
		t.Error("the key or the secret went while a volume it opens is left")
	}
	if _, err := ec2c.DetachVolume(ctx, &ec2.DetachVolumeInput{VolumeId: aws.String(vols["core-2"]), InstanceId: aws.String(instance)}); err != nil {
		t.Fatal(err)
	}
	out := a.mustCLI("", "delete", "cluster", "graph-dev", "--purge-data", "--yes")
	mustContain(t, "rerun", out, "Deleted volume "+vols["core-2"], "Deleted secret", "Done: cluster graph-dev deleted.")
	if left := a.volumesLeft(values(vols)); len(left) != 0 || a.secretExists(naming.AdminSecret("graph-dev")) || a.keyState(k.key) != kmstypes.KeyStatePendingDeletion {
		t.Errorf("after the rerun: volumes %v, secret %v, key %s", left, a.secretExists(naming.AdminSecret("graph-dev")), a.keyState(k.key))
	}
}

func TestPurgeKeepsWhatObjectLockKeepsAndSaysUntilWhen(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	ctx := context.Background()
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	file := writeConfig(t, readFile(t, "../../examples/minimal.yaml")+"backup: {objectLock: {mode: compliance, days: 2}}\n")
	a.mustCLI("", "create", "cluster", "-f", file)
	vols, k := a.dataVolumes("graph-dev"), a.kept()
	s3c := s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	for range 2 { // two versions of a backup, locked by the bucket's default retention
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(k.bucket), Key: aws.String("backups/neo4j/full.backup"), Body: strings.NewReader("backup"),
			ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32}); err != nil {
			t.Fatal(err)
		}
	}
	until := time.Now().UTC().AddDate(0, 0, 2).Format("2006-01-02")
	for run := range 2 { // the same answer when run again before the date
		code, _, stderr := a.cli("", "delete", "cluster", "graph-dev", "--purge-data", "--yes")
		if code != 0 {
			t.Fatalf("purge %d under object lock: exit %d\n%s", run, code, stderr)
		}
		// the two agent bundles, the last-applied config and the two backup versions
		mustContain(t, "purge under object lock", stderr, "Could not delete bucket "+k.bucket+": 5 object versions under object lock (COMPLIANCE) until "+until,
			"Kept with them: the bucket, KMS key "+k.key+" (it decrypts them) and the users' secrets. Run `neo4jctl delete cluster graph-dev --purge-data --yes` again after "+until,
			"Done: cluster graph-dev deleted, except the backups object lock keeps (see above).")
	}
	if left := a.volumesLeft(values(vols)); len(left) != 0 {
		t.Errorf("volumes left: %v", left)
	}
	if !a.bucketExists(k.bucket) || a.keyState(k.key) != kmstypes.KeyStateEnabled || !a.secretExists(naming.AdminSecret("graph-dev")) {
		t.Error("object lock's backups lost their bucket, key or passwords")
	}
}

// changeSetParams records the parameters of each change set the engine makes, by stack.
type changeSetParams struct {
	engine.CloudFormation
	mu     sync.Mutex
	params map[string]map[string]string
}

func (c *changeSetParams) wrap(real engine.CloudFormation) engine.CloudFormation {
	c.CloudFormation = real
	return c
}

func (c *changeSetParams) CreateChangeSet(ctx context.Context, in *cloudformation.CreateChangeSetInput, opts ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error) {
	c.mu.Lock()
	p := map[string]string{}
	for _, kv := range in.Parameters {
		p[aws.ToString(kv.ParameterKey)] = aws.ToString(kv.ParameterValue)
	}
	c.params[aws.ToString(in.StackName)] = p
	c.mu.Unlock()
	return c.CloudFormation.CreateChangeSet(ctx, in, opts...)
}

func (c *changeSetParams) get(stackName, param string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.params[stackName][param]
}

// callCounter counts the AWS calls a command makes, by service and operation.
type callCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *callCounter) hook(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("neo4jctlTestCountCalls", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.calls[awsmiddleware.GetServiceID(ctx)+" "+awsmiddleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
	})
}

func (c *callCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = map[string]int{}
	return out
}

func TestKeptDataLookupCostsTheSameWhateverTheRegionHolds(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	ctx := context.Background()
	counter := &callCounter{calls: map[string]int{}}
	a.hooks.awsConfig = append(a.hooks.awsConfig, counter.hook)
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	a.mustCLI("", "create", "cluster", "-f", "../../examples/minimal.yaml")
	a.mustCLI("", "delete", "cluster", "graph-dev", "--yes")

	lookup := func() map[string]int {
		counter.take()
		a.mustCLI("", "create", "cluster", "-f", "../../examples/minimal.yaml", "--dry-run=aws")
		return counter.take()
	}
	few := lookup()
	// the region fills up with other clusters' and untagged keys and volumes
	kmsc, ec2c := kms.NewFromConfig(a.cfg), ec2.NewFromConfig(a.cfg)
	for i := range 40 {
		tags := []kmstypes.Tag{{TagKey: aws.String(naming.TagCluster), TagValue: aws.String(fmt.Sprintf("other-%d", i))}}
		if _, err := kmsc.CreateKey(ctx, &kms.CreateKeyInput{Tags: tags[:i%2]}); err != nil {
			t.Fatal(err)
		}
		if _, err := ec2c.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String("eu-west-1a"), Size: aws.Int32(1), TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeVolume, Tags: []ec2types.Tag{{Key: aws.String(naming.TagCluster), Value: aws.String(fmt.Sprintf("other-%d", i))}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	many := lookup()
	t.Logf("AWS calls of the kept-data lookup (create --dry-run=aws): %v with the cluster alone, %v with 40 more keys and volumes", few, many)
	if fmt.Sprint(few) != fmt.Sprint(many) {
		t.Errorf("the lookup's calls grew with the region's keys and volumes:\n%v\n%v", few, many)
	}
	if many["Resource Groups Tagging API GetResources"] != 1 {
		t.Errorf("tag lookups: %v", many)
	}
	for op := range many {
		if strings.HasSuffix(op, " ListKeys") || strings.HasSuffix(op, " ListResourceTags") || strings.HasSuffix(op, " ListBuckets") || strings.HasSuffix(op, " GetBucketTagging") {
			t.Errorf("a per-resource scan is back: %s", op)
		}
	}
}
