package ops

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// Log kinds: which log a stream carries (see naming's stream layout).
const (
	logContainer = "container" // <member>/neo4j/<task>: neo4j.log and the agent
	logBoot      = "boot"      // core-N/boot: the instance's volume attach and mount
	logDebug     = "debug"     // <member>/debug: debug.log, with monitoring.debugLog
	logQuery     = "query"     // <member>/query: the slow query log
	logBackup    = "backup"    // backup/backup/<task>: a backup or verify task
)

// logLine is one log event of the cluster's log group.
type logLine struct {
	Time    time.Time `json:"time"`
	Stream  string    `json:"stream"`
	Member  string    `json:"member"` // core-N, replica, backup
	Kind    string    `json:"kind"`
	Task    string    `json:"task,omitempty"`
	Message string    `json:"message"`
}

// streamParts reads a stream name: whose it is, which log, which task.
func streamParts(name string) (member, kind, task string) {
	parts := strings.Split(name, "/")
	switch {
	case len(parts) == 3 && parts[0] == naming.LogStreamPrefixBackup:
		return naming.LogStreamPrefixBackup, logBackup, parts[2]
	case len(parts) == 3 && parts[1] == naming.ContainerNeo4j:
		return parts[0], logContainer, parts[2]
	case len(parts) == 2 && strings.HasPrefix(parts[0], naming.LogStreamPrefixReplica+"-"):
		return naming.LogStreamPrefixReplica, parts[1], "" // a replica's shipped log: replica-<host>/debug
	case len(parts) == 2:
		return parts[0], parts[1], ""
	}
	return "", "", ""
}

// logStream is a stream written in the window.
type logStream struct {
	Name, Member, Kind, Task string
	First, Last              time.Time
}

// streamFacts are the log group's streams written in the window, newest first.
type streamFacts struct {
	streams []logStream
	err     error
}

// streamPages bounds the listing: 50 streams a page, newest first.
const streamPages = 10

// readStreams lists the streams with events in the window, newest first, stopping at the
// first one last written before it: a member's container streams are its tasks (each task
// writes its own), so their first events are the member's starts.
func (e *evidence) readStreams() streamFacts {
	var f streamFacts
	if e.d.AWS.Logs == nil {
		return f
	}
	in := &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(e.logGroup()), OrderBy: cwltypes.OrderByLastEventTime,
		Descending: aws.Bool(true), Limit: aws.Int32(50)}
	for page := 0; page < streamPages; page++ {
		out, err := e.d.AWS.Logs.DescribeLogStreams(e.ctx, in)
		if err != nil {
			f.err = awsapi.Clean(err)
			return f
		}
		for _, s := range out.LogStreams {
			last := millis(s.LastEventTimestamp)
			if last.Before(e.since) {
				return f
			}
			member, kind, task := streamParts(aws.ToString(s.LogStreamName))
			f.streams = append(f.streams, logStream{Name: aws.ToString(s.LogStreamName), Member: member, Kind: kind, Task: task,
				First: millis(s.FirstEventTimestamp), Last: last})
		}
		if out.NextToken == nil {
			return f
		}
		in.NextToken = out.NextToken
	}
	return f
}

func millis(p *int64) time.Time {
	if p == nil {
		return time.Time{}
	}
	return time.UnixMilli(*p).UTC()
}

// starts are the container streams of a member that began in the window: its task starts.
func (f streamFacts) starts(member string, since time.Time) []logStream {
	var out []logStream
	for _, s := range f.streams {
		if s.Member == member && s.Kind == logContainer && !s.First.Before(since) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].First.Before(out[j].First) })
	return out
}

// A signal is a kind of log line diagnose knows: an error, an election, a pause, a backup
// report.
type signal struct {
	name string
	re   *regexp.Regexp
}

// Signal names.
const (
	sigDiskFull  = "disk full"
	sigOOM       = "out of memory"
	sigVolume    = "data volume not attached or not mounted"
	sigDiscovery = "discovery failure"
	sigAuth      = "authentication failure"
	sigElection  = "election"
	sigLeader    = "new leader"
	sigPause     = "VM pause"
	sigBackup    = "backup report"
)

