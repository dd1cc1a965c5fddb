package ops

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

var backupNow = time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)

// recordRun records artifacts of run id in the manifests, as the backup runner does.
func recordRun(t *testing.T, s3 *memS3, id string, es ...backup.Entry) {
	t.Helper()
	store := backup.Store{S3: s3, Bucket: "bucket-1"}
	for _, e := range es {
		s3.objects[e.Key] = make([]byte, e.SizeBytes)
		e.Run = &backup.Run{ID: id, Type: "AUTO", DurationSeconds: 212.4, Databases: len(es)}
		db, _, _ := backup.ParseName(e.Key)
		if err := store.UpdateManifest(context.Background(), db, func(m *backup.Manifest) error {
			m.Artifacts = append(m.Artifacts, e)
			return nil
		}, func() time.Time { return backupNow }); err != nil {
			t.Fatal(err)
		}
	}
}

func newBackupCreate(f *fakeEngine, tasks *fakeTasks, s3 *memS3, logs *fakeLogs, ev Events) *BackupCreate {
	return &BackupCreate{Cluster: &Cluster{Name: "graph-dev", Region: "eu-west-1", Stacks: f, Events: ev}, ECS: tasks, S3: s3, Logs: logs,
		Clock: engine.NewFakeClock(backupNow, true), PollInterval: 10 * time.Second}
}

