package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"
)

// fakeCloudFormation is a FAKE CloudFormation for what moto cannot show: resource events,
// failures with reasons, rollbacks, throttling, stacks that never finish. Each stack walks
// through a script of steps, one per DescribeStacks call.
type fakeCloudFormation struct {
	mu       sync.Mutex
	stacks   map[string]*fakeStack
	throttle int // the next N DescribeStacks calls are throttled
	created  []*cfn.CreateStackInput
	deleted  []string
	unprot   []string
	changes  map[string][]types.Change // CreateChangeSet answers, by stack
	csReason map[string]string         // FAILED change sets, by stack
	executed []string
	protErr  error // UpdateTerminationProtection answers this
	protN    int   // UpdateTerminationProtection calls
}

type fakeStep struct {
	status string
	events []Event // events that happen at this step, oldest first
}

type fakeStack struct {
	script    []fakeStep
	at        int
	emitted   int
	events    []types.StackEvent // newest first, as AWS returns them
	protected bool
	onCreate  []fakeStep // script installed by CreateStack/ExecuteChangeSet
	onDelete  []fakeStep
}

func newFake() *fakeCloudFormation {
	return &fakeCloudFormation{stacks: map[string]*fakeStack{}, changes: map[string][]types.Change{}, csReason: map[string]string{}}
}

var eventSeq int

// step moves a stack one step along its script and returns the status there.
func (f *fakeCloudFormation) step(name string, s *fakeStack) string {
	st := s.script[s.at]
	evs := st.events
	if s.emitted > s.at {
		evs = nil
	}
	s.emitted = s.at + 1
	for _, ev := range evs {
		eventSeq++
		typ := ev.Type
		if typ == "" {
			typ = "AWS::CloudFormation::Stack"
		}
		lid := ev.LogicalID
		if lid == "" {
			lid = name
		}
		se := types.StackEvent{EventId: aws.String(fmt.Sprint("ev-", eventSeq)), StackName: aws.String(name),
			LogicalResourceId: aws.String(lid), ResourceType: aws.String(typ),
			ResourceStatus: types.ResourceStatus(ev.Status), ResourceStatusReason: aws.String(ev.Reason), Timestamp: aws.Time(time.Date(2030, 1, 1, 0, 0, eventSeq, 0, time.UTC))}
		s.events = append([]types.StackEvent{se}, s.events...)
	}
	if s.at < len(s.script)-1 {
		s.at++
	}
	return st.status
}

func throttled() error {
	return &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
}

func notFound(name string) error {
	return &smithy.GenericAPIError{Code: "ValidationError", Message: "Stack with id " + name + " does not exist"}
}

func (f *fakeCloudFormation) CreateStack(_ context.Context, in *cfn.CreateStackInput, _ ...func(*cfn.Options)) (*cfn.CreateStackOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.StackName)
	s := f.stacks[name]
	if s == nil {
		return nil, fmt.Errorf("fake: no script for stack %s", name)
	}
	if s.script != nil && s.at > 0 {
		return nil, &smithy.GenericAPIError{Code: "AlreadyExistsException", Message: "Stack [" + name + "] already exists"}
	}
	f.created = append(f.created, in)
	s.script, s.at, s.emitted = s.onCreate, 0, 0
	s.protected = aws.ToBool(in.EnableTerminationProtection)
	return &cfn.CreateStackOutput{StackId: aws.String("arn:" + name)}, nil
}

func (f *fakeCloudFormation) DescribeStacks(_ context.Context, in *cfn.DescribeStacksInput, _ ...func(*cfn.Options)) (*cfn.DescribeStacksOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.throttle > 0 {
		f.throttle--
		return nil, throttled()
	}
	name := aws.ToString(in.StackName)
	if name == "" {
		var out []types.Stack
		for n, s := range f.stacks {
			if len(s.script) > 0 {
				out = append(out, types.Stack{StackName: aws.String(n), StackStatus: types.StackStatus(s.script[s.at].status)})
			}
		}
		return &cfn.DescribeStacksOutput{Stacks: out}, nil
	}
	name = trimARN(name)
	s := f.stacks[name]
	if s == nil || len(s.script) == 0 {
		return nil, notFound(name)
	}
	status := f.step(name, s)
	if status == "GONE" {
		return nil, notFound(name)
	}
	return &cfn.DescribeStacksOutput{Stacks: []types.Stack{{StackName: aws.String(name), StackId: aws.String("arn:" + name),
		StackStatus: types.StackStatus(status), EnableTerminationProtection: aws.Bool(s.protected)}}}, nil
}

