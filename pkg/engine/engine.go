package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
)

// CloudFormation is the part of the CloudFormation API the engine uses.
type CloudFormation interface {
	CreateStack(context.Context, *cfn.CreateStackInput, ...func(*cfn.Options)) (*cfn.CreateStackOutput, error)
	DescribeStacks(context.Context, *cfn.DescribeStacksInput, ...func(*cfn.Options)) (*cfn.DescribeStacksOutput, error)
	DescribeStackEvents(context.Context, *cfn.DescribeStackEventsInput, ...func(*cfn.Options)) (*cfn.DescribeStackEventsOutput, error)
	DeleteStack(context.Context, *cfn.DeleteStackInput, ...func(*cfn.Options)) (*cfn.DeleteStackOutput, error)
	UpdateTerminationProtection(context.Context, *cfn.UpdateTerminationProtectionInput, ...func(*cfn.Options)) (*cfn.UpdateTerminationProtectionOutput, error)
	CreateChangeSet(context.Context, *cfn.CreateChangeSetInput, ...func(*cfn.Options)) (*cfn.CreateChangeSetOutput, error)
	DescribeChangeSet(context.Context, *cfn.DescribeChangeSetInput, ...func(*cfn.Options)) (*cfn.DescribeChangeSetOutput, error)
	ExecuteChangeSet(context.Context, *cfn.ExecuteChangeSetInput, ...func(*cfn.Options)) (*cfn.ExecuteChangeSetOutput, error)
	DeleteChangeSet(context.Context, *cfn.DeleteChangeSetInput, ...func(*cfn.Options)) (*cfn.DeleteChangeSetOutput, error)
	GetTemplate(context.Context, *cfn.GetTemplateInput, ...func(*cfn.Options)) (*cfn.GetTemplateOutput, error)
}

// Engine creates, updates and deletes stacks and waits for them.
type Engine struct {
	CFN      CloudFormation
	Clock    Clock    // default RealClock
	Progress Progress // default NoProgress
	// PollInterval is the time between two looks at a stack (±20% jitter); default 2s.
	PollInterval time.Duration
	// MaxPollInterval caps the interval while AWS throttles; default 30s.
	MaxPollInterval time.Duration
	// Timeout bounds one wait; default 90 minutes.
	Timeout time.Duration
	// MaxThrottled bounds how long CloudFormation may throttle every request before the
	// engine gives up with a ThrottledError; default DefaultMaxThrottled.
	MaxThrottled time.Duration
	// Jitter returns a number in [0,1); default math/rand.
	Jitter func() float64
	// Emulator: CloudFormation is an endpoint override (moto, a local emulator), which may
	// lack UpdateTerminationProtection. Only then is "not implemented" tolerated; against
	// AWS a failure to set the protection is retried, then reported.
	Emulator bool
}

func (e *Engine) clock() Clock {
	if e.Clock == nil {
		return RealClock{}
	}
	return e.Clock
}

func (e *Engine) progress() Progress {
	if e.Progress == nil {
		return NoProgress{}
	}
	return e.Progress
}

func (e *Engine) interval() time.Duration {
	if e.PollInterval <= 0 {
		return 2 * time.Second
	}
	return e.PollInterval
}

func (e *Engine) maxInterval() time.Duration {
	if e.MaxPollInterval <= 0 {
		return 30 * time.Second
	}
	return e.MaxPollInterval
}

func (e *Engine) timeout() time.Duration {
	if e.Timeout <= 0 {
		return 90 * time.Minute
	}
	return e.Timeout
}

// jittered spreads d by ±20% so parallel waits do not poll in lock step.
func (e *Engine) jittered(d time.Duration) time.Duration {
	j := e.Jitter
	if j == nil {
		j = rand.Float64
	}
	return time.Duration(float64(d) * (0.8 + 0.4*j()))
}

// Spec is a stack to create or update.
type Spec struct {
	Name       string
	Template   []byte
	Parameters map[string]string
	Tags       map[string]string
	// TerminationProtection is enabled on creation.
	TerminationProtection bool
}

// capabilities are what neo4jctl's templates need acknowledged (named IAM roles).
var capabilities = []types.Capability{types.CapabilityCapabilityIam, types.CapabilityCapabilityNamedIam, types.CapabilityCapabilityAutoExpand}

func (s Spec) parameters() []types.Parameter {
	keys := slices.Sorted(maps.Keys(s.Parameters))
	out := make([]types.Parameter, 0, len(keys))
	for _, k := range keys {
		out = append(out, types.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(s.Parameters[k])})
	}
	return out
}

