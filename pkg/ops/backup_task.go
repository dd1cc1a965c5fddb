package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// BackupTasks is what the backup verbs need of ECS: start the operations stack's backup and
// verify tasks, find running ones, follow them, and read the backup task's settings.
type BackupTasks interface {
	RunTask(context.Context, *ecs.RunTaskInput, ...func(*ecs.Options)) (*ecs.RunTaskOutput, error)
	TaskReader
	TaskDefinitionReader
}

// LogEventsReader reads one log stream's events: a task's report line.
type LogEventsReader interface {
	GetLogEvents(context.Context, *cloudwatchlogs.GetLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
}

// TaskStatusChanged: a backup or verify task moved on (PROVISIONING, PENDING, RUNNING,
// DEPROVISIONING, STOPPED).
type TaskStatusChanged struct {
	Task, Status string
	Elapsed      time.Duration
}

func (e TaskStatusChanged) String() string {
	return fmt.Sprintf("[%s] task %s %s", fmtElapsed(e.Elapsed), e.Task, e.Status)
}

func fmtElapsed(d time.Duration) string {
	d = d.Round(time.Second)
	if d >= time.Hour {
		return fmt.Sprintf("%d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
	}
	return fmt.Sprintf("%02d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// TaskStillRunningError: --wait ran out of time; the task goes on.
type TaskStillRunningError struct {
	Cluster, Task, What string
	After               time.Duration
}

func (e *TaskStillRunningError) Error() string {
	return fmt.Sprintf("%s task %s is still running after %s and goes on without neo4jctl waiting; follow it with `neo4jctl logs %s --member backup --follow` and see its result with `neo4jctl backup list %s`",
		e.What, e.Task, e.After, e.Cluster, e.Cluster)
}

// TaskNotStartedError: ECS refused to start the task (capacity, subnets, permissions).
type TaskNotStartedError struct{ What, Reason string }

func (e *TaskNotStartedError) Error() string {
	return fmt.Sprintf("ECS did not start the %s task: %s", e.What, e.Reason)
}

// taskRunner starts one of the operations stack's tasks and follows it.
type taskRunner struct {
	c        *Cluster
	ecs      BackupTasks
	logs     LogEventsReader
	clock    engine.Clock
	interval time.Duration
}

// start sends the stack's RunTask request with env for the task's container; the task's
// ARN, or why ECS refused.
func (r taskRunner) start(ctx context.Context, what, request string, env map[string]string) (ecstypes.Task, error) {
	in, err := backup.ParseRunTaskInput(request)
	if err != nil {
		return ecstypes.Task{}, err
	}
	out, err := r.ecs.RunTask(ctx, backup.WithEnv(in, env))
	if err != nil {
		return ecstypes.Task{}, &TaskNotStartedError{What: what, Reason: err.Error()}
	}
	if len(out.Tasks) == 0 {
		var why []string
		for _, f := range out.Failures {
			why = append(why, strings.TrimSpace(aws.ToString(f.Reason)+" "+aws.ToString(f.Detail)))
		}
		return ecstypes.Task{}, &TaskNotStartedError{What: what, Reason: strings.Join(why, "; ")}
	}
	return out.Tasks[0], nil
}

// wait polls the task until it stops, reporting each status; timeout 0 waits as long as it
// takes. On timeout or Ctrl-C the task goes on.
func (r taskRunner) wait(ctx context.Context, cluster, arn, what string, timeout time.Duration) (ecstypes.Task, error) {
	start, last := r.clock.Now(), ""
	interval := r.interval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	still := func() error {
		return &TaskStillRunningError{Cluster: r.c.Name, Task: lastPart(arn), What: what, After: r.clock.Now().Sub(start).Round(time.Second)}
	}
	for {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) { // the command's --timeout
			return ecstypes.Task{LastStatus: aws.String(last)}, still()
		} else if ctx.Err() != nil {
			return ecstypes.Task{LastStatus: aws.String(last)}, ctx.Err()
		}
		out, err := r.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{arn}})
		switch {
		case err != nil && ctx.Err() != nil:
			continue
		case err != nil:
			return ecstypes.Task{}, fmt.Errorf("following the %s task %s: %w", what, lastPart(arn), err)
		case len(out.Tasks) == 0:
			return ecstypes.Task{}, fmt.Errorf("the %s task %s is gone from ECS (stopped tasks are kept about an hour)", what, lastPart(arn))
		}
		t := out.Tasks[0]
		if s := aws.ToString(t.LastStatus); s != last {
			last = s
			r.c.emit(TaskStatusChanged{Task: lastPart(arn), Status: s, Elapsed: r.clock.Now().Sub(start)})
		}
		if last == "STOPPED" {
			return t, nil
		}
		if timeout > 0 && r.clock.Now().Sub(start) >= timeout {
			return t, still()
		}
		select {
		case <-ctx.Done():
		case <-r.clock.After(interval):
		}
	}
}

// report is the JSON report line (event) the task printed last in its log stream
// backup/backup/<task id>; false when the stream has none (yet).
func (r taskRunner) report(ctx context.Context, group, taskID, event string, v any) bool {
	if r.logs == nil {
		return false
	}
	stream := naming.LogStreamPrefixBackup + "/" + backup.ContainerName + "/" + taskID
	out, err := r.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group),
		LogStreamName: aws.String(stream), StartFromHead: aws.Bool(false), Limit: aws.Int32(100)})
	if err != nil {
		return false
	}
	for i := len(out.Events) - 1; i >= 0; i-- {
		msg := strings.TrimSpace(aws.ToString(out.Events[i].Message))
		var head struct{ Event string }
		if strings.HasPrefix(msg, "{") && json.Unmarshal([]byte(msg), &head) == nil && head.Event == event {
			return json.Unmarshal([]byte(msg), v) == nil
		}
	}
	return false
}

// exitCode is the task container's exit code, when ECS knows it.
func exitCode(t ecstypes.Task) *int32 {
	for _, c := range t.Containers {
		if aws.ToString(c.Name) == backup.ContainerName {
			return c.ExitCode
		}
	}
	return nil
}

// lastPart is what follows the last slash: a task's id from its ARN.
func lastPart(s string) string { return s[strings.LastIndex(s, "/")+1:] }
