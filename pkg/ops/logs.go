package ops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// Which log of a member (LogsOptions.Kind).
const (
	LogNeo4j = "neo4j" // the container's output: neo4j.log and the agent (default)
	LogDebug = "debug" // debug.log, shipped with monitoring.debugLog
	LogQuery = "query" // the query (slow) log, shipped with monitoring.slowQueryLog
	LogBoot  = "boot"  // a core instance's boot: volume attach and mount
)

// Members LogsOptions.Member names besides core-N.
const (
	MemberReplicas = "replicas"
	MemberBackup   = "backup" // backup and verify tasks
	MemberAdmin    = "admin"  // the admin Lambda function
)

// LogsOptions say which lines: whose, which log, since when, matching what.
type LogsOptions struct {
	Member string // "" every member; core-N, replicas, backup, admin
	Kind   string // LogNeo4j (default), LogDebug, LogQuery, LogBoot
	Since  time.Time
	Grep   string // only lines containing this text (case-sensitive)
	Follow bool   // keep reading new lines until ctx ends
}

var corePattern = regexp.MustCompile(`^core-[1-9][0-9]*$`)

// Validate refuses a member or log that has no stream.
func (o LogsOptions) Validate() error {
	kind := o.Kind
	switch {
	case o.Member != "" && o.Member != MemberReplicas && o.Member != MemberBackup && o.Member != MemberAdmin && !corePattern.MatchString(o.Member):
		return fmt.Errorf("--member %q: use core-N, replicas, backup or admin", o.Member)
	case kind == "" || kind == LogNeo4j:
	case o.Member == MemberBackup || o.Member == MemberAdmin:
		return fmt.Errorf("--member %s has one log; --debug, --slow-queries and --boot are for cores and replicas", o.Member)
	case kind == LogBoot && o.Member == MemberReplicas:
		return fmt.Errorf("replicas have no boot log (their instances attach no volume); --boot is for the cores")
	case kind != LogDebug && kind != LogQuery && kind != LogBoot:
		return fmt.Errorf("unknown log %q", kind)
	}
	return nil
}

// LogLine is one log event.
type LogLine struct {
	Time    time.Time `json:"time"`
	Member  string    `json:"member"` // core-2, replica/<task>, backup/<task>, admin
	Stream  string    `json:"stream"`
	Message string    `json:"message"`
	id      string    // CloudWatch's event id, to drop a repeat
}

// streamSet is which streams of a log group carry the lines asked for: those listed under
// each prefix whose names match.
type streamSet struct {
	group    string
	prefixes func(since, until time.Time) []string
	match    *regexp.Regexp
	label    func(stream string) string
}

