package ops

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// The FAKES of this file stand in for AWS and for the stack engine, so that each action's
// logic (order, refusals, resume, rollback, what is reported) is tested without the CLI.
// The CLI-through-moto tests in cmd/neo4jctl run the same actions against a real emulator.

// fakeEngine is a FAKE stack engine: stacks in a map, every operation recorded.
type fakeEngine struct {
	mu        sync.Mutex
	stacks    map[string]*engine.StackInfo
	outputs   map[string]map[string]string // given to a stack when it is created
	createErr map[string]error             // Create of these fails
	// block: Create or Execute of these waits until ctx ends (a Ctrl-C) and reports the
	// stack still in progress, as the engine does.
	block      map[string]bool
	deleteErrs map[string][]error                           // successive Delete results of a stack
	changes    map[string][]engine.Change                   // Preview: changes of these stacks (default none)
	templates  map[string][]byte                            // Template: what a stack runs now
	pending    map[string]map[string]string                 // Preview: the parameters Execute gives the stack
	onExecute  func(stack string, params map[string]string) // after an Execute that succeeded
	execErr    map[string]error                             // Execute of these fails
	running    map[string]bool                              // Execute of these is in progress (for overlap checks)
	onBlock    func(stack string)                           // runs when a blocked Create or Execute starts waiting
	overlaps   []string                                     // core stacks executed while another one was
	created    []string
	deleted    []string
	executed   []string
	discarded  []string
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{stacks: map[string]*engine.StackInfo{}, outputs: map[string]map[string]string{}, createErr: map[string]error{},
		block: map[string]bool{}, deleteErrs: map[string][]error{}, changes: map[string][]engine.Change{}, templates: map[string][]byte{},
		execErr: map[string]error{}, running: map[string]bool{}, pending: map[string]map[string]string{}}
}

// put adds a live stack of cluster name.
func (f *fakeEngine) put(name, cluster, kind, member, status string, outputs map[string]string) {
	tags := map[string]string{naming.TagCluster: cluster, naming.TagManagedBy: "neo4jctl", naming.TagStackKind: kind}
	if member != "" {
		tags[naming.TagMember] = member
	}
	if outputs == nil {
		outputs = map[string]string{}
	}
	f.stacks[name] = &engine.StackInfo{Name: name, ID: name, Status: status, Tags: tags, Outputs: outputs, Parameters: map[string]string{}}
}

func (f *fakeEngine) List(_ context.Context, match map[string]string) ([]*engine.StackInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*engine.StackInfo
	for _, name := range slices.Sorted(maps.Keys(f.stacks)) {
		s := f.stacks[name]
		ok := true
		for k, v := range match {
			if got, has := s.Tags[k]; !has || (v != "" && got != v) {
				ok = false
			}
		}
		if ok {
			c := *s
			out = append(out, &c)
		}
	}
	return out, nil
}

func (f *fakeEngine) Describe(_ context.Context, name string) (*engine.StackInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.stacks[name]; s != nil {
		c := *s
		return &c, nil
	}
	return nil, nil
}

func (f *fakeEngine) Create(ctx context.Context, s engine.Spec, detach bool) (*engine.StackInfo, error) {
	f.mu.Lock()
	f.created = append(f.created, s.Name)
	if err := f.createErr[s.Name]; err != nil {
		f.mu.Unlock()
		return nil, err
	}
	status := engine.StatusCreateComplete
	if detach || f.block[s.Name] {
		status = engine.StatusCreateInProgress
	}
	outputs := f.outputs[s.Name]
	if outputs == nil {
		outputs = map[string]string{}
	}
	f.stacks[s.Name] = &engine.StackInfo{Name: s.Name, ID: s.Name, Status: status, Tags: s.Tags, Outputs: outputs, Parameters: s.Parameters}
	block := f.block[s.Name]
	f.mu.Unlock()
	if block {
		if f.onBlock != nil {
			f.onBlock(s.Name)
		}
		<-ctx.Done()
		return nil, &engine.InterruptedError{Stack: s.Name, Op: engine.OpCreate, Status: status}
	}
	return f.Describe(ctx, s.Name)
}

