package ops

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// createFixture is an account with the default image pushed and nothing else.
type createFixture struct {
	del    *deleteFixture // the account's EC2, S3, KMS, Cloud Map and the engine
	ecr    *fakeECR
	ecs    *fakeECS
	events *recorder
	prompt *fakePrompt
}

func newCreateFixture(t *testing.T) (*createFixture, *Create) {
	x := &createFixture{del: newDeleteFixture(), ecs: &fakeECS{tasks: map[string][]ecstypes.Task{}}, events: &recorder{}}
	x.del.eng.stacks = map[string]*engine.StackInfo{}
	x.del.ec2.volumes = map[string]*fakeVolume{}
	x.del.kms.keys = map[string]map[string]string{}
	x.del.sm.secrets = map[string]*fakeStoredSecret{}
	x.del.s3.buckets = map[string]*fakeBucket{"bucket-1": {region: "eu-west-1", objects: map[string]int{}}}
	x.del.eng.outputs["neo4jctl-graph-dev-shared"] = sharedOutputs("bucket-1")
	cfg := loadExample(t, "minimal.yaml")
	x.ecr = &fakeECR{images: map[string]bool{defaultImage(cfg): true}}
	h := &Cluster{Name: "graph-dev", Region: "eu-west-1", Stacks: x.del.eng, Events: x.events}
	c := &Create{Cluster: h, Config: cfg, File: "minimal.yaml", Release: testRelease(),
		Precheck: Precheck{STS: &fakeSTS{account: "111122223333"}, EC2: x.del.ec2, ECR: x.ecr, SSM: &fakeSSM{}},
		Data:     x.del.data(), AZs: x.del.ec2, S3: x.del.s3, ECS: x.ecs,
		Rollback: &Delete{Cluster: h, Data: x.del.data(), CloudMap: x.del.cmap, Yes: true}}
	return x, c
}

func run(ctx context.Context, c *Create) (*CreateResult, error) {
	p, err := c.Plan(ctx)
	if err != nil {
		return nil, err
	}
	return c.Execute(ctx, p)
}

func TestCreateMakesStacksInOrderAndUploadsTheAgentAfterTheSharedStack(t *testing.T) {
	x, c := newCreateFixture(t)
	res, err := run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	got := x.del.eng.created
	idx := func(kind string) int { return slices.Index(got, "neo4jctl-graph-dev-"+kind) }
	if len(got) != 6 || idx("vpc") != 0 || idx("shared") != 1 || idx("operations") != 5 || idx("core-3") < 2 {
		t.Fatalf("created %v", got)
	}
	for _, s := range x.del.eng.stacks {
		if s.Status != engine.StatusCreateComplete || s.Tags[naming.TagCluster] != "graph-dev" {
			t.Errorf("stack %s: %s, tags %v", s.Name, s.Status, s.Tags)
		}
		// the AMI resolved once (SSM) is pinned in every stack that boots instances
		if k := s.Tags[naming.TagStackKind]; (k == naming.KindCore || k == naming.KindReplicas) && s.Parameters[stack.ParamImageID] != "ami-0a1b2c3d4e5f6a7b8" {
			t.Errorf("stack %s: ImageId %q", s.Name, s.Parameters[stack.ParamImageID])
		}
	}
	amd, arm := naming.AgentKey("amd64", strings.Repeat("a", 64)), naming.AgentKey("arm64", strings.Repeat("a", 64))
	// the bundles once the shared stack exists, the last-applied record once all do
	if !slices.Equal(x.del.s3.puts, []string{amd, arm, naming.LastAppliedKey}) {
		t.Errorf("uploaded %v", x.del.s3.puts)
	}
	lines := x.events.lines()
	want := []string{"Using account 111122223333 in eu-west-1",
		"Pinning the ECS-optimized AMI ami-0a1b2c3d4e5f6a7b8 (arm64, /aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id); `neo4jctl update cluster --refresh-ami` moves to a newer one",
		"Creating cluster graph-dev: 6 stacks (members in parallel once the shared stack exists)",
		"Uploaded agent bundle s3://bucket-1/" + amd, "Uploaded agent bundle s3://bucket-1/" + arm}
	if !slices.Equal(lines, want) {
		t.Errorf("events:\n%q\nwant\n%q", lines, want)
	}
	if res.Recommend() != "See it with `neo4jctl get cluster graph-dev`." || res.Detached {
		t.Errorf("result %+v", res)
	}
}

