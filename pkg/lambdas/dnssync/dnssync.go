// Package dnssync is the DNS sync Lambda: it keeps the Cloud Map services behind
// core.<namespace> and replica.<namespace> holding exactly the addresses of the running,
// live tasks of the ECS services core-N and replicas.
//
// It runs on ECS task state change events and on a schedule; every run is a full,
// idempotent reconcile (the event only says "look now"), so lost, duplicate or reordered
// events cannot leave a wrong record behind. Run it with reserved concurrency 1.
package dnssync

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"

	"github.com/neo4jctl/neo4jctl/pkg/lambdas/internal/lambdactx"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// ECS is the part of the ECS API the sync reads.
type ECS interface {
	ListTasks(ctx context.Context, in *ecs.ListTasksInput, opts ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, opts ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
}

// CloudMap is the part of the Cloud Map API the sync writes.
type CloudMap interface {
	ListInstances(ctx context.Context, in *servicediscovery.ListInstancesInput, opts ...func(*servicediscovery.Options)) (*servicediscovery.ListInstancesOutput, error)
	RegisterInstance(ctx context.Context, in *servicediscovery.RegisterInstanceInput, opts ...func(*servicediscovery.Options)) (*servicediscovery.RegisterInstanceOutput, error)
	DeregisterInstance(ctx context.Context, in *servicediscovery.DeregisterInstanceInput, opts ...func(*servicediscovery.Options)) (*servicediscovery.DeregisterInstanceOutput, error)
}

// Config names what to sync.
type Config struct {
	Cluster           string // ECS cluster
	CoresServiceID    string // Cloud Map service of core.<ns>
	ReplicasServiceID string // Cloud Map service of replica.<ns> ("" when there are no replicas)
}

// ConfigFromEnv reads the Lambda's environment.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Cluster:           getenv(naming.EnvECSCluster),
		CoresServiceID:    getenv(naming.EnvCoresServiceID),
		ReplicasServiceID: getenv(naming.EnvReplicaServiceID),
	}
	if c.Cluster == "" || c.CoresServiceID == "" {
		return c, fmt.Errorf("dns-sync: %s and %s must be set", naming.EnvECSCluster, naming.EnvCoresServiceID)
	}
	return c, nil
}

// Syncer reconciles Cloud Map with ECS.
type Syncer struct {
	ECS      ECS
	CloudMap CloudMap
	Config   Config
	Log      *slog.Logger
}

// ServiceResult is what one run did to one Cloud Map service.
type ServiceResult struct {
	ServiceID    string   `json:"serviceId"`
	Want         int      `json:"want"`
	Registered   []string `json:"registered,omitempty"`   // task ids added or whose IP changed
	Deregistered []string `json:"deregistered,omitempty"` // instance ids removed
	Unchanged    int      `json:"unchanged"`
}

// Result is the handler's answer.
type Result struct {
	OK       bool            `json:"ok"`
	Error    string          `json:"error,omitempty"`
	Services []ServiceResult `json:"services"`
	Elapsed  string          `json:"elapsed"`
}

// Handle is the Lambda handler: any event (an ECS Task State Change or a scheduled event)
// triggers a full reconcile. It answers before the deadline; a failed run returns an error
// so the invocation is retried and shows in the Lambda's error metric.
func (s *Syncer) Handle(ctx context.Context, event json.RawMessage) (Result, error) {
	t0 := time.Now()
	ctx, cancel := lambdactx.Work(ctx, 3*time.Second)
	defer cancel()
	s.logger().Info("dns-sync start", "trigger", trigger(event))
	res, err := s.Sync(ctx)
	res.Elapsed = time.Since(t0).Round(time.Millisecond).String()
	if err != nil {
		res.Error = err.Error()
		s.logger().Error("dns-sync failed", "error", err.Error())
		return res, err
	}
	res.OK = true
	s.logger().Info("dns-sync done", "result", res)
	return res, nil
}

func trigger(event json.RawMessage) string {
	var ev struct {
		DetailType string `json:"detail-type"`
		Detail     struct {
			TaskArn    string `json:"taskArn"`
			LastStatus string `json:"lastStatus"`
		} `json:"detail"`
	}
	if json.Unmarshal(event, &ev) != nil || ev.DetailType == "" {
		return "direct"
	}
	if ev.Detail.TaskArn != "" {
		return ev.DetailType + " " + ev.Detail.TaskArn + " " + ev.Detail.LastStatus
	}
	return ev.DetailType
}

func (s *Syncer) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

var coreGroup = regexp.MustCompile(`^service:core-[0-9]+$`)

