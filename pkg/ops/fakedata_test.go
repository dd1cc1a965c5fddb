package ops

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	tagging "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	taggingtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// fakeSecretStore is a FAKE Secrets Manager: secrets by name, with their key and deletion date.
type fakeSecretStore struct {
	secrets  map[string]*fakeStoredSecret
	restored []string
	rekeyed  []string // name → key
	deleted  []string
}

type fakeStoredSecret struct {
	key     string
	deleted time.Time // scheduled for deletion on
}

func secretARN(name string) string {
	return "arn:aws:secretsmanager:eu-west-1:111122223333:secret:" + name + "-AbCdEf"
}

func (f *fakeSecretStore) byARN(arn string) (string, *fakeStoredSecret, error) {
	for name, s := range f.secrets {
		if secretARN(name) == arn || name == arn {
			return name, s, nil
		}
	}
	return "", nil, apiErr("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
}

func (f *fakeSecretStore) DescribeSecret(_ context.Context, in *secretsmanager.DescribeSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	name, s, err := f.byARN(aws.ToString(in.SecretId))
	if err != nil {
		return nil, err
	}
	out := &secretsmanager.DescribeSecretOutput{Name: aws.String(name), ARN: aws.String(secretARN(name)), KmsKeyId: aws.String("arn:aws:kms:eu-west-1:111122223333:key/" + s.key)}
	if !s.deleted.IsZero() {
		out.DeletedDate = aws.Time(s.deleted)
	}
	return out, nil
}

func (f *fakeSecretStore) RestoreSecret(_ context.Context, in *secretsmanager.RestoreSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.RestoreSecretOutput, error) {
	name, s, err := f.byARN(aws.ToString(in.SecretId))
	if err != nil {
		return nil, err
	}
	s.deleted = time.Time{}
	f.restored = append(f.restored, name)
	return &secretsmanager.RestoreSecretOutput{}, nil
}

func (f *fakeSecretStore) UpdateSecret(_ context.Context, in *secretsmanager.UpdateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretOutput, error) {
	name, s, err := f.byARN(aws.ToString(in.SecretId))
	if err != nil {
		return nil, err
	}
	s.key = keyID(aws.ToString(in.KmsKeyId))
	f.rekeyed = append(f.rekeyed, name+" → "+s.key)
	return &secretsmanager.UpdateSecretOutput{}, nil
}

func (f *fakeSecretStore) DeleteSecret(_ context.Context, in *secretsmanager.DeleteSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
	name, _, err := f.byARN(aws.ToString(in.SecretId))
	if err != nil {
		return nil, err
	}
	if !aws.ToBool(in.ForceDeleteWithoutRecovery) {
		return nil, apiErr("InvalidParameterException", "the test expects a force delete")
	}
	delete(f.secrets, name)
	f.deleted = append(f.deleted, name)
	return &secretsmanager.DeleteSecretOutput{}, nil
}

// fakeTagging is a FAKE Resource Groups Tagging API over the fake EC2, S3, KMS and Secrets
// Manager: their tagged resources as ARNs, two per page, every call counted.
type fakeTagging struct {
	ec2   *fakeEC2
	s3    *fakeS3
	kms   *fakeKMS
	sm    *fakeSecretStore
	calls int
}

func (f *fakeTagging) GetResources(_ context.Context, in *tagging.GetResourcesInput, _ ...func(*tagging.Options)) (*tagging.GetResourcesOutput, error) {
	f.calls++
	var all []taggingtypes.ResourceTagMapping
	add := func(arn string, tags map[string]string) {
		for _, flt := range in.TagFilters {
			if !slices.Contains(flt.Values, tags[aws.ToString(flt.Key)]) {
				return
			}
		}
		m := taggingtypes.ResourceTagMapping{ResourceARN: aws.String(arn)}
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			m.Tags = append(m.Tags, taggingtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
		}
		all = append(all, m)
	}
	for _, id := range slices.Sorted(maps.Keys(f.ec2.volumes)) {
		add("arn:aws:ec2:eu-west-1:111122223333:volume/"+id, f.ec2.volumes[id].tags)
	}
	for _, id := range slices.Sorted(maps.Keys(f.kms.keys)) {
		add("arn:aws:kms:eu-west-1:111122223333:key/"+id, f.kms.keys[id])
	}
	for _, b := range slices.Sorted(maps.Keys(f.s3.buckets)) { // every region's, as the real index may
		add("arn:aws:s3:::"+b, f.s3.buckets[b].tags)
	}
	if f.sm != nil {
		for _, name := range slices.Sorted(maps.Keys(f.sm.secrets)) {
			add(secretARN(name), map[string]string{naming.TagCluster: "graph-dev"})
		}
	}
	start, _ := strconv.Atoi(aws.ToString(in.PaginationToken))
	end := min(start+2, len(all))
	out := &tagging.GetResourcesOutput{ResourceTagMappingList: all[start:end]}
	if end < len(all) {
		out.PaginationToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}
