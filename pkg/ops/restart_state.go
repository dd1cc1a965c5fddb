package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

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

// loadRestartState reads the state; nil when there is none.
func (c *Cluster) loadRestartState(ctx context.Context, api StateStore) (*RestartState, error) {
	bucket, body, err := c.readBucketObject(ctx, api, naming.RestartStateKey, 1<<20, "the restart state")
	if err != nil || body == nil {
		return nil, err
	}
	var st RestartState
	if err := json.Unmarshal(body, &st); err != nil || st.Kind != RestartStateKind || st.Cluster != c.Name {
		return nil, fmt.Errorf("the restart state s3://%s/%s is not one this neo4jctl reads for cluster %s; delete it to start a new roll", bucket, naming.RestartStateKey, c.Name)
	}
	return &st, nil
}

// saveRestartState writes the state.
func (c *Cluster) saveRestartState(ctx context.Context, api StateStore, st *RestartState) error {
	st.APIVersion, st.Kind, st.Cluster, st.Updated = cluster.APIVersion, RestartStateKind, c.Name, c.clock().Now().UTC()
	return c.writeBucketObject(ctx, api, naming.RestartStateKey, st, "the restart order")
}
