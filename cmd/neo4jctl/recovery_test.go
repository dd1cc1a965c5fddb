package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

const replicasStack = "neo4jctl-graph-dev-replicas"

// withReplicas is the minimal example with two replicas added.
func withReplicas(t *testing.T) string {
	return writeConfig(t, readFile(t, "../../examples/minimal.yaml")+"replicas: {count: 2}\n")
}

// replicasDesired is the desired count of the replicas' ECS service in moto (-1: none).
func (a *motoAccount) replicasDesired() int32 {
	a.t.Helper()
	out, err := ecs.NewFromConfig(a.cfg).DescribeServices(context.Background(), &ecs.DescribeServicesInput{
		Cluster: aws.String(naming.ECSCluster("graph-dev")), Services: []string{naming.ReplicasService}})
	if err != nil || len(out.Services) == 0 || aws.ToString(out.Services[0].Status) != "ACTIVE" {
		return -1
	}
	return out.Services[0].DesiredCount
}

// hasResource reports whether a stack's template (as CloudFormation runs it) has a resource.
func (a *motoAccount) hasResource(stackName, logicalID string) bool {
	a.t.Helper()
	out, err := cloudformation.NewFromConfig(a.cfg).GetTemplate(context.Background(), &cloudformation.GetTemplateInput{StackName: aws.String(stackName)})
	return err == nil && strings.Contains(aws.ToString(out.TemplateBody), `"`+logicalID+`"`)
}

// matchesFile asserts that an update finds nothing to change: every stack is the file's.
func (a *motoAccount) matchesFile(file string) {
	a.t.Helper()
	code, stdout, stderr := a.cli("", "update", "cluster", "-f", file)
	if code != 0 || !strings.Contains(stderr, "No changes: cluster graph-dev matches "+file) {
		a.t.Fatalf("after the recovery, update still finds changes (exit %d):\n%s\n%s", code, stdout, stderr)
	}
}

// An update that adds a stack (replicas 0 → 2) works end to end: the new stack imports the
// shared stack's exports, the operations stack follows, and a second update finds nothing.
func TestUpdateAddsTheReplicasStack(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	if code, _, stderr := a.cli("", "create", "cluster", "-f", "../../examples/minimal.yaml"); code != 0 {
		t.Fatalf("create: %s", stderr)
	}
	file := withReplicas(t)
	code, stdout, stderr := a.cli("", "update", "cluster", "-f", file, "--yes")
	if code != 0 {
		t.Fatalf("update: exit %d\n%s\n%s", code, stdout, stderr)
	}
	mustContain(t, "diff", stdout, replicasStack+": new stack", "+ Add     Service (AWS::ECS::Service)", "+ Add     ReplicasDiscovery (AWS::ServiceDiscovery::Service)")
	mustContain(t, "update", stderr, replicasStack+" CREATE_COMPLETE", "neo4jctl-graph-dev-operations UPDATE_COMPLETE", "Cluster graph-dev updated.")
	if n := a.replicasDesired(); n != 2 {
		t.Errorf("replicas service desired %d, want 2", n)
	}
	if !a.hasResource("neo4jctl-graph-dev-operations", "ReplicasDiscovery") {
		t.Error("the operations stack lacks the replicas' discovery service")
	}
	a.matchesFile(file)
}

// createFailed is a resource's CREATE_FAILED event with AWS's reason, after the update
// started whatever the fake clock says.
func createFailed(stack, id, typ, reason string) cfntypes.StackEvent {
	ev := updateFailed(stack, id, typ, reason, 1)
	ev.ResourceStatus = cfntypes.ResourceStatusCreateFailed
	return ev
}

