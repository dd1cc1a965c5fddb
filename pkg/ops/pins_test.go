package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

const (
	pinnedAMI  = "ami-0000000000000aaaa" // what the live stacks run
	currentAMI = "ami-0000000000000bbbb" // what AWS recommends now
)

var pinnedAgent = strings.Repeat("9", 64) // the host agent of the release that made the stacks

// pinnedFixture is the running cluster of newUpdateFixture whose core and replica stacks are
// pinned to pinnedAMI (arm64: r7g instances) and, the cores, to pinnedAgent, while SSM
// recommends currentAMI and this release brings another agent.
func pinnedFixture(t *testing.T) (*updateFixture, *Update) {
	x, u := newUpdateFixture(t)
	for _, s := range x.eng.stacks {
		kind := s.Tags[naming.TagStackKind]
		if kind != naming.KindCore && kind != naming.KindReplicas {
			continue
		}
		s.Parameters = map[string]string{stack.ParamImageID: pinnedAMI, stack.ParamImageSSMParameter: stack.AMIParameter("arm64")}
		if kind == naming.KindCore {
			s.Parameters[stack.ParamHostAgentSHA256] = pinnedAgent
		}
	}
	u.Precheck.SSM = &fakeSSM{params: map[string]string{stack.AMIParameter("arm64"): currentAMI, stack.AMIParameter("amd64"): "ami-0000000000000cccc"}}
	return x, u
}

func TestUpdateKeepsThePinnedAMIAndHostAgent(t *testing.T) {
	_, u := pinnedFixture(t)
	p, err := u.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.stacks {
		if s.Kind != naming.KindCore && s.Kind != naming.KindReplicas {
			continue
		}
		if s.Parameters[stack.ParamImageID] != pinnedAMI {
			t.Errorf("%s: ImageId %s, want the pinned %s", s.Name, s.Parameters[stack.ParamImageID], pinnedAMI)
		}
		if s.Kind == naming.KindCore && s.Parameters[stack.ParamHostAgentSHA256] != pinnedAgent {
			t.Errorf("%s: HostAgentSHA256 %s, want the pinned one", s.Name, s.Parameters[stack.ParamHostAgentSHA256])
		}
	}
	if p.Changed() != 0 || len(p.Refusals) != 0 {
		t.Fatalf("a newer AMI changes %d stacks: notes %v, refusals %v", p.Changed(), p.Notes, p.Refusals)
	}
	ev, ok := eventOf[NewerAMIAvailable](u.Events.(*recorder))
	if !ok || ev.Current != currentAMI || ev.Running != pinnedAMI || len(ev.Stacks) != 4 ||
		!strings.HasSuffix(ev.String(), "`neo4jctl update cluster -f production.yaml --refresh-ami --force` rolls the members onto it, one at a time") {
		t.Fatalf("event %+v", ev)
	}
}

