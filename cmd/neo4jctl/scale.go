package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

func newScaleCommand(g *globals) *cobra.Command {
	return group("scale", "Change how many replicas or cores a cluster runs", "what to scale", newScaleReplicasCommand(g), newScaleCoresCommand(g))
}

func newScaleReplicasCommand(g *globals) *cobra.Command {
	o := &changeOptions{}
	count := -1
	c := &cobra.Command{
		Use:   "replicas NAME --count K",
		Short: "Set the number of read replicas (secondaries) and wait until Neo4j shows them",
		Long: `Set replicas.count in the cluster's last-applied config and render it into the replicas
stack: the service's desired count and its Auto Scaling group (a replicas stack is made when
there was none; at 0 it is kept, scaled to zero). Only the replicas and operations stacks
change: no core restarts. A later ` + "`neo4jctl update cluster -f`" + ` with a file that
says another count is refused, naming the field, unless --overwrite-imperative.

With --wait (the default) it then waits, through the admin channel, until Neo4j shows K
secondaries Enabled and Available, with every database's secondaries following them (as the
first core's agent keeps them) and each copy at its requested status; replica servers that
left (a replica has no volume: its server never comes back) are deallocated and dropped.
On a stopped cluster the count is recorded, and start brings it.`,
		Example: `  neo4jctl scale replicas graph-prod --count 3 --dry-run
  neo4jctl scale replicas graph-prod --count 3 --yes
  neo4jctl scale replicas graph-prod --count 1 --yes --wait=false`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if !c.Flags().Changed("count") || count < 0 {
				return usagef("--count K is required: the number of replicas, 0 to 20")
			}
			return scaleReplicas(c.Context(), g, args[0], count, o)
		},
	}
	c.Flags().IntVar(&count, "count", -1, "the number of replicas (0 to 20)")
	addNeo4jWaitFlags(c, o, "wait until Neo4j shows the replicas hosting their databases")
	return c
}

// scaleReplicas plans, shows the plan, asks and scales.
func scaleReplicas(ctx context.Context, g *globals, name string, count int, o *changeOptions) error {
	h, err := newCluster(ctx, g, name, g.region)
	if err != nil {
		return err
	}
	done, err := g.adminChannel(h, o.admin)
	if err != nil {
		return err
	}
	defer done()
	s := ops.NewScaleReplicas(h, count, o.yes, o.wait, g.release())
	_, ran, err := runPlanned(ctx, g, o, s, func(p *ops.ScaleReplicasPlan) bool { return p.NoOp }, nil)
	if !ran {
		return err
	}
	fmt.Fprintf(g.err, "%s cluster %s has %d replicas.\n", g.colors.Green("Done:"), name, count)
	return nil
}