func (s Spec) tags() []types.Tag {
	keys := slices.Sorted(maps.Keys(s.Tags))
	out := make([]types.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(s.Tags[k])})
	}
	return out
}

// StackInfo is what the engine knows of a live stack.
type StackInfo struct {
	Name       string
	ID         string
	Status     string
	Reason     string
	Outputs    map[string]string
	Parameters map[string]string
	// Resolved holds the values CloudFormation resolved for SSM-typed parameters (their
	// ResolvedValue): an AWS::SSM::Parameter::Value<...> parameter's value is the SSM path.
	Resolved              map[string]string
	Tags                  map[string]string
	TerminationProtection bool
	Created, Updated      time.Time
	// Drift is the stack's last drift detection (DRIFTED, IN_SYNC, NOT_CHECKED, UNKNOWN;
	// empty when AWS says nothing) and DriftChecked when it ran.
	Drift        string
	DriftChecked time.Time
}

func stackInfo(s types.Stack) *StackInfo {
	i := &StackInfo{
		Name:                  aws.ToString(s.StackName),
		ID:                    aws.ToString(s.StackId),
		Status:                string(s.StackStatus),
		Reason:                aws.ToString(s.StackStatusReason),
		Outputs:               map[string]string{},
		Parameters:            map[string]string{},
		Resolved:              map[string]string{},
		Tags:                  map[string]string{},
		TerminationProtection: aws.ToBool(s.EnableTerminationProtection),
		Created:               aws.ToTime(s.CreationTime),
		Updated:               aws.ToTime(s.LastUpdatedTime),
	}
	if d := s.DriftInformation; d != nil {
		i.Drift, i.DriftChecked = string(d.StackDriftStatus), aws.ToTime(d.LastCheckTimestamp)
	}
	for _, o := range s.Outputs {
		i.Outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	for _, p := range s.Parameters {
		i.Parameters[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
		if p.ResolvedValue != nil {
			i.Resolved[aws.ToString(p.ParameterKey)] = aws.ToString(p.ResolvedValue)
		}
	}
	for _, t := range s.Tags {
		i.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return i
}

// Describe returns the stack, or nil (and no error) when it does not exist.
func (e *Engine) Describe(ctx context.Context, name string) (*StackInfo, error) {
	var out *cfn.DescribeStacksOutput
	err := e.retry(ctx, "looking at "+name, func() (err error) {
		out, err = e.CFN.DescribeStacks(ctx, &cfn.DescribeStacksInput{StackName: aws.String(name)})
		return err
	})
	if awsapi.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describing stack %s: %w", name, awsapi.Clean(err))
	}
	for _, s := range out.Stacks {
		if string(s.StackStatus) == StatusDeleteComplete {
			continue
		}
		return stackInfo(s), nil
	}
	return nil, nil
}

// List returns the live stacks that carry every tag in match.
func (e *Engine) List(ctx context.Context, match map[string]string) ([]*StackInfo, error) {
	var out []*StackInfo
	p := cfn.NewDescribeStacksPaginator(e.CFN, &cfn.DescribeStacksInput{})
	for p.HasMorePages() {
		var page *cfn.DescribeStacksOutput
		// a throttled page is asked for again: the paginator keeps its token
		err := e.retry(ctx, "listing stacks", func() (err error) { page, err = p.NextPage(ctx); return err })
		if err != nil {
			return nil, fmt.Errorf("listing stacks: %w", awsapi.Clean(err))
		}
		for _, s := range page.Stacks {
			if string(s.StackStatus) == StatusDeleteComplete {
				continue
			}
			info := stackInfo(s)
			ok := true
			for k, v := range match {
				if got, has := info.Tags[k]; !has || (v != "" && got != v) {
					ok = false
				}
			}
			if ok {
				out = append(out, info)
			}
		}
	}
	return out, nil
}

// Create creates a stack and waits for it unless detach.
func (e *Engine) Create(ctx context.Context, s Spec, detach bool) (*StackInfo, error) {
	start := e.clock().Now()
	in := &cfn.CreateStackInput{
		StackName:                   aws.String(s.Name),
		TemplateBody:                aws.String(string(s.Template)),
		Parameters:                  s.parameters(),
		Tags:                        s.tags(),
		Capabilities:                capabilities,
		EnableTerminationProtection: aws.Bool(s.TerminationProtection),
		// a failed create keeps its resources' events but rolls back; the stack is then
		// deleted and retried by the next create.
		OnFailure: types.OnFailureRollback,
	}
	// A CreateStack sent is not abandoned when ctx ends (Ctrl-C, --timeout): CloudFormation
	// may make the stack all the same, unknown to this create and to the rollback it offers.
	// The request finishes (each attempt bounded by the answer timeout); the wait then stops.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("creating stack %s: %w", s.Name, err)
	}
	sent := context.WithoutCancel(ctx)
	err := e.retry(ctx, "creating "+s.Name, func() error { _, err := e.CFN.CreateStack(sent, in); return err })
	if err != nil {
		return nil, fmt.Errorf("creating stack %s: %w", s.Name, awsapi.Clean(err))
	}
	e.progress().Stack(s.Name, StatusCreateInProgress, "")
	if detach {
		return &StackInfo{Name: s.Name, Status: StatusCreateInProgress}, nil
	}
	return e.Wait(ctx, s.Name, OpCreate, start, "")
}

// Delete deletes a stack (turning off its termination protection first when asked) and
// waits for it to go. A stack that does not exist is already deleted.
func (e *Engine) Delete(ctx context.Context, name string, unprotect bool) error {
	info, err := e.Describe(ctx, name)
	if err != nil {
		return err
	}
	if info == nil {
		return nil
	}
	if unprotect && info.TerminationProtection {
		if err := e.Unprotect(ctx, name); err != nil {
			return err
		}
	}
	mark, _ := e.latestEvent(ctx, name)
	start := e.clock().Now()
	del := func() error {
		_, err := e.CFN.DeleteStack(ctx, &cfn.DeleteStackInput{StackName: aws.String(info.ID)})
		return err
	}
	if err := e.retry(ctx, "deleting "+name, del); err != nil {
		return fmt.Errorf("deleting stack %s: %w", name, awsapi.Clean(err))
	}
	e.progress().Stack(name, StatusDeleteInProgress, "")
	// By name: once deleted, the stack is no longer found by its name, which ends the wait
	// (by id AWS would answer DELETE_COMPLETE, and moto sometimes fails to describe it).
	_, err = e.waitID(ctx, name, name, OpDelete, start, mark)
	return err
}

// Unprotect turns termination protection off.
func (e *Engine) Unprotect(ctx context.Context, name string) error {
	return e.setProtection(ctx, name, false)
}

// Protect turns termination protection on (a stack created through a change set does not
// get it at creation).
func (e *Engine) Protect(ctx context.Context, name string) error {
	return e.setProtection(ctx, name, true)
}

// protectionAttempts is how often a failed (5xx, dropped, throttled) protection change is tried.
const protectionAttempts = 4

// setProtection turns termination protection on or off. An emulator without the API (moto
// answers 500 "not implemented") does not enforce the protection either, so there that is
// not an error; against AWS a 5xx or a dropped connection is retried, then reported with
// AWS's reason.
func (e *Engine) setProtection(ctx context.Context, name string, on bool) error {
	in := &cfn.UpdateTerminationProtectionInput{StackName: aws.String(name), EnableTerminationProtection: aws.Bool(on)}
	var err error
	for attempt := 1; ; attempt++ {
		_, err = e.CFN.UpdateTerminationProtection(ctx, in)
		if err == nil || (e.Emulator && awsapi.IsNotImplemented(err)) {
			return nil
		}
		if attempt == protectionAttempts || !(awsapi.IsTransient(err) || awsapi.IsThrottle(err)) || ctx.Err() != nil {
			break
		}
		if werr := e.sleep(ctx, e.jittered(e.interval()*time.Duration(attempt))); werr != nil {
			break
		}
	}
	verb := "off"
	if on {
		verb = "on"
	}
	return fmt.Errorf("turning %s termination protection of %s: %w", verb, name, awsapi.Clean(err))
}

// Template returns the template a stack runs now (GetTemplate, Original stage), or nil when
// the stack does not exist.
func (e *Engine) Template(ctx context.Context, name string) ([]byte, error) {
	var out *cfn.GetTemplateOutput
	err := e.retry(ctx, "reading the template of "+name, func() (err error) {
		out, err = e.CFN.GetTemplate(ctx, &cfn.GetTemplateInput{StackName: aws.String(name)})
		return err
	})
	if awsapi.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the template of stack %s: %w", name, awsapi.Clean(err))
	}
	return []byte(aws.ToString(out.TemplateBody)), nil
}

