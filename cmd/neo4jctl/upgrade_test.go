package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

// freshBackups records in the cluster bucket a full backup of each database taken at, the
// way the backup runner records one (an artifact and its manifest entry).
func (a *motoAccount) freshBackups(cluster string, at time.Time, dbs ...string) {
	a.t.Helper()
	ctx := context.Background()
	bucket := a.bucketOf(cluster)
	store := backup.Store{S3: s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = true }), Bucket: bucket}
	for _, db := range dbs {
		row := backup.InspectRow{Database: db, Time: at.UTC().Truncate(time.Second), Full: true, LowestTx: 1, HighestTx: 42}
		key := backup.Prefix + db + "-" + row.Time.Format(backup.NameTimeLayout) + ".backup"
		if _, err := store.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(make([]byte, 1024))}); err != nil {
			a.t.Fatal(err)
		}
		e := backup.EntryFromInspect(key, 1024, row, backup.OriginBackup)
		e.Neo4jVersion = "5.26.30"
		if err := store.UpdateManifest(ctx, db, func(m *backup.Manifest) error {
			m.Artifacts = append(m.Artifacts, e)
			return nil
		}, func() time.Time { return at }); err != nil {
			a.t.Fatal(err)
		}
	}
}

// lastApplied is the cluster's last-applied record, as neo4jctl keeps it in the bucket.
func (a *motoAccount) lastApplied(cluster string) map[string]any {
	a.t.Helper()
	bucket := a.bucketOf(cluster)
	out, err := s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = true }).GetObject(context.Background(),
		&s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(naming.LastAppliedKey)})
	if err != nil {
		a.t.Fatalf("last-applied record: %v", err)
	}
	defer out.Body.Close()
	var rec map[string]any
	if err := json.NewDecoder(out.Body).Decode(&rec); err != nil {
		a.t.Fatal(err)
	}
	return rec
}

// A downgrade and a missing image are refused before anything changes; without a recent
// backup of every database too; then the upgrade rolls each member once onto the new image,
// quorum kept, the leader of the most databases last, and records the version, so that an
// update with the old file is refused, naming neo4j.version.
func TestUpgradeRollsEveryMemberOnceAndRecordsTheVersion(t *testing.T) {
	a, s, file := formedProduction(t, twoDatabases(3, 2))
	s.versions = map[string]string{}

	code, _, stderr := a.cli("", "upgrade", "cluster", "graph-prod", "--version", "5.26.29", "--yes")
	if code != exitUsage {
		t.Fatalf("downgrade: exit %d\n%s", code, stderr)
	}
	mustContain(t, "downgrade", stderr, "upgrade refused: cannot upgrade from 5.26.30 to 5.26.29: that is a downgrade",
		"Neo4j cannot downgrade a store", "from backups taken on 5.26.29 or earlier", "Nothing was changed.")
	code, _, stderr = a.cli("", "upgrade", "cluster", "graph-prod", "--version", "5.26.31", "--yes")
	if code != exitFailed {
		t.Fatalf("image missing: exit %d\n%s", code, stderr)
	}
	mustContain(t, "image missing", stderr, "the image of Neo4j 5.26.31", "is not in ECR", "--push-image",
		"neo4jctl image push --repository "+a.account+".dkr.ecr.eu-west-1.amazonaws.com/neo4jctl/neo4j --neo4j-version 5.26.31")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.31"))
	now := s.sim.Now()
	a.freshBackups("graph-prod", now.Add(-30*time.Hour), "system", "neo4j", "shop", "ledger")
	a.freshBackups("graph-prod", now.Add(-2*time.Hour), "system", "neo4j", "shop")
	code, _, stderr = a.cli("", "upgrade", "cluster", "graph-prod", "--version", "5.26.31", "--yes")
	if code != exitFailed {
		t.Fatalf("stale backup: exit %d\n%s", code, stderr)
	}
	mustContain(t, "stale backup", stderr, "no restorable backup newer than 24 hours", "ledger: newest backups/ledger-", "(30h ago)",
		"neo4jctl backup create graph-prod --database ledger", "--skip-backup-check")
	if r := s.restarted(); len(r) != 0 {
		t.Fatalf("refusals restarted %v", r)
	}

	a.freshBackups("graph-prod", now.Add(-time.Hour), "ledger")
	code, stdout, stderr := a.cli("", "upgrade", "cluster", "graph-prod", "--version", "5.26.31", "--dry-run")
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s", code, stderr)
	}
	mustContain(t, "dry run", stdout, "Upgrade cluster graph-prod from Neo4j 5.26.30 to 5.26.31, rolling", "  1. replicas   every replica task replaced",
		"  4. core-", "Image: "+a.account+".dkr.ecr.eu-west-1.amazonaws.com/neo4jctl/neo4j:"+defaultImageTag("5.26.31"), "Backup of ledger: backups/ledger-")
	last := strings.Fields(stdout[strings.Index(stdout, "  4. "):])[1]

	code, _, stderr = a.cli("", "upgrade", "cluster", "graph-prod", "--version", "5.26.31", "--yes")
	if code != 0 {
		t.Fatalf("upgrade: exit %d\n%s", code, stderr)
	}
	mustContain(t, "upgrade", stderr, "(one at a time, gated)", "[1/4] replicas", "[4/4] "+last, last+": after gate passed",
		"neo4jctl-graph-prod-operations UPDATE_COMPLETE", "Done: cluster graph-prod runs Neo4j 5.26.31.")
	if r := s.restarted(); r["core-1"] != 1 || r["core-2"] != 1 || r["core-3"] != 1 || r["replicas"] != 2 {
		t.Errorf("restarts %v, want each core once and both replica tasks replaced", r)
	}
	s.quorumKept(t)
	for _, sv := range s.sim.View().Servers {
		if sv.Running && sv.Version != "5.26.31" {
			t.Errorf("%s runs %s after the upgrade", sv.Member, sv.Version)
		}
	}
	rec := a.lastApplied("graph-prod")
	if v := rec["config"].(map[string]any)["neo4j"].(map[string]any)["version"]; v != "5.26.31" {
		t.Errorf("recorded version %v", v)
	}

	code, _, stderr = a.cli("", "update", "cluster", "-f", file, "--yes")
	if code != exitUsage {
		t.Fatalf("update with the old version: exit %d\n%s", code, stderr)
	}
	mustContain(t, "update with the old version", stderr, "neo4j.version (", `the file says "5.26.30"; `+"`neo4jctl upgrade cluster` set \"5.26.31\"")
	if r := s.restarted(); r["core-1"] != 1 || r["core-2"] != 1 || r["core-3"] != 1 {
		t.Errorf("the refused update restarted %v", r)
	}
	code, _, stderr = a.cli("", "upgrade", "cluster", "graph-prod", "--version", "5.26.31", "--yes")
	if code != 0 || !strings.Contains(stderr, "names 5.26.31 already") {
		t.Fatalf("upgrade again: exit %d\n%s", code, stderr)
	}
	if r := s.restarted(); r["core-1"] != 1 || r["core-2"] != 1 || r["core-3"] != 1 {
		t.Errorf("a second upgrade to the same version restarted %v", r)
	}
}

