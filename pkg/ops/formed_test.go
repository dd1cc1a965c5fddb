package ops

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/neo4jctl/neo4jctl/internal/clustersim"
)

// simTime is a clock on the simulator's time: waiting advances the simulated cluster.
type simTime struct{ sim *clustersim.Sim }

func (c simTime) Now() time.Time { return c.sim.Now() }

func (c simTime) After(d time.Duration) <-chan time.Time {
	c.sim.Advance(d)
	ch := make(chan time.Time, 1)
	ch <- c.sim.Now()
	return ch
}

// waitOn is a WaitFormed on the simulated cluster of x, for at most d.
func (x *simCluster) waitOn(d time.Duration) (*WaitFormed, *recorder) {
	ev := &recorder{}
	h := &Cluster{Name: "graph-dev", Region: "eu-west-1", Events: ev, Clock: simTime{x.sim},
		Admin: NewLambdaChannel("graph-dev", "eu-west-1", x.lambda)}
	return &WaitFormed{Cluster: h, Cores: x.cores, Replicas: x.replicas, Namespace: "graph-dev.neo4j.internal",
		Deadline: x.sim.Now().Add(d), ECS: x.ecs}, ev
}

func TestWaitFormedReportsMembersAsTheyJoin(t *testing.T) {
	x := newSimCluster(t, 3, 2)
	x.run(x.all(3)...)
	w, ev := x.waitOn(10 * time.Minute)
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !x.sim.View().Ready() {
		t.Fatalf("returned before the simulator says formed: %+v", x.sim.View())
	}
	got := strings.Join(ev.lines(), "\n")
	for _, want := range []string{"Waiting for Neo4j to form cluster graph-dev: 3 core members and 2 replicas to join", "core-1 joined (1 of 3)",
		"core-3 joined (3 of 3)", "replica joined (2 of 2)", "Cluster graph-dev formed"} {
		if !strings.Contains(got, want) {
			t.Errorf("events lack %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "joined") != 5 {
		t.Errorf("each member joins once:\n%s", got)
	}
	if n := x.lambda.calls.Load(); n > 12 {
		t.Errorf("%d requests: one poll every 10s of a formation that takes about a minute", n)
	}
}

func TestWaitFormedTimesOutSayingWhatIsMissing(t *testing.T) {
	x := newSimCluster(t, 3, 0)
	x.run(1, 0, 1)
	w, _ := x.waitOn(5 * time.Minute)
	err := w.Run(context.Background())
	var te *FormationTimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"cluster graph-dev did not form in time", "  - core-2: 0 of 1 tasks running\n",
		"  - Neo4j does not answer: unavailable:", "a new cluster forms only once all 3 core members have started",
		"See what is wrong with `neo4jctl get cluster graph-dev`"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if x.sim.Now().Before(time.Date(2025, 1, 1, 0, 5, 0, 0, time.UTC)) {
		t.Errorf("gave up at %s, before its 5 minutes", x.sim.Now())
	}
	// after formation, a member that stopped joining is named by Neo4j's view
	y := newSimCluster(t, 3, 0)
	y.formed()
	y.sim.Fault("core-3", clustersim.NeverAvailable)
	w, _ = y.waitOn(time.Minute)
	if err := w.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "  - core-3 is Enabled and Unavailable") {
		t.Errorf("got %v", err)
	}
}

// A channel that will not answer however long one waits ends the wait at once.
func TestWaitFormedStopsOnAPermanentError(t *testing.T) {
	x := newSimCluster(t, 3, 0)
	x.lambda.fn = func(context.Context, []byte) (*lambda.InvokeOutput, error) {
		return &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(`{"type":"status"}`)}, nil // moto's echo
	}
	w, _ := x.waitOn(10 * time.Minute)
	err := w.Run(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "cannot tell whether cluster graph-dev formed: admin function neo4jctl-graph-dev-operations: not an answer") || x.lambda.calls.Load() != 1 {
		t.Fatalf("after %d requests: %v", x.lambda.calls.Load(), err)
	}
}

// --timeout ending a create while stacks are still being made is not a Ctrl-C: no rollback
// is offered, the message says what stopped it and how to resume.
func TestCreateStoppedByTheTimeoutOffersNoRollback(t *testing.T) {
	x, c := newCreateFixture(t)
	x.del.eng.block["neo4jctl-graph-dev-core-1"] = true
	// the deadline passes once core-1 is being made (not after some real time, which a
	// loaded machine can spend before core-1 starts)
	deadline := &expiring{Context: context.Background(), done: make(chan struct{})}
	x.del.eng.onBlock = func(string) { deadline.expire() }
	p := &fakePrompt{answers: []bool{true}}
	c.Prompt = p
	_, err := run(deadline, c)
	var ce *CreateError
	if !errors.As(err, &ce) || !ce.TimedOut || !strings.HasPrefix(err.Error(), "create of cluster graph-dev stopped by --timeout; still creating in AWS: neo4jctl-graph-dev-core-1") {
		t.Fatalf("got %v", err)
	}
	if len(p.asked) != 0 || len(x.del.eng.deleted) != 0 {
		t.Errorf("asked %q, deleted %v", p.asked, x.del.eng.deleted)
	}
}

// expiring is a context whose deadline passes when expire is called.
type expiring struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func (e *expiring) expire()               { e.once.Do(func() { close(e.done) }) }
func (e *expiring) Done() <-chan struct{} { return e.done }
func (e *expiring) Err() error {
	select {
	case <-e.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
