package ops

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// BackupVerifyOptions say what to check: named artifacts, else each database's newest full
// backup (Newest: its newest restorable point, a differential's chain aggregated first).
type BackupVerifyOptions struct {
	Artifacts []string // keys or file names, as `backup list` shows them
	Newest    bool
	Databases []string // limit newest(-full) to these
}

// VerifyRun is one verify task, and once it stopped, the verdicts recorded in the manifests.
type VerifyRun struct {
	Cluster   string    `json:"cluster"`
	Task      string    `json:"task"`
	TaskID    string    `json:"taskId"`
	Target    string    `json:"target"` // newest-full | newest | artifact keys
	Databases []string  `json:"databases,omitempty"`
	Started   time.Time `json:"started"`
	LogStream string    `json:"logStream"`
	Status    string    `json:"status"`

	Outcome  string          `json:"outcome,omitempty"` // ok | failed | unknown
	Reason   string          `json:"reason,omitempty"`
	Verdicts []VerifyVerdict `json:"verdicts,omitempty"`
}

// VerifyVerdict is the consistency check of one artifact, as its manifest records it.
type VerifyVerdict struct {
	Database string `json:"database"`
	Key      string `json:"key"`
	Type     string `json:"type"`
	backup.Verification
	Recorded bool `json:"recorded"` // false: only the task's report has it (the manifest write failed)
}

// VerifyStarted: the verify task runs.
type VerifyStarted struct{ Run *VerifyRun }

func (e VerifyStarted) String() string {
	return fmt.Sprintf("Started verify task %s (%s); its log: `neo4jctl logs %s --member backup --follow`", e.Run.TaskID, e.Run.Target, e.Run.Cluster)
}

// VerifyFailedError: a check found inconsistencies, could not run, or the task failed.
type VerifyFailedError struct{ Run *VerifyRun }

func (e *VerifyFailedError) Error() string {
	var bad []string
	for _, v := range e.Run.Verdicts {
		if v.Verdict != backup.VerdictConsistent {
			bad = append(bad, path.Base(v.Key)+" "+v.Verdict)
		}
	}
	msg := fmt.Sprintf("verify task %s %s", e.Run.TaskID, e.Run.Outcome)
	if len(bad) > 0 {
		msg += ": " + strings.Join(bad, ", ")
	} else if e.Run.Reason != "" {
		msg += ": " + e.Run.Reason
	}
	return msg + fmt.Sprintf("; its log: `neo4jctl logs %s --member backup --since 6h`", e.Run.Cluster)
}

// BackupVerify starts the verify task (the operations stack's BackupVerifyRunTask) and,
// with Wait, reports the verdicts the task recorded in the manifests.
type BackupVerify struct {
	*Cluster
	ECS          BackupTasks
	S3           backup.S3API
	Logs         LogEventsReader
	Clock        engine.Clock
	PollInterval time.Duration
	setup        *backupSetup
}

// NewBackupVerify is backup verify on the handle's clients.
func NewBackupVerify(c *Cluster) *BackupVerify {
	return &BackupVerify{Cluster: c, ECS: c.AWS.ECS, S3: c.AWS.S3, Logs: c.AWS.Logs}
}

func (v *BackupVerify) runner() taskRunner {
	return taskRunner{c: v.Cluster, ecs: v.ECS, logs: v.Logs, clock: wallClock(v.Clock), interval: v.PollInterval}
}

