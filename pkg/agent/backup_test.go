package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// fakeAdmin is a FAKE neo4j-admin (no Enterprise server runs here): `database backup`
// writes artifacts into the (moto) bucket the way neo4j-admin names them, full or
// differential as AUTO would choose; `backup inspect` prints the table of the Neo4j line it
// plays, in the column layout the Operations Manual records (pkg/backup/testdata): 5.26 lists
// file names only without --show-metadata, 2025.06 adds RECOVERED, 2025.07 shows metadata by
// default; without --empty, empty differentials are left out.
type fakeAdmin struct {
	t       *testing.T
	s3      *s3.Client
	bucket  string
	version string
	clock   *time.Time
	dbs     []string         // databases of the "cluster"
	tx      map[string]int64 // last committed transaction per database
	arts    map[string]fakeArt
	failDB  string // a database whose backup fails (the others go on, exit code 1)
	corrupt string // an artifact name whose check finds inconsistencies
	calls   [][]string
}

type fakeArt struct {
	db, id  string
	at      time.Time
	full    bool
	lo, hi  int64
	recover bool
}

func (f *fakeAdmin) run(ctx context.Context, argv []string, stdout, stderr io.Writer) (int, error) {
	f.calls = append(f.calls, argv)
	switch strings.Join(argv[1:3], " ") {
	case "database backup":
		return f.backup(ctx, argv[3:])
	case "backup inspect":
		return f.inspect(ctx, argv[3:], stdout)
	case "database check":
		return f.check(argv[3:], stdout)
	case "database aggregate-backup", "backup aggregate":
		return f.aggregate(argv[3:])
	}
	return 2, fmt.Errorf("fake neo4j-admin: unexpected %q", argv)
}

func (f *fakeAdmin) backup(ctx context.Context, args []string) (int, error) {
	typ, dbs := "AUTO", []string{}
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "--type="):
			typ = strings.TrimPrefix(a, "--type=")
		case strings.HasPrefix(a, "--"):
		case a == "*":
			dbs = append(dbs, f.dbs...)
		default:
			dbs = append(dbs, a)
		}
	}
	failed := false
	for _, db := range dbs {
		*f.clock = f.clock.Add(30 * time.Second)
		if db == f.failDB {
			failed = true
			continue
		}
		var last *fakeArt
		for _, a := range f.arts {
			if a.db == db && (last == nil || a.at.After(last.at)) {
				a := a
				last = &a
			}
		}
		art := fakeArt{db: db, id: "id-" + db, at: *f.clock, full: typ == "FULL" || last == nil, lo: 1, hi: f.tx[db]}
		if !art.full {
			prevHi := last.hi
			for _, a := range f.arts { // the chain's highest transaction
				if a.db == db && a.hi > prevHi {
					prevHi = a.hi
				}
			}
			art.lo = prevHi + 1
			if art.lo > art.hi {
				art.lo, art.hi = 0, 0 // empty differential
			}
		}
		art.recover = art.full
		key := backup.Prefix + db + "-" + art.at.Format(backup.NameTimeLayout) + ".backup"
		// with a checksum, as neo4j-admin's AWS SDK for Java sends by default (a bucket with
		// Object Lock takes no upload without one)
		if _, err := f.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(key),
			Body: bytes.NewReader(bytes.Repeat([]byte("b"), int(100+art.hi))), ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32}); err != nil {
			f.t.Fatal(err)
		}
		f.arts[path.Base(key)] = art
	}
	if failed {
		return 1, fmt.Errorf("neo4j-admin exited with 1")
	}
	return 0, nil
}

func (f *fakeAdmin) inspect(ctx context.Context, args []string, stdout io.Writer) (int, error) {
	showMeta := backup.MetadataByDefault(f.version) || slices.Contains(args, "--show-metadata")
	if slices.Contains(args, "--show-metadata") && f.version == "2026.01.0" {
		fmt.Fprintln(stdout, "Unknown option: '--show-metadata'")
		return 2, fmt.Errorf("neo4j-admin exited with 2")
	}
	recovered := !strings.HasPrefix(f.version, "5.")
	header := "| FILE |"
	if showMeta {
		header = "| FILE | DATABASE | DATABASE ID | TIME (UTC) | FULL | COMPRESSED | LOWEST TX | HIGHEST TX |"
		if recovered {
			header += " RECOVERED |"
		}
	}
	fmt.Fprintln(stdout, header)
	out, err := f.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(f.bucket), Prefix: aws.String(backup.Prefix), Delimiter: aws.String("/")})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, o := range out.Contents {
		name := path.Base(aws.ToString(o.Key))
		a, ok := f.arts[name]
		if !ok || (!slices.Contains(args, "--empty") && !a.full && a.hi == 0) {
			continue
		}
		row := fmt.Sprintf("| s3://%s/%s |", f.bucket, aws.ToString(o.Key))
		if showMeta {
			row += fmt.Sprintf(" %s | %s | %s | %t | true | %d | %d |", a.db, a.id, a.at.Format("2006-01-02T15:04:05"), a.full, a.lo, a.hi)
			if recovered {
				row += fmt.Sprintf(" %t |", a.recover)
			}
		}
		fmt.Fprintln(stdout, row)
	}
	return 0, nil
}