func TestCreateRefusesBeforeTouchingAnything(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(x *createFixture, c *Create)
		want  string
	}{
		{"no image in ECR", func(x *createFixture, _ *Create) { x.ecr.images = nil },
			"is not in ECR (ImageNotFoundException: The image with imageId {imageTag:'5.26.30-enterprise-neo4jctl-aaaaaaaaaaaa'} does not exist); push it first: " +
				"neo4jctl image push --repository 111122223333.dkr.ecr.eu-west-1.amazonaws.com/neo4jctl/neo4j --neo4j-version 5.26.30 --tag 5.26.30-enterprise-neo4jctl-aaaaaaaaaaaa --create-repository"},
		{"expired credentials", func(_ *createFixture, c *Create) {
			c.Precheck.STS = &fakeSTS{err: apiErr("ExpiredToken", "The security token included in the request is expired")}
		}, "checking AWS credentials (sts:GetCallerIdentity): no usable AWS credentials (ExpiredToken: The security token included in the request is expired)"},
		{"too few AZs for the new VPC", func(x *createFixture, _ *Create) { x.del.ec2.azs = x.del.ec2.azs[:2] }, "region eu-west-1 has 2 available AZs; the new VPC needs 3"},
		{"a stack name of another cluster", func(x *createFixture, _ *Create) {
			x.del.eng.put("neo4jctl-graph-dev-shared", "someone-else", naming.KindShared, "", engine.StatusCreateComplete, nil)
		}, "stack neo4jctl-graph-dev-shared already exists and is not part of neo4jctl cluster graph-dev; choose another metadata.name"},
		{"the cluster exists", func(x *createFixture, _ *Create) {
			liveCluster(x.del.eng, "graph-dev")
			x.del.eng.put("neo4jctl-graph-dev-vpc", "graph-dev", naming.KindVPC, "", engine.StatusCreateComplete, nil)
		},
			"cluster graph-dev already exists (6 stacks); change it with `neo4jctl update cluster -f minimal.yaml`"},
		{"a stack only a person can fix", func(x *createFixture, _ *Create) {
			x.del.eng.put("neo4jctl-graph-dev-vpc", "graph-dev", naming.KindVPC, "", engine.StatusCreateComplete, nil)
			x.del.eng.put("neo4jctl-graph-dev-core-1", "graph-dev", naming.KindCore, "core-1", engine.StatusRollbackComplete, nil)
			x.del.eng.put("neo4jctl-graph-dev-core-2", "graph-dev", naming.KindCore, "core-2", engine.StatusDeleteFailed, nil)
		}, "stack neo4jctl-graph-dev-core-2 could not be deleted (DELETE_FAILED); run `neo4jctl delete cluster graph-dev` again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, c := newCreateFixture(t)
			tc.setup(x, c)
			before := len(x.del.eng.stacks)
			_, err := run(context.Background(), c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
			if len(x.del.eng.created) != 0 || len(x.del.eng.deleted) != 0 || len(x.del.eng.stacks) != before || len(x.del.s3.puts) != 0 {
				t.Fatalf("touched: created %v, deleted %v", x.del.eng.created, x.del.eng.deleted)
			}
		})
	}
}

