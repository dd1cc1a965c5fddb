package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// liveTailServer is a FAKE CloudWatch Logs endpoint that speaks Live Tail's wire format (an
// HTTP response of event-stream messages), so that SDKLiveTail runs through the real SDK
// client: request, host, event decoding. Nothing else here has Live Tail.
func liveTailServer(t *testing.T, events ...map[string]any) (*httptest.Server, *[]map[string]any) {
	var mu sync.Mutex
	var started []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch target := r.Header.Get("X-Amz-Target"); {
		case strings.HasSuffix(target, ".DescribeLogGroups"):
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			io.WriteString(w, `{"logGroups":[{"logGroupName":"/neo4jctl/graph-dev","arn":"arn:aws:logs:eu-west-1:1:log-group:/neo4jctl/graph-dev:*"}]}`)
		case strings.HasSuffix(target, ".StartLiveTail"):
			var in map[string]any
			json.Unmarshal(body, &in)
			mu.Lock()
			started = append(started, in)
			mu.Unlock()
			w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
			w.WriteHeader(http.StatusOK)
			enc := eventstream.NewEncoder()
			send := func(typ string, payload any) {
				b, _ := json.Marshal(payload)
				var buf bytes.Buffer
				msg := eventstream.Message{Payload: b}
				msg.Headers.Set(":message-type", eventstream.StringValue("event"))
				msg.Headers.Set(":event-type", eventstream.StringValue(typ))
				msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
				if err := enc.Encode(&buf, msg); err != nil {
					t.Error(err)
				}
				w.Write(buf.Bytes())
				w.(http.Flusher).Flush()
			}
			send("initial-response", map[string]any{}) // what the awsJson event stream starts with
			send("sessionStart", map[string]any{"sessionId": "s-1", "logGroupIdentifiers": in["logGroupIdentifiers"]})
			for _, e := range events {
				send("sessionUpdate", e)
			}
		default:
			http.Error(w, "unexpected "+target, http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &started
}

// TestSDKLiveTailOverTheWire: with a custom endpoint the session goes to the endpoint itself
// (not stream-<host>), with the group's ARN without :*, and its lines come through.
func TestSDKLiveTailOverTheWire(t *testing.T) {
	at := logsT0.Add(11e9).UnixMilli()
	srv, started := liveTailServer(t, map[string]any{"sessionMetadata": map[string]any{"sampled": false},
		"sessionResults": []map[string]any{{"logStreamName": "core-1/neo4j/task-a", "timestamp": at, "message": "eleven"}}})
	client := cloudwatchlogs.New(cloudwatchlogs.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: awshttp.NewBuildableClient(),
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""), RetryMaxAttempts: 1})
	rec := &recorder{}
	l := &Logs{Cluster: &Cluster{Name: "graph-dev", Events: rec}, API: newFakeLogs(), Tail: SDKLiveTail{Client: client}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a fallback polls on
	defer cancel()
	var got []string
	err := l.LiveTail(ctx, LogsOptions{Member: "core-1", Since: logsT0, Follow: true}, func(ln LogLine) error {
		got = append(got, ln.Member+" "+ln.Message)
		if ln.Message == "eleven" || len(rec.lines()) > 0 {
			cancel()
		}
		return nil
	})
	if err != nil || strings.Join(got, ",") != "core-1 one,core-1 four,core-1 eleven" {
		t.Fatalf("%v %q %q", err, got, rec.lines())
	}
	in := (*started)[0]
	if ids, _ := in["logGroupIdentifiers"].([]any); len(ids) != 1 || ids[0] != "arn:aws:logs:eu-west-1:1:log-group:/neo4jctl/graph-dev" {
		t.Errorf("session request: %v", in)
	}
}
