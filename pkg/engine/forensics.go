package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
)

// What a look at a stack's past needs beyond creating and waiting: its recent events and
// drift detection (diagnose).

// DriftAPI is CloudFormation's drift detection. It is separate from CloudFormation so that
// fakes of the engine's API need not have it: an Engine whose CFN lacks it says so.
type DriftAPI interface {
	DetectStackDrift(context.Context, *cfn.DetectStackDriftInput, ...func(*cfn.Options)) (*cfn.DetectStackDriftOutput, error)
	DescribeStackResourceDrifts(context.Context, *cfn.DescribeStackResourceDriftsInput, ...func(*cfn.Options)) (*cfn.DescribeStackResourceDriftsOutput, error)
}

// ErrNoDriftAPI: the engine's CloudFormation client has no drift detection.
var ErrNoDriftAPI = errors.New("this CloudFormation endpoint has no drift detection")

// RecentEvents returns a stack's newest events, at most max, newest first (one page of
// DescribeStackEvents holds 100).
func (e *Engine) RecentEvents(ctx context.Context, name string, max int) ([]Event, error) {
	var out []Event
	in := &cfn.DescribeStackEventsInput{StackName: aws.String(name)}
	for len(out) < max {
		page, err := e.CFN.DescribeStackEvents(ctx, in)
		if err != nil {
			return out, fmt.Errorf("reading the events of stack %s: %w", name, awsapi.Clean(err))
		}
		for _, se := range page.StackEvents {
			if len(out) == max {
				break
			}
			out = append(out, Event{ID: aws.ToString(se.EventId), Stack: aws.ToString(se.StackName), LogicalID: aws.ToString(se.LogicalResourceId),
				Type: aws.ToString(se.ResourceType), Status: string(se.ResourceStatus), Reason: aws.ToString(se.ResourceStatusReason), Time: aws.ToTime(se.Timestamp)})
		}
		if page.NextToken == nil {
			break
		}
		in.NextToken = page.NextToken
	}
	return out, nil
}

// DetectDrift starts CloudFormation's drift detection of a stack; its result shows in the
// stack's Drift once it is done (seconds to minutes).
func (e *Engine) DetectDrift(ctx context.Context, name string) error {
	api, ok := e.CFN.(DriftAPI)
	if !ok {
		return ErrNoDriftAPI
	}
	if _, err := api.DetectStackDrift(ctx, &cfn.DetectStackDriftInput{StackName: aws.String(name)}); err != nil {
		return fmt.Errorf("starting drift detection of stack %s: %w", name, awsapi.Clean(err))
	}
	return nil
}

// ResourceDrift is one resource of a stack that differs from its template.
type ResourceDrift struct {
	LogicalID  string    `json:"logicalId"`
	PhysicalID string    `json:"physicalId"`
	Type       string    `json:"type"`
	Status     string    `json:"status"` // MODIFIED | DELETED
	Properties []string  `json:"properties,omitempty"`
	Checked    time.Time `json:"checked"`
}

// ResourceDrifts lists the resources of a stack that the last drift detection found
// modified or deleted.
func (e *Engine) ResourceDrifts(ctx context.Context, name string) ([]ResourceDrift, error) {
	api, ok := e.CFN.(DriftAPI)
	if !ok {
		return nil, ErrNoDriftAPI
	}
	out, err := api.DescribeStackResourceDrifts(ctx, &cfn.DescribeStackResourceDriftsInput{StackName: aws.String(name),
		StackResourceDriftStatusFilters: []types.StackResourceDriftStatus{types.StackResourceDriftStatusModified, types.StackResourceDriftStatusDeleted}})
	if err != nil {
		return nil, fmt.Errorf("reading the drift of stack %s: %w", name, awsapi.Clean(err))
	}
	var drifts []ResourceDrift
	for _, d := range out.StackResourceDrifts {
		r := ResourceDrift{LogicalID: aws.ToString(d.LogicalResourceId), PhysicalID: aws.ToString(d.PhysicalResourceId),
			Type: aws.ToString(d.ResourceType), Status: string(d.StackResourceDriftStatus), Checked: aws.ToTime(d.Timestamp)}
		for _, p := range d.PropertyDifferences {
			r.Properties = append(r.Properties, aws.ToString(p.PropertyPath))
		}
		drifts = append(drifts, r)
	}
	return drifts, nil
}
