package dnssync

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
)

// Cloud Map is moto's (real emulator); ECS is a fake (moto's ECS cannot run awsvpc tasks
// with IPs), which pages like the real API.
func TestMain(m *testing.M) { testbed.Main(m, testbed.NeedMoto) }

// fakeECS pages ListTasks by 100 and refuses DescribeTasks of more than 100 tasks.
type fakeECS struct {
	tasks     []ecstypes.Task
	listCalls atomic.Int32
	failList  error
}

func (f *fakeECS) ListTasks(ctx context.Context, in *ecs.ListTasksInput, _ ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	f.listCalls.Add(1)
	if f.failList != nil {
		return nil, f.failList
	}
	start := 0
	if in.NextToken != nil {
		start, _ = strconv.Atoi(*in.NextToken)
	}
	page := 100
	if in.MaxResults != nil && int(*in.MaxResults) < page {
		page = int(*in.MaxResults)
	}
	var running []string
	for _, t := range f.tasks {
		if aws.ToString(t.DesiredStatus) == "RUNNING" {
			running = append(running, aws.ToString(t.TaskArn))
		}
	}
	end := min(start+page, len(running))
	out := &ecs.ListTasksOutput{TaskArns: running[start:end]}
	if end < len(running) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f *fakeECS) DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, _ ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	if len(in.Tasks) > 100 {
		return nil, fmt.Errorf("InvalidParameterException: at most 100 tasks")
	}
	want := map[string]bool{}
	for _, a := range in.Tasks {
		want[a] = true
	}
	out := &ecs.DescribeTasksOutput{}
	for _, t := range f.tasks {
		if want[aws.ToString(t.TaskArn)] {
			out.Tasks = append(out.Tasks, t)
		}
	}
	return out, nil
}

func task(group string, n int, ip string, last string, health ecstypes.HealthStatus) ecstypes.Task {
	id := fmt.Sprintf("%s%04d", map[string]string{"service:replicas": "r", "": "x"}[group], n)
	if id == fmt.Sprintf("%04d", n) {
		id = fmt.Sprintf("c%04d", n)
	}
	return ecstypes.Task{
		TaskArn:       aws.String("arn:aws:ecs:eu-west-1:123456789012:task/neo4jctl-test/" + id),
		Group:         aws.String(group),
		LastStatus:    aws.String(last),
		DesiredStatus: aws.String("RUNNING"),
		HealthStatus:  health,
		Attachments: []ecstypes.Attachment{{
			Type:    aws.String("ElasticNetworkInterface"),
			Details: []ecstypes.KeyValuePair{{Name: aws.String("privateIPv4Address"), Value: aws.String(ip)}},
		}},
	}
}

func ip(n int) string { return fmt.Sprintf("10.1.%d.%d", n/250, n%250+1) }

type env struct {
	cm                   *servicediscovery.Client
	nsID, cores, replica string
}

func setup(t *testing.T) env {
	t.Helper()
	ctx := context.Background()
	cfg, _ := testbed.SharedMoto(t).IsolatedConfig(ctx, "eu-west-1")
	cm := servicediscovery.NewFromConfig(cfg)
	if _, err := cm.CreateHttpNamespace(ctx, &servicediscovery.CreateHttpNamespaceInput{Name: aws.String("neo4j.internal")}); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	nss, err := cm.ListNamespaces(ctx, &servicediscovery.ListNamespacesInput{})
	if err != nil || len(nss.Namespaces) != 1 {
		t.Fatalf("listing namespaces: %v %v", nss, err)
	}
	e := env{cm: cm, nsID: aws.ToString(nss.Namespaces[0].Id)}
	for _, name := range []string{"core", "replica"} {
		out, err := cm.CreateService(ctx, &servicediscovery.CreateServiceInput{
			Name: aws.String(name), NamespaceId: aws.String(e.nsID),
			DnsConfig: &sdtypes.DnsConfig{RoutingPolicy: sdtypes.RoutingPolicyMultivalue,
				DnsRecords: []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeA, TTL: aws.Int64(10)}}},
		})
		if err != nil {
			t.Fatalf("creating service %s: %v", name, err)
		}
		if name == "core" {
			e.cores = aws.ToString(out.Service.Id)
		} else {
			e.replica = aws.ToString(out.Service.Id)
		}
	}
	return e
}

