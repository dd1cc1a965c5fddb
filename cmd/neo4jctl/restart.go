package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/ops"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
	"github.com/neo4jctl/neo4jctl/pkg/rollout"
)

func newRestartCommand(g *globals) *cobra.Command {
	return group("restart", "Restart a cluster's members, one at a time", "an object", newRestartClusterCommand(g))
}

type restartOptions struct {
	members       []string
	from          string
	yes, dryRun   bool
	output        string
	memberTimeout time.Duration
	admin         adminOptions
}

func newRestartClusterCommand(g *globals) *cobra.Command {
	o := &restartOptions{}
	c := &cobra.Command{
		Use:   "cluster NAME",
		Short: "Rolling restart, quorum first: replicas, followers, the leader of the most databases last",
		Long: `Restart the cluster's members one at a time, checking Neo4j before and after each: replicas
first, then the core members leading the fewest databases, the one leading the most last
(its user databases' leaderships are handed over first). Before each member every server
must be Enabled and Available and every database at its requested status and hosting, with
a writer; after it, the same with the member's databases caught up. A gate that does not
pass within --member-timeout stops the roll and leaves the rest untouched.

A member is restarted by a forced new deployment of its ECS service (the same task
definition: nothing changes that the next update would undo); the restart returns once the
old task has stopped and the new one runs.

Ctrl-C finishes the member that is down (a cluster left with a core down is one failure from
losing quorum) and stops; a second Ctrl-C abandons it. The order is kept in the cluster
bucket, so the command printed at the end resumes exactly: restart cluster NAME --from core-3.`,
		Example: `  neo4jctl restart cluster graph-prod --dry-run
  neo4jctl restart cluster graph-prod
  neo4jctl restart cluster graph-prod --member core-2
  neo4jctl restart cluster graph-prod --member replicas --yes
  neo4jctl restart cluster graph-prod --from core-3 --member-timeout 20m`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkRestartFlags(o); err != nil {
				return err
			}
			return restartCluster(c.Context(), g, args[0], o)
		},
	}
	f := c.Flags()
	f.StringSliceVar(&o.members, "member", nil, "restart only these members (core-N or replicas; repeat or separate with commas); a member that is down may be named: that is its repair")
	f.StringVar(&o.from, "from", "", "resume an interrupted restart at this member, in that run's order")
	f.BoolVarP(&o.yes, "yes", "y", false, "restart without asking")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the order and what each member leads; restart nothing")
	f.StringVarP(&o.output, "output", "o", printer.Table, "the --dry-run plan as table, json or yaml")
	f.DurationVar(&o.memberTimeout, "member-timeout", rollout.DefaultMemberTimeout, "bound each member's gates and restart; --timeout bounds the whole command")
	addAdminFlags(c, &o.admin)
	return c
}

func checkRestartFlags(o *restartOptions) error {
	if err := printer.CheckFormat(o.output); err != nil {
		return usageError{err}
	}
	if o.memberTimeout <= 0 {
		return usagef("--member-timeout %s: give a positive duration such as 15m", o.memberTimeout)
	}
	for _, m := range append(o.members, o.from) {
		if m != "" && m != "replicas" && !strings.HasPrefix(m, "core-") {
			return usagef("%q is not a member: name core-N or replicas", m)
		}
	}
	return nil
}

// restartCluster plans, shows or asks, and rolls.
func restartCluster(ctx context.Context, g *globals, name string, o *restartOptions) error {
	h, err := newCluster(ctx, g, name, g.region)
	if err != nil {
		return err
	}
	done, err := g.adminChannel(h, o.admin)
	if err != nil {
		return err
	}
	defer done()
	r := ops.NewRestart(h)
	r.Only, r.From, r.Yes, r.MemberTimeout, r.Poll = o.members, o.from, o.yes, o.memberTimeout, g.hooks.pollInterval
	sig, stop := g.interrupts()
	defer stop()
	r.Interrupts = sig
	plan, err := r.Plan(ctx)
	if err != nil {
		return err
	}
	if o.dryRun {
		g.done()
		return printer.Write(g.out, o.output, plan, func(w *tabwriter.Writer) { fmt.Fprint(w, plan.Text()) })
	}
	g.display.Print(strings.TrimRight(plan.Text(), "\n"))
	if err := r.Ask(ctx, plan); err != nil {
		return err
	}
	res, err := r.Execute(ctx, plan)
	g.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(g.err, "%s cluster %s restarted: %s, each once (%s in gates, %s in restarts).\n",
		g.colors.Green("Done:"), name, strings.Join(res.Done, ", "), res.Gates.Round(time.Second), res.Restarts.Round(time.Second))
	return nil
}
