package ops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/netcheck"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// The AWS APIs diagnose reads, each narrowed to the calls it makes.
type (
	// DiagnoseECS: services, tasks (get's reads), task definitions, container instances and
	// the ECS cluster's capacity providers.
	DiagnoseECS interface {
		GetECS
		TaskDefinitionReader
		ListContainerInstances(context.Context, *ecs.ListContainerInstancesInput, ...func(*ecs.Options)) (*ecs.ListContainerInstancesOutput, error)
		DescribeContainerInstances(context.Context, *ecs.DescribeContainerInstancesInput, ...func(*ecs.Options)) (*ecs.DescribeContainerInstancesOutput, error)
		DescribeClusters(context.Context, *ecs.DescribeClustersInput, ...func(*ecs.Options)) (*ecs.DescribeClustersOutput, error)
	}
	// DiagnoseEC2: the members' volumes, and the existing VPC's checks.
	DiagnoseEC2 interface {
		netcheck.EC2
		DescribeVolumes(context.Context, *ec2.DescribeVolumesInput, ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error)
	}
	// DiagnoseLogs: the cluster's log group.
	DiagnoseLogs interface {
		FilterLogEvents(context.Context, *cloudwatchlogs.FilterLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
		DescribeLogStreams(context.Context, *cloudwatchlogs.DescribeLogStreamsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error)
		GetLogEvents(context.Context, *cloudwatchlogs.GetLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
	}
	// InstanceLister lists a Cloud Map service's registered instances.
	InstanceLister interface {
		ListInstances(context.Context, *servicediscovery.ListInstancesInput, ...func(*servicediscovery.Options)) (*servicediscovery.ListInstancesOutput, error)
	}
	// MetricReader reads the agent's metrics.
	MetricReader interface {
		GetMetricData(context.Context, *cloudwatch.GetMetricDataInput, ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
	}
	// stackForensics is what the stack engine tells of a stack's past (pkg/engine).
	stackForensics interface {
		RecentEvents(ctx context.Context, name string, max int) ([]engine.Event, error)
		DetectDrift(ctx context.Context, name string) error
		ResourceDrifts(ctx context.Context, name string) ([]engine.ResourceDrift, error)
	}
)

// DiagnoseAWS are the APIs diagnose reads; unit tests fill them with fakes.
type DiagnoseAWS struct {
	ECS         DiagnoseECS
	AutoScaling GroupReader
	EC2         DiagnoseEC2
	Logs        DiagnoseLogs
	CloudMap    InstanceLister
	Metrics     MetricReader
	S3          backup.S3API
	Secrets     SecretReader // the support bundle redacts the values of the cluster's secrets
}

func diagnoseAWSOf(c *Cluster) DiagnoseAWS {
	if c.AWS == nil {
		return DiagnoseAWS{}
	}
	a := c.AWS
	return DiagnoseAWS{ECS: a.ECS, AutoScaling: a.AutoScaling, EC2: a.EC2, Logs: a.Logs, CloudMap: a.CloudMap,
		Metrics: a.CloudWatch, S3: a.S3, Secrets: a.SecretsManager}
}

// evidence is what the checks look at, each piece gathered once, on first use, whichever
// check asks first: checks that need the same facts share one read.
type evidence struct {
	ctx          context.Context
	d            *Diagnose
	stacks       []*engine.StackInfo
	now, since   time.Time
	window       time.Duration
	view         func() *ClusterView
	drift        func() []stackDrift
	streams      func() streamFacts
	logs         func() logFacts
	boot         func() map[string][]logLine
	volumes      func() volumeFacts
	cloudMap     func() cloudMapFacts
	hosts        func() hostFacts
	disk         func() diskFacts
	backups      func() backupFacts
	network      func() networkFacts
	taskDef      func() taskDefFacts
	schedule     func() scheduleFacts
	events       memo[string, stackEvents]
	recent       map[string][]logLine // bundle: each member's recent log lines
	secretValues []string             // bundle: what to redact
	secretErrs   []string             // bundle: the secrets that could not be read, and why
}

func newEvidence(ctx context.Context, d *Diagnose, stacks []*engine.StackInfo, now time.Time, window time.Duration) *evidence {
	e := &evidence{ctx: ctx, d: d, stacks: stacks, now: now, since: now.Add(-window), window: window}
	e.view = sync.OnceValue(func() *ClusterView {
		g := &Get{Cluster: d.Cluster, ECS: d.AWS.ECS, AutoScaling: d.AWS.AutoScaling}
		return g.view(ctx, d.Name, stacks, d.Admin)
	})
	e.drift = sync.OnceValue(e.readDrift)
	e.streams = sync.OnceValue(e.readStreams)
	e.logs = sync.OnceValue(e.readLogs)
	e.boot = sync.OnceValue(e.readBoot)
	e.volumes = sync.OnceValue(e.readVolumes)
	e.cloudMap = sync.OnceValue(e.readCloudMap)
	e.hosts = sync.OnceValue(e.readHosts)
	e.disk = sync.OnceValue(e.readDisk)
	e.backups = sync.OnceValue(e.readBackups)
	e.network = sync.OnceValue(e.readNetwork)
	e.taskDef = sync.OnceValue(e.readTaskDef)
	e.schedule = sync.OnceValue(e.readSchedule)
	return e
}

// memo keeps one value per key, computed once.
type memo[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]func() V
}

func (m *memo[K, V]) get(k K, f func() V) V {
	m.mu.Lock()
	if m.m == nil {
		m.m = map[K]func() V{}
	}
	fn, ok := m.m[k]
	if !ok {
		fn = sync.OnceValue(f)
		m.m[k] = fn
	}
	m.mu.Unlock()
	return fn()
}

// stackOf is the cluster's stack of a kind (and member), nil when it has none.
func (e *evidence) stackOf(kind, member string) *engine.StackInfo {
	for _, s := range e.stacks {
		if s.Tags[naming.TagStackKind] == kind && (member == "" || s.Tags[naming.TagMember] == member) {
			return s
		}
	}
	return nil
}

// output is an output of the stack of a kind ("" when missing).
func (e *evidence) output(kind, key string) string {
	if s := e.stackOf(kind, ""); s != nil {
		return s.Outputs[key]
	}
	return ""
}

func (e *evidence) ecsCluster() string {
	return cmp.Or(e.output(naming.KindShared, stack.OutputECSCluster), naming.ECSCluster(e.d.Name))
}

func (e *evidence) logGroup() string {
	return cmp.Or(e.output(naming.KindShared, stack.OutputLogGroup), naming.LogGroup(e.d.Name))
}

// stackEvents is a stack's newest events, or why they could not be read.
type stackEvents struct {
	events []engine.Event
	err    error
}

// stackEventsOf reads a stack's newest events once.
func (e *evidence) stackEventsOf(name string) stackEvents {
	return e.events.get(name, func() stackEvents {
		f, ok := e.d.Stacks.(stackForensics)
		if !ok {
			return stackEvents{err: errors.New("the stack engine keeps no events")}
		}
		evs, err := f.RecentEvents(e.ctx, name, 50)
		return stackEvents{events: evs, err: err}
	})
}

// stackDrift is a member stack's last drift detection.
type stackDrift struct {
	Stack, Member string
	Status        string    // DRIFTED | IN_SYNC | NOT_CHECKED | UNKNOWN | ""
	Checked       time.Time // when it ran
	Resources     []engine.ResourceDrift
	Started       bool  // diagnose started a detection now
	Err           error // reading or starting failed
}

// driftStale: a detection older than this is started again.
const driftStale = 24 * time.Hour

// readDrift reads each member stack's last drift detection from its description (no call);
// for a drifted stack the resources that drifted; a stack never checked, or not for a day,
// gets a detection started, whose result the next run reads.
func (e *evidence) readDrift() []stackDrift {
	f, _ := e.d.Stacks.(stackForensics)
	var out []stackDrift
	for _, s := range e.stacks {
		if s.Tags[naming.TagStackKind] != naming.KindCore {
			continue
		}
		out = append(out, stackDrift{Stack: s.Name, Member: s.Tags[naming.TagMember], Status: s.Drift, Checked: s.DriftChecked})
	}
	var wg sync.WaitGroup
	for i := range out {
		sd := &out[i]
		wg.Go(func() {
			switch {
			case f == nil:
				sd.Err = engine.ErrNoDriftAPI
			case sd.Status == "DRIFTED":
				sd.Resources, sd.Err = f.ResourceDrifts(e.ctx, sd.Stack)
			case sd.Status == "" || sd.Status == "NOT_CHECKED" || e.now.Sub(sd.Checked) > driftStale:
				sd.Err = f.DetectDrift(e.ctx, sd.Stack)
				sd.Started = sd.Err == nil
			}
		})
	}
	wg.Wait()
	return out
}

// volumeFacts are the members' data volumes by id.
type volumeFacts struct {
	byID map[string]ec2types.Volume
	err  error
}

// readVolumes describes every member's volume in one call (by filter, so that one volume
// gone does not hide the others).
func (e *evidence) readVolumes() volumeFacts {
	var ids []string
	for _, m := range e.view().Members {
		if m.Volume != "" {
			ids = append(ids, m.Volume)
		}
	}
	f := volumeFacts{byID: map[string]ec2types.Volume{}}
	if len(ids) == 0 || e.d.AWS.EC2 == nil {
		return f
	}
	out, err := e.d.AWS.EC2.DescribeVolumes(e.ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{{Name: aws.String("volume-id"), Values: ids}}})
	if err != nil {
		f.err = awsapi.Clean(err)
		return f
	}
	for _, v := range out.Volumes {
		f.byID[aws.ToString(v.VolumeId)] = v
	}
	return f
}

// cloudMapFacts are the addresses registered in Cloud Map: each member's name, and the
// client endpoint core.<namespace>.
type cloudMapFacts struct {
	members map[string][]string // member → registered IPv4 addresses
	core    []string            // core.<namespace>
	err     map[string]error
}

// readCloudMap lists the instances of each member's Cloud Map service and of the client
// endpoint's, at the same time (one call each: Cloud Map has no listing across services).
func (e *evidence) readCloudMap() cloudMapFacts {
	f := cloudMapFacts{members: map[string][]string{}, err: map[string]error{}}
	if e.d.AWS.CloudMap == nil {
		return f
	}
	services := map[string]string{} // label → service id
	for _, s := range e.stacks {
		if s.Tags[naming.TagStackKind] == naming.KindCore && s.Outputs[stack.OutputMemberServiceID] != "" {
			services[s.Tags[naming.TagMember]] = s.Outputs[stack.OutputMemberServiceID]
		}
	}
	if id := e.output(naming.KindOperations, stack.OutputCoresServiceID); id != "" {
		services[""] = id
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for label, id := range services {
		wg.Go(func() {
			ips, err := e.listInstances(id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				f.err[label] = err
			case label == "":
				f.core = ips
			default:
				f.members[label] = ips
			}
		})
	}
	wg.Wait()
	return f
}

func (e *evidence) listInstances(serviceID string) ([]string, error) {
	var ips []string
	in := &servicediscovery.ListInstancesInput{ServiceId: aws.String(serviceID)}
	for page := 0; page < 5; page++ {
		out, err := e.d.AWS.CloudMap.ListInstances(e.ctx, in)
		if err != nil {
			return nil, awsapi.Clean(err)
		}
		for _, i := range out.Instances {
			if ip := instanceIP(i); ip != "" {
				ips = append(ips, ip)
			}
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	slices.Sort(ips)
	return ips, nil
}

func instanceIP(i sdtypes.InstanceSummary) string { return i.Attributes["AWS_INSTANCE_IPV4"] }

// hostFacts are the ECS cluster's container instances and capacity providers.
type hostFacts struct {
	instances []ecstypes.ContainerInstance
	providers []string // associated with the ECS cluster
	err       error
}

// readHosts lists and describes the container instances (up to 100: 7 cores and the
// replicas' instances) and reads the ECS cluster, at the same time.
func (e *evidence) readHosts() hostFacts {
	var f hostFacts
	api := e.d.AWS.ECS
	if api == nil {
		return f
	}
	cluster := e.ecsCluster()
	var wg sync.WaitGroup
	var clusterErr error
	wg.Go(func() {
		out, err := api.DescribeClusters(e.ctx, &ecs.DescribeClustersInput{Clusters: []string{cluster}})
		if err != nil {
			clusterErr = awsapi.Clean(err)
			return
		}
		for _, c := range out.Clusters {
			f.providers = c.CapacityProviders
		}
	})
	list, err := api.ListContainerInstances(e.ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String(cluster), MaxResults: aws.Int32(100)})
	if err == nil && len(list.ContainerInstanceArns) > 0 {
		var out *ecs.DescribeContainerInstancesOutput
		out, err = api.DescribeContainerInstances(e.ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: list.ContainerInstanceArns})
		if err == nil {
			f.instances = out.ContainerInstances
		}
	}
	wg.Wait()
	f.err = errors.Join(awsapi.Clean(err), clusterErr)
	return f
}

// diskFacts are the newest DataVolumeUsedPercent of each member in the window.
type diskFacts struct {
	used map[string]float64
	at   map[string]time.Time
	err  error
}

// diskLookback: the agent publishes every minute; a shorter window still looks this far.
const diskLookback = 15 * time.Minute

// readDisk reads every member's disk metric in one GetMetricData call.
func (e *evidence) readDisk() diskFacts {
	f := diskFacts{used: map[string]float64{}, at: map[string]time.Time{}}
	members := e.view().Members
	if e.d.AWS.Metrics == nil || len(members) == 0 {
		return f
	}
	var queries []cwtypes.MetricDataQuery
	for i, m := range members {
		queries = append(queries, cwtypes.MetricDataQuery{Id: aws.String(fmt.Sprintf("m%d", i)), Label: aws.String(m.Name),
			MetricStat: &cwtypes.MetricStat{Period: aws.Int32(60), Stat: aws.String("Maximum"), Metric: &cwtypes.Metric{
				Namespace: aws.String(naming.MetricNamespace), MetricName: aws.String(naming.MetricDiskUsed),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("Cluster"), Value: aws.String(e.d.Name)}, {Name: aws.String("Member"), Value: aws.String(m.Name)}}}}})
	}
	start := e.now.Add(-max(e.window, diskLookback))
	out, err := e.d.AWS.Metrics.GetMetricData(e.ctx, &cloudwatch.GetMetricDataInput{MetricDataQueries: queries,
		StartTime: aws.Time(start), EndTime: aws.Time(e.now.Add(time.Minute)), ScanBy: cwtypes.ScanByTimestampDescending})
	if err != nil {
		f.err = awsapi.Clean(err)
		return f
	}
	for _, r := range out.MetricDataResults {
		for i, t := range r.Timestamps {
			if i < len(r.Values) && t.After(f.at[aws.ToString(r.Label)]) {
				f.used[aws.ToString(r.Label)], f.at[aws.ToString(r.Label)] = r.Values[i], t
			}
		}
	}
	return f
}

