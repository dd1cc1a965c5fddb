package agent

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// fakeServices is the ECS replicas service: its desired count, or missing.
type fakeServices struct {
	mu      sync.Mutex
	desired int
	missing bool
	err     error
	asked   []string
}

func (f *fakeServices) DesiredCount(_ context.Context, cluster, service string) (int, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, cluster+"/"+service)
	if f.err != nil {
		return 0, false, f.err
	}
	if f.missing {
		return 0, false, nil
	}
	return f.desired, true, nil
}

// replicaServer is a replica as SHOW SERVERS lists it (mode constraint SECONDARY).
func replicaServer(n int, state string) neo4jadmin.Server {
	return neo4jadmin.Server{ID: fmt.Sprintf("7b2c9d10-2222-4e6f-8a7b-%012d", n), Name: fmt.Sprintf("7b2c9d10-2222-4e6f-8a7b-%012d", n),
		Address: fmt.Sprintf("10.0.2.%d:7687", n), State: state, Health: "Available", ModeConstraint: "SECONDARY"}
}

func TestReconcileSecondaries(t *testing.T) {
	tests := []struct {
		name      string
		services  *fakeServices
		change    func(f *fakeEnterpriseAdmin)
		wantS     int
		wantCalls []string
		wantErr   string
	}{
		{name: "already equal: nothing written", services: &fakeServices{desired: 1}, wantS: 1},
		{name: "S from the replicas service: 3 replicas joined", services: &fakeServices{desired: 3},
			change: func(f *fakeEnterpriseAdmin) {
				f.servers = append(f.servers, replicaServer(5, "Enabled"), replicaServer(6, "Enabled"))
			},
			wantS: 3, wantCalls: []string{"set-defaults 3 3", "set-topology neo4j 3 3"}},
		{name: "capped by the servers that can host a secondary (Free and Deallocating do not count)", services: &fakeServices{desired: 4},
			change: func(f *fakeEnterpriseAdmin) {
				f.servers = append(f.servers, replicaServer(5, "Enabled"), replicaServer(6, "Free"), replicaServer(7, "Deallocating"))
			},
			wantS: 2, wantCalls: []string{"set-defaults 3 2", "set-topology neo4j 3 2"}},
		{name: "never more than the one replica there is", services: &fakeServices{desired: 5}, wantS: 1},
		{name: "cores constrained to PRIMARY (as neo4jctl starts them): replicas alone host secondaries", services: &fakeServices{desired: 2},
			change: func(f *fakeEnterpriseAdmin) {
				for i := range 3 {
					f.servers[i].ModeConstraint = "PRIMARY"
				}
				f.servers = append(f.servers, replicaServer(5, "Enabled"))
			},
			wantS: 2, wantCalls: []string{"set-defaults 3 2", "set-topology neo4j 3 2"}},
		{name: "replicas service missing: 0", services: &fakeServices{missing: true},
			wantS: 0, wantCalls: []string{"set-defaults 3 0", "set-topology neo4j 3 0"}},
		{name: "scaled to 0", services: &fakeServices{desired: 0},
			wantS: 0, wantCalls: []string{"set-defaults 3 0", "set-topology neo4j 3 0"}},
		{name: "only the defaults differ", services: &fakeServices{desired: 1},
			change: func(f *fakeEnterpriseAdmin) { f.defaults.Secondaries = 2 },
			wantS:  1, wantCalls: []string{"set-defaults 3 1"}},
		{name: "system never altered, composite skipped, a database's own primaries kept", services: &fakeServices{desired: 0},
			change: func(f *fakeEnterpriseAdmin) {
				for i := range f.databases {
					if f.databases[i].Name == "system" {
						f.databases[i].RequestedPrimaries, f.databases[i].RequestedSecondaries = i64(3), i64(1)
					}
				}
				f.databases = append(f.databases,
					neo4jadmin.Database{Name: "shop", Type: "standard", RequestedPrimaries: i64(1), RequestedSecondaries: i64(1)},
					neo4jadmin.Database{Name: "archive", Type: "standard", RequestedPrimaries: i64(3), RequestedSecondaries: i64(0)},
					neo4jadmin.Database{Name: "all", Type: "composite", RequestedPrimaries: i64(3), RequestedSecondaries: i64(1)})
			},
			wantS: 0, wantCalls: []string{"set-defaults 3 0", "set-topology neo4j 3 0", "set-topology shop 1 0"}},
		{name: "no dbms.showTopologyGraphConfig: the defaults are set anyway", services: &fakeServices{desired: 1},
			change: func(f *fakeEnterpriseAdmin) { f.noTopologyConfig = true },
			wantS:  1, wantCalls: []string{"set-defaults 3 1"}},
		{name: "cluster not formed: nothing written", services: &fakeServices{desired: 0},
			change:  func(f *fakeEnterpriseAdmin) { f.servers[1].Health = "Unavailable" },
			wantErr: "waiting for the cluster to form: 2 of 3 core servers"},
		{name: "ECS error: nothing written", services: &fakeServices{err: errors.New("AccessDeniedException")},
			wantErr: "reading the desired count of ECS service replicas: AccessDeniedException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			admin := newFakeEnterpriseAdmin()
			if tt.change != nil {
				tt.change(admin)
			}
			var logs syncBuffer
			w := &Worker{Config: WorkerConfig{First: true, CoreCount: 3, ECSCluster: "neo4jctl-graph"}, Services: tt.services, Stderr: &logs}
			plan, err := w.ReconcileSecondaries(ctx, admin)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if len(admin.calls) != 0 {
					t.Fatalf("wrote %q", admin.calls)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if plan.Secondaries != tt.wantS || !slices.Equal(admin.calls, tt.wantCalls) {
				t.Fatalf("S=%d calls %q, want S=%d %q\n%s", plan.Secondaries, admin.calls, tt.wantS, tt.wantCalls, logs.String())
			}
			if !slices.Equal(tt.services.asked, []string{"neo4jctl-graph/" + naming.ReplicasService}) {
				t.Errorf("asked ECS for %q", tt.services.asked)
			}
			// idempotent: a second round writes nothing
			admin.calls = nil
			if _, err := w.ReconcileSecondaries(ctx, admin); err != nil || (len(admin.calls) != 0 && !admin.noTopologyConfig) {
				t.Errorf("second round: %v %q", err, admin.calls)
			}
		})
	}
}