// Wait polls a stack until op ends. since and mark bound the events shown: events older
// than since, or at and before the event id mark, belong to earlier operations.
func (e *Engine) Wait(ctx context.Context, name string, op Op, since time.Time, mark string) (*StackInfo, error) {
	return e.waitID(ctx, name, name, op, since, mark)
}

func (e *Engine) waitID(ctx context.Context, name, id string, op Op, since time.Time, mark string) (*StackInfo, error) {
	clk := e.clock()
	deadline := clk.Now().Add(e.timeout())
	interval := e.interval()
	seen := map[string]bool{}
	var events []Event // this operation's events, oldest first
	var last *StackInfo
	failures := 0
	var th throttle
	for first := true; ; first = false {
		if !first {
			if clk.Now().After(deadline) {
				return last, &TimeoutError{Stack: name, Op: op, Status: statusOf(last), Waited: e.timeout()}
			}
			if err := e.sleep(ctx, e.jittered(interval)); err != nil {
				return last, &InterruptedError{Stack: name, Op: op, Status: statusOf(last)}
			}
		}
		out, err := e.CFN.DescribeStacks(ctx, &cfn.DescribeStacksInput{StackName: aws.String(id)})
		switch {
		case awsapi.IsThrottle(err):
			if terr := e.throttled(&th, "looking at "+name); terr != nil {
				return last, terr
			}
			interval = min(interval*2, e.maxInterval())
			e.noteThrottled(interval, "looking at "+name)
			continue
		case ctx.Err() != nil:
			return last, &InterruptedError{Stack: name, Op: op, Status: statusOf(last)}
		case awsapi.IsNotFound(err) && op == OpDelete:
			e.progress().Stack(name, StatusDeleteComplete, "")
			return &StackInfo{Name: name, Status: StatusDeleteComplete}, nil
		case err != nil && awsapi.IsTransient(err) && failures < maxTransient:
			// a dropped connection or a 5xx during a long wait is not the stack's failure
			failures++
			e.progress().Note(fmt.Sprintf("looking at %s failed (%v); trying again", name, err))
			continue
		case err != nil:
			return last, fmt.Errorf("waiting for stack %s: %w", name, awsapi.Clean(err))
		}
		failures, th = 0, throttle{}
		interval = max(e.interval(), interval/2) // recover from throttling gradually
		if len(out.Stacks) == 0 {
			if op == OpDelete {
				return &StackInfo{Name: name, Status: StatusDeleteComplete}, nil
			}
			return nil, fmt.Errorf("stack %s vanished while waiting for %s", name, op)
		}
		last = stackInfo(out.Stacks[0])
		// events: best effort; a throttled or failed events call only delays progress
		if evs, err := e.newEvents(ctx, id, since, mark, seen); err == nil {
			for _, ev := range evs {
				ev.Stack = name
				events = append(events, ev)
				e.progress().Event(ev)
			}
		}
		if InProgress(last.Status) {
			continue
		}
		if succeeded(op, last.Status) {
			e.progress().Stack(name, last.Status, "")
			return last, nil
		}
		e.progress().Stack(name, last.Status, last.Reason)
		// the final events may have landed after the last look
		if evs, err := e.newEvents(ctx, id, since, mark, seen); err == nil {
			for _, ev := range evs {
				ev.Stack = name
				events = append(events, ev)
			}
		}
		return last, &StackError{Stack: name, Op: op, Status: last.Status, Reason: last.Reason, Failures: Failures(events)}
	}
}

