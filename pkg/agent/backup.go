package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// BackupOptions configure one backup run.
type BackupOptions struct {
	Env    Env
	Type   string    // FULL | DIFF | AUTO; default NEO4JCTL_BACKUP_TYPE, else AUTO
	Stdout io.Writer // the one JSON report line
	Stderr io.Writer // neo4j-admin's own output
	// Command runs neo4j-admin (tests replace it); default exec of NeoAdmin(env).
	Command func(ctx context.Context, argv []string, stdout, stderr io.Writer) (exitCode int, err error)
	Now     func() time.Time
	// Objects is the S3 for retention (default from the task role when retention is set).
	Objects ObjectStore
}

// BackupReport is the JSON line a backup run prints on stdout.
type BackupReport struct {
	Event           string   `json:"event"`  // "neo4jctl.backup"
	Backup          string   `json:"backup"` // "ok" | "failed": read by the BackupFailed metric filter
	OK              bool     `json:"ok"`
	ExitCode        int      `json:"exitCode"`
	Error           string   `json:"error,omitempty"`
	From            string   `json:"from"`
	To              string   `json:"to"`
	Type            string   `json:"type"`
	Databases       []string `json:"databases"`
	Started         string   `json:"started"`
	Finished        string   `json:"finished"`
	DurationSeconds float64  `json:"durationSeconds"`
	// Retention: the artifacts deleted after a successful backup, or why pruning failed
	// (the backup itself still counts as ok).
	RetentionDays int      `json:"retentionDays,omitempty"`
	Pruned        []string `json:"pruned,omitempty"`
	PruneError    string   `json:"pruneError,omitempty"`
}

// BackupArgs is the neo4j-admin command line of a backup.
func BackupArgs(admin, from, to, typ, tempPath string, dbs []string) []string {
	argv := []string{admin, "database", "backup",
		"--from=" + from, "--to-path=" + to, "--type=" + typ, "--temp-path=" + tempPath}
	return append(argv, dbs...)
}

// Backup runs neo4j-admin database backup from the members in NEO4JCTL_BACKUP_FROM
// (secondaries first) to NEO4JCTL_BACKUP_TO, prints one JSON report line and returns the
// process exit code (non-zero on failure).
func Backup(ctx context.Context, o BackupOptions) int {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	env := o.Env
	dbs := splitList(env(naming.EnvBackupDatabases))
	if len(dbs) == 0 {
		dbs = []string{"*"}
	}
	r := BackupReport{Event: "neo4jctl.backup", From: env(naming.EnvBackupFrom), To: env(naming.EnvBackupTo), Type: "AUTO", Databases: dbs}
	typ := o.Type
	if typ == "" {
		typ = env(naming.EnvBackupType)
	}
	switch t := strings.ToUpper(typ); t {
	case "FULL", "DIFF", "AUTO":
		r.Type = t
	case "":
	default:
		r.Error = fmt.Sprintf("backup type %q: want FULL, DIFF or AUTO", typ)
	}
	if d := env(naming.EnvBackupRetentionDays); d != "" && r.Error == "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			r.Error = fmt.Sprintf("%s=%q: want a number of days", naming.EnvBackupRetentionDays, d)
		}
		r.RetentionDays = n
	}
	start := now()
	r.Started = start.UTC().Format(time.RFC3339)
	finish := func() int {
		end := now()
		r.Finished = end.UTC().Format(time.RFC3339)
		r.DurationSeconds = end.Sub(start).Round(time.Millisecond).Seconds()
		r.OK = r.Error == "" && r.ExitCode == 0
		r.Backup = "failed"
		if r.OK {
			r.Backup = "ok"
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
	if r.From == "" || r.To == "" {
		r.Error = fmt.Sprintf("%s and %s must be set", naming.EnvBackupFrom, naming.EnvBackupTo)
		return finish()
	}
	temp := filepath.Join(scratchDir(env), "neo4jctl-backup-tmp")
	if err := os.MkdirAll(temp, 0o700); err != nil {
		r.Error = "creating the backup temp directory: " + err.Error()
		return finish()
	}
	defer os.RemoveAll(temp)
	run := o.Command
	if run == nil {
		run = execCommand
	}
	code, err := run(ctx, BackupArgs(NeoAdmin(env), r.From, r.To, r.Type, temp, dbs), o.Stderr, o.Stderr)
	r.ExitCode = code
	if err != nil {
		r.Error = "running neo4j-admin database backup: " + err.Error()
	}
	if r.Error == "" && r.ExitCode == 0 && r.RetentionDays > 0 {
		r.Pruned, err = prune(ctx, o, r, run)
		if err != nil {
			r.PruneError = err.Error()
			fmt.Fprintln(o.Stderr, "neo4jctl-agent backup: retention:", err)
		}
	}
	return finish()
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

func prune(ctx context.Context, o BackupOptions, r BackupReport, run func(ctx context.Context, argv []string, stdout, stderr io.Writer) (int, error)) ([]string, error) {
	store := o.Objects
	if store == nil {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, err
		}
		store = S3Store{S3: s3.NewFromConfig(cfg)}
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	return Prune(ctx, PruneOptions{To: r.To, Days: r.RetentionDays, Now: now(), Objects: store,
		Inspect: func(ctx context.Context, to string) ([]byte, error) {
			var out bytes.Buffer
			code, err := run(ctx, []string{NeoAdmin(o.Env), "backup", "inspect", "--show-metadata", to}, &out, o.Stderr)
			if err == nil && code != 0 {
				err = fmt.Errorf("exit %d", code)
			}
			return out.Bytes(), err
		}})
}
