package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// Live Tail (logs --live-tail) is the one part of logs that the emulator cannot run (moto
// has no StartLiveTail): it is kept apart here, and wherever it is not available logs falls
// back to polling, the path the moto tests take.

// LiveTailer starts a CloudWatch Logs Live Tail session and returns its event stream.
type LiveTailer interface {
	// LogGroupARN is the group's ARN without the trailing :* (what StartLiveTail takes).
	LogGroupARN(ctx context.Context, group string) (string, error)
	Start(ctx context.Context, in *cloudwatchlogs.StartLiveTailInput) (*cloudwatchlogs.StartLiveTailEventStream, error)
}

// SDKLiveTail is LiveTailer over the SDK client.
type SDKLiveTail struct{ Client *cloudwatchlogs.Client }

func (s SDKLiveTail) LogGroupARN(ctx context.Context, group string) (string, error) {
	out, err := s.Client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
	if err != nil {
		return "", err
	}
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) == group {
			return strings.TrimSuffix(aws.ToString(g.Arn), ":*"), nil
		}
	}
	return "", &NoLogsError{Group: group, NoGroup: true}
}

func (s SDKLiveTail) Start(ctx context.Context, in *cloudwatchlogs.StartLiveTailInput) (*cloudwatchlogs.StartLiveTailEventStream, error) {
	var opts []func(*cloudwatchlogs.Options)
	if s.Client.Options().BaseEndpoint != nil {
		// an emulator, proxy or VPC endpoint (AWS_ENDPOINT_URL): its stream- host would not
		// resolve; it answers for itself whether it has Live Tail
		opts = append(opts, func(o *cloudwatchlogs.Options) { o.APIOptions = append(o.APIOptions, noHostPrefix) })
	}
	out, err := s.Client.StartLiveTail(ctx, in, opts...)
	if err != nil {
		return nil, err
	}
	return out.GetStream(), nil
}

// noHostPrefix sends the request to the endpoint itself rather than stream-<endpoint>.
func noHostPrefix(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("neo4jctlNoHostPrefix",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
		}), middleware.Before)
}

// LiveTailUnavailable: logs polls instead.
type LiveTailUnavailable struct{ Reason string }

func (e LiveTailUnavailable) String() string {
	return "Live Tail is not available here (" + e.Reason + "); polling every 2s instead"
}

// LiveTailSampled: the session carries only a sample (more than 500 lines a second).
type LiveTailSampled struct{}

func (LiveTailSampled) String() string {
	return "Warning: Live Tail is sampling (over 500 lines a second): lines are missing; narrow it with --member or --grep"
}

// LiveTailEnded: the session ended (Live Tail sessions last at most 3 hours); logs polls on.
type LiveTailEnded struct{ Reason string }

func (e LiveTailEnded) String() string {
	return "Live Tail session ended (" + e.Reason + "); polling every 2s from here"
}

// LiveTail prints the lines since o.Since, then the new ones from a Live Tail session until
// ctx ends. The session starts first and its lines are held until the history is out, so no
// line falls between the two; a line both carry is printed once.
func (l *Logs) LiveTail(ctx context.Context, o LogsOptions, out func(LogLine) error) error {
	if l.Tail == nil {
		l.emit(LiveTailUnavailable{Reason: "no Live Tail client"})
		return l.Read(ctx, o, out)
	}
	set := streamsFor(l.Name, o)
	stream, err := l.startTail(ctx, set, o)
	if err != nil {
		l.emit(LiveTailUnavailable{Reason: shortReason(err)})
		return l.Read(ctx, o, out)
	}
	defer stream.Close()
	printed := map[string]bool{}
	var last time.Time
	history := o
	history.Follow = false
	err = l.Read(ctx, history, func(ln LogLine) error {
		printed[tailKey(ln.Stream, ln.Time, ln.Message)], last = true, ln.Time
		return out(ln)
	})
	var none *NoLogsError
	if err != nil && !(errors.As(err, &none) && !none.NoGroup) {
		return err
	}
	return l.tail(ctx, set, o, stream, func(ln LogLine) error {
		if !ln.Time.After(last) && printed[tailKey(ln.Stream, ln.Time, ln.Message)] {
			return nil
		}
		return out(ln)
	})
}

// startTail starts the session over the set's log group (narrowed by stream prefix where
// the set has fixed ones; the set's pattern picks the streams in the end).
func (l *Logs) startTail(ctx context.Context, set streamSet, o LogsOptions) (*cloudwatchlogs.StartLiveTailEventStream, error) {
	arn, err := l.Tail.LogGroupARN(ctx, set.group)
	if err != nil {
		return nil, err
	}
	in := &cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{arn}}
	if set.group == naming.LogGroup(l.Name) {
		in.LogStreamNamePrefixes = set.prefixes(o.Since, o.Since)
	}
	if o.Grep != "" {
		in.LogEventFilterPattern = aws.String(grepPattern(o.Grep))
	}
	return l.Tail.Start(ctx, in)
}

// tail hands out the session's lines of the set until ctx ends; a session that ends is
// followed by polling from its last line.
func (l *Logs) tail(ctx context.Context, set streamSet, o LogsOptions, stream *cloudwatchlogs.StartLiveTailEventStream, out func(LogLine) error) error {
	sampled := false
	last := o.Since
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-stream.Events():
			if !ok {
				reason := "closed"
				if err := stream.Err(); err != nil {
					reason = err.Error()
				}
				l.emit(LiveTailEnded{Reason: reason})
				o.Since = last
				return l.Read(ctx, o, out)
			}
			upd, isUpdate := ev.(*cwltypes.StartLiveTailResponseStreamMemberSessionUpdate)
			if !isUpdate {
				continue // sessionStart
			}
			if m := upd.Value.SessionMetadata; m != nil && m.Sampled && !sampled {
				sampled = true
				l.emit(LiveTailSampled{})
			}
			for _, e := range upd.Value.SessionResults {
				name := aws.ToString(e.LogStreamName)
				if !set.match.MatchString(name) {
					continue
				}
				ln := LogLine{Time: time.UnixMilli(aws.ToInt64(e.Timestamp)).UTC(), Member: set.label(name), Stream: name,
					Message: strings.TrimRight(aws.ToString(e.Message), "\n")}
				last = maxTime(last, ln.Time)
				if err := out(ln); err != nil {
					return err
				}
			}
		}
	}
}

// shortReason is why a call failed, in a few words: AWS's error code and message, or the
// endpoint's HTTP status.
func shortReason(err error) string {
	var ae smithy.APIError
	var re *awshttp.ResponseError
	switch {
	case errors.As(err, &ae):
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	case errors.As(err, &re):
		return fmt.Sprintf("the endpoint answered HTTP %d", re.HTTPStatusCode())
	}
	return err.Error()
}

func tailKey(stream string, t time.Time, msg string) string {
	return fmt.Sprintf("%s\x00%d\x00%s", stream, t.UnixMilli(), msg)
}
