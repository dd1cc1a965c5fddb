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

Member volumes, the bucket with the backups, the KMS key and the users' secrets are kept, and
named: a later create of the same name adopts them and comes back with the same data and
passwords. --purge-data deletes them too, naming each, for every generation a plain delete
kept (found in one lookup by their neo4jctl.io/cluster tag, so it also works after the stacks
are gone): the volumes, the buckets with every version of every object, the KMS keys
(scheduled for deletion after 7 days, the minimum KMS allows) and the secrets (at once, no
recovery window, so their names are free again).

Object lock (backup.objectLock) is respected: backups it keeps are not deleted early. Their
bucket, the key that decrypts them and the secrets stay with them, and the delete says until
when; run it again after that date. Anything else left over is listed with its cause and the
command to run again, and the exit code is 1.`,
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
			if len(rep.Locked) > 0 {
				fmt.Fprintf(g.err, "%s cluster %s deleted, except the backups object lock keeps (see above).\n", g.colors.Green("Done:"), args[0])
				return nil
			}
			fmt.Fprintf(g.err, "%s cluster %s deleted.\n", g.colors.Green("Done:"), args[0])
			return nil
		},
	}
	c.Flags().BoolVar(&purge, "purge-data", false, "also delete the member volumes, the buckets with every backup, the KMS keys and the secrets")
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask")
	return c
}
