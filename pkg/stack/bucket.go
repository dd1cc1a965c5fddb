package stack

import (
	"fmt"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// Logical ids of the cluster bucket's hardening (shared stack).
const (
	sharedReplicationRole   = "ReplicationRole"
	sharedReplicationPolicy = "ReplicationPolicy"
)

// hardenBucket adds what cluster.yaml asks of the cluster bucket beyond encryption,
// versioning and the TLS-only policy: server access logs to the user's log bucket
// (backup.accessLogs), a default Object Lock retention (backup.objectLock) and replication
// of backups to a bucket in another region (backup.copyTo). What is not asked for is
// recorded as a checkov skip or a Control Tower suppression with its reason.
func (b *builder) hardenBucket(t *Template, bucket M, keyArn, bucketArn any) {
	p := resourceProps(bucket)
	bk := b.cfg.Backup
	if l := bk.AccessLogs; l != nil {
		p["LoggingConfiguration"] = M{"DestinationBucketName": l.Bucket, "LogFilePrefix": l.Prefix}
	} else {
		Skip(bucket, "CKV_AWS_18", "Server access logging needs a second bucket: set backup.accessLogs.bucket to one of yours; object-level access is audited with CloudTrail data events where the account enables them.")
		GuardSuppress(bucket, "s3_bucket_logging_enabled_check", "Server access logging is off: S3 delivers access logs "+
			"only to another bucket, and backup.accessLogs names none (set it to a log bucket of yours to turn them on). "+
			"Object-level access is audited with CloudTrail data events where the account enables them.")
	}
	if l := bk.ObjectLock; l != nil {
		// On a new bucket or, on update, an existing versioned one (S3 turns Object Lock on in
		// place; cluster.ValidateUpdate refuses turning it off, which S3 cannot do).
		p["ObjectLockEnabled"] = true
		p["ObjectLockConfiguration"] = M{"ObjectLockEnabled": "Enabled",
			"Rule": M{"DefaultRetention": M{"Mode": strings.ToUpper(l.Mode), "Days": l.Days}}}
	} else {
		GuardSuppress(bucket, "s3_bucket_object_lock_enabled_check", "Object Lock is off: backup.objectLock is not set, so "+
			"the backup task's chain-aware retention (backup.retention.days) and delete --purge-data can delete backups. "+
			"Set backup.objectLock {mode, days} to make them write-once for that long.")
	}
	if bk.CopyTo != nil {
		b.replication(t, p, keyArn, bucketArn)
	}
}

// replication copies every new object under backups/ (artifacts, manifests) to
// backup.copyTo: encrypted there with the user's key of that region, deletes not copied (the
// copy outlives the cluster's retention and a delete in the source; its own lifecycle rules
// decide how long it keeps them). Objects written before replication was set up are not
// copied (S3 Batch Replication does that).
func (b *builder) replication(t *Template, bucketProps M, keyArn, bucketArn any) {
	cp := b.cfg.Backup.CopyTo
	dest := Sub("arn:${AWS::Partition}:s3:::" + cp.Bucket)
	// the role's policy is its own resource, after the bucket: the bucket names the role,
	// the policy names the bucket, and a policy inside the role would make a cycle
	t.Add(sharedReplicationRole, "AWS::IAM::Role", M{
		"Description":              "neo4jctl " + b.name + ": S3 replicates backups to " + cp.Bucket + " in " + cp.Region,
		"AssumeRolePolicyDocument": assumeRole("s3.amazonaws.com", nil),
		"Tags":                     b.resourceTags(),
	}, true)
	via := func(region any) M { return M{"StringEquals": M{"kms:ViaService": region}} }
	t.Add(sharedReplicationPolicy, "AWS::IAM::Policy", M{
		"PolicyName": "replicate-backups",
		"Roles":      L{Ref(sharedReplicationRole)},
		"PolicyDocument": policyDoc(
			statement([]string{"s3:GetReplicationConfiguration", "s3:ListBucket"}, bucketArn, nil),
			statement([]string{"s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging",
				"s3:GetObjectRetention", "s3:GetObjectLegalHold"}, Join("", bucketArn, "/"+naming.BackupPrefix+"*"), nil),
			statement([]string{"s3:ReplicateObject", "s3:ReplicateTags"}, Join("", dest, "/"+naming.BackupPrefix+"*"), nil),
			statement([]string{"kms:Decrypt"}, keyArn, via(Sub("s3.${AWS::Region}.amazonaws.com"))),
			statement([]string{"kms:Encrypt", "kms:GenerateDataKey"}, cp.KMSKeyARN, via("s3."+cp.Region+".amazonaws.com")),
		),
	}, false)
	bucketProps["ReplicationConfiguration"] = M{
		"Role": GetAtt(sharedReplicationRole, "Arn"),
		"Rules": L{M{
			"Id":                      "backups-to-" + cp.Region,
			"Priority":                1,
			"Status":                  "Enabled",
			"Filter":                  M{"Prefix": naming.BackupPrefix},
			"DeleteMarkerReplication": M{"Status": "Disabled"},
			"SourceSelectionCriteria": M{"SseKmsEncryptedObjects": M{"Status": "Enabled"}},
			"Destination": M{
				"Bucket":                  dest,
				"EncryptionConfiguration": M{"ReplicaKmsKeyID": cp.KMSKeyARN},
			},
		}},
	}
}

// objectLockRead lets the backup task read each backup's Object Lock retention and legal
// hold, so that retention never tries to delete a locked backup (nil without object lock).
func (b *builder) objectLockRead(backups any) M {
	if b.cfg.Backup.ObjectLock == nil {
		return nil
	}
	return statement([]string{"s3:GetObjectRetention", "s3:GetObjectLegalHold"}, backups, nil)
}

// objectLockEnv is the backup task's NEO4JCTL_BACKUP_OBJECT_LOCK: MODE:days ("" without).
func (b *builder) objectLockEnv() string {
	l := b.cfg.Backup.ObjectLock
	if l == nil {
		return ""
	}
	return fmt.Sprintf("%s:%d", strings.ToUpper(l.Mode), l.Days)
}
