package main

import (
	"context"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
)

// createCluster creates the stacks in AWS.
func createCluster(ctx context.Context, g *globals, f *cluster.File, o *createOptions) error {
	return usagef("creating stacks in AWS arrives with the stack engine; run with --dry-run to see the plan")
}
