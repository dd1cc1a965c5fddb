package ops

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
)

// BackupCatalog is what `backup list` shows: per database its newest restorable point and
// its chains (a full backup and its differentials) newest first, with what retention
// expires when, and the artifacts no manifest knows yet.
type BackupCatalog struct {
	Cluster string `json:"cluster"`
	Bucket  string `json:"bucket"`
	Folder  string `json:"folder"` // s3://bucket/backups/
	// RetentionDays is the backup task's backup.retention.days (0: nothing is deleted);
	// RetentionKnown is false when the task could not be read (backups off).
	RetentionDays  int               `json:"retentionDays"`
	RetentionKnown bool              `json:"retentionKnown"`
	ListedAt       time.Time         `json:"listedAt"` // ages are counted from here
	Databases      []backup.Database `json:"databases"`
	// Copy is the copy in another region (backup.copyTo); nil without one.
	Copy *BackupCopy `json:"copy,omitempty"`
}

// BackupList reads the catalog: one listing of the backup folder and the manifests, never
// an artifact.
type BackupList struct {
	*Cluster
	S3       backup.S3API
	TaskDefs TaskDefinitionReader
	Clock    engine.Clock // ages are counted from its Now (nil: the wall clock)
	// Replication finds the copy in another region, CopyS3 lists it there (nil: no copy
	// is looked for).
	Replication ReplicationReader
	CopyS3      func(region string) backup.S3API
}

// NewBackupList is backup list on the handle's clients.
func NewBackupList(c *Cluster) *BackupList {
	return &BackupList{Cluster: c, S3: c.AWS.S3, TaskDefs: c.AWS.ECS, Replication: c.AWS.S3,
		CopyS3: func(region string) backup.S3API { return c.AWS.S3In(region) }}
}

// NoBackupsError: the database has nothing in the backup folder.
type NoBackupsError struct {
	Cluster, Database, Folder string
	Others                    []string
}

func (e *NoBackupsError) Error() string {
	msg := fmt.Sprintf("no backups of database %s in %s", e.Database, e.Folder)
	if len(e.Others) > 0 {
		msg += " (backed up: " + strings.Join(e.Others, ", ") + ")"
	}
	return msg + fmt.Sprintf("; make one with `neo4jctl backup create %s --database %s`", e.Cluster, e.Database)
}

// Execute lists the backups, of one database when database is not empty.
func (l *BackupList) Execute(ctx context.Context, database string) (*BackupCatalog, error) {
	setup, err := l.backupSetup(ctx)
	if err != nil {
		return nil, err
	}
	cat := &BackupCatalog{Cluster: l.Name, Bucket: setup.Bucket, Folder: "s3://" + setup.Bucket + "/" + backup.Prefix,
		ListedAt: wallClock(l.Clock).Now().UTC(), Databases: []backup.Database{}}
	cat.RetentionDays, cat.RetentionKnown = retentionDays(ctx, l.TaskDefs, setup.TaskDef)
	dbs, err := setup.store(l.S3).Load(ctx, cat.RetentionDays)
	if err != nil {
		return nil, fmt.Errorf("reading the backup catalog of %s: %w", l.Name, err)
	}
	if database == "" {
		cat.Databases = append(cat.Databases, dbs...)
		cat.Copy = l.backupCopy(ctx, setup.Bucket, cat.Databases, database)
		return cat, nil
	}
	var names []string
	for _, d := range dbs {
		if d.Name == database {
			cat.Databases = append(cat.Databases, d)
			cat.Copy = l.backupCopy(ctx, setup.Bucket, cat.Databases, database)
			return cat, nil
		}
		names = append(names, d.Name)
	}
	return nil, &NoBackupsError{Cluster: l.Name, Database: database, Folder: cat.Folder, Others: names}
}
