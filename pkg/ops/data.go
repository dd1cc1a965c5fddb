package ops

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	tagging "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	taggingtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// KeyDeletionDays is the shortest waiting period KMS allows before a key is deleted.
const KeyDeletionDays = 7

// keptTypes are the resource types a cluster keeps when its stacks go, as the Resource Groups
// Tagging API names them.
var keptTypes = []string{"ec2:volume", "kms:key", "s3", "secretsmanager:secret"}

// TagLookup is the Resource Groups Tagging API: every resource of the region with the
// cluster's tag, whatever the number of keys and volumes in the region.
type TagLookup interface {
	GetResources(context.Context, *tagging.GetResourcesInput, ...func(*tagging.Options)) (*tagging.GetResourcesOutput, error)
}

// VolumeAPI reads (and, --purge-data, deletes) member data volumes.
type VolumeAPI interface {
	DescribeVolumes(context.Context, *ec2.DescribeVolumesInput, ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error)
	DeleteVolume(context.Context, *ec2.DeleteVolumeInput, ...func(*ec2.Options)) (*ec2.DeleteVolumeOutput, error)
}

// BucketAPI reads the cluster buckets and (--purge-data) empties and deletes them.
type BucketAPI interface {
	GetBucketLocation(context.Context, *s3.GetBucketLocationInput, ...func(*s3.Options)) (*s3.GetBucketLocationOutput, error)
	GetBucketEncryption(context.Context, *s3.GetBucketEncryptionInput, ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error)
	ListObjectVersions(context.Context, *s3.ListObjectVersionsInput, ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
	DeleteObjects(context.Context, *s3.DeleteObjectsInput, ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	DeleteBucket(context.Context, *s3.DeleteBucketInput, ...func(*s3.Options)) (*s3.DeleteBucketOutput, error)
}

// KeyAPI reads the cluster's KMS keys and (--purge-data) schedules their deletion.
type KeyAPI interface {
	DescribeKey(context.Context, *kms.DescribeKeyInput, ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	ScheduleKeyDeletion(context.Context, *kms.ScheduleKeyDeletionInput, ...func(*kms.Options)) (*kms.ScheduleKeyDeletionOutput, error)
}

// SecretAPI reads the users' secrets, restores one scheduled for deletion and moves one to
// the cluster's key (create), and force-deletes them (--purge-data).
type SecretAPI interface {
	DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	RestoreSecret(context.Context, *secretsmanager.RestoreSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.RestoreSecretOutput, error)
	UpdateSecret(context.Context, *secretsmanager.UpdateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretOutput, error)
	DeleteSecret(context.Context, *secretsmanager.DeleteSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
}

// DataAPI is what kept-data lookups, adoption and purges use, one narrow interface per service.
type DataAPI struct {
	Tags    TagLookup
	EC2     VolumeAPI
	S3      BucketAPI
	KMS     KeyAPI
	Secrets SecretAPI
}

// dataAPI is the kept-data clients of the handle.
func dataAPI(c *Clients) DataAPI {
	return DataAPI{Tags: c.Tagging, EC2: c.EC2, S3: c.S3, KMS: c.KMS, Secrets: c.SecretsManager}
}

// KeptData is what a cluster's name holds in the region besides its stacks: every generation
// of data a create made and a delete kept, and the users' secrets (one per fixed name).
type KeptData struct {
	Generations []Generation `json:"generations,omitempty"` // newest first; one without a key last
	Secrets     []Secret     `json:"secrets,omitempty"`
}

// Generation is what one create made: its KMS key and what the key encrypts, the bucket and
// the member volumes. Data whose key is gone (or not the cluster's) is one generation with
// an empty Key.
type Generation struct {
	Key     Key      `json:"key"`
	Buckets []string `json:"buckets,omitempty"`
	Volumes []Volume `json:"volumes,omitempty"` // member order, newest first per member
}

// Key is a KMS key of the cluster.
type Key struct {
	ID       string    `json:"id,omitempty"`
	ARN      string    `json:"arn,omitempty"`
	State    string    `json:"state,omitempty"` // Enabled, Disabled, PendingDeletion, ...
	Created  time.Time `json:"created,omitzero"`
	Deletion time.Time `json:"deletion,omitzero"` // when a key pending deletion goes
}

// Volume is a member's data volume.
type Volume struct {
	ID         string    `json:"id"`
	Member     string    `json:"member"`
	AZ         string    `json:"availabilityZone"`
	KeyID      string    `json:"keyID,omitempty"`
	State      string    `json:"state"`
	Instance   string    `json:"instance,omitempty"` // attached to, while in use
	Type       string    `json:"type"`
	SizeGiB    int32     `json:"sizeGiB"`
	IOPS       int32     `json:"iops,omitempty"`
	Throughput int32     `json:"throughputMiBps,omitempty"`
	Created    time.Time `json:"created"`
}

// Secret is one of the users' Secrets Manager secrets.
type Secret struct {
	Name    string    `json:"name"`
	ARN     string    `json:"arn"`
	KeyID   string    `json:"keyID,omitempty"`
	Deleted time.Time `json:"deletionDate,omitzero"` // scheduled for deletion on
}

// Empty reports whether nothing is kept.
func (d KeptData) Empty() bool { return len(d.Names()) == 0 }

// Names lists the data for people, one entry each; keys already pending deletion are not
// listed (they are going).
func (d KeptData) Names() []string {
	var out []string
	for _, g := range d.Generations {
		for _, v := range g.Volumes {
			out = append(out, "volume "+v.ID+" ("+v.Member+")")
		}
		for _, b := range g.Buckets {
			out = append(out, "bucket "+b+" (backups)")
		}
		if g.Key.ID != "" && !g.Key.pending() {
			out = append(out, "KMS key "+g.Key.ID+" (encrypts the volumes and backups)")
		}
	}
	for _, s := range d.Secrets {
		out = append(out, "secret "+s.Name+" (a Neo4j user's password)")
	}
	return out
}

func (k Key) pending() bool {
	return k.State == string(kmstypes.KeyStatePendingDeletion) || k.State == string(kmstypes.KeyStatePendingReplicaDeletion)
}

// dataFinder finds a cluster's data: one paginated tag lookup for the region, then each hit
// checked with its own service (the lookup also answers with resources deleted a moment ago
// and tags left on keys pending deletion).
type dataFinder struct {
	api    DataAPI
	name   string
	region string
}

// hits are the ids the tag lookup and the live stacks name, by kind.
type hits struct {
	volumes, keys, buckets, secrets []string
}

func (h *hits) add(list *[]string, id string) {
	if id != "" && !slices.Contains(*list, id) {
		*list = append(*list, id)
	}
}

// find finds every generation of the cluster's data and its secrets: by the
// neo4jctl.io/cluster tag, and from the live stacks' outputs (a resource made a moment ago
// may not be in the tag index yet).
func (f dataFinder) find(ctx context.Context, stacks []*engine.StackInfo) (KeptData, error) {
	h, err := f.tagged(ctx)
	if err != nil {
		return KeptData{}, err
	}
	for _, s := range stacks {
		h.add(&h.volumes, s.Outputs[stack.OutputVolumeID])
		h.add(&h.buckets, s.Outputs[stack.OutputBucketName])
		h.add(&h.keys, keyID(s.Outputs[stack.OutputKMSKeyArn]))
		for _, o := range []string{stack.OutputAdminSecretArn, stack.OutputReadOnlySecretArn, stack.OutputReadWriteSecretArn} {
			h.add(&h.secrets, s.Outputs[o])
		}
	}
	vols, err := f.volumes(ctx, h.volumes)
	if err != nil {
		return KeptData{}, err
	}
	keys, err := f.keys(ctx, h.keys)
	if err != nil {
		return KeptData{}, err
	}
	buckets, err := f.buckets(ctx, h.buckets)
	if err != nil {
		return KeptData{}, err
	}
	secrets, err := f.secrets(ctx, h.secrets)
	if err != nil {
		return KeptData{}, err
	}
	return KeptData{Generations: generations(keys, buckets, vols), Secrets: secrets}, nil
}

// tagged is the one tag lookup: the cluster's volumes (the data role only), keys, buckets
// and secrets in the region.
func (f dataFinder) tagged(ctx context.Context) (hits, error) {
	var h hits
	p := tagging.NewGetResourcesPaginator(f.api.Tags, &tagging.GetResourcesInput{
		TagFilters:          []taggingtypes.TagFilter{{Key: aws.String(naming.TagCluster), Values: []string{f.name}}},
		ResourceTypeFilters: keptTypes,
		ResourcesPerPage:    aws.Int32(100),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return h, fmt.Errorf("looking up the resources tagged %s=%s (tag:GetResources): %w", naming.TagCluster, f.name, awsapi.Clean(err))
		}
		for _, r := range page.ResourceTagMappingList {
			arn := aws.ToString(r.ResourceARN)
			switch service, rest := arnParts(arn); {
			case service == "ec2" && strings.HasPrefix(rest, "volume/") && tagOf(r.Tags, naming.TagRole) == naming.TagRoleData:
				h.add(&h.volumes, strings.TrimPrefix(rest, "volume/"))
			case service == "kms" && strings.HasPrefix(rest, "key/"):
				h.add(&h.keys, strings.TrimPrefix(rest, "key/"))
			case service == "s3" && !strings.Contains(rest, "/"):
				h.add(&h.buckets, rest)
			case service == "secretsmanager":
				h.add(&h.secrets, arn)
			}
		}
	}
	return h, nil
}

// arnParts is an ARN's service and resource (arn:partition:service:region:account:resource).
func arnParts(arn string) (service, resource string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return "", ""
	}
	return parts[2], parts[5]
}

func tagOf(tags []taggingtypes.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// volumes describes the volumes in one call per 200 (a volume-id filter, which skips those
// deleted since instead of failing), leaving out the deleted and those not holding data.
func (f dataFinder) volumes(ctx context.Context, ids []string) ([]Volume, error) {
	var out []Volume
	for chunk := range slices.Chunk(ids, 200) {
		p := ec2.NewDescribeVolumesPaginator(f.api.EC2, &ec2.DescribeVolumesInput{
			Filters: []ec2types.Filter{{Name: aws.String("volume-id"), Values: chunk}},
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("reading the volumes of %s: %w", f.name, awsapi.Clean(err))
			}
			for _, v := range page.Volumes {
				if v.State == ec2types.VolumeStateDeleting || v.State == ec2types.VolumeStateDeleted || ec2Tag(v.Tags, naming.TagRole) != naming.TagRoleData {
					continue
				}
				out = append(out, volumeOf(v))
			}
		}
	}
	return out, nil
}

func volumeOf(v ec2types.Volume) Volume {
	vol := Volume{ID: aws.ToString(v.VolumeId), Member: cmp.Or(ec2Tag(v.Tags, naming.TagMember), "?"), AZ: aws.ToString(v.AvailabilityZone),
		KeyID: keyID(aws.ToString(v.KmsKeyId)), State: string(v.State), Type: string(v.VolumeType), SizeGiB: aws.ToInt32(v.Size),
		IOPS: aws.ToInt32(v.Iops), Throughput: aws.ToInt32(v.Throughput), Created: aws.ToTime(v.CreateTime)}
	for _, a := range v.Attachments {
		vol.Instance = aws.ToString(a.InstanceId)
	}
	return vol
}

func ec2Tag(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// keys describes each key; one deleted since is left out.
func (f dataFinder) keys(ctx context.Context, ids []string) ([]Key, error) {
	var out []Key
	for _, id := range ids {
		d, err := f.api.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
		if awsapi.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading KMS key %s of %s: %w", id, f.name, awsapi.Clean(err))
		}
		m := d.KeyMetadata
		out = append(out, Key{ID: aws.ToString(m.KeyId), ARN: aws.ToString(m.Arn), State: string(m.KeyState),
			Created: aws.ToTime(m.CreationDate), Deletion: aws.ToTime(m.DeletionDate)})
	}
	return out, nil
}

// buckets keeps the buckets that exist in this region (the tag index of some regions names
// buckets of others) with the key each is encrypted by.
func (f dataFinder) buckets(ctx context.Context, names []string) (map[string]string, error) {
	out := map[string]string{}
	for _, b := range names {
		loc, err := f.api.S3.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(b)})
		if awsapi.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading bucket %s of %s: %w", b, f.name, awsapi.Clean(err))
		}
		if r := string(loc.LocationConstraint); r != f.region && !(r == "" && f.region == "us-east-1") && !(r == "EU" && f.region == "eu-west-1") {
			continue
		}
		out[b] = ""
		enc, err := f.api.S3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(b)})
		if err != nil || enc.ServerSideEncryptionConfiguration == nil {
			continue // not encrypted by a key of ours: a generation without a key
		}
		for _, r := range enc.ServerSideEncryptionConfiguration.Rules {
			if d := r.ApplyServerSideEncryptionByDefault; d != nil {
				out[b] = keyID(aws.ToString(d.KMSMasterKeyID))
			}
		}
	}
	return out, nil
}

