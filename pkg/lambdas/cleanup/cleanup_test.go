package cleanup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/lambdas/dnssync"
)

func TestMain(m *testing.M) { testbed.Main(m, testbed.NeedMoto) }

// cfnEndpoint records the responses PUT to the pre-signed ResponseURL.
type cfnEndpoint struct {
	mu        sync.Mutex
	responses []cfn.Response
	srv       *httptest.Server
}

func newCFN(t *testing.T) *cfnEndpoint {
	c := &cfnEndpoint{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			http.Error(w, "want PUT", http.StatusMethodNotAllowed)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var resp cfn.Response
		if err := json.Unmarshal(b, &resp); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.responses = append(c.responses, resp)
		c.mu.Unlock()
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *cfnEndpoint) last(t *testing.T) cfn.Response {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.responses) != 1 {
		t.Fatalf("CloudFormation got %d responses, want 1", len(c.responses))
	}
	return c.responses[0]
}

func services(t *testing.T, n int) (*servicediscovery.Client, []string, string) {
	t.Helper()
	ctx := context.Background()
	cfg, _ := testbed.SharedMoto(t).IsolatedConfig(ctx, "eu-west-1")
	cm := servicediscovery.NewFromConfig(cfg)
	if _, err := cm.CreateHttpNamespace(ctx, &servicediscovery.CreateHttpNamespaceInput{Name: aws.String("neo4j.internal")}); err != nil {
		t.Fatal(err)
	}
	nss, err := cm.ListNamespaces(ctx, &servicediscovery.ListNamespacesInput{})
	if err != nil {
		t.Fatal(err)
	}
	ns := aws.ToString(nss.Namespaces[0].Id)
	var ids []string
	for s, name := range []string{"core", "replica", "core-1"} {
		out, err := cm.CreateService(ctx, &servicediscovery.CreateServiceInput{Name: aws.String(name), NamespaceId: aws.String(ns)})
		if err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(out.Service.Id)
		ids = append(ids, id)
		for i := 0; i < n; i++ {
			if _, err := cm.RegisterInstance(ctx, &servicediscovery.RegisterInstanceInput{ServiceId: aws.String(id),
				InstanceId: aws.String(fmt.Sprintf("task-%d-%d", s, i)), Attributes: map[string]string{"AWS_INSTANCE_IPV4": fmt.Sprintf("10.%d.%d.%d", s, i/200, i%200+1)}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return cm, ids, ns
}

func event(url, typ string, props map[string]any) cfn.Event {
	return cfn.Event{RequestType: cfn.RequestType(typ), ResponseURL: url, RequestID: "req-1", StackID: "arn:aws:cloudformation:eu-west-1:1:stack/s/1",
		LogicalResourceID: "CloudMapCleanup", PhysicalResourceID: "", ResourceProperties: props}
}

func TestCleanupAgainstMoto(t *testing.T) {
	tests := []struct {
		name       string
		typ        string
		props      func(ids []string, ns string) map[string]any
		wantStatus cfn.StatusType
		wantEmpty  []int // services (by index) that must be empty afterwards
		wantFull   []int
	}{
		{"create is a no-op", "Create", func(ids []string, ns string) map[string]any { return map[string]any{"ServiceIds": ids[:2]} }, cfn.StatusSuccess, nil, []int{0, 1, 2}},
		{"update is a no-op", "Update", func(ids []string, ns string) map[string]any { return map[string]any{"ServiceIds": ids[:2]} }, cfn.StatusSuccess, nil, []int{0, 1, 2}},
		{"delete empties the given services (paged)", "Delete", func(ids []string, ns string) map[string]any { return map[string]any{"ServiceIds": ids[:2]} }, cfn.StatusSuccess, []int{0, 1}, []int{2}},
		{"delete by namespace", "Delete", func(ids []string, ns string) map[string]any { return map[string]any{"NamespaceId": ns} }, cfn.StatusSuccess, []int{0, 1, 2}, nil},
		{"delete of services already gone", "Delete", func(ids []string, ns string) map[string]any {
			return map[string]any{"ServiceIds": []string{"srv-doesnotexist"}}
		}, cfn.StatusSuccess, nil, []int{0, 1, 2}},
		{"bad properties fail", "Delete", func(ids []string, ns string) map[string]any { return map[string]any{"ServiceIds": "not-a-list"} }, cfn.StatusFailed, nil, []int{0, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cm, ids, ns := services(t, 130)
			ep := newCFN(t)
			h := &Handler{CloudMap: cm, PollInterval: 10 * time.Millisecond}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := h.Handle(ctx, event(ep.srv.URL, tt.typ, tt.props(ids, ns))); err != nil {
				t.Fatal(err)
			}
			r := ep.last(t)
			if r.Status != tt.wantStatus || r.RequestID != "req-1" || r.PhysicalResourceID == "" {
				t.Fatalf("response %+v", r)
			}
			for _, i := range tt.wantEmpty {
				if m, _ := dnssync.Instances(ctx, cm, ids[i]); len(m) != 0 {
					t.Errorf("service %d still has %d instances", i, len(m))
				}
			}
			for _, i := range tt.wantFull {
				if m, _ := dnssync.Instances(ctx, cm, ids[i]); len(m) != 130 {
					t.Errorf("service %d has %d instances, want 130 untouched", i, len(m))
				}
			}
		})
	}
}

type failingCloudMap struct{ CloudMap }

func (failingCloudMap) ListInstances(context.Context, *servicediscovery.ListInstancesInput, ...func(*servicediscovery.Options)) (*servicediscovery.ListInstancesOutput, error) {
	return nil, errors.New("AccessDeniedException: not allowed")
}

type panickingCloudMap struct{ CloudMap }

func (panickingCloudMap) ListInstances(context.Context, *servicediscovery.ListInstancesInput, ...func(*servicediscovery.Options)) (*servicediscovery.ListInstancesOutput, error) {
	panic("boom")
}

type slowCloudMap struct{ CloudMap }

func (slowCloudMap) ListInstances(ctx context.Context, _ *servicediscovery.ListInstancesInput, _ ...func(*servicediscovery.Options)) (*servicediscovery.ListInstancesOutput, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestCleanupAlwaysResponds: errors, panics and a deadline still answer CloudFormation.
func TestCleanupAlwaysResponds(t *testing.T) {
	tests := []struct {
		name    string
		cm      CloudMap
		timeout time.Duration
	}{
		{"api error", failingCloudMap{}, time.Minute},
		{"panic", panickingCloudMap{}, time.Minute},
		{"deadline", slowCloudMap{}, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := newCFN(t)
			h := &Handler{CloudMap: tt.cm}
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			if err := h.Handle(ctx, event(ep.srv.URL, "Delete", map[string]any{"ServiceIds": []string{"srv-1"}})); err != nil {
				t.Fatal(err)
			}
			if r := ep.last(t); r.Status != cfn.StatusFailed || r.Reason == "" {
				t.Fatalf("response %+v", r)
			}
			if dl, _ := ctx.Deadline(); time.Now().After(dl) {
				t.Fatal("answered after the deadline")
			}
		})
	}
}
