package awsapi

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// A call that cannot reach AWS fails with a NetworkError naming the endpoint, the call and
// the network's reason in words and the attempts (reads get three, MaxAttempts or not);
// Clean keeps it without the SDK's plumbing.
func TestNetworkErrorsNameTheEndpointAndTheCause(t *testing.T) {
	refused, _ := net.Listen("tcp", "127.0.0.1:0")
	refusedAddr := refused.Addr().String()
	refused.Close()
	hanging, _ := net.Listen("tcp", "127.0.0.1:0")
	defer hanging.Close()
	go func() {
		for {
			c, err := hanging.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	for _, tc := range []struct {
		endpoint, want string
	}{
		{"http://" + refusedAddr, "cannot reach http://" + refusedAddr + " (DescribeStacks): connection refused (nothing listens there), 3 attempts"},
		{"http://" + hanging.Addr().String(), "cannot reach http://" + hanging.Addr().String() + " (DescribeStacks): connected, but no answer within 200ms, 3 attempts"},
		{"http://no-such-host.invalid", "cannot reach http://no-such-host.invalid (DescribeStacks): DNS knows no host no-such-host.invalid"},
	} {
		t.Setenv("AWS_ENDPOINT_URL", tc.endpoint)
		cfg, err := LoadConfig(context.Background(), Options{Region: "eu-west-1", MaxAttempts: 2, AnswerTimeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cloudformation.NewFromConfig(cfg).DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{})
		var ne *NetworkError
		if !errors.As(err, &ne) || !IsNetwork(err) || IsCredentials(err) {
			t.Fatalf("%s: %v is not a network error", tc.endpoint, err)
		}
		if got := Clean(err).Error(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
	// credentials that need the network (web identity, SSO, IMDS) stay credentials errors
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://"+refusedAddr)
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_ENDPOINT_URL", "http://"+refusedAddr)
	cfg, err := LoadConfig(context.Background(), Options{Region: "eu-west-1", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	var ce *CredentialsError
	if !errors.As(Clean(err), &ce) {
		t.Errorf("no credentials: %v, want a CredentialsError", err)
	}
}
