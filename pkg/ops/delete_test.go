package ops

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// deleteFixture is a live cluster with its data: three volumes, the bucket with a backup
// in two versions, the KMS key that encrypts them, the admin secret, and Cloud Map records
// the DNS sync Lambda made.
type deleteFixture struct {
	eng    *fakeEngine
	ec2    *fakeEC2
	s3     *fakeS3
	kms    *fakeKMS
	sm     *fakeSecretStore
	tags   *fakeTagging
	cmap   *fakeCloudMap
	events *recorder
}

// t0 is when the fixture's key and volumes were made.
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func newDeleteFixture() *deleteFixture {
	x := &deleteFixture{eng: newFakeEngine(), ec2: newFakeEC2(), s3: newFakeS3(), kms: &fakeKMS{keys: map[string]map[string]string{}, created: map[string]time.Time{}},
		sm:   &fakeSecretStore{secrets: map[string]*fakeStoredSecret{naming.AdminSecret("graph-dev"): {key: "key-1"}}},
		cmap: &fakeCloudMap{instances: map[string][]string{"core": {"10.0.1.5", "10.0.2.5"}}}, events: &recorder{}}
	x.tags = &fakeTagging{ec2: x.ec2, s3: x.s3, kms: x.kms, sm: x.sm}
	liveCluster(x.eng, "graph-dev")
	for i, m := range []string{"core-1", "core-2", "core-3"} {
		x.ec2.dataVolume("vol-"+m, m, x.ec2.azs[i], "key-1", t0)
	}
	x.s3.buckets["bucket-1"] = &fakeBucket{region: "eu-west-1", key: "key-1", tags: map[string]string{naming.TagCluster: "graph-dev"}, objects: map[string]int{"backups/neo4j.backup": 2}}
	x.kms.keys["key-1"] = map[string]string{naming.TagCluster: "graph-dev"}
	x.kms.created["key-1"] = t0
	return x
}

func (x *deleteFixture) data() DataAPI {
	return DataAPI{Tags: x.tags, EC2: x.ec2, S3: x.s3, KMS: x.kms, Secrets: x.sm}
}

func (x *deleteFixture) action(purge, yes bool, prompt Prompter) *Delete {
	return &Delete{Cluster: &Cluster{Name: "graph-dev", Region: "eu-west-1", Stacks: x.eng, Events: x.events, Prompt: prompt},
		Data: x.data(), CloudMap: x.cmap, PurgeData: purge, Yes: yes}
}

func TestDeleteRemovesStacksInReverseOrderAndKeepsTheData(t *testing.T) {
	x := newDeleteFixture()
	rep, err := x.action(false, true, nil).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// operations first, shared last; Cloud Map cleaned right before operations and shared
	if d := x.eng.deleted; d[0] != "neo4jctl-graph-dev-operations" || d[len(d)-1] != "neo4jctl-graph-dev-shared" || len(d) != 6 {
		t.Errorf("deleted %v", d)
	}
	if len(x.cmap.deregistered) != 2 || len(x.eng.stacks) != 0 {
		t.Errorf("deregistered %v, left %v", x.cmap.deregistered, x.eng.stacks)
	}
	want := []string{"volume vol-core-1 (core-1)", "volume vol-core-2 (core-2)", "volume vol-core-3 (core-3)", "bucket bucket-1 (backups)", "KMS key key-1 (encrypts the volumes and backups)",
		"secret neo4jctl/graph-dev/admin (a Neo4j user's password)"}
	if !slices.Equal(rep.Kept, want) {
		t.Errorf("kept %q", rep.Kept)
	}
	if len(x.ec2.deleted) != 0 || len(x.s3.deleted) != 0 || len(x.kms.scheduled) != 0 {
		t.Errorf("a plain delete deleted data: %v %v %v", x.ec2.deleted, x.s3.deleted, x.kms.scheduled)
	}
	plan, ok := eventOf[DeletePlanned](x.events)
	if !ok || !strings.HasPrefix(plan.String(), "Delete cluster graph-dev in eu-west-1: 6 stacks (neo4jctl-graph-dev-shared, neo4jctl-graph-dev-core-1,") ||
		!strings.HasSuffix(plan.String(), "\nMember volumes, backups, the KMS key and the users' secrets are kept: `neo4jctl create cluster` of the same name adopts them.") {
		t.Errorf("plan said: %q", plan.String())
	}
	if c, ok := eventOf[CloudMapCleaned](x.events); !ok || c.Instances != 2 {
		t.Errorf("Cloud Map clean not reported: %v", x.events.lines())
	}
}

