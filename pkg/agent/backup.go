package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// CommandFunc runs a program (neo4j-admin) and returns its exit code.
type CommandFunc func(ctx context.Context, argv []string, stdout, stderr io.Writer) (exitCode int, err error)

// BackupOptions configure one backup run.
type BackupOptions struct {
	Env    Env
	Type   string    // FULL | DIFF | AUTO; default NEO4JCTL_BACKUP_TYPE, else AUTO
	Stdout io.Writer // the one JSON report line
	Stderr io.Writer // neo4j-admin's own output and the runner's notes
	// Command runs neo4j-admin (tests replace it); default exec.
	Command CommandFunc
	Now     func() time.Time
	// S3 reads and writes the catalog (lock, manifests, retention); default from the task role.
	S3 backup.S3API
	// Locks tells retention which backups S3 Object Lock protects (default: with
	// NEO4JCTL_BACKUP_OBJECT_LOCK, HeadObject through S3).
	Locks ObjectLocks
	// Lease is how long the backup lock holds without renewal (default 15 minutes; renewed
	// every third of it while neo4j-admin runs).
	Lease time.Duration
}

// BackupReport is the JSON line a backup run prints on stdout. The log metric filters
// count backup=ok and backup=failed; a skipped run (another backup holds the lock) is
// neither.
type BackupReport struct {
	Event           string           `json:"event"`  // "neo4jctl.backup"
	Backup          string           `json:"backup"` // ok | failed | skipped
	OK              bool             `json:"ok"`
	ExitCode        int              `json:"exitCode"`
	Error           string           `json:"error,omitempty"`
	Skipped         string           `json:"skipped,omitempty"` // the lock holder a skipped run found
	Owner           string           `json:"owner,omitempty"`   // this run (ECS task ARN)
	TookOver        string           `json:"tookOverLock,omitempty"`
	From            string           `json:"from"`
	To              string           `json:"to"`
	Type            string           `json:"type"`
	Databases       []string         `json:"databases"`
	Started         string           `json:"started"`
	Finished        string           `json:"finished"`
	DurationSeconds float64          `json:"durationSeconds"`
	Artifacts       []ReportArtifact `json:"artifacts,omitempty"` // made by this run, from the manifests
	RecordError     string           `json:"recordError,omitempty"`
	// Retention: the artifacts deleted after a successful backup, what S3 or the catalog
	// refused (the backup itself still counts as ok).
	RetentionDays int               `json:"retentionDays,omitempty"`
	Pruned        []string          `json:"pruned,omitempty"`
	PruneError    string            `json:"pruneError,omitempty"`
	PruneRefused  map[string]string `json:"pruneRefused,omitempty"`
}

// ReportArtifact is one artifact a run made.
type ReportArtifact struct {
	Database  string `json:"database"`
	Key       string `json:"key"`
	Type      string `json:"type"`
	SizeBytes int64  `json:"sizeBytes"`
	LowestTx  int64  `json:"lowestTx"`
	HighestTx int64  `json:"highestTx"`
	Chain     string `json:"chain"`
}

// BackupArgs is the neo4j-admin command line of a backup; pageCache "" leaves neo4j-admin's
// default.
func BackupArgs(admin, from, to, typ, tempPath, pageCache string, dbs []string) []string {
	argv := []string{admin, "database", "backup",
		"--from=" + from, "--to-path=" + to, "--type=" + typ, "--temp-path=" + tempPath}
	if pageCache != "" {
		argv = append(argv, "--pagecache="+pageCache)
	}
	return append(argv, dbs...)
}

