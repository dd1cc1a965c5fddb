package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// detail is one ResourceChangeDetail as CloudFormation reports it.
type detail struct {
	prop, source, causing string
	dynamic               bool
	recreation            cfntypes.RequiresRecreation
}

// awsChange is a resource change with the Replacement, Scope and Details real AWS reports
// (the change sets moto makes carry neither).
func awsChange(id, typ string, repl cfntypes.Replacement, details ...detail) cfntypes.Change {
	rc := &cfntypes.ResourceChange{
		Action: cfntypes.ChangeActionModify, LogicalResourceId: aws.String(id), ResourceType: aws.String(typ),
		PhysicalResourceId: aws.String(strings.ToLower(id) + "-0123"), Replacement: repl,
		Scope: []cfntypes.ResourceAttribute{cfntypes.ResourceAttributeProperties},
	}
	for _, d := range details {
		ev := cfntypes.EvaluationTypeStatic
		if d.dynamic {
			ev = cfntypes.EvaluationTypeDynamic
		}
		rd := cfntypes.ResourceChangeDetail{
			Target:       &cfntypes.ResourceTargetDefinition{Attribute: cfntypes.ResourceAttributeProperties, Name: aws.String(d.prop), RequiresRecreation: d.recreation},
			Evaluation:   ev,
			ChangeSource: cfntypes.ChangeSource(d.source),
		}
		if d.causing != "" {
			rd.CausingEntity = aws.String(d.causing)
		}
		rc.Details = append(rc.Details, rd)
	}
	return cfntypes.Change{Type: cfntypes.ChangeTypeResource, ResourceChange: rc}
}

// What real AWS shows for an instanceType change of a member: a new launch template version
// (Replacement False) and the group following it (a dynamic change, Conditional).
var instanceTypeChange = []cfntypes.Change{
	awsChange("LaunchTemplate", "AWS::EC2::LaunchTemplate", cfntypes.ReplacementFalse,
		detail{prop: "LaunchTemplateData", source: "DirectModification", recreation: cfntypes.RequiresRecreationNever}),
	awsChange("AutoScalingGroup", "AWS::AutoScaling::AutoScalingGroup", cfntypes.ReplacementConditional,
		detail{prop: "LaunchTemplate", source: "ResourceAttribute", causing: "LaunchTemplate.LatestVersionNumber", dynamic: true, recreation: cfntypes.RequiresRecreationNever}),
}

// ... and for a neo4j.config change: a new task definition (True) the service moves to (False).
var neo4jConfigChange = []cfntypes.Change{
	awsChange("TaskDefinition", "AWS::ECS::TaskDefinition", cfntypes.ReplacementTrue,
		detail{prop: "ContainerDefinitions", source: "DirectModification", recreation: cfntypes.RequiresRecreationAlways}),
	awsChange("Service", "AWS::ECS::Service", cfntypes.ReplacementFalse,
		detail{prop: "TaskDefinition", source: "ResourceReference", causing: "TaskDefinition", dynamic: true, recreation: cfntypes.RequiresRecreationNever}),
}

