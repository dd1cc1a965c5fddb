package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// fakeCFN is a FAKE in front of moto's real CloudFormation, for what moto cannot show:
// stacks that fail resource by resource and roll back, throttling, waits that never end,
// stuck states, dangerous change sets. Everything not scripted goes to moto unchanged.
type fakeCFN struct {
	engine.CloudFormation
	mu sync.Mutex
	// rollback: CreateStack of these stacks is made in moto, then reported as rolling back
	// with these failed resources, until the stack is deleted.
	rollback map[string][]cfntypes.StackEvent
	// stuck: these stacks report this status forever (e.g. CREATE_IN_PROGRESS).
	stuck map[string]string
	// throttle: the next N DescribeStacks calls are throttled; throttleOnCreate arms it
	// when the first stack is created (so the waits see it).
	throttle, throttleOnCreate int
	// onStuck runs when a stuck stack is looked at (the test's Ctrl-C).
	onStuck func(stack string)
	// changes: change sets of these stacks report these changes.
	changes map[string][]cfntypes.Change
	// changeSets records every CreateChangeSet.
	changeSets []*cloudformation.CreateChangeSetInput
	looks      map[string]int
	// slowUpdate: after ExecuteChangeSet a stack reports UPDATE_IN_PROGRESS for this many
	// looks (moto completes at once), so overlapping updates are visible.
	slowUpdate int
	updating   map[string]int
	// executed lists ExecuteChangeSet calls in order; overlaps names the core stacks whose
	// update started while another core stack was still updating.
	executed []string
	overlaps []string
	// updateFails: once its change set is executed, the stack reports UPDATE_IN_PROGRESS,
	// UPDATE_ROLLBACK_IN_PROGRESS, then UPDATE_ROLLBACK_COMPLETE, with these events.
	updateFails map[string][]cfntypes.StackEvent
	failing     map[string][]cfntypes.StackEvent
	// stuckOnExecute: once executed, the stack reports this status forever.
	stuckOnExecute map[string]string
	// createFails: once its CREATE change set is executed, the new stack reports rolling back
	// with these failed resources (as rollback), until it is deleted.
	createFails map[string][]cfntypes.StackEvent
	// executeFails: ExecuteChangeSet of these stacks is refused with this error (the change
	// set, and a new stack's REVIEW_IN_PROGRESS, stay).
	executeFails map[string]error
	// onExecute runs after a change set is executed (what the update does beyond moto)
	onExecute func(stack string)
}

func newFakeCFN(real engine.CloudFormation) *fakeCFN {
	return &fakeCFN{CloudFormation: real, rollback: map[string][]cfntypes.StackEvent{}, stuck: map[string]string{},
		changes: map[string][]cfntypes.Change{}, looks: map[string]int{}, updating: map[string]int{},
		updateFails: map[string][]cfntypes.StackEvent{}, failing: map[string][]cfntypes.StackEvent{}, stuckOnExecute: map[string]string{},
		createFails: map[string][]cfntypes.StackEvent{}, executeFails: map[string]error{}}
}

func failedEvent(stack, id, typ, reason string, sec int) cfntypes.StackEvent {
	return cfntypes.StackEvent{EventId: aws.String(fmt.Sprint(stack, id, sec)), StackName: aws.String(stack), LogicalResourceId: aws.String(id),
		ResourceType: aws.String(typ), ResourceStatus: cfntypes.ResourceStatusCreateFailed, ResourceStatusReason: aws.String(reason),
		Timestamp: aws.Time(time.Now().Add(time.Duration(sec) * time.Second))}
}

