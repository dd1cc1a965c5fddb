package ops

import (
	"fmt"
	"strings"
	"time"
)

// Event is something an action reports while it works: a small struct with the facts, and
// String, the line people read. The command renders events (on stderr, above the progress
// spinner); tests look at the facts.
type Event interface{ String() string }

// Events receives an action's events. Implementations are safe for concurrent use: stacks
// are worked on in parallel.
type Events interface{ Emit(Event) }

// Note is a remark that carries no facts worth a type of its own.
type Note struct{ Text string }

func (e Note) String() string { return e.Text }

// AccountChecked: the credentials work; the account and region everything goes to.
type AccountChecked struct{ Account, Region string }

func (e AccountChecked) String() string {
	return fmt.Sprintf("Using account %s in %s", e.Account, e.Region)
}

// QuorumAtRisk: subnets sharing an AZ put a majority of the core members in it.
type QuorumAtRisk struct {
	AZ             string
	Members, Cores int
	Subnets        []string
}

func (e QuorumAtRisk) String() string {
	return fmt.Sprintf("Warning: %d of %d core members land in %s (subnets %s): losing that AZ loses quorum; use subnets in more AZs",
		e.Members, e.Cores, e.AZ, strings.Join(e.Subnets, ", "))
}

// DataAdopted: what a create adopts of the data an earlier cluster of the same name kept,
// and what it leaves alone.
type DataAdopted struct{ Adoption *Adoption }

func (e DataAdopted) String() string { return e.Adoption.Text() }

// SecretRestored: an adopted secret was scheduled for deletion; create restored it.
type SecretRestored struct {
	Name     string
	Deletion time.Time
}

func (e SecretRestored) String() string {
	return fmt.Sprintf("Restored secret %s, which was scheduled for deletion on %s: it holds the password of the kept data", e.Name, day(e.Deletion))
}

// SecretRekeyed: an adopted secret now uses the cluster's KMS key.
type SecretRekeyed struct{ Name, From, To string }

func (e SecretRekeyed) String() string {
	from := "KMS key " + e.From
	if e.From == "" {
		from = "the AWS managed key"
	}
	return fmt.Sprintf("Secret %s re-encrypted from %s to the cluster's KMS key %s (same password)", e.Name, from, e.To)
}

// CreateResumed: stacks of an earlier create exist; create carries on from there.
type CreateResumed struct {
	Cluster                   string
	Existing, Total, Complete int
}

func (e CreateResumed) String() string {
	return fmt.Sprintf("Resuming a previous create of %s: %d of %d stacks exist, %d of them complete", e.Cluster, e.Existing, e.Total, e.Complete)
}

// StackRecreated: a stack an earlier create left rolled back is deleted to be made again.
type StackRecreated struct{ Stack, Status string }

func (e StackRecreated) String() string {
	return fmt.Sprintf("Stack %s is %s from an earlier attempt: deleting the empty stack to create it again", e.Stack, e.Status)
}

// CreateStarted: create starts making the stacks.
type CreateStarted struct {
	Cluster string
	Stacks  int
}

func (e CreateStarted) String() string {
	return fmt.Sprintf("Creating cluster %s: %d stacks (members in parallel once the shared stack exists)", e.Cluster, e.Stacks)
}

// StackAwaited: a stack an earlier run started is still in progress; create waits for it.
type StackAwaited struct{ Stack, Status string }

func (e StackAwaited) String() string {
	return fmt.Sprintf("Stack %s is already %s: waiting for it", e.Stack, e.Status)
}

// BundleUploaded: an agent bundle is in the cluster bucket (Existed: it was already there).
type BundleUploaded struct {
	Bucket, Key string
	Existed     bool
}

func (e BundleUploaded) String() string {
	if e.Existed {
		return fmt.Sprintf("Agent bundle %s already in s3://%s", e.Key, e.Bucket)
	}
	return fmt.Sprintf("Uploaded agent bundle s3://%s/%s", e.Bucket, e.Key)
}

// StackNotInConfig: a live stack the config no longer makes; update leaves it alone.
type StackNotInConfig struct{ Stack, File string }

func (e StackNotInConfig) String() string {
	return fmt.Sprintf("Note: stack %s is not in %s any more; update never removes a member or the replicas (a core scale-in must DEALLOCATE and DROP the server first), so it is left as it is", e.Stack, e.File)
}

