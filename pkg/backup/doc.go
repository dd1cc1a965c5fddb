// Package backup is the backup catalog of a cluster: where backups live in the cluster
// bucket, what neo4j-admin says about them, the manifests the backup task writes next to
// them, the full+differential chains they form, what retention deletes and when, and the
// lock that keeps two backups from running at once. The agent's backup and verify runners
// write through it; the CLI (backup list, create, verify, restore) reads through it, so
// listing never downloads an artifact.
//
// S3 layout, in the cluster bucket:
//
//	backups/<database>-<yyyy-MM-ddTHH-mm-ss>.backup   artifacts, named and written by neo4j-admin
//	backups/.neo4jctl/manifests/<database>.json        one manifest per database (Manifest)
//	backups/.neo4jctl/lock.json                        the backup lock (LockInfo), leased
//	backups/.neo4jctl/reports/<artifact>.report        consistency-check report of a failed verify
//
// neo4jctl's own objects sit under backups/ so that they travel with the artifacts (bucket
// replication, object lock and the lifecycle backstop all apply to the prefix), and in a
// sub-folder, where neo4j-admin, which reads only <database>-<time>.backup files of the
// folder itself, never sees them.
package backup

import "github.com/neo4jctl/neo4jctl/pkg/naming"

// Key layout (see the package comment).
const (
	// Prefix is the folder of the artifacts in the cluster bucket.
	Prefix = naming.BackupPrefix
	// MetaPrefix holds neo4jctl's objects beside the artifacts.
	MetaPrefix = Prefix + ".neo4jctl/"
	// ManifestPrefix holds one manifest per database.
	ManifestPrefix = MetaPrefix + "manifests/"
	// LockKey is the backup lock.
	LockKey = MetaPrefix + "lock.json"
	// ReportPrefix holds the consistency-check reports of failed verifications.
	ReportPrefix = MetaPrefix + "reports/"
)

// ManifestKey is the manifest of one database.
func ManifestKey(database string) string { return ManifestPrefix + database + ".json" }

// ReportKey is where the report of a failed consistency check of an artifact goes.
func ReportKey(artifactName string) string { return ReportPrefix + artifactName + ".report" }