func (f *fakeEngine) Wait(ctx context.Context, name string, _ engine.Op, _ time.Time, _ string) (*engine.StackInfo, error) {
	f.mu.Lock()
	if s := f.stacks[name]; s != nil && engine.InProgress(s.Status) {
		s.Status = strings.Replace(s.Status, "_IN_PROGRESS", "_COMPLETE", 1)
	}
	f.mu.Unlock()
	return f.Describe(ctx, name)
}

func (f *fakeEngine) Delete(_ context.Context, name string, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, name)
	if errs := f.deleteErrs[name]; len(errs) > 0 {
		f.deleteErrs[name] = errs[1:]
		if errs[0] != nil {
			return errs[0]
		}
	}
	delete(f.stacks, name)
	return nil
}

func (f *fakeEngine) Template(_ context.Context, name string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.templates[name], nil
}

func (f *fakeEngine) Preview(_ context.Context, s engine.Spec, exists bool) (*engine.ChangeSet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	typ := "UPDATE"
	if !exists {
		typ = "CREATE"
	}
	cs := &engine.ChangeSet{Stack: s.Name, Name: "cs-" + s.Name, ID: "cs-" + s.Name, Type: typ, Changes: slices.Clone(f.changes[s.Name])}
	f.pending[s.Name] = s.Parameters
	if live := f.stacks[s.Name]; live != nil {
		cs.Changes = append(cs.Changes, parameterChanges(live.Parameters, s.Parameters)...)
	}
	if len(cs.Changes) == 0 && exists {
		cs.NoChanges, cs.ID = true, ""
	}
	return cs, nil
}

func (f *fakeEngine) Execute(ctx context.Context, cs *engine.ChangeSet) (*engine.StackInfo, error) {
	f.mu.Lock()
	f.executed = append(f.executed, cs.Stack)
	for other, on := range f.running {
		if on && strings.Contains(other, "-core-") && strings.Contains(cs.Stack, "-core-") {
			f.overlaps = append(f.overlaps, cs.Stack+" while "+other)
		}
	}
	f.running[cs.Stack] = true
	block, err := f.block[cs.Stack], f.execErr[cs.Stack]
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running[cs.Stack] = false
		f.mu.Unlock()
	}()
	if block {
		if f.onBlock != nil {
			f.onBlock(cs.Stack)
		}
		<-ctx.Done()
		return nil, &engine.InterruptedError{Stack: cs.Stack, Op: engine.OpUpdate, Status: "UPDATE_IN_PROGRESS"}
	}
	time.Sleep(time.Millisecond) // long enough for a parallel Execute to overlap
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	params := f.pending[cs.Stack]
	if st := f.stacks[cs.Stack]; st != nil && params != nil {
		st.Parameters = params
	}
	hook := f.onExecute
	f.mu.Unlock()
	if hook != nil {
		hook(cs.Stack, params)
	}
	return f.Describe(ctx, cs.Stack)
}

func (f *fakeEngine) DiscardChangeSet(_ context.Context, cs *engine.ChangeSet) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cs != nil && cs.ID != "" {
		f.discarded = append(f.discarded, cs.Stack)
	}
	return nil
}

// parameterResources are the resources a run parameter moves, as CloudFormation's change
// set shows them: the fake's stand-in for reading the template's Refs.
var parameterResources = map[string]engine.Change{
	stack.ParamDesiredCount:     {LogicalID: "Service", Type: "AWS::ECS::Service", Properties: []string{"DesiredCount"}},
	stack.ParamInstanceCount:    {LogicalID: "AutoScalingGroup", Type: "AWS::AutoScaling::AutoScalingGroup", Properties: []string{"DesiredCapacity", "MaxSize", "MinSize"}},
	stack.ParamAlarmActions:     {LogicalID: "CPUAlarm", Type: "AWS::CloudWatch::Alarm", Properties: []string{"ActionsEnabled"}},
	stack.ParamBackupSchedules:  {LogicalID: "FullBackupSchedule", Type: "AWS::Scheduler::Schedule", Properties: []string{"State"}},
	stack.ParamExistingVolumeID: {LogicalID: "DataVolume", Type: "AWS::EC2::Volume"},
}