// CoresRolling: core member stacks are updated one at a time.
type CoresRolling struct{ Stacks []string }

func (e CoresRolling) String() string {
	return fmt.Sprintf("Updating core member stacks one at a time (%s), each once the one before is UPDATE_COMPLETE", strings.Join(e.Stacks, ", then "))
}

// DeletePlanned: what a delete removes and what it keeps, said before asking.
type DeletePlanned struct{ Plan *DeletePlan }

func (e DeletePlanned) String() string { return e.Plan.Text() }

// CloudMapCleaned: instances registered outside CloudFormation were deregistered so that
// their services can be deleted.
type CloudMapCleaned struct{ Instances int }

func (e CloudMapCleaned) String() string {
	return fmt.Sprintf("Deregistered %d Cloud Map instances registered outside CloudFormation", e.Instances)
}

// VolumeDeleted: --purge-data deleted a member's volume.
type VolumeDeleted struct{ ID, Member string }

func (e VolumeDeleted) String() string { return fmt.Sprintf("Deleted volume %s (%s)", e.ID, e.Member) }

// BucketDeleted: --purge-data emptied and deleted the cluster bucket.
type BucketDeleted struct{ Bucket string }

func (e BucketDeleted) String() string { return "Deleted bucket " + e.Bucket }

// SecretDeleted: --purge-data deleted a user's secret, without a recovery window.
type SecretDeleted struct{ Name string }

func (e SecretDeleted) String() string {
	return "Deleted secret " + e.Name + " (no recovery window: the name is free again)"
}

// BackupsLocked: --purge-data found backups object lock keeps; they stay, and so do their
// bucket, the key that decrypts them and the users' secrets.
type BackupsLocked struct {
	Locked LockedObjects
	Rerun  string
}

func (e BackupsLocked) String() string {
	s := "Could not delete " + e.Locked.String() + ". Kept with them: the bucket"
	if e.Locked.KeyID != "" {
		s += ", KMS key " + e.Locked.KeyID + " (it decrypts them)"
	}
	s += " and the users' secrets. "
	if !e.Locked.Until.IsZero() {
		return s + fmt.Sprintf("Run `%s` again after %s to delete them.", e.Rerun, day(e.Locked.Until))
	}
	return s + fmt.Sprintf("Run `%s` again once the legal holds are lifted.", e.Rerun)
}

// KeyScheduledForDeletion: --purge-data scheduled the KMS key's deletion.
type KeyScheduledForDeletion struct {
	KeyID string
	Days  int
}

func (e KeyScheduledForDeletion) String() string {
	return fmt.Sprintf("Scheduled KMS key %s for deletion in %d days (`aws kms cancel-key-deletion --key-id %s` until then keeps it)", e.KeyID, e.Days, e.KeyID)
}

// RollbackDeclined: after Ctrl-C, a second Ctrl-C while asking about the rollback.
type RollbackDeclined struct{}

func (RollbackDeclined) String() string { return "\nLeaving the stacks as they are." }

// FormationWaiting: create waits for Neo4j to form the cluster.
type FormationWaiting struct {
	Cluster         string
	Cores, Replicas int
	Until           time.Duration // at most
}

func (e FormationWaiting) String() string {
	what := fmt.Sprintf("%d core members", e.Cores)
	if e.Replicas > 0 {
		what += fmt.Sprintf(" and %d replicas", e.Replicas)
	}
	return fmt.Sprintf("Waiting for Neo4j to form cluster %s: %s to join, system and the default database online (at most %s)", e.Cluster, what, e.Until)
}

// MemberJoined: a core member's server (or a replica's) is Enabled and Available.
type MemberJoined struct {
	Member     string // core-N, or replica
	Joined, Of int
}

func (e MemberJoined) String() string {
	return fmt.Sprintf("%s joined (%d of %d)", e.Member, e.Joined, e.Of)
}

// ClusterFormed: every member joined, system and the default database are online.
type ClusterFormed struct {
	Cluster         string
	Cores, Replicas int
}

func (e ClusterFormed) String() string {
	return fmt.Sprintf("Cluster %s formed: %d core members and %d replicas Enabled and Available, system and the default database online", e.Cluster, e.Cores, e.Replicas)
}
