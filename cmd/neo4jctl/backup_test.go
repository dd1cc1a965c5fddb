package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/agent"
	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// backupCluster creates examples/production.yaml (backups of every database, kept 30 days)
// in this moto account and returns the stacks' outputs.
func (a *motoAccount) backupCluster(name string) map[string]string {
	return a.backupClusterOf(name, "5.26.30")
}

// backupClusterOf is backupCluster on a Neo4j version; edits change the file.
func (a *motoAccount) backupClusterOf(name, version string, edits ...func(string) string) map[string]string {
	a.t.Helper()
	a.pushImage(naming.DefaultImageRepository, defaultImageTag(version))
	vpc, subnets := a.network("10.30", "a", "b", "c")
	doc := strings.Replace(readFile(a.t, productionConfig(a.t, vpc, subnets)), `version: "5.26.30"`, `version: "`+version+`"`, 1)
	for _, edit := range edits {
		doc = edit(doc)
	}
	if code, _, stderr := a.cli("", "create", "cluster", "-f", writeConfig(a.t, doc)); code != 0 {
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

// TestBackupListShowsTheCopyMoto (backup.copyTo): backup list finds the copy in the other
// region from the cluster bucket's replication and lists it there once: how many artifacts
// it holds, which it lacks and how many only it still holds. moto replicates as S3 does (at
// once instead of within minutes); a replication that failed is played by removing that
// copy, and a delete in the cluster bucket is not replicated.
func TestBackupListShowsTheCopyMoto(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	ctx := context.Background()
	name := "graph-prod"
	// what the user brings in the other region: a versioned bucket and a KMS key
	far := a.cfg.Copy()
	far.Region = "eu-central-1"
	s3far := s3.NewFromConfig(far, func(o *s3.Options) { o.UsePathStyle = true })
	dest := "graph-prod-dr-" + a.account
	if _, err := s3far.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(dest),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-central-1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3far.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(dest),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	key, err := kms.NewFromConfig(far).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("backup copies")})
	if err != nil {
		t.Fatal(err)
	}
	outputs := a.backupClusterOf(name, "5.26.30", func(doc string) string {
		return strings.Replace(doc, "  retention: {days: 30}\n", fmt.Sprintf("  retention: {days: 30}\n  copyTo: {region: eu-central-1, bucket: %s, kmsKeyARN: %q}\n",
			dest, aws.ToString(key.KeyMetadata.Arn)), 1)
	})
	bucket := outputs[stack.OutputBucketName]
	now := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	store := a.recordedBackups(bucket, now.Add(-2*time.Hour))
	failed := backup.Prefix + "malmo-2026-11-26T02-55-47.backup" // malmo's newest
	if _, err := s3far.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(dest), Key: aws.String(failed)}); err != nil {
		t.Fatal(err)
	}
	gone := backup.Prefix + "shop-2026-11-20T02-00-00.backup" // copied, then deleted here
	if _, err := store.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(gone), Body: strings.NewReader("old")}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.S3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket),
		Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String(gone)}}}}); err != nil {
		t.Fatal(err)
	}
	a.hooks.clock = engine.NewFakeClock(now, true)

	var cat ops.BackupCatalog
	code, js, stderr := a.cli("", "backup", "list", name, "-o", "json")
	if code != 0 || json.Unmarshal([]byte(js), &cat) != nil {
		t.Fatalf("list -o json: exit %d\n%s\n%s", code, js, stderr)
	}
	n := 0
	for _, d := range cat.Databases {
		for _, c := range d.Chains {
			n += len(c.Artifacts)
		}
		n += len(d.Unrecorded)
	}
	c := cat.Copy
	if c == nil || c.Bucket != dest || c.Region != "eu-central-1" || c.Folder != "s3://"+dest+"/backups/" || c.Error != "" {
		t.Fatalf("copy %+v", c)
	}
	if c.Copied != n-1 || len(c.NotCopied) != 1 || c.NotCopied[0] != failed || c.OnlyInCopy != 1 {
		t.Errorf("copy holds %d of %d, lacks %v, only there %d; want %d, [%s], 1", c.Copied, n, c.NotCopied, c.OnlyInCopy, n-1, failed)
	}
	code, stdout, stderr := a.cli("", "backup", "list", name)
	if code != 0 {
		t.Fatalf("list: exit %d\n%s", code, stderr)
	}
	mustContain(t, "list", squash(stdout), fmt.Sprintf("COPY s3://%s/backups/ in eu-central-1 (S3 replication): %d of %d artifacts copied (the others: "+
		"replication pending or failed, or made before it was set up); 1 more only there (deletes are not replicated)", dest, n-1, n),
		"malmo malmo-2026-11-26T02-55-47.backup full 2026-11-26 02:55:47Z 2h 9.0 MiB 1-8 - kept (newest chain) not in the copy in eu-central-1 (yet)\n",
		"london london-2026-11-26T02-58-14.backup full 2026-11-26 02:58:14Z 2h 6.0 MiB 1-5 - kept (newest chain)\n")

	// one database: its artifacts only
	var neo4j ops.BackupCatalog
	code, js, _ = a.cli("", "backup", "list", name, "--database", "neo4j", "-o", "json")
	if code != 0 || json.Unmarshal([]byte(js), &neo4j) != nil || neo4j.Copy == nil || len(neo4j.Copy.NotCopied) != 0 || neo4j.Copy.OnlyInCopy != 0 || neo4j.Copy.Copied != 1 {
		t.Errorf("--database neo4j: exit %d, copy %+v", code, neo4j.Copy)
	}
}