// parameterChanges are the changes of the parameters a live stack has and the new
// rendering sets to another value (a stack put without parameters changes none).
func parameterChanges(live, next map[string]string) []engine.Change {
	var out []engine.Change
	for _, p := range slices.Sorted(maps.Keys(parameterResources)) {
		was, ok := live[p]
		if now := next[p]; !ok || was == now {
			continue
		}
		c := parameterResources[p]
		c.Action, c.Replacement = "Modify", "False"
		if p == stack.ParamExistingVolumeID { // the volume leaves the stack, or a new one joins
			c.Action, c.Replacement = map[bool]string{true: "Remove", false: "Add"}[next[p] != ""], ""
		}
		out = append(out, c)
	}
	return out
}

// recorder collects events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Emit(ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

// lines are the events as people read them.
func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		out = append(out, ev.String())
	}
	return out
}

// eventOf returns the first event of type T.
func eventOf[T Event](r *recorder) (T, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.events {
		if t, ok := ev.(T); ok {
			return t, true
		}
	}
	var zero T
	return zero, false
}

// fakePrompt answers questions in turn; with hold it answers only when ctx ends (nobody
// answers), as the terminal prompt does.
type fakePrompt struct {
	answers []bool
	hold    bool
	onAsk   func() // runs once the question is out (e.g. a second Ctrl-C)
	asked   []string
}

func (p *fakePrompt) Confirm(ctx context.Context, q string) (bool, error) {
	p.asked = append(p.asked, q)
	if p.onAsk != nil {
		p.onAsk()
	}
	if p.hold {
		<-ctx.Done()
		return false, nil
	}
	if len(p.answers) == 0 {
		return false, nil
	}
	a := p.answers[0]
	p.answers = p.answers[1:]
	return a, nil
}

func apiErr(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

// fakeSTS is a FAKE sts: one account, or an error.
type fakeSTS struct {
	account string
	err     error
}

func (f *fakeSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &sts.GetCallerIdentityOutput{Account: aws.String(f.account)}, nil
}

// fakeEC2 is a FAKE EC2: AZs, a VPC and subnets, tagged volumes.
type fakeEC2 struct {
	mu      sync.Mutex
	azs     []string
	vpcs    map[string]bool
	subnets map[string][2]string // id → vpc, az
	volumes map[string]*fakeVolume
	deleted []string
	route   *ec2types.Route // the main route table's default route; nil: to an available NAT gateway
}

// fakeVolume is a volume of fakeEC2: 100 GiB gp3 (3000 IOPS, 125 MiB/s).
type fakeVolume struct {
	tags     map[string]string
	az, key  string // key: the KMS key id that encrypts it
	created  time.Time
	instance string // attached to
}

func newFakeEC2() *fakeEC2 {
	return &fakeEC2{azs: []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}, vpcs: map[string]bool{}, subnets: map[string][2]string{}, volumes: map[string]*fakeVolume{}}
}

// dataVolume adds a data volume of member (core-N) of cluster graph-dev.
func (f *fakeEC2) dataVolume(id, member, az, key string, created time.Time) {
	f.volumes[id] = &fakeVolume{tags: map[string]string{naming.TagCluster: "graph-dev", naming.TagMember: member, naming.TagRole: naming.TagRoleData},
		az: az, key: key, created: created}
}

