package ops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
)

// LockedObjects are the object versions of a bucket that object lock keeps: nobody, neo4jctl
// included, may delete them before their retain-until date, or while a legal hold is on.
type LockedObjects struct {
	Bucket     string    `json:"bucket"`
	KeyID      string    `json:"keyID,omitempty"` // kept with them: without it they cannot be read
	Versions   int       `json:"versions"`
	Modes      []string  `json:"modes,omitempty"` // GOVERNANCE, COMPLIANCE
	Until      time.Time `json:"until,omitzero"`  // the last retain-until date
	LegalHolds int       `json:"legalHolds,omitempty"`
}

func (l *LockedObjects) add(h *s3.HeadObjectOutput) {
	l.Versions++
	if h.ObjectLockLegalHoldStatus == s3types.ObjectLockLegalHoldStatusOn {
		l.LegalHolds++
	}
	if m := string(h.ObjectLockMode); m != "" && !slices.Contains(l.Modes, m) {
		l.Modes = append(l.Modes, m)
	}
	if u := aws.ToTime(h.ObjectLockRetainUntilDate); u.After(l.Until) {
		l.Until = u
	}
}

func (l LockedObjects) String() string {
	s := fmt.Sprintf("bucket %s: %d object versions under object lock", l.Bucket, l.Versions)
	if len(l.Modes) > 0 {
		s += " (" + strings.Join(l.Modes, ", ") + ")"
	}
	if !l.Until.IsZero() {
		s += " until " + day(l.Until)
	}
	if l.LegalHolds > 0 {
		s += fmt.Sprintf("; %d of them under a legal hold, which has no end date (`aws s3api put-object-legal-hold --legal-hold Status=OFF` lifts it)", l.LegalHolds)
	}
	if slices.Contains(l.Modes, string(s3types.ObjectLockModeGovernance)) {
		s += "; governance mode: someone allowed s3:BypassGovernanceRetention can delete them early (`aws s3api delete-object --bypass-governance-retention`)"
	}
	return s
}

// emptyBucket deletes every version of every object of a bucket, except those object lock
// keeps (returned), and then the bucket if nothing is left in it.
func emptyBucket(ctx context.Context, api BucketAPI, bucket string) (*LockedObjects, error) {
	locked := &LockedObjects{Bucket: bucket}
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)}
	for {
		out, err := api.ListObjectVersions(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("emptying bucket %s: %w", bucket, awsapi.Clean(err))
		}
		var ids []s3types.ObjectIdentifier
		for _, v := range out.Versions {
			ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range out.DeleteMarkers {
			ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if len(ids) > 0 {
			if err := deleteVersions(ctx, api, bucket, ids, locked); err != nil {
				return nil, err
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
	if locked.Versions > 0 {
		return locked, nil
	}
	if _, err := api.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return nil, fmt.Errorf("deleting bucket %s: %w", bucket, awsapi.Clean(err))
	}
	return nil, nil
}

// deleteVersions deletes up to 1000 object versions. Each one still there afterwards is
// looked at: under object lock it counts in locked; otherwise its error is the cause.
func deleteVersions(ctx context.Context, api BucketAPI, bucket string, ids []s3types.ObjectIdentifier, locked *LockedObjects) error {
	// not Quiet: the answer names what went, so what stayed is what was asked and not named
	out, err := api.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: ids}})
	if err != nil {
		return fmt.Errorf("emptying bucket %s: %w", bucket, awsapi.Clean(err))
	}
	gone := map[[2]string]bool{}
	for _, d := range out.Deleted {
		gone[[2]string{aws.ToString(d.Key), aws.ToString(d.VersionId)}] = true
	}
	causes := map[string]string{} // by key: S3 names the version too, emulators may not
	for _, e := range out.Errors {
		causes[aws.ToString(e.Key)] = aws.ToString(e.Code) + ": " + aws.ToString(e.Message)
	}
	for _, id := range ids {
		key, version := aws.ToString(id.Key), aws.ToString(id.VersionId)
		if gone[[2]string{key, version}] {
			continue
		}
		h, err := api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: id.Key, VersionId: id.VersionId})
		if err == nil && (h.ObjectLockLegalHoldStatus == s3types.ObjectLockLegalHoldStatusOn || h.ObjectLockRetainUntilDate != nil) {
			locked.add(h)
			continue
		}
		return fmt.Errorf("emptying bucket %s: s3://%s/%s (version %s) was not deleted: %s", bucket, bucket, key, version, cmp.Or(causes[key], "no reason given"))
	}
	return nil
}

// scheduleKeyDeletion schedules the key's deletion after the shortest waiting period; a key
// already pending deletion is fine.
func scheduleKeyDeletion(ctx context.Context, api KeyAPI, id string) error {
	_, err := api.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(KeyDeletionDays)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "KMSInvalidStateException" && strings.Contains(ae.ErrorMessage(), "pending deletion") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("scheduling the deletion of KMS key %s: %w", id, awsapi.Clean(err))
	}
	return nil
}

// deleteVolume deletes a member volume; one deleted since is fine.
func deleteVolume(ctx context.Context, api VolumeAPI, v Volume) error {
	_, err := api.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(v.ID)})
	if err != nil && !awsapi.IsNotFound(err) {
		hint := ""
		if v.Instance != "" {
			hint = fmt.Sprintf(" (attached to instance %s: detach it with `aws ec2 detach-volume --volume-id %s`)", v.Instance, v.ID)
		}
		return fmt.Errorf("deleting volume %s (%s)%s: %w", v.ID, v.Member, hint, awsapi.Clean(err))
	}
	return nil
}

// deleteSecret deletes a secret at once, without a recovery window, so that its name is free
// for a new cluster; one deleted since is fine.
func deleteSecret(ctx context.Context, api SecretAPI, s Secret) error {
	_, err := api.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(s.ARN), ForceDeleteWithoutRecovery: aws.Bool(true)})
	if err != nil && !awsapi.IsNotFound(err) {
		return fmt.Errorf("deleting secret %s: %w", s.Name, awsapi.Clean(err))
	}
	return nil
}
