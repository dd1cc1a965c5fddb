package ops

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// LambdaInvoker is the Lambda API the admin channel calls.
type LambdaInvoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// LambdaChannel is the AdminChannel through the cluster's admin Lambda (the operations
// stack's "operations" function, inside the VPC): one synchronous invocation per request,
// the JSON of pkg/neo4jadmin's contract in and out.
type LambdaChannel struct {
	API      LambdaInvoker
	Function string // neo4jctl-<cluster>-operations
	LogGroup string // where its logs are: /neo4jctl/<cluster>/lambda
	Region   string
	// Timeout bounds one request, cold start and retries included (default
	// DefaultInvokeTimeout).
	Timeout time.Duration
	// Clock paces the retries while a function is Pending or Inactive (default the wall clock).
	Clock engine.Clock
	// NewKey makes idempotency keys (default 16 random hex characters).
	NewKey func() string
}

// DefaultInvokeTimeout: the function stops its work after 40 s and is killed at 60 s; a cold
// start in a VPC adds seconds, and a function AWS has made Inactive needs a few more to
// come back.
const DefaultInvokeTimeout = 90 * time.Second

// NewLambdaChannel is the admin channel of cluster through api.
func NewLambdaChannel(cluster, region string, api LambdaInvoker) *LambdaChannel {
	return &LambdaChannel{API: api, Function: naming.Function(cluster, naming.HandlerAdmin), LogGroup: naming.LambdaLogGroup(cluster), Region: region}
}

// Send invokes the function with one request and reads its answer (see AdminChannel).
func (l *LambdaChannel) Send(ctx context.Context, req neo4jadmin.Request) (neo4jadmin.Response, error) {
	if req.Mutating() && req.IdempotencyKey == "" {
		req.IdempotencyKey = l.key()
	}
	payload, err := neo4jadmin.Encode(req)
	if err != nil {
		return neo4jadmin.Response{Type: req.Type}, fmt.Errorf("encoding admin request %s: %w", req.Type, err)
	}
	out, err := l.invoke(ctx, payload, req.Mutating())
	if err != nil {
		return neo4jadmin.Response{Type: req.Type}, err
	}
	return l.answer(req, out)
}

// Via says where requests go, for messages.
func (l *LambdaChannel) Via() string { return "admin function " + l.Function }

func (l *LambdaChannel) key() string {
	if l.NewKey != nil {
		return l.NewKey()
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// invoke calls the function, waiting out the states in which Lambda refuses to run it yet
// (Pending after a deployment, Inactive after weeks unused): nothing ran, so trying again is
// safe whatever the request.
func (l *LambdaChannel) invoke(ctx context.Context, payload []byte, mutating bool) (*lambda.InvokeOutput, error) {
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = DefaultInvokeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	clock := l.Clock
	if clock == nil {
		clock = engine.RealClock{}
	}
	in := &lambda.InvokeInput{FunctionName: aws.String(l.Function), Payload: payload}
	for {
		out, err := l.API.Invoke(ctx, in, retryOnlyWhereSafe(mutating))
		if err == nil || !notRunnableYet(err) {
			return out, l.invokeError(ctx, err, timeout)
		}
		select {
		case <-ctx.Done():
			return nil, l.invokeError(ctx, ctx.Err(), timeout)
		case <-clock.After(3 * time.Second):
		}
	}
}

// notRunnableYet: Lambda refused to start the function because of its state, not the request.
func notRunnableYet(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "ResourceNotReadyException", "ENINotReadyException":
		return true
	case "ResourceConflictException":
		m := ae.ErrorMessage()
		return strings.Contains(m, "Pending") || strings.Contains(m, "Inactive")
	}
	return false
}

// retryOnlyWhereSafe keeps the SDK's retries for requests that change nothing. A mutating
// request is retried only when Lambda certainly did not run it (throttled, no capacity to
// start it, the connection never made); a timeout or a dropped connection after sending
// may have run it, and an environment other than the one that ran it would not recognise
// the idempotency key of a request still running.
func retryOnlyWhereSafe(mutating bool) func(*lambda.Options) {
	return func(o *lambda.Options) {
		if !mutating || o.Retryer == nil {
			return
		}
		attempts := o.Retryer.MaxAttempts()
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = attempts
			so.RateLimiter = ratelimit.None
			so.Retryables = []retry.IsErrorRetryable{
				retry.RetryableErrorCode{Codes: map[string]struct{}{
					"TooManyRequestsException": {}, "EC2ThrottledException": {}, "ResourceNotReadyException": {},
					"ENILimitReachedException": {}, "SubnetIPAddressLimitReachedException": {},
				}},
				retry.IsErrorRetryableFunc(func(err error) aws.Ternary { return aws.BoolTernary(neverSent(err)) }),
			}
		})
	}
}

