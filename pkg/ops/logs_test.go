package ops

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
)

// fakeLogGroups is a FAKE CloudWatch Logs: streams of events, FilterLogEvents by stream
// names (at most 100, as AWS allows), time and quoted term, three events a page.
type fakeLogGroups struct {
	mu      sync.Mutex
	streams map[string][]cwltypes.FilteredLogEvent // group/stream -> events
	filters int
	n       int
}

func (f *fakeLogGroups) put(group, stream string, at time.Time, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	k := group + "|" + stream
	f.streams[k] = append(f.streams[k], cwltypes.FilteredLogEvent{LogStreamName: aws.String(stream), Timestamp: aws.Int64(at.UnixMilli()),
		Message: aws.String(msg), EventId: aws.String(strconv.Itoa(f.n))})
}

func (f *fakeLogGroups) DescribeLogStreams(_ context.Context, in *cloudwatchlogs.DescribeLogStreamsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &cloudwatchlogs.DescribeLogStreamsOutput{}
	for _, k := range slices.Sorted(maps.Keys(f.streams)) {
		g, s, _ := strings.Cut(k, "|")
		if g == aws.ToString(in.LogGroupName) && strings.HasPrefix(s, aws.ToString(in.LogStreamNamePrefix)) {
			evs := f.streams[k]
			out.LogStreams = append(out.LogStreams, cwltypes.LogStream{LogStreamName: aws.String(s), LastIngestionTime: evs[len(evs)-1].Timestamp})
		}
	}
	return out, nil
}

func (f *fakeLogGroups) FilterLogEvents(_ context.Context, in *cloudwatchlogs.FilterLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters++
	if len(in.LogStreamNames) > 100 {
		return nil, apiErr("InvalidParameterException", "logStreamNames: at most 100")
	}
	term := strings.Trim(aws.ToString(in.FilterPattern), `"`)
	var all []cwltypes.FilteredLogEvent
	for _, s := range in.LogStreamNames {
		for _, e := range f.streams[aws.ToString(in.LogGroupName)+"|"+s] {
			if aws.ToInt64(e.Timestamp) >= aws.ToInt64(in.StartTime) && strings.Contains(aws.ToString(e.Message), term) {
				all = append(all, e)
			}
		}
	}
	start, _ := strconv.Atoi(aws.ToString(in.NextToken))
	out := &cloudwatchlogs.FilterLogEventsOutput{Events: all[start:min(start+3, len(all))]}
	if start+3 < len(all) {
		out.NextToken = aws.String(strconv.Itoa(start + 3))
	}
	return out, nil
}

var logsT0 = time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)

func newFakeLogs() *fakeLogGroups {
	f := &fakeLogGroups{streams: map[string][]cwltypes.FilteredLogEvent{}}
	g := "/neo4jctl/graph-dev"
	at := func(s int) time.Time { return logsT0.Add(time.Duration(s) * time.Second) }
	f.put(g, "core-2/neo4j/task-b", at(2), "two")
	f.put(g, "core-1/neo4j/task-a", at(1), "one")
	f.put(g, "core-1/neo4j/task-a", at(4), "four")
	f.put(g, "replica/neo4j/0123456789abcdef", at(3), "three")
	f.put(g, "replica-ip-10-0-1-5/query", at(5), "replica query")
	f.put(g, "core-1/query", at(6), "core query")
	f.put(g, "core-10/boot", at(7), "boot of core-10")
	f.put(g, "backup/backup/feedfacecafe", at(8), "backup report")
	f.put("/neo4jctl/graph-dev/lambda", "2026/11/26/neo4jctl-graph-dev-operations[$LATEST]abc", at(9), "admin line")
	f.put("/neo4jctl/graph-dev/lambda", "2026/11/26/neo4jctl-graph-dev-dns-sync[$LATEST]def", at(9), "dns line")
	return f
}

func readLogs(t *testing.T, l *Logs, o LogsOptions) []string {
	t.Helper()
	var got []string
	if err := l.Read(context.Background(), o, func(ln LogLine) error {
		got = append(got, "["+ln.Member+"] "+ln.Message)
		return nil
	}); err != nil {
		t.Fatalf("%+v: %v", o, err)
	}
	return got
}

