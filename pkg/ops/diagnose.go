package ops

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// diagnose is the runbook's troubleshooting checklist as code: each check has a stable code,
// looks at evidence gathered once and shared (diagnose_evidence.go), and says ok, warn,
// fail or skipped (and why), with what it saw and the next step. The checks live in a few
// files by what they read (diagnose_aws.go, diagnose_neo4j.go, diagnose_logs.go,
// diagnose_backups.go) because sixteen checks with their evidence do not read well in one;
// diagnose_bundle.go writes the support bundle.

// CheckVerdict is one check's outcome.
type CheckVerdict string

const (
	CheckFail    CheckVerdict = "fail"    // something is wrong: the cluster does not work as it should
	CheckWarn    CheckVerdict = "warn"    // works, but close to failing or not as intended
	CheckOK      CheckVerdict = "ok"      // looked and found nothing wrong
	CheckSkipped CheckVerdict = "skipped" // could not look (Why says why); never ok
)

// verdictRank orders the report: failures first.
var verdictRank = map[CheckVerdict]int{CheckFail: 0, CheckWarn: 1, CheckOK: 2, CheckSkipped: 3}

// CheckResult is what one check found.
type CheckResult struct {
	Code    string       `json:"code"`
	Title   string       `json:"title"` // what the check looks at
	Verdict CheckVerdict `json:"verdict"`
	Summary string       `json:"summary"`       // what it found, in one line
	Why     string       `json:"why,omitempty"` // skipped: why it could not look
	// Evidence is what the check saw: ids, counts, log lines, timestamps.
	Evidence []Evidence `json:"evidence,omitempty"`
	// Next is the next step, with the command to run in backquotes.
	Next string `json:"next,omitempty"`
}

// Evidence is one thing a check saw.
type Evidence struct {
	Member   string     `json:"member,omitempty"`   // core-N, replica/<task>, replicas
	Resource string     `json:"resource,omitempty"` // a stack, task, volume, instance id
	Time     *time.Time `json:"time,omitempty"`
	Text     string     `json:"text"`
}

// DiagnoseReport is what diagnose found.
type DiagnoseReport struct {
	Cluster string    `json:"cluster"`
	Region  string    `json:"region"`
	At      time.Time `json:"at"`
	// Since is the start of the window looked back at (stopped tasks, log lines, events).
	Since   time.Time `json:"since"`
	Window  string    `json:"window"`
	Elapsed string    `json:"elapsed"`
	// Status is get cluster's verdict, with what makes it so.
	Status       string               `json:"status"`
	StatusDetail []string             `json:"statusDetail,omitempty"`
	Counts       map[CheckVerdict]int `json:"counts"`
	Checks       []CheckResult        `json:"checks"` // failures first, then warnings, ok, skipped
}

// Failed lists the codes of the checks that failed.
func (r *DiagnoseReport) Failed() []string {
	var out []string
	for _, c := range r.Checks {
		if c.Verdict == CheckFail {
			out = append(out, c.Code)
		}
	}
	return out
}

// check is one entry of the checklist.
type check struct {
	code, title string
	run         func(e *evidence) CheckResult
}

// checklist is every check, in the order the report lists those of the same verdict.
var checklist = []check{
	{"stacks", "CloudFormation stacks complete; none failed, rolled back or stuck", checkStacks},
	{"stack-drift", "member stacks as their templates say (CloudFormation drift detection)", checkDrift},
	{"members", "each member's ECS service runs its desired tasks; service events", checkMembers},
	{"stopped-tasks", "member tasks stopped in the window: stop code, exit code, out of memory, health checks, restart loops", checkStoppedTasks},
	{"log-errors", "known error lines in the container and boot logs", checkLogErrors},
	{"forming", "a new cluster has all its initial primaries", checkForming},
	{"membership", "Cloud Map names, running tasks and Neo4j's servers agree", checkMembership},
	{"leader-stability", "leaders stay put: elections in the window, restarts told apart from GC pauses", checkLeaders},
	{"databases", "databases at their requested status and hosting, replication lag", checkDatabases},
	{"versions", "every server on the same Neo4j version outside an upgrade", checkVersions},
	{"placement", "volume AZ vs instance AZ, cores per AZ, subnets vs cores", checkPlacement},
	{"volumes", "each member's data volume attached to its instance and mounted", checkVolumes},
	{"disk", "data volume usage (the agent's " + naming.MetricDiskUsed + " metric): 80% warns, 90% fails", checkDisk},
	{"backups", "newest successful backup of each database vs the schedule; failed runs", checkBackups},
	{"host", "container instances connected and active; capacity providers associated", checkHost},
	{"network", "the existing VPC still carries the cluster (the create precheck)", checkNetwork},
}

// CheckCodes are the stable codes of every check, in checklist order.
func CheckCodes() []string {
	out := make([]string, len(checklist))
	for i, c := range checklist {
		out[i] = c.code
	}
	return out
}

// UnknownCheckError is a --check code diagnose does not have.
type UnknownCheckError struct{ Codes []string }

func (e *UnknownCheckError) Error() string {
	return fmt.Sprintf("--check %s: no such check; the checks are %s", strings.Join(e.Codes, ", "), strings.Join(CheckCodes(), ", "))
}

// ExitCode is 2: bad usage, nothing was looked at.
func (e *UnknownCheckError) ExitCode() int { return 2 }