// Backup runs neo4j-admin database backup from the members in NEO4JCTL_BACKUP_FROM
// (secondaries first) to NEO4JCTL_BACKUP_TO under the backup lock, records what it made in
// the manifests, applies retention, prints one JSON report line and returns the exit code.
// A run that finds another backup holding the lock skips, says so and exits 0.
func Backup(ctx context.Context, o BackupOptions) int {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	env := o.Env
	r := BackupReport{Event: "neo4jctl.backup", From: env(naming.EnvBackupFrom), To: env(naming.EnvBackupTo), Type: "AUTO",
		Databases: splitList(env(naming.EnvBackupDatabases)), Owner: taskOwner(ctx, env)}
	if len(r.Databases) == 0 {
		r.Databases = []string{"*"}
	}
	r.Error = r.parseSettings(env, o.Type)
	start := now()
	r.Started = start.UTC().Format(time.RFC3339)
	finish := func() int {
		end := now()
		r.Finished = end.UTC().Format(time.RFC3339)
		r.DurationSeconds = end.Sub(start).Round(time.Millisecond).Seconds()
		r.OK = r.Error == "" && r.ExitCode == 0
		switch {
		case r.Skipped != "":
			r.Backup = "skipped"
		case r.OK:
			r.Backup = "ok"
		default:
			r.Backup = "failed"
		}
		b, _ := json.Marshal(r)
		fmt.Fprintln(o.Stdout, string(b))
		if r.OK {
			return 0
		}
		if r.ExitCode > 0 && r.ExitCode < 256 {
			return r.ExitCode
		}
		return 1
	}
	if r.Error != "" {
		return finish()
	}
	store, err := catalogStore(ctx, o.S3, r.To)
	if err != nil {
		r.Error = err.Error()
		return finish()
	}
	lease := o.Lease
	if lease <= 0 {
		lease = 15 * time.Minute
	}
	held, holder, err := store.AcquireLock(ctx, backup.LockInfo{Owner: r.Owner, Purpose: "backup " + r.Type, Databases: r.Databases}, now(), lease)
	switch {
	case err != nil:
		r.Error = "taking the backup lock: " + err.Error()
		return finish()
	case holder != nil:
		r.Skipped = "another backup is running: " + holder.Describe()
		fmt.Fprintln(o.Stderr, "neo4jctl-agent backup: skipped:", r.Skipped)
		return finish()
	}
	if held.TookOver != nil {
		r.TookOver = held.TookOver.Describe()
		fmt.Fprintln(o.Stderr, "neo4jctl-agent backup: took over an expired backup lock:", r.TookOver)
	}
	stopRenew := renewLease(ctx, held, now, lease, o.Stderr)
	defer func() {
		stopRenew()
		if err := held.Release(context.WithoutCancel(ctx), now()); err != nil {
			fmt.Fprintln(o.Stderr, "neo4jctl-agent backup: releasing the lock:", err)
		}
	}()
	r.run(ctx, o, store, now)
	return finish()
}

// parseSettings reads the type and retention; it returns what is wrong.
func (r *BackupReport) parseSettings(env Env, flagType string) string {
	typ := flagType
	if typ == "" {
		typ = env(naming.EnvBackupType)
	}
	switch t := strings.ToUpper(typ); t {
	case "FULL", "DIFF", "AUTO":
		r.Type = t
	case "":
	default:
		return fmt.Sprintf("backup type %q: want FULL, DIFF or AUTO", typ)
	}
	if d := env(naming.EnvBackupRetentionDays); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return fmt.Sprintf("%s=%q: want a number of days", naming.EnvBackupRetentionDays, d)
		}
		r.RetentionDays = n
	}
	if r.From == "" || r.To == "" {
		return fmt.Sprintf("%s and %s must be set", naming.EnvBackupFrom, naming.EnvBackupTo)
	}
	return ""
}

// run backs up, records and prunes, under the lock.
func (r *BackupReport) run(ctx context.Context, o BackupOptions, store backup.Store, now func() time.Time) {
	env := o.Env
	before, err := store.List(ctx)
	if err != nil {
		r.Error = err.Error()
		return
	}
	temp := filepath.Join(scratchDir(env), "neo4jctl-backup-tmp")
	if err := os.MkdirAll(temp, 0o700); err != nil {
		r.Error = "creating the backup temp directory: " + err.Error()
		return
	}
	defer os.RemoveAll(temp)
	run := o.Command
	if run == nil {
		run = execCommand
	}
	started := now()
	r.ExitCode, err = run(ctx, BackupArgs(NeoAdmin(env), r.From, r.To, r.Type, temp, env(naming.EnvBackupPageCache), r.Databases), o.Stderr, o.Stderr)
	if err != nil {
		r.Error = "running neo4j-admin database backup: " + err.Error()
	}
	// Record even after a failure: neo4j-admin goes on with the other databases when one
	// fails, and what it made is restorable.
	rec := recorder{store: store, version: env(naming.EnvNeo4jVersion), now: now, inspect: inspector(env, run, r.To, o.Stderr),
		locks: objectLocks(env, o, store)}
	made, err := rec.record(ctx, before, backup.Run{ID: runID(r.Owner, started), Type: r.Type, Started: started.UTC(), Finished: now().UTC()})
	r.Artifacts = made
	if err != nil {
		r.RecordError = err.Error()
		fmt.Fprintln(o.Stderr, "neo4jctl-agent backup: recording the artifacts:", err)
	}
	if r.Error == "" && r.ExitCode == 0 && r.RetentionDays > 0 {
		r.Pruned, r.PruneRefused, err = rec.prune(ctx, r.RetentionDays)
		if err != nil {
			r.PruneError = err.Error()
			fmt.Fprintln(o.Stderr, "neo4jctl-agent backup: retention:", err)
		}
	}
}

