package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// ResetData gives every core member of a stopped cluster a new, empty data volume through
// its stack, and deletes the old ones: first each member's stack adopts its own volume by id
// (ExistingVolumeId, so that the stack lets it go: the volume is retained, never deleted by
// CloudFormation), then neo4jctl deletes it, then the stack creates a new one (ExistingVolumeId
// empty). Every step reads where it stands from the stacks' parameters, so an interrupted
// reset-data is finished by running it again. It clears the restore marker, so that a
// restore.from (--restore-from sets it in the last-applied config) seeds the new cluster.
type ResetData struct {
	Imperative
	RestoreFrom string
	Yes         bool
	EC2         VolumeAPI
	Objects     ObjectDeleter
}

// ObjectDeleter deletes the restore marker.
type ObjectDeleter interface {
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// NewResetData is reset-data on the handle's clients.
func NewResetData(c *Cluster, restoreFrom string, yes bool, rel Release) *ResetData {
	cmd := "reset-data cluster " + c.Name
	if restoreFrom != "" {
		cmd += " --restore-from " + restoreFrom
	}
	return &ResetData{Imperative: newImperative(c, cmd, rel), RestoreFrom: restoreFrom, Yes: yes, EC2: c.AWS.EC2, Objects: c.AWS.S3}
}

// DataVolume is a member's data volume reset-data deletes.
type DataVolume struct {
	Member  string    `json:"member"`
	ID      string    `json:"id"`
	SizeGiB int32     `json:"sizeGiB,omitempty"`
	AZ      string    `json:"availabilityZone,omitempty"`
	State   string    `json:"state"` // available, or gone (an earlier run deleted it)
	Created time.Time `json:"created,omitzero"`
	index   int
}

// ResetPlan is what reset-data deletes and what the cluster starts from afterwards.
type ResetPlan struct {
	Cluster     string       `json:"cluster"`
	Volumes     []DataVolume `json:"volumes"`
	RestoreFrom string       `json:"restoreFrom,omitempty"`
	Bucket      string       `json:"bucket"`
}

// Text is the plan for people.
func (p *ResetPlan) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Reset the data of cluster %s: every core member gets a new, empty data volume, and these are deleted for good:\n", p.Cluster)
	for _, v := range p.Volumes {
		if v.State == "gone" {
			fmt.Fprintf(&b, "  %s  %s  (deleted by an earlier run)\n", v.Member, v.ID)
			continue
		}
		fmt.Fprintf(&b, "  %s  %s  %d GiB in %s, created %s\n", v.Member, v.ID, v.SizeGiB, v.AZ, v.Created.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "The restore marker s3://%s/%s is cleared. ", p.Bucket, naming.RestoreDoneKey)
	if p.RestoreFrom != "" {
		fmt.Fprintf(&b, "On start, the first core seeds the databases from %s (restore.from).\n", p.RestoreFrom)
	} else {
		fmt.Fprintf(&b, "On start, the cluster forms empty (no restore.from).\n")
	}
	return b.String()
}

// NotStoppedError: reset-data refuses a cluster that runs.
type NotStoppedError struct {
	Cluster string
	Running []string
}

func (e *NotStoppedError) Error() string {
	return fmt.Sprintf("reset-data refused: cluster %s is not stopped (%s); nothing was changed. Stop it first: `neo4jctl stop cluster %s`",
		e.Cluster, strings.Join(e.Running, "; "), e.Cluster)
}

// Plan requires a stopped cluster (in its record and its stacks, every volume detached),
// checks --restore-from and lists the volumes; it changes nothing.
func (r *ResetData) Plan(ctx context.Context) (*ResetPlan, error) {
	if err := r.load(ctx); err != nil {
		return nil, err
	}
	if err := r.stopped(); err != nil {
		return nil, err
	}
	p := &ResetPlan{Cluster: r.Name, RestoreFrom: r.RestoreFrom}
	if p.RestoreFrom == "" && r.record.Config.Restore != nil {
		p.RestoreFrom = r.record.Config.Restore.From
	}
	if err := r.checkRestoreFrom(); err != nil {
		return nil, err
	}
	p.Bucket, _ = r.bucket(ctx)
	var err error
	p.Volumes, err = r.volumes(ctx)
	return p, err
}

// stopped requires the record's stopped state and nothing running in the stacks.
func (r *ResetData) stopped() error {
	var running []string
	for _, m := range r.members() {
		st := memberState(m.Tags[naming.TagMember], m.Parameters, m.Outputs)
		if st.Tasks > 0 || st.Instances > 0 {
			running = append(running, fmt.Sprintf("%s runs %d task on %d instance", st.Name, st.Tasks, st.Instances))
		}
	}
	if rs := r.stack(naming.KindReplicas, 0); rs != nil {
		if st := memberState("replicas", rs.Parameters, rs.Outputs); st.Tasks > 0 || st.Instances > 0 {
			running = append(running, fmt.Sprintf("the replicas run %d tasks on %d instances", st.Tasks, st.Instances))
		}
	}
	if r.record.Stopped == nil && len(running) == 0 {
		running = append(running, "its last-applied config does not say it is stopped")
	}
	if len(running) > 0 {
		return &NotStoppedError{Cluster: r.Name, Running: running}
	}
	return nil
}

// checkRestoreFrom validates --restore-from as restore.from would be.
func (r *ResetData) checkRestoreFrom() error {
	if r.RestoreFrom == "" {
		return nil
	}
	next := *r.record.Config
	next.Restore = &cluster.Restore{From: r.RestoreFrom}
	if err := cluster.Validate(&next, nil); err != nil {
		return fmt.Errorf("--restore-from %s: %w", r.RestoreFrom, err) // a cluster.ErrorList: exit 2
	}
	return nil
}

// volumes are the members' data volumes: the one a stack adopted in an earlier, interrupted
// run, else the one it made. Each must be detached.
func (r *ResetData) volumes(ctx context.Context) ([]DataVolume, error) {
	var out []DataVolume
	var ids []string
	for _, m := range r.members() {
		v := DataVolume{Member: m.Tags[naming.TagMember], index: memberIndex(m.Tags[naming.TagMember]), ID: m.Parameters[stack.ParamExistingVolumeID], State: "gone"}
		if v.ID == "" {
			v.ID = m.Outputs[stack.OutputVolumeID]
		}
		out = append(out, v)
		ids = append(ids, v.ID)
	}
	found, err := r.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{{Name: aws.String("volume-id"), Values: ids}}})
	if err != nil {
		return nil, fmt.Errorf("reading the data volumes of %s: %w", r.Name, awsapi.Clean(err))
	}
	var attached []string
	for i := range out {
		for _, fv := range found.Volumes {
			if aws.ToString(fv.VolumeId) != out[i].ID {
				continue
			}
			out[i].State, out[i].SizeGiB, out[i].AZ, out[i].Created = string(fv.State), aws.ToInt32(fv.Size), aws.ToString(fv.AvailabilityZone), aws.ToTime(fv.CreateTime)
			if fv.State != "available" {
				attached = append(attached, fmt.Sprintf("%s (%s) is %s", out[i].ID, out[i].Member, fv.State))
			}
		}
	}
	if len(attached) > 0 {
		return nil, fmt.Errorf("reset-data refused: %s; the instances of %s are still going. Wait until `neo4jctl stop cluster %s` is done (it waits for them) and run reset-data again",
			strings.Join(attached, ", "), r.Name, r.Name)
	}
	return out, nil
}

