package ops

import (
	"context"
	"encoding/json"
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

	"github.com/neo4jctl/neo4jctl/internal/clustersim"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/rollout"
)

// simClock is the handle's clock on the simulator's time: waiting advances it.
type simClock struct{ sim *clustersim.Sim }

func (c simClock) Now() time.Time { return c.sim.Now() }

func (c simClock) After(d time.Duration) <-chan time.Time {
	c.sim.Advance(d)
	ch := make(chan time.Time, 1)
	ch <- c.sim.Now()
	return ch
}

// deployECS is a FAKE ECS that deploys as the real one does for a member service: a forced
// new deployment is PRIMARY beside the old (ACTIVE) one while the old task stops and the
// new one starts, which takes lag polls; then the old task is STOPPED, the new deployment
// the only one, and the simulator runs the new process. A service in fail gets a FAILED
// deployment (the circuit breaker) instead.
type deployECS struct {
	*fakeECS
	sim     *clustersim.Sim
	mu      sync.Mutex
	lag     int
	fail    map[string]string
	pending map[string]int // service -> polls left
	n       int
	updates []string
}

func newDeployECS(x *simCluster, lag int) *deployECS {
	d := &deployECS{fakeECS: x.ecs, sim: x.sim, lag: lag, fail: map[string]string{}, pending: map[string]int{}}
	d.tasks = map[string][]ecstypes.Task{}
	for name, svc := range x.ecs.services {
		svc.Deployments = []ecstypes.Deployment{{Id: aws.String("ecs-svc/0-" + name), Status: aws.String("PRIMARY"), RolloutState: ecstypes.DeploymentRolloutStateCompleted}}
		x.ecs.services[name] = svc
		for i := range svc.DesiredCount {
			d.tasks[name] = append(d.tasks[name], task(fmt.Sprintf("%s-t0-%d", name, i), name, "RUNNING"))
		}
	}
	return d
}

func (d *deployECS) UpdateService(_ context.Context, in *ecs.UpdateServiceInput, _ ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name := aws.ToString(in.Service)
	svc, ok := d.services[name]
	if !ok || !in.ForceNewDeployment {
		return nil, apiErr("ServiceNotFoundException", "Service not found.")
	}
	d.n++
	d.updates = append(d.updates, name)
	id := fmt.Sprintf("ecs-svc/%d", d.n)
	old := svc.Deployments[0]
	old.Status = aws.String("ACTIVE")
	svc.Deployments = []ecstypes.Deployment{{Id: aws.String(id), Status: aws.String("PRIMARY"), RolloutState: ecstypes.DeploymentRolloutStateInProgress}, old}
	d.services[name] = svc
	d.pending[name] = d.lag
	return &ecs.UpdateServiceOutput{Service: &svc}, nil
}

// DescribeServices moves each pending deployment one poll on.
func (d *deployECS) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, o ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	d.mu.Lock()
	for _, name := range in.Services {
		left, ok := d.pending[name]
		if !ok {
			continue
		}
		svc := d.services[name]
		switch {
		case d.fail[name] != "":
			svc.Deployments[0].RolloutState, svc.Deployments[0].RolloutStateReason = ecstypes.DeploymentRolloutStateFailed, aws.String(d.fail[name])
			delete(d.pending, name)
		case left > 0:
			d.pending[name] = left - 1
			for i := range d.tasks[name] { // the old task is stopping
				d.tasks[name][i].LastStatus = aws.String("DEACTIVATING")
			}
		default:
			delete(d.pending, name)
			svc.Deployments = svc.Deployments[:1]
			svc.Deployments[0].RolloutState = ecstypes.DeploymentRolloutStateCompleted
			var fresh []ecstypes.Task
			for i, t := range d.tasks[name] {
				t.LastStatus, t.DesiredStatus = aws.String("STOPPED"), aws.String("STOPPED")
				d.tasks[name][i] = t
				fresh = append(fresh, task(fmt.Sprintf("%s-t%d-%d", name, d.n, i), name, "RUNNING"))
			}
			d.tasks[name] = append(d.tasks[name], fresh...)
			d.sim.Set(name, clustersim.Service{Desired: int(svc.DesiredCount), Running: int(svc.DesiredCount), Deployment: aws.ToString(svc.Deployments[0].Id)})
		}
		d.services[name] = svc
	}
	d.mu.Unlock()
	return d.fakeECS.DescribeServices(ctx, in, o...)
}

