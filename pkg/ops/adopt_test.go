package ops

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

const keyARN = "arn:aws:kms:eu-west-1:111122223333:key/"

// keptGeneration puts what one earlier create of graph-dev made and a delete kept: key
// key-<g>, bucket bucket-<g> and a volume vol-<g>-N per member in its AZ.
func (x *createFixture) keptGeneration(g string, made time.Time) {
	x.del.kms.keys["key-"+g] = map[string]string{naming.TagCluster: "graph-dev"}
	x.del.kms.created["key-"+g] = made
	x.del.s3.buckets["bucket-"+g] = &fakeBucket{region: "eu-west-1", key: "key-" + g, tags: map[string]string{naming.TagCluster: "graph-dev"}, objects: map[string]int{}}
	for i, m := range []string{"core-1", "core-2", "core-3"} {
		x.del.ec2.dataVolume("vol-"+g+"-"+m[5:], m, x.del.ec2.azs[i], "key-"+g, made)
	}
}

// sharedMakes is what the shared stack this create makes will report: its bucket and key.
func (x *createFixture) sharedMakes(bucket, key string) {
	out := sharedOutputs(bucket)
	out[stack.OutputKMSKeyArn] = keyARN + key
	x.del.eng.outputs["neo4jctl-graph-dev-shared"] = out
	if x.del.s3.buckets[bucket] == nil {
		x.del.s3.buckets[bucket] = &fakeBucket{region: "eu-west-1", key: key, objects: map[string]int{}}
	}
}

func (x *createFixture) param(stackName, p string) string {
	return x.del.eng.stacks[stackName].Parameters[p]
}

func TestCreateAdoptsTheNewestGenerationAndNamesTheOthers(t *testing.T) {
	x, c := newCreateFixture(t)
	x.keptGeneration("old", t0)
	x.keptGeneration("new", t0.Add(48*time.Hour))
	x.del.ec2.dataVolume("vol-new-1b", "core-1", "eu-west-1a", "key-new", t0.Add(24*time.Hour)) // replaced once: older
	x.del.ec2.dataVolume("vol-new-4", "core-4", "eu-west-1a", "key-new", t0.Add(48*time.Hour))  // a fourth core then
	x.del.sm.secrets[naming.AdminSecret("graph-dev")] = &fakeStoredSecret{key: "key-new"}
	x.sharedMakes("bucket-new", "key-new")
	if _, err := run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	shared := "neo4jctl-graph-dev-shared"
	for p, want := range map[string]string{stack.ParamExistingKMSKeyArn: keyARN + "key-new", stack.ParamExistingBucketName: "bucket-new",
		stack.ParamExistingAdminSecretArn: secretARN(naming.AdminSecret("graph-dev"))} {
		if got := x.param(shared, p); got != want {
			t.Errorf("shared stack %s = %q, want %q", p, got, want)
		}
	}
	for _, n := range []string{"1", "2", "3"} {
		if got := x.param("neo4jctl-graph-dev-core-"+n, stack.ParamExistingVolumeID); got != "vol-new-"+n {
			t.Errorf("core-%s adopts %q, want vol-new-%s", n, got, n)
		}
	}
	ev, ok := eventOf[DataAdopted](x.events)
	if !ok {
		t.Fatalf("no adoption said: %q", x.events.lines())
	}
	for _, want := range []string{
		"Adopting the data an earlier cluster graph-dev kept (KMS key made 2026-03-03 09:00 UTC), so it comes back with its databases, backups and passwords:",
		"\n  core-1: volume vol-new-1 (eu-west-1a, 100 GiB gp3, 3000 IOPS, 125 MiB/s)", "\n  core-3: volume vol-new-3 (eu-west-1c,",
		"\n  KMS key key-new", "\n  bucket bucket-new (backups)", "\n  secret neo4jctl/graph-dev/admin (same password)",
		"a later change of cores.volume does not reach these volumes (change one with `aws ec2 modify-volume`",
		"\nLeft as it is (`neo4jctl delete cluster graph-dev --purge-data` would delete it, with this cluster's data):",
		"\n  volume vol-new-1b (core-1: an older volume of the member, made 2026-03-02 09:00 UTC)",
		"\n  volume vol-new-4 (core-4: not a member of this cluster.yaml, cores.count 3)",
		"\n  volume vol-old-2 (core-2, eu-west-1b; an older generation, KMS key key-old made 2026-03-01 09:00 UTC)",
		"\n  bucket bucket-old (an older generation, KMS key key-old made 2026-03-01 09:00 UTC)",
	} {
		if !strings.Contains(ev.String(), want) {
			t.Errorf("adoption lacks %q:\n%s", want, ev)
		}
	}
	if len(x.del.sm.rekeyed)+len(x.del.sm.restored)+len(x.del.ec2.deleted) != 0 {
		t.Errorf("changed kept data: rekeyed %v, restored %v, deleted %v", x.del.sm.rekeyed, x.del.sm.restored, x.del.ec2.deleted)
	}
	if x.del.tags.calls == 0 {
		t.Error("the kept data was not looked up by tag")
	}
}

