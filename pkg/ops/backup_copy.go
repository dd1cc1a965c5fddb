package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/backup"
)

// BackupCopy is the copy of the backups in another region (backup.copyTo) as `backup list`
// finds it: S3 replication's destination, read from the cluster bucket's replication
// configuration, and which of the listed artifacts it holds (one listing of it).
type BackupCopy struct {
	Bucket string `json:"bucket"`
	Region string `json:"region"`
	Folder string `json:"folder"` // s3://bucket/backups/
	// Artifacts of the listing that the copy holds, and those it does not (yet): replication
	// is asynchronous (minutes), may fail, and skips what was made before it was set up.
	Copied    int      `json:"copied"`
	NotCopied []string `json:"notCopied,omitempty"`
	// OnlyInCopy counts artifacts of the listed databases that only the copy still holds:
	// deletes (retention, --purge-data) are not replicated.
	OnlyInCopy int `json:"onlyInCopy"`
	// Error is why the copy could not be listed (the rest of the catalog stands).
	Error string `json:"error,omitempty"`
}

// ReplicationReader reads a bucket's replication configuration.
type ReplicationReader interface {
	GetBucketReplication(ctx context.Context, in *s3.GetBucketReplicationInput, opts ...func(*s3.Options)) (*s3.GetBucketReplicationOutput, error)
}

// copyDestination is the bucket and region the cluster bucket replicates backups/ to; ok is
// false without replication (no backup.copyTo).
func copyDestination(ctx context.Context, api ReplicationReader, bucket string) (dest, region string, ok bool, err error) {
	out, err := api.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(bucket)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ReplicationConfigurationNotFoundError" {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("reading the replication of s3://%s: %w", bucket, awsapi.Clean(err))
	}
	for _, r := range out.ReplicationConfiguration.Rules {
		if r.Status != s3types.ReplicationRuleStatusEnabled || r.Destination == nil {
			continue
		}
		dest = strings.TrimPrefix(aws.ToString(r.Destination.Bucket), "arn:aws:s3:::")
		if i := strings.LastIndex(dest, ":::"); i >= 0 { // other partitions
			dest = dest[i+3:]
		}
		// the replica key is a key of the copy's region (neo4jctl's rule always names one);
		// the rule's id, backups-to-<region>, says it too
		if e := r.Destination.EncryptionConfiguration; e != nil {
			if a, err := arn.Parse(aws.ToString(e.ReplicaKmsKeyID)); err == nil {
				region = a.Region
			}
		}
		if region == "" {
			region = strings.TrimPrefix(aws.ToString(r.ID), "backups-to-")
		}
		return dest, region, true, nil
	}
	return "", "", false, nil
}

// backupCopy compares the copy's listing with the catalog's artifacts (of database, or of
// all when it is ""); nil without a copy.
func (l *BackupList) backupCopy(ctx context.Context, bucket string, dbs []backup.Database, database string) *BackupCopy {
	if l.Replication == nil {
		return nil
	}
	dest, region, ok, err := copyDestination(ctx, l.Replication, bucket)
	if !ok {
		if err != nil {
			return &BackupCopy{Error: err.Error()}
		}
		return nil
	}
	c := &BackupCopy{Bucket: dest, Region: region, Folder: "s3://" + dest + "/" + backup.Prefix}
	if l.CopyS3 == nil {
		c.Error = "no S3 client for " + region
		return c
	}
	objects, err := (backup.Store{S3: l.CopyS3(region), Bucket: dest}).List(ctx)
	if err != nil {
		c.Error = fmt.Sprintf("listing the copy in %s: %v", region, awsapi.Clean(err))
		return c
	}
	inCopy := map[string]bool{}
	for _, o := range objects {
		if backup.IsArtifactKey(backup.Prefix, o.Key) {
			inCopy[o.Key] = true
		}
	}
	listed := map[string]bool{}
	for _, d := range dbs {
		for _, e := range listedArtifacts(d) {
			listed[e.Key] = true
			if inCopy[e.Key] {
				c.Copied++
			} else {
				c.NotCopied = append(c.NotCopied, e.Key)
			}
		}
	}
	for k := range inCopy {
		if db, _, _ := backup.ParseName(k); !listed[k] && (database == "" || db == database) {
			c.OnlyInCopy++
		}
	}
	return c
}

// listedArtifacts are the database's artifacts in the cluster bucket: its chains' and the
// unrecorded ones (not the missing ones, which are gone).
func listedArtifacts(d backup.Database) []backup.Entry {
	var out []backup.Entry
	for _, c := range d.Chains {
		out = append(out, c.Artifacts...)
	}
	return append(out, d.Unrecorded...)
}

// Has reports whether the copy holds the artifact (true when there is no copy to ask).
func (c *BackupCopy) Has(key string) bool {
	if c == nil || c.Error != "" {
		return true
	}
	for _, k := range c.NotCopied {
		if k == key {
			return false
		}
	}
	return true
}
