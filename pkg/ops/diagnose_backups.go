package ops

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// The backups check: the newest restorable point of each database against the schedule
// the operations stack runs, and the failed runs the backup task reported.

// backupFacts are the catalog and what the backup task backs up.
type backupFacts struct {
	enabled   bool
	databases []backup.Database
	which     string // the backup task's NEO4JCTL_BACKUP_DATABASES (* for all)
	err       error
}

func (e *evidence) readBackups() backupFacts {
	taskDef := e.output(naming.KindOperations, stack.OutputBackupTaskDefinition)
	bucket := e.output(naming.KindShared, stack.OutputBucketName)
	f := backupFacts{enabled: taskDef != "" && bucket != "", which: "*"}
	if !f.enabled || e.d.AWS.S3 == nil {
		return f
	}
	if e.d.AWS.ECS != nil {
		if out, err := e.d.AWS.ECS.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(taskDef)}); err == nil && out.TaskDefinition != nil {
			for _, c := range out.TaskDefinition.ContainerDefinitions {
				for _, kv := range c.Environment {
					if aws.ToString(kv.Name) == naming.EnvBackupDatabases {
						f.which = aws.ToString(kv.Value)
					}
				}
			}
		}
	}
	f.databases, f.err = backup.Store{S3: e.d.AWS.S3, Bucket: bucket}.Load(e.ctx, 0)
	return f
}

// scheduleFacts are the backup schedules the operations stack runs.
type scheduleFacts struct {
	schedules []backupSchedule
	err       error
}

type backupSchedule struct {
	ID, Expression, State string
	Period                time.Duration // the longest gap between two runs (0: not known)
}

// readSchedule reads the operations stack's template (one call) for its backup schedules:
// what CloudFormation runs, with a schedule's state resolved from the stack's parameters.
func (e *evidence) readSchedule() scheduleFacts {
	var f scheduleFacts
	s := e.stackOf(naming.KindOperations, "")
	if s == nil {
		return f
	}
	body, err := e.d.Stacks.Template(e.ctx, s.Name)
	if err != nil {
		f.err = err
		return f
	}
	var tmpl struct {
		Resources map[string]struct {
			Type       string
			Properties struct {
				ScheduleExpression string
				State              any
			}
		}
	}
	if err := json.Unmarshal(body, &tmpl); err != nil {
		f.err = fmt.Errorf("reading the template of %s: %w", s.Name, err)
		return f
	}
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::Scheduler::Schedule" || !strings.Contains(id, "Backup") || strings.Contains(id, "Verify") {
			continue
		}
		st := "ENABLED"
		switch v := r.Properties.State.(type) {
		case string:
			st = v
		case map[string]any:
			if ref, ok := v["Ref"].(string); ok && s.Parameters[ref] != "" {
				st = s.Parameters[ref]
			}
		}
		period, _ := schedulePeriod(r.Properties.ScheduleExpression)
		f.schedules = append(f.schedules, backupSchedule{ID: id, Expression: r.Properties.ScheduleExpression, State: st, Period: period})
	}
	slices.SortFunc(f.schedules, func(a, b backupSchedule) int { return strings.Compare(a.ID, b.ID) })
	return f
}

// backupRunTime is how long a backup run may take before it counts as late.
const backupRunTime = time.Hour

