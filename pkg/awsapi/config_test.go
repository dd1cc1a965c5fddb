package awsapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

// dropFirst is a FAKE CloudFormation endpoint that drops the connection of the first request
// of every action, then answers. The function it returns counts an action's calls so far.
func dropFirst(t *testing.T) (*httptest.Server, func(action string) int) {
	var mu sync.Mutex
	calls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		action := form.Get("Action")
		mu.Lock()
		calls[action]++
		n := calls[action]
		mu.Unlock()
		if n == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close() // the connection drops before any answer
			}
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		switch action {
		case "DescribeStacks":
			io.WriteString(w, `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>`)
		default:
			io.WriteString(w, `<CreateStackResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><CreateStackResult><StackId>s</StackId></CreateStackResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateStackResponse>`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func(action string) int {
		mu.Lock()
		defer mu.Unlock()
		return calls[action]
	}
}

func TestReadsRideOutADroppedConnectionWithRetriesOff(t *testing.T) {
	srv, calls := dropFirst(t)
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": srv.URL, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_MAX_ATTEMPTS": "1", "AWS_REGION": "eu-west-1"} {
		t.Setenv(k, v)
	}
	cfg, err := LoadConfig(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := cloudformation.NewFromConfig(cfg)
	if _, err := c.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{}); err != nil {
		t.Fatalf("DescribeStacks after a dropped connection: %v", err)
	}
	_, err = c.CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String("s"), TemplateBody: aws.String("{}")})
	if err == nil || calls("CreateStack") != 1 {
		t.Fatalf("CreateStack is not retried with AWS_MAX_ATTEMPTS=1: %v after %d calls", err, calls("CreateStack"))
	}
	if calls("DescribeStacks") != 2 {
		t.Fatalf("DescribeStacks calls: %d", calls("DescribeStacks"))
	}
	if !strings.Contains(err.Error(), "CreateStack") {
		t.Fatalf("error: %v", err)
	}
}