// TestBackupCreateRefusesWhileABackupRuns: the runner's live lease, then a running backup
// task that has not taken the lock yet, each refuse with who it is; nothing is started.
func TestBackupCreateRefusesWhileABackupRuns(t *testing.T) {
	s3 := newMemS3()
	store := backup.Store{S3: s3, Bucket: "bucket-1"}
	lease, _, err := store.AcquireLock(context.Background(), backup.LockInfo{Owner: "arn:aws:ecs:eu-west-1:1:task/c/abc", Purpose: "backup FULL"}, backupNow.Add(-time.Minute), 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tasks := &fakeTasks{}
	b := newBackupCreate(backupCluster("graph-dev"), tasks, s3, nil, nil)
	_, err = b.Start(context.Background(), BackupCreateOptions{})
	var running *BackupRunningError
	if !errors.As(err, &running) || !strings.Contains(err.Error(), "backup FULL by arn:aws:ecs:eu-west-1:1:task/c/abc since 2026-11-26T04:59:00Z") ||
		!strings.Contains(err.Error(), "`neo4jctl logs graph-dev --member backup --follow`") {
		t.Fatalf("with the lock held: %v", err)
	}
	if err := lease.Release(context.Background(), backupNow); err != nil {
		t.Fatal(err)
	}
	created := backupNow.Add(-30 * time.Second)
	tasks.running = map[string]ecstypes.Task{naming.BackupFamilyDiff("graph-dev"): {TaskArn: aws.String("arn:aws:ecs:eu-west-1:1:task/c/sched1"),
		StartedBy: aws.String("neo4jctl-schedule"), CreatedAt: &created, LastStatus: aws.String("PROVISIONING")}}
	_, err = b.Start(context.Background(), BackupCreateOptions{})
	if !errors.As(err, &running) || !strings.Contains(err.Error(), "task sched1 (neo4jctl-graph-dev-backup-differential) started by neo4jctl-schedule at 2026-11-26T04:59:30Z, provisioning") {
		t.Fatalf("with a task running: %v", err)
	}
	if len(tasks.runs) != 0 {
		t.Fatalf("%d tasks started while a backup ran", len(tasks.runs))
	}
}

// TestBackupCreateWaits: the task started with the overrides, followed to STOPPED with each
// status reported; the outcome from the runner's report line, the artifacts from the
// manifests (only this run's).
func TestBackupCreateWaits(t *testing.T) {
	s3 := newMemS3()
	tasks := &fakeTasks{statuses: []string{"PROVISIONING", "PROVISIONING", "RUNNING", "RUNNING", "DEPROVISIONING", "STOPPED"}, exitCode: aws.Int32(0)}
	logs := &fakeLogs{streams: map[string][]string{}}
	rec := &recorder{}
	b := newBackupCreate(backupCluster("graph-dev"), tasks, s3, logs, rec)
	run, err := b.Start(context.Background(), BackupCreateOptions{Databases: []string{"neo4j", "shop"}, Type: "full"})
	if err != nil {
		t.Fatal(err)
	}
	sent := tasks.runs[0]
	env := map[string]string{}
	for _, kv := range sent.Overrides.ContainerOverrides[0].Environment {
		env[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
	}
	if env[naming.EnvBackupType] != "FULL" || env[naming.EnvBackupDatabases] != "neo4j,shop" || aws.ToString(sent.Overrides.ContainerOverrides[0].Name) != backup.ContainerName ||
		sent.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups[0] != "sg-backup" || aws.ToInt32(sent.VolumeConfigurations[0].ManagedEBSVolume.SizeInGiB) != 120 {
		t.Fatalf("RunTask: %+v env %v", sent, env)
	}
	recordRun(t, s3, "task0-earlier", backup.Entry{Key: backup.Prefix + "neo4j-2026-11-25T02-00-00.backup", Time: backupNow.Add(-27 * time.Hour), Type: backup.TypeFull, LowestTx: 1, HighestTx: 40000, SizeBytes: 10})
	recordRun(t, s3, run.TaskID,
		backup.Entry{Key: backup.Prefix + "neo4j-2026-11-26T05-00-10.backup", Time: backupNow.Add(10 * time.Second), Type: backup.TypeFull, LowestTx: 1, HighestTx: 48213, SizeBytes: 4096},
		backup.Entry{Key: backup.Prefix + "shop-2026-11-26T05-01-40.backup", Time: backupNow.Add(100 * time.Second), Type: backup.TypeFull, LowestTx: 1, HighestTx: 12, SizeBytes: 512})
	report, _ := json.Marshal(map[string]any{"event": "neo4jctl.backup", "backup": "ok", "durationSeconds": 212.4})
	logs.streams["backup/backup/"+run.TaskID] = []string{"neo4j-admin output", string(report), "neo4jctl-agent backup: releasing the lock: ..."}
	if err := b.Wait(context.Background(), run, time.Hour); err != nil {
		t.Fatal(err)
	}
	if run.Outcome != "ok" || run.DurationSeconds != 212.4 || len(run.Artifacts) != 2 || run.Artifacts[0].HighestTx != 48213 || run.Artifacts[1].Database != "shop" {
		t.Fatalf("run: %+v", run)
	}
	got := strings.Join(rec.lines(), "\n")
	for _, want := range []string{"Started backup task task1 (FULL of neo4j, shop)", "[00:00] task task1 PROVISIONING", "[00:20] task task1 RUNNING",
		"[00:40] task task1 DEPROVISIONING", "[00:50] task task1 STOPPED"} {
		if !strings.Contains(got, want) {
			t.Errorf("events lack %q:\n%s", want, got)
		}
	}
}

// TestBackupCreateOutcomes: a skipped run, a failed container without a report, a timeout,
// a task ECS would not start.
func TestBackupCreateOutcomes(t *testing.T) {
	ctx := context.Background()
	// the runner found the lock taken after create's check: skipped, an error
	tasks := &fakeTasks{statuses: []string{"STOPPED"}, exitCode: aws.Int32(0)}
	logs := &fakeLogs{streams: map[string][]string{"backup/backup/task1": {`{"event":"neo4jctl.backup","backup":"skipped","skipped":"another backup is running: backup AUTO by task/x"}`}}}
	b := newBackupCreate(backupCluster("graph-dev"), tasks, newMemS3(), logs, nil)
	run, _ := b.Start(ctx, BackupCreateOptions{})
	var failed *BackupFailedError
	if err := b.Wait(ctx, run, 0); !errors.As(err, &failed) || run.Outcome != "skipped" || !strings.Contains(err.Error(), "skipped: another backup is running: backup AUTO by task/x") {
		t.Errorf("skipped: %v %+v", err, run)
	}
	// no report, the container exited 137
	tasks = &fakeTasks{statuses: []string{"STOPPED"}, exitCode: aws.Int32(137)}
	b = newBackupCreate(backupCluster("graph-dev"), tasks, newMemS3(), &fakeLogs{}, nil)
	run, _ = b.Start(ctx, BackupCreateOptions{})
	if err := b.Wait(ctx, run, 0); !errors.As(err, &failed) || run.Outcome != "failed" || !strings.Contains(run.Reason, "exited with 137") {
		t.Errorf("exit 137: %v %+v", err, run)
	}
	// still running when the time is up: the task goes on
	tasks = &fakeTasks{statuses: []string{"RUNNING"}}
	b = newBackupCreate(backupCluster("graph-dev"), tasks, newMemS3(), &fakeLogs{}, nil)
	run, _ = b.Start(ctx, BackupCreateOptions{})
	var still *TaskStillRunningError
	if err := b.Wait(ctx, run, time.Hour); !errors.As(err, &still) || !strings.Contains(err.Error(), "backup task task1 is still running after 1h0m0s and goes on") {
		t.Errorf("timeout: %v", err)
	}
	// ECS refuses
	tasks = &fakeTasks{failures: []ecstypes.Failure{{Reason: aws.String("RESOURCE:ENI"), Detail: aws.String("no free addresses in subnet-1")}}}
	b = newBackupCreate(backupCluster("graph-dev"), tasks, newMemS3(), nil, nil)
	if _, err := b.Start(ctx, BackupCreateOptions{}); err == nil || err.Error() != "ECS did not start the backup task: RESOURCE:ENI no free addresses in subnet-1" {
		t.Errorf("refused: %v", err)
	}
	// bad options are found before AWS is asked
	if err := (BackupCreateOptions{Type: "incremental"}).Validate(); err == nil || !strings.Contains(err.Error(), "use full, diff or auto") {
		t.Errorf("type: %v", err)
	}
	if err := (BackupCreateOptions{Databases: []string{"neo4j,shop"}}).Validate(); err == nil {
		t.Error("a comma in a database name passed")
	}
	// backups off: no task in the operations stack
	f := backupCluster("graph-dev")
	delete(f.stacks["neo4jctl-graph-dev-operations"].Outputs, "BackupRunTask")
	b = newBackupCreate(f, &fakeTasks{}, newMemS3(), nil, nil)
	var off *BackupsOffError
	if _, err := b.Start(ctx, BackupCreateOptions{}); !errors.As(err, &off) {
		t.Errorf("backups off: %v", err)
	}
}

// TestBackupListReadsRetentionFromTheTask: the retention the runner applies is the backup
// task's own setting; a cluster without a backup task lists with retention unknown.
func TestBackupListReadsRetentionFromTheTask(t *testing.T) {
	s3 := newMemS3()
	recordRun(t, s3, "r1",
		backup.Entry{Key: backup.Prefix + "neo4j-2026-11-01T02-00-00.backup", Time: backupNow.AddDate(0, 0, -25), Type: backup.TypeFull, LowestTx: 1, HighestTx: 10},
		backup.Entry{Key: backup.Prefix + "neo4j-2026-11-20T02-00-00.backup", Time: backupNow.AddDate(0, 0, -6), Type: backup.TypeFull, LowestTx: 1, HighestTx: 20})
	l := &BackupList{Cluster: &Cluster{Name: "graph-dev", Stacks: backupCluster("graph-dev")}, S3: s3, TaskDefs: &fakeTasks{retention: "14"}, Clock: engine.NewFakeClock(backupNow, true)}
	cat, err := l.Execute(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if cat.RetentionDays != 14 || !cat.RetentionKnown || len(cat.Databases) != 1 || !cat.ListedAt.Equal(backupNow) {
		t.Fatalf("catalog: %+v", cat)
	}
	if exp := cat.Databases[0].Chains[1].ExpiresAt; exp == nil || !exp.Equal(time.Date(2026, 12, 4, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("oldest chain expires %v", exp)
	}
	for _, k := range s3.gets {
		if !strings.HasPrefix(k, backup.ManifestPrefix) {
			t.Errorf("list read %s", k)
		}
	}
	f := backupCluster("graph-dev")
	delete(f.stacks["neo4jctl-graph-dev-operations"].Outputs, "BackupTaskDefinition")
	l.Stacks = f
	if cat, err := l.Execute(context.Background(), ""); err != nil || cat.RetentionKnown || cat.RetentionDays != 0 {
		t.Errorf("without a backup task: %+v %v", cat, err)
	}
	var none *NoBackupsError
	if _, err := l.Execute(context.Background(), "shop"); !errors.As(err, &none) || !strings.Contains(err.Error(), "(backed up: neo4j)") {
		t.Errorf("unknown database: %v", err)
	}
}

// TestBackupVerifyRefusesWhatCannotBeChecked: artifacts of broken chains and unrecorded ones
// are refused before a task starts; a named artifact goes to the task as its key.
func TestBackupVerifyRefusesWhatCannotBeChecked(t *testing.T) {
	s3 := newMemS3()
	recordRun(t, s3, "r1",
		backup.Entry{Key: backup.Prefix + "neo4j-2026-11-25T02-00-00.backup", Time: backupNow.Add(-27 * time.Hour), Type: backup.TypeFull, LowestTx: 1, HighestTx: 10},
		backup.Entry{Key: backup.Prefix + "neo4j-2026-11-25T03-00-00.backup", Time: backupNow.Add(-26 * time.Hour), Type: backup.TypeDiff, LowestTx: 15, HighestTx: 20})
	s3.objects[backup.Prefix+"shop-2026-01-01T00-00-00.backup"] = []byte("x")
	tasks := &fakeTasks{statuses: []string{"RUNNING"}}
	v := &BackupVerify{Cluster: &Cluster{Name: "graph-dev", Stacks: backupCluster("graph-dev")}, ECS: tasks, S3: s3, Clock: engine.NewFakeClock(backupNow, true)}
	for name, want := range map[string]string{
		"neo4j-2026-11-25T03-00-00":       "its chain is broken (transactions 11 to 14 missing before it)",
		"shop-2026-01-01T00-00-00.backup": "it is in no manifest yet",
		"neo4j-2020-01-01T00-00-00":       "no such backup",
	} {
		if _, err := v.Start(context.Background(), BackupVerifyOptions{Artifacts: []string{name}}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(tasks.runs) != 0 {
		t.Fatal("a refused verify started a task")
	}
	run, err := v.Start(context.Background(), BackupVerifyOptions{Artifacts: []string{"neo4j-2026-11-25T02-00-00.backup"}})
	if err != nil || run.Target != backup.Prefix+"neo4j-2026-11-25T02-00-00.backup" {
		t.Fatalf("%+v %v", run, err)
	}
	env := tasks.runs[0].Overrides.ContainerOverrides[0].Environment
	if len(env) != 1 || aws.ToString(env[0].Name) != naming.EnvVerifyTarget || aws.ToString(env[0].Value) != run.Target {
		t.Errorf("verify overrides: %+v", env)
	}
}