func checkBackups(e *evidence) CheckResult {
	bf := e.backups()
	if !bf.enabled {
		return skipped("backups are off: the operations stack has no backup task (backup.enabled: false in cluster.yaml)")
	}
	sf := e.schedule()
	period, exprs, paused := expectedPeriod(sf)
	if paused {
		return skipped("the backup schedules are paused (the cluster is stopped): " + exprs)
	}
	if bf.err != nil {
		return skipped("the backup catalog could not be read: " + awsapi.Clean(bf.err).Error())
	}
	r := ok("")
	var late []string
	dbs := e.backedUpDatabases(bf)
	if len(dbs) == 0 {
		dbs = []string{""} // none known: judge the bucket as a whole
	}
	for _, db := range dbs {
		verdict, ev := e.backupAge(db, bf, period)
		r.Verdict = worst(r.Verdict, verdict)
		r.Evidence = append(r.Evidence, ev)
		if verdict != CheckOK {
			late = append(late, db)
		}
	}
	runs, failed := e.backupRuns()
	r.Evidence = append(r.Evidence, runs...)
	r.Verdict = worst(r.Verdict, failed)
	switch {
	case len(late) == 0 && failed == CheckOK:
		r.Summary = fmt.Sprintf("every database backed up within its schedule (%s: at most %s apart)", exprs, human(period))
		if dbs[0] == "" {
			r.Summary = fmt.Sprintf("no backup yet, none due yet (%s: at most %s apart)", exprs, human(period))
		}
	default:
		r.Summary = fmt.Sprintf("schedule %s (at most %s apart)", exprs, human(period))
		if len(late) > 0 {
			r.Summary += "; late or missing: " + strings.Join(late, ", ")
		}
		if failed != CheckOK {
			r.Summary += "; failed runs since " + clock(e.since)
		}
		r.Next = fmt.Sprintf("`neo4jctl backup create %s` runs one now and waits for it, saying why it fails; `neo4jctl backup list %s` lists what there is", e.d.Name, e.d.Name)
	}
	return r
}

// expectedPeriod is the longest a database may go without a backup: the most frequent
// enabled schedule's period (24 hours when it cannot be read).
func expectedPeriod(sf scheduleFacts) (time.Duration, string, bool) {
	var period time.Duration
	var exprs []string
	enabled := 0
	for _, s := range sf.schedules {
		exprs = append(exprs, s.Expression)
		if !strings.EqualFold(s.State, "ENABLED") {
			continue
		}
		enabled++
		if s.Period > 0 && (period == 0 || s.Period < period) {
			period = s.Period
		}
	}
	if period == 0 {
		period = 24 * time.Hour
	}
	if len(exprs) == 0 {
		exprs = append(exprs, "unknown")
	}
	return period, strings.Join(exprs, " and "), len(sf.schedules) > 0 && enabled == 0
}

