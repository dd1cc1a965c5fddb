package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// How a failed update gets out: the recovery it advises (run update again) must end with
// every stack matching the file. A stack that an update added (a new replicas stack, a new
// member) and that failed to create is left empty: rolled back, or reserved by a change set
// that never ran. The next update deletes it and creates it again, and applies everything
// else the file changes in the same run. A create that resumes never changes a stack that
// exists, so it says which of those still differ from the file.

// emptyAfterFailedCreate reports a stack left holding nothing by a create that failed (or a
// CREATE change set that never ran): it can only be deleted and made again.
func emptyAfterFailedCreate(status string) bool {
	switch status {
	case engine.StatusRollbackComplete, engine.StatusRollbackFailed, engine.StatusCreateFailed, engine.StatusReviewInProgress:
		return true
	}
	return false
}

// sortStacksByState sorts the cluster's stacks into the live ones an update changes through
// change sets and the empty ones (by status) it makes again; a stack in any other unhealthy
// state is refused with its way out.
func (a *apply) sortStacksByState(stacks []*engine.StackInfo) (live map[string]*engine.StackInfo, empty map[string]string, err error) {
	live, empty = map[string]*engine.StackInfo{}, map[string]string{}
	for _, s := range stacks {
		switch {
		case engine.Healthy(s.Status):
			live[s.Name] = s
		case emptyAfterFailedCreate(s.Status):
			empty[s.Name] = s.Status
		default:
			return nil, nil, fmt.Errorf("%s", explainStack(s.Name, s.Status, a.Name, a.file))
		}
	}
	return live, empty, nil
}

// planRecreates shows each empty stack as the new stack it becomes: every resource of its
// template added (no change set can be previewed on a stack that exists but holds nothing).
func planRecreates(p *UpdatePlan, empty map[string]string) {
	p.recreate = map[string]string{}
	for _, s := range p.stacks {
		status, ok := empty[s.Name]
		if !ok {
			continue
		}
		p.recreate[s.Name] = status
		p.sets[s.Name] = &engine.ChangeSet{Stack: s.Name, Type: "CREATE", Changes: templateAdds(s.Name, s.Template)}
		p.Notes[s.Name] = append(p.Notes[s.Name], fmt.Sprintf("replaces the empty stack a failed create left (%s)", status))
	}
}

// templateAdds is every resource of a template as an Add, by logical id.
func templateAdds(stackName string, body []byte) []engine.Change {
	var t struct {
		Resources map[string]struct{ Type string }
	}
	_ = json.Unmarshal(body, &t)
	var out []engine.Change
	for _, id := range slices.Sorted(maps.Keys(t.Resources)) {
		out = append(out, engine.Change{Stack: stackName, Action: "Add", LogicalID: id, Type: t.Resources[id].Type})
	}
	return out
}

// withoutStacks is stacks less those named in skip.
func withoutStacks(stacks []stack.Stack, skip map[string]string) []stack.Stack {
	var out []stack.Stack
	for _, s := range stacks {
		if _, ok := skip[s.Name]; !ok {
			out = append(out, s)
		}
	}
	return out
}

// applyStack applies one stack's part of the plan: its change set, or, for an empty stack, a
// delete and a create.
func (a *apply) applyStack(ctx context.Context, p *UpdatePlan, n string) error {
	status, ok := p.recreate[n]
	if !ok {
		_, err := a.Stacks.Execute(ctx, p.sets[n])
		return err
	}
	a.emit(StackRecreated{Stack: n, Status: status})
	if err := a.Stacks.Delete(ctx, n, true); err != nil {
		return err
	}
	_, err := a.Stacks.Create(ctx, spec(stackNamed(p.stacks, n)), false)
	return err
}

// StaleStacksError: a create that resumed made the stacks that were missing, but stacks an
// earlier run made differ from the file (create never changes a stack that exists).
type StaleStacksError struct {
	Cluster, File string
	Stacks        []string // "name (N resource changes)"
}

func (e *StaleStacksError) Error() string {
	return fmt.Sprintf("cluster %s has all its stacks, but %d made before this create differ from %s: %s.\n"+
		"create never changes a stack that exists; apply the file to them with `neo4jctl update cluster -f %s`.",
		e.Cluster, len(e.Stacks), e.File, strings.Join(e.Stacks, ", "), e.File)
}

// checkExisting: after a resumed create, the stacks it found (and left as they were) are
// previewed as an update would; those that would change are a StaleStacksError. Nothing is
// applied: the change sets are discarded.
func (c *Create) checkExisting(ctx context.Context, p *CreatePlan) error {
	if c.Drift == nil || len(p.Live) == 0 {
		return nil
	}
	plan, err := c.Drift.Plan(ctx)
	if err != nil {
		return fmt.Errorf("cluster %s has all its stacks; comparing those made before this create with %s: %w", c.Name, c.File, err)
	}
	c.Drift.Discard(ctx, plan)
	var stale []string
	for _, cs := range plan.ChangeSets {
		if cs == nil {
			continue
		}
		if _, existed := p.Live[cs.Stack]; existed && (!cs.NoChanges && len(cs.Changes) > 0 || len(plan.Notes[cs.Stack]) > 0) {
			stale = append(stale, fmt.Sprintf("%s (%d resource changes)", cs.Stack, len(cs.Changes)))
		}
	}
	if len(stale) > 0 {
		return &StaleStacksError{Cluster: c.Name, File: c.File, Stacks: stale}
	}
	return nil
}