func TestCreateResumesAnEarlierAttempt(t *testing.T) {
	x, c := newCreateFixture(t)
	e := x.del.eng
	e.put("neo4jctl-graph-dev-vpc", "graph-dev", naming.KindVPC, "", engine.StatusCreateComplete, nil)
	e.put("neo4jctl-graph-dev-shared", "graph-dev", naming.KindShared, "", engine.StatusCreateComplete, sharedOutputs("bucket-1"))
	e.put("neo4jctl-graph-dev-core-1", "graph-dev", naming.KindCore, "core-1", engine.StatusCreateInProgress, nil)
	e.put("neo4jctl-graph-dev-core-2", "graph-dev", naming.KindCore, "core-2", engine.StatusRollbackComplete, nil)
	x.del.s3.buckets["bucket-1"].objects[naming.AgentKey("amd64", strings.Repeat("a", 64))] = 1 // uploaded last time
	if _, err := run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.deleted, []string{"neo4jctl-graph-dev-core-2"}) || !slices.Contains(e.created, "neo4jctl-graph-dev-core-2") ||
		slices.Contains(e.created, "neo4jctl-graph-dev-core-1") || slices.Contains(e.created, "neo4jctl-graph-dev-shared") || len(e.created) != 3 {
		t.Fatalf("deleted %v, created %v", e.deleted, e.created)
	}
	if e.stacks["neo4jctl-graph-dev-core-1"].Status != engine.StatusCreateComplete {
		t.Errorf("core-1 not waited for: %s", e.stacks["neo4jctl-graph-dev-core-1"].Status)
	}
	for _, want := range []string{"Resuming a previous create of graph-dev: 4 of 6 stacks exist, 2 of them complete",
		"Stack neo4jctl-graph-dev-core-2 is ROLLBACK_COMPLETE from an earlier attempt: deleting the empty stack to create it again",
		"Stack neo4jctl-graph-dev-core-1 is already CREATE_IN_PROGRESS: waiting for it",
		"Agent bundle " + naming.AgentKey("amd64", strings.Repeat("a", 64)) + " already in s3://bucket-1"} {
		if !slices.Contains(x.events.lines(), want) {
			t.Errorf("events lack %q:\n%q", want, x.events.lines())
		}
	}
	if !slices.Equal(x.del.s3.puts, []string{naming.AgentKey("arm64", strings.Repeat("a", 64)), naming.LastAppliedKey}) {
		t.Errorf("uploaded again: %v", x.del.s3.puts)
	}
}

func TestCreateFailureNamesTheCauseTheStoppedTasksAndTheWayOut(t *testing.T) {
	x, c := newCreateFixture(t)
	core2 := "neo4jctl-graph-dev-core-2"
	x.del.eng.createErr[core2] = &engine.StackError{Stack: core2, Op: engine.OpCreate, Status: engine.StatusRollbackComplete,
		Failures: []engine.Failure{{LogicalID: "DataVolume", Type: "AWS::EC2::Volume", Status: "CREATE_FAILED", Reason: "gp3 storage limit"}}}
	x.ecs.tasks[""] = []ecstypes.Task{{TaskArn: aws.String("arn:aws:ecs:eu-west-1:1:task/c/t9"), Group: aws.String("service:core-1"), LastStatus: aws.String("STOPPED"),
		DesiredStatus: aws.String("STOPPED"), StoppedReason: aws.String("Essential container in task exited")}}
	_, err := run(context.Background(), c)
	var ce *CreateError
	if !errors.As(err, &ce) || ce.Stopped || len(ce.Failed) != 1 {
		t.Fatalf("got %v", err)
	}
	if slices.Contains(x.del.eng.created, "neo4jctl-graph-dev-operations") {
		t.Error("the operations stack was created although core-2 failed")
	}
	for _, want := range []string{"create of cluster graph-dev failed\nstack neo4jctl-graph-dev-core-2: create failed (ROLLBACK_COMPLETE)\n  DataVolume (AWS::EC2::Volume) CREATE_FAILED: gp3 storage limit",
		"Stopped ECS tasks:\n  service:core-1: t9 STOPPED (Essential container in task exited)",
		"Resume with `neo4jctl create cluster -f minimal.yaml` (it keeps what was made and retries the rest), or remove everything with `neo4jctl delete cluster graph-dev`."} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
}

