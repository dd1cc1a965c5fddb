package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// CloudMapCleaner deregisters the Cloud Map instances CloudFormation does not own.
type CloudMapCleaner interface {
	ListServices(context.Context, *servicediscovery.ListServicesInput, ...func(*servicediscovery.Options)) (*servicediscovery.ListServicesOutput, error)
	ListInstances(context.Context, *servicediscovery.ListInstancesInput, ...func(*servicediscovery.Options)) (*servicediscovery.ListInstancesOutput, error)
	DeregisterInstance(context.Context, *servicediscovery.DeregisterInstanceInput, ...func(*servicediscovery.Options)) (*servicediscovery.DeregisterInstanceOutput, error)
}

// Delete removes a cluster's stacks in reverse order. Member volumes, the bucket and the KMS
// key are kept unless PurgeData; with PurgeData they are found by the cluster tag too, so a
// purge after a plain delete still finds them.
type Delete struct {
	*Cluster
	EC2       VolumeDeleter
	S3        BucketDeleter
	KMS       KeyDeleter
	CloudMap  CloudMapCleaner
	PurgeData bool // also delete the member volumes, the bucket (backups) and the KMS key
	Yes       bool // do not ask
}

// NewDelete is delete on the handle's clients.
func NewDelete(c *Cluster, purgeData, yes bool) *Delete {
	return &Delete{Cluster: c, EC2: c.AWS.EC2, S3: c.AWS.S3, KMS: c.AWS.KMS, CloudMap: c.AWS.CloudMap, PurgeData: purgeData, Yes: yes}
}

// DeletePlan is what a delete will remove and keep.
type DeletePlan struct {
	Cluster, Region string
	Stacks          []string // creation order
	Data            KeptData
	Purge           bool

	kinds       map[string]string // stack → kind
	namespaceID string            // the Cloud Map namespace, to clean before its stacks go
}

// DeleteReport is what delete did and what is left.
type DeleteReport struct {
	Deleted   []string `json:"deleted"`
	Kept      []string `json:"kept,omitempty"`      // data kept on purpose (no --purge-data)
	Leftovers []string `json:"leftovers,omitempty"` // what should be gone and is not
}

// LeftoversError is a delete that left something behind.
type LeftoversError struct {
	Cluster   string
	Leftovers []string
	Causes    []error
}

func (e *LeftoversError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "delete of cluster %s did not finish", e.Cluster)
	if len(e.Leftovers) > 0 {
		fmt.Fprintf(&b, "; left behind:")
		for _, l := range e.Leftovers {
			fmt.Fprintf(&b, "\n  %s", l)
		}
	}
	for _, c := range e.Causes {
		fmt.Fprintf(&b, "\n%s", c)
	}
	fmt.Fprintf(&b, "\nFix the cause above and run `neo4jctl delete cluster %s` again.", e.Cluster)
	return b.String()
}

// Run plans, asks and executes: the whole delete.
func (d *Delete) Run(ctx context.Context) (*DeleteReport, error) {
	p, err := d.Plan(ctx)
	if err != nil {
		return nil, err
	}
	if err := d.Ask(ctx, p); err != nil {
		return nil, err
	}
	return d.Execute(ctx, p)
}

// Plan finds the stacks and the data; NotFoundError when there is nothing to delete (naming
// the data kept by an earlier delete, which only --purge-data removes).
func (d *Delete) Plan(ctx context.Context) (*DeletePlan, error) {
	stacks, err := d.FindStacks(ctx)
	if err != nil {
		return nil, err
	}
	data, err := d.finder().find(ctx, d.Name, d.Region, stacks)
	if err != nil {
		return nil, err
	}
	if len(stacks) == 0 && (!d.PurgeData || data.Empty()) {
		nf := &NotFoundError{Name: d.Name, Region: d.Region}
		if !data.Empty() {
			return nil, fmt.Errorf("%w\nKept from an earlier delete: %s; `neo4jctl delete cluster %s --purge-data` deletes them", nf, strings.Join(data.Names(), ", "), d.Name)
		}
		return nil, nf
	}
	p := &DeletePlan{Cluster: d.Name, Region: d.Region, Data: data, Purge: d.PurgeData, kinds: map[string]string{}}
	for _, s := range stacks {
		p.Stacks = append(p.Stacks, s.Name)
		p.kinds[s.Name] = s.Tags[naming.TagStackKind]
		if p.kinds[s.Name] == naming.KindShared {
			p.namespaceID = s.Outputs[stack.OutputNamespaceID]
		}
	}
	return p, nil
}