// backedUpDatabases are the databases the backup task backs up: those of Neo4j's view (or,
// without it, of the catalog) that NEO4JCTL_BACKUP_DATABASES names.
func (e *evidence) backedUpDatabases(bf backupFacts) []string {
	var names []string
	if n := e.view().Neo4j; n != nil {
		for _, d := range n.Databases {
			if d.Type != "composite" {
				names = append(names, d.Name)
			}
		}
	} else {
		for _, d := range bf.databases {
			names = append(names, d.Name)
		}
	}
	if bf.which != "" && bf.which != "*" {
		want := strings.Split(bf.which, ",")
		names = slices.DeleteFunc(names, func(n string) bool { return !slices.Contains(want, n) })
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// backupAge judges one database's newest restorable point: within the period (and a run's
// time) is ok, within twice that warns, older or none fails, unless the cluster is younger.
func (e *evidence) backupAge(db string, bf backupFacts, period time.Duration) (CheckVerdict, Evidence) {
	var newest *backup.Entry
	for _, d := range bf.databases {
		if d.Newest != nil && (d.Name == db || (db == "" && (newest == nil || d.Newest.Time.After(newest.Time)))) {
			newest = d.Newest
		}
	}
	label := cmp.Or(db, "any database")
	created := time.Time{}
	if s := e.stackOf(naming.KindOperations, ""); s != nil {
		created = s.Created
	}
	if newest == nil {
		if !created.IsZero() && e.now.Sub(created) < period+backupRunTime {
			return CheckOK, Evidence{Resource: db, Text: fmt.Sprintf("%s: no backup yet; the first is due by %s", label, clock(created.Add(period+backupRunTime)))}
		}
		return CheckFail, Evidence{Resource: db, Text: label + ": no restorable backup in the bucket"}
	}
	age := e.now.Sub(newest.Time)
	ev := Evidence{Resource: newest.Key, Time: at(newest.Time), Text: fmt.Sprintf("%s: newest restorable point %s old (%s)", label, human(age), newest.Type)}
	switch {
	case age > 2*period+backupRunTime:
		return CheckFail, ev
	case age > period+backupRunTime:
		return CheckWarn, ev
	}
	return CheckOK, ev
}

// backupRuns are the backup task's reports of the window: a failed run warns, a failed
// last run fails.
func (e *evidence) backupRuns() ([]Evidence, CheckVerdict) {
	var out []Evidence
	verdict, lastFailed := CheckOK, false
	for _, l := range e.logs().lines {
		if l.Kind != logBackup {
			continue
		}
		var rep struct {
			Event, Backup, Error, Type string
			ExitCode                   int
		}
		if json.Unmarshal([]byte(l.Message), &rep) != nil || rep.Event != "neo4jctl.backup" || rep.Backup == "skipped" {
			continue
		}
		lastFailed = rep.Backup == "failed"
		if lastFailed {
			verdict = CheckWarn
			out = append(out, Evidence{Member: "backup", Resource: "task " + l.Task, Time: at(l.Time),
				Text: fmt.Sprintf("%s backup failed (exit %d): %s", strings.ToLower(rep.Type), rep.ExitCode, oneLine(rep.Error))})
		}
	}
	if lastFailed {
		verdict = CheckFail
	}
	return out, verdict
}

// schedulePeriod is the longest time between two runs of an EventBridge schedule
// expression: rate(N unit), or cron(minutes hours day-of-month month day-of-week year)
// found by stepping through two weeks minute by minute. ok is false for what it cannot
// read (at(...), L, W, #).
func schedulePeriod(expr string) (time.Duration, bool) {
	expr = strings.TrimSpace(expr)
	if body, found := strings.CutPrefix(expr, "rate("); found {
		f := strings.Fields(strings.TrimSuffix(body, ")"))
		if len(f) != 2 {
			return 0, false
		}
		n, err := strconv.Atoi(f[0])
		unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(f[1], "s")]
		if err != nil || unit == 0 || n < 1 {
			return 0, false
		}
		return time.Duration(n) * unit, true
	}
	body, found := strings.CutPrefix(expr, "cron(")
	f := strings.Fields(strings.TrimSuffix(body, ")"))
	if !found || len(f) != 6 {
		return 0, false
	}
	return cronPeriod(f)
}

// cronPeriod steps through 15 days of minutes (from a Monday) and returns the longest gap
// between two matches.
func cronPeriod(f []string) (time.Duration, bool) {
	limits := [][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {1, 7}}
	var sets [5]map[int]bool
	for i := range 5 {
		s, ok := cronField(f[i], limits[i][0], limits[i][1])
		if !ok {
			return 0, false
		}
		sets[i] = s
	}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var last time.Time
	var gap time.Duration
	for t := start; t.Before(start.Add(15 * 24 * time.Hour)); t = t.Add(time.Minute) {
		dow := int(t.Weekday()) + 1 // AWS: 1 = Sunday
		if sets[0][t.Minute()] && sets[1][t.Hour()] && sets[2][t.Day()] && sets[3][int(t.Month())] && sets[4][dow] {
			if !last.IsZero() {
				gap = max(gap, t.Sub(last))
			}
			last = t
		}
	}
	return gap, gap > 0
}

var cronNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7,
	"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}

// cronField reads one cron field: *, ?, N, A-B, lists and /steps, day and month names.
func cronField(field string, lo, hi int) (map[int]bool, bool) {
	out := map[int]bool{}
	num := func(s string) (int, bool) {
		if n, ok := cronNames[strings.ToUpper(s)]; ok {
			return n, true
		}
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= lo && n <= hi
	}
	for _, part := range strings.Split(field, ",") {
		rng, stepS, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepS)
			if err != nil || n < 1 {
				return nil, false
			}
			step = n
		}
		a, b := lo, hi
		switch {
		case rng == "*" || rng == "?":
		case strings.Contains(rng, "-"):
			x, y, _ := strings.Cut(rng, "-")
			var okA, okB bool
			if a, okA = num(x); !okA {
				return nil, false
			}
			if b, okB = num(y); !okB {
				return nil, false
			}
		default:
			n, ok := num(rng)
			if !ok {
				return nil, false
			}
			a, b = n, n
			if hasStep {
				b = hi
			}
		}
		for i := a; i <= b; i += step {
			out[i] = true
		}
	}
	return out, true
}
