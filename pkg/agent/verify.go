package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// VerifyOptions configure one verify run: a consistency check (neo4j-admin database check)
// of backup artifacts, each downloaded to the task's scratch volume, its verdict recorded in
// the manifest.
type VerifyOptions struct {
	Env     Env
	Stdout  io.Writer // the one JSON report line
	Stderr  io.Writer
	Command CommandFunc
	Now     func() time.Time
	S3      backup.S3API
}

// VerifyReport is the JSON line a verify run prints; the VerifyFailed metric filter counts
// verify=failed.
type VerifyReport struct {
	Event           string         `json:"event"`  // "neo4jctl.verify"
	Verify          string         `json:"verify"` // ok | failed
	Error           string         `json:"error,omitempty"`
	Target          string         `json:"target"`
	Results         []VerifyResult `json:"results"`
	Started         string         `json:"started"`
	DurationSeconds float64        `json:"durationSeconds"`
}

// VerifyResult is the verdict on one artifact.
type VerifyResult struct {
	Database string `json:"database"`
	Key      string `json:"key"`
	Type     string `json:"type"`
	backup.Verification
}

// Verify checks the artifacts NEO4JCTL_VERIFY_TARGET names (default: each database's
// newest full backup) and returns the exit code: 0 when every one is consistent.
func Verify(ctx context.Context, o VerifyOptions) int {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	env := o.Env
	start := now()
	r := VerifyReport{Event: "neo4jctl.verify", Target: env(naming.EnvVerifyTarget), Started: start.UTC().Format(time.RFC3339)}
	if r.Target == "" {
		r.Target = naming.VerifyNewestFull
	}
	r.Error = r.verify(ctx, o, now)
	r.DurationSeconds = now().Sub(start).Round(time.Millisecond).Seconds()
	r.Verify = "ok"
	if r.Error != "" || len(r.Results) == 0 {
		r.Verify = "failed"
	}
	for _, res := range r.Results {
		if res.Verdict != backup.VerdictConsistent {
			r.Verify = "failed"
		}
	}
	b, _ := json.Marshal(r)
	fmt.Fprintln(o.Stdout, string(b))
	if r.Verify == "ok" {
		return 0
	}
	return 1
}

func (r *VerifyReport) verify(ctx context.Context, o VerifyOptions, now func() time.Time) string {
	env := o.Env
	store, err := catalogStore(ctx, o.S3, env(naming.EnvBackupTo))
	if err != nil {
		return err.Error()
	}
	cat, err := store.Load(ctx, 0)
	if err != nil {
		return err.Error()
	}
	targets, err := verifyTargets(cat, r.Target, splitList(env(naming.EnvBackupDatabases)))
	if err != nil {
		return err.Error()
	}
	run := o.Command
	if run == nil {
		run = execCommand
	}
	c := checker{env: env, run: run, store: store, stderr: o.Stderr, now: now}
	for _, t := range targets {
		v := c.check(ctx, t)
		fmt.Fprintf(o.Stderr, "neo4jctl-agent verify: %s: %s %s\n", t.entry.Key, v.Verdict, v.Message)
		r.Results = append(r.Results, VerifyResult{Database: t.database, Key: t.entry.Key, Type: t.entry.Type, Verification: v})
		key := t.entry.Key
		if err := store.UpdateManifest(ctx, t.database, func(m *backup.Manifest) error {
			if e := m.Find(key); e != nil {
				e.Verified = &v
			}
			return nil
		}, now); err != nil {
			return "recording the verdict of " + key + ": " + err.Error()
		}
	}
	return ""
}

// verifyTarget is an artifact to check with the chain up to it.
type verifyTarget struct {
	database string
	entry    backup.Entry
	chain    []backup.Entry // the chain's artifacts up to and including entry
}

// verifyTargets picks what to check: newest-full (each database's newest whole chain's full
// backup), newest (each database's newest restorable point), or artifact keys or names.
func verifyTargets(cat []backup.Database, target string, dbs []string) ([]verifyTarget, error) {
	all := len(dbs) == 0 || (len(dbs) == 1 && dbs[0] == "*")
	var out []verifyTarget
	wanted := map[string]bool{}
	if target != naming.VerifyNewestFull && target != naming.VerifyNewest {
		for _, k := range splitList(target) {
			wanted[strings.TrimSuffix(path.Base(k), ".backup")] = true
		}
	}
	for _, d := range cat {
		if target == naming.VerifyNewestFull || target == naming.VerifyNewest {
			if !all && !contains(dbs, d.Name) {
				continue
			}
			for _, c := range d.Chains { // newest first
				if c.Broken != "" {
					continue
				}
				n := 1
				if target == naming.VerifyNewest {
					n = len(c.Artifacts)
				}
				out = append(out, verifyTarget{database: d.Name, entry: c.Artifacts[n-1], chain: c.Artifacts[:n]})
				break
			}
			continue
		}
		for _, c := range d.Chains {
			for i, e := range c.Artifacts {
				if wanted[backup.ArtifactName(e.Key)] {
					if c.Broken != "" {
						return nil, fmt.Errorf("%s cannot be checked: its chain is broken (%s)", e.Key, c.Broken)
					}
					out = append(out, verifyTarget{database: d.Name, entry: e, chain: c.Artifacts[:i+1]})
					delete(wanted, backup.ArtifactName(e.Key))
				}
			}
		}
	}
	if len(wanted) > 0 {
		var names []string
		for n := range wanted {
			names = append(names, n)
		}
		return nil, fmt.Errorf("no recorded backup %s (see `neo4jctl backup list`)", strings.Join(names, ", "))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no recorded backup to verify for %s", target)
	}
	return out, nil
}

