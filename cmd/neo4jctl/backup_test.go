package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// backupCluster creates examples/production.yaml (backups of every database, kept 30 days)
// in this moto account and returns the stacks' outputs.
func (a *motoAccount) backupCluster(name string) map[string]string {
	a.t.Helper()
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	vpc, subnets := a.network("10.30", "a", "b", "c")
	if code, _, stderr := a.cli("", "create", "cluster", "-f", productionConfig(a.t, vpc, subnets)); code != 0 {
		a.t.Fatalf("create: exit %d\n%s", code, stderr)
	}
	out, err := cloudformation.NewFromConfig(a.cfg).DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{})
	if err != nil {
		a.t.Fatal(err)
	}
	outputs := map[string]string{}
	for _, s := range out.Stacks {
		if !strings.HasPrefix(aws.ToString(s.StackName), naming.StackPrefix(name)+"-") {
			continue
		}
		for _, o := range s.Outputs {
			outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
		}
	}
	return outputs
}

// recordedBackups writes into the cluster bucket the artifacts of the Operations Manual's
// recorded 2025.07 `backup inspect` output (pkg/backup/testdata: neo4j, malmo and london
// with full, differential and empty differential backups), moved in time so that the
// newest was taken at newest, and records them in the manifests the way the backup
// runner does: pkg/backup's ParseInspect, EntryFromInspect and UpdateManifest, with the
// run that made them. It returns the store.
func (a *motoAccount) recordedBackups(bucket string, newest time.Time) backup.Store {
	a.t.Helper()
	ctx := context.Background()
	raw, err := os.ReadFile("../../pkg/backup/testdata/inspect-2025.07-empty.txt")
	if err != nil {
		a.t.Fatal(err)
	}
	rows, err := backup.ParseInspect(raw)
	if err != nil {
		a.t.Fatal(err)
	}
	var last time.Time
	for _, r := range rows {
		if r.Time.After(last) {
			last = r.Time
		}
	}
	shift := newest.Truncate(time.Second).Sub(last)
	store := backup.Store{S3: s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = true }), Bucket: bucket}
	byDB := map[string][]backup.Entry{}
	for _, r := range rows {
		r.Time = r.Time.Add(shift)
		key := backup.Prefix + r.Database + "-" + r.Time.Format(backup.NameTimeLayout) + ".backup"
		size := int64(1<<20) * (r.HighestTx + 1)
		if _, err := store.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
			Body: bytes.NewReader(make([]byte, size))}); err != nil {
			a.t.Fatal(err)
		}
		e := backup.EntryFromInspect(key, size, r, backup.OriginBackup)
		e.Neo4jVersion = "2025.10.1"
		e.Run = &backup.Run{ID: "run-" + r.Time.Format(backup.NameTimeLayout), Type: "AUTO", Started: r.Time.Add(-time.Second),
			Finished: r.Time.Add(40 * time.Second), DurationSeconds: 41, Databases: 1}
		byDB[r.Database] = append(byDB[r.Database], e)
	}
	for db, es := range byDB {
		if err := store.UpdateManifest(ctx, db, func(m *backup.Manifest) error {
			m.Artifacts = append(m.Artifacts, es...)
			return nil
		}, func() time.Time { return newest }); err != nil {
			a.t.Fatal(err)
		}
	}
	return store
}