func statusOf(s *StackInfo) string {
	if s == nil {
		return ""
	}
	return s.Status
}

func (e *Engine) sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-e.clock().After(d):
		return nil
	}
}

// Event is one stack event.
type Event struct {
	ID        string
	Stack     string
	LogicalID string
	Type      string
	Status    string
	Reason    string
	Time      time.Time
}

// IsStack reports whether the event is about the stack itself.
func (ev Event) IsStack() bool {
	return ev.Type == "AWS::CloudFormation::Stack" && ev.LogicalID == ev.Stack
}

// newEvents returns the events after since/mark that were not seen yet, oldest first.
func (e *Engine) newEvents(ctx context.Context, id string, since time.Time, mark string, seen map[string]bool) ([]Event, error) {
	var fresh []Event
	in := &cfn.DescribeStackEventsInput{StackName: aws.String(id)}
pages:
	for page := 0; page < 10; page++ {
		out, err := e.CFN.DescribeStackEvents(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, se := range out.StackEvents {
			ev := Event{
				ID:        aws.ToString(se.EventId),
				Stack:     aws.ToString(se.StackName),
				LogicalID: aws.ToString(se.LogicalResourceId),
				Type:      aws.ToString(se.ResourceType),
				Status:    string(se.ResourceStatus),
				Reason:    aws.ToString(se.ResourceStatusReason),
				Time:      aws.ToTime(se.Timestamp),
			}
			if ev.ID == mark && mark != "" || seen[ev.ID] || (!since.IsZero() && ev.Time.Before(since.Add(-5*time.Second))) {
				break pages
			}
			fresh = append(fresh, ev)
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	// newest first from AWS: reverse
	for i, j := 0, len(fresh)-1; i < j; i, j = i+1, j-1 {
		fresh[i], fresh[j] = fresh[j], fresh[i]
	}
	for _, ev := range fresh {
		seen[ev.ID] = true
	}
	return fresh, nil
}

// latestEvent is the id of the newest event of a stack, to tell an operation's events from
// earlier ones.
func (e *Engine) latestEvent(ctx context.Context, name string) (string, error) {
	out, err := e.CFN.DescribeStackEvents(ctx, &cfn.DescribeStackEventsInput{StackName: aws.String(name)})
	if err != nil || len(out.StackEvents) == 0 {
		return "", err
	}
	return aws.ToString(out.StackEvents[0].EventId), nil
}

// Failure is one resource that failed, with CloudFormation's reason.
type Failure struct {
	Stack     string `json:"stack"`
	LogicalID string `json:"logicalId"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	Reason    string `json:"reason"`
}

// Failures picks the failed resources from events (oldest first), root causes first: the
// "Resource creation cancelled" that follows the first real failure is noise.
func Failures(events []Event) []Failure {
	var root, cancelled []Failure
	for _, ev := range events {
		if !strings.HasSuffix(ev.Status, "_FAILED") || ev.IsStack() {
			continue
		}
		f := Failure{Stack: ev.Stack, LogicalID: ev.LogicalID, Type: ev.Type, Status: ev.Status, Reason: ev.Reason}
		if strings.Contains(ev.Reason, "cancelled") || strings.Contains(ev.Reason, "canceled") {
			cancelled = append(cancelled, f)
			continue
		}
		root = append(root, f)
	}
	if len(root) == 0 {
		return cancelled
	}
	return root
}

// StackError is a stack operation that ended in a failed state.
type StackError struct {
	Stack    string
	Op       Op
	Status   string
	Reason   string
	Failures []Failure
}

// MaxFailuresShown bounds the resources listed in an error.
const MaxFailuresShown = 5

func (e *StackError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stack %s: %s failed (%s)", e.Stack, e.Op, e.Status)
	if e.Reason != "" && len(e.Failures) == 0 {
		fmt.Fprintf(&b, ": %s", e.Reason)
	}
	for i, f := range e.Failures {
		if i == MaxFailuresShown {
			fmt.Fprintf(&b, "\n  ... and %d more failed resources", len(e.Failures)-i)
			break
		}
		fmt.Fprintf(&b, "\n  %s (%s) %s: %s", f.LogicalID, f.Type, f.Status, f.Reason)
	}
	return b.String()
}

// TimeoutError is a wait that gave up; the operation itself may still finish in AWS.
type TimeoutError struct {
	Stack  string
	Op     Op
	Status string
	Waited time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("stack %s: gave up waiting for %s after %s (still %s); CloudFormation carries on without neo4jctl", e.Stack, e.Op, e.Waited.Round(time.Second), e.Status)
}

// InterruptedError is a wait cut short by the user (Ctrl-C); the stack carries on in AWS.
type InterruptedError struct {
	Stack  string
	Op     Op
	Status string
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("stopped waiting for stack %s (%s); CloudFormation carries on without neo4jctl", e.Stack, e.Status)
}

// IsInterrupted reports whether err comes from a wait or a call cut short by its context:
// the user (Ctrl-C) or the command's deadline (--timeout); the caller's ctx tells which.
func IsInterrupted(err error) bool {
	var ie *InterruptedError
	return errors.As(err, &ie) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// maxTransient is how many failed looks in a row a wait tolerates.
const maxTransient = 5

// IsNoChanges is CloudFormation's answer to a change set or update that changes nothing.
func IsNoChanges(reason string) bool {
	return strings.Contains(reason, "didn't contain changes") || strings.Contains(reason, "No updates are to be performed") || strings.Contains(reason, "submitted information didn't contain")
}
