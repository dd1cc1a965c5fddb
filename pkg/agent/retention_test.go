package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

func TestPlanRetention(t *testing.T) {
	now := time.Date(2025, 3, 15, 12, 0, 0, 0, time.UTC)
	day := func(d int, hour int) time.Time { return now.AddDate(0, 0, -d).Add(time.Duration(hour) * time.Hour) }
	// F = full, D = differential; "neo4j@-20+2h" is 20 days ago plus 2 hours.
	art := func(spec string) BackupArtifact {
		kind, rest, _ := strings.Cut(spec, ":")
		db, at, _ := strings.Cut(rest, "@")
		var d, h int
		fmt.Sscanf(at, "%d+%d", &d, &h)
		ts := day(d, h)
		return BackupArtifact{Key: "backups/" + db + "-" + ts.Format("2006-01-02T15-04-05") + ".backup", Database: db, Time: ts, Full: kind == "F"}
	}
	tests := []struct {
		name string
		days int
		arts []string
		drop []string // specs deleted
	}{
		{name: "no retention", days: 0, arts: []string{"F:neo4j@30+0", "F:neo4j@20+0"}},
		{name: "everything within the window", days: 14, arts: []string{"F:neo4j@10+0", "D:neo4j@10+1", "F:neo4j@3+0"}},
		{name: "old chains go, the chain covering the window start stays",
			days: 14,
			arts: []string{"F:neo4j@30+0", "D:neo4j@29+0", "F:neo4j@22+0", "D:neo4j@21+0", "F:neo4j@15+0", "D:neo4j@13+0", "F:neo4j@8+0", "D:neo4j@1+0"},
			drop: []string{"F:neo4j@30+0", "D:neo4j@29+0", "F:neo4j@22+0", "D:neo4j@21+0"}},
		{name: "a chain whose full is old but whose differentials are in the window is kept whole",
			days: 7,
			arts: []string{"F:neo4j@20+0", "D:neo4j@19+0", "F:neo4j@10+0", "D:neo4j@9+0", "D:neo4j@6+0", "D:neo4j@1+0"},
			drop: []string{"F:neo4j@20+0", "D:neo4j@19+0"}},
		{name: "only old backups: the newest chain is kept (it restores the window's start)",
			days: 7,
			arts: []string{"F:neo4j@30+0", "D:neo4j@29+0", "F:neo4j@20+0", "D:neo4j@19+0"},
			drop: []string{"F:neo4j@30+0", "D:neo4j@29+0"}},
		{name: "a broken chain (differentials without their full) before a full is deleted",
			days: 7,
			arts: []string{"D:neo4j@30+0", "D:neo4j@29+0", "F:neo4j@20+0", "F:neo4j@2+0"},
			drop: []string{"D:neo4j@30+0", "D:neo4j@29+0"}},
		{name: "databases are planned separately",
			days: 7,
			arts: []string{"F:neo4j@30+0", "F:neo4j@10+0", "F:system@30+0", "D:system@2+0", "F:shop@1+0"},
			drop: []string{"F:neo4j@30+0"}},
		{name: "unsorted input", days: 7,
			arts: []string{"D:neo4j@1+0", "F:neo4j@8+0", "D:neo4j@29+0", "F:neo4j@30+0"},
			drop: []string{"F:neo4j@30+0", "D:neo4j@29+0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var arts []BackupArtifact
			for _, s := range tt.arts {
				arts = append(arts, art(s))
			}
			var got, want []string
			for _, a := range PlanRetention(arts, now, tt.days) {
				got = append(got, a.Key)
			}
			for _, s := range tt.drop {
				want = append(want, art(s).Key)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("deletes %q\nwant    %q", got, want)
			}
		})
	}
}

func TestParseArtifact(t *testing.T) {
	a, ok := ParseArtifact("backups/my-db.v2-2025-01-02T03-04-05.backup")
	if !ok || a.Database != "my-db.v2" || !a.Time.Equal(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("%+v %v", a, ok)
	}
	for _, k := range []string{"backups/neo4j.backup", "neo4j-2025-01-02.backup", "neo4j-2025-01-02T03-04-05.dump"} {
		if _, ok := ParseArtifact(k); ok {
			t.Errorf("%s parsed", k)
		}
	}
}

