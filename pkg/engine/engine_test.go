package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func newEngine(f *fakeCloudFormation, out *bytes.Buffer) (*Engine, *FakeClock) {
	clk := NewFakeClock(t0, true)
	return &Engine{CFN: f, Clock: clk, Progress: &Lines{W: out, Clock: clk}, Jitter: func() float64 { return 0.5 }}, clk
}

func res(id, typ, status, reason string) Event {
	return Event{LogicalID: id, Type: typ, Status: status, Reason: reason}
}

func stackEv(status, reason string) Event { return Event{Status: status, Reason: reason} }

func TestCreateWaits(t *testing.T) {
	cases := []struct {
		name     string
		script   []fakeStep
		throttle int
		timeout  time.Duration
		wantErr  []string // substrings of the error a user sees; nil: success
		wantOut  []string // substrings of the progress
		notOut   []string
	}{
		{
			name: "success shows resource events",
			script: []fakeStep{
				{StatusCreateInProgress, []Event{stackEv(StatusCreateInProgress, "User Initiated"), res("Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS", "")}},
				{StatusCreateInProgress, []Event{res("Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE", "")}},
				{StatusCreateComplete, []Event{stackEv(StatusCreateComplete, "")}},
			},
			wantOut: []string{"s1 CREATE_IN_PROGRESS", "s1  Bucket (AWS::S3::Bucket) CREATE_COMPLETE", "s1 CREATE_COMPLETE"},
			notOut:  []string{"User Initiated"},
		},
		{
			name: "rollback names the first failed resource, not the cancelled ones",
			script: []fakeStep{
				{StatusCreateInProgress, []Event{res("Volume", "AWS::EC2::Volume", "CREATE_IN_PROGRESS", "")}},
				{StatusRollbackInProgress, []Event{
					res("Volume", "AWS::EC2::Volume", "CREATE_FAILED", "Volume of 100000GiB exceeds the maximum size (16384GiB)"),
					res("Service", "AWS::ECS::Service", "CREATE_FAILED", "Resource creation cancelled"),
					stackEv(StatusRollbackInProgress, "The following resource(s) failed to create: [Volume, Service]."),
				}},
				{StatusRollbackComplete, nil},
			},
			wantErr: []string{"stack s1: create failed (ROLLBACK_COMPLETE)", "Volume (AWS::EC2::Volume) CREATE_FAILED: Volume of 100000GiB exceeds the maximum size"},
			wantOut: []string{"Volume (AWS::EC2::Volume) CREATE_FAILED", "s1 ROLLBACK_COMPLETE"},
		},
		{
			name:     "throttling only slows polling",
			throttle: 3,
			script:   []fakeStep{{StatusCreateInProgress, nil}, {StatusCreateComplete, nil}},
			wantOut:  []string{"throttled by CloudFormation, retrying in 4s (looking at s1)", "retrying in 16s", "s1 CREATE_COMPLETE"},
		},
		{
			name:     "constant throttling gives up after a bound, saying what to do",
			throttle: 1 << 30,
			script:   []fakeStep{{StatusCreateInProgress, nil}},
			wantErr: []string{"CloudFormation throttled every request for 10m", "(looking at s1): the account's CloudFormation request rate is used up",
				"wait a few minutes, then run the command again"},
			wantOut: []string{"retrying in 8s", "retrying in 30s (looking at s1)"},
		},
		{
			name:    "a wait that never ends times out with the way on",
			timeout: 10 * time.Minute,
			script:  []fakeStep{{StatusCreateInProgress, nil}},
			wantErr: []string{"stack s1: gave up waiting for create after 10m0s (still CREATE_IN_PROGRESS)"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.stacks["s1"] = &fakeStack{onCreate: tc.script}
			var out bytes.Buffer
			e, clk := newEngine(f, &out)
			e.Timeout = tc.timeout
			f.throttle = tc.throttle // DescribeStacks only: the waits, not the create call
			ctx := context.Background()
			info, err := e.Create(ctx, Spec{Name: "s1", Template: []byte("{}"), Tags: map[string]string{"neo4jctl.io/cluster": "c"}, Parameters: map[string]string{"P": "v"}, TerminationProtection: true}, false)
			if tc.wantErr == nil {
				if err != nil || info.Status != StatusCreateComplete {
					t.Fatalf("Create: %v (%+v)\n%s", err, info, out.String())
				}
			} else {
				if err == nil {
					t.Fatalf("Create succeeded, want %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, err)
					}
				}
				if strings.Contains(err.Error(), "Resource creation cancelled") {
					t.Errorf("error shows cancelled resources before the cause:\n%v", err)
				}
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("progress lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tc.notOut {
				if strings.Contains(out.String(), w) {
					t.Errorf("progress shows %q:\n%s", w, out.String())
				}
			}
			in := f.created[0]
			if !aws.ToBool(in.EnableTerminationProtection) || len(in.Tags) != 1 || len(in.Parameters) != 1 {
				t.Errorf("CreateStack input: protection %v, tags %v, params %v", aws.ToBool(in.EnableTerminationProtection), in.Tags, in.Parameters)
			}
			if clk.Slept() > 2*time.Hour {
				t.Errorf("slept %s", clk.Slept())
			}
		})
	}
}

func TestCompletionNoticedWithinTwoSeconds(t *testing.T) {
	f := newFake()
	f.stacks["s1"] = &fakeStack{onCreate: []fakeStep{{StatusCreateInProgress, nil}, {StatusCreateInProgress, nil}, {StatusCreateComplete, nil}}}
	var out bytes.Buffer
	e, clk := newEngine(f, &out)
	e.Jitter = func() float64 { return 0.999 } // the longest jittered interval
	if _, err := e.Create(context.Background(), Spec{Name: "s1"}, false); err != nil {
		t.Fatal(err)
	}
	// two polls after the first look
	if got := clk.Slept(); got > 2*2400*time.Millisecond {
		t.Fatalf("waited %s over two polls; completion must be seen within about 2s", got)
	}
}

func TestInterruptedWait(t *testing.T) {
	f := newFake()
	f.stacks["s1"] = &fakeStack{onCreate: []fakeStep{{StatusCreateInProgress, nil}}}
	clk := NewFakeClock(t0, false)
	var out bytes.Buffer
	e := &Engine{CFN: f, Clock: clk, Progress: &Lines{W: &out}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.CFN = &ctrlCWhileWaiting{fakeCloudFormation: f, cancel: cancel} // Ctrl-C once the wait looks
	_, err := e.Create(ctx, Spec{Name: "s1"}, false)
	if !IsInterrupted(err) || !strings.Contains(err.Error(), "stopped waiting for stack s1") {
		t.Fatalf("got %v", err)
	}
	// Ctrl-C before the stack's turn: no stack is started
	_, err = e.Create(ctx, Spec{Name: "s2"}, false)
	if !IsInterrupted(err) || len(f.created) != 1 {
		t.Fatalf("after Ctrl-C: %v, %d stacks made", err, len(f.created))
	}
}

// ctrlCWhileWaiting cancels when a stack is first described (the wait has begun).
type ctrlCWhileWaiting struct {
	*fakeCloudFormation
	cancel context.CancelFunc
}

func (f *ctrlCWhileWaiting) DescribeStacks(ctx context.Context, in *cfn.DescribeStacksInput, o ...func(*cfn.Options)) (*cfn.DescribeStacksOutput, error) {
	f.cancel()
	return f.fakeCloudFormation.DescribeStacks(ctx, in, o...)
}

func TestDetachReturnsAtOnce(t *testing.T) {
	f := newFake()
	f.stacks["s1"] = &fakeStack{onCreate: []fakeStep{{StatusCreateInProgress, nil}}}
	var out bytes.Buffer
	e, clk := newEngine(f, &out)
	info, err := e.Create(context.Background(), Spec{Name: "s1"}, true)
	if err != nil || info.Status != StatusCreateInProgress || clk.Slept() != 0 {
		t.Fatalf("detach: %v %+v slept %s", err, info, clk.Slept())
	}
}

func TestDeleteTurnsOffProtectionAndWaits(t *testing.T) {
	f := newFake()
	f.stacks["s1"] = &fakeStack{
		onCreate: []fakeStep{{StatusCreateComplete, nil}},
		onDelete: []fakeStep{{StatusDeleteInProgress, nil}, {"GONE", nil}},
	}
	var out bytes.Buffer
	e, _ := newEngine(f, &out)
	if _, err := e.Create(context.Background(), Spec{Name: "s1", TerminationProtection: true}, false); err != nil {
		t.Fatal(err)
	}
	if err := e.Delete(context.Background(), "s1", false); err == nil || !strings.Contains(err.Error(), "TerminationProtection is enabled") {
		t.Fatalf("delete of a protected stack: %v", err)
	}
	if err := e.Delete(context.Background(), "s1", true); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if len(f.unprot) != 1 || !strings.Contains(out.String(), "s1 DELETE_COMPLETE") {
		t.Fatalf("unprotected %v; progress:\n%s", f.unprot, out.String())
	}
}

func TestDeleteFailedExplained(t *testing.T) {
	f := newFake()
	f.stacks["s1"] = &fakeStack{
		onCreate: []fakeStep{{StatusCreateComplete, nil}},
		onDelete: []fakeStep{{StatusDeleteInProgress, nil}, {StatusDeleteFailed, []Event{res("CoreRecords", "AWS::ServiceDiscovery::Service", "DELETE_FAILED", "Service contains registered instances; delete the instances before deleting the service")}}},
	}
	var out bytes.Buffer
	e, _ := newEngine(f, &out)
	e.Create(context.Background(), Spec{Name: "s1"}, false)
	err := e.Delete(context.Background(), "s1", true)
	var se *StackError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "CoreRecords (AWS::ServiceDiscovery::Service) DELETE_FAILED: Service contains registered instances") {
		t.Fatalf("got %v", err)
	}
}

func TestPreview(t *testing.T) {
	cases := []struct {
		name      string
		changes   []types.Change
		reason    string
		noChanges bool
		replaces  bool
	}{
		{name: "no changes", reason: "The submitted information didn't contain changes. Submit different information to create a change set.", noChanges: true},
		{name: "empty complete change set", noChanges: true},
		{name: "volume replaced", replaces: true, changes: []types.Change{{ResourceChange: &types.ResourceChange{
			Action: types.ChangeActionModify, LogicalResourceId: aws.String("Volume"), ResourceType: aws.String("AWS::EC2::Volume"),
			Replacement: types.ReplacementTrue, Details: []types.ResourceChangeDetail{{Target: &types.ResourceTargetDefinition{Name: aws.String("AvailabilityZone")}}}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.stacks["s1"] = &fakeStack{onCreate: []fakeStep{{StatusCreateComplete, nil}}}
			f.changes["s1"] = tc.changes
			f.csReason["s1"] = tc.reason
			var out bytes.Buffer
			e, _ := newEngine(f, &out)
			cs, err := e.Preview(context.Background(), Spec{Name: "s1"}, true)
			if err != nil {
				t.Fatal(err)
			}
			if cs.NoChanges != tc.noChanges {
				t.Fatalf("NoChanges = %v", cs.NoChanges)
			}
			if tc.replaces && (len(cs.Changes) != 1 || !cs.Changes[0].Replaces() || cs.Changes[0].Properties[0] != "AvailabilityZone") {
				t.Fatalf("changes %+v", cs.Changes)
			}
		})
	}
}

func TestInOrderSkipsDependents(t *testing.T) {
	deps := map[string][]string{"core-1": {"shared"}, "core-2": {"shared"}, "ops": {"shared", "core-1", "core-2"}}
	names := []string{"shared", "core-1", "core-2", "ops"}
	var ran []string
	errs := InOrder(context.Background(), names, deps, func(_ context.Context, n string) error {
		if n == "core-2" {
			return errors.New("boom")
		}
		ran = append(ran, n) // core-1 only runs after shared, never concurrently with it
		return nil
	})
	var se *SkippedError
	if !errors.As(errs["ops"], &se) || se.Because != "core-2" || errs["core-1"] != nil || ran[0] != "shared" {
		t.Fatalf("errs %v ran %v", errs, ran)
	}
	rev := Reverse(names, deps)
	if len(rev["shared"]) != 3 || len(rev["core-1"]) != 1 {
		t.Fatalf("reverse %v", rev)
	}
}

func TestLinesColourOnlyWhenAsked(t *testing.T) {
	var out bytes.Buffer
	l := &Lines{W: &out, Colors: printer.Colors{On: false}}
	l.Stack("s1", StatusCreateFailed, "boom")
	if strings.Contains(out.String(), "\x1b[") {
		t.Fatalf("colour without a terminal: %q", out.String())
	}
}

func TestNewStackThroughChangeSetIsProtected(t *testing.T) {
	f := newFake()
	f.stacks["s1"] = &fakeStack{onCreate: []fakeStep{{StatusCreateInProgress, nil}, {StatusCreateComplete, nil}}}
	f.changes["s1"] = []types.Change{{ResourceChange: &types.ResourceChange{Action: types.ChangeActionAdd, LogicalResourceId: aws.String("Service"), ResourceType: aws.String("AWS::ECS::Service")}}}
	var out bytes.Buffer
	e, _ := newEngine(f, &out)
	cs, err := e.Preview(context.Background(), Spec{Name: "s1"}, false)
	if err != nil || cs.Type != "CREATE" || len(cs.Changes) != 1 {
		t.Fatalf("preview: %v %+v", err, cs)
	}
	if _, err := e.Execute(context.Background(), cs); err != nil {
		t.Fatal(err)
	}
	if !f.stacks["s1"].protected {
		t.Fatal("a stack created through a change set has no termination protection")
	}
}

// The spinner only spins on a terminal (not in tests); this drives its bookkeeping and the
// permanent lines it prints above itself.
func TestSpinnerProgressPrintsPermanentLines(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "tty")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p := newSpinner(&out, f, &Lines{W: &out})
	p.Stack("s1", StatusCreateInProgress, "")
	p.Stack("s2", StatusCreateInProgress, "")
	p.Event(Event{Stack: "s1", LogicalID: "Volume", Type: "AWS::EC2::Volume", Status: "CREATE_IN_PROGRESS"})
	if got := p.active["s1"]; got != "Volume create in progress" {
		t.Errorf("activity of s1: %q", got)
	}
	p.Event(Event{Stack: "s2", LogicalID: "Service", Type: "AWS::ECS::Service", Status: "CREATE_FAILED", Reason: "boom"})
	p.Print("Uploaded agent bundle")
	p.Note("AWS is throttling requests")
	p.Stack("s1", StatusCreateComplete, "")
	p.Stop()
	for _, w := range []string{"s2  Service (AWS::ECS::Service) CREATE_FAILED: boom", "Uploaded agent bundle", "AWS is throttling", "s1 CREATE_COMPLETE"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("spinner output lacks %q:\n%s", w, out.String())
		}
	}
	if len(p.order) != 1 || p.order[0] != "s2" {
		t.Errorf("stacks in flight: %v", p.order)
	}
}

// flakyCFN drops the connection on some looks.
type flakyCFN struct {
	*fakeCloudFormation
	drops int
}

func (f *flakyCFN) DescribeStacks(ctx context.Context, in *cfn.DescribeStacksInput, o ...func(*cfn.Options)) (*cfn.DescribeStacksOutput, error) {
	if aws.ToString(in.StackName) != "" && f.drops > 0 {
		f.drops--
		return nil, errors.New("read tcp 127.0.0.1:1->127.0.0.1:2: use of closed network connection")
	}
	return f.fakeCloudFormation.DescribeStacks(ctx, in, o...)
}

func TestWaitRidesOutTransientErrors(t *testing.T) {
	for _, tc := range []struct {
		drops   int
		wantErr string
	}{{drops: 3}, {drops: 9, wantErr: "waiting for stack s1: read tcp"}} {
		f := newFake()
		f.stacks["s1"] = &fakeStack{onCreate: []fakeStep{{StatusCreateInProgress, nil}, {StatusCreateComplete, nil}}}
		var out bytes.Buffer
		clk := NewFakeClock(t0, true)
		e := &Engine{CFN: &flakyCFN{f, tc.drops}, Clock: clk, Progress: &Lines{W: &out}}
		_, err := e.Create(context.Background(), Spec{Name: "s1"}, false)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("drops %d: %v\n%s", tc.drops, err, out.String())
		}
	}
}

