package ops

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// recordedStatus is the status of the recorded Enterprise 5.26 answers
// (pkg/neo4jadmin/testdata: 3 primaries, 1 secondary, a free server), every copy started at
// started.
func recordedStatus(t *testing.T, started string) *neo4jadmin.Status {
	t.Helper()
	raw, err := os.ReadFile("../neo4jadmin/testdata/enterprise-5.26-3cores-1replica.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Servers []struct {
			ServerID, Name, Address, State, Health string
		}
		Databases []neo4jadmin.Database
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	st := &neo4jadmin.Status{Edition: "enterprise", Version: "5.26.30", Databases: rec.Databases}
	for _, s := range rec.Servers {
		st.Servers = append(st.Servers, neo4jadmin.Server{ID: s.ServerID, Name: s.Name, Address: s.Address, State: s.State, Health: s.Health})
	}
	for i := range st.Databases {
		st.Databases[i].LastStartTime = started
	}
	return st
}

// restoreChannel is a FAKE admin channel: status answers in turn (the last repeats), every
// request recorded.
type restoreChannel struct {
	mu       sync.Mutex
	statuses []*neo4jadmin.Status
	reqs     []neo4jadmin.Request
}

func (c *restoreChannel) Send(_ context.Context, req neo4jadmin.Request) (neo4jadmin.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = append(c.reqs, req)
	if req.Type != neo4jadmin.ReqStatus {
		return neo4jadmin.Response{Type: req.Type, OK: true}, nil
	}
	st := c.statuses[0]
	if len(c.statuses) > 1 {
		c.statuses = c.statuses[1:]
	}
	return neo4jadmin.Response{Type: req.Type, OK: true, Status: st}, nil
}

// withCopies is st with neo4j's copies changed by f.
func withCopies(st *neo4jadmin.Status, f func(d *neo4jadmin.Database)) *neo4jadmin.Status {
	c := *st
	c.Databases = append([]neo4jadmin.Database(nil), st.Databases...)
	for i := range c.Databases {
		if c.Databases[i].Name == "neo4j" {
			f(&c.Databases[i])
		}
	}
	return &c
}

func restoreFixture(t *testing.T, statuses ...*neo4jadmin.Status) (*BackupRestore, *restoreChannel, *recorder) {
	s3 := newMemS3()
	recordRun(t, s3, "r1",
		backup.Entry{Key: backup.Prefix + "neo4j-2026-11-25T02-00-00.backup", Time: backupNow.Add(-27 * time.Hour), Type: backup.TypeFull, LowestTx: 1, HighestTx: 1000},
		backup.Entry{Key: backup.Prefix + "neo4j-2026-11-25T03-00-00.backup", Time: backupNow.Add(-26 * time.Hour), Type: backup.TypeDiff, LowestTx: 1001, HighestTx: 1040},
		backup.Entry{Key: backup.Prefix + "neo4j-2026-11-25T04-00-00.backup", Time: backupNow.Add(-25 * time.Hour), Type: backup.TypeDiff, LowestTx: 1050, HighestTx: 1060})
	s3.objects[backup.Prefix+"neo4j-2026-01-01T00-00-00.backup"] = []byte("made by hand")
	ch := &restoreChannel{statuses: statuses}
	rec := &recorder{}
	return &BackupRestore{Cluster: &Cluster{Name: "graph-dev", Stacks: backupCluster("graph-dev"), Events: rec, Admin: ch, Clock: engine.NewFakeClock(backupNow, true)},
		S3: s3, PollInterval: 5 * time.Second}, ch, rec
}

