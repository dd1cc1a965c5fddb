package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

func newStopCommand(g *globals) *cobra.Command {
	return group("stop", "Stop a cluster, keeping its data", "an object", newStopClusterCommand(g))
}

func newStopClusterCommand(g *globals) *cobra.Command {
	o := &changeOptions{}
	c := &cobra.Command{
		Use:   "cluster NAME",
		Short: "Stop every member and instance; a stopped cluster costs only its volumes, bucket and network",
		Long: `Stop a cluster through its stacks' parameters, rendered from its last-applied config:
first the alarm actions are muted and the backup schedules paused (a stopped cluster is below
quorum by design), then the replicas' service goes to zero, then every core member's, all at
once, then every instance (the core members' Auto Scaling groups and the replicas').

The data volumes, the bucket with the backups and the network stay. The last-applied config
keeps the counts, so ` + "`neo4jctl start cluster NAME`" + ` brings back exactly what ran, and
` + "`neo4jctl update cluster -f`" + ` keeps a stopped cluster stopped.

With --wait (the default) stop returns once every instance is gone and every data volume is
detached; --wait=false returns once the stacks are updated.`,
		Example: `  neo4jctl stop cluster graph-prod --dry-run
  neo4jctl stop cluster graph-prod --yes
  neo4jctl stop cluster graph-prod --yes --wait=false`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return stopCluster(c.Context(), g, args[0], o)
		},
	}
	addChangeFlags(c, o, "wait until every instance is gone and every data volume detached")
	return c
}

// stopCluster plans, shows the plan, asks and stops.
func stopCluster(ctx context.Context, g *globals, name string, o *changeOptions) error {
	h, err := newCluster(ctx, g, name, g.region)
	if err != nil {
		return err
	}
	s := ops.NewStop(h, o.yes, o.wait, g.release())
	s.Poll, s.Timeout = g.hooks.pollInterval, g.hooks.waitTimeout // test hooks; 0 in production: the defaults
	_, ran, err := runPlanned(ctx, g, o, s, func(p *ops.StopPlan) bool { return p.Already }, nil)
	if !ran {
		return err
	}
	fmt.Fprintf(g.err, "%s cluster %s stopped. Start it with `neo4jctl start cluster %s`.\n", g.colors.Green("Done:"), name, name)
	return nil
}