func (f *fakeEC2) DescribeAvailabilityZones(context.Context, *ec2.DescribeAvailabilityZonesInput, ...func(*ec2.Options)) (*ec2.DescribeAvailabilityZonesOutput, error) {
	out := &ec2.DescribeAvailabilityZonesOutput{}
	for _, az := range f.azs {
		out.AvailabilityZones = append(out.AvailabilityZones, ec2types.AvailabilityZone{ZoneName: aws.String(az)})
	}
	return out, nil
}

func (f *fakeEC2) DescribeVpcs(_ context.Context, in *ec2.DescribeVpcsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	for _, id := range in.VpcIds {
		if !f.vpcs[id] {
			return nil, apiErr("InvalidVpcID.NotFound", fmt.Sprintf("The vpc ID '%s' does not exist", id))
		}
	}
	return &ec2.DescribeVpcsOutput{}, nil
}

func (f *fakeEC2) DescribeSubnets(_ context.Context, in *ec2.DescribeSubnetsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	ids := in.SubnetIds
	for _, flt := range in.Filters {
		if aws.ToString(flt.Name) == "subnet-id" {
			ids = append(ids, flt.Values...)
		}
	}
	out := &ec2.DescribeSubnetsOutput{}
	for _, id := range ids {
		if s, ok := f.subnets[id]; ok {
			out.Subnets = append(out.Subnets, ec2types.Subnet{SubnetId: aws.String(id), VpcId: aws.String(s[0]), AvailabilityZone: aws.String(s[1]), AvailableIpAddressCount: aws.Int32(250)})
		}
	}
	return out, nil
}

// The fake's VPCs are ready for a cluster (pkg/netcheck is tested against moto): DNS on,
// a main route table sending 0.0.0.0/0 to an available NAT gateway, no endpoints.

func (f *fakeEC2) DescribeVpcAttribute(_ context.Context, in *ec2.DescribeVpcAttributeInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpcAttributeOutput, error) {
	on := &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}
	return &ec2.DescribeVpcAttributeOutput{VpcId: in.VpcId, EnableDnsSupport: on, EnableDnsHostnames: on}, nil
}

func (f *fakeEC2) DescribeRouteTables(context.Context, *ec2.DescribeRouteTablesInput, ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error) {
	route := ec2types.Route{DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String("nat-fake"), State: ec2types.RouteStateActive}
	if f.route != nil {
		route = *f.route
	}
	return &ec2.DescribeRouteTablesOutput{RouteTables: []ec2types.RouteTable{{
		RouteTableId: aws.String("rtb-fake"),
		Associations: []ec2types.RouteTableAssociation{{Main: aws.Bool(true)}},
		Routes:       []ec2types.Route{route},
	}}}, nil
}

func (f *fakeEC2) DescribeNatGateways(context.Context, *ec2.DescribeNatGatewaysInput, ...func(*ec2.Options)) (*ec2.DescribeNatGatewaysOutput, error) {
	return &ec2.DescribeNatGatewaysOutput{NatGateways: []ec2types.NatGateway{{NatGatewayId: aws.String("nat-fake"), State: ec2types.NatGatewayStateAvailable}}}, nil
}

func (f *fakeEC2) DescribeVpcEndpoints(context.Context, *ec2.DescribeVpcEndpointsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcEndpointsOutput, error) {
	return &ec2.DescribeVpcEndpointsOutput{}, nil
}

