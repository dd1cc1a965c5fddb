package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
)

// Change is one resource change of a change set.
type Change struct {
	Stack      string `json:"stack"`
	Action     string `json:"action"` // Add | Modify | Remove | Import | Dynamic
	LogicalID  string `json:"logicalId"`
	PhysicalID string `json:"physicalId,omitempty"`
	Type       string `json:"type"`
	// Replacement is True, False or Conditional for a Modify: True means CloudFormation makes
	// a new resource (new id, new data) and removes the old one.
	Replacement string   `json:"replacement,omitempty"`
	Properties  []string `json:"properties,omitempty"` // the properties that change
}

// Replaces reports whether the change may replace the resource.
func (c Change) Replaces() bool {
	return c.Replacement == string(types.ReplacementTrue) || c.Replacement == string(types.ReplacementConditional)
}

// ChangeSet is a previewed change to one stack.
type ChangeSet struct {
	Stack   string   `json:"stack"`
	Name    string   `json:"-"`
	ID      string   `json:"-"`
	Type    string   `json:"type"` // CREATE | UPDATE
	Changes []Change `json:"changes"`
	// NoChanges: CloudFormation found nothing to do; the change set was removed.
	NoChanges bool `json:"noChanges,omitempty"`
}

// ChangeSetName names a change set made by neo4jctl.
func ChangeSetName(now int64) string { return fmt.Sprintf("neo4jctl-%d", now) }

// Preview makes a change set for s (CREATE when the stack does not exist yet) and returns its
// changes. A change set that changes nothing is deleted and reported with NoChanges.
func (e *Engine) Preview(ctx context.Context, s Spec, exists bool) (*ChangeSet, error) {
	typ := types.ChangeSetTypeUpdate
	if !exists {
		typ = types.ChangeSetTypeCreate
	}
	name := ChangeSetName(e.clock().Now().UnixNano())
	in := &cfn.CreateChangeSetInput{
		StackName:     aws.String(s.Name),
		ChangeSetName: aws.String(name),
		ChangeSetType: typ, // always explicit: moto (and clarity) need it
		TemplateBody:  aws.String(string(s.Template)),
		Parameters:    s.parameters(),
		Tags:          s.tags(),
		Capabilities:  capabilities,
		Description:   aws.String("neo4jctl update cluster"),
	}
	var out *cfn.CreateChangeSetOutput
	err := e.retry(ctx, "previewing changes to "+s.Name, func() (err error) { out, err = e.CFN.CreateChangeSet(ctx, in); return err })
	if err != nil {
		if IsNoChanges(err.Error()) {
			return &ChangeSet{Stack: s.Name, Type: string(typ), NoChanges: true}, nil
		}
		return nil, fmt.Errorf("previewing changes to stack %s: %w", s.Name, awsapi.Clean(err))
	}
	cs := &ChangeSet{Stack: s.Name, Name: name, ID: aws.ToString(out.Id), Type: string(typ)}
	interval := e.interval()
	var th throttle
	for first := true; ; first = false {
		if !first {
			if err := e.sleep(ctx, e.jittered(interval)); err != nil {
				return nil, &InterruptedError{Stack: s.Name, Op: "preview"}
			}
		}
		status, reason, err := e.readChangeSet(ctx, cs)
		if awsapi.IsThrottle(err) {
			if terr := e.throttled(&th, "reading the change set of "+s.Name); terr != nil {
				return nil, terr
			}
			interval = min(interval*2, e.maxInterval())
			e.noteThrottled(interval, "reading the change set of "+s.Name)
			continue
		}
		th = throttle{}
		if err != nil {
			return nil, err
		}
		switch status {
		case string(types.ChangeSetStatusCreateComplete):
			if len(cs.Changes) == 0 && typ == types.ChangeSetTypeUpdate {
				// some emulators complete an empty change set instead of failing it
				_ = e.DiscardChangeSet(ctx, cs)
				cs.NoChanges = true
			}
			return cs, nil
		case string(types.ChangeSetStatusFailed):
			if IsNoChanges(reason) {
				_ = e.DiscardChangeSet(ctx, cs)
				cs.NoChanges = true
				return cs, nil
			}
			return nil, fmt.Errorf("change set for stack %s failed: %s", s.Name, reason)
		}
	}
}