func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// check plays `neo4j-admin database check --from-path=DIR`: like the real one it refuses a
// differential or an unrecovered full backup (no report), finds the corrupt artifact
// inconsistent (a report file, exit 1), and passes the rest.
func (f *fakeAdmin) check(args []string, stdout io.Writer) (int, error) {
	files, _ := filepath.Glob(filepath.Join(flagValue(args, "--from-path"), "*.backup"))
	if len(files) != 1 {
		fmt.Fprintf(stdout, "fake check: want one artifact, found %d\n", len(files))
		return 1, fmt.Errorf("neo4j-admin exited with 1")
	}
	a := f.arts[filepath.Base(files[0])]
	if !a.full || !a.recover {
		fmt.Fprintln(stdout, "Consistency check is not supported for differential backups or unrecovered full backups")
		return 1, fmt.Errorf("neo4j-admin exited with 1")
	}
	if filepath.Base(files[0]) == f.corrupt {
		os.WriteFile(filepath.Join(flagValue(args, "--report-path"), "inconsistencies-2026-11-26.04.00.00.report"), []byte("ERROR: node 42 ..."), 0o600)
		return 1, fmt.Errorf("neo4j-admin exited with 1")
	}
	return 0, nil
}

// aggregate plays `backup aggregate --from-path=DIR/LAST.backup`: the chain in DIR becomes
// one recovered full artifact (the old ones removed, as --keep-old-backup=false does).
func (f *fakeAdmin) aggregate(args []string) (int, error) {
	last := flagValue(args, "--from-path")
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(last), "*.backup"))
	for _, p := range files {
		os.Remove(p)
	}
	a := f.arts[filepath.Base(last)]
	name := "aggregated-" + filepath.Base(last)
	os.WriteFile(filepath.Join(filepath.Dir(last), name), []byte("aggregated"), 0o600)
	f.arts[name] = fakeArt{db: a.db, id: a.id, at: a.at, full: true, lo: 1, hi: a.hi, recover: true}
	return 0, nil
}

// backupBed is a moto bucket (versioned, like the cluster bucket) with the fake neo4j-admin.
func backupBed(t *testing.T, version string) (*fakeAdmin, map[string]string, backup.Store) {
	t.Helper()
	ctx := context.Background()
	cfg, _ := testbed.SharedMoto(t).IsolatedConfig(ctx, "eu-west-1")
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := "bk-" + strings.ToLower(rand.Text()[:10])
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	f := &fakeAdmin{t: t, s3: client, bucket: bucket, version: version, clock: &clock,
		dbs: []string{"neo4j", "system"}, tx: map[string]int64{"neo4j": 40, "system": 12}, arts: map[string]fakeArt{}}
	env := map[string]string{
		naming.EnvBackupFrom: "replica.ns:6362,core-1.ns:6362", naming.EnvBackupTo: "s3://" + bucket + "/backups/",
		naming.EnvScratchDir: t.TempDir(), "NEO4J_HOME": "/var/lib/neo4j", naming.EnvNeo4jVersion: version,
	}
	return f, env, backup.Store{S3: client, Bucket: bucket}
}

func runBackup(t *testing.T, f *fakeAdmin, env map[string]string, typ string) (int, BackupReport) {
	t.Helper()
	var stdout bytes.Buffer
	code := Backup(context.Background(), BackupOptions{Env: MapEnv(env), Type: typ, Stdout: &stdout, Stderr: io.Discard,
		S3: f.s3, Command: f.run, Now: func() time.Time { *f.clock = f.clock.Add(time.Second); return *f.clock }})
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("stdout is not one JSON line: %q", stdout.String())
	}
	var r BackupReport
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatal(err)
	}
	return code, r
}

