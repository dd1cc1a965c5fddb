package ops

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// ServiceReader reads an ECS service: its desired and running counts.
type ServiceReader interface {
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
}

// TaskReader lists and describes ECS tasks, running or stopped.
type TaskReader interface {
	ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
}

// service describes an ECS service; nil when it does not exist (or cannot be read: best
// effort, for views and desired counts).
func service(ctx context.Context, api ServiceReader, cluster, name string) *ecstypes.Service {
	out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	if err != nil {
		return nil
	}
	for _, s := range out.Services {
		if aws.ToString(s.Status) != "INACTIVE" {
			return &s
		}
	}
	return nil
}

// stoppedTasks lists the cluster's recently stopped tasks and why, for a failure report.
func stoppedTasks(ctx context.Context, api TaskReader, name string) []string {
	cluster := naming.ECSCluster(name)
	lt, err := api.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: ecstypes.DesiredStatusStopped})
	if err != nil || len(lt.TaskArns) == 0 {
		return nil
	}
	dt, err := api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: lt.TaskArns[:min(len(lt.TaskArns), 10)]})
	if err != nil {
		return nil
	}
	var out []string
	for _, t := range dt.Tasks {
		out = append(out, aws.ToString(t.Group)+": "+describeTask(t))
	}
	return out
}

// describeTask is a task in one line: its id, status and health, and for a stopped task why.
func describeTask(t ecstypes.Task) string {
	id := taskID(t)
	s := aws.ToString(t.LastStatus)
	if h := string(t.HealthStatus); h != "" && h != "UNKNOWN" {
		s += " " + strings.ToLower(h)
	}
	if s == "STOPPED" || aws.ToString(t.DesiredStatus) == "STOPPED" {
		var why []string
		if r := aws.ToString(t.StoppedReason); r != "" {
			why = append(why, r)
		}
		for _, c := range t.Containers {
			if c.ExitCode != nil && *c.ExitCode != 0 {
				why = append(why, fmt.Sprintf("%s exited %d", aws.ToString(c.Name), *c.ExitCode))
			}
			if r := aws.ToString(c.Reason); r != "" {
				why = append(why, aws.ToString(c.Name)+": "+r)
			}
		}
		if len(why) > 0 {
			s += " (" + strings.Join(why, "; ") + ")"
		}
	}
	return id + " " + s
}

// taskID is the last part of a task's ARN.
func taskID(t ecstypes.Task) string {
	id := aws.ToString(t.TaskArn)
	return id[strings.LastIndex(id, "/")+1:]
}
