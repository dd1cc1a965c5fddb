package ops

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// FAKES for the backup verbs: an in-memory bucket with S3's conditional writes (the backup
// lock and manifests use them), ECS tasks that go through scripted statuses, and log streams.
// cmd/neo4jctl runs the same verbs against moto.

type memS3 struct {
	mu      sync.Mutex
	objects map[string][]byte
	gets    []string
}

func newMemS3() *memS3 { return &memS3{objects: map[string][]byte{}} }

func etagOf(b []byte) string { s := md5.Sum(b); return `"` + hex.EncodeToString(s[:]) + `"` }

func (m *memS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := &s3.ListObjectsV2Output{}
	for _, k := range slices.Sorted(maps.Keys(m.objects)) {
		if strings.HasPrefix(k, aws.ToString(in.Prefix)) {
			out.Contents = append(out.Contents, s3types.Object{Key: aws.String(k), Size: aws.Int64(int64(len(m.objects[k])))})
		}
	}
	return out, nil
}

func (m *memS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets = append(m.gets, aws.ToString(in.Key))
	b, ok := m.objects[aws.ToString(in.Key)]
	if !ok {
		return nil, &s3types.NoSuchKey{}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(b)), ETag: aws.String(etagOf(b))}, nil
}

func (m *memS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, _ := io.ReadAll(in.Body)
	cur, exists := m.objects[aws.ToString(in.Key)]
	if (in.IfNoneMatch != nil && exists) || (in.IfMatch != nil && (!exists || etagOf(cur) != aws.ToString(in.IfMatch))) {
		return nil, apiErr("PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	}
	m.objects[aws.ToString(in.Key)] = b
	return &s3.PutObjectOutput{ETag: aws.String(etagOf(b))}, nil
}

func (m *memS3) DeleteObjects(_ context.Context, in *s3.DeleteObjectsInput, _ ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range in.Delete.Objects {
		delete(m.objects, aws.ToString(o.Key))
	}
	return &s3.DeleteObjectsOutput{}, nil
}

// fakeTasks is ECS for the backup verbs: RunTask starts a task whose DescribeTasks answers
// walk through statuses (the last one repeats); running tasks are listed by family.
type fakeTasks struct {
	mu        sync.Mutex
	runs      []*ecs.RunTaskInput
	failures  []ecstypes.Failure // RunTask answers these instead of a task
	statuses  []string
	exitCode  *int32
	running   map[string]ecstypes.Task // family -> a task that runs already
	retention string                   // NEO4JCTL_BACKUP_RETENTION_DAYS of the backup task definition
	described int
}

func (f *fakeTasks) RunTask(_ context.Context, in *ecs.RunTaskInput, _ ...func(*ecs.Options)) (*ecs.RunTaskOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append(f.runs, in)
	if len(f.failures) > 0 {
		return &ecs.RunTaskOutput{Failures: f.failures}, nil
	}
	return &ecs.RunTaskOutput{Tasks: []ecstypes.Task{{TaskArn: aws.String(fmt.Sprintf("arn:aws:ecs:eu-west-1:1:task/neo4jctl-graph-dev/task%d", len(f.runs))),
		LastStatus: aws.String("PROVISIONING")}}}, nil
}

func (f *fakeTasks) ListTasks(_ context.Context, in *ecs.ListTasksInput, _ ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.running[aws.ToString(in.Family)]; ok {
		return &ecs.ListTasksOutput{TaskArns: []string{aws.ToString(t.TaskArn)}}, nil
	}
	return &ecs.ListTasksOutput{}, nil
}

func (f *fakeTasks) DescribeTasks(_ context.Context, in *ecs.DescribeTasksInput, _ ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.running {
		if aws.ToString(t.TaskArn) == in.Tasks[0] {
			return &ecs.DescribeTasksOutput{Tasks: []ecstypes.Task{t}}, nil
		}
	}
	s := f.statuses[min(f.described, len(f.statuses)-1)]
	f.described++
	return &ecs.DescribeTasksOutput{Tasks: []ecstypes.Task{{TaskArn: aws.String(in.Tasks[0]), LastStatus: aws.String(s),
		Containers: []ecstypes.Container{{Name: aws.String(backup.ContainerName), ExitCode: f.exitCode}}}}}, nil
}

func (f *fakeTasks) DescribeTaskDefinition(_ context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	env := []ecstypes.KeyValuePair{{Name: aws.String(naming.EnvBackupType), Value: aws.String("FULL")}}
	if f.retention != "" {
		env = append(env, ecstypes.KeyValuePair{Name: aws.String(naming.EnvBackupRetentionDays), Value: aws.String(f.retention)})
	}
	return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &ecstypes.TaskDefinition{
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String(backup.ContainerName), Environment: env}}}}, nil
}

// fakeLogs holds log streams by name.
type fakeLogs struct{ streams map[string][]string }

func (f *fakeLogs) GetLogEvents(_ context.Context, in *cloudwatchlogs.GetLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error) {
	out := &cloudwatchlogs.GetLogEventsOutput{}
	for _, l := range f.streams[aws.ToString(in.LogStreamName)] {
		out.Events = append(out.Events, cwltypes.OutputLogEvent{Message: aws.String(l)})
	}
	return out, nil
}

// runTaskJSON is an operations stack's BackupRunTask output.
func runTaskJSON(family string) string {
	in := backup.Launch{Cluster: "arn:aws:ecs:eu-west-1:1:cluster/neo4jctl-graph-dev", TaskDefinition: "arn:aws:ecs:eu-west-1:1:task-definition/" + family + ":3",
		Subnets: []string{"subnet-1", "subnet-2"}, SecurityGroups: []string{"sg-backup"}, LaunchType: "FARGATE", PlatformVersion: "LATEST",
		ScratchGiB: 120, ScratchVolumeType: "gp3", KMSKeyARN: "arn:key", InfrastructureRoleARN: "arn:role", StartedBy: "neo4jctl"}.RunTaskInput(nil)
	s, err := backup.SchedulerInput(in)
	if err != nil {
		panic(err)
	}
	return s
}

// backupCluster is a fake engine with a cluster whose operations stack can start backups.
func backupCluster(name string) *fakeEngine {
	f := newFakeEngine()
	liveCluster(f, name)
	ops := f.stacks["neo4jctl-"+name+"-operations"].Outputs
	ops[stack.OutputBackupRunTask] = runTaskJSON(naming.BackupFamilyFull(name))
	ops[stack.OutputVerifyRunTask] = runTaskJSON(naming.BackupFamilyVerify(name))
	ops[stack.OutputBackupTaskDefinition] = "arn:aws:ecs:eu-west-1:1:task-definition/" + naming.BackupFamilyFull(name) + ":3"
	return f
}