// TestBackupRecordsManifests, on each Neo4j line: the first run makes fulls, the next one
// differentials of the same chains and, with no new transactions, empty differentials; each
// run's artifacts land in the manifests with their run, type, size and transaction range;
// an artifact made before manifests existed is recorded from inspect, marked as such.
func TestBackupRecordsManifests(t *testing.T) {
	for _, version := range []string{"5.26.30", "2025.06.1", "2025.10.1"} {
		t.Run(version, func(t *testing.T) {
			ctx := context.Background()
			f, env, store := backupBed(t, version)
			// a backup made by hand before neo4jctl wrote manifests
			f.backup(ctx, []string{"--type=FULL", "neo4j"})
			legacy := backup.Prefix + "neo4j-" + f.clock.Format(backup.NameTimeLayout) + ".backup"
			f.tx["neo4j"] = 50

			code, r := runBackup(t, f, env, "")
			if code != 0 || r.Backup != "ok" || len(r.Artifacts) != 2 || r.RecordError != "" {
				t.Fatalf("first run: exit %d %+v", code, r)
			}
			inspect := f.calls[len(f.calls)-1]
			if slices.Contains(inspect, "--show-metadata") == backup.MetadataByDefault(version) || !slices.Contains(inspect, "--empty") {
				t.Errorf("inspect argv %q on %s", inspect, version)
			}
			m, _, err := store.ReadManifest(ctx, "neo4j")
			if err != nil || len(m.Artifacts) != 2 {
				t.Fatalf("neo4j manifest %+v %v", m, err)
			}
			old, diff := m.Artifacts[0], m.Artifacts[1]
			if old.Key != legacy || old.Origin != backup.OriginInspect || old.Run != nil || old.Type != backup.TypeFull {
				t.Errorf("legacy artifact recorded as %+v", old)
			}
			if diff.Origin != backup.OriginBackup || diff.Type != backup.TypeDiff || diff.LowestTx != 41 || diff.HighestTx != 50 ||
				diff.Chain != backup.ArtifactName(legacy) || diff.Neo4jVersion != version || diff.SizeBytes != 150 ||
				diff.Run == nil || diff.Run.Databases != 2 || diff.Run.DurationSeconds <= 0 {
				t.Errorf("this run's differential recorded as %+v run %+v", diff, diff.Run)
			}
			if (diff.Recovered != nil) == strings.HasPrefix(version, "5.") {
				t.Errorf("RECOVERED on %s: %v", version, diff.Recovered)
			}
			sys, _, _ := store.ReadManifest(ctx, "system")
			if len(sys.Artifacts) != 1 || sys.Artifacts[0].Type != backup.TypeFull || sys.Artifacts[0].HighestTx != 12 {
				t.Errorf("system manifest %+v", sys.Artifacts)
			}
			var neo ReportArtifact
			for _, a := range r.Artifacts {
				if a.Database == "neo4j" {
					neo = a
				}
			}
			if neo.Key != diff.Key || neo.Type != backup.TypeDiff || neo.Chain != diff.Chain || neo.HighestTx != 50 {
				t.Errorf("report artifact %+v", neo)
			}

			// nothing new: empty differentials, recorded in the same chains
			code, r = runBackup(t, f, env, "")
			if code != 0 || len(r.Artifacts) != 2 || r.Artifacts[0].LowestTx != 0 || r.Artifacts[0].HighestTx != 0 {
				t.Fatalf("second run: %+v", r)
			}
			cat, err := store.Load(ctx, 0)
			if err != nil || len(cat) != 2 || len(cat[0].Chains) != 1 || len(cat[0].Chains[0].Artifacts) != 3 || cat[0].Newest == nil || len(cat[0].Unrecorded) != 0 {
				t.Fatalf("catalog %+v %v", cat, err)
			}
		})
	}
}

