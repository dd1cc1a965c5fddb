// Package cleanup is the stack-deletion custom resource: on Delete it deregisters every
// instance of the Cloud Map services it is given (and of every service in a namespace), so
// that CloudFormation can delete the services and the namespace. It always answers
// CloudFormation, also when the work fails or panics; Create and Update succeed at once.
//
// ResourceProperties:
//
//	ServiceIds:  [srv-..., ...]   Cloud Map services to empty
//	NamespaceId: ns-...           optional: empty every service of this namespace too
package cleanup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sort"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"

	"github.com/neo4jctl/neo4jctl/pkg/lambdas/dnssync"
	"github.com/neo4jctl/neo4jctl/pkg/lambdas/internal/lambdactx"
)

// CloudMap is the part of the Cloud Map API the cleanup uses.
type CloudMap interface {
	dnssync.CloudMap
	ListServices(ctx context.Context, in *servicediscovery.ListServicesInput, opts ...func(*servicediscovery.Options)) (*servicediscovery.ListServicesOutput, error)
}

// HTTPDoer sends the response to CloudFormation's pre-signed URL.
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// Handler is the custom resource Lambda.
type Handler struct {
	CloudMap CloudMap
	HTTP     HTTPDoer // default http.DefaultClient
	Log      *slog.Logger
	// PollInterval is how often Delete re-lists until the services are empty (default 2s).
	PollInterval time.Duration
}

// Properties are the custom resource's ResourceProperties.
type Properties struct {
	ServiceIds  []string `json:"ServiceIds"`
	NamespaceId string   `json:"NamespaceId"`
}

// Handle answers one CloudFormation event. The returned error is only about failing to
// answer CloudFormation (then the Lambda errors and is retried).
func (h *Handler) Handle(ctx context.Context, ev cfn.Event) (err error) {
	resp := cfn.Response{
		Status:             cfn.StatusSuccess,
		RequestID:          ev.RequestID,
		LogicalResourceID:  ev.LogicalResourceID,
		StackID:            ev.StackID,
		PhysicalResourceID: ev.PhysicalResourceID,
	}
	if resp.PhysicalResourceID == "" {
		resp.PhysicalResourceID = "neo4jctl-cleanup-" + ev.LogicalResourceID
	}
	defer func() {
		if r := recover(); r != nil {
			h.logger().Error("cleanup panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			resp.Status, resp.Reason = cfn.StatusFailed, fmt.Sprintf("neo4jctl cleanup panicked: %v", r)
		}
		err = h.respond(ctx, ev.ResponseURL, resp)
	}()

	work, cancel := lambdactx.Work(ctx, 5*time.Second)
	defer cancel()
	h.logger().Info("cleanup event", "type", ev.RequestType, "logicalResourceId", ev.LogicalResourceID)
	if ev.RequestType != cfn.RequestDelete {
		return nil
	}
	props, perr := parseProps(ev.ResourceProperties)
	if perr != nil {
		resp.Status, resp.Reason = cfn.StatusFailed, perr.Error()
		return nil
	}
	n, werr := h.Empty(work, props)
	if werr != nil {
		h.logger().Error("cleanup failed", "error", werr.Error())
		resp.Status, resp.Reason = cfn.StatusFailed, truncate(werr.Error(), 3000)
		return nil
	}
	resp.Data = map[string]any{"Deregistered": n}
	return nil
}

func parseProps(m map[string]any) (Properties, error) {
	var p Properties
	b, err := json.Marshal(m)
	if err != nil {
		return p, fmt.Errorf("reading ResourceProperties: %w", err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("reading ResourceProperties (want ServiceIds: [..], NamespaceId: ..): %w", err)
	}
	return p, nil
}

// Empty deregisters every instance of the services (and of the namespace's services) and
// waits until they list none. It returns how many it deregistered.
func (h *Handler) Empty(ctx context.Context, p Properties) (int, error) {
	ids := map[string]bool{}
	for _, id := range p.ServiceIds {
		if id != "" {
			ids[id] = true
		}
	}
	if p.NamespaceId != "" {
		pg := servicediscovery.NewListServicesPaginator(h.CloudMap, &servicediscovery.ListServicesInput{
			Filters: []sdtypes.ServiceFilter{{Name: sdtypes.ServiceFilterNameNamespaceId, Values: []string{p.NamespaceId}, Condition: sdtypes.FilterConditionEq}},
		})
		for pg.HasMorePages() {
			page, err := pg.NextPage(ctx)
			if err != nil {
				return 0, fmt.Errorf("listing services of Cloud Map namespace %s: %w", p.NamespaceId, err)
			}
			for _, s := range page.Services {
				ids[aws.ToString(s.Id)] = true
			}
		}
	}
	services := make([]string, 0, len(ids))
	for id := range ids {
		services = append(services, id)
	}
	sort.Strings(services)
	total := 0
	interval := h.PollInterval
	if interval == 0 {
		interval = 2 * time.Second
	}
	for _, svc := range services {
		for {
			have, err := dnssync.Instances(ctx, h.CloudMap, svc)
			if isServiceNotFound(err) {
				break // already deleted: nothing blocks
			}
			if err != nil {
				return total, err
			}
			if len(have) == 0 {
				break
			}
			for id := range have {
				if err := dnssync.Deregister(ctx, h.CloudMap, svc, id); err != nil {
					return total, err
				}
				total++
			}
			// Deregistration is asynchronous in Cloud Map: list again until empty.
			select {
			case <-ctx.Done():
				return total, fmt.Errorf("waiting for Cloud Map service %s to be empty: %w", svc, ctx.Err())
			case <-time.After(interval):
			}
		}
	}
	return total, nil
}

func isServiceNotFound(err error) bool {
	var nf *sdtypes.ServiceNotFound
	return err != nil && errorsAs(err, &nf)
}

func (h *Handler) respond(ctx context.Context, url string, r cfn.Response) error {
	if url == "" {
		return fmt.Errorf("cleanup: event has no ResponseURL")
	}
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding the CloudFormation response: %w", err)
	}
	// Answer even when the invocation's context is nearly done.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	doer := h.HTTP
	if doer == nil {
		doer = http.DefaultClient
	}
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("building the CloudFormation response: %w", err)
		}
		req.ContentLength = int64(len(body))
		resp, err := doer.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				h.logger().Info("answered CloudFormation", "status", r.Status)
				return nil
			}
			err = fmt.Errorf("HTTP %s", resp.Status)
		}
		last = err
		time.Sleep(time.Duration(attempt+1) * 500 * time.Millisecond)
	}
	return fmt.Errorf("sending the response to CloudFormation: %w", last)
}

func (h *Handler) logger() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
