package cluster

import "fmt"

// ValidateUpdate checks the changes from prev, the config a cluster runs with, to next, the
// one an update would apply, for what AWS cannot do to a running cluster; f gives next's
// lines (it may be nil). What it refuses:
//   - backup.objectLock removed: S3 cannot turn Object Lock off on a bucket (lowering days
//     or moving from compliance to governance changes only objects written from then on).
//
// Turning Object Lock on for an existing cluster is allowed (S3 enables it on a versioned
// bucket, CloudFormation updates the bucket in place); it locks only objects written from
// then on, not the backups already there.
func ValidateUpdate(prev, next *ClusterConfig, f *File) error {
	v := &validator{file: f}
	if prev.Backup.ObjectLock != nil && next.Backup.ObjectLock == nil {
		path := "backup"
		if f != nil && f.Line("backup") == 0 {
			path = ""
		}
		v.add(path, fmt.Sprintf("backup.objectLock (%s, %d days) is on for this cluster and cannot be turned off: S3 keeps Object Lock on a bucket for good",
			prev.Backup.ObjectLock.Mode, prev.Backup.ObjectLock.Days),
			"keep backup.objectLock; lower its days (or use governance mode) to lock new backups for less")
	}
	if len(v.errs) == 0 {
		return nil
	}
	if f != nil && f.Path != "" {
		v.errs.setFile(f.Path)
	}
	return v.errs
}