// taskDefFacts is what a core's task definition says of the container: the logs it ships,
// the heap, the image.
type taskDefFacts struct {
	name    string
	env     map[string]string
	image   string
	memory  int32
	err     error
	present bool
}

// readTaskDef describes the first core's task definition (the cores' differ only in the
// member's own settings).
func (e *evidence) readTaskDef() taskDefFacts {
	var f taskDefFacts
	s := e.stackOf(naming.KindCore, "")
	if s == nil || s.Outputs[stack.OutputTaskDefinition] == "" || e.d.AWS.ECS == nil {
		return f
	}
	f.name = s.Outputs[stack.OutputTaskDefinition]
	out, err := e.d.AWS.ECS.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(f.name)})
	if err != nil || out.TaskDefinition == nil {
		f.err = awsapi.Clean(cmp.Or(err, errors.New("no task definition")))
		return f
	}
	f.present, f.env = true, map[string]string{}
	for _, c := range out.TaskDefinition.ContainerDefinitions {
		if aws.ToString(c.Name) != naming.ContainerNeo4j {
			continue
		}
		f.image, f.memory = aws.ToString(c.Image), aws.ToInt32(c.Memory)
		for _, kv := range c.Environment {
			f.env[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
		}
	}
	return f
}

// shipsLog reports whether the cores ship a Neo4j log file (debug, query) to CloudWatch.
func (f taskDefFacts) shipsLog(name string) bool {
	return slices.Contains(strings.Split(f.env[naming.EnvShipLogs], ","), name)
}