// readChangeSet reads every page of a change set into cs.Changes and returns its status;
// a throttled read returns the throttling error as it is, for the caller to slow down.
func (e *Engine) readChangeSet(ctx context.Context, cs *ChangeSet) (status, reason string, err error) {
	cs.Changes = cs.Changes[:0]
	in := &cfn.DescribeChangeSetInput{ChangeSetName: aws.String(cs.ID), StackName: aws.String(cs.Stack)}
	for {
		d, err := e.CFN.DescribeChangeSet(ctx, in)
		if awsapi.IsThrottle(err) {
			return "", "", err
		}
		if err != nil {
			return "", "", fmt.Errorf("reading change set of stack %s: %w", cs.Stack, awsapi.Clean(err))
		}
		status, reason = string(d.Status), aws.ToString(d.StatusReason)
		for _, c := range d.Changes {
			if c.ResourceChange != nil {
				cs.Changes = append(cs.Changes, change(cs.Stack, c.ResourceChange))
			}
		}
		if d.NextToken == nil {
			return status, reason, nil
		}
		in.NextToken = d.NextToken
	}
}

// change is one resource change, with the properties it touches named once each.
func change(stack string, rc *types.ResourceChange) Change {
	ch := Change{
		Stack:       stack,
		Action:      string(rc.Action),
		LogicalID:   aws.ToString(rc.LogicalResourceId),
		PhysicalID:  aws.ToString(rc.PhysicalResourceId),
		Type:        aws.ToString(rc.ResourceType),
		Replacement: string(rc.Replacement),
	}
	seen := map[string]bool{}
	for _, det := range rc.Details {
		if det.Target != nil && det.Target.Name != nil && !seen[*det.Target.Name] {
			seen[*det.Target.Name] = true
			ch.Properties = append(ch.Properties, *det.Target.Name)
		}
	}
	return ch
}

// DiscardChangeSet removes a change set that will not be executed (and the empty stack a
// CREATE change set reserved).
func (e *Engine) DiscardChangeSet(ctx context.Context, cs *ChangeSet) error {
	if cs == nil || cs.ID == "" {
		return nil
	}
	_, err := e.CFN.DeleteChangeSet(ctx, &cfn.DeleteChangeSetInput{ChangeSetName: aws.String(cs.ID), StackName: aws.String(cs.Stack)})
	if cs.Type == string(types.ChangeSetTypeCreate) {
		if info, derr := e.Describe(ctx, cs.Stack); derr == nil && info != nil && info.Status == StatusReviewInProgress {
			_, _ = e.CFN.DeleteStack(ctx, &cfn.DeleteStackInput{StackName: aws.String(cs.Stack)})
		}
	}
	if err != nil && !strings.Contains(err.Error(), "does not exist") {
		return fmt.Errorf("removing change set of stack %s: %w", cs.Stack, awsapi.Clean(err))
	}
	return nil
}

// Execute applies a previewed change set and waits for the stack.
func (e *Engine) Execute(ctx context.Context, cs *ChangeSet) (*StackInfo, error) {
	if cs.NoChanges {
		return e.Describe(ctx, cs.Stack)
	}
	mark, _ := e.latestEvent(ctx, cs.Stack)
	start := e.clock().Now()
	exec := func() error {
		_, err := e.CFN.ExecuteChangeSet(ctx, &cfn.ExecuteChangeSetInput{ChangeSetName: aws.String(cs.ID), StackName: aws.String(cs.Stack)})
		return err
	}
	if err := e.retry(ctx, "applying the change set of "+cs.Stack, exec); err != nil {
		return nil, fmt.Errorf("applying the change set of stack %s: %w", cs.Stack, awsapi.Clean(err))
	}
	op := OpUpdate
	status := "UPDATE_IN_PROGRESS"
	if cs.Type == string(types.ChangeSetTypeCreate) {
		op, status = OpCreate, StatusCreateInProgress
	}
	e.progress().Stack(cs.Stack, status, "")
	info, err := e.Wait(ctx, cs.Stack, op, start, mark)
	if err == nil && op == OpCreate {
		err = e.Protect(ctx, cs.Stack)
	}
	return info, err
}