func (f *fakeEC2) DescribeVolumes(_ context.Context, in *ec2.DescribeVolumesInput, _ ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &ec2.DescribeVolumesOutput{}
	for _, id := range slices.Sorted(maps.Keys(f.volumes)) {
		v := f.volumes[id]
		match := true
		for _, flt := range in.Filters {
			got := id
			if name := aws.ToString(flt.Name); name != "volume-id" {
				got = v.tags[strings.TrimPrefix(name, "tag:")]
			}
			match = match && slices.Contains(flt.Values, got)
		}
		if !match {
			continue
		}
		vol := ec2types.Volume{VolumeId: aws.String(id), AvailabilityZone: aws.String(v.az), State: ec2types.VolumeStateAvailable,
			Size: aws.Int32(100), VolumeType: ec2types.VolumeTypeGp3, Iops: aws.Int32(3000), Throughput: aws.Int32(125), CreateTime: aws.Time(v.created)}
		if v.key != "" {
			vol.KmsKeyId = aws.String("arn:aws:kms:eu-west-1:111122223333:key/" + v.key)
		}
		if v.instance != "" {
			vol.State = ec2types.VolumeStateInUse
			vol.Attachments = []ec2types.VolumeAttachment{{InstanceId: aws.String(v.instance)}}
		}
		for k, val := range v.tags {
			vol.Tags = append(vol.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(val)})
		}
		out.Volumes = append(out.Volumes, vol)
	}
	return out, nil
}

func (f *fakeEC2) DeleteVolume(_ context.Context, in *ec2.DeleteVolumeInput, _ ...func(*ec2.Options)) (*ec2.DeleteVolumeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.VolumeId)
	if _, ok := f.volumes[id]; !ok {
		return nil, apiErr("InvalidVolume.NotFound", "The volume '"+id+"' does not exist.")
	}
	if v := f.volumes[id]; v != nil && v.instance != "" {
		return nil, apiErr("VolumeInUse", "Volume "+id+" is currently attached to "+v.instance)
	}
	f.deleted = append(f.deleted, id)
	delete(f.volumes, id)
	return &ec2.DeleteVolumeOutput{}, nil
}

// fakeSSM is a FAKE SSM: the public ECS-optimized AMI parameters, ami-0a1b2c3d4e5f6a7b8 for
// both architectures unless set.
type fakeSSM struct{ params map[string]string }

func (f *fakeSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	name := aws.ToString(in.Name)
	v, ok := f.params[name]
	if !ok && strings.HasPrefix(name, "/aws/service/ecs/optimized-ami/") {
		v, ok = "ami-0a1b2c3d4e5f6a7b8", true
	}
	if !ok {
		return nil, apiErr("ParameterNotFound", "Parameter "+name+" not found.")
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: in.Name, Value: aws.String(v)}}, nil
}

// fakeECR is a FAKE ECR: the repo:tag images that exist.
type fakeECR struct{ images map[string]bool }

func (f *fakeECR) DescribeImages(_ context.Context, in *ecr.DescribeImagesInput, _ ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error) {
	ref := aws.ToString(in.RepositoryName) + ":" + aws.ToString(in.ImageIds[0].ImageTag)
	if !f.images[ref] {
		return nil, apiErr("ImageNotFoundException", "The image with imageId {imageTag:'"+aws.ToString(in.ImageIds[0].ImageTag)+"'} does not exist")
	}
	return &ecr.DescribeImagesOutput{}, nil
}

// fakeS3 is a FAKE S3: buckets with tags, regions and object versions.
type fakeS3 struct {
	mu      sync.Mutex
	buckets map[string]*fakeBucket
	puts    []string
	deleted []string
}

type fakeBucket struct {
	region  string
	tags    map[string]string
	key     string               // the KMS key id of its default encryption
	objects map[string]int       // key → versions
	locked  map[string]time.Time // object key → retained until (object lock, COMPLIANCE)
	data    map[string][]byte    // key → the newest version's body
}

func newFakeS3() *fakeS3 { return &fakeS3{buckets: map[string]*fakeBucket{}} }

func (f *fakeS3) bucket(name string) (*fakeBucket, error) {
	if b := f.buckets[name]; b != nil {
		return b, nil
	}
	return nil, apiErr("NoSuchBucket", "The specified bucket does not exist")
}

func (f *fakeS3) HeadObject(_ context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.bucket(aws.ToString(in.Bucket))
	if err != nil {
		return nil, err
	}
	if b.objects[aws.ToString(in.Key)] == 0 {
		return nil, apiErr("NotFound", "Not Found")
	}
	if until, ok := b.locked[aws.ToString(in.Key)]; ok {
		return &s3.HeadObjectOutput{ObjectLockMode: s3types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(until)}, nil
	}
	return &s3.HeadObjectOutput{}, nil
}

