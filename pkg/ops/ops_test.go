package ops

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

func TestDescribeTaskSaysWhyItStopped(t *testing.T) {
	cases := []struct {
		task ecstypes.Task
		want string
	}{
		{ecstypes.Task{TaskArn: aws.String("arn:aws:ecs:eu-west-1:1:task/c/abc"), LastStatus: aws.String("RUNNING"), HealthStatus: ecstypes.HealthStatusHealthy}, "abc RUNNING healthy"},
		{ecstypes.Task{TaskArn: aws.String("arn:aws:ecs:eu-west-1:1:task/c/def"), LastStatus: aws.String("STOPPED"),
			StoppedReason: aws.String("Essential container in task exited"),
			Containers:    []ecstypes.Container{{Name: aws.String("neo4j"), ExitCode: aws.Int32(137), Reason: aws.String("OutOfMemoryError: Container killed due to memory usage")}}},
			"def STOPPED (Essential container in task exited; neo4j exited 137; neo4j: OutOfMemoryError: Container killed due to memory usage)"},
		{ecstypes.Task{TaskArn: aws.String("arn:aws:ecs:eu-west-1:1:task/c/ghi"), LastStatus: aws.String("PENDING")}, "ghi PENDING"},
	}
	for _, tc := range cases {
		if got := describeTask(tc.task); got != tc.want {
			t.Errorf("describeTask = %q, want %q", got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	cases := map[string][]string{
		"ready":    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"},
		"creating": {"CREATE_COMPLETE", "CREATE_IN_PROGRESS"},
		"updating": {"UPDATE_IN_PROGRESS", "CREATE_COMPLETE"},
		"failed":   {"CREATE_IN_PROGRESS", "ROLLBACK_COMPLETE"},
		"deleting": {"DELETE_IN_PROGRESS", "ROLLBACK_COMPLETE"},
	}
	for want, in := range cases {
		if got := summarize(in); got != want {
			t.Errorf("summarize(%v) = %s, want %s", in, got, want)
		}
	}
}

func TestWriteDiff(t *testing.T) {
	var b bytes.Buffer
	n := WriteDiff(&b, []*engine.ChangeSet{
		{Stack: "s-shared", NoChanges: true},
		{Stack: "s-core-1", Type: "UPDATE", Changes: []engine.Change{
			{Action: "Modify", LogicalID: "DataVolume", Type: "AWS::EC2::Volume", Replacement: "True", Properties: []string{"AvailabilityZone"}},
			{Action: "Modify", LogicalID: "TaskDefinition", Type: "AWS::ECS::TaskDefinition", Replacement: "Conditional"},
			{Action: "Add", LogicalID: "Alarm", Type: "AWS::CloudWatch::Alarm"},
			{Action: "Remove", LogicalID: "Old", Type: "AWS::SNS::Topic"},
		}},
		{Stack: "s-replicas", Type: "CREATE", Changes: []engine.Change{{Action: "Add", LogicalID: "Service", Type: "AWS::ECS::Service"}}},
	}, printer.Colors{})
	want := `s-shared: no changes
s-core-1: changes
  ~ Modify  DataVolume (AWS::EC2::Volume) [AvailabilityZone] REPLACEMENT
  ~ Modify  TaskDefinition (AWS::ECS::TaskDefinition) MAY BE REPLACED
  + Add     Alarm (AWS::CloudWatch::Alarm)
  - Remove  Old (AWS::SNS::Topic)
s-replicas: new stack
  + Add     Service (AWS::ECS::Service)
`
	if n != 2 || b.String() != want {
		t.Fatalf("WriteDiff (%d stacks):\n%s\nwant:\n%s", n, b.String(), want)
	}
	if strings.Contains(b.String(), "\x1b[") {
		t.Fatal("colour without a terminal")
	}
}