func TestProtectionNotImplementedToleratedOnlyOnAnEmulator(t *testing.T) {
	notImpl := &smithy.GenericAPIError{Code: "InternalFailure", Message: "The UpdateTerminationProtection action has not been implemented"}
	for _, emulator := range []bool{true, false} {
		f := newFake()
		f.stacks["s1"] = &fakeStack{}
		f.protErr = &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 500}}, Err: notImpl}}
		var out bytes.Buffer
		e, _ := newEngine(f, &out)
		e.Emulator = emulator
		err := e.Unprotect(context.Background(), "s1")
		if emulator {
			if err != nil || f.protN != 1 {
				t.Fatalf("emulator: %v after %d calls", err, f.protN)
			}
			continue
		}
		if err == nil || f.protN != protectionAttempts {
			t.Fatalf("AWS: %v after %d calls, want an error after %d", err, f.protN, protectionAttempts)
		}
		if want := "turning off termination protection of s1: InternalFailure: The UpdateTerminationProtection action has not been implemented"; err.Error() != want {
			t.Fatalf("AWS error %q, want %q", err, want)
		}
	}
}

func TestSpinnerHasNoColourWhenColoursAreOff(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "tty")
	if err != nil {
		t.Fatal(err)
	}
	for _, on := range []bool{false, true} {
		var out bytes.Buffer
		p := newSpinner(&out, f, &Lines{W: &out, Colors: printer.Colors{On: on}})
		fmt.Fprint(p.s.Writer, "\r\x1b[K\x1b[37m⠋\x1b[0m s1")
		want := "\r\x1b[K⠋ s1"
		if on {
			want = "\r\x1b[K\x1b[37m⠋\x1b[0m s1"
		}
		if out.String() != want {
			t.Errorf("colours %v: spinner wrote %q, want %q", on, out.String(), want)
		}
	}
}

