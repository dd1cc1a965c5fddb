package backup

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
)

func TestMain(m *testing.M) { testbed.Main(m, testbed.NeedMoto) }

// motoStore is a Store over a new versioned bucket in moto's S3 (the cluster bucket is
// versioned), in an account of its own.
func motoStore(t *testing.T) Store {
	t.Helper()
	ctx := context.Background()
	cfg, _ := testbed.SharedMoto(t).IsolatedConfig(ctx, "eu-west-1")
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := "backup-" + strings.ToLower(rand.Text()[:10])
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	return Store{S3: client, Bucket: bucket}
}

// lockedStore is motoStore with the bucket's Object Lock on and a default retention, as
// backup.objectLock makes it: S3 then takes no upload without a checksum. The client asks
// for checksums only where an operation requires them (the testbed's setting, as
// AWS_REQUEST_CHECKSUM_CALCULATION=when_required would), so an upload that does not ask
// for one itself goes without.
func lockedStore(t *testing.T) Store {
	t.Helper()
	s := motoStore(t)
	if _, err := s.S3.(*s3.Client).PutObjectLockConfiguration(context.Background(), &s3.PutObjectLockConfigurationInput{Bucket: aws.String(s.Bucket),
		ObjectLockConfiguration: &s3types.ObjectLockConfiguration{ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
			Rule: &s3types.ObjectLockRule{DefaultRetention: &s3types.DefaultRetention{Mode: s3types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1)}}}}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStoreWritesIntoALockedBucket (backup.objectLock): the lock and the manifests are
// written, renewed and released in a bucket whose Object Lock retains every upload.
func TestStoreWritesIntoALockedBucket(t *testing.T) {
	ctx := context.Background()
	s := lockedStore(t)
	t0 := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	l, _, err := s.AcquireLock(ctx, LockInfo{Owner: "task/a", Purpose: "backup FULL"}, t0, 10*time.Minute)
	if err != nil || l == nil {
		t.Fatalf("acquire: %v %v", l, err)
	}
	if err := l.Renew(ctx, t0.Add(time.Minute), 10*time.Minute); err != nil {
		t.Fatalf("renew: %v", err)
	}
	if err := s.UpdateManifest(ctx, "neo4j", func(m *Manifest) error {
		m.Artifacts = append(m.Artifacts, Entry{Key: Prefix + "neo4j-2026-11-26T02-00-00.backup", Type: "full", Time: t0})
		return nil
	}, func() time.Time { return t0 }); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if err := l.Release(ctx, t0.Add(2*time.Minute)); err != nil {
		t.Fatalf("release: %v", err)
	}
	m, _, err := s.ReadManifest(ctx, "neo4j")
	if err != nil || len(m.Artifacts) != 1 {
		t.Fatalf("manifest read back: %+v %v", m, err)
	}
	if held, err := s.ReadLock(ctx, t0.Add(3*time.Minute)); held != nil || err != nil {
		t.Errorf("lock after release: %+v %v", held, err)
	}
}

// TestLockMoto: one holder at a time; a live lease makes the next run skip with the holder's
// name; an expired lease is taken over; a lease lost to a takeover cannot renew or release
// the new holder's lock; a released lock is free at once.
func TestLockMoto(t *testing.T) {
	ctx := context.Background()
	s := motoStore(t)
	t0 := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	if held, err := s.ReadLock(ctx, t0); held != nil || err != nil {
		t.Fatalf("ReadLock with no lock object: %+v %v", held, err)
	}
	a, holder, err := s.AcquireLock(ctx, LockInfo{Owner: "task/a", Purpose: "backup FULL", Databases: []string{"*"}}, t0, 10*time.Minute)
	if err != nil || a == nil || holder != nil || a.TookOver != nil {
		t.Fatalf("first acquire: %v %v %v", a, holder, err)
	}
	b, holder, err := s.AcquireLock(ctx, LockInfo{Owner: "task/b", Purpose: "backup AUTO"}, t0.Add(5*time.Minute), 10*time.Minute)
	if err != nil || b != nil || holder == nil || holder.Owner != "task/a" || !strings.Contains(holder.Describe(), "backup FULL by task/a") {
		t.Fatalf("second acquire while held: %v %+v %v", b, holder, err)
	}
	if err := a.Renew(ctx, t0.Add(8*time.Minute), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if b, _, _ := s.AcquireLock(ctx, LockInfo{Owner: "task/b"}, t0.Add(15*time.Minute), 10*time.Minute); b != nil {
		t.Fatal("took a renewed lease")
	}
	// task/a dies: its lease runs out at 18m
	b, holder, err = s.AcquireLock(ctx, LockInfo{Owner: "task/b", Purpose: "backup AUTO"}, t0.Add(19*time.Minute), 10*time.Minute)
	if err != nil || b == nil || holder != nil || b.TookOver == nil || b.TookOver.Owner != "task/a" {
		t.Fatalf("takeover of an expired lease: %v %v %v", b, holder, err)
	}
	if err := a.Renew(ctx, t0.Add(20*time.Minute), 10*time.Minute); err != ErrLeaseLost {
		t.Fatalf("old holder renewed: %v", err)
	}
	if err := a.Release(ctx, t0.Add(20*time.Minute)); err != ErrLeaseLost {
		t.Fatalf("old holder released: %v", err)
	}
	if err := b.Release(ctx, t0.Add(21*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if held, err := s.ReadLock(ctx, t0.Add(21*time.Minute)); held != nil || err != nil {
		t.Fatalf("a released lock reads as held: %+v %v", held, err)
	}
	c, _, err := s.AcquireLock(ctx, LockInfo{Owner: "task/c"}, t0.Add(22*time.Minute), 10*time.Minute)
	if err != nil || c == nil || c.TookOver != nil {
		t.Fatalf("acquire after release: %v %v", c, err)
	}
	// ReadLock: the live holder, then nothing once its lease has run out
	if held, err := s.ReadLock(ctx, t0.Add(23*time.Minute)); err != nil || held == nil || held.Owner != "task/c" {
		t.Fatalf("ReadLock of a live lease: %+v %v", held, err)
	}
	if held, err := s.ReadLock(ctx, t0.Add(32*time.Minute)); held != nil || err != nil {
		t.Fatalf("ReadLock of an expired lease: %+v %v", held, err)
	}
}

// TestLockRaceMoto: runs starting at the same moment get the lock exactly once.
func TestLockRaceMoto(t *testing.T) {
	ctx := context.Background()
	s := motoStore(t)
	now := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var winners []string
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, _, err := s.AcquireLock(ctx, LockInfo{Owner: fmt.Sprint("task/", i)}, now, time.Hour)
			if err != nil {
				t.Error(err)
			}
			if l != nil {
				mu.Lock()
				winners = append(winners, l.Info().Owner)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("winners %q, want exactly one", winners)
	}
}

// TestUpdateManifestMoto: concurrent writers (backup and verify) both land; the catalog
// reads them back from the bucket.
func TestUpdateManifestMoto(t *testing.T) {
	ctx := context.Background()
	s := motoStore(t)
	now := func() time.Time { return time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC) }
	es := entriesFrom(t, "inspect-2025.07-empty.txt")["malmo"]
	var wg sync.WaitGroup
	for _, e := range es {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.UpdateManifest(ctx, "malmo", func(m *Manifest) error {
				m.Artifacts = append(m.Artifacts, e)
				return nil
			}, now); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	m, etag, err := s.ReadManifest(ctx, "malmo")
	if err != nil || etag == "" || len(m.Artifacts) != len(es) || !m.Updated.Equal(now()) {
		t.Fatalf("%d of %d entries, etag %q: %v", len(m.Artifacts), len(es), etag, err)
	}
	for _, e := range es {
		if _, err := s.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(e.Key), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := s.Load(ctx, 7)
	if err != nil || len(cat) != 1 || len(cat[0].Chains) != 3 || cat[0].Chains[0].Artifacts[0].SizeBytes != 100 {
		t.Fatalf("%+v %v", cat, err)
	}
	res, err := s.Delete(ctx, []string{es[0].Key, es[1].Key})
	if err != nil || len(res.Deleted) != 2 || len(res.Failed) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if cat, _ := s.Load(ctx, 7); len(cat[0].Missing) != 2 {
		t.Fatalf("deleted artifacts not missing: %+v", cat[0])
	}
}
