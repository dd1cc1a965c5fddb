package main

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/neo4jctl/neo4jctl/internal/clustersim"
	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// simulateDatabases is simulate on a Neo4j version, with user databases besides neo4j.
func (a *motoAccount) simulateDatabases(cluster, version string, cores, replicas int, dbs ...clustersim.DatabaseSpec) *simulated {
	s := a.simulate(cluster, cores, replicas)
	s.sim = clustersim.New(clustersim.Config{Cores: cores, DefaultSecondaries: replicas, Namespace: cluster + ".neo4j.internal", Version: version, Databases: dbs})
	a.hooks.clock = simClock{s.sim}
	return s
}

// adminLog records the admin requests that reach the (simulated) admin function.
type adminLog struct {
	inner ops.LambdaInvoker
	mu    sync.Mutex
	reqs  []neo4jadmin.Request
}

func (l *adminLog) Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	var r neo4jadmin.Request
	_ = json.Unmarshal(in.Payload, &r)
	l.mu.Lock()
	l.reqs = append(l.reqs, r)
	l.mu.Unlock()
	return l.inner.Invoke(ctx, in, opts...)
}

func (l *adminLog) of(t neo4jadmin.RequestType) []neo4jadmin.Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []neo4jadmin.Request
	for _, r := range l.reqs {
		if r.Type == t {
			out = append(out, r)
		}
	}
	return out
}

// TestBackupRestoreSimulated: backup restore on moto with the cluster simulator behind the
// admin function, on 5.26 (dbms.cluster.recreateDatabase) and 2025.10 (dbms.recreateDatabase:
// the simulator refuses the procedure a version lacks): it says what it replaces and asks,
// sends one recreate-database with the artifact's S3 URI, waits until every copy of the
// database is online again on the servers that host it, while the other user database keeps
// its writer throughout; system is refused with the offline procedure.
func TestBackupRestoreSimulated(t *testing.T) {
	for _, tc := range []struct{ version, procedure string }{
		{"5.26.30", "dbms.cluster.recreateDatabase"},
		{"2025.04.0", "dbms.recreateDatabase"}, // the first with dbms.recreateDatabase
		{"2025.10.1", "dbms.recreateDatabase"},
	} {
		t.Run(tc.version, func(t *testing.T) {
			a := newMotoAccount(t, "eu-west-1")
			name := "graph-prod"
			s := a.simulateDatabases(name, tc.version, 3, 2, clustersim.DatabaseSpec{Name: "shop", Primaries: 3, Secondaries: 2})
			log := &adminLog{inner: s}
			a.hooks.wrapLambda = func(ops.LambdaInvoker) ops.LambdaInvoker { return log }
			a.hooks.pollInterval = 5 * time.Second
			outputs := a.backupClusterOf(name, tc.version)
			bucket := outputs[stack.OutputBucketName]
			taken := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
			a.recordedBackups(bucket, taken)

			// without --yes and a terminal: the plan, and nothing sent
			code, stdout, stderr := a.cli("", "backup", "restore", name, "--database", "neo4j")
			if code != exitUsage || stdout != "" || len(log.of(neo4jadmin.ReqRecreateDatabase)) != 0 {
				t.Fatalf("restore without --yes: exit %d, %d recreates\n%s", code, len(log.of(neo4jadmin.ReqRecreateDatabase)), stderr)
			}
			newest := "s3://" + bucket + "/backups/neo4j-" + taken.Format(backup.NameTimeLayout) + ".backup"
			mustContain(t, "plan", stderr, "Restore database neo4j of cluster graph-prod from "+newest,
				"backup: full, taken ", "transactions up to 3",
				"REPLACES everything in neo4j on core-1.graph-prod.neo4j.internal (primary), core-2.graph-prod.neo4j.internal (primary), core-3.graph-prod.neo4j.internal (primary), 10.0.9.1 (secondary), 10.0.9.2 (secondary): whatever was written since the backup is lost",
				"neo4j is offline until every copy is online again; its privileges are kept ("+tc.procedure+", Neo4j "+tc.version+")",
				"keep serving: shop, system", "pass --yes to go ahead")

			before := s.sim.Stats().WriteUnavailable["shop"]
			code, stdout, stderr = a.cli("", "backup", "restore", name, "--database", "neo4j", "--latest", "--yes")
			if code != 0 {
				t.Fatalf("restore: exit %d\n%s\n%s", code, stdout, stderr)
			}
			reqs := log.of(neo4jadmin.ReqRecreateDatabase)
			if len(reqs) != 1 || reqs[0].Database != "neo4j" || reqs[0].SeedURI != newest || reqs[0].IdempotencyKey == "" || reqs[0].Version != 2 {
				t.Fatalf("recreate requests: %+v", reqs)
			}
			mustContain(t, "restore", squash(stdout), "DATABASE neo4j", "PROCEDURE "+tc.procedure+" (Neo4j "+tc.version+")",
				"core-1.graph-prod.neo4j.internal primary online", "SERVER ROLE STATUS WRITER")
			mustContain(t, "restore progress", stderr, "neo4j: 0 of 5 copies online again (", "neo4j: 5 of 5 copies online again", "Done: database neo4j restored from neo4j-")
			v := s.sim.View()
			db, _ := v.Database("neo4j")
			if db.Leader == "" || db.PrimariesOnline != 3 || len(db.Hosts) != 5 {
				t.Errorf("neo4j after the restore: %+v", db)
			}
			for member, h := range db.Hosts {
				if !strings.HasSuffix(h, "online") {
					t.Errorf("neo4j on %s: %s", member, h)
				}
			}
			stats := s.sim.Stats()
			if stats.WriteUnavailable["neo4j"] == 0 || stats.WriteUnavailable["shop"] != before {
				t.Errorf("time without a writer: neo4j %s (restored: offline a while), shop %s -> %s (must keep serving)",
					stats.WriteUnavailable["neo4j"], before, stats.WriteUnavailable["shop"])
			}

			// system: refused with the offline procedure, nothing sent
			code, _, stderr = a.cli("", "backup", "restore", name, "--database", "system", "--yes")
			if code != exitUsage || len(log.of(neo4jadmin.ReqRecreateDatabase)) != 1 {
				t.Fatalf("system: exit %d\n%s", code, stderr)
			}
			mustContain(t, "system", stderr, "the system database cannot be restored online", "neo4j-admin database restore --from-path=s3://"+bucket+"/backups/system-<time>.backup --overwrite-destination=true system",
				"neo4j-admin dbms unbind-system-db", "`neo4jctl backup list graph-prod --database system`")
			// another database's backup
			code, _, stderr = a.cli("", "backup", "restore", name, "--database", "neo4j", "--from", "malmo-2020-01-01T00-00-00.backup", "--yes")
			if code != exitFailed || !strings.Contains(stderr, "is a backup of database malmo, not neo4j") {
				t.Errorf("--from another database: exit %d %s", code, stderr)
			}
		})
	}
}
