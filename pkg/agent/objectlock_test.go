package agent

import (
	"context"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// TestBackupRetentionRespectsObjectLock (backup.objectLock): a chain retention gives up goes
// only when S3 Object Lock lets every artifact of it go; a locked one is kept whole and the
// report says until when. moto's S3 with Object Lock on the bucket; the lock is read with
// HeadObject, as in AWS.
func TestBackupRetentionRespectsObjectLock(t *testing.T) {
	ctx := context.Background()
	f, env, store := backupBed(t, "2025.10.1")
	// the same bed in a bucket with Object Lock on (S3 turns it on at creation or on a
	// versioned bucket)
	locked := store.Bucket + "-lock"
	if _, err := f.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(locked), ObjectLockEnabledForBucket: aws.Bool(true),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}}); err != nil {
		t.Fatal(err)
	}
	f.bucket, store.Bucket = locked, locked
	env[naming.EnvBackupTo] = "s3://" + locked + "/backups/"
	env[naming.EnvBackupRetentionDays] = "7"
	env[naming.EnvBackupObjectLock] = "COMPLIANCE:7"
	day := func(typ string) BackupReport {
		_, r := runBackup(t, f, env, typ)
		*f.clock = f.clock.Add(24 * time.Hour)
		f.tx["neo4j"] += 5
		return r
	}
	day("FULL") // chain A, day 0
	day("")     // A
	// chain A's neo4j full is held beyond the window (a retention set on the object: the
	// bucket's default retention counts from the real upload time, which this test's clock
	// does not move)
	m, _, err := store.ReadManifest(ctx, "neo4j")
	if err != nil || len(m.Artifacts) != 2 {
		t.Fatalf("manifest %+v %v", m, err)
	}
	full := m.Artifacts[0].Key
	until := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := f.s3.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String(locked), Key: aws.String(full),
		Retention: &s3types.ObjectLockRetention{Mode: s3types.ObjectLockRetentionModeCompliance, RetainUntilDate: aws.Time(until)}}); err != nil {
		t.Fatal(err)
	}
	day("FULL") // chain B, day 2
	for i := 0; i < 6; i++ {
		day("")
	}
	_, r := runBackup(t, f, env, "") // day 9: chain A is due in both databases
	// system's chain A goes; neo4j's is kept whole, with the date, and stays restorable
	if r.PruneError != "" || len(r.Pruned) != 2 {
		t.Fatalf("pruned %q, error %q", r.Pruned, r.PruneError)
	}
	for _, k := range r.Pruned {
		if backup.ManifestDatabase(k) == "neo4j" || strings.Contains(k, "/neo4j-") {
			t.Errorf("deleted %s of the locked chain", k)
		}
	}
	for _, k := range []string{full, m.Artifacts[1].Key} {
		why := r.PruneRefused[k]
		if !strings.Contains(why, "locked by S3 Object Lock until 2100-01-01T00:00:00Z") {
			t.Errorf("%s: refusal %q", k, why)
		}
		if _, err := f.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(locked), Key: aws.String(k)}); err != nil {
			t.Errorf("%s of the locked chain is gone (a delete marker hides it): %v", k, err)
		}
	}
	after, _, _ := store.ReadManifest(ctx, "neo4j")
	kept := map[string]bool{}
	for _, e := range after.Artifacts {
		kept[e.Key] = true
	}
	if !kept[full] || !kept[m.Artifacts[1].Key] {
		t.Errorf("the locked chain left the manifest: %+v", after.Artifacts)
	}
}

// TestWritesIntoALockedBucket (backup.objectLock): the backup task's manifests, the verify
// task's report of an inconsistent backup and the first core's restore marker are written
// into a bucket whose Object Lock retains every upload, where S3 takes none without a
// checksum. The test's client asks for checksums only where an operation requires them (the
// testbed's setting, as AWS_REQUEST_CHECKSUM_CALCULATION=when_required would), so an upload
// that does not ask for one itself goes without.
func TestWritesIntoALockedBucket(t *testing.T) {
	ctx := context.Background()
	f, env, store := backupBed(t, "2025.10.1")
	if _, err := f.s3.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(f.bucket),
		ObjectLockConfiguration: &s3types.ObjectLockConfiguration{ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
			Rule: &s3types.ObjectLockRule{DefaultRetention: &s3types.DefaultRetention{Mode: s3types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1)}}}}); err != nil {
		t.Fatal(err)
	}
	env[naming.EnvBackupObjectLock] = "GOVERNANCE:1"
	if code, r := runBackup(t, f, env, "FULL"); code != 0 || len(r.Artifacts) != 2 {
		t.Fatalf("backup: exit %d %+v", code, r)
	}
	m, _, err := store.ReadManifest(ctx, "neo4j")
	if err != nil || len(m.Artifacts) != 1 {
		t.Fatalf("manifest %+v %v", m, err)
	}
	f.corrupt = path.Base(m.Artifacts[0].Key)
	code, r := runVerify(t, f, env, m.Artifacts[0].Key)
	if code != 1 || len(r.Results) != 1 || r.Results[0].Verdict != backup.VerdictInconsistent || r.Results[0].Report == "" {
		t.Fatalf("verify: exit %d %+v", code, r)
	}
	if _, err := f.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(r.Results[0].Report)}); err != nil {
		t.Errorf("report %s: %v", r.Results[0].Report, err)
	}
	if err := (S3Store{S3: f.s3}).Put(ctx, f.bucket, naming.RestoreDoneKey, []byte(`{"done":true}`)); err != nil {
		t.Errorf("restore marker: %v", err)
	}
}