// runnerRecords plays the backup task's runner for task taskID: its artifacts in the bucket,
// recorded in the manifests with the run (as pkg/agent's recorder does from one backup
// inspect row each), and its JSON report as the last line of the task's log stream (as the
// awslogs driver ships the runner's stdout).
func (a *motoAccount) runnerRecords(store backup.Store, taskID string, started time.Time, rows []backup.InspectRow, report agent.BackupReport) {
	a.t.Helper()
	ctx := context.Background()
	run := backup.Run{ID: taskID, Type: report.Type, Started: started, Finished: started.Add(212400 * time.Millisecond), DurationSeconds: 212.4, Databases: len(rows)}
	for _, r := range rows {
		key := backup.Prefix + r.Database + "-" + r.Time.Format(backup.NameTimeLayout) + ".backup"
		size := int64(64<<20) + r.HighestTx*1024 // a full backup: the store
		if !r.Full {
			size = (r.HighestTx - r.LowestTx + 1) * 2048 // a differential: its transactions
		}
		if _, err := store.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(store.Bucket), Key: aws.String(key), Body: bytes.NewReader(make([]byte, size))}); err != nil {
			a.t.Fatal(err)
		}
		e := backup.EntryFromInspect(key, size, r, backup.OriginBackup)
		e.Neo4jVersion, e.Run = "5.26.30", &run
		if err := store.UpdateManifest(ctx, r.Database, func(m *backup.Manifest) error {
			m.Artifacts = append(m.Artifacts, e)
			return nil
		}, func() time.Time { return run.Finished }); err != nil {
			a.t.Fatal(err)
		}
		report.Artifacts = append(report.Artifacts, agent.ReportArtifact{Database: r.Database, Key: key, Type: e.Type, SizeBytes: size, LowestTx: r.LowestTx, HighestTx: r.HighestTx})
	}
	line, _ := json.Marshal(report)
	a.putLogs(naming.LogGroup("graph-prod"), naming.LogStreamPrefixBackup+"/"+backup.ContainerName+"/"+taskID, run.Finished,
		"neo4jctl-agent backup: Starting backup of database neo4j", string(line))
}

// putLogs writes events into a log stream of moto's CloudWatch Logs, one a millisecond from at.
func (a *motoAccount) putLogs(group, stream string, at time.Time, lines ...string) {
	a.t.Helper()
	ctx := context.Background()
	c := cloudwatchlogs.NewFromConfig(a.cfg)
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}); err != nil &&
		!strings.Contains(err.Error(), "ResourceAlreadyExists") {
		a.t.Fatal(err)
	}
	var events []cwltypes.InputLogEvent
	for i, l := range lines {
		events = append(events, cwltypes.InputLogEvent{Message: aws.String(l), Timestamp: aws.Int64(at.Add(time.Duration(i) * time.Millisecond).UnixMilli())})
	}
	if _, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: events}); err != nil {
		a.t.Fatal(err)
	}
}

