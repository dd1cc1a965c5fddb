package ops

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
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
