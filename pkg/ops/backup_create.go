package ops

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// BackupCreateOptions say what to back up. The zero value is what the schedule's
// differential run does: AUTO (a full backup where a database has no chain yet) of
// backup.databases.
type BackupCreateOptions struct {
	Databases []string // empty: backup.databases of the cluster; ["*"]: every database
	Type      string   // full | diff | auto (default auto)
}

// BackupRun is one backup task started by `backup create`, and once it stopped, what it
// did: per database the artifact it made, from the manifests the task wrote.
type BackupRun struct {
	Cluster   string    `json:"cluster"`
	Task      string    `json:"task"` // ECS task ARN
	TaskID    string    `json:"taskId"`
	Type      string    `json:"type"`      // FULL | DIFF | AUTO
	Databases []string  `json:"databases"` // as asked; empty: backup.databases
	Started   time.Time `json:"started"`
	LogStream string    `json:"logStream"` // in the cluster's log group
	Status    string    `json:"status"`    // the task's last status

	// After the task stopped (--wait):
	Outcome         string           `json:"outcome,omitempty"` // ok | failed | skipped | unknown
	Reason          string           `json:"reason,omitempty"`  // why it failed or skipped
	ExitCode        *int32           `json:"exitCode,omitempty"`
	DurationSeconds float64          `json:"durationSeconds,omitempty"` // the neo4j-admin run, all databases
	Artifacts       []BackupArtifact `json:"artifacts,omitempty"`
}

// BackupArtifact is an artifact a run made, as its manifest records it.
type BackupArtifact struct {
	Database  string    `json:"database"`
	Key       string    `json:"key"`
	Type      string    `json:"type"` // full | diff
	Time      time.Time `json:"time"`
	SizeBytes int64     `json:"sizeBytes"`
	LowestTx  int64     `json:"lowestTx"`
	HighestTx int64     `json:"highestTx"` // 0..0: nothing changed since the last backup
	Chain     string    `json:"chain"`
}

// BackupStarted: the backup task runs.
type BackupStarted struct{ Run *BackupRun }

func (e BackupStarted) String() string {
	dbs := "backup.databases"
	if len(e.Run.Databases) > 0 {
		dbs = strings.Join(e.Run.Databases, ", ")
	}
	return fmt.Sprintf("Started backup task %s (%s of %s); its log: `neo4jctl logs %s --member backup --follow`",
		e.Run.TaskID, e.Run.Type, dbs, e.Run.Cluster)
}

// BackupRunningError: a backup runs already; one at a time (the runner's lock).
type BackupRunningError struct {
	Cluster string
	Holder  string // who holds the backup lock, or which backup task runs
}

func (e *BackupRunningError) Error() string {
	return fmt.Sprintf("a backup is running already: %s. One backup runs at a time; follow it with `neo4jctl logs %s --member backup --follow`, its artifacts appear in `neo4jctl backup list %s`",
		e.Holder, e.Cluster, e.Cluster)
}

// BackupFailedError: the task stopped without a backup.
type BackupFailedError struct{ Run *BackupRun }

func (e *BackupFailedError) Error() string {
	return fmt.Sprintf("backup task %s %s: %s; its log: `neo4jctl logs %s --member backup --since 6h`",
		e.Run.TaskID, e.Run.Outcome, e.Run.Reason, e.Run.Cluster)
}

// BackupCreate starts the backup task the schedule runs, with overrides, after checking
// that no backup runs; Wait follows it and reads what it made.
type BackupCreate struct {
	*Cluster
	ECS          BackupTasks
	S3           backup.S3API
	Logs         LogEventsReader
	Clock        engine.Clock  // nil: the wall clock
	PollInterval time.Duration // how often Wait asks ECS (default 10s)
	setup        *backupSetup
}

// NewBackupCreate is backup create on the handle's clients.
func NewBackupCreate(c *Cluster) *BackupCreate {
	return &BackupCreate{Cluster: c, ECS: c.AWS.ECS, S3: c.AWS.S3, Logs: c.AWS.Logs}
}

var databaseName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// Validate checks the options before anything is asked of AWS.
func (o BackupCreateOptions) Validate() error {
	switch strings.ToLower(o.Type) {
	case "", "full", "diff", "auto":
	default:
		return fmt.Errorf("--type %q: use full, diff or auto", o.Type)
	}
	for _, db := range o.Databases {
		if db != "*" && !databaseName.MatchString(db) {
			return fmt.Errorf("--database %q is not a database name (letters, digits, dots, dashes, underscores)", db)
		}
	}
	return nil
}

// Start refuses while a backup runs, then starts the backup task.
func (b *BackupCreate) Start(ctx context.Context, o BackupCreateOptions) (*BackupRun, error) {
	setup, err := b.backupSetup(ctx)
	if err != nil {
		return nil, err
	}
	if setup.RunTask == "" {
		return nil, &BackupsOffError{Cluster: b.Name, What: "make a backup"}
	}
	b.setup = setup
	if err := b.checkNoBackup(ctx, setup); err != nil {
		return nil, err
	}
	run := &BackupRun{Cluster: b.Name, Type: strings.ToUpper(o.Type), Databases: o.Databases}
	if run.Type == "" {
		run.Type = "AUTO"
	}
	env := map[string]string{naming.EnvBackupType: run.Type}
	if len(o.Databases) > 0 {
		env[naming.EnvBackupDatabases] = strings.Join(o.Databases, ",")
	}
	t, err := b.runner().start(ctx, "backup", setup.RunTask, env)
	if err != nil {
		return nil, err
	}
	run.Task, run.TaskID, run.Status = aws.ToString(t.TaskArn), lastPart(aws.ToString(t.TaskArn)), aws.ToString(t.LastStatus)
	run.Started = wallClock(b.Clock).Now().UTC()
	run.LogStream = naming.LogStreamPrefixBackup + "/" + backup.ContainerName + "/" + run.TaskID
	b.emit(BackupStarted{Run: run})
	return run, nil
}

