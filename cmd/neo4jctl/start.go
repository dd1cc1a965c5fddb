package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

func newStartCommand(g *globals) *cobra.Command {
	return group("start", "Start a stopped cluster", "an object", newStartClusterCommand(g))
}

func newStartClusterCommand(g *globals) *cobra.Command {
	o := &changeOptions{}
	c := &cobra.Command{
		Use:   "cluster NAME",
		Short: "Bring a stopped cluster back exactly as it ran: instances, then all cores, then replicas",
		Long: `Start a cluster that stop stopped, through its stacks' parameters, with the counts its
last-applied config keeps: first the instances (each core member's attaches its data volume
by tag), then every core member at once (a restarted cluster needs a majority of its
primaries back; one at a time, the first would wait alone), then the replicas, and last the
alarm actions and backup schedules.

With --wait (the default) start waits, through the admin channel, until Neo4j has formed the
cluster before it starts the replicas, and until they host their databases before it turns
the alarms back on. --wait=false does every step without waiting for Neo4j.

Start refuses when a member's data volume is missing (a reset-data that did not finish).`,
		Example: `  neo4jctl start cluster graph-prod --dry-run
  neo4jctl start cluster graph-prod --yes
  neo4jctl start cluster graph-prod --yes --wait=false`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return startCluster(c.Context(), g, args[0], o)
		},
	}
	addNeo4jWaitFlags(c, o, "wait for Neo4j: a formed cluster before the replicas, the replicas before the alarms")
	return c
}

// startCluster plans, shows the plan, asks and starts.
func startCluster(ctx context.Context, g *globals, name string, o *changeOptions) error {
	h, err := newCluster(ctx, g, name, g.region)
	if err != nil {
		return err
	}
	done, err := g.adminChannel(h, o.admin)
	if err != nil {
		return err
	}
	defer done()
	s := ops.NewStart(h, o.yes, o.wait, g.release())
	p, ran, err := runPlanned(ctx, g, o, s, func(p *ops.StartPlan) bool { return p.Running }, nil)
	if !ran {
		return err
	}
	fmt.Fprintf(g.err, "%s cluster %s started: %d cores, %d replicas. See it with `neo4jctl get cluster %s`.\n",
		g.colors.Green("Done:"), name, p.Cores, p.Replicas, name)
	return nil
}