func TestCreateFreshLeavesTheKeptDataAloneButKeepsThePasswords(t *testing.T) {
	x, c := newCreateFixture(t)
	c.Fresh = true
	x.keptGeneration("old", t0)
	x.del.sm.secrets[naming.AdminSecret("graph-dev")] = &fakeStoredSecret{key: "key-old"}
	x.sharedMakes("bucket-2", "key-2")
	if _, err := run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	shared := "neo4jctl-graph-dev-shared"
	if x.param(shared, stack.ParamExistingKMSKeyArn) != "" || x.param(shared, stack.ParamExistingBucketName) != "" || x.param("neo4jctl-graph-dev-core-1", stack.ParamExistingVolumeID) != "" {
		t.Errorf("fresh create adopted data: %v", x.del.eng.stacks[shared].Parameters)
	}
	if x.param(shared, stack.ParamExistingAdminSecretArn) != secretARN(naming.AdminSecret("graph-dev")) {
		t.Errorf("the secret (fixed name) is not adopted: %v", x.del.eng.stacks[shared].Parameters)
	}
	// the members may decrypt only with the new key: the secret moves to it, after the shared stack
	if !slices.Equal(x.del.sm.rekeyed, []string{"neo4jctl/graph-dev/admin → key-2"}) {
		t.Errorf("rekeyed %v", x.del.sm.rekeyed)
	}
	ev, _ := eventOf[DataAdopted](x.events)
	for _, want := range []string{"--fresh-data: new, empty volumes, a new bucket and a new KMS key.", "\n  secret neo4jctl/graph-dev/admin (same password)",
		"Secrets keep their fixed names, so they are adopted even with new data: the users keep their passwords, re-encrypted with the new key.",
		"\n  volume vol-old-1 (core-1, eu-west-1a; --fresh-data, KMS key key-old made 2026-03-01 09:00 UTC)", "\n  bucket bucket-old (--fresh-data,"} {
		if !strings.Contains(ev.String(), want) {
			t.Errorf("fresh plan lacks %q:\n%s", want, ev)
		}
	}
	if rk, ok := eventOf[SecretRekeyed](x.events); !ok || rk.String() != "Secret neo4jctl/graph-dev/admin re-encrypted from KMS key key-old to the cluster's KMS key key-2 (same password)" {
		t.Errorf("rekey event: %q", x.events.lines())
	}
}

func TestCreateRefusesKeptVolumesInAnotherAZBeforeTouchingAnything(t *testing.T) {
	x, c := newCreateFixture(t)
	x.keptGeneration("old", t0)
	x.del.ec2.volumes["vol-old-3"].az = "eu-west-1a" // core-3 goes to the third AZ, eu-west-1c
	_, err := run(context.Background(), c)
	var refused *AdoptionRefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{"create of cluster graph-dev refused, nothing was created:",
		"\n  core-3: volume vol-old-3 is in eu-west-1a; core-3 goes to eu-west-1c (AZ 3 of the new VPC's 3 (network.azCount))",
		"`aws ec2 create-snapshot --volume-id VOL`", "`neo4jctl create cluster -f minimal.yaml --fresh-data` (the kept data is left as it is)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "core-1:") || len(x.del.eng.created) != 0 || len(x.del.s3.puts) != 0 {
		t.Errorf("created %v, uploaded %v; %v", x.del.eng.created, x.del.s3.puts, err)
	}
}

func TestCreateRestoresAnAdoptedSecretScheduledForDeletion(t *testing.T) {
	x, c := newCreateFixture(t)
	x.del.sm.secrets[naming.AdminSecret("graph-dev")] = &fakeStoredSecret{key: "key-1", deleted: t0}
	x.sharedMakes("bucket-1", "key-1")
	if _, err := run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x.del.sm.restored, []string{"neo4jctl/graph-dev/admin"}) {
		t.Errorf("restored %v", x.del.sm.restored)
	}
	if ev, ok := eventOf[SecretRestored](x.events); !ok || !strings.HasPrefix(ev.String(), "Restored secret neo4jctl/graph-dev/admin, which was scheduled for deletion on 2026-03-01 09:00 UTC") {
		t.Errorf("events %q", x.events.lines())
	}
}