func trimARN(s string) string {
	if len(s) > 4 && s[:4] == "arn:" {
		return s[4:]
	}
	return s
}

func (f *fakeCloudFormation) DescribeStackEvents(_ context.Context, in *cfn.DescribeStackEventsInput, _ ...func(*cfn.Options)) (*cfn.DescribeStackEventsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stacks[trimARN(aws.ToString(in.StackName))]
	if s == nil {
		return nil, notFound(aws.ToString(in.StackName))
	}
	return &cfn.DescribeStackEventsOutput{StackEvents: append([]types.StackEvent(nil), s.events...)}, nil
}

func (f *fakeCloudFormation) DeleteStack(_ context.Context, in *cfn.DeleteStackInput, _ ...func(*cfn.Options)) (*cfn.DeleteStackOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := trimARN(aws.ToString(in.StackName))
	s := f.stacks[name]
	if s.protected {
		return nil, &smithy.GenericAPIError{Code: "ValidationError", Message: "Stack [" + name + "] cannot be deleted while TerminationProtection is enabled"}
	}
	f.deleted = append(f.deleted, name)
	s.script, s.at, s.emitted = s.onDelete, 0, 0
	return &cfn.DeleteStackOutput{}, nil
}

func (f *fakeCloudFormation) UpdateTerminationProtection(_ context.Context, in *cfn.UpdateTerminationProtectionInput, _ ...func(*cfn.Options)) (*cfn.UpdateTerminationProtectionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.protN++
	if f.protErr != nil {
		return nil, f.protErr
	}
	name := aws.ToString(in.StackName)
	f.stacks[name].protected = aws.ToBool(in.EnableTerminationProtection)
	f.unprot = append(f.unprot, name)
	return &cfn.UpdateTerminationProtectionOutput{}, nil
}

func (f *fakeCloudFormation) CreateChangeSet(_ context.Context, in *cfn.CreateChangeSetInput, _ ...func(*cfn.Options)) (*cfn.CreateChangeSetOutput, error) {
	if in.ChangeSetType == "" {
		return nil, fmt.Errorf("fake: ChangeSetType not set")
	}
	return &cfn.CreateChangeSetOutput{Id: aws.String("cs:" + aws.ToString(in.StackName))}, nil
}

func (f *fakeCloudFormation) DescribeChangeSet(_ context.Context, in *cfn.DescribeChangeSetInput, _ ...func(*cfn.Options)) (*cfn.DescribeChangeSetOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.StackName)
	if r := f.csReason[name]; r != "" {
		return &cfn.DescribeChangeSetOutput{Status: types.ChangeSetStatusFailed, StatusReason: aws.String(r)}, nil
	}
	return &cfn.DescribeChangeSetOutput{Status: types.ChangeSetStatusCreateComplete, Changes: f.changes[name]}, nil
}

func (f *fakeCloudFormation) ExecuteChangeSet(_ context.Context, in *cfn.ExecuteChangeSetInput, _ ...func(*cfn.Options)) (*cfn.ExecuteChangeSetOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.StackName)
	f.executed = append(f.executed, name)
	s := f.stacks[name]
	s.script, s.at, s.emitted = s.onCreate, 0, 0
	return &cfn.ExecuteChangeSetOutput{}, nil
}

func (f *fakeCloudFormation) DeleteChangeSet(context.Context, *cfn.DeleteChangeSetInput, ...func(*cfn.Options)) (*cfn.DeleteChangeSetOutput, error) {
	return &cfn.DeleteChangeSetOutput{}, nil
}

func (f *fakeCloudFormation) GetTemplate(_ context.Context, in *cfn.GetTemplateInput, _ ...func(*cfn.Options)) (*cfn.GetTemplateOutput, error) {
	return &cfn.GetTemplateOutput{TemplateBody: aws.String("{}")}, nil
}