func (f *fakeS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.bucket(aws.ToString(in.Bucket))
	if err != nil {
		return nil, err
	}
	b.objects[aws.ToString(in.Key)]++
	f.puts = append(f.puts, aws.ToString(in.Key))
	if in.Body != nil {
		body, _ := io.ReadAll(in.Body)
		if b.data == nil {
			b.data = map[string][]byte{}
		}
		b.data[aws.ToString(in.Key)] = body
	}
	return &s3.PutObjectOutput{}, nil
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.bucket(aws.ToString(in.Bucket))
	if err != nil {
		return nil, err
	}
	body, ok := b.data[aws.ToString(in.Key)]
	if !ok || b.objects[aws.ToString(in.Key)] == 0 {
		return nil, apiErr("NoSuchKey", "The specified key does not exist.")
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(body))}, nil
}

func (f *fakeS3) DeleteObject(_ context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.bucket(aws.ToString(in.Bucket))
	if err != nil {
		return nil, err
	}
	delete(b.data, aws.ToString(in.Key))
	delete(b.objects, aws.ToString(in.Key))
	f.deleted = append(f.deleted, aws.ToString(in.Key))
	return &s3.DeleteObjectOutput{}, nil
}

func (f *fakeS3) GetBucketLocation(_ context.Context, in *s3.GetBucketLocationInput, _ ...func(*s3.Options)) (*s3.GetBucketLocationOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.bucket(aws.ToString(in.Bucket))
	if err != nil {
		return nil, err
	}
	region := b.region
	if region == "us-east-1" {
		region = "" // as S3 answers
	}
	return &s3.GetBucketLocationOutput{LocationConstraint: s3types.BucketLocationConstraint(region)}, nil
}

func (f *fakeS3) GetBucketEncryption(_ context.Context, in *s3.GetBucketEncryptionInput, _ ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.bucket(aws.ToString(in.Bucket))
	if err != nil {
		return nil, err
	}
	if b.key == "" {
		return nil, apiErr("ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found")
	}
	return &s3.GetBucketEncryptionOutput{ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
		ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms,
			KMSMasterKeyID: aws.String("arn:aws:kms:eu-west-1:111122223333:key/" + b.key)},
	}}}}, nil
}

func (f *fakeS3) ListObjectVersions(_ context.Context, in *s3.ListObjectVersionsInput, _ ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.bucket(aws.ToString(in.Bucket))
	if err != nil {
		return nil, err
	}
	out := &s3.ListObjectVersionsOutput{IsTruncated: aws.Bool(false)}
	for k, n := range b.objects {
		for i := range n {
			out.Versions = append(out.Versions, s3types.ObjectVersion{Key: aws.String(k), VersionId: aws.String(fmt.Sprint(i))})
		}
	}
	return out, nil
}

func (f *fakeS3) DeleteObjects(_ context.Context, in *s3.DeleteObjectsInput, _ ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.bucket(aws.ToString(in.Bucket))
	if err != nil {
		return nil, err
	}
	out := &s3.DeleteObjectsOutput{}
	for _, o := range in.Delete.Objects {
		key := aws.ToString(o.Key)
		if _, ok := b.locked[key]; ok {
			out.Errors = append(out.Errors, s3types.Error{Key: o.Key, Code: aws.String("AccessDenied"), Message: aws.String("Access Denied because object protected by object lock.")})
			continue
		}
		out.Deleted = append(out.Deleted, s3types.DeletedObject{Key: o.Key, VersionId: o.VersionId})
		b.objects[key]--
		if b.objects[key] <= 0 {
			delete(b.objects, key)
		}
	}
	return out, nil
}

