package backup

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Task roles of the backup task definitions (operations stack): a scheduled or on-demand
// backup, and a consistency check of a backup.
const (
	// ContainerName is the container of every backup and verify task (for overrides).
	ContainerName = "backup"
	// ScratchVolume is the task definitions' volume configured at launch: an EBS volume
	// ECS creates for the task and deletes with it, sized from the store, mounted at
	// ScratchPath (Fargate's own storage stops at 200 GiB).
	ScratchVolume = "scratch"
	ScratchPath   = "/scratch"
)

// Launch is everything RunTask needs to start a backup or verify task: the schedules send
// it (EventBridge Scheduler's universal target, because the templated ECS target cannot
// pass an EBS volume), and `backup create`/`backup verify` build the same from the
// operations stack's outputs.
type Launch struct {
	Cluster               string
	TaskDefinition        string
	Subnets               []string
	SecurityGroups        []string
	LaunchType            string // FARGATE
	PlatformVersion       string // LATEST (EBS volumes need 1.4.0 or later)
	ScratchGiB            int
	ScratchVolumeType     string // gp3
	KMSKeyARN             string // the cluster key encrypts the scratch volume
	InfrastructureRoleARN string // the ECS infrastructure role that creates the volume
	VolumeTags            map[string]string
	StartedBy             string
}

// RunTaskInput is the RunTask request of the launch, with environment overrides for the
// container (NEO4JCTL_BACKUP_TYPE, NEO4JCTL_BACKUP_DATABASES, NEO4JCTL_VERIFY_TARGET...).
func (l Launch) RunTaskInput(env map[string]string) *ecs.RunTaskInput {
	var tags []ecstypes.Tag
	keys := make([]string, 0, len(l.VolumeTags))
	for k := range l.VolumeTags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		tags = append(tags, ecstypes.Tag{Key: aws.String(k), Value: aws.String(l.VolumeTags[k])})
	}
	in := &ecs.RunTaskInput{
		Cluster:         aws.String(l.Cluster),
		TaskDefinition:  aws.String(l.TaskDefinition),
		LaunchType:      ecstypes.LaunchType(l.LaunchType),
		PlatformVersion: aws.String(l.PlatformVersion),
		Count:           aws.Int32(1),
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: l.Subnets, SecurityGroups: l.SecurityGroups, AssignPublicIp: ecstypes.AssignPublicIpDisabled,
		}},
		VolumeConfigurations: []ecstypes.TaskVolumeConfiguration{{
			Name: aws.String(ScratchVolume),
			ManagedEBSVolume: &ecstypes.TaskManagedEBSVolumeConfiguration{
				RoleArn:           aws.String(l.InfrastructureRoleARN),
				SizeInGiB:         aws.Int32(int32(l.ScratchGiB)),
				VolumeType:        aws.String(l.ScratchVolumeType),
				Encrypted:         aws.Bool(true),
				KmsKeyId:          aws.String(l.KMSKeyARN),
				FilesystemType:    ecstypes.TaskFilesystemTypeXfs,
				TerminationPolicy: &ecstypes.TaskManagedEBSVolumeTerminationPolicy{DeleteOnTermination: aws.Bool(true)},
				TagSpecifications: []ecstypes.EBSTagSpecification{{ResourceType: ecstypes.EBSResourceTypeVolume, Tags: tags}},
			},
		}},
	}
	if l.StartedBy != "" {
		in.StartedBy = aws.String(l.StartedBy)
	}
	if len(env) > 0 {
		var kv []ecstypes.KeyValuePair
		names := make([]string, 0, len(env))
		for k := range env {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			kv = append(kv, ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(env[k])})
		}
		in.Overrides = &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{Name: aws.String(ContainerName), Environment: kv}}}
	}
	return in
}

// SchedulerInput renders a RunTask request as the Input of EventBridge Scheduler's
// universal target arn:aws:scheduler:::aws-sdk:ecs:runTask: the API's members with capital
// initials (the SDK's field names), unset members left out.
func SchedulerInput(in *ecs.RunTaskInput) (string, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return "", err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "", err
	}
	out, err := json.Marshal(prune(v))
	if err != nil {
		return "", fmt.Errorf("rendering the RunTask input: %w", err)
	}
	return string(out), nil
}

// prune drops nulls, empty strings, false, zero, and empty lists and objects (unset members
// of the SDK structs).
func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if e = prune(e); e != nil {
				out[k] = e
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		var out []any
		for _, e := range x {
			if e = prune(e); e != nil {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case string:
		if x == "" {
			return nil
		}
	case bool:
		if !x {
			return nil
		}
	case float64:
		if x == 0 {
			return nil
		}
	}
	return v
}

// ParseRunTaskInput reads a RunTask request rendered by SchedulerInput (the operations
// stack's BackupRunTask and BackupVerifyRunTask outputs), for `backup create|verify`.
func ParseRunTaskInput(s string) (*ecs.RunTaskInput, error) {
	var in ecs.RunTaskInput
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("reading the backup task's RunTask request: %w", err)
	}
	if in.TaskDefinition == nil || in.Cluster == nil || in.NetworkConfiguration == nil || len(in.VolumeConfigurations) == 0 {
		return nil, fmt.Errorf("the backup task's RunTask request lacks the cluster, task definition, network or scratch volume")
	}
	return &in, nil
}

// WithEnv returns a copy of in whose backup container gets env on top of its task
// definition's environment.
func WithEnv(in *ecs.RunTaskInput, env map[string]string) *ecs.RunTaskInput {
	out := *in
	over := Launch{}.RunTaskInput(env).Overrides
	out.Overrides = over
	return &out
}
