package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// DeleteOptions tune delete.
type DeleteOptions struct {
	PurgeData bool // also delete the member volumes and the bucket (backups)
	Yes       bool
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

type volume struct{ id, member string }

// Delete removes a cluster's stacks in reverse order. Member volumes, the bucket and the KMS
// key are kept unless PurgeData; with PurgeData they are found by the cluster tag too, so a
// purge after a plain delete still finds them.
func (o *Ops) Delete(ctx context.Context, name string, opt DeleteOptions) (*DeleteReport, error) {
	stacks, err := o.clusterStacks(ctx, name)
	if err != nil {
		return nil, err
	}
	data, err := o.findData(ctx, name, stacks)
	if err != nil {
		return nil, err
	}
	if len(stacks) == 0 && (!opt.PurgeData || data.empty()) {
		nf := &NotFoundError{Name: name, Region: o.AWS.Region}
		if !data.empty() {
			return nil, fmt.Errorf("%w\nKept from an earlier delete: %s; `neo4jctl delete cluster %s --purge-data` deletes them", nf, strings.Join(data.names(), ", "), name)
		}
		return nil, nf
	}
	var nsID string
	var names []string
	deps := map[string][]string{}
	kinds := map[string]string{}
	for _, s := range stacks {
		names = append(names, s.Name)
		kinds[s.Name] = s.Tags[naming.TagStackKind]
		if kinds[s.Name] == naming.KindShared {
			nsID = s.Outputs[stack.OutputNamespaceID]
		}
	}
	// creation order by kind: vpc < shared < core, replicas < operations
	for _, n := range names {
		for _, d := range names {
			if kindBefore(kinds[d], kinds[n]) {
				deps[n] = append(deps[n], d)
			}
		}
	}

	// say what goes and what stays, and ask
	var q strings.Builder
	if len(names) == 0 {
		fmt.Fprintf(&q, "Cluster %s in %s has no stacks left (deleted before).", name, o.AWS.Region)
	} else {
		fmt.Fprintf(&q, "Delete cluster %s in %s: %d stacks (%s).", name, o.AWS.Region, len(names), strings.Join(names, ", "))
	}
	if opt.PurgeData {
		fmt.Fprintf(&q, "\n--purge-data also deletes, for good:")
		for _, v := range data.volumes {
			fmt.Fprintf(&q, "\n  volume %s (%s data)", v.id, v.member)
		}
		if data.bucket != "" {
			fmt.Fprintf(&q, "\n  bucket %s (every backup in it)", data.bucket)
		}
		if data.key != "" {
			fmt.Fprintf(&q, "\n  KMS key %s (scheduled for deletion in %d days, the minimum; nothing it encrypted can be read after that)", data.key, KeyDeletionDays)
		}
	} else {
		fmt.Fprintf(&q, "\nMember volumes, backups and the KMS key are kept.")
	}
	o.logf("%s", q.String())
	ok, err := o.confirm("Delete? [y/N] ", "delete cluster "+name, "--yes", opt.Yes)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("nothing deleted")
	}

	rep := &DeleteReport{}
	var causes []error
	var mu sync.Mutex
	deregister := func(ctx context.Context) {
		cnt, err := o.deregisterInstances(ctx, nsID)
		if err != nil {
			mu.Lock()
			causes = append(causes, err)
			mu.Unlock()
		} else if cnt > 0 {
			o.logf("Deregistered %d Cloud Map instances registered outside CloudFormation", cnt)
		}
	}
	errs := engine.InOrder(ctx, names, engine.Reverse(names, deps), func(ctx context.Context, n string) error {
		// A Cloud Map service with instances cannot be deleted: the operations stack owns the
		// core/replica records the DNS sync Lambda registers, the shared stack the namespace.
		// Deregister right before each of them, when nothing that deleted first (members,
		// the Lambda) can register again; if the Lambda still did during the delete, once more.
		cleans := nsID != "" && (kinds[n] == naming.KindOperations || kinds[n] == naming.KindShared)
		if cleans {
			deregister(ctx)
		}
		// only stacks found by this cluster's tags get their protection turned off
		err := o.Engine.Delete(ctx, n, true)
		var se *engine.StackError
		if cleans && errors.As(err, &se) && se.Status == engine.StatusDeleteFailed {
			deregister(ctx)
			err = o.Engine.Delete(ctx, n, true)
		}
		return err
	})
	o.Engine.Progress.Stop()
	for _, n := range names {
		if err := errs[n]; err != nil {
			var skipped *engine.SkippedError
			if !errors.As(err, &skipped) {
				causes = append(causes, err)
			}
		} else {
			rep.Deleted = append(rep.Deleted, "stack "+n)
		}
	}

	if opt.PurgeData && len(causes) == 0 {
		for _, v := range data.volumes {
			if _, err := o.AWS.EC2.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(v.id)}); err != nil {
				causes = append(causes, fmt.Errorf("deleting volume %s (%s): %w", v.id, v.member, awsapi.Clean(err)))
				continue
			}
			o.logf("Deleted volume %s (%s)", v.id, v.member)
			rep.Deleted = append(rep.Deleted, "volume "+v.id+" ("+v.member+")")
		}
		if data.bucket != "" {
			if err := o.deleteBucket(ctx, data.bucket); err != nil {
				causes = append(causes, err)
			} else {
				o.logf("Deleted bucket %s", data.bucket)
				rep.Deleted = append(rep.Deleted, "bucket "+data.bucket)
			}
		}
		if data.key != "" {
			if err := o.scheduleKeyDeletion(ctx, data.key); err != nil {
				causes = append(causes, err)
			} else {
				o.logf("Scheduled KMS key %s for deletion in %d days (`aws kms cancel-key-deletion --key-id %s` until then keeps it)", data.key, KeyDeletionDays, data.key)
				rep.Deleted = append(rep.Deleted, "KMS key "+data.key+" (scheduled)")
			}
		}
	} else if !opt.PurgeData {
		rep.Kept = data.names()
	}

	// what is left
	left, err := o.clusterStacks(context.WithoutCancel(ctx), name)
	if err != nil {
		return rep, err
	}
	for _, s := range left {
		rep.Leftovers = append(rep.Leftovers, fmt.Sprintf("stack %s (%s)", s.Name, s.Status))
	}
	if opt.PurgeData {
		rest, err := o.findData(context.WithoutCancel(ctx), name, left)
		if err != nil {
			causes = append(causes, err)
		}
		rep.Leftovers = append(rep.Leftovers, rest.names()...)
	}
	if len(rep.Leftovers) > 0 || len(causes) > 0 {
		return rep, &LeftoversError{Cluster: name, Leftovers: rep.Leftovers, Causes: causes}
	}
	return rep, nil
}

