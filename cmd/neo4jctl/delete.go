package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

func newDeleteCommand(g *globals) *cobra.Command {
	return group("delete", "Delete a cluster", "an object", newDeleteClusterCommand(g))
}

func newDeleteClusterCommand(g *globals) *cobra.Command {
	var purge, yes bool
	c := &cobra.Command{
		Use:   "cluster NAME",
		Short: "Delete a cluster's stacks; member volumes and backups are kept unless --purge-data",
		Long: `Delete the cluster's stacks (found by their neo4jctl.io/cluster tag) in reverse order and
wait for them: operations, then members and replicas, then shared and the VPC. Termination
protection is turned off on these stacks only; Cloud Map instances registered outside
CloudFormation (the DNS sync Lambda's records) are removed right before the operations and
shared stacks, once nothing can register them again.

Member volumes, the bucket with the backups and the KMS key are kept, and named. --purge-data
deletes them too, naming each: the volumes, the bucket with every version of every object,
and the KMS key (scheduled for deletion after 7 days, the minimum KMS allows). It finds them
by their neo4jctl.io/cluster tag, so it also works after a plain delete removed the stacks.
Anything left over is listed and the exit code is 1.`,
		Example: `  neo4jctl delete cluster graph-dev
  neo4jctl delete cluster graph-dev --purge-data --yes`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			h, err := newCluster(c.Context(), g, args[0], g.region)
			if err != nil {
				return err
			}
			rep, err := ops.NewDelete(h, purge, yes).Run(c.Context())
			g.done()
			if rep != nil {
				for _, k := range rep.Kept {
					fmt.Fprintf(g.err, "Kept %s; --purge-data deletes it\n", k)
				}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(g.err, "%s cluster %s deleted.\n", g.colors.Green("Done:"), args[0])
			return nil
		},
	}
	c.Flags().BoolVar(&purge, "purge-data", false, "also delete the member volumes, the bucket with every backup and the KMS key")
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask")
	return c
}
