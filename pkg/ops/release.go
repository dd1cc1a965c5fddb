package ops

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// BundleFunc returns the agent bundle (zip) for an architecture and its SHA-256 in hex;
// agentbundle.Bundle in neo4jctl.
type BundleFunc func(arch string) ([]byte, string, error)

// Release is what this neo4jctl binary brings to a cluster: its version (for the stack
// tags) and the embedded agent bundles, uploaded to the cluster bucket under their SHA-256.
type Release struct {
	Version string
	Bundle  BundleFunc
	// SHA256 gives a bundle's SHA-256 without reading the bundle (agentbundle.SHA256, recorded
	// at build time): all that the offline renderings (dry run, generate) need. Nil: Bundle's.
	SHA256 func(arch string) (string, error)
	Archs  []string // default naming.Archs
}

func (r Release) archs() []string {
	if len(r.Archs) == 0 {
		return naming.Archs
	}
	return r.Archs
}

// OfflineInputs are the stack builders' inputs known without AWS: the version and the
// bundles' keys. A binary built without bundles renders placeholders (generate, dry run).
func (r Release) OfflineInputs() stack.Inputs {
	in := stack.Inputs{Neo4jctlVersion: r.Version}
	for _, arch := range r.archs() {
		if sum, err := r.sha256(arch); err == nil {
			in.SetAgent(arch, sum)
		}
	}
	return in
}

func (r Release) sha256(arch string) (string, error) {
	if r.SHA256 != nil {
		return r.SHA256(arch)
	}
	_, sum, err := r.Bundle(arch)
	return sum, err
}

// bundles are the inputs and the zips to upload; a missing bundle is an error.
func (r Release) bundles() (stack.Inputs, map[string][]byte, error) {
	in := stack.Inputs{Neo4jctlVersion: r.Version}
	zips := map[string][]byte{}
	for _, arch := range r.archs() {
		z, sum, err := r.Bundle(arch)
		if err != nil {
			return in, nil, fmt.Errorf("agent bundle: %w", err)
		}
		in.SetAgent(arch, sum)
		zips[arch] = z
	}
	return in, zips, nil
}

// BundleStore holds the agent bundles in the cluster bucket.
type BundleStore interface {
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// uploadBundles puts the agent bundles in the cluster bucket (the shared stack's output)
// under their SHA-256 keys, skipping those already there.
func (c *Cluster) uploadBundles(ctx context.Context, api BundleStore, r *rendered) error {
	info, err := c.Stacks.Describe(ctx, naming.StackName(c.Name, naming.KindShared, 0))
	if err != nil {
		return err
	}
	bucket := ""
	if info != nil {
		bucket = info.Outputs[stack.OutputBucketName]
	}
	if bucket == "" {
		return fmt.Errorf("the shared stack of %s has no %s output: cannot upload the agent bundle", c.Name, stack.OutputBucketName)
	}
	for _, arch := range slices.Sorted(maps.Keys(r.keys)) {
		key := r.keys[arch]
		if _, err := api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err == nil {
			c.emit(BundleUploaded{Bucket: bucket, Key: key, Existed: true})
			continue
		}
		// a named checksum algorithm: a bucket with object lock (backup.objectLock) takes an
		// upload only with Content-MD5 or x-amz-sdk-checksum-algorithm
		if _, err := api.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(r.zips[arch]),
			ContentType: aws.String("application/zip"), ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32,
		}); err != nil {
			return fmt.Errorf("uploading the agent bundle to s3://%s/%s: %w", bucket, key, awsapi.Clean(err))
		}
		c.emit(BundleUploaded{Bucket: bucket, Key: key})
	}
	return nil
}
