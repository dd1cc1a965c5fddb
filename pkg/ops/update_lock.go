package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
)

// ObjectLockReader reads a bucket's Object Lock configuration.
type ObjectLockReader interface {
	GetObjectLockConfiguration(ctx context.Context, in *s3.GetObjectLockConfigurationInput, opts ...func(*s3.Options)) (*s3.GetObjectLockConfigurationOutput, error)
}

// checkLiveLock is cluster.ValidateUpdate for a cluster without a last-applied record (made
// by a neo4jctl before the record existed): the config it runs with is unknown, but its
// bucket's Object Lock is not, and S3 cannot turn that off. u.S3 without the call (a test's
// fake) checks nothing.
func (u *Update) checkLiveLock(ctx context.Context, bucket string) error {
	api, ok := u.S3.(ObjectLockReader)
	if !ok || u.Config.Backup.ObjectLock != nil {
		return nil
	}
	out, err := api.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(bucket)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ObjectLockConfigurationNotFoundError" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the Object Lock of s3://%s (backup.objectLock cannot be turned off): %w", bucket, awsapi.Clean(err))
	}
	c := out.ObjectLockConfiguration
	if c == nil || c.Rule == nil || c.Rule.DefaultRetention == nil {
		return nil
	}
	prev := *u.Config // Backup is a value: prev's lock is its own
	prev.Backup.ObjectLock = &cluster.BackupObjectLock{Mode: strings.ToLower(string(c.Rule.DefaultRetention.Mode)),
		Days: int(aws.ToInt32(c.Rule.DefaultRetention.Days))}
	return cluster.ValidateUpdate(&prev, u.Config, u.Loaded)
}