// streamsFor maps options to streams (see naming's stream layout).
func streamsFor(cluster string, o LogsOptions) streamSet {
	kind := o.Kind
	if kind == "" {
		kind = LogNeo4j
	}
	fixed := func(p ...string) func(time.Time, time.Time) []string {
		return func(time.Time, time.Time) []string { return p }
	}
	group := naming.LogGroup(cluster)
	switch o.Member {
	case MemberAdmin:
		fn := naming.Function(cluster, naming.HandlerAdmin)
		return streamSet{group: naming.LambdaLogGroup(cluster), prefixes: lambdaPrefixes(fn),
			match: regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/` + regexp.QuoteMeta(fn) + `\[`), label: func(string) string { return MemberAdmin }}
	case MemberBackup:
		p := naming.LogStreamPrefixBackup + "/"
		return streamSet{group: group, prefixes: fixed(p), match: regexp.MustCompile("^" + p), label: taskLabel}
	case MemberReplicas:
		if kind == LogNeo4j {
			p := naming.LogStreamPrefixReplica + "/" + naming.ContainerNeo4j + "/"
			return streamSet{group: group, prefixes: fixed(p), match: regexp.MustCompile("^" + p), label: taskLabel}
		}
		// the agent ships a replica's logs as replica-<host>/<log>
		return streamSet{group: group, prefixes: fixed("replica-"), match: regexp.MustCompile(`^replica-[^/]+/` + kind + `$`), label: memberLabel}
	case "":
		re := `^core-[0-9]+/` + kind + `$`
		if kind == LogNeo4j {
			re = `^(core-[0-9]+/neo4j/|replica/neo4j/)`
		} else if kind != LogBoot {
			re = `^(core-[0-9]+|replica-[^/]+)/` + kind + `$`
		}
		return streamSet{group: group, prefixes: fixed("core-", "replica"), match: regexp.MustCompile(re), label: anyLabel}
	}
	p := o.Member + "/" + kind // core-N
	if kind == LogNeo4j {
		p = naming.LogStreamContainerPrefix(o.Member)
		return streamSet{group: group, prefixes: fixed(p), match: regexp.MustCompile("^" + regexp.QuoteMeta(p)), label: memberLabel}
	}
	return streamSet{group: group, prefixes: fixed(p), match: regexp.MustCompile("^" + regexp.QuoteMeta(p) + "$"), label: memberLabel}
}

// lambdaPrefixes are a function's stream prefixes in a custom log group, one a day:
// YYYY/MM/DD/<function>[<version>]<environment id>.
func lambdaPrefixes(fn string) func(since, until time.Time) []string {
	return func(since, until time.Time) []string {
		var out []string
		for d := since.UTC().Truncate(24 * time.Hour); !d.After(until.UTC()); d = d.Add(24 * time.Hour) {
			out = append(out, d.Format("2006/01/02")+"/"+fn+"[")
		}
		return out
	}
}

// memberLabel: the member is the stream's first part (core-2/neo4j/<task>, core-2/query).
func memberLabel(stream string) string { return strings.SplitN(stream, "/", 2)[0] }

// taskLabel: a task's streams are <prefix>/<container>/<task id>; replicas and backups
// have several tasks, told apart by the id's start.
func taskLabel(stream string) string {
	parts := strings.Split(stream, "/")
	id := parts[len(parts)-1]
	return parts[0] + "/" + id[:min(8, len(id))]
}

func anyLabel(stream string) string {
	if strings.HasPrefix(stream, naming.LogStreamPrefixReplica+"/") {
		return taskLabel(stream)
	}
	return memberLabel(stream)
}

// LogsAPI is what logs reads of CloudWatch Logs.
type LogsAPI interface {
	DescribeLogStreams(context.Context, *cloudwatchlogs.DescribeLogStreamsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error)
	FilterLogEvents(context.Context, *cloudwatchlogs.FilterLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// NoLogsError: no stream carries what was asked for.
type NoLogsError struct {
	Cluster, Group, What string
	Members              []string // members that have streams, to pick from
	NoGroup              bool
}

func (e *NoLogsError) Error() string {
	if e.NoGroup {
		return fmt.Sprintf("there is no log group %s: no cluster %s in this region, or its shared stack is gone; list clusters with `neo4jctl get cluster`", e.Group, e.Cluster)
	}
	msg := fmt.Sprintf("no %s in log group %s", e.What, e.Group)
	if len(e.Members) > 0 {
		msg += " (streams exist for " + strings.Join(e.Members, ", ") + ")"
	}
	return msg
}

// Logs reads a cluster's log streams from CloudWatch Logs, interleaved by time.
type Logs struct {
	*Cluster
	API          LogsAPI
	Clock        engine.Clock
	PollInterval time.Duration // --follow: how often to look for new lines (default 2s)
	// Lag is how far back each --follow poll looks again for lines CloudWatch took in late
	// (default 15s); lines seen already are dropped by their event id.
	Lag time.Duration
	// Tail starts Live Tail sessions (LiveTail); nil: LiveTail polls.
	Tail LiveTailer
}

// NewLogs is logs on the handle's clients.
func NewLogs(c *Cluster) *Logs {
	return &Logs{Cluster: c, API: c.AWS.Logs, Tail: SDKLiveTail{Client: c.AWS.Logs}}
}

// Read hands every line since o.Since to out in time order, then with Follow keeps polling
// for new ones until ctx ends (which is not an error then).
func (l *Logs) Read(ctx context.Context, o LogsOptions, out func(LogLine) error) error {
	set := streamsFor(l.Name, o)
	clock := wallClock(l.Clock)
	streams, err := l.streams(ctx, set, o.Since, clock.Now())
	if err != nil {
		return err
	}
	if len(streams) == 0 && !o.Follow {
		return l.noLogs(ctx, set, o)
	}
	p := &poller{l: l, set: set, o: o, seen: map[string]int64{}, streams: streams, out: out}
	if err := p.poll(ctx, o.Since, time.Time{}); err != nil || !o.Follow {
		return err
	}
	return p.follow(ctx, clock)
}

// streams lists the streams of the set that may hold lines after since (a stream's last
// ingestion is updated lazily by CloudWatch: an hour of slack).
func (l *Logs) streams(ctx context.Context, set streamSet, since, until time.Time) ([]string, error) {
	var out []string
	for _, prefix := range set.prefixes(since, until) {
		p := cloudwatchlogs.NewDescribeLogStreamsPaginator(l.API, &cloudwatchlogs.DescribeLogStreamsInput{
			LogGroupName: aws.String(set.group), LogStreamNamePrefix: aws.String(prefix)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			var nf *cwltypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				return nil, &NoLogsError{Cluster: l.Name, Group: set.group, NoGroup: true}
			}
			if err != nil {
				return nil, fmt.Errorf("listing the log streams of %s: %w", set.group, err)
			}
			for _, s := range page.LogStreams {
				name := aws.ToString(s.LogStreamName)
				last := max(aws.ToInt64(s.LastIngestionTime), aws.ToInt64(s.LastEventTimestamp), aws.ToInt64(s.CreationTime))
				if set.match.MatchString(name) && (last == 0 || last >= since.Add(-time.Hour).UnixMilli()) && !slices.Contains(out, name) {
					out = append(out, name)
				}
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// noLogs says what is missing, naming the members that do have streams.
func (l *Logs) noLogs(ctx context.Context, set streamSet, o LogsOptions) error {
	what := "log streams"
	if o.Member != "" {
		what += " of " + o.Member
	}
	if o.Kind != "" && o.Kind != LogNeo4j {
		what = o.Kind + " " + what + fmt.Sprintf(" (is monitoring.%s on?)", map[string]string{LogDebug: "debugLog", LogQuery: "slowQueryLog.enabled", LogBoot: "- boot logs come from the cores' user data"}[o.Kind])
	}
	e := &NoLogsError{Cluster: l.Name, Group: set.group, What: what + " since " + o.Since.UTC().Format(time.RFC3339)}
	all, err := l.streams(ctx, streamSet{group: set.group, prefixes: func(time.Time, time.Time) []string { return []string{""} },
		match: regexp.MustCompile(`.`)}, time.Time{}, time.Time{})
	if err != nil {
		return e
	}
	for _, s := range all {
		if m := anyLabel(s); !slices.Contains(e.Members, m) && set.group == naming.LogGroup(l.Name) {
			e.Members = append(e.Members, m)
		}
	}
	return e
}

// poller reads the streams' events in time order, each once.
type poller struct {
	l       *Logs
	set     streamSet
	o       LogsOptions
	streams []string
	seen    map[string]int64 // event id -> timestamp, for the lines a later poll sees again
	last    int64            // newest timestamp handed out (ms)
	out     func(LogLine) error
}

// maxStreamNames is FilterLogEvents' limit of logStreamNames in one call.
const maxStreamNames = 100

// poll hands out the events from from on (until: zero is now) that were not handed out yet,
// in time order (FilterLogEvents interleaves streams, but only page by page).
func (p *poller) poll(ctx context.Context, from, until time.Time) error {
	var lines []LogLine
	for i := 0; i < len(p.streams); i += maxStreamNames {
		in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(p.set.group),
			LogStreamNames: p.streams[i:min(i+maxStreamNames, len(p.streams))], StartTime: aws.Int64(from.UnixMilli())}
		if !until.IsZero() {
			in.EndTime = aws.Int64(until.UnixMilli())
		}
		if p.o.Grep != "" {
			in.FilterPattern = aws.String(grepPattern(p.o.Grep))
		}
		pages := cloudwatchlogs.NewFilterLogEventsPaginator(p.l.API, in)
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("reading %s: %w", p.set.group, err)
			}
			for _, e := range page.Events {
				id := aws.ToString(e.EventId)
				if _, dup := p.seen[id]; dup {
					continue
				}
				stream := aws.ToString(e.LogStreamName)
				lines = append(lines, LogLine{Time: time.UnixMilli(aws.ToInt64(e.Timestamp)).UTC(), Member: p.set.label(stream), Stream: stream,
					Message: strings.TrimRight(aws.ToString(e.Message), "\n"), id: id})
			}
		}
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].Time.Before(lines[j].Time) })
	for _, ln := range lines {
		p.seen[ln.id] = ln.Time.UnixMilli()
		p.last = max(p.last, ln.Time.UnixMilli())
		if err := p.out(ln); err != nil {
			return err
		}
	}
	for id, ts := range p.seen { // only the look-back window needs remembering
		if ts < from.UnixMilli() {
			delete(p.seen, id)
		}
	}
	return nil
}

// follow polls for new lines until ctx ends, looking Lag back each time for lines that
// CloudWatch took in late, and for new streams (a member's new task) every tenth poll.
func (p *poller) follow(ctx context.Context, clock engine.Clock) error {
	interval, lag := cmp.Or(p.l.PollInterval, 2*time.Second), cmp.Or(p.l.Lag, 15*time.Second)
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-clock.After(interval):
		}
		from := p.o.Since
		if p.last > 0 {
			from = maxTime(from, time.UnixMilli(p.last).Add(-lag))
		}
		if n%10 == 0 || len(p.streams) == 0 {
			streams, err := p.l.streams(ctx, p.set, from, clock.Now())
			if err != nil {
				return ignoreCanceled(ctx, err)
			}
			p.streams = streams
		}
		if len(p.streams) == 0 {
			continue
		}
		if err := p.poll(ctx, from, time.Time{}); err != nil {
			return ignoreCanceled(ctx, err)
		}
	}
}

// grepPattern is a CloudWatch Logs filter pattern matching text as is: a quoted term.
func grepPattern(text string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(text, `\`, `\\`), `"`, `\"`) + `"`
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// ignoreCanceled: an error because ctx ended is the end of a follow, not a failure.
func ignoreCanceled(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
