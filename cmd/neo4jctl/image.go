package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/image"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jversion"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

// newImageCommand is `neo4jctl image push`: the official Neo4j Enterprise image plus the
// agent layer, pushed without a Docker daemon.
func newImageCommand(g *globals) *cobra.Command {
	return group("image", "Build and push the cluster's Neo4j image", "a subcommand", newImagePushCommand(g))
}

func newImagePushCommand(g *globals) *cobra.Command {
	var (
		o      image.Options
		output string
	)
	c := &cobra.Command{
		Use:   "push --repository URI",
		Short: "Push neo4j:<version>-enterprise plus the neo4jctl agent to a registry (no Docker needed)",
		Long: `Pulls the official neo4j:<version>-enterprise image (every linux/amd64 and linux/arm64
platform), appends one layer with the neo4jctl agent at /neo4jctl/neo4jctl-agent, sets the
entrypoint to the agent (which then runs the official entrypoint) and pushes the result.
ECR repositories are authenticated with your AWS credentials and created with
--create-repository. The tag defaults to <version>-enterprise-neo4jctl-<agent sha>.
--neo4j-version takes the versions neo4j.version in cluster.yaml takes.`,
		Example: `  neo4jctl image push --repository 123456789012.dkr.ecr.eu-west-1.amazonaws.com/neo4jctl/neo4j --create-repository
  neo4jctl image push --repository 123456789012.dkr.ecr.eu-west-1.amazonaws.com/neo4jctl/neo4j --neo4j-version 2025.10.1`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := printer.CheckFormat(output); err != nil {
				return usageError{err}
			}
			if o.Repository == "" {
				return usagef("--repository is required, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/neo4jctl/neo4j")
			}
			// the versions a cluster.yaml may name, refused in the same words
			o.Neo4jVersion = neo4jversion.Floating(o.Neo4jVersion)
			if msg, fix := neo4jversion.Problem(o.Neo4jVersion); msg != "" {
				return usagef("--neo4j-version: %s", strings.TrimSuffix(msg+"; "+fix, "; "))
			}
			ctx := cmd.Context()
			if region, ok := image.IsECR(hostOf(o.Repository)); ok {
				cfg, err := loadAWSConfig(ctx, g, region)
				if err != nil {
					return err
				}
				o.ECR = ecr.NewFromConfig(cfg)
			}
			if !g.quiet {
				o.Log = g.err
			}
			res, err := image.Push(ctx, o)
			if err != nil {
				return err
			}
			return printer.Write(g.out, output, res, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "image\t%s\n", res.Reference)
				fmt.Fprintf(w, "digest\t%s\n", res.Digest)
				for _, p := range res.Platforms {
					fmt.Fprintf(w, "platform\t%s\n", p)
				}
			})
		},
	}
	f := c.Flags()
	f.StringVar(&o.Repository, "repository", "", "target repository without tag (ECR or any registry)")
	f.StringVar(&o.Neo4jVersion, "neo4j-version", cluster.DefaultVersion, "Neo4j version of the official image")
	f.StringVar(&o.Tag, "tag", "", "tag to push (default <version>-enterprise-neo4jctl-<agent sha>)")
	f.StringVar(&o.Base, "base", "", "base image (default docker.io/library/neo4j:<version>-enterprise)")
	f.BoolVar(&o.CreateRepository, "create-repository", false, "create the ECR repository if it does not exist")
	f.BoolVar(&o.Insecure, "insecure", false, "allow plain-HTTP registries (local testing)")
	f.StringVarP(&output, "output", "o", printer.Table, "table, json or yaml")
	return c
}

func hostOf(repo string) string {
	for i, r := range repo {
		if r == '/' {
			return repo[:i]
		}
	}
	return repo
}