// TestLogsStreams: each member and log maps to its streams, labelled, interleaved by time.
func TestLogsStreams(t *testing.T) {
	f := newFakeLogs()
	l := &Logs{Cluster: &Cluster{Name: "graph-dev"}, API: f}
	since := logsT0.Add(-time.Minute)
	for _, tc := range []struct {
		o    LogsOptions
		want string
	}{
		{LogsOptions{}, "[core-1] one,[core-2] two,[replica/01234567] three,[core-1] four"},
		{LogsOptions{Member: "core-1"}, "[core-1] one,[core-1] four"},
		{LogsOptions{Member: "replicas"}, "[replica/01234567] three"},
		{LogsOptions{Kind: LogQuery}, "[replica-ip-10-0-1-5] replica query,[core-1] core query"},
		{LogsOptions{Member: "replicas", Kind: LogQuery}, "[replica-ip-10-0-1-5] replica query"},
		{LogsOptions{Kind: LogBoot}, "[core-10] boot of core-10"},
		{LogsOptions{Member: "backup"}, "[backup/feedface] backup report"},
		{LogsOptions{Member: "admin"}, "[admin] admin line"},
		{LogsOptions{Grep: "f"}, "[core-1] four"},
	} {
		tc.o.Since = since
		if got := strings.Join(readLogs(t, l, tc.o), ","); got != tc.want {
			t.Errorf("%+v:\n got %s\nwant %s", tc.o, got, tc.want)
		}
	}
	for _, o := range []LogsOptions{{Member: "core-0"}, {Member: "replicas", Kind: LogBoot}, {Member: "admin", Kind: LogDebug}, {Member: "replica"}} {
		if o.Validate() == nil {
			t.Errorf("%+v validated", o)
		}
	}
}

// TestLogsManyStreams: more streams than FilterLogEvents takes at once are read in calls of
// 100 and still come out in time order.
func TestLogsManyStreams(t *testing.T) {
	f := &fakeLogGroups{streams: map[string][]cwltypes.FilteredLogEvent{}}
	for i := range 250 {
		f.put("/neo4jctl/graph-dev", fmt.Sprintf("replica/neo4j/task%03d", i), logsT0.Add(time.Duration(250-i)*time.Second), fmt.Sprint(250-i))
	}
	l := &Logs{Cluster: &Cluster{Name: "graph-dev"}, API: f}
	got := readLogs(t, l, LogsOptions{Member: "replicas", Since: logsT0})
	if len(got) != 250 || got[0] != "[replica/task249] 1" || got[249] != "[replica/task000] 250" {
		t.Fatalf("%d lines: first %q last %q", len(got), got[0], got[len(got)-1])
	}
}