// signals in the order a line is matched against them.
var signals = []signal{
	{sigDiskFull, regexp.MustCompile(`No space left on device`)},
	{sigOOM, regexp.MustCompile(`OutOfMemoryError|Out of memory: Killed process`)},
	{sigVolume, regexp.MustCompile(`refusing to start Neo4j:.*not mounted|: FAILED: |is not mounted on`)},
	{sigDiscovery, regexp.MustCompile(`(?i)UnknownHostException|(failed|unable|cannot|could not) (to )?resolve|discovery.*(failed|timed out|unable|cannot)`)},
	{sigAuth, regexp.MustCompile(`(?i)authentication failure|unauthorized due to authentication|AuthenticationRateLimit`)},
	{sigElection, regexp.MustCompile(`Election timeout triggered`)},
	{sigLeader, regexp.MustCompile(`Moving to LEADER state at term (\d+)`)},
	{sigPause, regexp.MustCompile(`Detected VM stop-the-world pause: \{pauseTime=(\d+), gcTime=(\d+), gcCount=(\d+)\}`)},
	{sigBackup, regexp.MustCompile(`"event":"neo4jctl\.(backup|verify)"`)},
}

// logFilter narrows FilterLogEvents to lines that may carry a signal (any of the terms);
// the signals' expressions then decide. Terms are case-sensitive in CloudWatch.
const logFilter = `?"No space left on device" ?OutOfMemoryError ?"Out of memory" ?"refusing to start Neo4j" ?FAILED ?"not mounted" ` +
	`?UnknownHostException ?resolve ?Discovery ?discovery ?"authentication failure" ?"authentication" ?AuthenticationRateLimit ` +
	`?"Election timeout triggered" ?"Moving to LEADER state" ?"stop-the-world" ?"neo4jctl.backup" ?"neo4jctl.verify"`

// signalOf names the signal a line carries ("" for none).
func signalOf(msg string) (string, []string) {
	for _, s := range signals {
		if m := s.re.FindStringSubmatch(msg); m != nil {
			return s.name, m[1:]
		}
	}
	return "", nil
}

// logFacts are the lines of the window that carry a signal, oldest first.
type logFacts struct {
	lines  []logLine
	capped bool // more lines matched than were read
	err    error
}

// Bounds of the log read: pages of FilterLogEvents and lines per page.
const (
	logPages    = 5
	logPageSize = 1000
)

