package main

import (
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// planStacks lists the stacks create makes.
func planStacks(cfg *cluster.ClusterConfig) ([]PlanStack, error) {
	name := cfg.Metadata.Name
	var out []PlanStack
	shared := naming.StackName(name, naming.KindShared, 0)
	if cfg.CreatesVPC() {
		vpc := naming.StackName(name, naming.KindVPC, 0)
		out = append(out, PlanStack{Name: vpc, Kind: naming.KindVPC})
		out = append(out, PlanStack{Name: shared, Kind: naming.KindShared, DependsOn: []string{vpc}})
	} else {
		out = append(out, PlanStack{Name: shared, Kind: naming.KindShared})
	}
	for _, m := range cfg.Members() {
		out = append(out, PlanStack{Name: naming.StackName(name, naming.KindCore, m.Index), Kind: naming.KindCore, DependsOn: []string{shared}})
	}
	if cfg.ReplicaCount() > 0 {
		out = append(out, PlanStack{Name: naming.StackName(name, naming.KindReplicas, 0), Kind: naming.KindReplicas, DependsOn: []string{shared}})
	}
	out = append(out, PlanStack{Name: naming.StackName(name, naming.KindOperations, 0), Kind: naming.KindOperations, DependsOn: []string{shared}})
	return out, nil
}
