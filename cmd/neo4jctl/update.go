package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
	"github.com/neo4jctl/neo4jctl/pkg/rollout"
)

func newUpdateCommand(g *globals) *cobra.Command {
	return group("update", "Change a cluster to match cluster.yaml", "an object", newUpdateClusterCommand(g))
}

// updateOptions are update cluster's flags.
type updateOptions struct {
	file                   string
	force, yes, refreshAMI bool
	overwrite              bool // --overwrite-imperative
	roll                   rollFlags
	admin                  adminOptions
}

// rollFlags are the flags of a command whose members restart through a gated roll.
type rollFlags struct {
	memberTimeout time.Duration
	ungated       bool
}

func addRollFlags(c *cobra.Command, o *rollFlags, ungated bool) {
	c.Flags().DurationVar(&o.memberTimeout, "member-timeout", rollout.DefaultMemberTimeout, "bound each member's gates and restart; --timeout bounds the whole command")
	if ungated {
		c.Flags().BoolVar(&o.ungated, "ungated", false, "with --force: update the restarting members one at a time waiting for CloudFormation only, without Neo4j's checks "+
			"(the repair of a cluster whose Neo4j is down, e.g. a neo4j.config that keeps it from starting)")
	}
}

// options is the action's view of the flags.
func (o rollFlags) options(g *globals, sig <-chan os.Signal) (ops.RollOptions, error) {
	if o.memberTimeout <= 0 {
		return ops.RollOptions{}, usagef("--member-timeout %s: give a positive duration such as 15m", o.memberTimeout)
	}
	return ops.RollOptions{Ungated: o.ungated, MemberTimeout: o.memberTimeout, Poll: g.hooks.pollInterval, Interrupts: sig}, nil
}

func newUpdateClusterCommand(g *globals) *cobra.Command {
	o := &updateOptions{}
	c := &cobra.Command{
		Use:   "cluster -f cluster.yaml",
		Short: "Preview the changes to every stack, then apply them",
		Long: `Make a CloudFormation change set for every stack, print the differences (+ add, ~ modify,
- remove; replacements called out) and apply them once confirmed. Nothing changes until then.

Replacing a member's data volume is refused without --force. So is any change that restarts a
running core member: its launch template or Auto Scaling group (the rolling update replaces
the instance, e.g. a new cores.instanceType), its task definition (neo4j.config, memory,
image) or its service. With --force the member stacks that restart go through the gated roll
of "restart cluster": one member stack at a time, replicas first, the core leading the most
databases last (its leaderships handed over first), each once Neo4j shows every server and
database ready, the next once the member is back and caught up (--member-timeout each). The
other stacks are updated before them (shared) or after them (operations). Interrupted or
stopped by a gate, run the same command again: the members done have nothing left to change.
--ungated skips Neo4j's checks, for a cluster whose Neo4j is down.

What commands without -f set since the file was last applied (scale, upgrade, reset-data) is
kept: they record it in the cluster's last-applied config (in its bucket), and a file that
would set such a field back (a scale-back, a downgrade) is refused, naming each field, unless
--overwrite-imperative. A stopped cluster stays stopped (start starts it): its desired counts,
instances, alarm actions and backup schedules stay off. Once every stack is updated, the file
becomes the last-applied config.

The instances stay on the AMI they were created with (create pins the ECS-optimized AMI AWS
recommends that day), and core members on the host agent of the neo4jctl release that made
them, so neither a new AMI from AWS nor a new neo4jctl replaces an instance. update says when a
newer AMI is available; --refresh-ami moves to it (and the core hosts to this release's agent):
the diff names the AMI, and the members roll like any other instance change (--force, gated).`,
		Example: `  neo4jctl update cluster -f cluster.yaml
  neo4jctl update cluster -f cluster.yaml --yes
  neo4jctl update cluster -f cluster.yaml --force --member-timeout 20m
  neo4jctl update cluster -f cluster.yaml --refresh-ami --force   # newest AMI, one member at a time, gated`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f, err := loadConfig(c.Context(), g, o.file)
			if err != nil {
				return err
			}
			return updateCluster(c.Context(), g, f, o)
		},
	}
	c.Flags().StringVarP(&o.file, "config-file", "f", "", "cluster.yaml of the cluster (- reads standard input)")
	c.Flags().BoolVar(&o.force, "force", false, "allow replacing a member's volume, and restart running members one at a time through the gated roll")
	c.Flags().BoolVarP(&o.yes, "yes", "y", false, "apply without asking")
	c.Flags().BoolVar(&o.refreshAMI, "refresh-ami", false, "move the instances to the ECS-optimized AMI AWS recommends now (and the core hosts to this release's agent)")
	c.Flags().BoolVar(&o.overwrite, strings.TrimPrefix(ops.OverwriteFlag, "--"), false, "apply the file's values over what scale, upgrade or reset-data set since it was last applied (a scale-back, a downgrade)")
	addRollFlags(c, &o.roll, true)
	addAdminFlags(c, &o.admin)
	return c
}

// updateCluster previews, shows the diff on stdout, asks and applies.
func updateCluster(ctx context.Context, g *globals, f *cluster.File, o *updateOptions) error {
	sig, stop := g.interrupts()
	defer stop()
	roll, err := o.roll.options(g, sig)
	if err != nil {
		return err
	}
	h, err := newCluster(ctx, g, f.Config.Metadata.Name, f.Config.Metadata.Region)
	if err != nil {
		return err
	}
	done, err := g.adminChannel(h, o.admin)
	if err != nil {
		return err
	}
	defer done()
	if err := scaleForFile(ctx, g, h, f, o, roll); err != nil {
		return err
	}
	u := ops.NewUpdate(h, f, o.force, o.yes, g.release())
	u.Roll, u.RefreshAMI, u.Overwrite = roll, o.refreshAMI, o.overwrite
	plan, err := u.Plan(ctx)
	if err != nil {
		return err
	}
	writeDiff(g.out, plan.ChangeSets, plan.Notes, g.colors)
	if plan.Changed() == 0 {
		g.display.Print(fmt.Sprintf("No changes: cluster %s matches %s.", h.Name, f.Path))
		return u.Record(ctx)
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

// scaleForFile runs `scale cores` first when the file's cores.count differs from the
// cluster's core members: the same flow, quorum first (see ops.ScaleForFile).
func scaleForFile(ctx context.Context, g *globals, h *ops.Cluster, f *cluster.File, o *updateOptions, roll ops.RollOptions) error {
	s, err := ops.ScaleForFile(ctx, h, f, o.overwrite, o.yes, g.release())
	if err != nil || s == nil {
		return err
	}
	s.Roll, s.Timeout = roll, roll.MemberTimeout
	p, err := s.Plan(ctx)
	if err != nil {
		return err
	}
	g.display.Print(strings.TrimRight(p.Text(), "\n"))
	if err := s.Ask(ctx, p); err != nil {
		return err
	}
	if err := s.Execute(ctx, p); err != nil {
		return err
	}
	fmt.Fprintf(g.err, "Cluster %s has %d cores; now the rest of %s.\n", h.Name, p.To, f.Path)
	return nil
}