func (f *fakeS3) DeleteBucket(_ context.Context, in *s3.DeleteBucketInput, _ ...func(*s3.Options)) (*s3.DeleteBucketOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.Bucket)
	b, err := f.bucket(name)
	if err != nil {
		return nil, err
	}
	if len(b.objects) > 0 {
		return nil, apiErr("BucketNotEmpty", "The bucket you tried to delete is not empty")
	}
	delete(f.buckets, name)
	f.deleted = append(f.deleted, name)
	return &s3.DeleteBucketOutput{}, nil
}

// fakeKMS is a FAKE KMS: keys with tags, creation times and states.
type fakeKMS struct {
	keys      map[string]map[string]string // id → tags
	created   map[string]time.Time
	pending   map[string]bool
	scheduled []string
}

func (f *fakeKMS) DescribeKey(_ context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	id := aws.ToString(in.KeyId)
	if _, ok := f.keys[id]; !ok {
		return nil, apiErr("NotFoundException", "Key '"+id+"' does not exist")
	}
	state := kmstypes.KeyStateEnabled
	if f.pending[id] {
		state = kmstypes.KeyStatePendingDeletion
	}
	return &kms.DescribeKeyOutput{KeyMetadata: &kmstypes.KeyMetadata{KeyId: in.KeyId, Arn: aws.String("arn:aws:kms:eu-west-1:111122223333:key/" + id),
		KeyState: state, CreationDate: aws.Time(f.created[id])}}, nil
}

func (f *fakeKMS) ScheduleKeyDeletion(_ context.Context, in *kms.ScheduleKeyDeletionInput, _ ...func(*kms.Options)) (*kms.ScheduleKeyDeletionOutput, error) {
	id := aws.ToString(in.KeyId)
	if f.pending[id] {
		return nil, apiErr("KMSInvalidStateException", "arn:aws:kms:eu-west-1:1:key/"+id+" is pending deletion.")
	}
	if f.pending == nil {
		f.pending = map[string]bool{}
	}
	f.pending[id] = true
	f.scheduled = append(f.scheduled, fmt.Sprintf("%s after %d days", id, aws.ToInt32(in.PendingWindowInDays)))
	return &kms.ScheduleKeyDeletionOutput{}, nil
}

// fakeECS is a FAKE ECS: services with counts, tasks per service. Tests set the maps
// directly before the action runs; while it runs (stacks apply in parallel) they change
// services through setService.
type fakeECS struct {
	mu       sync.Mutex
	services map[string]ecstypes.Service // by service name
	tasks    map[string][]ecstypes.Task  // by service name ("" for the cluster's stopped tasks)
	calls    atomic.Int32
}

func (f *fakeECS) setService(name string, s ecstypes.Service) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.services[name] = s
}

func (f *fakeECS) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &ecs.DescribeServicesOutput{}
	for _, n := range in.Services {
		if s, ok := f.services[n]; ok {
			out.Services = append(out.Services, s)
		}
	}
	return out, nil
}

// ListTasks lists a service's tasks, or without a service name every task of the cluster.
func (f *fakeECS) ListTasks(_ context.Context, in *ecs.ListTasksInput, _ ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &ecs.ListTasksOutput{}
	for svc, tasks := range f.tasks {
		for _, t := range tasks {
			if (svc == aws.ToString(in.ServiceName) || in.ServiceName == nil) && aws.ToString(t.DesiredStatus) == string(in.DesiredStatus) {
				out.TaskArns = append(out.TaskArns, aws.ToString(t.TaskArn))
			}
		}
	}
	return out, nil
}

func (f *fakeECS) DescribeTasks(_ context.Context, in *ecs.DescribeTasksInput, _ ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &ecs.DescribeTasksOutput{}
	for _, tasks := range f.tasks {
		for _, t := range tasks {
			if slices.Contains(in.Tasks, aws.ToString(t.TaskArn)) {
				out.Tasks = append(out.Tasks, t)
			}
		}
	}
	return out, nil
}