func TestUpdateRefreshAMIMovesThePinsAndRollsLikeAnyCoreChange(t *testing.T) {
	x, u := pinnedFixture(t)
	u.RefreshAMI = true
	p, err := u.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, agent, _ := fakeBundle("arm64")
	for _, s := range p.stacks {
		if (s.Kind == naming.KindCore || s.Kind == naming.KindReplicas) && s.Parameters[stack.ParamImageID] != currentAMI {
			t.Errorf("%s: ImageId %s, want %s", s.Name, s.Parameters[stack.ParamImageID], currentAMI)
		}
	}
	amiNote := "AMI " + pinnedAMI + " → " + currentAMI + " (--refresh-ami): the rolling update replaces the instance"
	agentNote := "host agent 999999999999 → " + agent[:12] + " (--refresh-ami): the rolling update replaces the instance"
	if n := p.Notes["neo4jctl-graph-prod-core-2"]; !slices.Equal(n, []string{amiNote, agentNote}) {
		t.Errorf("core-2 notes %q", n)
	}
	if n := p.Notes["neo4jctl-graph-prod-replicas"]; !slices.Equal(n, []string{amiNote}) {
		t.Errorf("replicas notes %q", n)
	}
	// the change sets show no change here (the fake, like moto, shows none for a parameter):
	// the members still count as restarting
	if len(p.Refusals) != 3 || !p.Restarts || p.Refusals[0] != "core-1 is running and would restart: AMI "+pinnedAMI+" → "+currentAMI+
		" (--refresh-ami) (the rolling update replaces the instance), host agent 999999999999 → "+agent[:12]+" (--refresh-ami) (the rolling update replaces the instance)" {
		t.Fatalf("refusals %q", p.Refusals)
	}
	var re *RefusedError
	if err := u.Ask(context.Background(), p); !errors.As(err, &re) || !strings.Contains(err.Error(), "Pass --force to apply it member by member") {
		t.Fatalf("ask: %v", err)
	}

	// with --force, one member at a time through the gates (on AWS the change set shows the
	// launch template)
	sim := x.simulate(t, u)
	x.eng.discarded = nil
	for i := 1; i <= 3; i++ {
		x.eng.changes[fmt.Sprintf("neo4jctl-graph-prod-core-%d", i)] = []engine.Change{modify("LaunchTemplate", "AWS::EC2::LaunchTemplate", "LaunchTemplateData")}
	}
	u.Force, u.Yes = true, true
	if p, err = u.Plan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := u.Ask(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if err := u.Execute(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(slices.Values(x.eng.executed)); !slices.Equal(got, []string{"neo4jctl-graph-prod-core-1", "neo4jctl-graph-prod-core-2", "neo4jctl-graph-prod-core-3"}) || len(x.eng.overlaps) != 0 {
		t.Fatalf("executed %v, overlaps %v", x.eng.executed, x.eng.overlaps)
	}
	if st := sim.Stats(); st.Restarts["core-1"] != 1 || st.Restarts["core-2"] != 1 || st.Restarts["core-3"] != 1 || len(st.QuorumLosses) != 0 {
		t.Errorf("restarts %v, quorum losses %v", st.Restarts, st.QuorumLosses)
	}
}

func TestUpdateOfAStackFromBeforeThePinKeepsTheAMIItResolved(t *testing.T) {
	x, u := newUpdateFixture(t)
	s := x.eng.stacks["neo4jctl-graph-prod-core-1"]
	// ImageId was the SSM-typed parameter itself: its value the path, its resolved value the AMI
	s.Parameters = map[string]string{stack.ParamImageID: stack.AMIParameter("arm64")}
	s.Resolved = map[string]string{stack.ParamImageID: pinnedAMI}
	u.Precheck.SSM = &fakeSSM{params: map[string]string{stack.AMIParameter("arm64"): currentAMI}}
	p, err := u.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range p.stacks {
		if st.Name == s.Name && st.Parameters[stack.ParamImageID] != pinnedAMI {
			t.Fatalf("ImageId %s, want the resolved %s", st.Parameters[stack.ParamImageID], pinnedAMI)
		}
	}
}

func TestUpdateShowsAnInstanceTypeChangeAsTheReplacementItIs(t *testing.T) {
	x, u := pinnedFixture(t)
	old := u.Config.Cores.InstanceType
	for i := 1; i <= 3; i++ {
		x.eng.templates[fmt.Sprintf("neo4jctl-graph-prod-core-%d", i)] = []byte(`{"Resources":{"LaunchTemplate":{"Type":"AWS::EC2::LaunchTemplate","Properties":{"LaunchTemplateData":{"InstanceType":"` + old + `"}}}}}`)
	}
	x.ecs.services["core-3"] = runningService("core-3", 0, 0) // stopped: replaced, not restarted
	u.Config.Cores.InstanceType = "r7i.xlarge"                // and amd64: the pinned arm64 AMI cannot boot it
	p, err := u.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	typeNote := "instance type " + old + " → r7i.xlarge: the rolling update replaces the instance"
	amiNote := "AMI " + pinnedAMI + " → ami-0000000000000cccc (the instance type's architecture changed): the rolling update replaces the instance"
	if n := p.Notes["neo4jctl-graph-prod-core-1"]; len(n) < 2 || n[0] != typeNote || n[1] != amiNote {
		t.Fatalf("core-1 notes %q", n)
	}
	if len(p.Refusals) != 2 || !p.Restarts || !strings.HasPrefix(p.Refusals[0], "core-1 is running and would restart: instance type "+old+" → r7i.xlarge (the rolling update replaces the instance), AMI ") {
		t.Fatalf("refusals %q", p.Refusals)
	}
	if slices.ContainsFunc(p.Refusals, func(r string) bool { return strings.HasPrefix(r, "core-3") }) {
		t.Errorf("the stopped core-3 is called running: %q", p.Refusals)
	}
}