// TestRestoreWaitsForEveryCopyToStartAgain: right after the recreate the copies may still
// say online (their servers have not got to it): restore waits until each is online and
// started again, with a writer, on every server that should host it.
func TestRestoreWaitsForEveryCopyToStartAgain(t *testing.T) {
	before := recordedStatus(t, "2026-11-20T00:00:00Z")
	copying := withCopies(before, func(d *neo4jadmin.Database) { d.CurrentStatus, d.Writer = "store copying", false })
	back := withCopies(before, func(d *neo4jadmin.Database) { d.LastStartTime = "2026-11-26T05:00:40Z" })
	r, ch, rec := restoreFixture(t, before, before, copying, back)
	p, err := r.Plan(context.Background(), BackupRestoreOptions{Database: "neo4j"})
	if err != nil {
		t.Fatal(err)
	}
	// --latest: the newest point of a whole chain (the 04:00 differential continues no
	// chain: transactions 1041-1049 are missing), with the chain the seed reads
	if p.Artifact.Key != backup.Prefix+"neo4j-2026-11-25T03-00-00.backup" || len(p.Chain) != 2 || p.SeedURI != "s3://bucket-1/backups/neo4j-2026-11-25T03-00-00.backup" ||
		p.Procedure != "dbms.cluster.recreateDatabase" || !p.Exists || len(p.Copies) != 4 || strings.Join(p.Others, ",") != "system" {
		t.Fatalf("plan: %+v", p)
	}
	for _, want := range []string{"transactions up to 1040 (its full backup and 1 differentials)", "REPLACES everything in neo4j on core-1.neo4j.internal (primary), core-2.neo4j.internal (primary), core-3.neo4j.internal (primary), 10.0.2.17 (secondary)",
		"keep serving: system"} {
		if !strings.Contains(p.Text(), want) {
			t.Errorf("plan text lacks %q:\n%s", want, p.Text())
		}
	}
	if err := r.Ask(context.Background(), p, false); err == nil || !strings.Contains(err.Error(), "pass --yes") {
		t.Fatalf("no terminal, no --yes: %v", err)
	}
	res, err := r.Execute(context.Background(), p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var recreate []neo4jadmin.Request
	for _, q := range ch.reqs {
		if q.Type == neo4jadmin.ReqRecreateDatabase {
			recreate = append(recreate, q)
		}
	}
	if len(recreate) != 1 || recreate[0].SeedURI != p.SeedURI || recreate[0].Database != "neo4j" || !strings.HasPrefix(recreate[0].IdempotencyKey, "restore-") {
		t.Fatalf("requests: %+v", ch.reqs)
	}
	if len(res.Restored) != 4 || res.DurationSeconds != 10 {
		t.Errorf("result: %+v", res)
	}
	got := strings.Join(rec.lines(), "\n")
	for _, want := range []string{"[00:00] neo4j: 0 of 4 copies online again (core-1.neo4j.internal: not restarted yet,", "[00:05] neo4j: 0 of 4 copies online again (core-1.neo4j.internal: store copying,",
		"[00:10] neo4j: 4 of 4 copies online again"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress lacks %q:\n%s", want, got)
		}
	}
}

