package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

func newGenerateCommand(g *globals) *cobra.Command {
	var file, dir, output string
	var offline bool
	templates := &cobra.Command{
		Use:   "templates -f cluster.yaml --dir DIR",
		Short: "Write every stack's template, parameters and tags, and a deploy script, to a directory",
		Long: `Write what deploys the cluster without neo4jctl to DIR, for review, linting or a pipeline of
your own, and list the templates written on stdout:

  <stack>.template.json, .parameters.json, .tags.json   each stack, in the AWS CLI's file formats
  deploy.sh, deploy.json   the stacks in creation order and where the agent bundles go
  agent-<arch>.zip         the agent bundles deploy.sh uploads to the cluster bucket

With AWS credentials at hand, the values only AWS knows are looked up (read only, nothing is
changed): each existing subnet's availability zone, and the ECS-optimized AMI to pin, as
create does. Without credentials, or with --offline, they are FILL_IN_<parameter>
placeholders, and deploy.sh names the AWS CLI command that finds each and refuses to run
until they are filled in.`,
		Example: "  neo4jctl generate templates -f cluster.yaml --dir ./deploy\n  ./deploy/deploy.sh\n  neo4jctl generate templates -f cluster.yaml --dir ./review --offline\n  cfn-lint ./review/*.template.json",
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
			gen := &ops.Generate{Config: f.Config, Release: g.release()}
			if !offline {
				if err := lookupsIfCredentials(c.Context(), g, gen); err != nil {
					return err
				}
			}
			res, err := gen.Run(c.Context(), dir)
			if err != nil {
				return err
			}
			writeGenerated(g, res)
			return nil
		},
	}
	templates.Flags().StringVarP(&file, "config-file", "f", "", "cluster.yaml to render (- reads standard input)")
	templates.Flags().StringVarP(&dir, "dir", "d", "", "directory to write the templates, parameters, tags, deploy.sh and agent bundles to")
	templates.Flags().BoolVar(&offline, "offline", false, "never call AWS: leave the subnets' AZs and the AMI as FILL_IN_ placeholders")
	templates.Flags().StringVarP(&output, "output", "o", "", "")
	_ = templates.Flags().MarkHidden("output")
	return group("generate", "Generate files from cluster.yaml", "an object", templates)
}

// lookupsIfCredentials gives generate the AWS clients when credentials are at hand; without,
// it says so and the files get placeholders.
func lookupsIfCredentials(ctx context.Context, g *globals, gen *ops.Generate) error {
	cfg, err := loadAWSConfig(ctx, g, gen.Config.Metadata.Region)
	if err != nil {
		return err
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		fmt.Fprintf(g.err, "No AWS credentials (%v): the subnets' AZs and the AMI to pin are FILL_IN_ placeholders; deploy.sh says how to look each up, or run this again with credentials.\n", awsapi.Clean(err))
		return nil
	}
	clients := ops.NewClients(cfg)
	gen.EC2, gen.SSM = clients.EC2, clients.SSM
	return nil
}

// writeGenerated lists the templates on stdout and says on stderr what is left to do.
func writeGenerated(g *globals, res *ops.GenerateResult) {
	for _, t := range res.Templates {
		fmt.Fprintln(g.out, t)
	}
	if res.LookedUp {
		fmt.Fprintf(g.err, "Looked up in %s: the subnets' availability zones and the ECS-optimized AMI to pin.\n", res.Deployment.Region)
	}
	for _, m := range res.Missing {
		fmt.Fprintf(g.err, "Warning: this neo4jctl was built without the agent bundle %s (`make agent` builds it); deploy.sh needs it beside it.\n", m)
	}
	if len(res.FillIn) > 0 {
		var names []string
		for _, f := range res.FillIn {
			names = append(names, f.File+" "+f.Placeholder)
		}
		fmt.Fprintf(g.err, "Fill in first (deploy.sh says how): %s\n", strings.Join(names, ", "))
	}
	var bundles []string
	for _, b := range res.Bundles {
		bundles = append(bundles, filepath.Base(b))
	}
	what := "the agent bundle"
	if len(bundles) > 1 {
		what += "s"
	}
	if len(bundles) > 0 {
		what = " and " + what + " " + strings.Join(bundles, ", ")
	} else {
		what = ""
	}
	fmt.Fprintf(g.err, "Wrote %d stacks, deploy.sh%s to %s; %s deploys them with the AWS CLI, in order.\n",
		len(res.Templates), what, res.Dir, filepath.Join(res.Dir, "deploy.sh"))
}