// backupTasks are the account's backup tasks started by neo4jctl (RUNNING or STOPPED), as
// ECS describes them.
func (a *motoAccount) backupTasks(cluster string) []ecstypes.Task {
	a.t.Helper()
	ctx := context.Background()
	c := ecs.NewFromConfig(a.cfg)
	lt, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(naming.ECSCluster(cluster)), StartedBy: aws.String("neo4jctl")})
	if err != nil {
		a.t.Fatal(err)
	}
	if len(lt.TaskArns) == 0 {
		return nil
	}
	dt, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(naming.ECSCluster(cluster)), Tasks: lt.TaskArns})
	if err != nil {
		a.t.Fatal(err)
	}
	return dt.Tasks
}

func containerEnv(t ecstypes.Task) map[string]string {
	env := map[string]string{}
	if t.Overrides == nil {
		return env
	}
	for _, co := range t.Overrides.ContainerOverrides {
		if aws.ToString(co.Name) != backup.ContainerName {
			continue
		}
		for _, kv := range co.Environment {
			env[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
		}
	}
	return env
}

// holdTasks makes moto's ECS tasks stay RUNNING until stopped, for this test: by default
// moto moves a task one status on (DEACTIVATING, STOPPING, ... STOPPED) at each
// DescribeTasks. The setting is the moto server's, so it is undone when the test ends
// (the package's tests do not run in parallel).
func (a *motoAccount) holdTasks() {
	a.t.Helper()
	post := func(path, body string) {
		resp, err := http.Post(testbed.SharedMoto(a.t).Endpoint()+path, "application/json", strings.NewReader(body))
		if err != nil {
			a.t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			a.t.Fatalf("moto %s: %s", path, resp.Status)
		}
	}
	post("/moto-api/state-manager/set-transition", `{"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1000000}}`)
	a.t.Cleanup(func() { post("/moto-api/state-manager/unset-transition", `{"model_name": "ecs::task"}`) })
}

// TestBackupCreateMoto: backup create starts the operations stack's backup task in moto's
// ECS with the network and scratch volume of the schedule and the overrides asked for (read
// back with ListTasks/DescribeTasks and the task's network interface); refuses while a
// backup task runs or the lock is held, naming it; --wait follows the task until it stops
// and prints, per database, what the manifests say the run made.
func TestBackupCreateMoto(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	ctx := context.Background()
	name := "graph-prod"
	outputs := a.backupCluster(name)
	rec := a.recordRequests()
	a.holdTasks()

	code, stdout, stderr := a.cli("", "backup", "create", name, "--database", "neo4j,shop", "--type", "full")
	if code != 0 {
		t.Fatalf("backup create: exit %d\n%s", code, stderr)
	}
	tasks := a.backupTasks(name)
	if len(tasks) != 1 {
		t.Fatalf("%d backup tasks, want 1", len(tasks))
	}
	task := tasks[0]
	id := lastSegment(aws.ToString(task.TaskArn))
	mustContain(t, "create", squash(stdout), "TASK "+id, "TYPE FULL", "DATABASES neo4j, shop", "LOG STREAM backup/backup/"+id, "STATUS RUNNING")
	mustContain(t, "create progress", stderr, "Started backup task "+id+" (FULL of neo4j, shop)", "`neo4jctl logs graph-prod --member backup --follow`")
	// the task the schedule runs, with the overrides
	if aws.ToString(task.TaskDefinitionArn) != outputs[stack.OutputBackupTaskDefinition] || task.LaunchType != ecstypes.LaunchTypeFargate ||
		aws.ToString(task.PlatformVersion) != "LATEST" || aws.ToString(task.Group) != "family:"+naming.BackupFamilyFull(name) {
		t.Errorf("task: definition %s, launch %s, platform %s, group %s", aws.ToString(task.TaskDefinitionArn), task.LaunchType, aws.ToString(task.PlatformVersion), aws.ToString(task.Group))
	}
	if env := containerEnv(task); env[naming.EnvBackupType] != "FULL" || env[naming.EnvBackupDatabases] != "neo4j,shop" || len(env) != 2 {
		t.Errorf("overrides: %v", env)
	}
	// the network: moto gave the task an interface in the first private subnet, with the
	// backup security group
	enis, err := ec2.NewFromConfig(a.cfg).DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var taskENIs []ec2types.NetworkInterface
	for _, n := range enis.NetworkInterfaces {
		if aws.ToString(n.Description) == "moto ECS" {
			taskENIs = append(taskENIs, n)
		}
	}
	if len(taskENIs) != 1 {
		t.Fatalf("%d task interfaces, want 1", len(taskENIs))
	}
	eni := taskENIs[0]
	in, _ := backup.ParseRunTaskInput(outputs[stack.OutputBackupRunTask])
	subnets := in.NetworkConfiguration.AwsvpcConfiguration.Subnets
	if aws.ToString(eni.SubnetId) != subnets[0] || len(eni.Groups) != 1 || aws.ToString(eni.Groups[0].GroupId) != outputs[stack.OutputBackupSecurityGroup] {
		t.Errorf("task network: subnet %s groups %+v; want %s and %s", aws.ToString(eni.SubnetId), eni.Groups, subnets[0], outputs[stack.OutputBackupSecurityGroup])
	}
	// what moto does not keep: the request's scratch volume, subnets and public IP setting
	runs := rec.calls("RunTask")
	if len(runs) != 1 {
		t.Fatalf("%d RunTask calls", len(runs))
	}
	var sent ecs.RunTaskInput
	if err := json.Unmarshal([]byte(runs[0]), &sent); err != nil {
		t.Fatal(err)
	}
	vol := sent.VolumeConfigurations[0].ManagedEBSVolume
	if aws.ToInt32(vol.SizeInGiB) != 560 || aws.ToString(vol.KmsKeyId) != outputs[stack.OutputKMSKeyArn] || !aws.ToBool(vol.Encrypted) ||
		aws.ToString(vol.RoleArn) != outputs[stack.OutputECSInfrastructureRoleArn] {
		t.Errorf("scratch volume: %s", runs[0])
	}
	if net := sent.NetworkConfiguration.AwsvpcConfiguration; len(net.Subnets) != 3 || net.AssignPublicIp != ecstypes.AssignPublicIpDisabled {
		t.Errorf("network sent: %+v", net)
	}

	// one backup at a time: the running task refuses a second one
	code, _, stderr = a.cli("", "backup", "create", name)
	if code != exitFailed || len(a.backupTasks(name)) != 1 {
		t.Fatalf("second create while one runs: exit %d, %d tasks\n%s", code, len(a.backupTasks(name)), stderr)
	}
	mustContain(t, "overlap", stderr, "a backup is running already: task "+id+" ("+naming.BackupFamilyFull(name)+") started by neo4jctl", "One backup runs at a time")
	if _, err := ecs.NewFromConfig(a.cfg).StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(naming.ECSCluster(name)), Task: task.TaskArn}); err != nil {
		t.Fatal(err)
	}
	// ... and so does the runner's lock, held by a live lease (a backup of another tool's task)
	store := backup.Store{S3: s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = true }), Bucket: outputs[stack.OutputBucketName]}
	lease, _, err := store.AcquireLock(ctx, backup.LockInfo{Owner: "arn:aws:ecs:eu-west-1:" + a.account + ":task/neo4jctl-graph-prod/0f1e2d", Purpose: "backup AUTO", Databases: []string{"*"}}, time.Now(), 15*time.Minute)
	if err != nil || lease == nil {
		t.Fatal(err)
	}
	code, _, stderr = a.cli("", "backup", "create", name)
	mustContain(t, "lock", stderr, "a backup is running already: backup AUTO by arn:aws:ecs:eu-west-1:"+a.account+":task/neo4jctl-graph-prod/0f1e2d since ", "(databases [*]), lease until")
	if code != exitFailed || len(a.backupTasks(name)) != 1 {
		t.Fatalf("create while the lock is held: exit %d", code)
	}
	if err := lease.Release(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}

	// --wait: the CLI follows the task; the "runner" records two artifacts and its report,
	// then the task stops
	a.hooks.pollInterval = 20 * time.Millisecond
	done := a.cliAsync("backup", "create", name, "--all", "--wait", "-o", "json")
	waited := a.runningTask(name, naming.BackupFamilyFull(name), done)
	wid := lastSegment(aws.ToString(waited.TaskArn))
	if env := containerEnv(waited); env[naming.EnvBackupType] != "AUTO" || env[naming.EnvBackupDatabases] != "*" {
		t.Errorf("--all overrides: %v", env)
	}
	at := time.Now().UTC().Truncate(time.Second)
	a.runnerRecords(store, wid, at, []backup.InspectRow{
		{Database: "neo4j", DatabaseID: "7dcb1d0c", Time: at.Add(5 * time.Second), Full: true, LowestTx: 1, HighestTx: 48213},
		{Database: "system", DatabaseID: "00000000", Time: at.Add(90 * time.Second), Full: true, LowestTx: 1, HighestTx: 312},
	}, agent.BackupReport{Event: "neo4jctl.backup", Backup: "ok", OK: true, Type: "AUTO", Databases: []string{"*"}, DurationSeconds: 212.4})
	if _, err := ecs.NewFromConfig(a.cfg).StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(naming.ECSCluster(name)), Task: waited.TaskArn, Reason: aws.String("Essential container in task exited")}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.code != 0 {
		t.Fatalf("create --wait: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var got ops.BackupRun
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("create --wait -o json: %v\n%s", err, r.stdout)
	}
	if got.TaskID != wid || got.Outcome != "ok" || got.DurationSeconds != 212.4 || len(got.Artifacts) != 2 || got.Status != "STOPPED" {
		t.Fatalf("create --wait: %+v", got)
	}
	if a0 := got.Artifacts[0]; a0.Database != "neo4j" || a0.Type != "full" || a0.LowestTx != 1 || a0.HighestTx != 48213 || a0.SizeBytes != 64<<20+48213*1024 || a0.Chain == "" {
		t.Errorf("neo4j artifact: %+v", a0)
	}
	mustContain(t, "wait progress", r.stderr, "task "+wid+" RUNNING", "task "+wid+" STOPPED", "Done: backup task "+wid+" made 2 artifacts.")
}