func kindBefore(a, b string) bool {
	rank := map[string]int{naming.KindVPC: 0, naming.KindShared: 1, naming.KindCore: 2, naming.KindReplicas: 2, naming.KindOperations: 3}
	ra, oka := rank[a]
	rb, okb := rank[b]
	return oka && okb && ra < rb
}

// clusterVolumes finds the member volumes: stack outputs and the cluster tag.
func (o *Ops) clusterVolumes(ctx context.Context, name string, stacks []*engine.StackInfo) ([]volume, error) {
	seen := map[string]bool{}
	var out []volume
	for _, s := range stacks {
		if id := s.Outputs[stack.OutputVolumeID]; id != "" && !seen[id] {
			seen[id] = true
			out = append(out, volume{id, s.Tags[naming.TagMember]})
		}
	}
	p := ec2.NewDescribeVolumesPaginator(o.AWS.EC2, &ec2.DescribeVolumesInput{
		Filters: []ec2types.Filter{{Name: aws.String("tag:" + naming.TagCluster), Values: []string{name}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the volumes of %s: %w", name, awsapi.Clean(err))
		}
		for _, v := range page.Volumes {
			id := aws.ToString(v.VolumeId)
			if seen[id] {
				continue
			}
			seen[id] = true
			member := "?"
			for _, t := range v.Tags {
				if aws.ToString(t.Key) == naming.TagMember {
					member = aws.ToString(t.Value)
				}
			}
			out = append(out, volume{id, member})
		}
	}
	return out, nil
}

// deregisterInstances removes the instances in the namespace's services that CloudFormation
// does not own (the DNS sync Lambda's core/replica records, tasks that died uncleanly): a
// Cloud Map service with instances cannot be deleted.
func (o *Ops) deregisterInstances(ctx context.Context, namespaceID string) (int, error) {
	n := 0
	svcs, err := o.AWS.CloudMap.ListServices(ctx, &servicediscovery.ListServicesInput{
		Filters: []sdtypes.ServiceFilter{{Name: sdtypes.ServiceFilterNameNamespaceId, Values: []string{namespaceID}, Condition: sdtypes.FilterConditionEq}},
	})
	if err != nil {
		return 0, fmt.Errorf("listing Cloud Map services of namespace %s: %w", namespaceID, awsapi.Clean(err))
	}
	for _, s := range svcs.Services {
		inst, err := o.AWS.CloudMap.ListInstances(ctx, &servicediscovery.ListInstancesInput{ServiceId: s.Id})
		if err != nil {
			return n, fmt.Errorf("listing instances of Cloud Map service %s: %w", aws.ToString(s.Name), awsapi.Clean(err))
		}
		for _, i := range inst.Instances {
			if _, err := o.AWS.CloudMap.DeregisterInstance(ctx, &servicediscovery.DeregisterInstanceInput{ServiceId: s.Id, InstanceId: i.Id}); err != nil {
				return n, fmt.Errorf("deregistering %s from Cloud Map service %s: %w", aws.ToString(i.Id), aws.ToString(s.Name), awsapi.Clean(err))
			}
			n++
		}
	}
	return n, nil
}

// deleteBucket empties a versioned bucket and deletes it.
func (o *Ops) deleteBucket(ctx context.Context, bucket string) error {
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)}
	for {
		out, err := o.AWS.S3.ListObjectVersions(ctx, in)
		if err != nil {
			return fmt.Errorf("emptying bucket %s: %w", bucket, awsapi.Clean(err))
		}
		var ids []s3types.ObjectIdentifier
		for _, v := range out.Versions {
			ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range out.DeleteMarkers {
			ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if len(ids) > 0 {
			if _, err := o.AWS.S3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
				return fmt.Errorf("emptying bucket %s: %w", bucket, awsapi.Clean(err))
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
	if _, err := o.AWS.S3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("deleting bucket %s: %w", bucket, awsapi.Clean(err))
	}
	return nil
}