// neverSent: the connection could not be made, so the request never left.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// invokeError turns a failed invocation into what to do about it.
func (l *LambdaChannel) invokeError(ctx context.Context, err error, timeout time.Duration) error {
	if err == nil {
		return nil
	}
	ce := &ChannelError{Via: l.Via(), Reason: ReasonAWS, Detail: awsapi.Clean(err).Error(), Err: err}
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		ce.Reason, ce.Detail = ReasonTimeout, fmt.Sprintf("no answer within %s", timeout)
		ce.Next = l.logsHint()
	case code == "ResourceNotFoundException":
		ce.Reason = ReasonNotDeployed
		ce.Next = fmt.Sprintf("the operations stack, which holds it, is missing or failed in %s: see `neo4jctl get cluster`, then `neo4jctl create cluster -f cluster.yaml` (resumes a create) or `neo4jctl update cluster -f cluster.yaml`", l.Region)
	case code == "AccessDeniedException" || code == "AccessDenied":
		ce.Reason, ce.Next = ReasonDenied, "your AWS identity needs lambda:InvokeFunction on "+l.Function
	case awsapi.IsCredentials(err):
		return fmt.Errorf("invoking %s: %w", l.Function, awsapi.Clean(err))
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return ce
}

func (l *LambdaChannel) logsHint() string {
	return fmt.Sprintf("its logs are in the CloudWatch Logs group %s (`aws logs tail %s --since 15m`)", l.LogGroup, l.LogGroup)
}

// answer reads the function's answer: a function error (crash, kill at its timeout) or
// anything that is not an admin answer is a ChannelError; an admin answer goes through
// CheckContract.
func (l *LambdaChannel) answer(req neo4jadmin.Request, out *lambda.InvokeOutput) (neo4jadmin.Response, error) {
	resp := neo4jadmin.Response{Type: req.Type}
	if fe := aws.ToString(out.FunctionError); fe != "" {
		var e struct{ ErrorType, ErrorMessage string }
		_ = json.Unmarshal(out.Payload, &e)
		detail := slices.DeleteFunc([]string{fe, e.ErrorType, strings.Join(strings.Fields(e.ErrorMessage), " ")}, func(s string) bool { return s == "" })
		ce := &ChannelError{Via: l.Via(), Reason: ReasonFailed, Detail: strings.Join(detail, ": "), Next: l.logsHint()}
		if strings.Contains(e.ErrorMessage, "timed out") {
			ce.Reason = ReasonTimeout
		}
		return resp, ce
	}
	var shape map[string]json.RawMessage
	if json.Unmarshal(out.Payload, &shape) != nil || shape["ok"] == nil || json.Unmarshal(out.Payload, &resp) != nil {
		return neo4jadmin.Response{Type: req.Type}, &ChannelError{Via: l.Via(), Reason: ReasonBadAnswer,
			Detail: "it answered " + excerpt(out.Payload), Next: "is " + l.Function + " neo4jctl's admin function? " + l.logsHint()}
	}
	return resp, neo4jadmin.CheckContract(req, resp)
}

// excerpt is the start of an unexpected answer, on one line.
func excerpt(b []byte) string {
	s := strings.Join(strings.Fields(string(bytes.ToValidUTF8(b, []byte("?")))), " ")
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return fmt.Sprintf("%q", s)
}
