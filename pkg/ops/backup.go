package ops

import (
	"cmp"
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// backupSetup is what the backup verbs read from the cluster's stacks: the bucket (shared
// stack) and what starting the backup and verify tasks takes (operations stack outputs,
// empty when backups are off).
type backupSetup struct {
	Bucket     string
	ECSCluster string
	RunTask    string // BackupRunTask: the RunTask request the schedules send (JSON)
	VerifyTask string // BackupVerifyRunTask
	TaskDef    string // BackupTaskDefinition: the full backup's task definition
	LogGroup   string
}

// store is the cluster's backup catalog.
func (s *backupSetup) store(api backup.S3API) backup.Store {
	return backup.Store{S3: api, Bucket: s.Bucket}
}

// backupSetup finds the cluster's stacks and reads what the backup verbs need; a cluster
// without stacks is NotFoundError, one without a bucket output cannot hold backups.
func (c *Cluster) backupSetup(ctx context.Context) (*backupSetup, error) {
	stacks, err := c.FindStacks(ctx)
	if err != nil {
		return nil, err
	}
	if len(stacks) == 0 {
		return nil, &NotFoundError{Name: c.Name, Region: c.Region}
	}
	s := &backupSetup{ECSCluster: naming.ECSCluster(c.Name), LogGroup: naming.LogGroup(c.Name)}
	for _, st := range stacks {
		switch st.Tags[naming.TagStackKind] {
		case naming.KindShared:
			s.Bucket = st.Outputs[stack.OutputBucketName]
			s.ECSCluster = cmp.Or(st.Outputs[stack.OutputECSCluster], s.ECSCluster)
			s.LogGroup = cmp.Or(st.Outputs[stack.OutputLogGroup], s.LogGroup)
		case naming.KindOperations:
			s.RunTask = st.Outputs[stack.OutputBackupRunTask]
			s.VerifyTask = st.Outputs[stack.OutputVerifyRunTask]
			s.TaskDef = st.Outputs[stack.OutputBackupTaskDefinition]
		}
	}
	if s.Bucket == "" {
		return nil, fmt.Errorf("cluster %s has no bucket yet (its shared stack has no %s output); see `neo4jctl get cluster %s`", c.Name, stack.OutputBucketName, c.Name)
	}
	return s, nil
}

// BackupsOffError: the cluster's operations stack starts no backup (backup.enabled is
// false, or the stack predates on-demand backups).
type BackupsOffError struct{ Cluster, What string }

func (e *BackupsOffError) Error() string {
	return fmt.Sprintf("cluster %s cannot %s: its operations stack has no backup task (backup.enabled: false in cluster.yaml, or a stack made before on-demand backups); "+
		"turn backups on and apply it with `neo4jctl update cluster -f cluster.yaml`", e.Cluster, e.What)
}

// wallClock is c, or the wall clock when c is nil.
func wallClock(c engine.Clock) engine.Clock {
	if c == nil {
		return engine.RealClock{}
	}
	return c
}

// TaskDefinitionReader reads a task definition: the backup task's retention setting.
type TaskDefinitionReader interface {
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

// retentionDays is backup.retention.days as the backup task applies it: its
// NEO4JCTL_BACKUP_RETENTION_DAYS (the runner's own setting, not a copy of cluster.yaml).
// ok is false when it cannot be read.
func retentionDays(ctx context.Context, api TaskDefinitionReader, taskDef string) (int, bool) {
	if taskDef == "" || api == nil {
		return 0, false
	}
	out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(taskDef)})
	if err != nil || out.TaskDefinition == nil {
		return 0, false
	}
	for _, c := range out.TaskDefinition.ContainerDefinitions {
		if aws.ToString(c.Name) != backup.ContainerName {
			continue
		}
		for _, kv := range c.Environment {
			if aws.ToString(kv.Name) == naming.EnvBackupRetentionDays {
				n, err := strconv.Atoi(aws.ToString(kv.Value))
				return n, err == nil
			}
		}
		return 0, true // not set: nothing is deleted
	}
	return 0, false
}