func TestUpdateRefusesToRestartRunningMembersThenRollsThemThroughGates(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	f := a.withFake()
	s := a.simulate("graph-dev", 3, 0)
	file := "../../examples/minimal.yaml"
	if code, _, stderr := a.cli("", "create", "cluster", "-f", file); code != 0 {
		t.Fatalf("create: %s", stderr)
	}
	s.sim.ResetStats()
	f.changes["neo4jctl-graph-dev-core-1"] = instanceTypeChange
	f.changes["neo4jctl-graph-dev-core-2"] = neo4jConfigChange
	// tags alone on the group and the service leave the member running
	f.changes["neo4jctl-graph-dev-core-3"] = []cfntypes.Change{
		awsChange("AutoScalingGroup", "AWS::AutoScaling::AutoScalingGroup", cfntypes.ReplacementFalse,
			detail{prop: "Tags", source: "DirectModification", recreation: cfntypes.RequiresRecreationNever}),
		awsChange("Service", "AWS::ECS::Service", cfntypes.ReplacementFalse,
			detail{prop: "Tags", source: "DirectModification", recreation: cfntypes.RequiresRecreationNever}),
	}

	code, stdout, stderr := a.cli("", "update", "cluster", "-f", file, "--yes")
	if code != exitFailed {
		t.Fatalf("update: exit %d\n%s\n%s", code, stdout, stderr)
	}
	mustContain(t, "diff", stdout, "~ Modify  LaunchTemplate (AWS::EC2::LaunchTemplate) [LaunchTemplateData]",
		"~ Modify  AutoScalingGroup (AWS::AutoScaling::AutoScalingGroup) [LaunchTemplate] MAY BE REPLACED",
		"~ Modify  TaskDefinition (AWS::ECS::TaskDefinition) [ContainerDefinitions] REPLACEMENT")
	mustContain(t, "refusal", stderr, "Error: update refused:\n"+
		"  core-1 is running and would restart: Modify LaunchTemplate (new launch template version: the rolling update replaces the instance; changing LaunchTemplateData), "+
		"Modify AutoScalingGroup (the rolling update replaces the instance; changing LaunchTemplate)\n"+
		"  core-2 is running and would restart: Modify TaskDefinition (new task definition: the service stops the task and starts a new one; changing ContainerDefinitions), "+
		"Modify Service (the service redeploys its task; changing TaskDefinition)\n"+
		"Nothing was changed. Pass --force to apply it member by member, quorum first: neo4jctl updates one member stack at a time")
	if strings.Contains(stderr, "core-3 is running") {
		t.Errorf("a tags-only change refused:\n%s", stderr)
	}
	if len(f.executed) != 0 {
		t.Fatalf("a refused update applied %v", f.executed)
	}

	// --force: core-3 (tags) first, then core-1 and core-2 through the gated roll, each
	// restarting its member as AWS would (a new instance, a new task definition)
	f.slowUpdate = 3
	f.onExecute = func(stack string) {
		if m := strings.TrimPrefix(stack, "neo4jctl-graph-dev-"); m == "core-1" || m == "core-2" {
			s.redeploy(t, m)
		}
	}
	code, _, stderr = a.cli("", "update", "cluster", "-f", file, "--yes", "--force")
	if code != 0 {
		t.Fatalf("update --force: exit %d\n%s", code, stderr)
	}
	mustContain(t, "update --force", stderr, "(one at a time, gated)", "[1/2] core-", "[2/2] core-", "after gate passed",
		"neo4jctl-graph-dev-core-1 UPDATE_COMPLETE", "neo4jctl-graph-dev-core-3 UPDATE_COMPLETE", "Cluster graph-dev updated.")
	if len(f.overlaps) > 0 {
		t.Errorf("two core members updated at once: %v", f.overlaps)
	}
	if got := strings.Join(f.executed, " "); got != "neo4jctl-graph-dev-core-3 neo4jctl-graph-dev-core-1 neo4jctl-graph-dev-core-2" &&
		got != "neo4jctl-graph-dev-core-3 neo4jctl-graph-dev-core-2 neo4jctl-graph-dev-core-1" {
		t.Errorf("applied %s", got)
	}
	if r := s.restarted(); r["core-1"] != 1 || r["core-2"] != 1 || r["core-3"] != 0 {
		t.Errorf("restarts %v", r)
	}
	s.quorumKept(t)
}

func updateFailed(stack, id, typ, reason string, sec int) cfntypes.StackEvent {
	return cfntypes.StackEvent{EventId: aws.String(fmt.Sprint(stack, id, "update", sec)), StackName: aws.String(stack), LogicalResourceId: aws.String(id),
		ResourceType: aws.String(typ), ResourceStatus: cfntypes.ResourceStatusUpdateFailed, ResourceStatusReason: aws.String(reason),
		// after the update started, whatever the fake clock says
		Timestamp: aws.Time(time.Now().Add(24*time.Hour + time.Duration(sec)*time.Second))}
}