// renewLease renews the lock's lease every third of it until the returned stop is called.
func renewLease(ctx context.Context, l *backup.Lease, now func() time.Time, lease time.Duration, log io.Writer) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := l.Renew(ctx, now(), lease); err != nil {
					fmt.Fprintln(log, "neo4jctl-agent backup: renewing the backup lock:", err)
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// catalogStore is the catalog of the backup folder uri, which must be the cluster bucket's
// backups/ folder (the manifests and the lock live beside it).
func catalogStore(ctx context.Context, client backup.S3API, uri string) (backup.Store, error) {
	bucket, key, err := ParseS3URI(uri)
	if err != nil {
		return backup.Store{}, err
	}
	if strings.TrimSuffix(key, "/")+"/" != backup.Prefix {
		return backup.Store{}, fmt.Errorf("%s=%s: backups go to s3://<bucket>/%s", naming.EnvBackupTo, uri, backup.Prefix)
	}
	if client == nil {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return backup.Store{}, err
		}
		client = s3.NewFromConfig(cfg)
	}
	return backup.Store{S3: client, Bucket: bucket}, nil
}

// inspector runs neo4j-admin backup inspect over the folder with the flags of the Neo4j
// version, and once more with the other form when the first gives no metadata or fails
// (an image of another version than the config says).
func inspector(env Env, run CommandFunc, folder string, stderr io.Writer) func(ctx context.Context) ([]backup.InspectRow, error) {
	return func(ctx context.Context) ([]backup.InspectRow, error) {
		version := env(naming.EnvNeo4jVersion)
		first := backup.InspectArgs(NeoAdmin(env), version, folder)
		other := backup.InspectArgs(NeoAdmin(env), "5.26", folder)
		if !backup.MetadataByDefault(version) {
			other = backup.InspectArgs(NeoAdmin(env), "2025.07", folder)
		}
		var errs []error
		for _, argv := range [][]string{first, other} {
			var out bytes.Buffer
			code, err := run(ctx, argv, &out, stderr)
			if err == nil && code != 0 {
				err = fmt.Errorf("exit %d", code)
			}
			if err == nil {
				rows, perr := backup.ParseInspect(out.Bytes())
				if perr == nil {
					return rows, nil
				}
				err = perr
			}
			errs = append(errs, fmt.Errorf("%s: %w", strings.Join(argv[1:], " "), err))
		}
		return nil, errors.Join(errs...)
	}
}

// taskOwner names this run for the lock: the ECS task ARN from the task metadata endpoint,
// else host name and pid.
func taskOwner(ctx context.Context, env Env) string {
	if uri := env("ECS_CONTAINER_METADATA_URI_V4"); uri != "" {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, uri+"/task", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			defer resp.Body.Close()
			var t struct{ TaskARN string }
			if json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&t) == nil && t.TaskARN != "" {
				return t.TaskARN
			}
		}
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/pid-%d", host, os.Getpid())
}

// runID is the ECS task id, else the start time.
func runID(owner string, started time.Time) string {
	if strings.HasPrefix(owner, "arn:") {
		return path.Base(owner)
	}
	return started.UTC().Format(time.RFC3339)
}

// NeoAdmin is the neo4j-admin executable: $NEO4J_HOME/bin/neo4j-admin, else on PATH.
func NeoAdmin(env Env) string {
	if home := env("NEO4J_HOME"); home != "" {
		return filepath.Join(home, "bin", "neo4j-admin")
	}
	if p, err := exec.LookPath("neo4j-admin"); err == nil {
		return p
	}
	return "/var/lib/neo4j/bin/neo4j-admin"
}

func scratchDir(env Env) string {
	if d := env(naming.EnvScratchDir); d != "" {
		return d
	}
	return os.TempDir()
}

func execCommand(ctx context.Context, argv []string, stdout, stderr io.Writer) (int, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = 30 * time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), fmt.Errorf("%s exited with %d", filepath.Base(argv[0]), ee.ExitCode())
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
