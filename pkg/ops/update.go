package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
)

// Update previews every stack's change set, refuses dangerous changes without Force, and
// applies on confirmation, core members one at a time. What commands without -f set since
// the file was last applied (the last-applied record, Applied) is kept: a file that would
// undo it is refused unless Overwrite, and a stopped cluster stays stopped (the record's Run).
// Once every stack is updated the file becomes the new record.
type Update struct {
	*Cluster
	Config    *cluster.ClusterConfig
	File      string
	Loaded    *cluster.File // the file's lines, for the conflicts (nil: no lines named)
	Force     bool          // allow replacing a member's volume or restarting a running member
	Yes       bool          // apply without asking
	Overwrite bool          // apply the file's values over what imperative commands set
	// RefreshAMI moves the instances to the ECS-optimized AMI AWS recommends now (and the core
	// hosts to this release's agent); otherwise each stack keeps what it is pinned to. The
	// members roll like any other instance change (Force), through the gated roll.
	RefreshAMI bool
	Release    Release
	Precheck   Precheck
	S3         UpdateS3
	ECS        ServiceReader // which members run
	Now        func() time.Time
	record     *Applied // the last-applied record; nil before the first (a cluster of an older neo4jctl)
	// ignoreRecord: the file alone decides (create's comparison of the stacks an earlier run
	// made with the file, before any record of this cluster exists)
	ignoreRecord bool
	ap           *apply // the update's apply, made once (it remembers the empty stacks)
	// Roll shapes the gated roll of members that --force restarts (update_roll.go).
	Roll RollOptions
}

// OverwriteFlag applies a file over what imperative commands set.
const OverwriteFlag = "--overwrite-imperative"

// UpdateS3 is what update does with S3: the agent bundles and the last-applied record.
type UpdateS3 interface {
	BundleStore
	AppliedStore
}

// NewUpdate is update on the handle's clients with the loaded cluster.yaml.
func NewUpdate(c *Cluster, f *cluster.File, force, yes bool, rel Release) *Update {
	return &Update{Cluster: c, Config: f.Config, File: f.Path, Loaded: f, Force: force, Yes: yes, Release: rel,
		Precheck: existingPrecheck(c.AWS), S3: c.AWS.S3, ECS: c.AWS.ECS, Now: time.Now}
}

// RefusedError is an update that would destroy a member's data or take a running member down.
type RefusedError struct {
	Reasons []string
	// Restarts: running core members the update would restart; --force rolls them.
	Restarts bool
}

func (e *RefusedError) Error() string {
	msg := "update refused:\n  " + strings.Join(e.Reasons, "\n  ") + "\nNothing was changed."
	if e.Restarts {
		msg += " Pass --force to apply it member by member, quorum first: neo4jctl updates one member stack at a time (replicas," +
			" then followers, the leader of the most databases last), each once Neo4j shows every server and database ready," +
			" and waits until the member is back and caught up before the next, so never two cores are down at once." +
			" Check first that a recent backup is in the cluster bucket's backups/ folder."
	} else {
		msg += " Pass --force to do it anyway (after checking that a recent backup is in the cluster bucket's backups/ folder)."
	}
	return msg
}

// UpdateError is a change of the stacks that failed or was interrupted part-way, with what
// to do next.
type UpdateError struct {
	Cluster, File string
	What          string   // what was being done ("" for update)
	Retry         string   // the command to run again ("" for update cluster -f File)
	Stopped       bool     // interrupted by the user
	TimedOut      bool     // the command's deadline (--timeout) passed
	InProgress    []string // stacks still updating in AWS (interrupted or timed out)
	NotStarted    []string // stacks whose change set was not applied
	RolledBack    []string // stacks CloudFormation rolled back to their previous state
	Failed        []error
	Explains      []string
}

func (e *UpdateError) Error() string {
	var b strings.Builder
	what := e.What
	if what == "" {
		what = "update"
	}
	switch {
	case e.Stopped:
		fmt.Fprintf(&b, "%s of cluster %s interrupted", what, e.Cluster)
	case e.TimedOut:
		fmt.Fprintf(&b, "%s of cluster %s stopped by --timeout", what, e.Cluster)
	default:
		fmt.Fprintf(&b, "%s of cluster %s failed", what, e.Cluster)
	}
	for _, err := range e.Failed {
		fmt.Fprintf(&b, "\n%s", err)
	}
	if len(e.RolledBack) > 0 {
		fmt.Fprintf(&b, "\nCloudFormation rolled back %s: they run as before the update.", strings.Join(e.RolledBack, ", "))
	}
	if len(e.InProgress) > 0 {
		fmt.Fprintf(&b, "\nStill updating in AWS: %s. CloudFormation carries on without neo4jctl (and rolls back by itself if the update fails); follow it with `neo4jctl get cluster %s`.",
			strings.Join(e.InProgress, ", "), e.Cluster)
	}
	if len(e.NotStarted) > 0 {
		fmt.Fprintf(&b, "\nNot updated: %s.", strings.Join(e.NotStarted, ", "))
	}
	for _, x := range e.Explains {
		fmt.Fprintf(&b, "\n%s", x)
	}
	retry := e.Retry
	if retry == "" {
		retry = "update cluster -f " + e.File
	}
	if len(e.InProgress) > 0 {
		fmt.Fprintf(&b, "\nOnce no stack is in progress, run `neo4jctl %s` again to apply the rest.", retry)
	} else {
		fmt.Fprintf(&b, "\nFix the cause and run `neo4jctl %s` again.", retry)
	}
	return b.String()
}