// After an update whose new stack failed to create, the advice (update again) ends with
// every stack matching the file; so does the other way a user may take (create resumes,
// then names the stacks that still differ).
func TestFailedUpdateRecovery(t *testing.T) {
	vcpu := "You have requested more vCPU capacity than your current vCPU limit of 32 allows for the instance bucket that the specified instance type belongs to."
	cases := []struct {
		name   string
		fail   func(f *fakeCFN)
		status string
		want   []string
	}{
		{"new stack rolled back", func(f *fakeCFN) {
			f.createFails[replicasStack] = []cfntypes.StackEvent{createFailed(replicasStack, "AutoScalingGroup", "AWS::AutoScaling::AutoScalingGroup", vcpu)}
		}, engine.StatusRollbackComplete, []string{
			replicasStack + "  AutoScalingGroup (AWS::AutoScaling::AutoScalingGroup) CREATE_FAILED: You have requested more vCPU capacity",
			"stack " + replicasStack + ": create failed (ROLLBACK_COMPLETE)\n  AutoScalingGroup (AWS::AutoScaling::AutoScalingGroup) CREATE_FAILED: You have requested",
			"The new stack " + replicasStack + " failed to create (ROLLBACK_COMPLETE) and holds nothing; the next update deletes it and creates it again."}},
		{"change set never executed", func(f *fakeCFN) {
			f.executeFails[replicasStack] = errors.New("InsufficientCapabilities: Requires capabilities : [CAPABILITY_AUTO_EXPAND]")
		}, engine.StatusReviewInProgress, []string{"applying the change set of stack " + replicasStack + ": InsufficientCapabilities"}},
	}
	for _, tc := range cases {
		for _, way := range []string{"update", "create"} {
			t.Run(tc.name+", then "+way, func(t *testing.T) {
				a := newMotoAccount(t, "eu-west-1")
				a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
				f := a.withFake()
				if code, _, stderr := a.cli("", "create", "cluster", "-f", "../../examples/minimal.yaml"); code != 0 {
					t.Fatalf("create: %s", stderr)
				}
				file := withReplicas(t)
				tc.fail(f)
				code, _, stderr := a.cli("", "update", "cluster", "-f", file, "--yes")
				if code != exitFailed {
					t.Fatalf("failing update: exit %d\n%s", code, stderr)
				}
				mustContain(t, "failed update", stderr, append(tc.want, "Error: update of cluster graph-dev failed",
					"Not updated: neo4jctl-graph-dev-operations.", "Fix the cause and run `neo4jctl update cluster -f "+file+"` again.")...)
				if strings.Contains(stderr, "run as before the update") {
					t.Errorf("a new stack that failed called rolled back to its previous state:\n%s", stderr)
				}
				if st := a.stacks("graph-dev")[replicasStack]; st == "" {
					t.Fatalf("no %s left to recover", replicasStack)
				}
				// get says what the failed update left (never ready) and the way out the update gave
				code, stdout, _ := a.cli("", "get", "cluster", "graph-dev")
				if code != 0 || strings.Contains(stdout, "ready") {
					t.Errorf("get after the failed update: exit %d\n%s", code, stdout)
				}
				verdict := map[string]string{engine.StatusRollbackComplete: "failed (" + replicasStack + " ROLLBACK_COMPLETE)",
					engine.StatusReviewInProgress: "incomplete (6 of 7 stacks)"}[tc.status]
				mustContain(t, "get", stdout, "STATUS    "+verdict, replicasStack+"    replicas    "+tc.status,
					"PROBLEM  stack "+replicasStack+", added by an update, was never created ("+tc.status+") and holds nothing; `neo4jctl update cluster -f cluster.yaml` deletes it and makes it again")
				if way == "update" {
					recoverByUpdate(t, a, file, tc.status)
				} else {
					recoverByCreate(t, a, file, tc.status)
				}
				if n := a.replicasDesired(); n != 2 {
					t.Errorf("replicas service desired %d, want 2", n)
				}
				if !a.hasResource("neo4jctl-graph-dev-operations", "ReplicasDiscovery") {
					t.Error("the operations stack lacks the replicas' discovery service")
				}
				a.matchesFile(file)
			})
		}
	}
}

// recoverByUpdate follows the advice: update again makes the empty stack anew and applies the rest.
func recoverByUpdate(t *testing.T, a *motoAccount, file, status string) {
	t.Helper()
	code, stdout, stderr := a.cli("", "update", "cluster", "-f", file, "--yes")
	if code != 0 {
		t.Fatalf("the advised update: exit %d\n%s\n%s", code, stdout, stderr)
	}
	mustContain(t, "diff", stdout, replicasStack+": new stack", "~ replaces the empty stack a failed create left ("+status+")")
	mustContain(t, "update", stderr, fmt.Sprintf("Stack %s is %s from an earlier attempt: deleting the empty stack to create it again", replicasStack, status),
		replicasStack+" CREATE_COMPLETE", "neo4jctl-graph-dev-operations UPDATE_COMPLETE", "Cluster graph-dev updated.")
}

// recoverByCreate takes the other way: create makes the missing stack and says which stacks
// it did not change still differ; the update it names finishes the job.
func recoverByCreate(t *testing.T, a *motoAccount, file, status string) {
	t.Helper()
	code, stdout, stderr := a.cli("", "create", "cluster", "-f", file)
	if code != exitFailed || stdout != "" {
		t.Fatalf("create after the failed update: exit %d\n%s", code, stderr)
	}
	mustContain(t, "create", stderr, replicasStack+" CREATE_COMPLETE",
		"Error: cluster graph-dev has all its stacks, but 1 made before this create differ from "+file+": neo4jctl-graph-dev-operations (",
		"apply the file to them with `neo4jctl update cluster -f "+file+"`.")
	if strings.Contains(stderr, "Done:") {
		t.Errorf("create said Done while a stack differs from the file:\n%s", stderr)
	}
	if code, stdout, stderr := a.cli("", "update", "cluster", "-f", file, "--yes"); code != 0 || !strings.Contains(stderr, "neo4jctl-graph-dev-operations UPDATE_COMPLETE") {
		t.Fatalf("the update create named: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