func TestCreateResumedAdoptsForTheMembersStillToCreate(t *testing.T) {
	x, c := newCreateFixture(t)
	x.keptGeneration("1", t0) // key-1, what the live shared stack uses (sharedOutputs)
	x.keptGeneration("other", t0.Add(time.Hour))
	x.del.eng.put("neo4jctl-graph-dev-vpc", "graph-dev", naming.KindVPC, "", engine.StatusCreateComplete, nil)
	x.del.eng.put("neo4jctl-graph-dev-shared", "graph-dev", naming.KindShared, "", engine.StatusCreateComplete, sharedOutputs("bucket-1"))
	x.del.eng.put("neo4jctl-graph-dev-core-1", "graph-dev", naming.KindCore, "core-1", engine.StatusCreateComplete, map[string]string{stack.OutputVolumeID: "vol-1-1"})
	x.del.eng.stacks["neo4jctl-graph-dev-vpc"].Outputs = map[string]string{stack.OutputAZ(0): "eu-west-1a", stack.OutputAZ(1): "eu-west-1b", stack.OutputAZ(2): "eu-west-1c"}
	if _, err := run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if got := x.param("neo4jctl-graph-dev-core-2", stack.ParamExistingVolumeID); got != "vol-1-2" {
		t.Errorf("core-2 adopts %q, want vol-1-2 (the live shared stack's key-1, not the newer key-other)", got)
	}
	if slices.Contains(x.del.eng.created, "neo4jctl-graph-dev-core-1") || slices.Contains(x.del.eng.created, "neo4jctl-graph-dev-shared") {
		t.Errorf("created again: %v", x.del.eng.created)
	}
	ev, _ := eventOf[DataAdopted](x.events)
	if !strings.HasPrefix(ev.String(), "Members still to create adopt the volumes kept for them:\n  core-2: volume vol-1-2 (eu-west-1b") ||
		strings.Contains(ev.String(), "core-1: volume") || !strings.Contains(ev.String(), "volume vol-other-1 (core-1, eu-west-1a; not the generation the existing shared stack uses") {
		t.Errorf("resume says:\n%s", ev)
	}
}

func TestUpdateKeepsWhatTheStacksAdopted(t *testing.T) {
	built := []stack.Stack{
		{Name: "shared", Parameters: map[string]string{stack.ParamExistingKMSKeyArn: "", stack.ParamExistingAdminSecretArn: "", "Other": "new"}},
		{Name: "core-1", Parameters: map[string]string{stack.ParamExistingVolumeID: ""}},
		{Name: "core-4", Parameters: map[string]string{stack.ParamExistingVolumeID: ""}}, // new member: nothing live
	}
	live := map[string]*engine.StackInfo{
		"shared": {Parameters: map[string]string{stack.ParamExistingKMSKeyArn: keyARN + "k", stack.ParamExistingAdminSecretArn: "arn:secret", "Other": "old"}},
		"core-1": {Parameters: map[string]string{stack.ParamExistingVolumeID: "vol-1"}},
	}
	keepAdoption(built, live)
	if p := built[0].Parameters; p[stack.ParamExistingKMSKeyArn] != keyARN+"k" || p[stack.ParamExistingAdminSecretArn] != "arn:secret" || p["Other"] != "new" {
		t.Errorf("shared %v", p)
	}
	if built[1].Parameters[stack.ParamExistingVolumeID] != "vol-1" || built[2].Parameters[stack.ParamExistingVolumeID] != "" {
		t.Errorf("cores %v %v", built[1].Parameters, built[2].Parameters)
	}
}

func TestDryRunPlanMarksWhatTheStacksAdopt(t *testing.T) {
	cfg := loadExample(t, "minimal.yaml")
	in := testRelease().OfflineInputs()
	in.Adopt = stack.Adoption{KMSKeyArn: keyARN + "key-1", BucketName: "bucket-1", AdminSecretArn: secretARN("neo4jctl/graph-dev/admin"), Volumes: map[int]string{2: "vol-2"}}
	p, err := NewPlan(cfg, in)
	if err != nil {
		t.Fatal(err)
	}
	text := p.Text()
	for _, want := range []string{"AWS::KMS::Key Key: adopted key-1, not made", "AWS::S3::Bucket Bucket: adopted bucket-1, not made",
		"AWS::SecretsManager::Secret AdminSecret: adopted " + secretARN("neo4jctl/graph-dev/admin") + ", not made",
		"neo4jctl-graph-dev-core-2 (core) after neo4jctl-graph-dev-shared\n      AWS::EC2::Volume DataVolume: adopted vol-2, not made",
		"neo4jctl-graph-dev-core-1 (core) after neo4jctl-graph-dev-shared\n      AWS::EC2::Volume DataVolume\n",
		"Kept data of an earlier cluster graph-dev: not looked up (offline dry run); --dry-run=aws looks in AWS and shows what create adopts."} {
		if !strings.Contains(text, want) {
			t.Errorf("plan lacks %q:\n%s", want, text)
		}
	}
}
