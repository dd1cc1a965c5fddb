package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/rollout"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// What the rolling commands (restart, upgrade, update --force, scale cores) share: the
// members as pkg/rollout names them, its clock and events on the handle's, Ctrl-C (the first
// finishes the member that is down, the second abandons it), and the error that says where
// to resume.

// rollMembers are the cluster's members as a roll takes them: each core member stack's
// core-N at core-N.<namespace> (the namespace from the shared stack), then the replicas when
// their stack exists.
func rollMembers(cluster string, stacks []*engine.StackInfo) ([]rollout.Member, error) {
	var namespace string
	var cores []int
	replicas := false
	for _, s := range stacks {
		switch s.Tags[naming.TagStackKind] {
		case naming.KindShared:
			namespace = s.Outputs[stack.OutputNamespaceName]
		case naming.KindCore:
			if n := memberIndex(s.Tags[naming.TagMember]); n > 0 {
				cores = append(cores, n)
			}
		case naming.KindReplicas:
			replicas = true
		}
	}
	if namespace == "" {
		return nil, fmt.Errorf("cluster %s has no shared stack with a %s output: the members' names are unknown; see `neo4jctl get cluster %s`",
			cluster, stack.OutputNamespaceName, cluster)
	}
	if len(cores) == 0 {
		return nil, fmt.Errorf("cluster %s has no core member stacks; see `neo4jctl get cluster %s`", cluster, cluster)
	}
	slices.Sort(cores)
	var out []rollout.Member
	for _, n := range cores {
		name := naming.CoreService(n)
		out = append(out, rollout.Member{Name: name, Host: name + "." + namespace})
	}
	if replicas {
		out = append(out, rollout.Member{Name: naming.ReplicasService})
	}
	return out, nil
}

// memberNames are the members' names, in their order.
func memberNames(ms []rollout.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

// rollClock is the handle's clock as pkg/rollout waits on it.
type rollClock struct{ engine.Clock }

func (c rollClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.After(d):
		return nil
	}
}

// rollEvents passes a roll's events on as the action's, calling on (if set) first.
type rollEvents struct {
	c  *Cluster
	on func(rollout.Event)
}

func (r rollEvents) Emit(e rollout.Event) {
	if r.on != nil {
		r.on(e)
	}
	r.c.emit(e)
}

// interruptible is ctx ended by the first interrupt (the roll finishes the member that is
// down, then stops) with a channel closed by the second (it abandons that member too).
func (c *Cluster) interruptible(ctx context.Context, sig <-chan os.Signal) (context.Context, <-chan struct{}, func()) {
	ctx, cancel := context.WithCancel(ctx)
	abort := make(chan struct{})
	done := make(chan struct{})
	var wg sync.WaitGroup
	if sig != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 2; n++ {
				select {
				case <-sig:
				case <-done:
					return
				}
				if n == 0 {
					cancel()
					continue
				}
				c.emit(Note{Text: "Second interrupt: abandoning the member in flight (it may stay down)"})
				close(abort)
			}
		}()
	}
	return ctx, abort, func() { close(done); wg.Wait(); cancel() }
}

// RollError is a rolling operation that stopped before its end: a gate that did not pass,
// a member whose restart failed, an interruption. It says what was done, what was not
// touched, and the command that carries on.
type RollError struct {
	Cluster string
	What    string // "restart", "upgrade to 2025.01.0", ...
	Result  rollout.Result
	Err     error
	// Resume is the command that carries on from Result.Next ("" when there is none).
	Resume string
	// Repair is the command that restarts a member left down alone ("" when none is).
	Repair string
}

func (e *RollError) Unwrap() error { return e.Err }

func (e *RollError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s of cluster %s stopped: %v", e.What, e.Cluster, e.Err)
	if len(e.Result.Done) > 0 {
		fmt.Fprintf(&b, "\nDone: %s.", strings.Join(e.Result.Done, ", "))
	}
	if i := slices.Index(e.Result.Order, e.Result.Next); e.Result.Next != "" && i >= 0 {
		fmt.Fprintf(&b, "\nNot touched: %s.", strings.Join(e.Result.Order[i:], ", "))
	}
	fmt.Fprintf(&b, "\nSee the cluster with `neo4jctl get cluster %s`.", e.Cluster)
	if e.Repair != "" {
		fmt.Fprintf(&b, " If it stays down, restart it alone: `%s`.", e.Repair)
	}
	if e.Resume != "" {
		fmt.Fprintf(&b, "\nResume with `%s`.", e.Resume)
	}
	return b.String()
}

// down is the member a stopped roll may have left down: restarted but not back (an after
// gate), failed mid-restart, or abandoned by a second interrupt.
func down(res rollout.Result, err error) string {
	var ge *rollout.GateError
	var re *rollout.RestartError
	var ie *rollout.InterruptedError
	switch {
	case errors.As(err, &ge) && ge.Phase == rollout.PhaseAfter:
		return ge.Member
	case errors.As(err, &re):
		return re.Member
	case errors.As(err, &ie):
		return ie.Down
	}
	return ""
}