// inspectTable has the shape of `neo4j-admin backup inspect --show-metadata` on 5.26.
const inspectTable = `|                                                         FILE | DATABASE |                          DATABASE ID |          TIME (UTC) |  FULL | COMPRESSED | LOWEST TX | HIGHEST TX |
| s3://bucket/backups/neo4j-2025-03-01T02-00-00.backup |    neo4j | 6c1e2d3f-0000-4a6b-8c9d-000000000001 | 2025-03-01T02:00:00 |  true |       true |         1 |       1042 |
| s3://bucket/backups/neo4j-2025-03-01T03-00-00.backup |    neo4j | 6c1e2d3f-0000-4a6b-8c9d-000000000001 | 2025-03-01T03:00:00 | false |       true |      1043 |       1100 |
`

func TestParseInspect(t *testing.T) {
	got, err := ParseInspect([]byte(inspectTable))
	if err != nil || len(got) != 2 || !got["neo4j-2025-03-01T02-00-00.backup"] || got["neo4j-2025-03-01T03-00-00.backup"] {
		t.Fatalf("%v %v", got, err)
	}
	js, err := ParseInspect([]byte(`[{"file":"s3://b/x/neo4j-2025-03-01T02-00-00.backup","full":true},{"file":"neo4j-2025-03-01T03-00-00.backup","full":"false"}]`))
	if err != nil || !js["neo4j-2025-03-01T02-00-00.backup"] || js["neo4j-2025-03-01T03-00-00.backup"] {
		t.Fatalf("%v %v", js, err)
	}
	if _, err := ParseInspect([]byte("Usage: neo4j-admin backup inspect ...")); err == nil {
		t.Fatal("garbage parsed")
	}
}

func TestBackupPrunesAfterSuccess(t *testing.T) {
	now := time.Date(2025, 3, 20, 2, 0, 0, 0, time.UTC)
	keys := []string{
		"backups/neo4j-2025-03-01T02-00-00.backup", // full, old: its chain goes
		"backups/neo4j-2025-03-01T03-00-00.backup", // diff, old
		"backups/neo4j-2025-03-05T02-00-00.backup", // full before the 7-day window: kept
		"backups/neo4j-2025-03-19T02-00-00.backup", // diff in the window
	}
	store := newFakeStore()
	for _, k := range keys {
		store.objects["bucket/"+k] = []byte("x")
	}
	table := "| FILE | FULL |\n"
	for i, k := range keys {
		table += fmt.Sprintf("| s3://bucket/%s | %v |\n", k, i%2 == 0)
	}
	env := map[string]string{naming.EnvBackupFrom: "10.0.2.17:6362", naming.EnvBackupTo: "s3://bucket/backups/",
		naming.EnvScratchDir: t.TempDir(), "NEO4J_HOME": "/var/lib/neo4j", naming.EnvBackupRetentionDays: "7"}
	run := func(fail bool) (BackupReport, [][]string) {
		var stdout bytes.Buffer
		var argvs [][]string
		code := Backup(context.Background(), BackupOptions{Env: MapEnv(env), Type: "auto", Stdout: &stdout, Stderr: io.Discard, Objects: store,
			Now: func() time.Time { return now },
			Command: func(ctx context.Context, argv []string, o, e io.Writer) (int, error) {
				argvs = append(argvs, argv)
				if slices.Contains(argv, "inspect") {
					io.WriteString(o, table)
					return 0, nil
				}
				if fail {
					return 1, fmt.Errorf("exit 1")
				}
				return 0, nil
			}})
		var r BackupReport
		json.Unmarshal(stdout.Bytes(), &r)
		if (code == 0) == fail {
			t.Fatalf("exit %d", code)
		}
		return r, argvs
	}
	r, argvs := run(true)
	if len(argvs) != 1 || len(store.deleted) != 0 || r.Pruned != nil {
		t.Fatalf("pruned after a failed backup: %q %q", argvs, store.deleted)
	}
	r, argvs = run(false)
	if !slices.Contains(argvs[0], "--type=AUTO") || !slices.Equal(argvs[1], []string{"/var/lib/neo4j/bin/neo4j-admin", "backup", "inspect", "--show-metadata", "s3://bucket/backups/"}) {
		t.Errorf("argv %q", argvs)
	}
	if !slices.Equal(r.Pruned, keys[:2]) || !slices.Equal(store.deleted, keys[:2]) || r.RetentionDays != 7 || !r.OK {
		t.Fatalf("report %+v deleted %q", r, store.deleted)
	}
	// An artifact inspect does not list: nothing is deleted, the backup still counts.
	store.objects["bucket/backups/neo4j-2025-02-01T02-00-00.backup"] = []byte("x")
	store.deleted = nil
	r, _ = run(false)
	if len(store.deleted) != 0 || !strings.Contains(r.PruneError, "does not list") || !r.OK {
		t.Fatalf("report %+v deleted %q", r, store.deleted)
	}
}