// secrets describes each secret; one deleted since is left out.
func (f dataFinder) secrets(ctx context.Context, arns []string) ([]Secret, error) {
	var out []Secret
	for _, arn := range arns {
		d, err := f.api.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
		if awsapi.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading secret %s of %s: %w", arn, f.name, awsapi.Clean(err))
		}
		out = append(out, Secret{Name: aws.ToString(d.Name), ARN: aws.ToString(d.ARN), KeyID: keyID(aws.ToString(d.KmsKeyId)), Deleted: aws.ToTime(d.DeletedDate)})
	}
	slices.SortFunc(out, func(a, b Secret) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// generations groups the data by the key that encrypts it, newest key first; data whose key
// was not found comes last, in a generation without a key.
func generations(keys []Key, buckets map[string]string, vols []Volume) []Generation {
	slices.SortFunc(keys, func(a, b Key) int { return b.Created.Compare(a.Created) })
	byKey := map[string]*Generation{}
	var gens []*Generation
	gen := func(id string) *Generation {
		if g := byKey[id]; g != nil {
			return g
		}
		g := &Generation{}
		byKey[id] = g
		gens = append(gens, g)
		return g
	}
	for _, k := range keys {
		gen(k.ID).Key = k
	}
	orphan := &Generation{}
	for _, b := range slices.Sorted(maps.Keys(buckets)) {
		if g := byKey[buckets[b]]; g != nil {
			g.Buckets = append(g.Buckets, b)
		} else {
			orphan.Buckets = append(orphan.Buckets, b)
		}
	}
	slices.SortStableFunc(vols, func(a, b Volume) int {
		if c := memberIndex(a.Member) - memberIndex(b.Member); c != 0 {
			return c
		}
		return b.Created.Compare(a.Created)
	})
	for _, v := range vols {
		if g := byKey[v.KeyID]; g != nil {
			g.Volumes = append(g.Volumes, v)
		} else {
			orphan.Volumes = append(orphan.Volumes, v)
		}
	}
	out := make([]Generation, 0, len(gens)+1)
	for _, g := range gens {
		out = append(out, *g)
	}
	if len(orphan.Buckets)+len(orphan.Volumes) > 0 {
		out = append(out, *orphan)
	}
	return out
}

// keyID is the key id of a KMS key ARN (arn:aws:kms:region:account:key/ID).
func keyID(arn string) string {
	if i := strings.LastIndex(arn, "key/"); i >= 0 {
		return arn[i+len("key/"):]
	}
	return arn
}