// Looking a stack up and listing stacks retry while throttled, then give up after the bound
// with a ThrottledError; a throttle that stops is invisible but for the notes.
func TestLookupsUnderThrottling(t *testing.T) {
	f := newFake()
	f.stacks["s1"] = &fakeStack{onCreate: []fakeStep{{StatusCreateComplete, nil}}}
	var out bytes.Buffer
	e, _ := newEngine(f, &out)
	if _, err := e.Create(context.Background(), Spec{Name: "s1", Template: []byte("{}")}, false); err != nil {
		t.Fatal(err)
	}
	f.throttle = 2
	if info, err := e.Describe(context.Background(), "s1"); err != nil || info == nil || !strings.Contains(out.String(), "throttled by CloudFormation, retrying in 4s (looking at s1)") {
		t.Fatalf("Describe after two throttles: %v %v\n%s", info, err, out.String())
	}
	f.throttle = 1 << 30
	_, err := e.Describe(context.Background(), "s1")
	var te *ThrottledError
	if !errors.As(err, &te) || te.For < DefaultMaxThrottled || !strings.HasPrefix(err.Error(), "describing stack s1: CloudFormation throttled every request for 10m") {
		t.Fatalf("Describe under constant throttling: %v", err)
	}
	if _, err := e.List(context.Background(), nil); !errors.As(err, &te) || !strings.Contains(err.Error(), "(listing stacks)") {
		t.Fatalf("List under constant throttling: %v", err)
	}
}

