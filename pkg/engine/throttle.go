package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
)

// DefaultMaxThrottled is how long the engine keeps trying while CloudFormation throttles
// every request (Engine.MaxThrottled).
const DefaultMaxThrottled = 10 * time.Minute

// ThrottledError: CloudFormation throttled every request for Engine.MaxThrottled; the
// engine gave up. Whatever CloudFormation was doing carries on.
type ThrottledError struct {
	What string        // what the engine was doing, e.g. "looking at stack x"
	For  time.Duration // how long every request was throttled
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("CloudFormation throttled every request for %s (%s): the account's CloudFormation request rate is used up, "+
		"often by other tools polling it (CloudTrail shows which); wait a few minutes, then run the command again", e.For.Round(time.Second), e.What)
}

// throttle follows one loop's run of throttled requests.
type throttle struct {
	since    time.Time     // first throttled request of the run
	interval time.Duration // the wait before the next try
}

// throttled records a throttled request; once the run lasts MaxThrottled it is an error.
func (e *Engine) throttled(th *throttle, what string) error {
	now := e.clock().Now()
	if th.since.IsZero() {
		th.since = now
	}
	if waited := now.Sub(th.since); waited >= e.maxThrottled() {
		return &ThrottledError{What: what, For: waited}
	}
	return nil
}

func (e *Engine) maxThrottled() time.Duration {
	if e.MaxThrottled <= 0 {
		return DefaultMaxThrottled
	}
	return e.MaxThrottled
}

// noteThrottled tells the user why nothing moves.
func (e *Engine) noteThrottled(wait time.Duration, what string) {
	e.progress().Note(fmt.Sprintf("throttled by CloudFormation, retrying in %s (%s)", wait.Round(time.Second), what))
}

// retry calls f until CloudFormation stops throttling it, waiting twice as long each time
// (up to MaxPollInterval), for at most MaxThrottled. A throttled request did nothing, so
// sending it again is safe whatever it does.
func (e *Engine) retry(ctx context.Context, what string, f func() error) error {
	var th throttle
	for {
		err := f()
		if !awsapi.IsThrottle(err) {
			return err
		}
		if terr := e.throttled(&th, what); terr != nil {
			return terr
		}
		th.interval = min(max(th.interval*2, e.interval()*2), e.maxInterval())
		e.noteThrottled(th.interval, what)
		if serr := e.sleep(ctx, e.jittered(th.interval)); serr != nil {
			return serr
		}
	}
}
