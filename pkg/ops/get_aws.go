package ops

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// API limits of the batched reads.
const (
	describeServicesMax = 10  // ecs:DescribeServices services per call
	describeTasksMax    = 100 // ecs:DescribeTasks tasks per call, ecs:ListTasks per page
	describeGroupsMax   = 50  // autoscaling:DescribeAutoScalingGroups names per call
)

// GroupReader reads Auto Scaling groups: a member's instance.
type GroupReader interface {
	DescribeAutoScalingGroups(context.Context, *autoscaling.DescribeAutoScalingGroupsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
}

// awsFacts is what get reads of ECS and Auto Scaling for one cluster. Its cost does not grow
// with the cluster: one DescribeServices for every member service (at most 8: 7 cores and
// the replicas), one ListTasks of the ECS cluster's running tasks and one of its stopped
// ones, one DescribeTasks for up to 100 of them, and one DescribeAutoScalingGroups for
// every member's group, the independent ones at the same time.
type awsFacts struct {
	services map[string]ecstypes.Service          // by service name; INACTIVE ones left out
	tasks    map[string][]ecstypes.Task           // by service: its running or pending tasks, else its stopped ones
	groups   map[string]asgtypes.AutoScalingGroup // by name
	// stopped are the stopped tasks described, by service, and stoppedListed how many
	// stopped tasks ECS listed (one page): diagnose reads why members stopped from them.
	stopped       map[string][]ecstypes.Task
	stoppedListed int
}

// readAWS reads the services, their tasks and the Auto Scaling groups (best effort: what
// cannot be read stays empty, as for a service that does not exist).
func readAWS(ctx context.Context, api GetECS, asg GroupReader, cluster string, services, groups []string) awsFacts {
	var f awsFacts
	var wg sync.WaitGroup
	wg.Go(func() { f.services = describeServices(ctx, api, cluster, services) })
	wg.Go(func() { f.tasks, f.stopped, f.stoppedListed = clusterTasks(ctx, api, cluster) })
	wg.Go(func() { f.groups = describeGroups(ctx, asg, groups) })
	wg.Wait()
	return f
}

func describeServices(ctx context.Context, api ServiceReader, cluster string, names []string) map[string]ecstypes.Service {
	out := map[string]ecstypes.Service{}
	for chunk := range slices.Chunk(names, describeServicesMax) {
		res, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: chunk})
		if err != nil {
			continue
		}
		for _, s := range res.Services {
			if aws.ToString(s.Status) != "INACTIVE" {
				out[aws.ToString(s.ServiceName)] = s
			}
		}
	}
	return out
}

// clusterTasks lists the ECS cluster's tasks once, whatever the number of services, and
// sorts them by service (the task's group "service:NAME"). Stopped tasks (ECS keeps them an
// hour) fill what is left of one DescribeTasks call: they matter only for a service with
// nothing running, to say why. It also returns every stopped task described, by service,
// and how many stopped tasks were listed.
func clusterTasks(ctx context.Context, api TaskReader, cluster string) (map[string][]ecstypes.Task, map[string][]ecstypes.Task, int) {
	var running, stopped []string
	var wg sync.WaitGroup
	wg.Go(func() { running = listTasks(ctx, api, cluster, ecstypes.DesiredStatusRunning, 0) })
	wg.Go(func() { stopped = listTasks(ctx, api, cluster, ecstypes.DesiredStatusStopped, 1) })
	wg.Wait()
	arns := append(running, stopped[:min(len(stopped), max(0, describeTasksMax-len(running)))]...)
	live, dead := map[string][]ecstypes.Task{}, map[string][]ecstypes.Task{}
	for chunk := range slices.Chunk(arns, describeTasksMax) {
		res, err := api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: chunk})
		if err != nil {
			continue
		}
		for _, t := range res.Tasks {
			svc, ok := strings.CutPrefix(aws.ToString(t.Group), "service:")
			switch {
			case !ok:
			case aws.ToString(t.DesiredStatus) == "STOPPED" || aws.ToString(t.LastStatus) == "STOPPED":
				dead[svc] = append(dead[svc], t)
			default:
				live[svc] = append(live[svc], t)
			}
		}
	}
	out := maps.Clone(live)
	for svc, ts := range dead {
		if len(live[svc]) == 0 {
			out[svc] = ts
		}
	}
	return out, dead, len(stopped)
}

// listTasks lists task ARNs with a desired status, at most pages pages (0: all).
func listTasks(ctx context.Context, api TaskReader, cluster string, desired ecstypes.DesiredStatus, pages int) []string {
	var out []string
	in := &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: desired, MaxResults: aws.Int32(describeTasksMax)}
	for page := 1; ; page++ {
		res, err := api.ListTasks(ctx, in)
		if err != nil {
			return out
		}
		out = append(out, res.TaskArns...)
		if res.NextToken == nil || page == pages {
			return out
		}
		in.NextToken = res.NextToken
	}
}

func describeGroups(ctx context.Context, api GroupReader, names []string) map[string]asgtypes.AutoScalingGroup {
	out := map[string]asgtypes.AutoScalingGroup{}
	for chunk := range slices.Chunk(names, describeGroupsMax) {
		in := &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: chunk, MaxRecords: aws.Int32(100)}
		res, err := api.DescribeAutoScalingGroups(ctx, in)
		if err != nil {
			continue
		}
		for _, g := range res.AutoScalingGroups {
			out[aws.ToString(g.AutoScalingGroupName)] = g
		}
	}
	return out
}

// taskIP is a task's private address (awsvpc): how a replica's server, which advertises its
// task address, is matched to its task.
func taskIP(t ecstypes.Task) string {
	for _, a := range t.Attachments {
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" {
				return aws.ToString(d.Value)
			}
		}
	}
	return ""
}
