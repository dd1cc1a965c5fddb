// Package awsapi is how neo4jctl talks to the AWS API: one configuration loader for every
// command (region and profile, retry policy, SDK log silencing, endpoint override) and one
// classification of AWS errors (throttled, credentials, not found, network) with clean
// messages. It knows nothing of clusters or of neo4jctl's commands.
package awsapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ErrNoRegion: neither the config, the flags, the environment nor the profile names a region.
var ErrNoRegion = errors.New("no AWS region: pass --region, set AWS_REGION or a region in the profile")

// Options choose how neo4jctl talks to AWS.
type Options struct {
	Region  string
	Profile string
	// MaxAttempts per call, SDK retries included; 0 takes AWS_MAX_ATTEMPTS, else the SDK's 3.
	// Emulators want 1: moto answers a retried CreateStack with AlreadyExists.
	MaxAttempts int
	// AnswerTimeout bounds each attempt's wait for AWS to start answering; default
	// DefaultAnswerTimeout.
	AnswerTimeout time.Duration
	// Customize runs last (tests: emulator headers and middleware).
	Customize []func(*aws.Config)
}

// LoadConfig is config.LoadDefaultConfig with neo4jctl's choices: Region and Profile win
// over the environment, AWS_ENDPOINT_URL is honoured, and the SDK's retries never exhaust a
// client-side retry quota during long waits (the engine slows its polling instead), while
// still retrying throttled calls with backoff. An attempt that gets no answer within
// AnswerTimeout fails, and a call that cannot reach AWS fails with a *NetworkError.
func LoadConfig(ctx context.Context, o Options) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	// A custom retryer makes LoadDefaultConfig ignore AWS_MAX_ATTEMPTS, so read it here.
	attempts := o.MaxAttempts
	if attempts <= 0 {
		attempts, _ = strconv.Atoi(os.Getenv("AWS_MAX_ATTEMPTS"))
	}
	answer := cmp.Or(o.AnswerTimeout, DefaultAnswerTimeout)
	opts = append(opts, config.WithHTTPClient(httpClient(answer)))
	opts = append(opts, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(so *retry.StandardOptions) {
			so.RateLimiter = ratelimit.None
			if attempts > 0 {
				so.MaxAttempts = attempts
			}
		})
	}))
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, ErrNoRegion
	}
	if attempts > 0 && attempts < readAttempts {
		cfg.APIOptions = append(cfg.APIOptions, retryReadsOnConnectionErrors)
	}
	cfg.APIOptions = append(cfg.APIOptions, nameNetworkErrors(answer))
	cfg.Logger = sdkLogger()
	for _, c := range o.Customize {
		c(&cfg)
	}
	return cfg, nil
}

// EndpointOverride reports whether the service's calls go to a configured endpoint (an
// emulator such as moto, or a proxy) instead of AWS: AWS_ENDPOINT_URL (the config's base
// endpoint) or AWS_ENDPOINT_URL_<SERVICE>, e.g. service "CLOUDFORMATION".
func EndpointOverride(cfg aws.Config, service string) bool {
	return (cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "") || os.Getenv("AWS_ENDPOINT_URL_"+service) != ""
}

// readAttempts is how often a read-only call is tried when the connection drops.
const readAttempts = 3

// readOnly reports whether an operation only looks (and so is safe to send again).
func readOnly(op string) bool {
	for _, p := range []string{"Describe", "Get", "List", "Head"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// retryReadsOnConnectionErrors retries read-only calls whose connection failed (dropped,
// reset, "use of closed network connection") even when retries are turned down with
// AWS_MAX_ATTEMPTS (as against moto): such a call never reached AWS or changed nothing.
// Calls that change something (CreateStack, ...) keep the configured attempts: a retried
// CreateStack that did reach the emulator comes back as AlreadyExists.
func retryReadsOnConnectionErrors(st *middleware.Stack) error {
	if !readOnly(st.ID()) {
		return nil
	}
	if _, ok := st.Finalize.Get("Retry"); !ok {
		return nil
	}
	r := retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = readAttempts
		so.RateLimiter = ratelimit.None
		so.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
	})
	_, err := st.Finalize.Swap("Retry", retry.NewAttemptMiddleware(r, smithyhttp.RequestCloner))
	return err
}

// sdkLogger keeps the SDK's own log lines (e.g. "WARN failed to discard remaining HTTP
// response body") off neo4jctl's output; NEO4JCTL_DEBUG=1 shows them on stderr.
func sdkLogger() logging.Logger {
	if os.Getenv("NEO4JCTL_DEBUG") == "" {
		return logging.Nop{}
	}
	return logging.NewStandardLogger(os.Stderr)
}
