package main

import (
	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
)

func newUtilsCommand(g *globals) *cobra.Command {
	schema := &cobra.Command{
		Use:     "schema",
		Short:   "Print the JSON schema of cluster.yaml",
		Long:    "Print the JSON schema of cluster.yaml (" + cluster.APIVersion + "), for editors and CI checks.",
		Example: "  neo4jctl utils schema > cluster.schema.json",
		Args:    noArgs,
		RunE: func(*cobra.Command, []string) error {
			b, err := cluster.Schema()
			if err != nil {
				return err
			}
			_, err = g.out.Write(append(b, '\n'))
			return err
		},
	}
	return group("utils", "Utilities", "an object", schema, newIAMPolicyCommand(g))
}