func (f *fakeCFN) DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	f.mu.Lock()
	if f.throttle > 0 {
		f.throttle--
		f.mu.Unlock()
		return nil, &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
	}
	f.mu.Unlock()
	out, err := f.CloudFormation.DescribeStacks(ctx, in, opts...)
	if err != nil {
		return out, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var hook []string
	for i, s := range out.Stacks {
		name := aws.ToString(s.StackName)
		if _, ok := f.rollback[name]; ok {
			f.looks[name]++
			status := cfntypes.StackStatusRollbackComplete
			if f.looks[name] == 1 {
				status = cfntypes.StackStatusRollbackInProgress
			}
			out.Stacks[i].StackStatus = status
			out.Stacks[i].StackStatusReason = aws.String("The following resource(s) failed to create: [DataVolume].")
		}
		if n := f.updating[name]; n > 0 {
			out.Stacks[i].StackStatus = cfntypes.StackStatusUpdateInProgress
			if aws.ToString(in.StackName) != "" {
				f.updating[name] = n - 1
			}
		}
		if _, ok := f.failing[name]; ok {
			f.looks[name]++
			status := cfntypes.StackStatusUpdateRollbackComplete
			switch f.looks[name] {
			case 1:
				status = cfntypes.StackStatusUpdateInProgress
			case 2:
				status = cfntypes.StackStatusUpdateRollbackInProgress
			}
			out.Stacks[i].StackStatus = status
		}
		if st, ok := f.stuck[name]; ok {
			out.Stacks[i].StackStatus = cfntypes.StackStatus(st)
			if aws.ToString(in.StackName) != "" {
				hook = append(hook, name)
			}
		}
	}
	if f.onStuck != nil {
		for _, n := range hook {
			go f.onStuck(n)
		}
	}
	return out, nil
}

