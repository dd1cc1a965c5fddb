package ops

import (
	"context"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// AdminChannel carries one typed admin request (pkg/neo4jadmin's versioned contract) to the
// cluster's Neo4j and brings back the typed answer. Two implementations are intended: the
// admin Lambda inside the VPC (the default; invoked with the SDK's Lambda client, it reads
// the admin password from Secrets Manager itself) and direct Bolt with --bolt-uri
// (credentials from NEO4J_USERNAME/NEO4J_PASSWORD). Actions that need Neo4j's view (get's
// verdict, health gates for restart/scale/upgrade, restore) take it from Cluster.Admin and
// refuse when it is nil.
type AdminChannel interface {
	Send(ctx context.Context, req neo4jadmin.Request) (neo4jadmin.Response, error)
}
