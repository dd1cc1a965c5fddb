package main

import (
	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

func newUpdateCommand(g *globals) *cobra.Command {
	return verb("update", "Change a cluster to match cluster.yaml", newUpdateClusterCommand(g))
}

func newUpdateClusterCommand(g *globals) *cobra.Command {
	var file string
	var force, yes bool
	c := &cobra.Command{
		Use:   "cluster -f cluster.yaml",
		Short: "Preview the changes to every stack, then apply them",
		Long: `Make a CloudFormation change set for every stack, print the differences (+ add, ~ modify,
- remove; replacements called out) and apply them once confirmed. Nothing changes until then.

Replacing a member's data volume is refused without --force. So is any change that restarts a
running core member: its launch template or Auto Scaling group (the rolling update replaces
the instance, e.g. a new cores.instanceType), its task definition (neo4j.config, memory,
image) or its service. With --force the core member stacks are updated one at a time, each
waiting until CloudFormation reports it complete (its instance and ECS service stable)
before the next starts, so never two cores are down at once.

The desired counts set by scale, stop and start are kept, unless replicas.count itself changed
in cluster.yaml since the last update: then the config wins and the diff shows it.`,
		Example: `  neo4jctl update cluster -f cluster.yaml
  neo4jctl update cluster -f cluster.yaml --yes`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f, err := loadConfig(g, file)
			if err != nil {
				return err
			}
			op, err := newOps(c.Context(), g, f.Config.Metadata.Region)
			if err != nil {
				return err
			}
			return op.Update(c.Context(), f.Config, ops.UpdateOptions{File: f.Path, Force: force, Yes: yes}, g.out)
		},
	}
	c.Flags().StringVarP(&file, "config-file", "f", "", "cluster.yaml of the cluster")
	c.Flags().BoolVar(&force, "force", false, "allow replacing a member's volume, and restart running core members one at a time")
	c.Flags().BoolVarP(&yes, "yes", "y", false, "apply without asking")
	return c
}
