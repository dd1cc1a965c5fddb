package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

func newUpdateCommand(g *globals) *cobra.Command {
	return group("update", "Change a cluster to match cluster.yaml", "an object", newUpdateClusterCommand(g))
}

func newUpdateClusterCommand(g *globals) *cobra.Command {
	var file string
	var fl updateFlags
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
in cluster.yaml since the last update: then the config wins and the diff shows it.

The instances stay on the AMI they were created with (create pins the ECS-optimized AMI AWS
recommends that day), and core members on the host agent of the neo4jctl release that made
them, so neither a new AMI from AWS nor a new neo4jctl replaces an instance. update says when a
newer AMI is available; --refresh-ami moves to it (and the core hosts to this release's agent):
the diff names the AMI, and the members roll like any other instance change (--force).`,
		Example: `  neo4jctl update cluster -f cluster.yaml
  neo4jctl update cluster -f cluster.yaml --yes
  neo4jctl update cluster -f cluster.yaml --refresh-ami --force   # newest AMI, one member at a time`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f, err := loadConfig(c.Context(), g, file)
			if err != nil {
				return err
			}
			return updateCluster(c.Context(), g, f, fl)
		},
	}
	c.Flags().StringVarP(&file, "config-file", "f", "", "cluster.yaml of the cluster (- reads standard input)")
	c.Flags().BoolVar(&fl.force, "force", false, "allow replacing a member's volume, and restart running core members one at a time")
	c.Flags().BoolVarP(&fl.yes, "yes", "y", false, "apply without asking")
	c.Flags().BoolVar(&fl.refreshAMI, "refresh-ami", false, "move the instances to the ECS-optimized AMI AWS recommends now (and the core hosts to this release's agent)")
	return c
}

type updateFlags struct{ force, yes, refreshAMI bool }

// updateCluster previews, shows the diff on stdout, asks and applies.
func updateCluster(ctx context.Context, g *globals, f *cluster.File, fl updateFlags) error {
	h, err := newCluster(ctx, g, f.Config.Metadata.Name, f.Config.Metadata.Region)
	if err != nil {
		return err
	}
	u := ops.NewUpdate(h, f.Config, f.Path, fl.force, fl.yes, g.release())
	// the AMI refresh rolls through the same --force path as any core change (the gated roll
	// of pkg/rollout takes over both)
	u.RefreshAMI = fl.refreshAMI
	plan, err := u.Plan(ctx)
	if err != nil {
		return err
	}
	writeDiff(g.out, plan.ChangeSets, plan.Notes, g.colors)
	if plan.Changed() == 0 {
		g.display.Print(fmt.Sprintf("No changes: cluster %s matches %s.", h.Name, f.Path))
		return nil
	}
	if err := u.Ask(ctx, plan); err != nil {
		return err
	}
	err = u.Execute(ctx, plan)
	g.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(g.err, "Cluster %s updated.\n", h.Name)
	return nil
}

// writeDiff prints change sets for people: + add, ~ modify, - remove, with replacements
// called out, and under each stack its notes (desired counts the config sets).
func writeDiff(w io.Writer, sets []*engine.ChangeSet, notes map[string][]string, colors printer.Colors) {
	for _, cs := range sets {
		if cs == nil {
			continue
		}
		if (cs.NoChanges || len(cs.Changes) == 0) && len(notes[cs.Stack]) == 0 {
			fmt.Fprintf(w, "%s: no changes\n", cs.Stack)
			continue
		}
		verb := "changes"
		if cs.Type == "CREATE" {
			verb = "new stack"
		}
		fmt.Fprintf(w, "%s: %s\n", colors.Bold(cs.Stack), verb)
		for _, c := range cs.Changes {
			fmt.Fprintln(w, diffLine(c, colors))
		}
		for _, n := range notes[cs.Stack] {
			fmt.Fprintln(w, colors.Yellow("  ~ "+n))
		}
	}
}

// diffLine is one resource change: mark, action, resource, properties, replacement.
func diffLine(c engine.Change, colors printer.Colors) string {
	mark, col := "~", colors.Yellow
	switch c.Action {
	case "Add":
		mark, col = "+", colors.Green
	case "Remove":
		mark, col = "-", colors.Red
	}
	line := fmt.Sprintf("  %s %-7s %s (%s)", mark, c.Action, c.LogicalID, c.Type)
	if len(c.Properties) > 0 {
		line += " [" + strings.Join(c.Properties, ", ") + "]"
	}
	switch c.Replacement {
	case "True":
		line += " REPLACEMENT"
	case "Conditional":
		line += " MAY BE REPLACED"
	}
	return col(line)
}