func (d *Delete) finder() dataFinder { return dataFinder{EC2: d.EC2, S3: d.S3, KMS: d.KMS} }

// Text says what goes and what stays.
func (p *DeletePlan) Text() string {
	var q strings.Builder
	if len(p.Stacks) == 0 {
		fmt.Fprintf(&q, "Cluster %s in %s has no stacks left (deleted before).", p.Cluster, p.Region)
	} else {
		fmt.Fprintf(&q, "Delete cluster %s in %s: %d stacks (%s).", p.Cluster, p.Region, len(p.Stacks), strings.Join(p.Stacks, ", "))
	}
	if !p.Purge {
		fmt.Fprintf(&q, "\nMember volumes, backups and the KMS key are kept.")
		return q.String()
	}
	fmt.Fprintf(&q, "\n--purge-data also deletes, for good:")
	for _, v := range p.Data.Volumes {
		fmt.Fprintf(&q, "\n  volume %s (%s data)", v.ID, v.Member)
	}
	if p.Data.Bucket != "" {
		fmt.Fprintf(&q, "\n  bucket %s (every backup in it)", p.Data.Bucket)
	}
	if p.Data.KeyID != "" {
		fmt.Fprintf(&q, "\n  KMS key %s (scheduled for deletion in %d days, the minimum; nothing it encrypted can be read after that)", p.Data.KeyID, KeyDeletionDays)
	}
	return q.String()
}

// Ask says what goes and what stays, then asks (unless Yes).
func (d *Delete) Ask(ctx context.Context, p *DeletePlan) error {
	d.emit(DeletePlanned{Plan: p})
	ok, err := d.confirm(ctx, "Delete? [y/N] ", "delete cluster "+d.Name, "--yes", d.Yes)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("nothing deleted")
	}
	return nil
}

// Execute deletes the stacks, then (PurgeData) the data, and reports what is left.
func (d *Delete) Execute(ctx context.Context, p *DeletePlan) (*DeleteReport, error) {
	rep := &DeleteReport{}
	causes := d.deleteStacks(ctx, p, rep)
	switch {
	case d.PurgeData && len(causes) == 0:
		causes = append(causes, d.purge(ctx, p.Data, rep)...)
	case !d.PurgeData:
		rep.Kept = p.Data.Names()
	}
	return d.leftovers(context.WithoutCancel(ctx), rep, causes)
}

// deleteStacks deletes the stacks in reverse creation order, cleaning Cloud Map right before
// the stacks that own its services.
func (d *Delete) deleteStacks(ctx context.Context, p *DeletePlan, rep *DeleteReport) []error {
	deps := map[string][]string{}
	for _, n := range p.Stacks {
		for _, dep := range p.Stacks {
			if kindBefore(p.kinds[dep], p.kinds[n]) {
				deps[n] = append(deps[n], dep)
			}
		}
	}
	var mu sync.Mutex
	var causes []error
	errs := engine.InOrder(ctx, p.Stacks, engine.Reverse(p.Stacks, deps), func(ctx context.Context, n string) error {
		return d.deleteStack(ctx, p, n, func(err error) {
			mu.Lock()
			defer mu.Unlock()
			causes = append(causes, err)
		})
	})
	for _, n := range p.Stacks {
		var skipped *engine.SkippedError
		switch err := errs[n]; {
		case err == nil:
			rep.Deleted = append(rep.Deleted, "stack "+n)
		case !errors.As(err, &skipped):
			causes = append(causes, err)
		}
	}
	return causes
}

// deleteStack deletes one stack. A Cloud Map service with instances cannot be deleted: the
// operations stack owns the core/replica records the DNS sync Lambda registers, the shared
// stack the namespace. Deregister right before each of them, when nothing that was deleted
// first (members, the Lambda) can register again; if the Lambda still did, once more.
func (d *Delete) deleteStack(ctx context.Context, p *DeletePlan, n string, cause func(error)) error {
	cleans := p.namespaceID != "" && (p.kinds[n] == naming.KindOperations || p.kinds[n] == naming.KindShared)
	if cleans {
		d.cleanCloudMap(ctx, p.namespaceID, cause)
	}
	// only stacks found by this cluster's tags get their protection turned off
	err := d.Stacks.Delete(ctx, n, true)
	var se *engine.StackError
	if cleans && errors.As(err, &se) && se.Status == engine.StatusDeleteFailed {
		d.cleanCloudMap(ctx, p.namespaceID, cause)
		err = d.Stacks.Delete(ctx, n, true)
	}
	return err
}