// apply is the update's apply: the file's config with what the record says runs.
func (u *Update) apply() *apply {
	if u.ap == nil {
		u.ap = &apply{Cluster: u.Cluster, cfg: u.Config, release: u.Release, precheck: u.Precheck,
			s3: u.S3, ecs: u.ECS, file: u.File, refreshAMI: u.RefreshAMI}
	}
	return u.ap
}

// Plan reads the last-applied record and refuses a file that would undo what commands
// without -f set (unless Overwrite), renders the config (a stopped cluster stays stopped),
// previews every stack's change set and finds what must be refused. Change sets are made
// but nothing is applied: Ask or Discard ends them.
func (u *Update) Plan(ctx context.Context) (*UpdatePlan, error) {
	live, err := u.apply().liveStacks(ctx)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return nil, fmt.Errorf("no cluster %s in %s to update; create it with `neo4jctl create cluster -f %s`", u.Name, u.Region, u.File)
	}
	if err != nil {
		return nil, err
	}
	if err := u.checkRecord(ctx); err != nil {
		return nil, err
	}
	if u.record != nil && u.record.Stopped != nil {
		u.emit(StaysStopped{Cluster: u.Name, Since: u.record.Stopped.At})
	}
	a := u.apply()
	a.run = u.record.Run(false)
	return a.plan(ctx, live)
}

// checkRecord loads the record (none is fine: the first update of a cluster of an older
// neo4jctl records one; its bucket's Object Lock is checked) and refuses what the file
// would undo or cannot do.
func (u *Update) checkRecord(ctx context.Context) error {
	if u.ignoreRecord {
		return nil
	}
	rec, err := u.LoadApplied(ctx, u.S3)
	var none *NoRecordError
	switch {
	case errors.As(err, &none):
		return u.checkLiveLock(ctx, none.Bucket)
	case err != nil:
		return err
	}
	u.record = rec
	if err := cluster.ValidateUpdate(rec.Config, u.Config, u.Loaded); err != nil {
		return err
	}
	conflicts, err := rec.Conflicts(u.loaded())
	if err != nil || len(conflicts) == 0 {
		return err
	}
	if !u.Overwrite {
		return &ImperativeConflictError{Cluster: u.Name, File: u.File, Conflicts: conflicts, Flag: OverwriteFlag}
	}
	for _, c := range conflicts {
		u.emit(ImperativeOverwritten{Conflict: c})
	}
	return nil
}

func (u *Update) loaded() *cluster.File {
	if u.Loaded != nil {
		return u.Loaded
	}
	return &cluster.File{Path: u.File, Config: u.Config}
}

// Discard removes the plan's change sets: nothing of it will be applied.
func (u *Update) Discard(ctx context.Context, p *UpdatePlan) { u.apply().discard(ctx, p.sets) }

// Ask refuses what must be refused without Force, then asks (unless Yes). Either way out
// discards the change sets.
func (u *Update) Ask(ctx context.Context, p *UpdatePlan) error {
	if len(p.Refusals) > 0 && !u.Force {
		u.Discard(ctx, p)
		return &RefusedError{Reasons: p.Refusals, Restarts: p.Restarts}
	}
	ok, err := u.confirm(ctx, fmt.Sprintf("Apply these changes to %d stacks? [y/N] ", p.Changed()), "update cluster "+u.Name, "--yes", u.Yes)
	if err != nil || !ok {
		u.Discard(ctx, p)
		if err != nil {
			return err
		}
		return errors.New("nothing changed")
	}
	return nil
}

// Execute uploads the agent bundles (only now, once the user said yes: the operations
// stack's Lambdas need them), applies the change sets in order, core members one at a time,
// each once the one before is complete, and records the file as the last-applied config.
func (u *Update) Execute(ctx context.Context, p *UpdatePlan) error {
	a := u.apply()
	if u.Force && !u.Roll.Ungated {
		a.roll, a.resume = &u.Roll, fmt.Sprintf("neo4jctl update cluster -f %s --force", u.File)
	}
	if err := a.execute(ctx, p); err != nil {
		return err
	}
	return u.Record(ctx)
}

// Record makes the file the last-applied config: what commands set is in it now (the file
// agreed, or Overwrite), and a stopped cluster is still stopped.
// An update that changed no stack records only what changed in the record (a field the
// file now agrees with, a first record).
func (u *Update) Record(ctx context.Context) error {
	rec := NewApplied(u.Config)
	if u.record != nil {
		rec.Stopped = u.record.Stopped
		if len(u.record.Imperative) == 0 && sameConfig(u.record.Config, u.Config) {
			return nil
		}
	}
	if err := u.SaveApplied(ctx, u.S3, rec, "update cluster -f "+u.File, u.Release.Version, u.Now()); err != nil {
		return fmt.Errorf("the stacks of %s are updated, but %w; run `neo4jctl update cluster -f %s` again to record it", u.Name, err, u.File)
	}
	u.record = rec
	return nil
}

// sameConfig reports whether two configs say the same.
func sameConfig(a, b *cluster.ClusterConfig) bool {
	ja, erra := json.Marshal(a)
	jb, errb := json.Marshal(b)
	return erra == nil && errb == nil && bytes.Equal(ja, jb)
}