// TestBackupSkipsWhileAnotherRuns: a live lock makes a run skip without calling
// neo4j-admin, exit 0 and say who holds it; the holder's lease lapsing lets the next run in.
func TestBackupSkipsWhileAnotherRuns(t *testing.T) {
	ctx := context.Background()
	f, env, store := backupBed(t, "5.26.30")
	other, _, err := store.AcquireLock(ctx, backup.LockInfo{Owner: "arn:aws:ecs:eu-west-1:1:task/c/abc", Purpose: "backup FULL"}, *f.clock, 15*time.Minute)
	if err != nil || other == nil {
		t.Fatal(err)
	}
	code, r := runBackup(t, f, env, "")
	if code != 0 || r.Backup != "skipped" || !strings.Contains(r.Skipped, "task/c/abc") || len(f.calls) != 0 {
		t.Fatalf("exit %d %+v calls %q", code, r, f.calls)
	}
	*f.clock = f.clock.Add(20 * time.Minute) // the holder died: its lease ran out
	code, r = runBackup(t, f, env, "")
	if code != 0 || r.Backup != "ok" || !strings.Contains(r.TookOver, "task/c/abc") {
		t.Fatalf("after the lease: exit %d %+v", code, r)
	}
	// the run released the lock: the next one gets it without a takeover
	if _, r = runBackup(t, f, env, ""); r.Backup != "ok" || r.TookOver != "" {
		t.Fatalf("after a release: %+v", r)
	}
}

// TestBackupRetention: after a successful run, whole chains older than the window go (from
// S3 and from the manifest); a failed run deletes nothing but still records what it made.
func TestBackupRetention(t *testing.T) {
	ctx := context.Background()
	f, env, store := backupBed(t, "2025.10.1")
	env[naming.EnvBackupRetentionDays] = "7"
	day := func(typ string) BackupReport {
		_, r := runBackup(t, f, env, typ)
		*f.clock = f.clock.Add(24 * time.Hour)
		f.tx["neo4j"] += 5
		return r
	}
	day("FULL") // chain A, day 0
	day("")     // A
	day("FULL") // chain B, day 2
	for i := 0; i < 6; i++ {
		if r := day(""); len(r.Pruned) != 0 { // B, days 3..8: A is still needed
			t.Fatalf("pruned %q while chain A restores the window's start", r.Pruned)
		}
	}
	// day 9: A is due (B's full is 7 days old), but this run fails for system
	f.failDB = "system"
	code, r := runBackup(t, f, env, "")
	if code == 0 || r.Backup != "failed" || len(r.Pruned) != 0 || len(r.Artifacts) != 1 || r.Artifacts[0].Database != "neo4j" {
		t.Fatalf("failed run: exit %d %+v", code, r)
	}
	f.failDB = ""
	code, r = runBackup(t, f, env, "") // a good run: chain A goes, both databases
	if code != 0 || len(r.Pruned) != 4 || r.PruneError != "" || r.PruneRefused != nil {
		t.Fatalf("retention run: exit %d %+v", code, r)
	}
	cat, _ := store.Load(ctx, 7)
	for _, d := range cat {
		for _, c := range d.Chains {
			if !c.Start.After(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("%s: chain %s of day 0 still listed", d.Name, c.ID)
			}
		}
		if len(d.Missing) != 0 || len(d.Unrecorded) != 0 {
			t.Errorf("%s: missing %v unrecorded %v", d.Name, d.Missing, d.Unrecorded)
		}
	}
	for _, k := range r.Pruned {
		if _, err := store.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(store.Bucket), Key: aws.String(k)}); err == nil {
			t.Errorf("%s still in the bucket", k)
		}
	}
}

// TestBackupInspectFallback: the image is another line than the config says; the runner
// retries inspect with the other form instead of failing to record.
func TestBackupInspectFallback(t *testing.T) {
	for _, tc := range []struct{ image, config string }{{"5.26.30", "2025.10.1"}, {"2026.01.0", "5.26.30"}} {
		f, env, _ := backupBed(t, tc.image)
		env[naming.EnvNeo4jVersion] = tc.config
		if code, r := runBackup(t, f, env, ""); code != 0 || r.RecordError != "" || len(r.Artifacts) != 2 {
			t.Errorf("image %s, config %s: exit %d %+v", tc.image, tc.config, code, r)
		}
	}
}