func (f *fakeCFN) DescribeStackEvents(ctx context.Context, in *cloudformation.DescribeStackEventsInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error) {
	out, err := f.CloudFormation.DescribeStackEvents(ctx, in, opts...)
	if err != nil {
		return out, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	evs, ok := f.rollback[aws.ToString(in.StackName)]
	if !ok {
		evs, ok = f.failing[aws.ToString(in.StackName)]
	}
	if ok {
		// newest first, before moto's own stack events
		fake := make([]cfntypes.StackEvent, 0, len(evs))
		for i := len(evs) - 1; i >= 0; i-- {
			fake = append(fake, evs[i])
		}
		out.StackEvents = append(fake, out.StackEvents...)
	}
	return out, nil
}

func (f *fakeCFN) CreateStack(ctx context.Context, in *cloudformation.CreateStackInput, opts ...func(*cloudformation.Options)) (*cloudformation.CreateStackOutput, error) {
	f.mu.Lock()
	if f.throttleOnCreate > 0 {
		f.throttle, f.throttleOnCreate = f.throttleOnCreate, 0
	}
	f.mu.Unlock()
	return f.CloudFormation.CreateStack(ctx, in, opts...)
}

func (f *fakeCFN) DeleteStack(ctx context.Context, in *cloudformation.DeleteStackInput, opts ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error) {
	out, err := f.CloudFormation.DeleteStack(ctx, in, opts...)
	f.mu.Lock()
	defer f.mu.Unlock()
	for name := range f.rollback {
		if strings.Contains(aws.ToString(in.StackName), name) {
			delete(f.rollback, name) // the next create of it succeeds
		}
	}
	for name := range f.stuck {
		if strings.Contains(aws.ToString(in.StackName), name) {
			delete(f.stuck, name)
		}
	}
	return out, err
}

func (f *fakeCFN) CreateChangeSet(ctx context.Context, in *cloudformation.CreateChangeSetInput, opts ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error) {
	f.mu.Lock()
	f.changeSets = append(f.changeSets, in)
	f.mu.Unlock()
	return f.CloudFormation.CreateChangeSet(ctx, in, opts...)
}

func (f *fakeCFN) DescribeChangeSet(ctx context.Context, in *cloudformation.DescribeChangeSetInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error) {
	out, err := f.CloudFormation.DescribeChangeSet(ctx, in, opts...)
	if err != nil {
		return out, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if ch, ok := f.changes[aws.ToString(in.StackName)]; ok {
		out.Changes = ch
		out.Status = cfntypes.ChangeSetStatusCreateComplete
		out.StatusReason = nil
	}
	return out, nil
}

func (f *fakeCFN) ExecuteChangeSet(ctx context.Context, in *cloudformation.ExecuteChangeSetInput, opts ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error) {
	f.mu.Lock()
	refused := f.executeFails[aws.ToString(in.StackName)]
	delete(f.executeFails, aws.ToString(in.StackName))
	f.mu.Unlock()
	if refused != nil {
		return nil, refused
	}
	out, err := f.CloudFormation.ExecuteChangeSet(ctx, in, opts...)
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.StackName)
	f.executed = append(f.executed, name)
	if strings.Contains(name, "-core-") {
		for other, n := range f.updating {
			if n > 0 && other != name && strings.Contains(other, "-core-") {
				f.overlaps = append(f.overlaps, name+" while "+other+" was updating")
			}
		}
	}
	if f.slowUpdate > 0 {
		f.updating[name] = f.slowUpdate
	}
	if evs, ok := f.updateFails[name]; ok {
		f.failing[name] = evs
		f.looks[name] = 0
	}
	if evs, ok := f.createFails[name]; ok {
		f.rollback[name] = evs
		f.looks[name] = 0
		delete(f.createFails, name)
	}
	if st, ok := f.stuckOnExecute[name]; ok {
		f.stuck[name] = st
	}
	if f.onExecute != nil && err == nil {
		defer f.onExecute(name)
	}
	return out, err
}

// withFake puts a fakeCFN in front of moto for this account's CLI runs, and a fake clock
// that never sleeps.
func (a *motoAccount) withFake() *fakeCFN {
	var f *fakeCFN
	var once sync.Once
	a.hooks.wrapCFN = func(real engine.CloudFormation) engine.CloudFormation {
		once.Do(func() { f = newFakeCFN(real) })
		f.CloudFormation = real
		return f
	}
	a.hooks.clock = engine.NewFakeClock(time.Now(), true)
	// make it now, so a test can script it before the first run
	f = newFakeCFN(nil)
	once.Do(func() {})
	return f
}

func TestCreateFailureRollbackAndResume(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	f := a.withFake()
	core2 := "neo4jctl-graph-dev-core-2"
	f.rollback[core2] = []cfntypes.StackEvent{
		failedEvent(core2, "DataVolume", "AWS::EC2::Volume", "You have exceeded your maximum gp3 storage limit of 50 TiB in this region (Service: Ec2, Status Code: 400)", 1),
		failedEvent(core2, "Service", "AWS::ECS::Service", "Resource creation cancelled", 2),
	}
	file := "../../examples/minimal.yaml"
	code, stdout, stderr := a.cli("", "create", "cluster", "-f", file)
	if code != exitFailed || stdout != "" {
		t.Fatalf("create: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	mustContain(t, "failure", stderr,
		"neo4jctl-graph-dev-core-2  DataVolume (AWS::EC2::Volume) CREATE_FAILED: You have exceeded your maximum gp3 storage limit",
		"Error: create of cluster graph-dev failed",
		"stack neo4jctl-graph-dev-core-2: create failed (ROLLBACK_COMPLETE)\n  DataVolume (AWS::EC2::Volume) CREATE_FAILED: You have exceeded",
		"Resume with `neo4jctl create cluster -f ../../examples/minimal.yaml` (it keeps what was made and retries the rest), or remove everything with `neo4jctl delete cluster graph-dev`.")
	if strings.Contains(stderr, "stack neo4jctl-graph-dev-operations") && !strings.Contains(stderr, "Resume") {
		t.Errorf("operations stack must be skipped, not failed")
	}
	if _, ok := a.stacks("graph-dev")["neo4jctl-graph-dev-operations"]; ok {
		t.Errorf("the operations stack was created although core-2 failed")
	}

	// get explains the rolled-back stack and the way out
	code, stdout, _ = a.cli("", "get", "cluster", "graph-dev")
	mustContain(t, "get", stdout, "STATUS    failed", "PROBLEM  stack neo4jctl-graph-dev-core-2 failed to create and was rolled back (ROLLBACK_COMPLETE)")

	// resume: the rolled-back stack is deleted and made again, the rest is kept
	code, _, stderr = a.cli("", "create", "cluster", "-f", file)
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	mustContain(t, "resume", stderr, "Resuming a previous create of graph-dev: 5 of 6 stacks exist, 4 of them complete",
		"Stack neo4jctl-graph-dev-core-2 is ROLLBACK_COMPLETE from an earlier attempt: deleting the empty stack to create it again",
		"neo4jctl-graph-dev-operations CREATE_COMPLETE", "Done: cluster graph-dev created")
	if strings.Contains(stderr, "neo4jctl-graph-dev-core-1 CREATE_IN_PROGRESS") {
		t.Errorf("resume re-created a stack that existed:\n%s", stderr)
	}
}

func TestCreateThrottled(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	f := a.withFake()

	// throttling slows the polling and nothing else
	f.throttleOnCreate = 4
	vpcStack := "neo4jctl-graph-dev-vpc"
	code, _, stderr := a.cli("", "create", "cluster", "-f", "../../examples/minimal.yaml")
	if code != 0 {
		t.Fatalf("throttled create: exit %d\n%s", code, stderr)
	}
	mustContain(t, "throttled", stderr, "throttled by CloudFormation, retrying in 4s (looking at "+vpcStack+")", "retrying in 30s", "Done:")
}

// Constant throttling: every wait shows why nothing moves, gives up after a bound, and the
// create says how to resume once the account's request rate recovers.
func TestCreateGivesUpUnderConstantThrottling(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	f := a.withFake()
	f.throttleOnCreate = 1 << 30
	code, stdout, stderr := a.cli("", "create", "cluster", "-f", "../../examples/minimal.yaml")
	if code != exitFailed || stdout != "" {
		t.Fatalf("exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	mustContain(t, "stderr", stderr,
		"throttled by CloudFormation, retrying in 8s (looking at neo4jctl-graph-dev-vpc)",
		"Error: create of cluster graph-dev failed\n",
		"CloudFormation throttled every request for 10m", "(looking at neo4jctl-graph-dev-vpc): the account's CloudFormation request rate is used up",
		"Resume with `neo4jctl create cluster -f ../../examples/minimal.yaml`")
}

func TestCreateWaitTimesOut(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	f := a.withFake()
	f.stuck["neo4jctl-graph-dev-shared"] = "CREATE_IN_PROGRESS"
	a.hooks.waitTimeout = 5 * time.Minute
	code, _, stderr := a.cli("", "create", "cluster", "-f", "../../examples/minimal.yaml")
	if code != exitFailed {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	mustContain(t, "timeout", stderr,
		"stack neo4jctl-graph-dev-shared: gave up waiting for create after 5m0s (still CREATE_IN_PROGRESS); CloudFormation carries on without neo4jctl",
		"Resume with `neo4jctl create cluster -f ../../examples/minimal.yaml`")
}

// TestCreateInterrupted: Ctrl-C during a create; on a terminal the create offers to roll back,
// and a second Ctrl-C ends that question, whether it comes while the question waits or came
// already while the create was winding down (pressed twice in a row): none is lost.
func TestCreateInterrupted(t *testing.T) {
	cases := []struct {
		name       string
		tty        bool
		answer     string
		second     string // a second Ctrl-C: "asking" while the question waits, "early" with the first
		want       []string
		stacksGone bool
	}{
		{name: "no terminal: how to resume", want: []string{
			"Error: create of cluster graph-prod interrupted; still creating in AWS: neo4jctl-graph-prod-core-1",
			"Resume with `neo4jctl create cluster -f "}},
		{name: "rollback accepted", tty: true, answer: "y\n", stacksGone: true, want: []string{
			"Interrupted. Roll back: delete the stacks of cluster graph-prod made so far (volumes and backups are kept)? [y/N]",
			"neo4jctl-graph-prod-shared DELETE_COMPLETE", "create of cluster graph-prod interrupted and rolled back"}},
		{name: "rollback declined", tty: true, answer: "n\n", want: []string{"Roll back", "Resume with"}},
		{name: "second Ctrl-C while asking", tty: true, second: "asking", want: []string{"Roll back", "Leaving the stacks as they are.", "Resume with"}},
		{name: "second Ctrl-C before the question", tty: true, second: "early", want: []string{"Leaving the stacks as they are.", "Resume with"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newMotoAccount(t, "eu-west-1")
			a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
			vpc, subnets := a.network("10.30", "a", "b", "c")
			file := productionConfig(t, vpc, subnets)
			f := a.withFake()
			core1 := "neo4jctl-graph-prod-core-1"
			f.stuck[core1] = "CREATE_IN_PROGRESS"
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			a.ctx = ctx
			sig := make(chan os.Signal, 4)
			a.hooks.signals = sig
			// Ctrl-C while core-1 is still being made, once every stack that does not wait on
			// it has been started (the members are started in parallel; on a loaded machine
			// core-1 can be looked at before its siblings are sent)
			cfn := cloudformation.NewFromConfig(a.cfg)
			allStarted := func() bool {
				out, err := cfn.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{})
				return err == nil && len(out.Stacks) >= 5 // shared, core-1..3, replicas; not operations
			}
			var first sync.Once
			f.onStuck = func(string) {
				if !allStarted() {
					return
				}
				first.Do(func() {
					sig <- os.Interrupt // what signal.NotifyContext and the command both see
					if tc.second == "early" {
						sig <- os.Interrupt
					}
					cancel()
				})
			}
			a.hooks.stdinTTY = &tc.tty
			var stdin io.Reader = strings.NewReader(tc.answer)
			if tc.second != "" {
				pr, pw := io.Pipe() // nobody answers
				finished := make(chan struct{})
				defer close(finished)
				go func() { // a bound instead of a hang should the question never end
					select {
					case <-time.After(time.Minute):
						pw.CloseWithError(errors.New("nobody answered within a minute"))
					case <-finished:
						pw.Close()
					}
				}()
				stdin = pr
				if tc.second == "asking" {
					stdin = &askedReader{r: pr, asked: func() { sig <- os.Interrupt }}
				}
			}
			code, _, stderr := a.cliReader(stdin, "create", "cluster", "-f", file)
			if code != exitFailed {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			mustContain(t, "stderr", stderr, tc.want...)
			left := a.stacks("graph-prod")
			if tc.stacksGone && len(left) > 0 {
				t.Errorf("stacks left after rollback: %v", left)
			}
			if !tc.stacksGone && len(left) < 5 {
				t.Errorf("stacks %v", left)
			}
		})
	}
}

// askedReader calls asked once, when the question starts reading its answer.
type askedReader struct {
	r     io.Reader
	once  sync.Once
	asked func()
}

func (a *askedReader) Read(p []byte) (int, error) {
	a.once.Do(a.asked)
	return a.r.Read(p)
}

func TestStuckStacksExplained(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	f := a.withFake()
	file := "../../examples/minimal.yaml"
	if code, _, stderr := a.cli("", "create", "cluster", "-f", file); code != 0 {
		t.Fatalf("create: %s", stderr)
	}
	f.stuck["neo4jctl-graph-dev-core-3"] = engine.StatusUpdateRollbackFailed
	code, _, stderr := a.cli("", "update", "cluster", "-f", file)
	if code != exitFailed {
		t.Fatalf("update: exit %d\n%s", code, stderr)
	}
	mustContain(t, "update", stderr, "stack neo4jctl-graph-dev-core-3 could not roll back an update (UPDATE_ROLLBACK_FAILED)",
		"aws cloudformation continue-update-rollback --stack-name neo4jctl-graph-dev-core-3")
	code, stdout, _ := a.cli("", "get", "cluster", "graph-dev")
	mustContain(t, "get", stdout, "continue-update-rollback")
}

func TestUpdateRefusesToReplaceAMembersVolume(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	f := a.withFake()
	file := "../../examples/minimal.yaml"
	if code, _, stderr := a.cli("", "create", "cluster", "-f", file); code != 0 {
		t.Fatalf("create: %s", stderr)
	}
	f.changes["neo4jctl-graph-dev-core-2"] = []cfntypes.Change{{Type: cfntypes.ChangeTypeResource, ResourceChange: &cfntypes.ResourceChange{
		Action: cfntypes.ChangeActionModify, LogicalResourceId: aws.String("DataVolume"), ResourceType: aws.String("AWS::EC2::Volume"),
		Replacement: cfntypes.ReplacementTrue, Details: []cfntypes.ResourceChangeDetail{{Target: &cfntypes.ResourceTargetDefinition{Name: aws.String("AvailabilityZone"), Attribute: cfntypes.ResourceAttributeProperties}}},
	}}}
	code, stdout, stderr := a.cli("", "update", "cluster", "-f", file, "--yes")
	if code != exitFailed {
		t.Fatalf("update: exit %d\n%s", code, stderr)
	}
	mustContain(t, "diff", stdout, "neo4jctl-graph-dev-core-2: changes", "~ Modify  DataVolume (AWS::EC2::Volume) [AvailabilityZone] REPLACEMENT")
	mustContain(t, "refusal", stderr, "update refused:\n  core-2: Modify DataVolume would replace the data volume with a new, empty one (changing AvailabilityZone)",
		"Nothing was changed. Pass --force")
	code, _, stderr = a.cli("", "update", "cluster", "-f", file, "--yes", "--force")
	if code != 0 {
		t.Fatalf("update --force: exit %d\n%s", code, stderr)
	}
	// every change set names its type, and member stacks carry the live desired count
	for _, cs := range f.changeSets {
		if cs.ChangeSetType == "" {
			t.Errorf("change set of %s without ChangeSetType", aws.ToString(cs.StackName))
		}
	}
}
