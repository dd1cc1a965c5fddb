package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	yaml "github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

func newCreateCommand(g *globals) *cobra.Command {
	return group("create", "Create a cluster", "an object", newCreateClusterCommand(g))
}

type createOptions struct {
	file   string
	dryRun string // "" (create), "offline" or "aws"
	output string
	detach bool // start the stacks that can start and return
	print  bool // -o given: print the created cluster on stdout
	wait   bool // wait for Neo4j to form the cluster after the stacks
	admin  adminOptions
	fresh  bool // new volumes, bucket and key even where an earlier cluster of the name kept data
}

func newCreateClusterCommand(g *globals) *cobra.Command {
	o := &createOptions{}
	c := &cobra.Command{
		Use:   "cluster -f cluster.yaml",
		Short: "Create a Neo4j cluster from cluster.yaml",
		Long: `Check the account (credentials, network, image), then create the cluster's stacks: the
shared stack first, core members and replicas in parallel, the operations stack last, and
wait for them. Run it again to resume a create that failed or was interrupted.

Data an earlier cluster of the same name kept (delete without --purge-data) is adopted: each
member gets its kept volume back (same member, same AZ), and the bucket with the backups,
the KMS key and the users' secrets (same passwords) are used instead of new ones; the plan
says which. Where several generations were kept, the newest is adopted and the others are
named and left alone. --fresh-data starts with new volumes, bucket and key instead and leaves
the kept ones alone; the secrets have fixed names, so they are adopted even then and the users
keep their passwords. A kept volume in another AZ than its member now goes to refuses the
create before anything is made.

--dry-run prints the defaulted config and the plan (-o yaml, the default, or json) and
touches nothing, without AWS; --dry-run=aws also reads what an earlier cluster kept and shows
what create would adopt (it changes nothing). Without --dry-run, -o json|yaml|table prints
the created cluster as "neo4jctl get cluster NAME" shows it, on stdout.`,
		Example: `  neo4jctl create cluster -f cluster.yaml --dry-run
  neo4jctl create cluster -f cluster.yaml --dry-run -o json | jq .plan
  neo4jctl create cluster -f cluster.yaml --dry-run=aws
  neo4jctl create cluster -f cluster.yaml --fresh-data
  neo4jctl create cluster -f cluster.yaml -o json | jq -r .endpoint
  neo4jctl create cluster -f cluster.yaml --timeout 40m
  neo4jctl create cluster -f cluster.yaml --wait=false`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.print = c.Flags().Changed("output")
			if err := checkCreateOutput(o); err != nil {
				return err
			}
			if o.dryRun != "" && o.dryRun != "offline" && o.dryRun != "aws" {
				return usagef("--dry-run=%q: use --dry-run (offline) or --dry-run=aws", o.dryRun)
			}
			f, err := loadConfig(c.Context(), g, o.file)
			if err != nil {
				return err
			}
			if o.dryRun == "" {
				return createCluster(c.Context(), g, f, o)
			}
			return dryRunCluster(c.Context(), g, f, o)
		},
	}
	c.Flags().StringVarP(&o.file, "config-file", "f", "", "cluster.yaml to create (- reads standard input)")
	c.Flags().StringVar(&o.dryRun, "dry-run", "", "print the defaulted config and the plan; touch nothing (=aws: also show the kept data create would adopt)")
	c.Flags().Lookup("dry-run").NoOptDefVal = "offline"
	c.Flags().BoolVar(&o.fresh, "fresh-data", false, "new volumes, bucket and key even where an earlier cluster of this name kept data (left alone; secrets are still adopted)")
	c.Flags().StringVarP(&o.output, "output", "o", printer.YAML, "yaml or json with --dry-run; json, yaml or table prints the created cluster")
	c.Flags().BoolVar(&o.detach, "detach", false, "start creating and return at once; run create again to carry on")
	c.Flags().BoolVar(&o.wait, "wait", true, "after the stacks, wait until Neo4j has formed the cluster (every member joined, system and the default database online); --wait=false returns when the stacks are complete")
	addAdminFlags(c, &o.admin)
	return c
}

// checkCreateOutput: a dry run prints the config as yaml or json; a create prints the
// created cluster only when -o is given, in any format get knows.
func checkCreateOutput(o *createOptions) error {
	allowed := []string{printer.YAML, printer.JSON}
	if o.dryRun == "" {
		allowed = []string{printer.JSON, printer.YAML, printer.Table}
	}
	if err := printer.CheckFormat(o.output, allowed...); err != nil {
		return usageError{err}
	}
	return nil
}