// fakeASG is a FAKE Auto Scaling: one instance per group. While an action runs, tests
// change groups through setInstance.
type fakeASG struct {
	mu        sync.Mutex
	instances map[string][2]string // group → instance id, AZ
	calls     atomic.Int32
}

// setInstance gives the group its instance, or with nil none.
func (f *fakeASG) setInstance(group string, i *[2]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i == nil {
		delete(f.instances, group)
		return
	}
	f.instances[group] = *i
}

func (f *fakeASG) DescribeAutoScalingGroups(_ context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &autoscaling.DescribeAutoScalingGroupsOutput{}
	for _, n := range in.AutoScalingGroupNames {
		if i, ok := f.instances[n]; ok {
			out.AutoScalingGroups = append(out.AutoScalingGroups, asgtypes.AutoScalingGroup{AutoScalingGroupName: aws.String(n),
				Instances: []asgtypes.Instance{{InstanceId: aws.String(i[0]), AvailabilityZone: aws.String(i[1]), LifecycleState: asgtypes.LifecycleStateInService}}})
		}
	}
	return out, nil
}

// fakeCloudMap is a FAKE Cloud Map: services of a namespace with instances.
type fakeCloudMap struct {
	mu           sync.Mutex
	instances    map[string][]string // service → instance ids
	deregistered []string
}

func (f *fakeCloudMap) ListServices(context.Context, *servicediscovery.ListServicesInput, ...func(*servicediscovery.Options)) (*servicediscovery.ListServicesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &servicediscovery.ListServicesOutput{}
	for s := range f.instances {
		out.Services = append(out.Services, sdtypes.ServiceSummary{Id: aws.String(s), Name: aws.String(s)})
	}
	return out, nil
}

func (f *fakeCloudMap) ListInstances(_ context.Context, in *servicediscovery.ListInstancesInput, _ ...func(*servicediscovery.Options)) (*servicediscovery.ListInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &servicediscovery.ListInstancesOutput{}
	for _, i := range f.instances[aws.ToString(in.ServiceId)] {
		out.Instances = append(out.Instances, sdtypes.InstanceSummary{Id: aws.String(i)})
	}
	return out, nil
}

func (f *fakeCloudMap) DeregisterInstance(_ context.Context, in *servicediscovery.DeregisterInstanceInput, _ ...func(*servicediscovery.Options)) (*servicediscovery.DeregisterInstanceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc, id := aws.ToString(in.ServiceId), aws.ToString(in.InstanceId)
	f.instances[svc] = slices.DeleteFunc(f.instances[svc], func(s string) bool { return s == id })
	f.deregistered = append(f.deregistered, id)
	return &servicediscovery.DeregisterInstanceOutput{}, nil
}

// fakeBundle is an agent bundle per architecture.
func fakeBundle(arch string) ([]byte, string, error) {
	return []byte("zip-" + arch), strings.Repeat(arch[:1], 64), nil
}

func testRelease() Release { return Release{Version: "test", Bundle: fakeBundle} }

// loadExample loads an example cluster.yaml as the CLI does.
func loadExample(t *testing.T, name string) *cluster.ClusterConfig {
	t.Helper()
	f, err := cluster.Load("../../examples/"+name, cluster.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	return f.Config
}

// defaultImage is the repo:tag of the image a default cluster of cfg runs.
func defaultImage(cfg *cluster.ClusterConfig) string {
	_, sum, _ := fakeBundle(naming.ImageTagArch)
	return naming.DefaultImageRepository + ":" + naming.ImageTag(cfg.Neo4j.Version, sum)
}

// sharedOutputs are what a shared stack reports.
func sharedOutputs(bucket string) map[string]string {
	return map[string]string{stack.OutputBucketName: bucket, stack.OutputNamespaceName: "graph-dev.neo4j.internal", stack.OutputNamespaceID: "ns-1",
		stack.OutputKMSKeyArn: "arn:aws:kms:eu-west-1:111122223333:key/key-1"}
}