// 5.26 -> 2025.10.1 (the calendar step, with its notes): a member whose new version never
// comes back stops the upgrade at its gate, the rest untouched, and the error names the
// repair and the resume; after the repair the same command rolls only the members left.
func TestUpgradeStoppedByAGateThenResumed(t *testing.T) {
	a, s, _ := formedProduction(t, twoDatabases(3, 0))
	s.versions = map[string]string{}
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("2025.10.1"))
	a.freshBackups("graph-prod", s.sim.Now().Add(-time.Hour), "system", "neo4j", "shop", "ledger")
	code, stdout, stderr := a.cli("", "upgrade", "cluster", "graph-prod", "--version", "2025.10.1", "--dry-run", "-o", "json")
	var plan ops.UpgradePlan
	if code != 0 || json.Unmarshal([]byte(stdout), &plan) != nil || len(plan.Order) != 4 {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(strings.Join(plan.Notes, "\n"), "dbms.cluster.endpoints") {
		t.Errorf("the 5.26 -> calendar notes are missing: %q", plan.Notes)
	}
	victim, after, last := plan.Order[1].Member, plan.Order[2].Member, plan.Order[3].Member // replicas first
	s.hang[victim] = true
	code, _, stderr = a.cli("", "upgrade", "cluster", "graph-prod", "--version", "2025.10.1", "--yes", "--member-timeout", "4m")
	if code != exitFailed {
		t.Fatalf("upgrade: exit %d\n%s", code, stderr)
	}
	mustContain(t, "gate", stderr, "Error: upgrade to 2025.10.1 of cluster graph-prod stopped: "+victim+" did not come back ready within 4m0s",
		"Not touched: "+after+", "+last+".", "restart it alone: `neo4jctl restart cluster graph-prod --member "+victim+"`",
		"Resume with `neo4jctl upgrade cluster graph-prod --version 2025.10.1`.")
	if r := s.restarted(); r[victim] != 1 || r[after]+r[last] != 0 {
		t.Errorf("restarts %v: %s and %s must be untouched", r, after, last)
	}
	s.quorumKept(t)

	delete(s.hang, victim)
	if code, _, stderr = a.cli("", "restart", "cluster", "graph-prod", "--member", victim, "--yes"); code != 0 {
		t.Fatalf("repair: exit %d\n%s", code, stderr)
	}
	code, _, stderr = a.cli("", "upgrade", "cluster", "graph-prod", "--version", "2025.10.1", "--yes")
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	mustContain(t, "resume", stderr, "Upgrade cluster graph-prod from Neo4j 5.26.30 to 2025.10.1", "names 2025.10.1 already",
		"Done: cluster graph-prod runs Neo4j 2025.10.1.")
	if r := s.restarted(); r[victim] != 2 || r[after] != 1 || r[last] != 1 {
		t.Errorf("restarts %v: the resume rolls only %s and %s", r, after, last)
	}
	s.quorumKept(t)
	for _, sv := range s.sim.View().Servers {
		if sv.Running && sv.Version != "2025.10.1" {
			t.Errorf("%s runs %s after the upgrade", sv.Member, sv.Version)
		}
	}
}
