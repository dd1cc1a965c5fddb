package awsapi

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/smithy-go"
)

// IsThrottle reports a throttling error (after the SDK's own retries).
func IsThrottle(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "RequestThrottled", "SlowDown":
		return true
	}
	return strings.Contains(err.Error(), "retry quota exceeded") || strings.Contains(err.Error(), "failed to get rate limit token")
}

// IsCredentials reports an error that comes from missing, expired or rejected credentials
// rather than from the request itself.
func IsCredentials(err error) bool {
	if err == nil {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
			"InvalidAccessKeyId", "SignatureDoesNotMatch", "AuthFailure", "MissingAuthenticationToken",
			"InvalidGrantException", "UnauthorizedException":
			return true
		}
		return false
	}
	s := err.Error()
	for _, m := range []string{"failed to retrieve credentials", "get credentials", "no EC2 IMDS role found",
		"failed to refresh cached credentials", "SSO session", "the SSO token", "anonymous credentials", "static credentials are empty"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// IsNotFound reports an answer that the thing asked about does not exist: CloudFormation's
// "Stack with id X does not exist" (a ValidationError), and the NotFound and NoSuch codes of
// the other services.
func IsNotFound(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	code := ae.ErrorCode()
	switch {
	case code == "ValidationError":
		return strings.Contains(ae.ErrorMessage(), "does not exist")
	case strings.HasPrefix(code, "NoSuch"), strings.HasSuffix(code, "NotFound"), strings.HasSuffix(code, "NotFoundException"):
		return true
	}
	return false
}

// IsNetwork reports a call that got no answer from AWS at all: a dropped or refused
// connection, a DNS failure, a timeout.
func IsNetwork(err error) bool {
	var ae smithy.APIError
	return err != nil && !errors.As(err, &ae)
}

// IsTransient reports an error that says nothing about the request: the network, or AWS's
// own 5xx. Looking again later may well work.
func IsTransient(err error) bool {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return true
	}
	return IsNetwork(err)
}

// IsNotImplemented reports an emulator's "action has not been implemented" (moto answers
// 500 with an HTML page), so callers can feature-detect.
func IsNotImplemented(err error) bool {
	if err == nil {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "NotImplemented" || ae.ErrorCode() == "InternalFailure") {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "not been implemented") || strings.Contains(s, "StatusCode: 500") || strings.Contains(s, "Internal Server Error")
}

// CredentialsError is a call refused for want of usable credentials. Commands add how to
// get some (errors.As finds it however deep it is wrapped).
type CredentialsError struct {
	Err error
	msg string
}

func (e *CredentialsError) Error() string { return "no usable AWS credentials (" + e.msg + ")" }
func (e *CredentialsError) Unwrap() error { return e.Err }

// Clean keeps AWS's code and message of err but drops the SDK's request plumbing
// (operation name, request id, HTTP status); errors.As still finds the original. A
// credentials problem comes back as a *CredentialsError, a call that never reached AWS as
// its *NetworkError.
func Clean(err error) error {
	if err == nil {
		return nil
	}
	var ne *NetworkError
	if errors.As(err, &ne) {
		return ne // without the SDK's "operation error ..." around it
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return cleanError{err: err, msg: cutShort(err)}
	}
	var ae smithy.APIError
	msg := err.Error()
	if errors.As(err, &ae) {
		msg = ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	if IsCredentials(err) {
		return &CredentialsError{Err: err, msg: msg}
	}
	if ae != nil {
		return cleanError{err: err, msg: msg}
	}
	return err
}

// cutShort names a call that its context ended (Ctrl-C, or the command's deadline, which
// the command names).
func cutShort(err error) string {
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		return oe.OperationName + " cut short"
	}
	return "cut short"
}

type cleanError struct {
	err error
	msg string
}

func (e cleanError) Error() string { return e.msg }
func (e cleanError) Unwrap() error { return e.err }
