package awsapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// DefaultAnswerTimeout is how long a call waits for AWS to start answering (the response
// headers, once the request is sent), as the AWS CLI's read timeout: a connection that
// is accepted and then hangs (a broken proxy, a firewall that drops replies) fails the
// attempt instead of hanging the command.
const DefaultAnswerTimeout = 60 * time.Second

// NetworkHint is what a person checks when AWS cannot be reached.
const NetworkHint = "check the network connection and any proxy (HTTPS_PROXY), and AWS_ENDPOINT_URL if it is set"

// NetworkError is a call that got no answer from AWS at all: the connection was refused or
// dropped, the name did not resolve, TLS failed, or nobody answered in time. It is never a
// credentials problem, whatever the SDK's message looks like.
type NetworkError struct {
	Endpoint  string // scheme://host the call went to
	Operation string // e.g. DescribeStacks
	Cause     string // in words: "connection refused", "no answer within 60s", ...
	Attempts  int    // tries made, SDK retries included (0: unknown)
	Err       error
}

func (e *NetworkError) Error() string {
	msg := fmt.Sprintf("cannot reach %s (%s): %s", e.Endpoint, e.Operation, e.Cause)
	if e.Attempts > 1 {
		msg += fmt.Sprintf(", %d attempts", e.Attempts)
	}
	return msg
}

func (e *NetworkError) Unwrap() error { return e.Err }

// nameNetworkErrors turns a call's failure to reach AWS into a *NetworkError (outermost
// middleware: after the SDK's retries). Credentials errors keep their own type: fetching
// credentials (IMDS, SSO) can fail on the network too, and then the credentials are what
// to fix.
func nameNetworkErrors(timeout time.Duration) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		op := st.ID()
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("neo4jctlNetworkErrors",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				if err != nil {
					err = asNetworkError(err, op, timeout)
				}
				return out, md, err
			}), middleware.Before)
	}
}

func asNetworkError(err error, op string, timeout time.Duration) error {
	var send *smithyhttp.RequestSendError
	if !errors.As(err, &send) || IsCredentials(err) {
		return err
	}
	ne := &NetworkError{Operation: op, Cause: networkCause(send.Err, timeout), Err: err, Endpoint: "AWS"}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			ne.Endpoint = u.Scheme + "://" + u.Host
		}
	}
	var max *retry.MaxAttemptsError
	if errors.As(err, &max) {
		ne.Attempts = max.Attempt
	}
	return ne
}

// networkCause says in words why a request got no answer.
func networkCause(err error, timeout time.Duration) string {
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var ne net.Error
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		return "DNS knows no host " + dns.Name
	case errors.As(err, &dns):
		return fmt.Sprintf("DNS lookup of %s failed (%s)", dns.Name, dns.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (nothing listens there)"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "the connection was reset"
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return "no route to the host"
	case strings.Contains(err.Error(), "timeout awaiting response headers"):
		return fmt.Sprintf("connected, but no answer within %s", timeout)
	case errors.As(err, &unknownAuthority), errors.As(err, &cert):
		return "TLS certificate not trusted (" + innermost(err) + "); AWS_CA_BUNDLE names extra CAs"
	case errors.As(err, &ne) && ne.Timeout():
		return "connection timed out"
	}
	return innermost(err)
}

// innermost is the message of the last error in err's chain: "connection refused" rather
// than the SDK's whole account of the request.
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// httpClient is the SDK's buildable client (it takes AWS_CA_BUNDLE) with an answer timeout.
func httpClient(timeout time.Duration) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.ResponseHeaderTimeout = timeout
	})
}

// WithoutAnswerTimeout is cfg's HTTP client with no answer timeout, for calls that wait on
// purpose, such as a synchronous Lambda invocation (bounded by the caller instead).
func WithoutAnswerTimeout(cfg aws.Config) aws.HTTPClient {
	if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok {
		return bc.WithTransportOptions(func(t *http.Transport) { t.ResponseHeaderTimeout = 0 })
	}
	return cfg.HTTPClient
}