func lastSegment(s string) string { return s[strings.LastIndex(s, "/")+1:] }

// cliAsync runs the CLI in the background; the result comes on the channel.
func (a *motoAccount) cliAsync(args ...string) <-chan cliResult {
	done := make(chan cliResult, 1)
	go func() {
		code, stdout, stderr := a.cli("", args...)
		done <- cliResult{code, stdout, stderr}
	}()
	return done
}

type cliResult struct {
	code           int
	stdout, stderr string
}

// runningTask waits for a RUNNING task of the family that the background CLI run started.
func (a *motoAccount) runningTask(cluster, family string, done <-chan cliResult) ecstypes.Task {
	a.t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		for _, tk := range a.backupTasks(cluster) {
			if aws.ToString(tk.LastStatus) == "RUNNING" && aws.ToString(tk.Group) == "family:"+family {
				return tk
			}
		}
		select {
		case r := <-done:
			a.t.Fatalf("the CLI ended before its task ran: exit %d\n%s", r.code, r.stderr)
		default:
		}
		if time.Now().After(deadline) {
			a.t.Fatal("no task started")
		}
	}
}

// verifies plays the verify task's runner: the verdict of each key recorded in its
// manifest, the report line in the task's log stream; then the task stops.
func (a *motoAccount) verifies(store backup.Store, task ecstypes.Task, target string, verdicts map[string]backup.Verification) {
	a.t.Helper()
	ctx := context.Background()
	id := lastSegment(aws.ToString(task.TaskArn))
	rep := agent.VerifyReport{Event: "neo4jctl.verify", Verify: "ok", Target: target, Started: time.Now().UTC().Format(time.RFC3339)}
	for key, v := range verdicts {
		db, _, _ := backup.ParseName(key)
		if err := store.UpdateManifest(ctx, db, func(m *backup.Manifest) error {
			if e := m.Find(key); e != nil {
				e.Verified = &v
			}
			return nil
		}, time.Now); err != nil {
			a.t.Fatal(err)
		}
		rep.Results = append(rep.Results, agent.VerifyResult{Database: db, Key: key, Type: backup.TypeFull, Verification: v})
		if v.Verdict != backup.VerdictConsistent {
			rep.Verify = "failed"
		}
	}
	line, _ := json.Marshal(rep)
	a.putLogs(naming.LogGroup("graph-prod"), naming.LogStreamPrefixBackup+"/"+backup.ContainerName+"/"+id, time.Now(), string(line))
	if _, err := ecs.NewFromConfig(a.cfg).StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(naming.ECSCluster("graph-prod")), Task: task.TaskArn}); err != nil {
		a.t.Fatal(err)
	}
}