func (b *BackupCreate) runner() taskRunner {
	return taskRunner{c: b.Cluster, ecs: b.ECS, logs: b.Logs, clock: wallClock(b.Clock), interval: b.PollInterval}
}

// checkNoBackup is the no-overlap rule: the runner's lock held by a live lease, or a backup
// task already running (it may not have taken the lock yet), refuses.
func (b *BackupCreate) checkNoBackup(ctx context.Context, setup *backupSetup) error {
	holder, err := setup.store(b.S3).ReadLock(ctx, wallClock(b.Clock).Now())
	if err != nil {
		return fmt.Errorf("reading the backup lock: %w", err)
	}
	if holder != nil {
		return &BackupRunningError{Cluster: b.Name, Holder: holder.Describe()}
	}
	for _, family := range []string{naming.BackupFamilyFull(b.Name), naming.BackupFamilyDiff(b.Name)} {
		lt, err := b.ECS.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(setup.ECSCluster), Family: aws.String(family),
			DesiredStatus: ecstypes.DesiredStatusRunning})
		if err != nil {
			return fmt.Errorf("looking for running backup tasks: %w", err)
		}
		if len(lt.TaskArns) > 0 {
			return &BackupRunningError{Cluster: b.Name, Holder: b.describeRunning(ctx, setup, lt.TaskArns[0], family)}
		}
	}
	return nil
}

// describeRunning names a running backup task: its id, who started it and when.
func (b *BackupCreate) describeRunning(ctx context.Context, setup *backupSetup, arn, family string) string {
	s := fmt.Sprintf("task %s (%s)", lastPart(arn), family)
	out, err := b.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(setup.ECSCluster), Tasks: []string{arn}})
	if err != nil || len(out.Tasks) == 0 {
		return s
	}
	t := out.Tasks[0]
	if by := aws.ToString(t.StartedBy); by != "" {
		s += " started by " + by
	}
	if t.CreatedAt != nil {
		s += " at " + t.CreatedAt.UTC().Format(time.RFC3339)
	}
	return s + ", " + strings.ToLower(aws.ToString(t.LastStatus))
}

// Wait follows the task until it stops (timeout 0: as long as it takes) and fills in what
// it did; a run that made no backup is a BackupFailedError.
func (b *BackupCreate) Wait(ctx context.Context, run *BackupRun, timeout time.Duration) error {
	t, err := b.runner().wait(ctx, b.setup.ECSCluster, run.Task, "backup", timeout)
	run.Status = aws.ToString(t.LastStatus)
	if err != nil {
		return err
	}
	run.ExitCode = exitCode(t)
	b.outcome(ctx, run, t)
	if err := b.artifacts(ctx, run); err != nil {
		return err
	}
	if run.Outcome != "ok" {
		return &BackupFailedError{Run: run}
	}
	return nil
}

// outcome reads the verdict from the runner's report line, else from ECS.
func (b *BackupCreate) outcome(ctx context.Context, run *BackupRun, t ecstypes.Task) {
	var rep struct {
		Backup, Error, Skipped, RecordError string
		DurationSeconds                     float64
	}
	if b.runner().report(ctx, b.setup.LogGroup, run.TaskID, "neo4jctl.backup", &rep) {
		run.Outcome, run.DurationSeconds = rep.Backup, rep.DurationSeconds
		run.Reason = strings.Join(nonEmpty(rep.Skipped, rep.Error, rep.RecordError), "; ")
		return
	}
	reason := aws.ToString(t.StoppedReason)
	switch code := run.ExitCode; {
	case code != nil && *code == 0:
		run.Outcome = "ok"
	case code != nil:
		run.Outcome, run.Reason = "failed", strings.TrimSpace(fmt.Sprintf("the backup container exited with %d. %s", *code, reason))
	default:
		run.Outcome, run.Reason = "unknown", "the task stopped ("+reason+") without a report in its log"
	}
}

// artifacts are the manifest entries the run recorded (their run id is the task id).
func (b *BackupCreate) artifacts(ctx context.Context, run *BackupRun) error {
	dbs, err := b.setup.store(b.S3).Load(ctx, 0)
	if err != nil {
		return fmt.Errorf("reading what backup task %s made: %w", run.TaskID, err)
	}
	for _, d := range dbs {
		for _, c := range d.Chains {
			for _, e := range c.Artifacts {
				if e.Run != nil && e.Run.ID == run.TaskID {
					run.Artifacts = append(run.Artifacts, BackupArtifact{Database: d.Name, Key: e.Key, Type: e.Type, Time: e.Time,
						SizeBytes: e.SizeBytes, LowestTx: e.LowestTx, HighestTx: e.HighestTx, Chain: e.Chain})
					if run.DurationSeconds == 0 {
						run.DurationSeconds = e.Run.DurationSeconds
					}
				}
			}
		}
	}
	return nil
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}