func (d *Delete) cleanCloudMap(ctx context.Context, namespaceID string, cause func(error)) {
	n, err := deregisterInstances(ctx, d.CloudMap, namespaceID)
	switch {
	case err != nil:
		cause(err)
	case n > 0:
		d.emit(CloudMapCleaned{Instances: n})
	}
}

// purge deletes the kept data: volumes, bucket, key.
func (d *Delete) purge(ctx context.Context, data KeptData, rep *DeleteReport) []error {
	var causes []error
	for _, v := range data.Volumes {
		if _, err := d.EC2.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(v.ID)}); err != nil {
			causes = append(causes, fmt.Errorf("deleting volume %s (%s): %w", v.ID, v.Member, awsapi.Clean(err)))
			continue
		}
		d.emit(VolumeDeleted{ID: v.ID, Member: v.Member})
		rep.Deleted = append(rep.Deleted, "volume "+v.ID+" ("+v.Member+")")
	}
	if data.Bucket != "" {
		if err := emptyAndDeleteBucket(ctx, d.S3, data.Bucket); err != nil {
			causes = append(causes, err)
		} else {
			d.emit(BucketDeleted{Bucket: data.Bucket})
			rep.Deleted = append(rep.Deleted, "bucket "+data.Bucket)
		}
	}
	if data.KeyID != "" {
		if err := scheduleKeyDeletion(ctx, d.KMS, data.KeyID); err != nil {
			causes = append(causes, err)
		} else {
			d.emit(KeyScheduledForDeletion{KeyID: data.KeyID, Days: KeyDeletionDays})
			rep.Deleted = append(rep.Deleted, "KMS key "+data.KeyID+" (scheduled)")
		}
	}
	return causes
}

// leftovers looks again: stacks still there and, after a purge, data still there.
func (d *Delete) leftovers(ctx context.Context, rep *DeleteReport, causes []error) (*DeleteReport, error) {
	left, err := d.FindStacks(ctx)
	if err != nil {
		return rep, err
	}
	for _, s := range left {
		rep.Leftovers = append(rep.Leftovers, fmt.Sprintf("stack %s (%s)", s.Name, s.Status))
	}
	if d.PurgeData {
		rest, err := d.finder().find(ctx, d.Name, d.Region, left)
		if err != nil {
			causes = append(causes, err)
		}
		rep.Leftovers = append(rep.Leftovers, rest.Names()...)
	}
	if len(rep.Leftovers) > 0 || len(causes) > 0 {
		return rep, &LeftoversError{Cluster: d.Name, Leftovers: rep.Leftovers, Causes: causes}
	}
	return rep, nil
}

// deregisterInstances removes the instances in the namespace's services that CloudFormation
// does not own (the DNS sync Lambda's core/replica records, tasks that died uncleanly): a
// Cloud Map service with instances cannot be deleted.
func deregisterInstances(ctx context.Context, api CloudMapCleaner, namespaceID string) (int, error) {
	n := 0
	svcs, err := api.ListServices(ctx, &servicediscovery.ListServicesInput{
		Filters: []sdtypes.ServiceFilter{{Name: sdtypes.ServiceFilterNameNamespaceId, Values: []string{namespaceID}, Condition: sdtypes.FilterConditionEq}},
	})
	if err != nil {
		return 0, fmt.Errorf("listing Cloud Map services of namespace %s: %w", namespaceID, awsapi.Clean(err))
	}
	for _, s := range svcs.Services {
		inst, err := api.ListInstances(ctx, &servicediscovery.ListInstancesInput{ServiceId: s.Id})
		if err != nil {
			return n, fmt.Errorf("listing instances of Cloud Map service %s: %w", aws.ToString(s.Name), awsapi.Clean(err))
		}
		for _, i := range inst.Instances {
			if _, err := api.DeregisterInstance(ctx, &servicediscovery.DeregisterInstanceInput{ServiceId: s.Id, InstanceId: i.Id}); err != nil {
				return n, fmt.Errorf("deregistering %s from Cloud Map service %s: %w", aws.ToString(i.Id), aws.ToString(s.Name), awsapi.Clean(err))
			}
			n++
		}
	}
	return n, nil
}