// TestBackupVerifyMoto: backup verify refuses what the task could not check before starting
// it, starts the verify task with the target as an override, and reports the verdicts the
// task recorded in the manifests (which backup list then shows); an inconsistent backup
// fails the command.
func TestBackupVerifyMoto(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	name := "graph-prod"
	outputs := a.backupCluster(name)
	a.holdTasks()
	a.hooks.pollInterval = 20 * time.Millisecond
	now := time.Now().UTC().Truncate(time.Second)
	store := a.recordedBackups(outputs[stack.OutputBucketName], now.Add(-time.Hour))
	if _, err := store.S3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(store.Bucket),
		Key: aws.String(backup.Prefix + "shop-2026-11-20T02-00-00.backup"), Body: strings.NewReader("old")}); err != nil {
		t.Fatal(err)
	}
	for arg, want := range map[string]string{
		"nope-2026-01-01T00-00-00.backup": "no such backup in the cluster bucket",
		"shop-2026-11-20T02-00-00":        "it is in no manifest yet",
	} {
		code, _, stderr := a.cli("", "backup", "verify", name, "--artifact", arg)
		if code != exitFailed || !strings.Contains(stderr, "--artifact "+arg+": "+want) {
			t.Errorf("verify --artifact %s: exit %d\n%s", arg, code, stderr)
		}
	}
	if n := len(a.backupTasks(name)); n != 0 {
		t.Fatalf("refused verifies started %d tasks", n)
	}

	// one differential, by name: the task checks its chain and records a consistent verdict
	diff := backup.Prefix + "malmo-" + now.Add(-time.Hour).Add(-4*time.Minute-53*time.Second).Format(backup.NameTimeLayout) + ".backup"
	done := a.cliAsync("backup", "verify", name, "--artifact", path.Base(diff))
	task := a.runningTask(name, naming.BackupFamilyVerify(name), done)
	if env := containerEnv(task); env[naming.EnvVerifyTarget] != diff || len(env) != 1 {
		t.Fatalf("verify overrides: %v (want target %s)", env, diff)
	}
	ok := backup.Verification{Verdict: backup.VerdictConsistent, At: now, Neo4jVersion: "2025.10.1", DurationSeconds: 1840.2}
	a.verifies(store, task, diff, map[string]backup.Verification{diff: ok})
	r := <-done
	if r.code != 0 {
		t.Fatalf("verify: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "verify", squash(r.stdout), "OUTCOME ok", path.Base(diff)+" full consistent "+stamp(now)+" 30m40s yes")
	mustContain(t, "verify progress", r.stderr, "Done: 1 backups consistent.")
	_, list, _ := a.cli("", "backup", "list", name, "--database", "malmo")
	mustContain(t, "list after verify", squash(list), path.Base(diff)+" diff ", "consistent "+now.Format("2006-01-02"))

	// the default: each database's newest full; one is inconsistent
	done = a.cliAsync("backup", "verify", name, "-o", "json")
	task = a.runningTask(name, naming.BackupFamilyVerify(name), done)
	if env := containerEnv(task); env[naming.EnvVerifyTarget] != naming.VerifyNewestFull {
		t.Fatalf("default verify overrides: %v", env)
	}
	london := backup.Prefix + "london-" + now.Add(-time.Hour).Add(-106*time.Second).Format(backup.NameTimeLayout) + ".backup"
	bad := backup.Verification{Verdict: backup.VerdictInconsistent, At: now, DurationSeconds: 12, Report: backup.ReportKey(path.Base(london))}
	a.verifies(store, task, naming.VerifyNewestFull, map[string]backup.Verification{london: bad})
	r = <-done
	var got ops.VerifyRun
	if r.code != exitFailed || json.Unmarshal([]byte(r.stdout), &got) != nil {
		t.Fatalf("inconsistent verify: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got.Outcome != "failed" || len(got.Verdicts) != 1 || got.Verdicts[0].Verdict != backup.VerdictInconsistent || !got.Verdicts[0].Recorded || got.Verdicts[0].Report == "" {
		t.Errorf("inconsistent verify: %+v", got)
	}
	mustContain(t, "inconsistent verify", r.stderr, "verify task "+got.TaskID+" failed: "+path.Base(london)+" inconsistent")
}
