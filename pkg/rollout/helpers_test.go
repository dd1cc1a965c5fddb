package rollout_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/internal/clustersim"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
	"github.com/neo4jctl/neo4jctl/pkg/rollout"
)

const namespace = "neo4j.internal" // the simulator's default

// simAdmin is the admin channel the CLI will have, on the simulator: each request goes
// through the real admin Lambda handler as JSON (sim.Invoke), as the Lambda path does.
type simAdmin struct {
	sim   *clustersim.Sim
	mu    sync.Mutex
	calls map[neo4jadmin.RequestType]int
}

func (a *simAdmin) Send(ctx context.Context, req neo4jadmin.Request) (neo4jadmin.Response, error) {
	a.mu.Lock()
	if a.calls == nil {
		a.calls = map[neo4jadmin.RequestType]int{}
	}
	a.calls[req.Type]++
	a.mu.Unlock()
	in, err := neo4jadmin.Encode(req)
	if err != nil {
		return neo4jadmin.Response{}, err
	}
	out, err := a.sim.Invoke(ctx, in)
	if err != nil {
		return neo4jadmin.Response{}, err
	}
	var resp neo4jadmin.Response
	if err := json.Unmarshal(out, &resp); err != nil {
		return neo4jadmin.Response{}, fmt.Errorf("decoding the answer %s: %w", out, err)
	}
	return resp, nil
}

// simRestarter restarts members as ECS does, on simulated time: a core's task stops (Stop:
// Neo4j's graceful shutdown), a new one is placed and started (Start: placement, image,
// container start), and only then does the Neo4j process start, whose joining the after
// gate waits for; the replicas service replaces every task with a new one (a new server).
type simRestarter struct {
	sim         *clustersim.Sim
	stop, start time.Duration
	replicas    int
	// before runs as each member goes down (checks, faults); after once it runs again.
	before, after func(m rollout.Member)
	restarts      []string
	deploys       int
	// hang: the core's task stops and no new one comes (a wait the context cuts short)
	hang bool
}

func (r *simRestarter) Restart(ctx context.Context, m rollout.Member) error {
	if r.before != nil {
		r.before(m)
	}
	r.restarts = append(r.restarts, m.Name)
	r.deploys++
	dep := fmt.Sprintf("deployment-%d", r.deploys)
	if m.Replicas() {
		r.sim.Advance(r.start) // new tasks start before the old ones stop
		r.sim.Set(m.Name, clustersim.Service{Desired: r.replicas, Running: r.replicas, Deployment: dep})
	} else if err := (rollout.StopStart{
		Stop: func(ctx context.Context, m rollout.Member) error {
			r.sim.Set(m.Name, clustersim.Service{Desired: 1, Running: 0})
			if r.hang {
				<-ctx.Done()
				return ctx.Err()
			}
			r.sim.Advance(r.stop)
			return nil
		},
		Start: func(ctx context.Context, m rollout.Member) error {
			r.sim.Advance(r.start)
			r.sim.Set(m.Name, clustersim.Service{Desired: 1, Running: 1, Deployment: dep})
			return nil
		},
	}).Restart(ctx, m); err != nil {
		return err
	}
	if r.after != nil {
		r.after(m)
	}
	return ctx.Err()
}

// recorder keeps the events.
type recorder struct {
	mu     sync.Mutex
	events []rollout.Event
	on     func(rollout.Event)
}

func (r *recorder) Emit(e rollout.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	on := r.on
	r.mu.Unlock()
	if on != nil {
		on(e)
	}
}

func eventsOf[E rollout.Event](r *recorder) []E {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []E
	for _, e := range r.events {
		if x, ok := e.(E); ok {
			out = append(out, x)
		}
	}
	return out
}

// cluster is a formed simulated cluster with a roll wired to it.
type cluster struct {
	sim      *clustersim.Sim
	admin    *simAdmin
	restart  *simRestarter
	events   *recorder
	roll     *rollout.Roll
	cores    int
	replicas int
}

func newCluster(t testing.TB, cfg clustersim.Config, replicas int) *cluster {
	t.Helper()
	sim := clustersim.New(cfg)
	cores := cfg.Cores
	svcs := clustersim.Services{"replicas": {Desired: replicas, Running: replicas}}
	for i := 1; i <= cores; i++ {
		svcs[fmt.Sprintf("core-%d", i)] = clustersim.Service{Desired: 1, Running: 1}
	}
	sim.Apply(svcs)
	if !sim.AdvanceUntil(clustersim.View.Ready, 10*time.Minute) {
		t.Fatalf("cluster not ready after 10 simulated minutes: %+v", sim.View())
	}
	sim.ResetStats()
	c := &cluster{sim: sim, admin: &simAdmin{sim: sim}, events: &recorder{}, cores: cores, replicas: replicas}
	c.restart = &simRestarter{sim: sim, stop: 10 * time.Second, start: 20 * time.Second, replicas: replicas}
	c.roll = &rollout.Roll{Admin: c.admin, Restarter: c.restart, Clock: sim, Events: c.events,
		Members: rollout.Members(cores, namespace, replicas > 0)}
	return c
}

// oneDownAtATime makes the restarter fail the test when a member goes down while another
// core is not Available: never a second core down while one is out.
func (c *cluster) oneDownAtATime(t testing.TB) {
	c.restart.before = func(m rollout.Member) {
		for _, s := range c.sim.View().Servers {
			if s.Listed && s.Member != m.Name && s.Member[:5] == "core-" && s.Health != clustersim.Available {
				t.Errorf("%s goes down while %s is %s", m.Name, s.Member, s.Health)
			}
		}
	}
}

// quorumKept checks the simulator's counters: no database ever lost the majority of its
// primaries, none went below its majority at any step.
func (c *cluster) quorumKept(t testing.TB) {
	t.Helper()
	st := c.sim.Stats()
	if len(st.QuorumLosses) != 0 {
		t.Errorf("quorum lost: %+v", st.QuorumLosses)
	}
	for _, d := range c.sim.View().Databases {
		if st.MinPrimariesOnline[d.Name] < d.Voters/2+1 {
			t.Errorf("%s: %d primaries online at the worst, majority %d", d.Name, st.MinPrimariesOnline[d.Name], d.Voters/2+1)
		}
	}
}

// restartedOnce checks that each named member was restarted exactly once and no other.
func (c *cluster) restartedOnce(t testing.TB, members ...string) {
	t.Helper()
	st := c.sim.Stats()
	for i := 1; i <= c.cores; i++ {
		m := fmt.Sprintf("core-%d", i)
		want := 0
		if slices.Contains(members, m) {
			want = 1
		}
		if st.Restarts[m] != want {
			t.Errorf("%s restarted %d times, want %d", m, st.Restarts[m], want)
		}
	}
	want := 0
	if slices.Contains(members, "replicas") {
		want = c.replicas // every replica task replaced once
	}
	if st.Restarts["replicas"] != want {
		t.Errorf("replica tasks replaced %d times, want %d", st.Restarts["replicas"], want)
	}
}

func allMembers(cores int, replicas bool) []string {
	var out []string
	for _, m := range rollout.Members(cores, namespace, replicas) {
		out = append(out, m.Name)
	}
	return out
}