// Community (the test bed's real Neo4j): the reconcile answers "unsupported"; the worker logs
// it once, stops following the replicas and carries on with the rest (the users here).
func TestSecondariesUnsupportedOnCommunity(t *testing.T) {
	n := testbed.SharedNeo4j(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := neo4jadmin.New(n.BoltURI, n.User, n.Password)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	services := &fakeServices{desired: 2}
	w := &Worker{Config: WorkerConfig{First: true, CoreCount: 1, ECSCluster: "neo4jctl-graph"}, Services: services}
	if _, err := w.ReconcileSecondaries(ctx, c); !neo4jadmin.IsCode(err, neo4jadmin.CodeUnsupported) {
		t.Fatalf("on community: %v, want %s", err, neo4jadmin.CodeUnsupported)
	}

	user, pw := "app_"+strings.ToLower(rand.Text()[:8]), rand.Text()
	var logs syncBuffer
	w = &Worker{Config: WorkerConfig{Role: "core", Member: "core-1", First: true, CoreCount: 1, ECSCluster: "neo4jctl-graph",
		Users: []neo4jadmin.UserSpec{{Username: user, Password: pw, Access: neo4jadmin.ReadOnly}}},
		Services: services, Stderr: &logs,
		Connect: func(context.Context) (Admin, error) { return c, nil }}
	w.Config.defaults()
	loopCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.adminLoop(loopCtx) }()
	for !strings.Contains(logs.String(), "secondaries: not supported by this Neo4j") && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("the worker's admin loop ended on an unsupported command")
	default:
	}
	stop()
	<-done
	uc, _ := neo4jadmin.New(n.BoltURI, user, pw)
	defer uc.Close(ctx)
	if err := uc.Ping(ctx); err != nil {
		t.Errorf("users not kept next to the unsupported reconcile: %v\n%s", err, logs.String())
	}
	if strings.Count(logs.String(), "secondaries: not supported") != 1 || strings.Contains(logs.String(), pw) || strings.Contains(logs.String(), n.Password) {
		t.Errorf("logs:\n%s", logs.String())
	}
}

// fakeECS answers DescribeServices as ECS does: MISSING failures, statuses.
type fakeECS struct {
	out *ecs.DescribeServicesOutput
	err error
}

func (f fakeECS) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	return f.out, f.err
}

func TestECSServices(t *testing.T) {
	svc := func(status string, n int32) ecstypes.Service {
		return ecstypes.Service{ServiceName: aws.String("replicas"), Status: aws.String(status), DesiredCount: n}
	}
	tests := []struct {
		name   string
		api    fakeECS
		want   int
		exists bool
		err    string
	}{
		{"active", fakeECS{out: &ecs.DescribeServicesOutput{Services: []ecstypes.Service{svc("ACTIVE", 4)}}}, 4, true, ""},
		{"missing", fakeECS{out: &ecs.DescribeServicesOutput{Failures: []ecstypes.Failure{{Arn: aws.String("arn:aws:ecs:eu-west-1:1:service/c/replicas"), Reason: aws.String("MISSING")}}}}, 0, false, ""},
		{"draining (being deleted)", fakeECS{out: &ecs.DescribeServicesOutput{Services: []ecstypes.Service{svc("DRAINING", 2)}}}, 0, false, ""},
		{"inactive", fakeECS{out: &ecs.DescribeServicesOutput{Services: []ecstypes.Service{svc("INACTIVE", 2)}}}, 0, false, ""},
		{"other failure", fakeECS{out: &ecs.DescribeServicesOutput{Failures: []ecstypes.Failure{{Reason: aws.String("ACCESS_DENIED"), Detail: aws.String("no")}}}}, 0, false, "ACCESS_DENIED"},
		{"error", fakeECS{err: errors.New("ClusterNotFoundException")}, 0, false, "ClusterNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, ok, err := ECSServices{ECS: tt.api}.DesiredCount(context.Background(), "c", "replicas")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err != nil || n != tt.want || ok != tt.exists {
				t.Fatalf("%d %v %v", n, ok, err)
			}
		})
	}
}