// Ask makes the user type the cluster's name (unless Yes).
func (r *ResetData) Ask(ctx context.Context, p *ResetPlan) error {
	if r.Yes {
		return nil
	}
	typed, ok := r.Prompt.(NamePrompter)
	if r.Prompt == nil || !ok {
		return &ConfirmationNeededError{What: "reset-data cluster " + r.Name, Flag: "--yes"}
	}
	yes, err := typed.ConfirmName(ctx, fmt.Sprintf("This deletes %d data volumes of %s for good. Type the cluster name to go on: ", len(p.Volumes), r.Name), r.Name)
	if err != nil {
		return err
	}
	if !yes {
		return errors.New("the name did not match; nothing changed")
	}
	return nil
}

// NamePrompter asks people to type a name to confirm something destructive.
type NamePrompter interface {
	ConfirmName(ctx context.Context, question, name string) (bool, error)
}

// Execute lets each stack go of its volume, deletes the volumes, makes new ones, clears the
// restore marker and records --restore-from.
func (r *ResetData) Execute(ctx context.Context, p *ResetPlan) error {
	adopt, fresh := map[int]string{}, map[int]string{}
	for _, v := range p.Volumes {
		adopt[v.index], fresh[v.index] = v.ID, ""
	}
	a := r.withVolumes(adopt)
	if err := a.step(ctx, "Releasing the data volumes from the member stacks (each kept, adopted by id)", stack.Stopped(), true, naming.KindCore); err != nil {
		return err
	}
	if err := r.deleteVolumes(ctx, p.Volumes); err != nil {
		return err
	}
	if r.RestoreFrom != "" {
		if err := r.record.Set("restore.from", "reset-data", r.Now(), func(c *cluster.ClusterConfig) { c.Restore = &cluster.Restore{From: r.RestoreFrom} }); err != nil {
			return err
		}
	}
	a = r.withVolumes(fresh)
	if err := a.step(ctx, "Giving every core member a new, empty data volume", stack.Stopped(), true, naming.KindCore, naming.KindShared); err != nil {
		return err
	}
	if err := r.clearMarker(ctx, p.Bucket); err != nil {
		return err
	}
	return r.save(ctx)
}

// withVolumes is the command with its steps' volume overrides.
func (r *ResetData) withVolumes(v map[int]string) *Imperative {
	i := &r.Imperative
	i.volumes = v
	return i
}

// deleteVolumes deletes each old volume, naming it; one already gone is done.
func (r *ResetData) deleteVolumes(ctx context.Context, vols []DataVolume) error {
	var errs []error
	for _, v := range vols {
		_, err := r.EC2.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(v.ID)})
		switch {
		case err == nil:
			r.emit(VolumeDeleted{ID: v.ID, Member: v.Member})
		case awsapi.IsNotFound(err):
		default:
			errs = append(errs, fmt.Errorf("deleting volume %s (%s): %w", v.ID, v.Member, awsapi.Clean(err)))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w\nThe member stacks hold the volumes by id now; fix the cause and run `neo4jctl %s` again", errors.Join(errs...), r.Command)
	}
	return nil
}

// clearMarker deletes the restore marker, so that restore.from seeds the new volumes.
func (r *ResetData) clearMarker(ctx context.Context, bucket string) error {
	if _, err := r.Objects.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(naming.RestoreDoneKey)}); err != nil && !awsapi.IsNotFound(err) {
		return fmt.Errorf("clearing the restore marker s3://%s/%s: %w", bucket, naming.RestoreDoneKey, awsapi.Clean(err))
	}
	r.emit(Note{Text: fmt.Sprintf("Cleared the restore marker s3://%s/%s", bucket, naming.RestoreDoneKey)})
	return nil
}