// ctrlCDuringCreateStack is CloudFormation that gets Ctrl-C while CreateStack is in flight:
// like an HTTP request, the call fails if its context is cancelled by then; CloudFormation
// itself may still have made the stack.
type ctrlCDuringCreateStack struct {
	*fakeCloudFormation
	cancel context.CancelFunc
}

func (f *ctrlCDuringCreateStack) CreateStack(ctx context.Context, in *cfn.CreateStackInput, o ...func(*cfn.Options)) (*cfn.CreateStackOutput, error) {
	f.cancel()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return f.fakeCloudFormation.CreateStack(ctx, in, o...)
}

// TestCreateStackSentIsFinished: Ctrl-C while CreateStack is in flight does not abandon the
// request (CloudFormation may make the stack all the same, unknown to the create and to the
// rollback it offers); the request finishes, then the wait stops.
func TestCreateStackSentIsFinished(t *testing.T) {
	f := newFake()
	f.stacks["s1"] = &fakeStack{onCreate: []fakeStep{{StatusCreateInProgress, nil}, {StatusCreateComplete, nil}}}
	var out bytes.Buffer
	e, _ := newEngine(f, &out)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.CFN = &ctrlCDuringCreateStack{fakeCloudFormation: f, cancel: cancel}
	_, err := e.Create(ctx, Spec{Name: "s1", Template: []byte("{}")}, false)
	if !IsInterrupted(err) || !strings.Contains(err.Error(), "stopped waiting for stack s1") {
		t.Fatalf("got %v, want the wait interrupted", err)
	}
	if len(f.created) != 1 {
		t.Errorf("the CreateStack sent was abandoned: %d made", len(f.created))
	}
	if !strings.Contains(out.String(), "s1 CREATE_IN_PROGRESS") {
		t.Errorf("the stack made is not shown:\n%s", out.String())
	}
}
