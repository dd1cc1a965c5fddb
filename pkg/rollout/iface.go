package rollout

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// Admin carries one typed admin request to the cluster's Neo4j and brings back the answer
// (the same method as ops.AdminChannel, so the CLI's channel plugs in as it is).
type Admin interface {
	Send(ctx context.Context, req neo4jadmin.Request) (neo4jadmin.Response, error)
}

// Clock is the time rolling work waits on: the real one, or a simulator's in tests.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends (then it returns ctx's error).
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time { return time.Now() }

func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// send runs one request and turns a failed answer into an error (with the contract's
// upgrade-required reading of an older function's refusal).
func send(ctx context.Context, a Admin, req neo4jadmin.Request) (neo4jadmin.Response, error) {
	resp, err := a.Send(ctx, req)
	if err != nil {
		return resp, fmt.Errorf("admin request %s: %w", req.Type, err)
	}
	if err := neo4jadmin.CheckContract(req, resp); err != nil {
		return resp, fmt.Errorf("admin request %s: %w", req.Type, err)
	}
	return resp, nil
}

// status reads SHOW SERVERS, SHOW DATABASES and statusCheck.
func status(ctx context.Context, a Admin) (*neo4jadmin.Status, error) {
	resp, err := send(ctx, a, neo4jadmin.Request{Type: neo4jadmin.ReqStatus})
	if err != nil {
		return nil, err
	}
	if resp.Status == nil {
		return nil, fmt.Errorf("admin request status: the answer has no status")
	}
	return resp.Status, nil
}

// permanent reports whether an admin error will not go away by waiting: a poll stops on it
// instead of retrying until the timeout.
func permanent(err error) bool {
	for _, code := range []string{neo4jadmin.CodeUnauthorized, neo4jadmin.CodeUpgradeRequired,
		neo4jadmin.CodeInvalidRequest, neo4jadmin.CodeUnsupported} {
		if neo4jadmin.IsCode(err, code) {
			return true
		}
	}
	return false
}

// runID names one run in its requests' idempotency keys: a retried invocation of the same
// request is answered once, and a later run never replays an earlier run's answers.
func runID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
