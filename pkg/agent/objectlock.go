package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// ObjectLocks tells whether S3 Object Lock still protects a backup.
type ObjectLocks interface {
	// Locked is the object's retain-until date (zero: none) and whether a legal hold is on.
	Locked(ctx context.Context, key string) (until time.Time, legalHold bool, err error)
}

// HeadObjectAPI reads an object's metadata, Object Lock included (with s3:GetObjectRetention
// and s3:GetObjectLegalHold, which the backup task role has with backup.objectLock).
type HeadObjectAPI interface {
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

// S3ObjectLocks reads the lock of the current version of each object.
type S3ObjectLocks struct {
	S3     HeadObjectAPI
	Bucket string
}

// Locked reads the object's lock with HeadObject.
func (l S3ObjectLocks) Locked(ctx context.Context, key string) (time.Time, bool, error) {
	out, err := l.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(l.Bucket), Key: aws.String(key)})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("s3://%s/%s: %w", l.Bucket, key, err)
	}
	return aws.ToTime(out.ObjectLockRetainUntilDate), out.ObjectLockLegalHoldStatus == s3types.ObjectLockLegalHoldStatusOn, nil
}

// objectLocks is how retention learns of Object Lock: the options' own (tests), else, with
// NEO4JCTL_BACKUP_OBJECT_LOCK set, the catalog's S3 client; nil without object lock.
func objectLocks(env Env, o BackupOptions, store backup.Store) ObjectLocks {
	if o.Locks != nil {
		return o.Locks
	}
	if env(naming.EnvBackupObjectLock) == "" {
		return nil
	}
	if h, ok := store.S3.(HeadObjectAPI); ok {
		return S3ObjectLocks{S3: h, Bucket: store.Bucket}
	}
	return nil
}
