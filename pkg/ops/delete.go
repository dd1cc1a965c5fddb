package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
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

// Delete removes a cluster's stacks in reverse order. Member volumes, the bucket, the KMS
// key and the users' secrets are kept unless PurgeData, for a create of the same name to
// adopt; with PurgeData every generation of them is found by the cluster tag and deleted,
// so a purge after a plain delete (or several) still finds them all.
type Delete struct {
	*Cluster
	Data      DataAPI
	CloudMap  CloudMapCleaner
	PurgeData bool // also delete the member volumes, buckets (backups), KMS keys and secrets
	Yes       bool // do not ask
}

// NewDelete is delete on the handle's clients.
func NewDelete(c *Cluster, purgeData, yes bool) *Delete {
	return &Delete{Cluster: c, Data: dataAPI(c.AWS), CloudMap: c.AWS.CloudMap, PurgeData: purgeData, Yes: yes}
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
	Deleted   []string        `json:"deleted"`
	Kept      []string        `json:"kept,omitempty"`      // data kept on purpose (no --purge-data)
	Locked    []LockedObjects `json:"locked,omitempty"`    // backups object lock keeps (--purge-data)
	Leftovers []string        `json:"leftovers,omitempty"` // what should be gone and is not
}

// LeftoversError is a delete that left something behind.
type LeftoversError struct {
	Cluster   string
	Leftovers []string
	Causes    []error
	Rerun     string // the same command again
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
	fmt.Fprintf(&b, "\nFix the cause above and run `%s` again.", e.Rerun)
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
	data, err := d.finder().find(ctx, stacks)
	if err != nil {
		return nil, err
	}
	if len(stacks) == 0 && (!d.PurgeData || data.Empty()) {
		nf := &NotFoundError{Name: d.Name, Region: d.Region}
		if !data.Empty() {
			return nil, fmt.Errorf("%w\nKept from an earlier delete: %s; `neo4jctl create cluster -f cluster.yaml` of the same name adopts them, `neo4jctl delete cluster %s --purge-data` deletes them",
				nf, strings.Join(data.Names(), ", "), d.Name)
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

func (d *Delete) finder() dataFinder { return dataFinder{api: d.Data, name: d.Name, region: d.Region} }

// rerun is this delete's command, with its flags.
func (d *Delete) rerun() string {
	cmd := "neo4jctl delete cluster " + d.Name
	if d.PurgeData {
		cmd += " --purge-data"
	}
	if d.Yes {
		cmd += " --yes"
	}
	return cmd
}

// Text says what goes and what stays.
func (p *DeletePlan) Text() string {
	var q strings.Builder
	if len(p.Stacks) == 0 {
		fmt.Fprintf(&q, "Cluster %s in %s has no stacks left (deleted before).", p.Cluster, p.Region)
	} else {
		fmt.Fprintf(&q, "Delete cluster %s in %s: %d stacks (%s).", p.Cluster, p.Region, len(p.Stacks), strings.Join(p.Stacks, ", "))
	}
	if !p.Purge {
		fmt.Fprintf(&q, "\nMember volumes, backups, the KMS key and the users' secrets are kept: `neo4jctl create cluster` of the same name adopts them.")
		return q.String()
	}
	fmt.Fprintf(&q, "\n--purge-data also deletes, for good:")
	for _, g := range p.Data.Generations {
		for _, v := range g.Volumes {
			fmt.Fprintf(&q, "\n  volume %s (%s data)", v.ID, v.Member)
		}
		for _, b := range g.Buckets {
			fmt.Fprintf(&q, "\n  bucket %s (every backup in it)", b)
		}
		if g.Key.ID != "" && !g.Key.pending() {
			fmt.Fprintf(&q, "\n  KMS key %s (scheduled for deletion in %d days, the minimum; nothing it encrypted can be read after that)", g.Key.ID, KeyDeletionDays)
		}
	}
	for _, s := range p.Data.Secrets {
		fmt.Fprintf(&q, "\n  secret %s (at once, without a recovery window, so that the name is free)", s.Name)
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

// purge deletes every generation of the kept data, then the secrets. Object lock is
// respected: a bucket with locked backups stays, and with it the key that decrypts them and
// the users' secrets (without them the locked backups would be of no use, which is what the
// lock prevents). Secrets also stay while anything else could not be deleted.
func (d *Delete) purge(ctx context.Context, data KeptData, rep *DeleteReport) []error {
	var causes []error
	clean := true
	for _, g := range data.Generations {
		gone, errs := d.purgeGeneration(ctx, g, rep)
		causes = append(causes, errs...)
		clean = clean && gone
	}
	if !clean {
		return causes
	}
	for _, s := range data.Secrets {
		if err := deleteSecret(ctx, d.Data.Secrets, s); err != nil {
			causes = append(causes, err)
			continue
		}
		d.emit(SecretDeleted{Name: s.Name})
		rep.Deleted = append(rep.Deleted, "secret "+s.Name)
	}
	return causes
}

// purgeGeneration deletes a generation's volumes and buckets, then (all gone) schedules its
// key's deletion; gone is false when something stays.
func (d *Delete) purgeGeneration(ctx context.Context, g Generation, rep *DeleteReport) (gone bool, causes []error) {
	gone = true
	for _, v := range g.Volumes {
		if err := deleteVolume(ctx, d.Data.EC2, v); err != nil {
			causes, gone = append(causes, err), false
			continue
		}
		d.emit(VolumeDeleted{ID: v.ID, Member: v.Member})
		rep.Deleted = append(rep.Deleted, "volume "+v.ID+" ("+v.Member+")")
	}
	for _, b := range g.Buckets {
		locked, err := emptyBucket(ctx, d.Data.S3, b)
		switch {
		case err != nil:
			causes, gone = append(causes, err), false
		case locked != nil:
			locked.KeyID, gone = g.Key.ID, false
			rep.Locked = append(rep.Locked, *locked)
			d.emit(BackupsLocked{Locked: *locked, Rerun: d.rerun()})
		default:
			d.emit(BucketDeleted{Bucket: b})
			rep.Deleted = append(rep.Deleted, "bucket "+b)
		}
	}
	if !gone || g.Key.ID == "" || g.Key.pending() {
		return gone, causes
	}
	if err := scheduleKeyDeletion(ctx, d.Data.KMS, g.Key.ID); err != nil {
		return false, append(causes, err)
	}
	d.emit(KeyScheduledForDeletion{KeyID: g.Key.ID, Days: KeyDeletionDays})
	rep.Deleted = append(rep.Deleted, "KMS key "+g.Key.ID+" (scheduled)")
	return true, causes
}

// leftovers looks again: stacks still there and, after a purge, data still there that
// object lock does not keep.
func (d *Delete) leftovers(ctx context.Context, rep *DeleteReport, causes []error) (*DeleteReport, error) {
	left, err := d.FindStacks(ctx)
	if err != nil {
		return rep, err
	}
	for _, s := range left {
		rep.Leftovers = append(rep.Leftovers, fmt.Sprintf("stack %s (%s)", s.Name, s.Status))
	}
	if d.PurgeData {
		rest, err := d.finder().find(ctx, left)
		if err != nil {
			causes = append(causes, err)
		}
		for _, n := range rest.Names() {
			if !rep.lockKeeps(n) {
				rep.Leftovers = append(rep.Leftovers, n)
			}
		}
	}
	if len(rep.Leftovers) > 0 || len(causes) > 0 {
		return rep, &LeftoversError{Cluster: d.Name, Leftovers: rep.Leftovers, Causes: causes, Rerun: d.rerun()}
	}
	return rep, nil
}

// lockKeeps reports whether a kept resource (a KeptData name) stays because object lock
// keeps backups: the bucket, its key, the users' secrets.
func (r *DeleteReport) lockKeeps(name string) bool {
	for _, l := range r.Locked {
		if strings.HasPrefix(name, "bucket "+l.Bucket+" ") || l.KeyID != "" && strings.HasPrefix(name, "KMS key "+l.KeyID+" ") || strings.HasPrefix(name, "secret ") {
			return true
		}
	}
	return false
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
