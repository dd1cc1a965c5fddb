package ops

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/rollout"
)

// ServiceDeployer is what a member's restart needs of ECS: its service and tasks read, and
// a forced new deployment.
type ServiceDeployer interface {
	ServiceReader
	TaskReader
	UpdateService(context.Context, *ecs.UpdateServiceInput, ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
}

// DefaultECSPoll is how often a member's restart looks at its ECS service.
const DefaultECSPoll = 10 * time.Second

// redeploy restarts a member by a forced new deployment of its ECS service: the same task
// definition, so nothing changes that the next update would undo. A core's service stops
// its task before it starts the new one (MinimumHealthyPercent 0, MaximumPercent 100: one
// task on one volume); the replicas' replaces each task. Restart returns once the new
// deployment is the service's only one, as many tasks run as it wants, and the tasks that
// ran before are STOPPED: the old process is gone and the new one runs.
type redeploy struct {
	c        *Cluster
	ecs      ServiceDeployer
	services map[string]string // member -> ECS service name (default: the member's name)
	poll     time.Duration
}

func (d redeploy) Restart(ctx context.Context, m rollout.Member) error {
	cluster, name := naming.ECSCluster(d.c.Name), cmp.Or(d.services[m.Name], m.Name)
	old, err := d.runningTasks(ctx, cluster, name)
	if err != nil {
		return err
	}
	out, err := d.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(name), ForceNewDeployment: true})
	if err != nil {
		return fmt.Errorf("forcing a new deployment of ECS service %s: %w", name, err)
	}
	primary := primaryDeployment(out.Service)
	if primary == nil {
		return fmt.Errorf("ECS service %s has no primary deployment after a forced new deployment", name)
	}
	id := aws.ToString(primary.Id)
	d.c.emit(MemberRedeploying{Member: m.Name, Service: name, Deployment: id, Tasks: int(out.Service.DesiredCount)})
	clock := d.c.clock()
	for {
		done, err := d.deployed(ctx, cluster, name, id, old)
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-clock.After(cmp.Or(d.poll, DefaultECSPoll)):
		}
	}
}

// deployed reports whether deployment id has replaced the tasks old; an error when ECS
// says it failed (the circuit breaker rolled it back).
func (d redeploy) deployed(ctx context.Context, cluster, name, id string, old []string) (bool, error) {
	svc := service(ctx, d.ecs, cluster, name)
	if svc == nil {
		return false, nil // a read that failed: look again
	}
	for _, dep := range svc.Deployments {
		if aws.ToString(dep.Id) == id && dep.RolloutState == ecstypes.DeploymentRolloutStateFailed {
			why := aws.ToString(dep.RolloutStateReason)
			if stopped := stoppedTasks(ctx, d.ecs, d.c.Name); len(stopped) > 0 {
				why += "; stopped tasks: " + strings.Join(stopped, "; ")
			}
			return false, fmt.Errorf("ECS deployment %s of service %s failed: %s", id, name, why)
		}
	}
	p := primaryDeployment(svc)
	if p == nil || aws.ToString(p.Id) != id || len(svc.Deployments) != 1 || svc.RunningCount < svc.DesiredCount || svc.PendingCount > 0 {
		return false, nil
	}
	return d.stopped(ctx, cluster, old)
}

// stopped reports whether every task in arns has stopped (a task ECS no longer knows has).
func (d redeploy) stopped(ctx context.Context, cluster string, arns []string) (bool, error) {
	if len(arns) == 0 {
		return true, nil
	}
	out, err := d.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns})
	if err != nil {
		return false, nil
	}
	for _, t := range out.Tasks {
		if aws.ToString(t.LastStatus) != "STOPPED" {
			return false, nil
		}
	}
	return true, nil
}

// runningTasks are the ARNs of the service's tasks that run (or are meant to) now.
func (d redeploy) runningTasks(ctx context.Context, cluster, name string) ([]string, error) {
	var arns []string
	in := &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(name), DesiredStatus: ecstypes.DesiredStatusRunning}
	for {
		out, err := d.ecs.ListTasks(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("listing the tasks of ECS service %s: %w", name, err)
		}
		arns = append(arns, out.TaskArns...)
		if out.NextToken == nil {
			return arns, nil
		}
		in.NextToken = out.NextToken
	}
}

func primaryDeployment(svc *ecstypes.Service) *ecstypes.Deployment {
	if svc == nil {
		return nil
	}
	for i, dep := range svc.Deployments {
		if aws.ToString(dep.Status) == "PRIMARY" {
			return &svc.Deployments[i]
		}
	}
	return nil
}

// MemberRedeploying: a member's ECS service was given a forced new deployment.
type MemberRedeploying struct {
	Member, Service, Deployment string
	Tasks                       int // tasks it replaces
}

func (e MemberRedeploying) String() string {
	if e.Member == naming.ReplicasService {
		return fmt.Sprintf("%s: ECS deployment %s replaces its %d tasks", e.Member, e.Deployment, e.Tasks)
	}
	return fmt.Sprintf("%s: ECS deployment %s stops its task, then starts a new one", e.Member, e.Deployment)
}