func TestCreateDetachStartsWhatCanStart(t *testing.T) {
	x, c := newCreateFixture(t)
	c.Detach = true
	res, err := run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Detached || !slices.Equal(res.Started, []string{"neo4jctl-graph-dev-vpc"}) || res.Waiting != 5 || len(x.del.s3.puts) != 0 {
		t.Fatalf("result %+v, uploads %v", res, x.del.s3.puts)
	}
	if res.Recommend() != "5 stacks wait for those: run `neo4jctl create cluster -f minimal.yaml` again once they are done (watch with `neo4jctl get cluster graph-dev`)." {
		t.Errorf("recommend: %s", res.Recommend())
	}
	// later, with the VPC and the shared stack complete: the bundles go up, the members start
	e := x.del.eng
	e.stacks["neo4jctl-graph-dev-vpc"].Status = engine.StatusCreateComplete
	e.put("neo4jctl-graph-dev-shared", "graph-dev", naming.KindShared, "", engine.StatusCreateComplete, sharedOutputs("bucket-1"))
	e.created = nil
	if res, err = run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if len(res.Started) != 3 || res.Waiting != 1 || len(x.del.s3.puts) != 2 {
		t.Fatalf("second detach: %+v, uploads %v", res, x.del.s3.puts)
	}
}

// interrupted runs a create whose core-1 stack never finishes; the test's Ctrl-C comes
// once it waits, as the signal and the cancelled context.
func interrupted(t *testing.T, prompt *fakePrompt, second bool) (*createFixture, error) {
	x, c := newCreateFixture(t)
	x.del.eng.block["neo4jctl-graph-dev-core-1"] = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sig := make(chan os.Signal, 4)
	c.Interrupts = sig
	x.del.eng.onBlock = func(string) {
		sig <- os.Interrupt
		cancel()
	}
	if prompt != nil {
		c.Prompt = prompt
		if second {
			prompt.hold = true                            // nobody answers...
			prompt.onAsk = func() { sig <- os.Interrupt } // ...and the user presses Ctrl-C again
		}
	}
	_, err := run(ctx, c)
	return x, err
}

func TestCreateInterruptedOffersARollback(t *testing.T) {
	t.Run("no terminal: how to resume", func(t *testing.T) {
		x, err := interrupted(t, nil, false)
		var ce *CreateError
		if !errors.As(err, &ce) || !ce.Stopped || !strings.HasPrefix(err.Error(), "create of cluster graph-dev interrupted; still creating in AWS: neo4jctl-graph-dev-core-1") {
			t.Fatalf("got %v", err)
		}
		if len(x.del.eng.deleted) != 0 {
			t.Errorf("rolled back without asking: %v", x.del.eng.deleted)
		}
	})
	t.Run("rollback accepted", func(t *testing.T) {
		p := &fakePrompt{answers: []bool{true}}
		x, err := interrupted(t, p, false)
		if err == nil || err.Error() != "create of cluster graph-dev interrupted and rolled back; nothing of it is left but kept data" {
			t.Fatalf("got %v", err)
		}
		if len(p.asked) != 1 || !strings.HasPrefix(p.asked[0], "\nInterrupted. Roll back: delete the stacks of cluster graph-dev made so far (volumes and backups are kept)?") {
			t.Errorf("asked %q", p.asked)
		}
		if len(x.del.eng.stacks) != 0 || x.del.eng.deleted[len(x.del.eng.deleted)-1] != "neo4jctl-graph-dev-vpc" {
			t.Errorf("left %v after deleting %v", x.del.eng.stacks, x.del.eng.deleted)
		}
	})
	t.Run("rollback declined", func(t *testing.T) {
		x, err := interrupted(t, &fakePrompt{answers: []bool{false}}, false)
		var ce *CreateError
		if !errors.As(err, &ce) || len(x.del.eng.deleted) != 0 {
			t.Fatalf("got %v, deleted %v", err, x.del.eng.deleted)
		}
	})
	t.Run("second Ctrl-C", func(t *testing.T) {
		x, err := interrupted(t, &fakePrompt{}, true)
		var ce *CreateError
		if !errors.As(err, &ce) || len(x.del.eng.deleted) != 0 {
			t.Fatalf("got %v, deleted %v", err, x.del.eng.deleted)
		}
		if _, ok := eventOf[RollbackDeclined](x.events); !ok {
			t.Errorf("events %q", x.events.lines())
		}
	})
}