// dryRun is what --dry-run prints: the config as neo4jctl will use it, and what it will make.
type dryRun struct {
	Config *cluster.ClusterConfig `json:"config"`
	Plan   *ops.Plan              `json:"plan"`
}

// dryRunCluster prints the dry run; with --dry-run=aws it first looks up the kept data a
// create would adopt (reads only).
func dryRunCluster(ctx context.Context, g *globals, f *cluster.File, o *createOptions) error {
	var a *ops.Adoption
	if o.dryRun == "aws" {
		h, err := newCluster(ctx, g, f.Config.Metadata.Name, f.Config.Metadata.Region)
		if err != nil {
			return err
		}
		a, err = ops.LookupAdoption(ctx, h, f.Config, f.Path, o.fresh)
		g.done()
		if err != nil {
			return err
		}
	}
	return writeDryRun(g.out, o.output, f.Config, g.release().OfflineInputs(), a)
}

// writeDryRun prints the defaulted config and the plan (with a, what create adopts). As
// YAML, the plan is written as comments so that the output is itself a complete cluster.yaml.
func writeDryRun(w io.Writer, format string, cfg *cluster.ClusterConfig, in stack.Inputs, a *ops.Adoption) error {
	in.Adopt = a.Inputs()
	plan, err := ops.NewPlan(cfg, in)
	if err != nil {
		return err
	}
	plan.Adoption = a
	if format == printer.JSON {
		return printer.Write(w, format, dryRun{Config: cfg, Plan: plan}, nil)
	}
	// goccy keeps the struct order, so the config reads like the examples
	b, err := yaml.MarshalWithOptions(cfg, yaml.IndentSequence(true))
	if err != nil {
		return fmt.Errorf("writing the defaulted config: %w", err)
	}
	fmt.Fprintf(w, "# neo4jctl dry run: the defaulted config, then the plan as comments.\n")
	if _, err := w.Write(b); err != nil {
		return err
	}
	for _, l := range strings.Split(strings.TrimRight(plan.Text(), "\n"), "\n") {
		fmt.Fprintf(w, "# %s\n", l)
	}
	return nil
}

// createCluster creates the stacks in AWS: the create action's plan (checks, resume) and
// execution; after Ctrl-C the action offers to roll back.
func createCluster(ctx context.Context, g *globals, f *cluster.File, o *createOptions) error {
	cfg := f.Config
	h, err := newCluster(ctx, g, cfg.Metadata.Name, cfg.Metadata.Region)
	if err != nil {
		return err
	}
	done, err := g.adminChannel(h, o.admin)
	if err != nil {
		return err
	}
	defer done()
	c := ops.NewCreate(h, cfg, f.Path, o.detach, g.release())
	c.Wait, c.Inspect = o.wait && !o.detach, g.inspect(cfg.Metadata.Name)
	if g.timeout > 0 {
		c.Deadline = h.Clock.Now().Add(g.timeout)
	}
	c.Fresh = o.fresh
	sig, stop := g.interrupts()
	defer stop()
	c.Interrupts = sig
	plan, err := c.Plan(ctx)
	if err != nil {
		return err
	}
	res, err := c.Execute(ctx, plan)
	g.done()
	if err != nil {
		return err
	}
	if res.Detached {
		fmt.Fprintf(g.err, "Started %s; not waiting (--detach).\n", strings.Join(res.Started, ", "))
		if rec := res.Recommend(); rec != "" {
			fmt.Fprintln(g.err, rec)
		}
		return printCreated(ctx, g, h, o)
	}
	formed := ""
	if res.Formed {
		formed = " and formed"
	}
	fmt.Fprintf(g.err, "%s cluster %s created in %s%s. %s\n", g.colors.Green("Done:"), res.Cluster, res.Region, formed, res.Recommend())
	return printCreated(ctx, g, h, o)
}

// printCreated prints the created cluster on stdout as `get cluster NAME -o FORMAT` does,
// when -o asked for it.
func printCreated(ctx context.Context, g *globals, h *ops.Cluster, o *createOptions) error {
	if !o.print {
		return nil
	}
	v, err := ops.NewGet(h).Execute(ctx)
	if err != nil {
		return fmt.Errorf("cluster %s is created; reading it back for -o %s: %w", h.Name, o.output, err)
	}
	return printer.Write(g.out, o.output, v, func(w *tabwriter.Writer) { clusterTable(w, v) })
}

// inspect is the command that shows what keeps a cluster from being ready: diagnose once
// neo4jctl has it, get cluster until then.
func (g *globals) inspect(name string) string {
	if c, _, err := g.root.Find([]string{"diagnose"}); err == nil && c != g.root {
		return "neo4jctl diagnose " + name
	}
	return "neo4jctl get cluster " + name
}