// Sync makes the Cloud Map services equal to the live tasks. ECS is read completely before
// anything is written, so a failed read never empties a record.
func (s *Syncer) Sync(ctx context.Context) (Result, error) {
	cores, replicas, err := s.liveTasks(ctx)
	if err != nil {
		return Result{}, err
	}
	var res Result
	targets := []struct {
		id   string
		want map[string]string
	}{{s.Config.CoresServiceID, cores}}
	if s.Config.ReplicasServiceID != "" {
		targets = append(targets, struct {
			id   string
			want map[string]string
		}{s.Config.ReplicasServiceID, replicas})
	}
	for _, t := range targets {
		r, err := Reconcile(ctx, s.CloudMap, t.id, t.want)
		res.Services = append(res.Services, r)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// liveTasks returns task id -> IPv4 for the live tasks of the core-N services and of the
// replicas service.
func (s *Syncer) liveTasks(ctx context.Context) (cores, replicas map[string]string, err error) {
	var arns []string
	p := ecs.NewListTasksPaginator(s.ECS, &ecs.ListTasksInput{
		Cluster:       aws.String(s.Config.Cluster),
		DesiredStatus: ecstypes.DesiredStatusRunning,
		MaxResults:    aws.Int32(100),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("listing tasks of ECS cluster %s: %w", s.Config.Cluster, err)
		}
		arns = append(arns, page.TaskArns...)
	}
	cores, replicas = map[string]string{}, map[string]string{}
	for i := 0; i < len(arns); i += 100 { // DescribeTasks takes at most 100 tasks
		batch := arns[i:min(i+100, len(arns))]
		out, err := s.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(s.Config.Cluster), Tasks: batch})
		if err != nil {
			return nil, nil, fmt.Errorf("describing %d tasks of ECS cluster %s: %w", len(batch), s.Config.Cluster, err)
		}
		for _, t := range out.Tasks {
			if !Live(t) {
				continue
			}
			ip := TaskIPv4(t)
			if ip == "" {
				continue
			}
			group := aws.ToString(t.Group)
			switch {
			case coreGroup.MatchString(group):
				cores[TaskID(aws.ToString(t.TaskArn))] = ip
			case group == "service:"+naming.ReplicasService:
				replicas[TaskID(aws.ToString(t.TaskArn))] = ip
			}
		}
	}
	return cores, replicas, nil
}

// Live reports whether a task should be in DNS: RUNNING, meant to keep running, and HEALTHY
// or without a health verdict (UNKNOWN: no health check, or none reported yet; container
// health is liveness only, so a member never waits on a formed cluster to resolve).
func Live(t ecstypes.Task) bool {
	if aws.ToString(t.LastStatus) != "RUNNING" || aws.ToString(t.DesiredStatus) != "RUNNING" {
		return false
	}
	return t.HealthStatus != ecstypes.HealthStatusUnhealthy
}

// TaskIPv4 is the private IPv4 of an awsvpc task.
func TaskIPv4(t ecstypes.Task) string {
	for _, a := range t.Attachments {
		if aws.ToString(a.Type) != "ElasticNetworkInterface" {
			continue
		}
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" && aws.ToString(d.Value) != "" {
				return aws.ToString(d.Value)
			}
		}
	}
	for _, c := range t.Containers {
		for _, ni := range c.NetworkInterfaces {
			if ip := aws.ToString(ni.PrivateIpv4Address); ip != "" {
				return ip
			}
		}
	}
	return ""
}

// TaskID is the last part of a task ARN.
func TaskID(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// Reconcile makes the Cloud Map service hold exactly want (instance id -> IPv4).
func Reconcile(ctx context.Context, cm CloudMap, serviceID string, want map[string]string) (ServiceResult, error) {
	res := ServiceResult{ServiceID: serviceID, Want: len(want)}
	have, err := Instances(ctx, cm, serviceID)
	if err != nil {
		return res, err
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		ip := want[id]
		if have[id] == ip {
			res.Unchanged++
			continue
		}
		_, err := cm.RegisterInstance(ctx, &servicediscovery.RegisterInstanceInput{
			ServiceId:        aws.String(serviceID),
			InstanceId:       aws.String(id),
			CreatorRequestId: aws.String(id + "-" + ip),
			Attributes:       map[string]string{"AWS_INSTANCE_IPV4": ip},
		})
		if err != nil {
			return res, fmt.Errorf("registering task %s (%s) in Cloud Map service %s: %w", id, ip, serviceID, err)
		}
		res.Registered = append(res.Registered, id)
	}
	var gone []string
	for id := range have {
		if _, ok := want[id]; !ok {
			gone = append(gone, id)
		}
	}
	sort.Strings(gone)
	for _, id := range gone {
		if err := Deregister(ctx, cm, serviceID, id); err != nil {
			return res, err
		}
		res.Deregistered = append(res.Deregistered, id)
	}
	return res, nil
}

// Instances lists a Cloud Map service's instances (id -> IPv4), every page.
func Instances(ctx context.Context, cm CloudMap, serviceID string) (map[string]string, error) {
	have := map[string]string{}
	p := servicediscovery.NewListInstancesPaginator(cm, &servicediscovery.ListInstancesInput{
		ServiceId:  aws.String(serviceID),
		MaxResults: aws.Int32(100), // the AWS maximum; explicit so every emulator pages too
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing instances of Cloud Map service %s: %w", serviceID, err)
		}
		for _, in := range page.Instances {
			have[aws.ToString(in.Id)] = in.Attributes["AWS_INSTANCE_IPV4"]
		}
	}
	return have, nil
}

// Deregister removes one instance; one already gone is not an error.
func Deregister(ctx context.Context, cm CloudMap, serviceID, id string) error {
	_, err := cm.DeregisterInstance(ctx, &servicediscovery.DeregisterInstanceInput{ServiceId: aws.String(serviceID), InstanceId: aws.String(id)})
	var nf *sdtypes.InstanceNotFound
	if err != nil && !asErr(err, &nf) {
		return fmt.Errorf("deregistering instance %s from Cloud Map service %s: %w", id, serviceID, err)
	}
	return nil
}