// Start checks that what is asked is in the catalog and can be checked, then starts the task.
func (v *BackupVerify) Start(ctx context.Context, o BackupVerifyOptions) (*VerifyRun, error) {
	setup, err := v.backupSetup(ctx)
	if err != nil {
		return nil, err
	}
	if setup.VerifyTask == "" {
		return nil, &BackupsOffError{Cluster: v.Name, What: "verify a backup"}
	}
	v.setup = setup
	run := &VerifyRun{Cluster: v.Name, Target: naming.VerifyNewestFull, Databases: o.Databases}
	if o.Newest {
		run.Target = naming.VerifyNewest
	}
	if len(o.Artifacts) > 0 {
		keys, err := v.recorded(ctx, o.Artifacts)
		if err != nil {
			return nil, err
		}
		run.Target = strings.Join(keys, ",")
	}
	env := map[string]string{naming.EnvVerifyTarget: run.Target}
	if len(o.Databases) > 0 {
		env[naming.EnvBackupDatabases] = strings.Join(o.Databases, ",")
	}
	t, err := v.runner().start(ctx, "verify", setup.VerifyTask, env)
	if err != nil {
		return nil, err
	}
	run.Task, run.TaskID, run.Status = aws.ToString(t.TaskArn), lastPart(aws.ToString(t.TaskArn)), aws.ToString(t.LastStatus)
	run.Started = wallClock(v.Clock).Now().UTC()
	run.LogStream = naming.LogStreamPrefixBackup + "/" + backup.ContainerName + "/" + run.TaskID
	v.emit(VerifyStarted{Run: run})
	return run, nil
}

// recorded finds each named artifact in the manifests (keys or file names, with or without
// .backup) and refuses what the task could not check: unknown, unrecorded, a broken chain.
func (v *BackupVerify) recorded(ctx context.Context, names []string) ([]string, error) {
	dbs, err := v.setup.store(v.S3).Load(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("reading the backup catalog: %w", err)
	}
	var keys []string
	for _, n := range names {
		key, why := findArtifact(dbs, n)
		if why != "" {
			return nil, fmt.Errorf("--artifact %s: %s (see `neo4jctl backup list %s`)", n, why, v.Name)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// findArtifact is the key of a recorded artifact named n, or why it cannot be checked.
func findArtifact(dbs []backup.Database, n string) (string, string) {
	want := backup.ArtifactName(n)
	for _, d := range dbs {
		for _, c := range d.Chains {
			for _, e := range c.Artifacts {
				if backup.ArtifactName(e.Key) != want {
					continue
				}
				if c.Broken != "" {
					return "", "its chain is broken (" + c.Broken + "): it cannot be restored, so not checked"
				}
				return e.Key, ""
			}
		}
		for _, e := range d.Unrecorded {
			if backup.ArtifactName(e.Key) == want {
				return "", "it is in no manifest yet (the next backup records it from neo4j-admin backup inspect)"
			}
		}
	}
	return "", "no such backup in the cluster bucket"
}

// Wait follows the task until it stops and reads the verdicts; anything but every check
// consistent is a VerifyFailedError.
func (v *BackupVerify) Wait(ctx context.Context, run *VerifyRun, timeout time.Duration) error {
	t, err := v.runner().wait(ctx, v.setup.ECSCluster, run.Task, "verify", timeout)
	run.Status = aws.ToString(t.LastStatus)
	if err != nil {
		return err
	}
	var rep struct {
		Verify, Error string
		Results       []VerifyVerdict
	}
	if !v.runner().report(ctx, v.setup.LogGroup, run.TaskID, "neo4jctl.verify", &rep) {
		run.Outcome, run.Reason = "unknown", "the task stopped ("+aws.ToString(t.StoppedReason)+") without a report in its log"
		return &VerifyFailedError{Run: run}
	}
	run.Outcome, run.Reason = rep.Verify, rep.Error
	dbs, err := v.setup.store(v.S3).Load(ctx, 0)
	if err != nil {
		return fmt.Errorf("reading the verdicts of verify task %s: %w", run.TaskID, err)
	}
	for _, r := range rep.Results {
		run.Verdicts = append(run.Verdicts, recordedVerdict(dbs, r))
	}
	if run.Outcome != "ok" {
		return &VerifyFailedError{Run: run}
	}
	return nil
}

// recordedVerdict is the verdict of the task's report as the manifest records it: the same
// check (same time) found there, else the report's own, marked unrecorded.
func recordedVerdict(dbs []backup.Database, r VerifyVerdict) VerifyVerdict {
	for _, d := range dbs {
		for _, c := range d.Chains {
			for _, e := range c.Artifacts {
				if e.Key == r.Key && e.Verified != nil && e.Verified.At.Equal(r.At) {
					r.Verification, r.Recorded = *e.Verified, true
					return r
				}
			}
		}
	}
	r.Recorded = false
	return r
}