// TestLogsFollow: new lines and new streams come out once each, lines taken in late (within
// the look-back) too; the end of ctx ends the follow without an error.
func TestLogsFollow(t *testing.T) {
	f := newFakeLogs()
	clock := engine.NewFakeClock(logsT0.Add(10*time.Second), false)
	l := &Logs{Cluster: &Cluster{Name: "graph-dev"}, API: f, Clock: clock, PollInterval: 2 * time.Second, Lag: 15 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	lines := make(chan string, 100)
	done := make(chan error, 1)
	go func() {
		done <- l.Read(ctx, LogsOptions{Member: "core-1", Since: logsT0, Follow: true}, func(ln LogLine) error {
			lines <- ln.Message
			return nil
		})
	}()
	next := func() string {
		select {
		case s := <-lines:
			return s
		case <-time.After(10 * time.Second):
			t.Fatal("no line")
		}
		return ""
	}
	if a, b := next(), next(); a != "one" || b != "four" {
		t.Fatalf("history: %s %s", a, b)
	}
	steps := []struct {
		stream string
		at     int
		msg    string
	}{
		{"core-1/neo4j/task-a", 11, "eleven"},
		{"core-1/neo4j/task-c", 12, "from a new task"}, // found at the tenth poll's stream refresh
		{"core-1/neo4j/task-a", 9, "taken in late"},
	}
	for _, s := range steps {
		f.put("/neo4jctl/graph-dev", s.stream, logsT0.Add(time.Duration(s.at)*time.Second), s.msg)
		for got := ""; got == ""; {
			clock.Advance(2 * time.Second)
			select {
			case got = <-lines:
				if got != s.msg {
					t.Fatalf("got %q, want %q", got, s.msg)
				}
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	clock.Advance(2 * time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("follow ended with %v", err)
	}
	select {
	case s := <-lines:
		t.Fatalf("a line came twice: %s", s)
	default:
	}
}

// fakeTail is a FAKE Live Tail: a session whose updates the test sends (moto has no Live
// Tail); the SDK's own event stream type carries them.
type fakeTail struct {
	ch      chan cwltypes.StartLiveTailResponseStream
	started []*cloudwatchlogs.StartLiveTailInput
	refuse  error
}

func (f *fakeTail) LogGroupARN(_ context.Context, group string) (string, error) {
	return "arn:aws:logs:eu-west-1:1:log-group:" + group, nil
}

func (f *fakeTail) Start(_ context.Context, in *cloudwatchlogs.StartLiveTailInput) (*cloudwatchlogs.StartLiveTailEventStream, error) {
	f.started = append(f.started, in)
	if f.refuse != nil {
		return nil, f.refuse
	}
	return cloudwatchlogs.NewStartLiveTailEventStream(func(es *cloudwatchlogs.StartLiveTailEventStream) { es.Reader = f }), nil
}

func (f *fakeTail) Events() <-chan cwltypes.StartLiveTailResponseStream { return f.ch }
func (f *fakeTail) Close() error                                        { return nil }
func (f *fakeTail) Err() error                                          { return nil }

func update(sampled bool, events ...cwltypes.LiveTailSessionLogEvent) *cwltypes.StartLiveTailResponseStreamMemberSessionUpdate {
	return &cwltypes.StartLiveTailResponseStreamMemberSessionUpdate{Value: cwltypes.LiveTailSessionUpdate{
		SessionMetadata: &cwltypes.LiveTailSessionMetadata{Sampled: sampled}, SessionResults: events}}
}

func tailEvent(stream string, s int, msg string) cwltypes.LiveTailSessionLogEvent {
	return cwltypes.LiveTailSessionLogEvent{LogStreamName: aws.String(stream), Timestamp: aws.Int64(logsT0.Add(time.Duration(s) * time.Second).UnixMilli()), Message: aws.String(msg)}
}

// TestLiveTail: the session starts before the history is read, a line both carry comes out
// once, lines of other streams under the prefix are left out, sampling is reported, and a
// session that ends goes on by polling. Where Live Tail is refused, logs polls.
func TestLiveTail(t *testing.T) {
	f := newFakeLogs()
	tail := &fakeTail{ch: make(chan cwltypes.StartLiveTailResponseStream, 10)}
	rec := &recorder{}
	clock := engine.NewFakeClock(logsT0.Add(10*time.Second), false)
	l := &Logs{Cluster: &Cluster{Name: "graph-dev", Events: rec}, API: f, Clock: clock, Tail: tail}
	tail.ch <- &cwltypes.StartLiveTailResponseStreamMemberSessionStart{}
	tail.ch <- update(false, tailEvent("core-1/neo4j/task-a", 4, "four"), tailEvent("core-1/query", 5, "a query line"), tailEvent("core-1/neo4j/task-a", 11, "eleven"))
	tail.ch <- update(true, tailEvent("core-1/neo4j/task-a", 12, "twelve"))
	close(tail.ch)
	ctx, cancel := context.WithCancel(context.Background())
	var got []string
	done := make(chan error, 1)
	go func() {
		done <- l.LiveTail(ctx, LogsOptions{Member: "core-1", Since: logsT0, Follow: true}, func(ln LogLine) error {
			got = append(got, ln.Message)
			if ln.Message == "twelve" {
				cancel()
			}
			return nil
		})
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "one,four,eleven,twelve" { // four: history and session both
		t.Errorf("lines: %q", got)
	}
	in := tail.started[0]
	if in.LogGroupIdentifiers[0] != "arn:aws:logs:eu-west-1:1:log-group:/neo4jctl/graph-dev" || in.LogStreamNamePrefixes[0] != "core-1/neo4j/" || in.LogEventFilterPattern != nil {
		t.Errorf("session: %+v", in)
	}
	if _, ok := eventOf[LiveTailSampled](rec); !ok {
		t.Error("sampling not reported")
	}

	// refused (no permission, or an endpoint without Live Tail): polling
	tail = &fakeTail{refuse: apiErr("AccessDeniedException", "not authorized to perform logs:StartLiveTail")}
	l.Tail, rec.events = tail, nil
	ctx, cancel = context.WithCancel(context.Background())
	got = nil
	err := l.LiveTail(ctx, LogsOptions{Member: "core-2", Since: logsT0, Follow: true}, func(ln LogLine) error {
		got = append(got, ln.Message)
		cancel()
		return nil
	})
	if ev, ok := eventOf[LiveTailUnavailable](rec); err != nil || !ok || !strings.Contains(ev.String(), "AccessDeniedException: not authorized") || strings.Join(got, ",") != "two" {
		t.Errorf("refused: %v %q %v", err, got, rec.lines())
	}
}