// a change in the shared stack and a harmless one in core-1, which waits for the shared stack
func scriptSharedAndCore1(f *fakeCFN) {
	f.changes["neo4jctl-graph-dev-shared"] = []cfntypes.Change{awsChange("LogGroup", "AWS::Logs::LogGroup", cfntypes.ReplacementFalse,
		detail{prop: "RetentionInDays", source: "DirectModification", recreation: cfntypes.RequiresRecreationNever})}
	f.changes["neo4jctl-graph-dev-core-1"] = []cfntypes.Change{awsChange("MemberDiscovery", "AWS::ServiceDiscovery::Service", cfntypes.ReplacementFalse,
		detail{prop: "Description", source: "DirectModification", recreation: cfntypes.RequiresRecreationNever})}
}

func TestUpdateRolledBackExplained(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	f := a.withFake()
	file := "../../examples/minimal.yaml"
	if code, _, stderr := a.cli("", "create", "cluster", "-f", file); code != 0 {
		t.Fatalf("create: %s", stderr)
	}
	scriptSharedAndCore1(f)
	shared := "neo4jctl-graph-dev-shared"
	f.updateFails[shared] = []cfntypes.StackEvent{
		updateFailed(shared, "LogGroup", "AWS::Logs::LogGroup", `Resource handler returned message: "User is not authorized to perform: logs:PutRetentionPolicy" (HandlerErrorCode: AccessDenied)`, 1),
	}
	code, _, stderr := a.cli("", "update", "cluster", "-f", file, "--yes")
	if code != exitFailed {
		t.Fatalf("update: exit %d\n%s", code, stderr)
	}
	mustContain(t, "rollback", stderr,
		"neo4jctl-graph-dev-shared  LogGroup (AWS::Logs::LogGroup) UPDATE_FAILED: Resource handler returned message",
		"Error: update of cluster graph-dev failed\nstack neo4jctl-graph-dev-shared: update failed (UPDATE_ROLLBACK_COMPLETE)\n  LogGroup (AWS::Logs::LogGroup) UPDATE_FAILED: Resource handler returned message: \"User is not authorized to perform: logs:PutRetentionPolicy\"",
		"CloudFormation rolled back neo4jctl-graph-dev-shared: they run as before the update.",
		"Not updated: neo4jctl-graph-dev-core-1.",
		"Fix the cause and run `neo4jctl update cluster -f ../../examples/minimal.yaml` again.")
	if strings.Contains(stderr, "Still updating") {
		t.Errorf("a finished rollback called in progress:\n%s", stderr)
	}
}

func TestUpdateInterrupted(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	f := a.withFake()
	file := "../../examples/minimal.yaml"
	if code, _, stderr := a.cli("", "create", "cluster", "-f", file); code != 0 {
		t.Fatalf("create: %s", stderr)
	}
	scriptSharedAndCore1(f)
	f.stuckOnExecute["neo4jctl-graph-dev-shared"] = "UPDATE_IN_PROGRESS"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.ctx = ctx
	var once sync.Once
	f.onStuck = func(string) { once.Do(cancel) } // Ctrl-C while the shared stack updates
	code, _, stderr := a.cli("", "update", "cluster", "-f", file, "--yes")
	if code != exitFailed {
		t.Fatalf("update: exit %d\n%s", code, stderr)
	}
	mustContain(t, "interrupt", stderr, "Error: update of cluster graph-dev interrupted",
		"Still updating in AWS: neo4jctl-graph-dev-shared (UPDATE_IN_PROGRESS). CloudFormation carries on without neo4jctl (and rolls back by itself if the update fails); follow it with `neo4jctl get cluster graph-dev`.",
		"Not updated: neo4jctl-graph-dev-core-1.",
		"Once no stack is in progress, run `neo4jctl update cluster -f ../../examples/minimal.yaml` again to apply the rest.")
	if strings.Contains(stderr, "rolled") {
		t.Errorf("an interrupted update claims a rollback:\n%s", stderr)
	}
}

