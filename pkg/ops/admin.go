package ops

import (
	"context"
	"errors"
	"fmt"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// AdminChannel carries one typed admin request (pkg/neo4jadmin's versioned contract) to the
// cluster's Neo4j and brings back the typed answer. Two implementations: LambdaChannel, the
// admin Lambda inside the VPC (the default: the cluster is private; the function reads the
// admin password from Secrets Manager itself), and BoltChannel, direct Bolt with --bolt-uri
// (credentials from NEO4J_USERNAME/NEO4J_PASSWORD, else the cluster's admin secret).
// Actions that need Neo4j's view (get's verdict, create's wait for a formed cluster, the
// health gates of restart/scale/upgrade, restore) take it from Cluster.Admin and refuse
// when it is nil. A command obtains one with cmd/neo4jctl's adminChannel helper, which
// also gives it the --bolt-uri flag.
//
// Send's error is nil exactly when the answer is OK. A failed answer comes back with its
// error read through neo4jadmin.CheckContract (a *neo4jadmin.Error: an older function's
// refusal of a newer request is upgrade-required, "run `neo4jctl update cluster`"), so
// neo4jadmin.IsCode works on it. A request that got no answer from Neo4j's side (the
// function is missing, failed or timed out; --bolt-uri unreachable or refusing the
// credentials) fails with a *ChannelError that says what to do, wrapping the cause.
//
// Each Send is short (one invocation, well under a minute): a long wait is a poll of
// Sends by the caller. Mutating requests carry an idempotency key (one is made when the
// caller set none), so a retried invocation never acts twice.
type AdminChannel interface {
	Send(ctx context.Context, req neo4jadmin.Request) (neo4jadmin.Response, error)
}

// Why a request got no answer (ChannelError.Reason).
const (
	ReasonNotDeployed = "not deployed"     // the admin function does not exist
	ReasonFailed      = "function error"   // the function crashed or was killed
	ReasonTimeout     = "timed out"        // no answer in time
	ReasonDenied      = "not allowed"      // IAM refused the invocation
	ReasonBadAnswer   = "not an answer"    // the function answered something else
	ReasonAuth        = "refused login"    // Neo4j refused the credentials
	ReasonUnreachable = "unreachable"      // Neo4j (or a routed member) cannot be reached
	ReasonAWS         = "AWS call failed"  // the Lambda or Secrets Manager API refused the call
	ReasonNoCreds     = "no credentials"   // neither NEO4J_* variables nor the admin secret
	ReasonNotLeader   = "not the leader"   // an admin change on a member that cannot make it
	ReasonUnsupported = "not through this" // the channel cannot carry the request
)

// ChannelError is an admin request that got no answer from Neo4j's side. Its message is
// one line: where the request went, what went wrong, the cause and what to do next.
type ChannelError struct {
	Via    string // "admin function neo4jctl-x-operations" or the --bolt-uri
	Reason string // Reason*
	Detail string // AWS's, the function's or the driver's words
	Next   string // what to do
	Err    error  // the cause, for errors.As (nil when Detail says it all)
}

func (e *ChannelError) Error() string {
	msg := e.Via + ": " + e.Reason
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	if e.Next != "" {
		msg += "; " + e.Next
	}
	return msg
}

func (e *ChannelError) Unwrap() error { return e.Err }

// AsChannelError finds a ChannelError in err's chain.
func AsChannelError(err error) (*ChannelError, bool) {
	var ce *ChannelError
	ok := errors.As(err, &ce)
	return ce, ok
}

// sendOK sends a request and requires an OK answer of the right shape: the answer, or an
// error saying which request failed.
func sendOK(ctx context.Context, ch AdminChannel, req neo4jadmin.Request) (neo4jadmin.Response, error) {
	if ch == nil {
		return neo4jadmin.Response{}, fmt.Errorf("admin request %s: no admin channel", req.Type)
	}
	resp, err := ch.Send(ctx, req)
	if err != nil {
		return resp, err
	}
	if (req.Type == neo4jadmin.ReqStatus || req.Type == neo4jadmin.ReqHealth) && resp.Status == nil {
		return resp, fmt.Errorf("admin request %s: the answer carries no status", req.Type)
	}
	return resp, nil
}