// TestRestoreWithoutStartTimes: from a function that does not say when copies started, a
// copy counts once some copy was seen offline.
func TestRestoreWithoutStartTimes(t *testing.T) {
	before := recordedStatus(t, "")
	copying := withCopies(before, func(d *neo4jadmin.Database) { d.CurrentStatus = "starting" })
	r, _, rec := restoreFixture(t, before, before, before, copying, before)
	p, err := r.Plan(context.Background(), BackupRestoreOptions{Database: "neo4j", From: "neo4j-2026-11-25T02-00-00"})
	if err != nil || len(p.Chain) != 1 {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := r.Execute(context.Background(), p, time.Hour); err != nil {
		t.Fatal(err)
	}
	if lines := rec.lines(); !strings.Contains(lines[len(lines)-1], "[00:15] neo4j: 4 of 4 copies online again") {
		t.Errorf("progress: %q", lines)
	}
}

// TestRestoreTimesOutNamingTheCopy: the secondary's server never gets its copy online.
func TestRestoreTimesOutNamingTheCopy(t *testing.T) {
	before := recordedStatus(t, "2026-11-20T00:00:00Z")
	stuck := withCopies(before, func(d *neo4jadmin.Database) {
		d.LastStartTime = "2026-11-26T05:01:00Z"
		if d.Role == "secondary" {
			d.CurrentStatus, d.StatusMessage = "store copying", "Unable to fetch s3://bucket-1/backups/x: Access Denied"
		}
	})
	r, _, _ := restoreFixture(t, before, stuck)
	p, _ := r.Plan(context.Background(), BackupRestoreOptions{Database: "neo4j"})
	_, err := r.Execute(context.Background(), p, 10*time.Minute)
	var to *RestoreTimeoutError
	if !errors.As(err, &to) || !strings.Contains(err.Error(), "database neo4j is not online on every server after 10m0s: 10.0.2.17: store copying Unable to fetch s3://bucket-1/backups/x: Access Denied") ||
		!strings.Contains(err.Error(), "`neo4jctl get cluster graph-dev`") {
		t.Fatalf("%v", err)
	}
}

// TestRestoreRefusals: what restore refuses before it changes anything.
func TestRestoreRefusals(t *testing.T) {
	st := recordedStatus(t, "t0")
	for _, tc := range []struct {
		o    BackupRestoreOptions
		st   *neo4jadmin.Status
		want string
	}{
		{BackupRestoreOptions{Database: "system"}, st, "the system database cannot be restored online"},
		{BackupRestoreOptions{Database: "neo4j", From: "neo4j-2026-11-25T04-00-00.backup"}, st, "its chain is broken (transactions 1041 to 1049 missing before it)"},
		{BackupRestoreOptions{Database: "neo4j", From: "neo4j-2026-01-01T00-00-00.backup"}, st, "is in no manifest yet"},
		{BackupRestoreOptions{Database: "neo4j", From: "s3://elsewhere/backups/neo4j-2026-11-25T02-00-00.backup"}, st, "restore from their own bucket only"},
		{BackupRestoreOptions{Database: "neo4j", From: "shop-2026-11-25T02-00-00.backup"}, st, "is a backup of database shop, not neo4j"},
		{BackupRestoreOptions{Database: "shop"}, st, "database shop has no restorable backup"},
		{BackupRestoreOptions{Database: "neo4j"}, withCopies(st, func(d *neo4jadmin.Database) { d.CurrentStatus = "starting" }), "a restore or start is under way"},
		{BackupRestoreOptions{Database: "neo4j"}, func() *neo4jadmin.Status { s := *st; s.Version = "5.20.0"; return &s }(), "Neo4j 5.20.0 cannot recreate a database online"},
	} {
		r, ch, _ := restoreFixture(t, tc.st)
		_, err := r.Plan(context.Background(), tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
		for _, q := range ch.reqs {
			if q.Mutating() {
				t.Errorf("%+v sent %s", tc.o, q.Type)
			}
		}
	}
	var sys *RestoreSystemError
	r, _, _ := restoreFixture(t, st)
	if _, err := r.Plan(context.Background(), BackupRestoreOptions{Database: "SYSTEM"}); !errors.As(err, &sys) || sys.ExitCode() != 2 {
		t.Errorf("system: %v", err)
	}
}

// TestRestoreOfADroppedDatabaseCreatesIt: a database that no longer exists is created from
// the backup (restore-database), said so in the plan.
func TestRestoreOfADroppedDatabaseCreatesIt(t *testing.T) {
	st := recordedStatus(t, "t0")
	st.Databases = st.Databases[4:] // system only
	created := recordedStatus(t, "t1")
	r, ch, _ := restoreFixture(t, st, created)
	p, err := r.Plan(context.Background(), BackupRestoreOptions{Database: "neo4j"})
	if err != nil || p.Exists || !strings.Contains(p.Text(), "neo4j does not exist: it is created from the backup") {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := r.Execute(context.Background(), p, time.Hour); err != nil {
		t.Fatal(err)
	}
	if q := ch.reqs[1]; q.Type != neo4jadmin.ReqRestoreDatabase || q.SeedURI != p.SeedURI || q.IdempotencyKey != "" {
		t.Errorf("request: %+v", q)
	}
}
