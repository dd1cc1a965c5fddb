package ops

import (
	"archive/tar"
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// The support bundle: the report and the evidence behind it, for a ticket, with every
// secret redacted.

// recentLines is how many of each member's newest log lines the bundle holds per stream.
const recentLines = 200

// bundleExtras gathers what only the bundle holds: every stack's events, each member's
// newest container, debug and boot lines, and the secrets' values to redact.
func (e *evidence) bundleExtras() {
	var wg sync.WaitGroup
	for _, s := range e.stacks {
		wg.Go(func() { e.stackEventsOf(s.Name) })
	}
	wg.Go(e.readRecent)
	wg.Go(e.readSecretValues)
	wg.Wait()
}

// readRecent reads the newest lines of each member's newest streams of the window (its
// task's container log, debug log) and of the backup task's.
func (e *evidence) readRecent() {
	e.recent = map[string][]logLine{}
	if e.d.AWS.Logs == nil {
		return
	}
	newest := map[string]logStream{} // member/kind → newest stream
	for _, s := range e.streams().streams {
		k := s.Member + "/" + s.Kind
		if s.Member == "" || s.Kind == logQuery {
			continue
		}
		if cur, seen := newest[k]; !seen || s.Last.After(cur.Last) {
			newest[k] = s
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range newest {
		wg.Go(func() {
			lines := e.tail(e.ctx, s.Name, recentLines)
			mu.Lock()
			e.recent[s.Name] = lines
			mu.Unlock()
		})
	}
	wg.Wait()
}

// secretStages are the versions of a secret whose values are redacted: the password in
// use, the one a rotation replaced (clients and logs may still carry it) and the one a
// rotation in progress is setting.
var secretStages = []string{"AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"}

// readSecretValues reads the cluster's secrets, only to take their values out of the
// bundle wherever they appear. Secrets it may not read are named in the bundle's README;
// the pattern redaction still applies.
func (e *evidence) readSecretValues() {
	if e.d.AWS.Secrets == nil {
		return
	}
	ids := []string{naming.AdminSecret(e.d.Name), naming.ReadOnlySecret(e.d.Name), naming.ReadWriteSecret(e.d.Name)}
	for i, out := range []string{stack.OutputAdminSecretArn, stack.OutputReadOnlySecretArn, stack.OutputReadWriteSecretArn} {
		if arn := e.output(naming.KindShared, out); arn != "" {
			ids[i] = arn
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, id := range ids {
		for _, stage := range secretStages {
			wg.Go(func() {
				out, err := e.d.AWS.Secrets.GetSecretValue(e.ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String(stage)})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					e.secretValues = append(e.secretValues, secretParts(aws.ToString(out.SecretString))...)
				case stage == "AWSCURRENT": // the other stages exist only around a rotation
					e.secretErrs = append(e.secretErrs, fmt.Sprintf("%s: %v", id, awsapi.Clean(err)))
				}
			})
		}
	}
	wg.Wait()
	slices.Sort(e.secretErrs)
	// the longest first: a JSON secret whole before the values inside it
	slices.SortFunc(e.secretValues, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	e.secretValues = slices.Compact(e.secretValues)
}

// UnreadSecrets are the cluster's secrets the last Execute with Bundle could not read, with
// why: their values are redacted only where they look like a password.
func (d *Diagnose) UnreadSecrets() []string {
	if d.last == nil {
		return nil
	}
	return d.last.secretErrs
}

// secretParts are the strings of a secret to redact: the whole value and, for a JSON
// secret, each field's value but the user name.
func secretParts(s string) []string {
	out := []string{s}
	var fields map[string]any
	if json.Unmarshal([]byte(s), &fields) == nil {
		for k, v := range fields {
			if str, ok := v.(string); ok && k != "username" {
				out = append(out, str)
			}
		}
	}
	return slices.DeleteFunc(out, func(v string) bool { return len(v) < 4 })
}

// Redactions by pattern, for secrets diagnose could not read and for whatever else looks
// like one: a password=, token: or secret" value; NEO4J_AUTH; a URI's password; AWS keys.
var redactions = []struct {
	re   *regexp.Regexp
	keep int // submatches kept in front of the redacted value
}{
	{regexp.MustCompile(`(?i)((?:password|passwd|pwd|secret|token|credentials?|api[_-]?key)[A-Za-z_]*\\?"?\s*[:=]\s*\\?"?)([^\s"\\,;}&]+)`), 1},
	{regexp.MustCompile(`(NEO4J_AUTH\\?"?\s*[:=]\s*\\?"?[^/\s"\\]*/)([^\s"\\,;}]+)`), 1},
	{regexp.MustCompile(`([a-z0-9+.-]+://[^:/@\s"]+:)([^@\s"]+)(@)`), 1},
	{regexp.MustCompile(`()((?:AKIA|ASIA)[0-9A-Z]{16})`), 1},
}

const redacted = "[REDACTED]"

// redact takes every secret value and every pattern's match out of b.
func redact(b []byte, secrets []string) []byte {
	s := string(b)
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, redacted)
		if q, err := json.Marshal(v); err == nil { // as it reads inside JSON
			s = strings.ReplaceAll(s, strings.Trim(string(q), `"`), redacted)
		}
	}
	for _, r := range redactions {
		s = r.re.ReplaceAllStringFunc(s, func(m string) string {
			sub := r.re.FindStringSubmatch(m)
			if strings.HasPrefix(sub[2], "arn:") || sub[2] == redacted || strings.HasPrefix(sub[2], "[REDACTED") {
				return m // an ARN names a secret, it is none
			}
			return strings.Join(sub[1:r.keep+1], "") + redacted + strings.Join(sub[r.keep+2:], "")
		})
	}
	return []byte(s)
}

// bundleFile is one file of the bundle.
type bundleFile struct {
	name string
	data []byte
}

// WriteBundle writes the support bundle of the last Execute (with DiagnoseOptions.Bundle)
// as a gzipped tar to w: the report, the cluster as get shows it, Neo4j's answer, the
// stacks and their events, the ECS services with their events, the tasks running and
// stopped, the container instances, volumes, Cloud Map, disk usage, the matched log lines
// and each member's newest lines. Every secret is redacted. It returns the file names.
func (d *Diagnose) WriteBundle(w io.Writer, r *DiagnoseReport) ([]string, error) {
	e := d.last
	if e == nil || e.recent == nil {
		return nil, errors.New("no evidence gathered for a bundle: run Execute with Bundle set first")
	}
	files, err := e.bundleFiles(r)
	if err != nil {
		return nil, err
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	var names []string
	for _, f := range files {
		data := redact(f.data, e.secretValues)
		hdr := &tar.Header{Name: "neo4jctl-diagnose-" + d.Name + "/" + f.name, Mode: 0o600, Size: int64(len(data)), ModTime: r.At}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("writing the bundle: %w", err)
		}
		if _, err := tw.Write(data); err != nil {
			return nil, fmt.Errorf("writing the bundle: %w", err)
		}
		names = append(names, hdr.Name)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("writing the bundle: %w", err)
	}
	return names, gz.Close()
}

// bundleFiles are the bundle's files, before redaction.
func (e *evidence) bundleFiles(r *DiagnoseReport) ([]bundleFile, error) {
	v := e.view()
	var files []bundleFile
	var errs []error
	add := func(name string, value any) {
		b, err := json.MarshalIndent(value, "", "  ")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return
		}
		files = append(files, bundleFile{name, append(b, '\n')})
	}
	add("diagnose.json", r)
	add("cluster.json", v)
	if v.answer.err == nil {
		add("neo4j/status.json", v.answer.resp.Status)
		add("neo4j/health.json", v.answer.resp.Health)
	}
	add("aws/stacks.json", e.stacks)
	for _, s := range e.stacks {
		se := e.stackEventsOf(s.Name)
		add("aws/stack-events/"+s.Name+".json", se.events)
	}
	add("aws/ecs-services.json", v.facts.services)
	add("aws/ecs-tasks.json", v.facts.tasks)
	add("aws/ecs-stopped-tasks.json", v.facts.stopped)
	add("aws/ecs-container-instances.json", e.hosts().instances)
	add("aws/ec2-volumes.json", e.volumes().byID)
	add("aws/cloud-map.json", map[string]any{"members": e.cloudMap().members, "core": e.cloudMap().core})
	add("aws/disk-used-percent.json", e.disk().used)
	add("logs/matched-lines.json", e.logs().lines)
	add("logs/boot.json", e.boot())
	for _, name := range slices.Sorted(maps.Keys(e.recent)) {
		files = append(files, bundleFile{"logs/recent/" + strings.ReplaceAll(name, "/", "_") + ".log", logText(e.recent[name])})
	}
	files = append([]bundleFile{{"README.txt", e.bundleReadme(r, files)}}, files...)
	return files, errors.Join(errs...)
}

func logText(lines []logLine) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		fmt.Fprintf(&b, "%s %s\n", l.Time.UTC().Format(time.RFC3339Nano), l.Message)
	}
	return b.Bytes()
}

func (e *evidence) bundleReadme(r *DiagnoseReport, files []bundleFile) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "neo4jctl diagnose support bundle\n\ncluster %s in %s, taken %s, looking back %s (since %s)\n", r.Cluster, r.Region, r.At.Format(time.RFC3339), r.Window, r.Since.Format(time.RFC3339))
	fmt.Fprintf(&b, "status: %s; checks: %d failed, %d warnings, %d ok, %d skipped\n\n", r.Status, r.Counts[CheckFail], r.Counts[CheckWarn], r.Counts[CheckOK], r.Counts[CheckSkipped])
	fmt.Fprintf(&b, "Redacted everywhere: the values of the cluster's secrets in Secrets Manager (%d values read, current and around a rotation), and anything that looks like a password, token, key or a URI's password.\n", len(e.secretValues))
	for _, s := range e.secretErrs {
		fmt.Fprintf(&b, "NOT READ, so its values are redacted only where they look like a password: %s\n", s)
	}
	b.WriteString("\nFiles:\n")
	for _, f := range files {
		fmt.Fprintf(&b, "  %s\n", f.name)
	}
	return b.Bytes()
}