// squash is text with each line's runs of spaces made one (tables compared by content).
func squash(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

// TestBackupListMoto: backup list reads the manifests the runner wrote into moto's S3 and
// the folder's listing: chains newest first, the newest restorable point, retention from
// the backup task, artifacts no manifest knows, and never an artifact's content.
func TestBackupListMoto(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	name := "graph-prod"
	outputs := a.backupCluster(name)
	bucket := outputs[stack.OutputBucketName]

	code, stdout, stderr := a.cli("", "backup", "list", name)
	if code != 0 || stdout != "" || !strings.Contains(stderr, "No backups in s3://"+bucket+"/backups/ yet") {
		t.Fatalf("empty list: exit %d, stdout %q\n%s", code, stdout, stderr)
	}

	now := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	store := a.recordedBackups(bucket, now.Add(-2*time.Hour))
	// made before manifests existed: listed from its key
	if _, err := store.S3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket),
		Key: aws.String(backup.Prefix + "shop-2026-11-20T02-00-00.backup"), Body: strings.NewReader("old")}); err != nil {
		t.Fatal(err)
	}
	a.hooks.clock = engine.NewFakeClock(now, true)
	code, stdout, stderr = a.cli("", "backup", "list", name)
	if code != 0 {
		t.Fatalf("list: exit %d\n%s", code, stderr)
	}
	var cat struct {
		Bucket         string
		RetentionDays  int
		RetentionKnown bool
		Databases      []backup.Database
	}
	code, js, stderr := a.cli("", "backup", "list", name, "-o", "json")
	if code != 0 || json.Unmarshal([]byte(js), &cat) != nil {
		t.Fatalf("list -o json: exit %d\n%s\n%s", code, js, stderr)
	}
	if cat.Bucket != bucket || cat.RetentionDays != 30 || !cat.RetentionKnown || len(cat.Databases) != 4 {
		t.Fatalf("catalog: %+v", cat)
	}
	malmo := cat.Databases[1]
	if malmo.Name != "malmo" || malmo.Newest == nil || malmo.Newest.Key != backup.Prefix+"malmo-2026-11-26T02-55-47.backup" || len(malmo.Chains) != 3 {
		t.Fatalf("malmo: %+v", malmo)
	}
	// retention: the oldest chain goes 30 days after the next one started; the newest stays
	if exp := malmo.Chains[2].ExpiresAt; exp == nil || !exp.Equal(time.Date(2026, 12, 26, 2, 55, 31, 0, time.UTC)) || malmo.Chains[0].ExpiresAt != nil {
		t.Errorf("malmo expiry: %v, newest %v", exp, malmo.Chains[0].ExpiresAt)
	}
	if shop := cat.Databases[3]; shop.Name != "shop" || len(shop.Unrecorded) != 1 || shop.Unrecorded[0].Origin != backup.OriginKey || shop.Newest != nil {
		t.Errorf("shop: %+v", shop)
	}
	lines := strings.Split(squash(stdout), "\n")
	if lines[4] != "london london-2026-11-26T02-58-28.backup 2026-11-26 02:58:28Z 2h 6 1 13 MiB" {
		t.Errorf("first database line: %q", lines[4])
	}
	mustContain(t, "list", squash(stdout), "RETENTION 30 days: a chain is deleted 30 days after the next chain starts",
		"shop none recorded (1 unrecorded, below) - - - 0 3 B",
		// the oldest chain: a full and its differentials, empty ones included, expiring together
		"malmo malmo-2026-11-26T02-54-30.backup full 2026-11-26 02:54:30Z 2h 6.0 MiB 1-5 - 2026-12-26 02:55:31Z\n"+
			"malmo malmo-2026-11-26T02-54-42.backup diff 2026-11-26 02:54:42Z 2h 1.0 MiB none (empty) - 2026-12-26 02:55:31Z\n"+
			"malmo malmo-2026-11-26T02-54-57.backup diff 2026-11-26 02:54:57Z 2h 7.0 MiB 6-6 - 2026-12-26 02:55:31Z",
		"neo4j neo4j-2026-11-26T03-00-00.backup full 2026-11-26 03:00:00Z 2h 4.0 MiB 1-3 - kept (newest chain)",
		"shop shop-2026-11-20T02-00-00.backup - 2026-11-20 02:00:00Z 6d 3 B ? - - unrecorded: listed from its key")

	// one database; an unknown one names those that have backups
	code, stdout, _ = a.cli("", "backup", "list", name, "--database", "neo4j", "-o", "json")
	if code != 0 || !strings.Contains(stdout, `"database": "neo4j"`) || strings.Contains(stdout, "malmo") {
		t.Errorf("--database neo4j: exit %d\n%s", code, stdout)
	}
	code, _, stderr = a.cli("", "backup", "list", name, "--database", "nope")
	mustContain(t, "unknown database", stderr, "no backups of database nope in s3://"+bucket+"/backups/ (backed up: london, malmo, neo4j, shop); make one with `neo4jctl backup create graph-prod --database nope`")
	if code != exitFailed {
		t.Errorf("unknown database: exit %d", code)
	}

	// listing never downloads an artifact: the only objects read are the manifests
	rec := a.recordRequests()
	if code, _, stderr := a.cli("", "backup", "list", name); code != 0 {
		t.Fatalf("list: %s", stderr)
	}
	gets := rec.calls("GetObject")
	if len(gets) != 3 {
		t.Errorf("list read %d objects, want the 3 manifests and nothing else: %v", len(gets), gets)
	}
	for _, k := range gets {
		if !strings.HasPrefix(k, backup.ManifestPrefix) {
			t.Errorf("list read %s", k)
		}
	}
	if n := len(rec.calls("ListObjectsV2")); n != 1 {
		t.Errorf("list listed the folder %d times", n)
	}
}