func TestDeleteAsksAndDeletesNothingWithoutAYes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prompt Prompter
		want   string
		code   bool // a ConfirmationNeededError (exit 2)
	}{
		{"no terminal", nil, "delete cluster graph-dev needs confirmation and there is no terminal to ask on; pass --yes to go ahead", true},
		{"answered no", &fakePrompt{answers: []bool{false}}, "nothing deleted", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newDeleteFixture()
			_, err := x.action(true, false, tc.prompt).Run(context.Background())
			var cn *ConfirmationNeededError
			if err == nil || err.Error() != tc.want || errors.As(err, &cn) != tc.code {
				t.Fatalf("got %v", err)
			}
			if len(x.eng.deleted) != 0 || len(x.ec2.deleted) != 0 {
				t.Fatalf("deleted without a yes: %v %v", x.eng.deleted, x.ec2.deleted)
			}
		})
	}
	x := newDeleteFixture()
	p := &fakePrompt{answers: []bool{true}}
	if _, err := x.action(false, false, p).Run(context.Background()); err != nil || len(p.asked) != 1 || p.asked[0] != "Delete? [y/N] " {
		t.Fatalf("yes on the terminal: %v, asked %q", err, p.asked)
	}
}

func TestPurgeDeletesEveryPieceOfDataAndSaysSoFirst(t *testing.T) {
	x := newDeleteFixture()
	rep, err := x.action(true, true, nil).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	plan, _ := eventOf[DeletePlanned](x.events)
	for _, want := range []string{"--purge-data also deletes, for good:", "volume vol-core-2 (core-2 data)", "bucket bucket-1 (every backup in it)",
		"KMS key key-1 (scheduled for deletion in 7 days, the minimum", "secret neo4jctl/graph-dev/admin (at once, without a recovery window, so that the name is free)"} {
		if !strings.Contains(plan.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	if len(x.ec2.volumes) != 0 || len(x.s3.buckets) != 0 || !slices.Equal(x.kms.scheduled, []string{"key-1 after 7 days"}) || len(x.sm.secrets) != 0 {
		t.Errorf("left volumes %v, buckets %v, secrets %v; key %v", x.ec2.volumes, x.s3.buckets, x.sm.secrets, x.kms.scheduled)
	}
	if len(rep.Kept) != 0 || !slices.Contains(rep.Deleted, "bucket bucket-1") || !slices.Contains(rep.Deleted, "KMS key key-1 (scheduled)") {
		t.Errorf("report %+v", rep)
	}
	if ev, ok := eventOf[KeyScheduledForDeletion](x.events); !ok || ev.String() != "Scheduled KMS key key-1 for deletion in 7 days (`aws kms cancel-key-deletion --key-id key-1` until then keeps it)" {
		t.Errorf("events %q", x.events.lines())
	}
}

func TestPurgeAfterAPlainDeleteFindsTheDataByTag(t *testing.T) {
	x := newDeleteFixture()
	x.eng.stacks = map[string]*engine.StackInfo{} // a plain delete took the stacks
	x.s3.buckets["neo4jctl-graph-dev-shared-bucket-abc"] = x.s3.buckets["bucket-1"]
	delete(x.s3.buckets, "bucket-1")
	x.s3.buckets["neo4jctl-graph-dev-shared-bucket-elsewhere"] = &fakeBucket{region: "us-east-1", tags: map[string]string{naming.TagCluster: "graph-dev"}, objects: map[string]int{}}
	x.kms.keys["key-old"] = map[string]string{naming.TagCluster: "graph-dev"}
	x.kms.pending = map[string]bool{"key-old": true}

	// without --purge-data: nothing to delete, and the kept data is named
	_, err := x.action(false, true, nil).Run(context.Background())
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "Kept from an earlier delete: volume vol-core-1 (core-1)") ||
		!strings.Contains(err.Error(), "`neo4jctl delete cluster graph-dev --purge-data` deletes them") {
		t.Fatalf("plain delete of a deleted cluster: %v", err)
	}
	rep, err := x.action(true, true, nil).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(x.ec2.volumes) != 0 || x.s3.buckets["neo4jctl-graph-dev-shared-bucket-abc"] != nil || !slices.Equal(x.kms.scheduled, []string{"key-1 after 7 days"}) {
		t.Errorf("volumes %v, buckets %v, keys %v; report %+v", x.ec2.volumes, x.s3.buckets, x.kms.scheduled, rep)
	}
	if x.s3.buckets["neo4jctl-graph-dev-shared-bucket-elsewhere"] == nil {
		t.Error("a bucket of another region was deleted")
	}
	plan, _ := eventOf[DeletePlanned](x.events)
	if !strings.HasPrefix(plan.String(), "Cluster graph-dev in eu-west-1 has no stacks left (deleted before).") {
		t.Errorf("plan: %s", plan)
	}
}

func TestDeleteRetriesAStackCloudMapBlocksAndReportsLeftovers(t *testing.T) {
	x := newDeleteFixture()
	ops := "neo4jctl-graph-dev-operations"
	// the DNS sync Lambda registered once more while the stack was going
	x.eng.deleteErrs[ops] = []error{&engine.StackError{Stack: ops, Status: engine.StatusDeleteFailed}}
	if _, err := x.action(false, true, nil).Run(context.Background()); err != nil {
		t.Fatalf("a second clean lets the stack go: %v", err)
	}
	if n := strings.Count(strings.Join(x.eng.deleted, " "), ops); n != 2 {
		t.Errorf("operations deleted %d times", n)
	}

	x = newDeleteFixture()
	core2 := "neo4jctl-graph-dev-core-2"
	failed := &engine.StackError{Stack: core2, Status: engine.StatusDeleteFailed, Reason: "volume in use"}
	x.eng.deleteErrs[core2] = []error{failed}
	rep, err := x.action(true, true, nil).Run(context.Background())
	var le *LeftoversError
	if !errors.As(err, &le) || !slices.Contains(rep.Leftovers, "stack neo4jctl-graph-dev-core-2 (CREATE_COMPLETE)") || !slices.Contains(rep.Leftovers, "stack neo4jctl-graph-dev-shared (CREATE_COMPLETE)") {
		t.Fatalf("leftovers: %v %+v", err, rep)
	}
	if !strings.HasSuffix(err.Error(), "Fix the cause above and run `neo4jctl delete cluster graph-dev --purge-data --yes` again.") || !errors.Is(err, failed) && !strings.Contains(err.Error(), "volume in use") {
		t.Errorf("error: %v", err)
	}
	if len(x.ec2.deleted) != 0 {
		t.Errorf("data purged although a stack failed: %v", x.ec2.deleted)
	}
}

func TestPurgeRemovesEveryGenerationInOneRun(t *testing.T) {
	x := newDeleteFixture()
	x.eng.stacks = map[string]*engine.StackInfo{} // plain deletes took the stacks, twice
	x.kms.keys["key-0"] = map[string]string{naming.TagCluster: "graph-dev"}
	x.kms.created["key-0"] = t0.Add(-time.Hour)
	x.s3.buckets["bucket-0"] = &fakeBucket{region: "eu-west-1", key: "key-0", tags: map[string]string{naming.TagCluster: "graph-dev"}, objects: map[string]int{"backups/a": 1}}
	for i, m := range []string{"core-1", "core-2", "core-3"} {
		x.ec2.dataVolume("vol-0-"+m, m, x.ec2.azs[i], "key-0", t0.Add(-time.Hour))
	}
	x.ec2.dataVolume("vol-keyless", "core-1", "eu-west-1a", "gone-key", t0.Add(-2*time.Hour)) // its key was deleted by hand
	x.ec2.volumes["vol-other"] = &fakeVolume{tags: map[string]string{naming.TagCluster: "graph-other", naming.TagRole: naming.TagRoleData}, az: "eu-west-1a"}
	rep, err := x.action(true, true, nil).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(x.ec2.volumes) != 1 || x.ec2.volumes["vol-other"] == nil || len(x.s3.buckets) != 0 || len(x.sm.secrets) != 0 {
		t.Errorf("left volumes %v, buckets %v, secrets %v", slices.Sorted(maps.Keys(x.ec2.volumes)), x.s3.buckets, x.sm.secrets)
	}
	if !slices.Equal(slices.Sorted(slices.Values(x.kms.scheduled)), []string{"key-0 after 7 days", "key-1 after 7 days"}) {
		t.Errorf("keys %v", x.kms.scheduled)
	}
	if len(rep.Deleted) != 7+2+2+1 {
		t.Errorf("deleted %q", rep.Deleted)
	}
}

func TestPurgeUnderObjectLockDeletesWhatItMayAndSaysUntilWhen(t *testing.T) {
	x := newDeleteFixture()
	until := t0.AddDate(0, 0, 30)
	b := x.s3.buckets["bucket-1"]
	b.objects["agent/bundle.zip"] = 1
	b.locked = map[string]time.Time{"backups/neo4j.backup": until}
	rep, err := x.action(true, true, nil).Run(context.Background())
	if err != nil {
		t.Fatalf("a purge object lock holds up is no failure: %v", err)
	}
	if len(x.ec2.volumes) != 0 || b.objects["agent/bundle.zip"] != 0 || b.objects["backups/neo4j.backup"] != 2 || x.s3.buckets["bucket-1"] == nil {
		t.Errorf("volumes %v, objects %v", x.ec2.volumes, b.objects)
	}
	if len(x.kms.scheduled) != 0 || len(x.sm.secrets) != 1 {
		t.Errorf("the key (%v) or the secrets (%v) of locked backups went", x.kms.scheduled, x.sm.secrets)
	}
	want := LockedObjects{Bucket: "bucket-1", KeyID: "key-1", Versions: 2, Modes: []string{"COMPLIANCE"}, Until: until}
	if len(rep.Locked) != 1 || !reflect.DeepEqual(rep.Locked[0], want) || len(rep.Leftovers) != 0 {
		t.Errorf("report %+v", rep)
	}
	ev, _ := eventOf[BackupsLocked](x.events)
	if ev.String() != "Could not delete bucket bucket-1: 2 object versions under object lock (COMPLIANCE) until 2026-03-31 09:00 UTC. "+
		"Kept with them: the bucket, KMS key key-1 (it decrypts them) and the users' secrets. "+
		"Run `neo4jctl delete cluster graph-dev --purge-data --yes` again after 2026-03-31 09:00 UTC to delete them." {
		t.Errorf("said %q", ev)
	}
}

func TestAFailedPurgeShowsTheCauseAndTheCommandWithTheSameFlags(t *testing.T) {
	x := newDeleteFixture()
	x.ec2.volumes["vol-core-2"].instance = "i-0abc"
	rep, err := x.action(true, true, nil).Run(context.Background())
	var le *LeftoversError
	if !errors.As(err, &le) {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{"delete of cluster graph-dev did not finish; left behind:\n  volume vol-core-2 (core-2)\n  KMS key key-1 (encrypts the volumes and backups)\n  secret neo4jctl/graph-dev/admin",
		"\ndeleting volume vol-core-2 (core-2) (attached to instance i-0abc: detach it with `aws ec2 detach-volume --volume-id vol-core-2`): VolumeInUse: Volume vol-core-2 is currently attached to i-0abc",
		"\nFix the cause above and run `neo4jctl delete cluster graph-dev --purge-data --yes` again."} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if len(x.kms.scheduled) != 0 || len(x.sm.secrets) != 1 || !slices.Contains(rep.Deleted, "volume vol-core-1 (core-1)") {
		t.Errorf("key %v, secrets %v (they stay with the volume left), report %+v", x.kms.scheduled, x.sm.secrets, rep)
	}
	// the same command again, once the volume is detached, finishes the job
	x.ec2.volumes["vol-core-2"].instance = ""
	if _, err := x.action(true, true, nil).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(x.ec2.volumes)+len(x.s3.buckets)+len(x.sm.secrets) != 0 || !slices.Equal(x.kms.scheduled, []string{"key-1 after 7 days"}) {
		t.Errorf("after the rerun: volumes %v, buckets %v, secrets %v, keys %v", x.ec2.volumes, x.s3.buckets, x.sm.secrets, x.kms.scheduled)
	}
}
