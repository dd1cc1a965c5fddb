package testbed_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
)

const callerIdentity = `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/t</Arn><UserId>AID</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>`

// flakyEndpoint answers like STS, but resets the connection in the middle of the
// answer's body the first `resets` times (what moto's server very rarely does under load),
// or always answers an AWS error when awsError is set.
func flakyEndpoint(t *testing.T, resets int32, awsError bool) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if awsError {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>AlreadyExists</Code><Message>exists</Message></Error><RequestId>r</RequestId></ErrorResponse>`))
			return
		}
		if n <= resets {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 500\r\n\r\n<GetCallerIdentityResponse")
			buf.Flush()
			conn.(*net.TCPConn).SetLinger(0) // close with a reset
			conn.Close()
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		w.Write([]byte(callerIdentity))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestAWSConfigRetriesOnlyDroppedConnections(t *testing.T) {
	ctx := context.Background()
	mt := testbed.SharedMoto(t)
	client := func(url string) *sts.Client {
		cfg := mt.AWSConfig(ctx, "us-east-1")
		cfg.BaseEndpoint = aws.String(url)
		return sts.NewFromConfig(cfg)
	}

	srv, calls := flakyEndpoint(t, 1, false)
	out, err := client(srv.URL).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(out.Account) != "123456789012" || calls.Load() != 2 {
		t.Fatalf("a reset in the middle of the answer: %v (account %v) after %d calls, want the second attempt's answer", err, out, calls.Load())
	}

	srv, calls = flakyEndpoint(t, 5, false)
	if _, err := client(srv.URL).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil || calls.Load() != 3 {
		t.Fatalf("resets every time: err %v after %d calls, want a failure after 3 attempts", err, calls.Load())
	}

	srv, calls = flakyEndpoint(t, 0, true)
	_, err = client(srv.URL).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err == nil || !strings.Contains(err.Error(), "AlreadyExists") || calls.Load() != 1 {
		t.Fatalf("an AWS error: %v after %d calls, want it returned after one call", err, calls.Load())
	}
}