// readLogs reads the window's lines of the whole log group that carry a signal: one
// filtered read (a few pages) for every member, log and check.
func (e *evidence) readLogs() logFacts {
	var f logFacts
	if e.d.AWS.Logs == nil {
		return f
	}
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(e.logGroup()), StartTime: aws.Int64(e.since.UnixMilli()),
		EndTime: aws.Int64(e.now.UnixMilli() + 1), FilterPattern: aws.String(logFilter), Limit: aws.Int32(logPageSize)}
	for page := 0; ; page++ {
		if page == logPages {
			f.capped = true
			return f
		}
		out, err := e.d.AWS.Logs.FilterLogEvents(e.ctx, in)
		if err != nil {
			f.err = awsapi.Clean(err)
			return f
		}
		for _, ev := range out.Events {
			msg := aws.ToString(ev.Message)
			if sig, _ := signalOf(msg); sig == "" {
				continue
			}
			member, kind, task := streamParts(aws.ToString(ev.LogStreamName))
			f.lines = append(f.lines, logLine{Time: millis(ev.Timestamp), Stream: aws.ToString(ev.LogStreamName), Member: member, Kind: kind, Task: task, Message: msg})
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	sort.SliceStable(f.lines, func(i, j int) bool { return f.lines[i].Time.Before(f.lines[j].Time) })
	return f
}

// with returns the lines of a signal.
func (f logFacts) with(sig string) []logLine {
	var out []logLine
	for _, l := range f.lines {
		if s, _ := signalOf(l.Message); s == sig {
			out = append(out, l)
		}
	}
	return out
}

// bootLines is how many of a member's last boot log lines are read.
const bootLines = 20

// readBoot reads the last lines of each core's boot log (its instance's volume attach and
// mount), whenever they were written: an instance boots once.
func (e *evidence) readBoot() map[string][]logLine {
	out := map[string][]logLine{}
	if e.d.AWS.Logs == nil {
		return out
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range e.view().Members {
		wg.Go(func() {
			lines := e.tail(e.ctx, naming.LogStreamBoot(m.Name), bootLines)
			mu.Lock()
			out[m.Name] = lines
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// tail is the last n lines of a stream (none when it does not exist), oldest first.
func (e *evidence) tail(ctx context.Context, stream string, n int) []logLine {
	out, err := e.d.AWS.Logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(e.logGroup()),
		LogStreamName: aws.String(stream), Limit: aws.Int32(int32(n)), StartFromHead: aws.Bool(false)})
	if err != nil {
		return nil
	}
	member, kind, task := streamParts(stream)
	var lines []logLine
	for _, ev := range out.Events {
		lines = append(lines, logLine{Time: millis(ev.Timestamp), Stream: stream, Member: member, Kind: kind, Task: task, Message: aws.ToString(ev.Message)})
	}
	return lines
}

// logErrors are the signals the log-errors check reports, worst first, with the verdict
// each gives and the next step.
var logErrors = []struct {
	signal  string
	verdict CheckVerdict
	next    func(cluster, member string) string
}{
	{sigDiskFull, CheckFail, func(c, m string) string {
		return fmt.Sprintf("grow %s's volume (see the disk and volumes checks): `aws ec2 modify-volume --volume-id VOLUME --size GiB`; the member grows its file system at its next start: `neo4jctl restart cluster %s --member %s`", m, c, m)
	}},
	{sigOOM, CheckFail, func(c, m string) string {
		return fmt.Sprintf("give Neo4j more memory: a larger cores.instanceType or neo4j.memory in cluster.yaml, then `neo4jctl update cluster -f cluster.yaml --force`; what ran out: `neo4jctl logs %s --member %s --grep OutOfMemoryError`", c, m)
	}},
	{sigVolume, CheckFail, func(c, m string) string {
		return fmt.Sprintf("the boot log says how the attach went: `neo4jctl logs %s --member %s --boot --since 7d`; see the volumes and placement checks; once fixed, `neo4jctl restart cluster %s --member %s`", c, m, c, m)
	}},
	{sigDiscovery, CheckWarn, func(c, m string) string {
		return fmt.Sprintf("see the membership check: every core's name must resolve to its running task (`neo4jctl diagnose %s --check membership`)", c)
	}},
	{sigAuth, CheckWarn, func(c, m string) string {
		return fmt.Sprintf("something logs in with a wrong password (repeated failures lock the user out for a while): see which with `neo4jctl logs %s --member %s --grep Unauthorized`, then check its credentials against the users' secrets in Secrets Manager (neo4jctl/%s/...)", c, m, c)
	}},
}

// logEvidencePerMember bounds the lines shown per signal and member.
const logEvidencePerMember = 3

// checkLogErrors reports the known error lines of the window, per signal and member.
func checkLogErrors(e *evidence) CheckResult {
	lf := e.logs()
	if lf.err != nil {
		return skipped(fmt.Sprintf("the log group %s could not be read: %v", e.logGroup(), lf.err))
	}
	r := CheckResult{Verdict: CheckOK}
	var found []string
	for _, le := range logErrors {
		lines := slices.DeleteFunc(lf.with(le.signal), func(l logLine) bool { return l.Kind == logBackup }) // the backups check's
		if len(lines) == 0 {
			continue
		}
		byMember := map[string][]logLine{}
		for _, l := range lines {
			byMember[l.Member] = append(byMember[l.Member], l)
		}
		members := slices.Sorted(maps.Keys(byMember))
		found = append(found, fmt.Sprintf("%s (%s on %s)", le.signal, plural(len(lines), "line", "lines"), strings.Join(members, ", ")))
		for _, m := range members {
			ls := byMember[m]
			for _, l := range ls[max(0, len(ls)-logEvidencePerMember):] {
				r.Evidence = append(r.Evidence, Evidence{Member: m, Resource: l.Stream, Time: at(l.Time), Text: oneLine(l.Message)})
			}
		}
		if r.Verdict == CheckOK || verdictRank[le.verdict] < verdictRank[r.Verdict] {
			r.Next = le.next(e.d.Name, members[0])
		}
		r.Verdict = worst(r.Verdict, le.verdict)
	}
	if len(found) == 0 {
		r.Summary = fmt.Sprintf("no known error line in the container and boot logs since %s", clock(e.since))
		if lf.capped {
			r.Summary += fmt.Sprintf(" (the first %d matching lines read)", logPages*logPageSize)
		}
		return r
	}
	r.Summary = strings.Join(found, "; ")
	return r
}

// oneLine is a log message on one line, at most 300 characters.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:297] + "..."
	}
	return s
}

// clock is a time as people read it in a report.
func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04Z") }