func TestBackupSettings(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		typ  string
		want string
	}{
		{map[string]string{}, "", "must be set"},
		{map[string]string{naming.EnvBackupFrom: "a:6362", naming.EnvBackupTo: "s3://b/backups/"}, "INCREMENTAL", "want FULL, DIFF or AUTO"},
		{map[string]string{naming.EnvBackupFrom: "a:6362", naming.EnvBackupTo: "s3://b/backups/", naming.EnvBackupRetentionDays: "x"}, "", "number of days"},
		{map[string]string{naming.EnvBackupFrom: "a:6362", naming.EnvBackupTo: "s3://b/elsewhere/"}, "", "backups go to s3://<bucket>/backups/"},
	} {
		var stdout bytes.Buffer
		code := Backup(context.Background(), BackupOptions{Env: MapEnv(tc.env), Type: tc.typ, Stdout: &stdout, Stderr: io.Discard,
			Command: func(context.Context, []string, io.Writer, io.Writer) (int, error) {
				t.Fatal("ran neo4j-admin")
				return 0, nil
			}})
		var r BackupReport
		json.Unmarshal(stdout.Bytes(), &r)
		if code != 1 || r.Backup != "failed" || !strings.Contains(r.Error, tc.want) {
			t.Errorf("%v: exit %d %+v", tc.env, code, r)
		}
	}
}

func runVerify(t *testing.T, f *fakeAdmin, env map[string]string, target string) (int, VerifyReport) {
	t.Helper()
	env[naming.EnvVerifyTarget] = target
	var stdout bytes.Buffer
	code := Verify(context.Background(), VerifyOptions{Env: MapEnv(env), Stdout: &stdout, Stderr: io.Discard, S3: f.s3, Command: f.run,
		Now: func() time.Time { *f.clock = f.clock.Add(time.Second); return *f.clock }})
	var r VerifyReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("%q: %v", stdout.String(), err)
	}
	return code, r
}

// TestVerify: the weekly target checks each database's newest full backup; "newest"
// aggregates a differential's chain first (the checker refuses differentials); an
// inconsistent artifact keeps its report in the bucket; every verdict lands in the manifest.
func TestVerify(t *testing.T) {
	for _, version := range []string{"5.26.30", "2025.10.1"} {
		t.Run(version, func(t *testing.T) {
			ctx := context.Background()
			f, env, store := backupBed(t, version)
			runBackup(t, f, env, "FULL")
			f.tx["neo4j"] += 10
			runBackup(t, f, env, "")
			f.calls = nil

			code, r := runVerify(t, f, env, naming.VerifyNewestFull)
			if code != 0 || r.Verify != "ok" || len(r.Results) != 2 {
				t.Fatalf("newest-full: exit %d %+v", code, r)
			}
			for _, c := range f.calls {
				if c[1] != "database" || c[2] != "check" {
					t.Errorf("a recovered full backup needs no aggregation: %q", c)
				}
			}
			m, _, _ := store.ReadManifest(ctx, "neo4j")
			if v := m.Artifacts[0].Verified; m.Artifacts[0].Type != backup.TypeFull || v == nil || v.Verdict != backup.VerdictConsistent || v.Neo4jVersion != version {
				t.Fatalf("neo4j full not recorded as verified: %+v", m.Artifacts[0])
			}

			f.calls = nil
			code, r = runVerify(t, f, env, naming.VerifyNewest)
			if code != 0 || len(r.Results) != 2 || r.Results[0].Type != backup.TypeDiff {
				t.Fatalf("newest: exit %d %+v", code, r)
			}
			want := "backup aggregate"
			if strings.HasPrefix(version, "5.") {
				want = "database aggregate-backup"
			}
			if strings.Join(f.calls[0][1:3], " ") != want {
				t.Errorf("aggregation on %s: %q", version, f.calls[0])
			}

			f.corrupt = path.Base(m.Artifacts[0].Key)
			code, r = runVerify(t, f, env, m.Artifacts[0].Key)
			if code != 1 || r.Verify != "failed" || len(r.Results) != 1 || r.Results[0].Verdict != backup.VerdictInconsistent {
				t.Fatalf("corrupt: exit %d %+v", code, r)
			}
			rep := r.Results[0].Report
			obj, err := f.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(rep)})
			if err != nil || rep != backup.ReportKey(f.corrupt) {
				t.Fatalf("report %q: %v", rep, err)
			}
			obj.Body.Close()
			m, _, _ = store.ReadManifest(ctx, "neo4j")
			if v := m.Artifacts[0].Verified; v == nil || v.Verdict != backup.VerdictInconsistent || v.Report != rep {
				t.Errorf("inconsistent verdict not recorded: %+v", v)
			}
			if code, r = runVerify(t, f, env, "neo4j-2020-01-01T00-00-00"); code != 1 || !strings.Contains(r.Error, "no recorded backup neo4j-2020-01-01T00-00-00") {
				t.Errorf("unknown artifact: exit %d %+v", code, r)
			}
		})
	}
}
