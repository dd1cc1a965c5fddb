package ops

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// Cluster is the handle every action works on: one cluster's name and region, the stack
// engine that finds its stacks by tag, the AWS clients, where progress goes and who answers
// questions. A command builds one per run; an action takes from it the narrow interfaces it
// declares (see New<Verb>), so unit tests fill those with fakes and leave AWS nil.
type Cluster struct {
	Name   string // empty for actions over every cluster of the region (get cluster)
	Region string
	Stacks StackEngine
	AWS    *Clients // the SDK clients New<Verb> takes its interfaces from; nil in unit tests
	Events Events   // nil: nobody listens
	// Prompt asks people; nil when nobody can answer (no terminal): a confirmation then
	// needs its --yes flag (ConfirmationNeededError).
	Prompt Prompter
	// Admin carries typed requests to the cluster's Neo4j (see AdminChannel); nil when the
	// command has none.
	Admin AdminChannel
	// Clock is the time waits and polls run on (nil: the wall clock).
	Clock engine.Clock
}

// clock is the handle's clock, the wall clock by default.
func (c *Cluster) clock() engine.Clock {
	if c.Clock == nil {
		return engine.RealClock{}
	}
	return c.Clock
}

// StackEngine is what the actions need of pkg/engine: stacks found by tag, created, updated
// through change sets, deleted, and waited for.
type StackEngine interface {
	List(ctx context.Context, match map[string]string) ([]*engine.StackInfo, error)
	Describe(ctx context.Context, name string) (*engine.StackInfo, error)
	Create(ctx context.Context, s engine.Spec, detach bool) (*engine.StackInfo, error)
	Wait(ctx context.Context, name string, op engine.Op, since time.Time, mark string) (*engine.StackInfo, error)
	Delete(ctx context.Context, name string, unprotect bool) error
	Template(ctx context.Context, name string) ([]byte, error)
	Preview(ctx context.Context, s engine.Spec, exists bool) (*engine.ChangeSet, error)
	Execute(ctx context.Context, cs *engine.ChangeSet) (*engine.StackInfo, error)
	DiscardChangeSet(ctx context.Context, cs *engine.ChangeSet) error
}

// emit sends an event to whoever listens.
func (c *Cluster) emit(ev Event) {
	if c.Events != nil {
		c.Events.Emit(ev)
	}
}

// FindStacks returns the cluster's stacks, found by their neo4jctl tags, in creation order:
// vpc, shared, core-1..N, replicas, operations.
func (c *Cluster) FindStacks(ctx context.Context) ([]*engine.StackInfo, error) {
	stacks, err := c.Stacks.List(ctx, map[string]string{naming.TagCluster: c.Name, naming.TagManagedBy: "neo4jctl"})
	if err != nil {
		return nil, err
	}
	return sortStacks(stacks), nil
}

// sortStacks puts one cluster's stacks in creation order.
func sortStacks(stacks []*engine.StackInfo) []*engine.StackInfo {
	sort.SliceStable(stacks, func(i, j int) bool { return stackRank(stacks[i]) < stackRank(stacks[j]) })
	return stacks
}

// kindRank orders stack kinds as they are created: vpc < shared < core, replicas < operations.
var kindRank = map[string]int{naming.KindVPC: 0, naming.KindShared: 1, naming.KindCore: 2, naming.KindReplicas: 3, naming.KindOperations: 4}

func stackRank(s *engine.StackInfo) string {
	r, ok := kindRank[s.Tags[naming.TagStackKind]]
	if !ok {
		r = 5
	}
	member := s.Tags[naming.TagMember]
	return fmt.Sprintf("%d%08s", r, strings.TrimPrefix(member, "core-"))
}

// kindBefore reports whether stacks of kind a are created before (and deleted after) those
// of kind b; members and replicas are created side by side.
func kindBefore(a, b string) bool {
	ra, oka := kindRank[a]
	rb, okb := kindRank[b]
	if ra == kindRank[naming.KindReplicas] {
		ra = kindRank[naming.KindCore]
	}
	if rb == kindRank[naming.KindReplicas] {
		rb = kindRank[naming.KindCore]
	}
	return oka && okb && ra < rb
}

// memberIndex is N of core-N (0 when the name is not a member's).
func memberIndex(name string) int {
	var n int
	fmt.Sscanf(strings.TrimPrefix(name, "core-"), "%d", &n)
	return n
}

// NotFoundError is a cluster with no stacks.
type NotFoundError struct{ Name, Region string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no cluster %s in %s (no stacks tagged %s=%s); list clusters with `neo4jctl get cluster`", e.Name, e.Region, naming.TagCluster, e.Name)
}
