package awsapi

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// httpError is an API error as the SDK returns it: the service's code inside the HTTP
// response error that carries the status.
func httpError(status int, code, msg string) error {
	return &smithy.OperationError{ServiceID: "CloudFormation", OperationName: "DescribeStacks", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: &smithy.GenericAPIError{Code: code, Message: msg}},
		RequestID:     "req-1",
	}}
}

func TestClassification(t *testing.T) {
	dropped := &smithy.OperationError{ServiceID: "EC2", OperationName: "DescribeVpcs", Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}
	cases := []struct {
		name                                                         string
		err                                                          error
		throttle, credentials, notFound, network, transient, notImpl bool
	}{
		{name: "nil"},
		{name: "throttled", err: httpError(400, "Throttling", "Rate exceeded"), throttle: true},
		{name: "retry quota", err: fmt.Errorf("describing: %w", errors.New("operation error: retry quota exceeded, 0 available")), network: true, transient: true, throttle: false},
		{name: "expired token", err: httpError(403, "ExpiredToken", "The security token included in the request is expired"), credentials: true},
		{name: "no credentials at all", err: errors.New("get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found"), credentials: true, network: true, transient: true},
		{name: "stack does not exist", err: httpError(400, "ValidationError", "Stack with id s1 does not exist"), notFound: true},
		{name: "other validation", err: httpError(400, "ValidationError", "Template format error"), notFound: false},
		{name: "no such bucket", err: httpError(404, "NoSuchBucket", "The specified bucket does not exist"), notFound: true},
		{name: "EC2 not found", err: httpError(400, "InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist"), notFound: true},
		{name: "ECR not found", err: httpError(400, "ImageNotFoundException", "not found"), notFound: true},
		{name: "dropped connection", err: dropped, network: true, transient: true},
		{name: "AWS 503", err: httpError(503, "ServiceUnavailable", "try later"), transient: true},
		{name: "moto lacks the call", err: httpError(500, "InternalFailure", "The UpdateTerminationProtection action has not been implemented"), transient: true, notImpl: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := []bool{IsThrottle(tc.err), IsCredentials(tc.err), IsNotFound(tc.err), IsNetwork(tc.err), IsTransient(tc.err), IsNotImplemented(tc.err)}
			want := []bool{tc.throttle, tc.credentials, tc.notFound, tc.network, tc.transient, tc.notImpl}
			for i, what := range []string{"throttle", "credentials", "not found", "network", "transient", "not implemented"} {
				if got[i] != want[i] {
					t.Errorf("%s: %v, want %v (%v)", what, got[i], want[i], tc.err)
				}
			}
		})
	}
}

func TestCleanKeepsAWSReasonAndFindsCredentials(t *testing.T) {
	raw := errors.New("operation error CloudFormation: DescribeStacks, get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found")
	var ce *CredentialsError
	if err := Clean(raw); !errors.As(fmt.Errorf("listing stacks: %w", err), &ce) || !strings.HasPrefix(err.Error(), "no usable AWS credentials (operation error CloudFormation") {
		t.Fatalf("missing credentials: %v", err)
	}
	expired := httpError(403, "ExpiredToken", "The security token included in the request is expired")
	if got := Clean(expired).Error(); got != "no usable AWS credentials (ExpiredToken: The security token included in the request is expired)" {
		t.Fatalf("expired: %s", got)
	}
	other := httpError(400, "ValidationError", "bad")
	cleaned := Clean(other)
	if cleaned.Error() != "ValidationError: bad" {
		t.Fatalf("other: %s", cleaned)
	}
	var ae smithy.APIError
	if !errors.As(cleaned, &ae) || ae.ErrorCode() != "ValidationError" {
		t.Fatal("the original error is gone")
	}
	if Clean(nil) != nil {
		t.Fatal("Clean(nil)")
	}
}