// restartFixture is a formed simulated cluster of 3 cores and 2 replicas behind the real
// admin handler, its ECS deploying as deployECS does.
func restartFixture(t *testing.T, lag int) (*simCluster, *deployECS, *memS3, *recorder, *Restart) {
	x := newSimCluster(t, 3, 2)
	x.formed()
	x.sim.ResetStats()
	d := newDeployECS(x, lag)
	s3 := newMemS3()
	rec := &recorder{}
	c := &Cluster{Name: "graph-dev", Region: "eu-west-1", Stacks: x.engine, Events: rec, Clock: simClock{x.sim},
		Admin: NewLambdaChannel("graph-dev", "eu-west-1", x.lambda)}
	return x, d, s3, rec, &Restart{Cluster: c, Yes: true, ECS: d, State: s3, MemberTimeout: 10 * time.Minute}
}

// A member's restart returns only once the old task is STOPPED and the new deployment is
// the only one: the gate after it then sees the member go down and come back.
func TestRestartRollsEachMemberOnceWaitingForECS(t *testing.T) {
	x, d, s3, rec, r := restartFixture(t, 3)
	p, err := r.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.order, ","); !strings.HasPrefix(got, "replicas,") || len(p.Members) != 4 {
		t.Fatalf("order %s, plan %+v", got, p.Members)
	}
	if last := p.Members[3]; !slices.Contains(last.Leads, "system") && len(last.Leads) == 0 {
		t.Errorf("the last member leads nothing: %+v", p.Members)
	}
	res, err := r.Execute(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Done, p.order) || !slices.Equal(d.updates, p.order) {
		t.Errorf("done %v, deployments %v, order %v", res.Done, d.updates, p.order)
	}
	st := x.sim.Stats()
	if st.Restarts["core-1"] != 1 || st.Restarts["core-2"] != 1 || st.Restarts["core-3"] != 1 || st.Restarts["replicas"] != 2 || len(st.QuorumLosses) != 0 {
		t.Errorf("restarts %v, quorum losses %v", st.Restarts, st.QuorumLosses)
	}
	// each restart waited out the deployment: polls of ECS while the old task stopped
	if res.Restarts < 4*3*DefaultECSPoll {
		t.Errorf("time in restarts %s: the restarts did not wait for ECS", res.Restarts)
	}
	if lines := rec.lines(); !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "core-2: ECS deployment ecs-svc/") }) {
		t.Errorf("events %v", lines)
	}
	var state RestartState
	if err := json.Unmarshal(s3.objects[naming.RestartStateKey], &state); err != nil || state.Next != "" || !slices.Equal(state.Done, p.order) {
		t.Errorf("state %+v (%v)", state, err)
	}
}

// A deployment ECS rolls back (the circuit breaker) fails the member with ECS's reason;
// the members after it are untouched, and the error says how to repair and resume.
func TestRestartDeploymentFailed(t *testing.T) {
	_, d, _, _, r := restartFixture(t, 1)
	p, err := r.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	victim := p.order[1]
	d.fail[victim] = "ECS deployment circuit breaker: tasks failed to start."
	res, err := r.Execute(context.Background(), p)
	var re *rollout.RestartError
	var roll *RollError
	if !errors.As(err, &re) || !errors.As(err, &roll) || re.Member != victim || res.Next != victim {
		t.Fatalf("err %v; result %+v", err, res)
	}
	for _, want := range []string{"restarting " + victim + ": ECS deployment ecs-svc/2 of service " + victim + " failed: ECS deployment circuit breaker: tasks failed to start.",
		"Done: replicas.", "Not touched: " + strings.Join(p.order[1:], ", ") + ".",
		"restart it alone: `neo4jctl restart cluster graph-dev --member " + victim + "`",
		"Resume with `neo4jctl restart cluster graph-dev --from " + victim + "`"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
	if len(d.updates) != 2 {
		t.Errorf("deployments %v", d.updates)
	}
}

// A member whose service wants no task is not restarted, and the replicas are left out
// when none runs; unknown members are usage errors. Nothing is deployed.
func TestRestartPlanRefusals(t *testing.T) {
	x, d, _, _, r := restartFixture(t, 0)
	r.Only = []string{"core-4"}
	var ue *UnknownMemberError
	if _, err := r.Plan(context.Background()); !errors.As(err, &ue) || ue.ExitCode() != 2 || !strings.Contains(err.Error(), "members: core-1, core-2, core-3, replicas") {
		t.Errorf("core-4: %v", err)
	}
	r.Only = nil
	svc := x.ecs.services["replicas"]
	svc.DesiredCount = 0
	x.ecs.services["replicas"] = svc
	if p, err := r.Plan(context.Background()); err != nil || slices.Contains(p.order, "replicas") {
		t.Errorf("no replica running: %v %v", p, err)
	}
	svc = x.ecs.services["core-2"]
	svc.DesiredCount = 0
	x.ecs.services["core-2"] = svc
	if _, err := r.Plan(context.Background()); err == nil || !strings.Contains(err.Error(), "core-2 is not running") {
		t.Errorf("core-2 stopped: %v", err)
	}
	if len(d.updates) != 0 {
		t.Errorf("deployed %v", d.updates)
	}
}