// TestUpdateKeepsObjectLock: update checks the file against the config the cluster runs with
// (cluster.ValidateUpdate). S3 cannot turn a bucket's Object Lock off, so a file without
// backup.objectLock is refused before any change set is made (exit 2, the field, its line and
// the fix) and the bucket keeps its lock; a shorter lock in governance mode is an update; a
// cluster without a last-applied record is checked against its bucket's lock.
func TestUpdateKeepsObjectLock(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	f := a.withFake() // records the change sets
	minimal := readFile(t, "../../examples/minimal.yaml")
	if code, _, stderr := a.cli("", "create", "cluster", "-f", writeConfig(t, minimal+"backup:\n  objectLock: {mode: compliance, days: 2}\n")); code != 0 {
		t.Fatalf("create: exit %d\n%s", code, stderr)
	}
	bucket := a.bucketOf("graph-dev")
	lock := func() (string, int32) {
		out, err := s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = true }).GetObjectLockConfiguration(context.Background(),
			&s3.GetObjectLockConfigurationInput{Bucket: aws.String(bucket)})
		if err != nil || out.ObjectLockConfiguration.Rule == nil {
			t.Fatalf("object lock of %s: %+v %v", bucket, out, err)
		}
		r := out.ObjectLockConfiguration.Rule.DefaultRetention
		return string(r.Mode), aws.ToInt32(r.Days)
	}
	f.changeSets = nil

	plain := writeConfig(t, minimal+"backup:\n  retention: {days: 14}\n")
	code, _, stderr := a.cli("", "update", "cluster", "-f", plain, "--yes")
	if code != exitUsage {
		t.Fatalf("update without objectLock: exit %d\n%s", code, stderr)
	}
	line := strings.Count(minimal, "\n") + 1 // backup:
	mustContain(t, "refusal", stderr, fmt.Sprintf("%s:%d", plain, line),
		"backup.objectLock (compliance, 2 days) is on for this cluster and cannot be turned off: S3 keeps Object Lock on a bucket for good",
		"keep backup.objectLock; lower its days (or use governance mode) to lock new backups for less")
	if len(f.changeSets) != 0 {
		t.Errorf("a refused update made %d change sets", len(f.changeSets))
	}
	if mode, days := lock(); mode != "COMPLIANCE" || days != 2 {
		t.Errorf("lock after the refusal: %s %d days", mode, days)
	}

	shorter := writeConfig(t, minimal+"backup:\n  objectLock: {mode: governance, days: 1}\n")
	if code, _, stderr := a.cli("", "update", "cluster", "-f", shorter, "--yes"); code != 0 {
		t.Fatalf("update to a shorter lock: exit %d\n%s", code, stderr)
	}
	if mode, days := lock(); mode != "GOVERNANCE" || days != 1 {
		t.Errorf("lock after the update: %s %d days", mode, days)
	}

	// a cluster without a last-applied record (made by an older neo4jctl): the bucket's
	// lock itself is checked
	if _, err := s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = true }).DeleteObject(context.Background(),
		&s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(naming.LastAppliedKey)}); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = a.cli("", "update", "cluster", "-f", plain, "--yes")
	if code != exitUsage {
		t.Fatalf("update without objectLock nor a record: exit %d\n%s", code, stderr)
	}
	mustContain(t, "refusal without a record", stderr, fmt.Sprintf("%s:%d", plain, line), "backup.objectLock (governance, 1 days) is on for this cluster and cannot be turned off")
	if mode, days := lock(); mode != "GOVERNANCE" || days != 1 {
		t.Errorf("lock after the refusal: %s %d days", mode, days)
	}
}