// DiagnoseFailedError says that checks failed (exit 1); the report says what and why.
type DiagnoseFailedError struct {
	Cluster string
	Codes   []string
}

func (e *DiagnoseFailedError) Error() string {
	return fmt.Sprintf("cluster %s: %d check(s) failed: %s (each says what it saw and the next step above)", e.Cluster, len(e.Codes), strings.Join(e.Codes, ", "))
}

// DiagnoseOptions say what to look at.
type DiagnoseOptions struct {
	Checks []string      // codes to run; none: every check
	Since  time.Duration // how far back to look (default 1h)
	// Bundle also gathers what the support bundle holds beyond the checks' evidence (recent
	// log lines of each member, the secrets' values to redact).
	Bundle bool
}

// DefaultDiagnoseWindow is how far back diagnose looks by default: about what ECS keeps of
// stopped tasks.
const DefaultDiagnoseWindow = time.Hour

// Validate refuses unknown check codes (exit 2, listing the codes) and a window that is
// not positive.
func (o DiagnoseOptions) Validate() error {
	var unknown []string
	for _, c := range o.Checks {
		if !slices.Contains(CheckCodes(), c) {
			unknown = append(unknown, c)
		}
	}
	if len(unknown) > 0 {
		return &UnknownCheckError{Codes: unknown}
	}
	return nil
}

// Diagnose runs the checklist on one cluster. It only reads, except that it starts
// CloudFormation's drift detection of member stacks never checked (its result shows on the
// next run).
type Diagnose struct {
	*Cluster
	AWS DiagnoseAWS
	// last is the evidence of the last Execute, for the support bundle.
	last *evidence
}

// NewDiagnose is diagnose on the handle's clients.
func NewDiagnose(c *Cluster) *Diagnose {
	return &Diagnose{Cluster: c, AWS: diagnoseAWSOf(c)}
}

// Execute gathers the evidence and runs the checks, concurrently; NotFoundError when the
// cluster has no stacks.
func (d *Diagnose) Execute(ctx context.Context, o DiagnoseOptions) (*DiagnoseReport, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	start, began := d.clock().Now(), time.Now()
	stacks, err := d.FindStacks(ctx)
	if err != nil {
		return nil, err
	}
	if len(stacks) == 0 {
		return nil, &NotFoundError{Name: d.Name, Region: d.Region}
	}
	window := cmp.Or(o.Since, DefaultDiagnoseWindow)
	e := newEvidence(ctx, d, stacks, start, window)
	d.last = e
	r := &DiagnoseReport{Cluster: d.Name, Region: d.Region, At: start.UTC(), Since: e.since.UTC(), Window: window.String(),
		Counts: map[CheckVerdict]int{}}
	selected := checklist
	if len(o.Checks) > 0 {
		selected = slices.DeleteFunc(slices.Clone(checklist), func(c check) bool { return !slices.Contains(o.Checks, c.code) })
	}
	r.Checks = runChecks(e, selected)
	if o.Bundle {
		e.bundleExtras()
	}
	v := e.view()
	r.Status, r.StatusDetail = v.Status, v.StatusDetail
	for _, c := range r.Checks {
		r.Counts[c.Verdict]++
	}
	r.Elapsed = time.Since(began).Round(time.Millisecond).String() // how long it took, on the wall clock
	return r, nil
}

// runChecks runs the checks at the same time (each takes the evidence it needs, gathered
// once), and orders the results: failures first, then warnings, ok, skipped.
func runChecks(e *evidence, checks []check) []CheckResult {
	out := make([]CheckResult, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			r := c.run(e)
			r.Code, r.Title = c.code, c.title
			if r.Verdict == "" {
				r.Verdict = CheckOK
			}
			out[i] = r
		})
	}
	wg.Wait()
	slices.SortStableFunc(out, func(a, b CheckResult) int { return verdictRank[a.Verdict] - verdictRank[b.Verdict] })
	return out
}

// Err is the error that makes a command exit 1 when a check failed; nil otherwise.
func (r *DiagnoseReport) Err() error {
	if failed := r.Failed(); len(failed) > 0 {
		return &DiagnoseFailedError{Cluster: r.Cluster, Codes: failed}
	}
	return nil
}

// result helpers: each check builds its result with these.

func ok(summary string, ev ...Evidence) CheckResult {
	return CheckResult{Verdict: CheckOK, Summary: summary, Evidence: ev}
}

func skipped(why string) CheckResult {
	return CheckResult{Verdict: CheckSkipped, Summary: "not checked", Why: why}
}

func result(v CheckVerdict, summary, next string, ev ...Evidence) CheckResult {
	return CheckResult{Verdict: v, Summary: summary, Next: next, Evidence: ev}
}

// worst is the more severe of two verdicts.
func worst(a, b CheckVerdict) CheckVerdict {
	if a == "" || verdictRank[b] < verdictRank[a] {
		return b
	}
	return a
}

func at(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// plural is "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// human is a duration as people write it: 1h, 30m, 1h30m, 2d3h.
func human(d time.Duration) string {
	d = d.Round(time.Minute)
	if d < time.Minute {
		return "under a minute"
	}
	days, h, m := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var b strings.Builder
	for _, p := range []struct {
		n    int
		unit string
	}{{days, "d"}, {h, "h"}, {m, "m"}} {
		if p.n > 0 {
			fmt.Fprintf(&b, "%d%s", p.n, p.unit)
		}
	}
	return b.String()
}
