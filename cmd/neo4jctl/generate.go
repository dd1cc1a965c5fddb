package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

func newGenerateCommand(g *globals) *cobra.Command {
	var file, dir, output string
	templates := &cobra.Command{
		Use:   "templates -f cluster.yaml --dir DIR",
		Short: "Write every stack's CloudFormation template and parameters to a directory",
		Long: `Write every stack's CloudFormation template and parameters file to DIR, for review,
linting or a pipeline of your own, and list the templates written on stdout. Nothing in AWS
is touched.

Values known only in AWS are left for the caller: the S3 key of the agent bundle is a
placeholder when this binary was built without the agent, and for an existing VPC each member stack's AvailabilityZone parameter is
empty (create cluster looks the subnets up).`,
		Example: "  neo4jctl generate templates -f cluster.yaml --dir ./templates\n  cfn-lint ./templates/*.template.json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if c.Flags().Changed("output") {
				// -o is the output format in every neo4jctl command; say where the directory went
				return usagef("-o/--output is the output format in neo4jctl; generate templates takes its directory with --dir/-d, e.g. --dir %s", output)
			}
			if dir == "" {
				return usagef("--dir/-d is required: the directory to write the templates to")
			}
			f, err := loadConfig(c.Context(), g, file)
			if err != nil {
				return err
			}
			stacks, err := stack.Build(f.Config, g.release().OfflineInputs())
			if err != nil {
				return fmt.Errorf("rendering templates: %w", err)
			}
			if err := stack.WriteDir(stacks, dir); err != nil {
				return fmt.Errorf("writing templates: %w", err)
			}
			for _, s := range stacks {
				fmt.Fprintf(g.out, "%s/%s.template.json\n", dir, s.Name)
			}
			fmt.Fprintf(g.err, "Wrote %d stacks to %s\n", len(stacks), dir)
			return nil
		},
	}
	templates.Flags().StringVarP(&file, "config-file", "f", "", "cluster.yaml to render (- reads standard input)")
	templates.Flags().StringVarP(&dir, "dir", "d", "", "directory to write <stack>.template.json and <stack>.parameters.json to")
	templates.Flags().StringVarP(&output, "output", "o", "", "")
	_ = templates.Flags().MarkHidden("output")
	return group("generate", "Generate files from cluster.yaml", "an object", templates)
}
