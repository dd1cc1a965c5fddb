package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3API is the part of the S3 client the catalog uses.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, opts ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
}

// Store is the backup folder of one cluster bucket.
type Store struct {
	S3     S3API
	Bucket string
}

// errNotFound is a missing object.
var errNotFound = errors.New("no such object")

// List lists everything under Prefix (artifacts and neo4jctl's objects).
func (s Store) List(ctx context.Context) ([]Object, error) {
	var out []Object
	p := s3.NewListObjectsV2Paginator(s.S3, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(Prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing s3://%s/%s: %w", s.Bucket, Prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), LastModified: aws.ToTime(o.LastModified)})
		}
	}
	return out, nil
}

func (s Store) get(ctx context.Context, key string) ([]byte, string, error) {
	resp, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	var nsk *s3types.NoSuchKey
	if errors.As(err, &nsk) || httpStatus(err) == http.StatusNotFound {
		return nil, "", errNotFound
	}
	if err != nil {
		return nil, "", fmt.Errorf("reading s3://%s/%s: %w", s.Bucket, key, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, "", fmt.Errorf("reading s3://%s/%s: %w", s.Bucket, key, err)
	}
	return b, aws.ToString(resp.ETag), nil
}

// put writes key only if it is still at etag ("" : only if it does not exist), and returns
// the new ETag; errConflict when another writer came first.
func (s Store) put(ctx context.Context, key string, body []byte, etag string) (string, error) {
	// S3 takes no upload into a bucket with Object Lock's default retention (backup.objectLock)
	// without a checksum; asking for one sends it whatever the AWS config says about checksums.
	in := &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String("application/json"), ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32}
	if etag == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(etag)
	}
	out, err := s.S3.PutObject(ctx, in)
	if conflict(err) {
		return "", errConflict
	}
	if err != nil {
		return "", fmt.Errorf("writing s3://%s/%s: %w", s.Bucket, key, err)
	}
	return aws.ToString(out.ETag), nil
}

var errConflict = errors.New("changed by another writer")

// conflict tells a lost conditional write: 412 PreconditionFailed, 409
// ConditionalRequestConflict (a concurrent conditional write), or 404 for If-Match on an
// object deleted meanwhile.
func conflict(err error) bool {
	if err == nil {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey":
			return true
		}
	}
	switch httpStatus(err) {
	case http.StatusPreconditionFailed, http.StatusConflict, http.StatusNotFound:
		return true
	}
	return false
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// ReadManifest reads a database's manifest and its ETag; a database without one gets an
// empty manifest and "".
func (s Store) ReadManifest(ctx context.Context, database string) (*Manifest, string, error) {
	b, etag, err := s.get(ctx, ManifestKey(database))
	if errors.Is(err, errNotFound) {
		return NewManifest(database), "", nil
	}
	if err != nil {
		return nil, "", err
	}
	m, err := DecodeManifest(b)
	if err != nil {
		return nil, "", fmt.Errorf("s3://%s/%s: %w", s.Bucket, ManifestKey(database), err)
	}
	return m, etag, nil
}

// Manifests reads the manifest of every database that has one, found in a listing.
func (s Store) Manifests(ctx context.Context, objects []Object) (map[string]*Manifest, error) {
	out := map[string]*Manifest{}
	for _, o := range objects {
		db := ManifestDatabase(o.Key)
		if db == "" {
			continue
		}
		m, _, err := s.ReadManifest(ctx, db)
		if err != nil {
			return nil, err
		}
		out[db] = m
	}
	return out, nil
}

// UpdateManifest applies change to a database's manifest and writes it back only if nobody
// wrote it meanwhile, re-reading and re-applying on a conflict (the backup and the verify
// runner may write at once). change must be safe to apply again to a fresh read.
func (s Store) UpdateManifest(ctx context.Context, database string, change func(*Manifest) error, now func() time.Time) error {
	for attempt := 0; attempt < 8; attempt++ {
		m, etag, err := s.ReadManifest(ctx, database)
		if err != nil {
			return err
		}
		if err := change(m); err != nil {
			return err
		}
		m.Updated = now().UTC()
		body, err := m.Encode()
		if err != nil {
			return err
		}
		if _, err := s.put(ctx, ManifestKey(database), body, etag); !errors.Is(err, errConflict) {
			return err
		}
	}
	return fmt.Errorf("updating s3://%s/%s: other writers kept changing it", s.Bucket, ManifestKey(database))
}

// Load lists the folder and reads the manifests: the catalog `backup list` shows, without
// downloading an artifact.
func (s Store) Load(ctx context.Context, retentionDays int) ([]Database, error) {
	objs, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	ms, err := s.Manifests(ctx, objs)
	if err != nil {
		return nil, err
	}
	return Catalog(objs, ms, retentionDays), nil
}

// DeleteResult is what a delete did, key by key: with S3 Object Lock (or a policy that
// denies deletes) some keys may be refused while others go.
type DeleteResult struct {
	Deleted []string
	Failed  map[string]string // key -> S3's code and message
}

// Delete deletes artifacts (in a versioned bucket: a delete marker; the versions go with the
// lifecycle rule) and says which ones S3 refused.
func (s Store) Delete(ctx context.Context, keys []string) (DeleteResult, error) {
	res := DeleteResult{Failed: map[string]string{}}
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		var ids []s3types.ObjectIdentifier
		for _, k := range keys[:n] {
			ids = append(ids, s3types.ObjectIdentifier{Key: aws.String(k)})
		}
		out, err := s.S3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(s.Bucket),
			Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return res, fmt.Errorf("deleting from s3://%s: %w", s.Bucket, err)
		}
		for _, e := range out.Errors {
			res.Failed[aws.ToString(e.Key)] = aws.ToString(e.Code) + ": " + aws.ToString(e.Message)
		}
		for _, k := range keys[:n] {
			if _, failed := res.Failed[k]; !failed {
				res.Deleted = append(res.Deleted, k)
			}
		}
		keys = keys[n:]
	}
	sort.Strings(res.Deleted)
	return res, nil
}
