package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/neo4jctl/neo4jctl/internal/clustersim"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

// simulated is a Neo4j cluster for a CLI test on moto: the cluster SIMULATOR
// (internal/clustersim) behind the real admin Lambda handler, reached through a FAKE Lambda
// Invoke (moto cannot run the function), and driven by moto's ECS services. Before each
// invocation it plays ECS's scheduler: a member service short of running tasks gets them
// (moto counts a service running once its desired count is set again), except the members
// in never; then the simulator runs what moto says runs. Simulated time moves with the
// CLI's clock, so waits take no real time.
type simulated struct {
	a       *motoAccount
	sim     *clustersim.Sim
	cluster string
	cores   int
	never   map[string]bool
	// hang lists the member services whose next deployment's process never becomes
	// Available (a member that never comes back); a deployment of any other member starts a
	// healthy process again.
	hang map[string]bool
	// deployments are the member services' deployments as last seen
	deployments map[string]string
	// onApply, when set, runs after each snapshot is applied (a test's trigger)
	onApply func()
	// versions: each member runs the Neo4j version its task definition's image tag names
	// (read from moto, by task definition), as an upgrade test needs
	versions map[string]string
	invokes  atomic.Int32
	mu       sync.Mutex
}

// simulate puts a simulated cluster of cores and replicas behind the account's admin
// Lambda; never lists the member services whose tasks never start.
func (a *motoAccount) simulate(cluster string, cores, replicas int, never ...string) *simulated {
	return a.simulateWith(cluster, clustersim.Config{Cores: cores, DefaultSecondaries: replicas}, never...)
}

// simulateWith is simulate with the simulator's config (user databases, timing).
func (a *motoAccount) simulateWith(cluster string, cfg clustersim.Config, never ...string) *simulated {
	cfg.Namespace = cluster + ".neo4j.internal"
	s := &simulated{a: a, cluster: cluster, cores: cfg.Cores, never: map[string]bool{}, hang: map[string]bool{},
		deployments: map[string]string{}, sim: clustersim.New(cfg)}
	for _, n := range never {
		s.never[n] = true
	}
	a.sim = s
	a.hooks.wrapLambda = func(ops.LambdaInvoker) ops.LambdaInvoker { return s }
	a.hooks.clock = simClock{s.sim}
	return s
}

func (s *simulated) Invoke(ctx context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	s.invokes.Add(1)
	if want := naming.Function(s.cluster, naming.HandlerAdmin); aws.ToString(in.FunctionName) != want {
		s.a.t.Errorf("invoked %s, want %s", aws.ToString(in.FunctionName), want)
	}
	s.schedule(ctx)
	out, err := s.sim.Invoke(ctx, in.Payload)
	if os.Getenv("SIMDEBUG") != "" {
		fmt.Fprintf(os.Stderr, "%s %.300s\n", s.sim.Now(), out)
	}
	return &lambda.InvokeOutput{StatusCode: 200, Payload: out}, err
}

// schedule starts the tasks of the member services short of them (not those in never) and
// hands the simulator what moto then reports: running counts and deployments.
func (s *simulated) schedule(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	api := ecs.NewFromConfig(s.a.cfg)
	cluster := naming.ECSCluster(s.cluster)
	names := []string{naming.ReplicasService}
	for i := 1; i <= s.cores; i++ {
		names = append(names, naming.CoreService(i))
	}
	out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: names})
	if err != nil {
		s.a.t.Errorf("DescribeServices: %v", err)
		return
	}
	svcs := clustersim.Services{}
	for _, svc := range out.Services {
		name, desired, running := aws.ToString(svc.ServiceName), svc.DesiredCount, svc.RunningCount
		if aws.ToString(svc.Status) == "INACTIVE" {
			continue // deleted (with its member's stack): nothing runs
		}
		if running < desired && !s.never[name] {
			if _, err := api.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(name), DesiredCount: aws.Int32(desired)}); err != nil {
				s.a.t.Errorf("UpdateService %s: %v", name, err)
			}
			running = desired
		}
		deployment := aws.ToString(svc.TaskDefinition)
		if len(svc.Deployments) > 0 {
			deployment = aws.ToString(svc.Deployments[0].Id) + "@" + deployment
		}
		svcs[name] = clustersim.Service{Desired: int(desired), Running: int(running), Deployment: deployment, Version: s.version(ctx, aws.ToString(svc.TaskDefinition))}
	}
	s.sim.Apply(svcs)
	s.faults(svcs)
	if s.onApply != nil {
		s.onApply()
	}
}

// version is the Neo4j version a task definition's image tag names ("" unless versions is
// on): the tag `image push` gives, <version>-enterprise-neo4jctl-<agent>.
func (s *simulated) version(ctx context.Context, taskDef string) string {
	if s.versions == nil || taskDef == "" {
		return ""
	}
	if v, ok := s.versions[taskDef]; ok {
		return v
	}
	out, err := ecs.NewFromConfig(s.a.cfg).DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(taskDef)})
	if err != nil || len(out.TaskDefinition.ContainerDefinitions) == 0 {
		s.a.t.Errorf("DescribeTaskDefinition %s: %v", taskDef, err)
		return ""
	}
	img := aws.ToString(out.TaskDefinition.ContainerDefinitions[0].Image)
	_, tag, _ := strings.Cut(img[strings.LastIndex(img, "/")+1:], ":")
	v, _, _ := strings.Cut(tag, "-enterprise")
	s.versions[taskDef] = v
	return v
}

// faults applies hang: a member whose deployment changed runs a process that never becomes
// Available when it is listed in hang, a healthy one otherwise.
func (s *simulated) faults(svcs clustersim.Services) {
	for name, svc := range svcs {
		was, seen := s.deployments[name]
		s.deployments[name] = svc.Deployment
		if !seen || was == svc.Deployment || name == naming.ReplicasService {
			continue
		}
		f := clustersim.NoFault
		if s.hang[name] {
			f = clustersim.NeverAvailable
		}
		if err := s.sim.Fault(name, f); err != nil {
			s.a.t.Errorf("fault %s: %v", name, err)
		}
	}
}

// stop sets a member service's desired count (moto then says that many run).
func (s *simulated) scale(t *testing.T, service string, desired int32) {
	t.Helper()
	_, err := ecs.NewFromConfig(s.a.cfg).UpdateService(context.Background(), &ecs.UpdateServiceInput{
		Cluster: aws.String(naming.ECSCluster(s.cluster)), Service: aws.String(service), DesiredCount: aws.Int32(desired)})
	if err != nil {
		t.Fatal(err)
	}
}

// redeploy forces a new deployment of a member service in moto: what a stack update that
// replaces the member's instance or task definition does to its task in AWS.
func (s *simulated) redeploy(t *testing.T, service string) {
	t.Helper()
	_, err := ecs.NewFromConfig(s.a.cfg).UpdateService(context.Background(), &ecs.UpdateServiceInput{
		Cluster: aws.String(naming.ECSCluster(s.cluster)), Service: aws.String(service), ForceNewDeployment: true})
	if err != nil {
		t.Error(err)
	}
}

// simClock is the CLI's clock on simulated time: waiting advances the simulator.
type simClock struct{ sim *clustersim.Sim }

func (c simClock) Now() time.Time { return c.sim.Now() }

func (c simClock) After(d time.Duration) <-chan time.Time {
	c.sim.Advance(d)
	ch := make(chan time.Time, 1)
	ch <- c.sim.Now()
	return ch
}