func listIPs(t *testing.T, cm CloudMap, svc string) map[string]string {
	t.Helper()
	m, err := Instances(context.Background(), cm, svc)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSyncAgainstMotoCloudMap(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// 3 cores (one unhealthy, one still starting with no verdict), 150 replicas (more
	// than a page), a stopped one, and a task of an unrelated service.
	f := &fakeECS{}
	f.tasks = append(f.tasks,
		task("service:core-1", 1, "10.0.0.1", "RUNNING", ecstypes.HealthStatusHealthy),
		task("service:core-2", 2, "10.0.0.2", "RUNNING", ecstypes.HealthStatusUnknown),
		task("service:core-3", 3, "10.0.0.3", "RUNNING", ecstypes.HealthStatusUnhealthy),
		task("service:core-4", 4, "10.0.0.4", "PENDING", ecstypes.HealthStatusUnknown),
		task("service:backup", 5, "10.0.0.5", "RUNNING", ecstypes.HealthStatusHealthy),
	)
	for i := 0; i < 150; i++ {
		f.tasks = append(f.tasks, task("service:replicas", i, ip(i), "RUNNING", ecstypes.HealthStatusHealthy))
	}
	// Stale state in Cloud Map: 120 dead replicas, one live replica with an old IP, and a
	// dead core.
	for i := 1000; i < 1120; i++ {
		mustRegister(t, e.cm, e.replica, fmt.Sprintf("r%04d", i), ip(i-900))
	}
	mustRegister(t, e.cm, e.replica, "r0007", "10.9.9.9")
	mustRegister(t, e.cm, e.cores, "c0099", "10.0.0.99")

	s := &Syncer{ECS: f, CloudMap: e.cm, Config: Config{Cluster: "neo4jctl-test", CoresServiceID: e.cores, ReplicasServiceID: e.replica}}
	ev, _ := json.Marshal(map[string]any{"detail-type": "ECS Task State Change", "detail": map[string]any{"taskArn": "x", "lastStatus": "STOPPED"}})
	res, err := s.Handle(ctx, ev)
	if err != nil || !res.OK {
		t.Fatalf("sync: %v %+v", err, res)
	}
	if f.listCalls.Load() < 2 {
		t.Errorf("ListTasks called %d times: pagination not followed", f.listCalls.Load())
	}
	wantCores := map[string]string{"c0001": "10.0.0.1", "c0002": "10.0.0.2"}
	if got := listIPs(t, e.cm, e.cores); !equal(got, wantCores) {
		t.Errorf("core instances = %v, want %v", got, wantCores)
	}
	gotR := listIPs(t, e.cm, e.replica)
	if len(gotR) != 150 || gotR["r0007"] != ip(7) || gotR["r0149"] != ip(149) {
		t.Errorf("replica instances: %d, r0007=%s", len(gotR), gotR["r0007"])
	}
	if r := res.Services[1]; len(r.Deregistered) != 120 || len(r.Registered) != 150 {
		t.Errorf("replica result: %d registered, %d deregistered", len(r.Registered), len(r.Deregistered))
	}

	// Idempotent: a second run (the schedule) changes nothing.
	res, err = s.Handle(ctx, json.RawMessage(`{"detail-type":"Scheduled Event"}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Services {
		if len(r.Registered)+len(r.Deregistered) != 0 {
			t.Errorf("second run changed %s: %+v", r.ServiceID, r)
		}
	}

	// The multivalue answer clients see (moto needs the data- host prefix disabled).
	d, err := e.cm.DiscoverInstances(ctx, &servicediscovery.DiscoverInstancesInput{
		NamespaceName: aws.String("neo4j.internal"), ServiceName: aws.String("core"), MaxResults: aws.Int32(100)},
		noHostPrefix)
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	var ips []string
	for _, in := range d.Instances {
		ips = append(ips, in.Attributes["AWS_INSTANCE_IPV4"])
	}
	sort.Strings(ips)
	if fmt.Sprint(ips) != "[10.0.0.1 10.0.0.2]" {
		t.Errorf("core.neo4j.internal resolves to %v", ips)
	}

	// A failed ECS read never empties the records.
	f.failList = fmt.Errorf("ThrottlingException")
	if _, err := s.Handle(ctx, nil); err == nil {
		t.Fatal("sync with a failing ECS succeeded")
	}
	if got := listIPs(t, e.cm, e.cores); !equal(got, wantCores) {
		t.Errorf("after a failed read, cores = %v", got)
	}
}

func TestSyncDeadline(t *testing.T) {
	e := setup(t)
	f := &fakeECS{}
	for i := 0; i < 50; i++ {
		f.tasks = append(f.tasks, task("service:replicas", i, ip(i), "RUNNING", ecstypes.HealthStatusHealthy))
	}
	s := &Syncer{ECS: f, CloudMap: e.cm, Config: Config{Cluster: "c", CoresServiceID: e.cores, ReplicasServiceID: e.replica}}
	ctx, cancel := context.WithTimeout(context.Background(), 1*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	res, err := s.Handle(ctx, nil)
	if err == nil || res.Error == "" {
		t.Fatalf("want a deadline error with an answer, got %+v %v", res, err)
	}
	if time.Since(t0) > 5*time.Second {
		t.Fatal("did not stop at the deadline")
	}
}

// noHostPrefix stops the SDK sending DiscoverInstances to data-<host>, which moto's
// 127.0.0.1 endpoint cannot resolve.
func noHostPrefix(o *servicediscovery.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("neo4jctlNoHostPrefix",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
			}), middleware.After)
	})
}

func mustRegister(t *testing.T, cm *servicediscovery.Client, svc, id, ip string) {
	t.Helper()
	_, err := cm.RegisterInstance(context.Background(), &servicediscovery.RegisterInstanceInput{
		ServiceId: aws.String(svc), InstanceId: aws.String(id), Attributes: map[string]string{"AWS_INSTANCE_IPV4": ip}})
	if err != nil {
		t.Fatal(err)
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestLiveAndIP(t *testing.T) {
	tests := []struct {
		name string
		t    ecstypes.Task
		live bool
		ip   string
	}{
		{"healthy", task("service:core-1", 1, "10.0.0.1", "RUNNING", ecstypes.HealthStatusHealthy), true, "10.0.0.1"},
		{"no health check", task("service:core-1", 1, "10.0.0.1", "RUNNING", ecstypes.HealthStatusUnknown), true, "10.0.0.1"},
		{"unhealthy", task("service:core-1", 1, "10.0.0.1", "RUNNING", ecstypes.HealthStatusUnhealthy), false, "10.0.0.1"},
		{"provisioning", task("service:core-1", 1, "10.0.0.1", "PROVISIONING", ecstypes.HealthStatusUnknown), false, "10.0.0.1"},
		{"container ni", ecstypes.Task{LastStatus: aws.String("RUNNING"), DesiredStatus: aws.String("STOPPED"),
			Containers: []ecstypes.Container{{NetworkInterfaces: []ecstypes.NetworkInterface{{PrivateIpv4Address: aws.String("10.2.0.1")}}}}}, false, "10.2.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if Live(tt.t) != tt.live || TaskIPv4(tt.t) != tt.ip {
				t.Fatalf("Live=%v IP=%s", Live(tt.t), TaskIPv4(tt.t))
			}
		})
	}
}