// checker runs the check of one target in the scratch directory.
type checker struct {
	env    Env
	run    CommandFunc
	store  backup.Store
	stderr io.Writer
	now    func() time.Time
}

func (c checker) check(ctx context.Context, t verifyTarget) backup.Verification {
	start := c.now()
	v := backup.Verification{At: start.UTC(), Neo4jVersion: c.env(naming.EnvNeo4jVersion)}
	done := func(verdict, msg string) backup.Verification {
		v.Verdict, v.Message = verdict, msg
		v.DurationSeconds = c.now().Sub(start).Round(time.Millisecond).Seconds()
		return v
	}
	dir := filepath.Join(scratchDir(c.env), "neo4jctl-verify", backup.ArtifactName(t.entry.Key))
	in, tmp, report := filepath.Join(dir, "in"), filepath.Join(dir, "tmp"), filepath.Join(dir, "report")
	defer os.RemoveAll(dir)
	for _, d := range []string{in, tmp, report} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return done(backup.VerdictError, "preparing the scratch directory: "+err.Error())
		}
	}
	for _, e := range t.chain {
		if err := c.download(ctx, e.Key, filepath.Join(in, path.Base(e.Key))); err != nil {
			return done(backup.VerdictError, err.Error())
		}
	}
	admin := NeoAdmin(c.env)
	// neo4j-admin checks only recovered full backups: a differential's chain, or a full
	// backup inspect calls not recovered, is aggregated (recovered) into one artifact first
	if t.entry.Type == backup.TypeDiff || (t.entry.Recovered != nil && !*t.entry.Recovered) {
		argv := append(aggregateCommand(admin, c.env(naming.EnvNeo4jVersion)),
			"--from-path="+filepath.Join(in, path.Base(t.entry.Key)), "--temp-path="+tmp)
		if out, err := c.exec(ctx, argv); err != nil {
			return done(backup.VerdictError, "aggregating the chain: "+err.Error()+tail(out))
		}
	}
	argv := []string{admin, "database", "check", "--from-path=" + in, "--temp-path=" + tmp, "--report-path=" + report}
	if off := c.env(naming.EnvVerifyOffHeap); off != "" {
		argv = append(argv, "--max-off-heap-memory="+off)
	}
	out, err := c.exec(ctx, append(argv, t.database))
	if err == nil {
		return done(backup.VerdictConsistent, "")
	}
	reports, _ := filepath.Glob(filepath.Join(report, "*.report"))
	if len(reports) == 0 {
		return done(backup.VerdictError, "neo4j-admin database check: "+err.Error()+tail(out))
	}
	v.Report = backup.ReportKey(path.Base(t.entry.Key))
	if err := c.upload(ctx, reports[0], v.Report); err != nil {
		v.Report = ""
		return done(backup.VerdictInconsistent, "the report could not be kept: "+err.Error())
	}
	return done(backup.VerdictInconsistent, "inconsistencies found: s3://"+c.store.Bucket+"/"+v.Report)
}

// aggregateCommand is `backup aggregate` (2025.01 and later; `database aggregate-backup`
// before, deprecated since).
func aggregateCommand(admin, version string) []string {
	if strings.HasPrefix(version, "5.") {
		return []string{admin, "database", "aggregate-backup"}
	}
	return []string{admin, "backup", "aggregate"}
}

// exec runs neo4j-admin, its output to stderr and kept for the verdict's message.
func (c checker) exec(ctx context.Context, argv []string) (string, error) {
	var buf bytes.Buffer
	w := io.MultiWriter(c.stderr, &buf)
	code, err := c.run(ctx, argv, w, w)
	if err == nil && code != 0 {
		err = fmt.Errorf("exit %d", code)
	}
	return buf.String(), err
}

// tail is the end of a command's output, for a message.
func tail(out string) string {
	out = strings.TrimSpace(out)
	if out == "" {
		return ""
	}
	if len(out) > 400 {
		out = "..." + out[len(out)-400:]
	}
	return ": " + out
}

func (c checker) download(ctx context.Context, key, file string) error {
	resp, err := c.store.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.store.Bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("downloading s3://%s/%s: %w", c.store.Bucket, key, err)
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("downloading s3://%s/%s: %w", c.store.Bucket, key, err)
	}
	return nil
}

func (c checker) upload(ctx context.Context, file, key string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	// with a checksum: a bucket with Object Lock's default retention takes no upload without one
	_, err = c.store.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(c.store.Bucket), Key: aws.String(key), Body: f, ContentType: aws.String("text/plain"),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32})
	if err != nil {
		return errors.New("uploading the report: " + err.Error())
	}
	return nil
}
