package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// RestartState is a rolling restart's pinned order, kept in the cluster bucket
// (naming.RestartStateKey) from before the first member goes down and after each one.
// `restart cluster NAME --from core-3` reads it to resume in exactly that order: the order
// is otherwise computed from who leads what now, which the first run changed, so a member
// could be restarted twice or not at all. It is written before each member, so a run that
// was killed (not just interrupted) resumes correctly too, and anyone can resume it, not
// only the terminal that started it.
type RestartState struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"` // RestartStateKind
	Cluster    string    `json:"cluster"`
	Only       []string  `json:"only,omitempty"` // --member of the run
	Order      []string  `json:"order"`
	Done       []string  `json:"done,omitempty"`
	Next       string    `json:"next,omitempty"` // "" once complete
	Started    time.Time `json:"started"`
	Updated    time.Time `json:"updated"`
}

// RestartStateKind is the Kind of the restart state.
const RestartStateKind = "RestartState"

// StateStore reads and writes small objects in the cluster bucket.
type StateStore interface {
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// loadRestartState reads the state; nil when there is none.
func (c *Cluster) loadRestartState(ctx context.Context, api StateStore) (*RestartState, error) {
	bucket, err := c.bucket(ctx)
	if err != nil {
		return nil, err
	}
	out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(naming.RestartStateKey)})
	if awsapi.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the restart state s3://%s/%s: %w", bucket, naming.RestartStateKey, awsapi.Clean(err))
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the restart state s3://%s/%s: %w", bucket, naming.RestartStateKey, err)
	}
	var st RestartState
	if err := json.Unmarshal(body, &st); err != nil || st.Kind != RestartStateKind || st.Cluster != c.Name {
		return nil, fmt.Errorf("the restart state s3://%s/%s is not one this neo4jctl reads for cluster %s; delete it to start a new roll", bucket, naming.RestartStateKey, c.Name)
	}
	return &st, nil
}

// saveRestartState writes the state.
func (c *Cluster) saveRestartState(ctx context.Context, api StateStore, st *RestartState) error {
	bucket, err := c.bucket(ctx)
	if err != nil {
		return err
	}
	st.APIVersion, st.Kind, st.Cluster, st.Updated = cluster.APIVersion, RestartStateKind, c.Name, c.clock().Now().UTC()
	body, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	// with a checksum: a bucket with Object Lock's default retention takes no upload without one
	if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(naming.RestartStateKey),
		Body: bytes.NewReader(body), ContentType: aws.String("application/json"), ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32}); err != nil {
		return fmt.Errorf("recording the restart order in s3://%s/%s: %w", bucket, naming.RestartStateKey, awsapi.Clean(err))
	}
	return nil
}
