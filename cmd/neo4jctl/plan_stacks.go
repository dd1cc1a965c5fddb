package main

import (
	"fmt"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// planStacks lists the stacks create makes, with their key resources, from the same
// builders create uses.
func planStacks(cfg *cluster.ClusterConfig) ([]PlanStack, error) {
	stacks, err := stack.Build(cfg, offlineInputs())
	if err != nil {
		return nil, fmt.Errorf("rendering templates: %w", err)
	}
	out := make([]PlanStack, 0, len(stacks))
	for _, s := range stacks {
		out = append(out, PlanStack{Name: s.Name, Kind: s.Kind, DependsOn: s.DependsOn, Resources: s.Resources})
	}
	return out, nil
}
