package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

// scaleCoresOptions are scale cores' flags.
type scaleCoresOptions struct {
	changeOptions
	count int
	roll  rollFlags
}

func newScaleCoresCommand(g *globals) *cobra.Command {
	o := &scaleCoresOptions{count: -1}
	c := &cobra.Command{
		Use:   "cores NAME --count K",
		Short: "Set the number of core members (primaries): 3, 5 or 7 (1 only with allowNonHA), quorum first",
		Long: `Set cores.count in the cluster's last-applied config and bring the cluster to it, one step
at a time, each checked with Neo4j:

Scale-out adds member stacks core-N+1..core-K, waits until their servers join and are
Available, enables them, raises the topology of the databases that have a primary on every
core, and reallocates the databases onto them.

Scale-in removes the highest-numbered members one at a time: the member is cordoned, its
leaderships handed over, the topology of the databases on every core lowered, the
deallocation planned (DRYRUN, shown, confirmed unless --yes), the member deallocated, waited
until Deallocated and dropped; then its stack is deleted with its DNS name, and its data
volume is kept and named.

Both then render what names the members again: every member's discovery endpoints (the
member stacks roll one at a time through the gated roll of "restart cluster"), the backup
task's --from list and the alarms. Interrupted or stopped, run the same command again: each
step does only what is left. A later ` + "`neo4jctl update cluster -f`" + ` with the old count is
refused, naming cores.count.`,
		Example: `  neo4jctl scale cores graph-prod --count 5 --dry-run
  neo4jctl scale cores graph-prod --count 5 --yes
  neo4jctl scale cores graph-prod --count 3 --member-timeout 30m`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if !c.Flags().Changed("count") || o.count < 1 {
				return usagef("--count K is required: the number of core members, 3, 5 or 7 (1 with cores.allowNonHA)")
			}
			return scaleCores(c.Context(), g, args[0], o)
		},
	}
	c.Flags().IntVar(&o.count, "count", -1, "the number of core members: 3, 5 or 7 (1 with cores.allowNonHA)")
	addNeo4jWaitFlags(c, &o.changeOptions, "")
	addRollFlags(c, &o.roll, false)
	return c
}

// scaleCores plans, shows or asks, and scales.
func scaleCores(ctx context.Context, g *globals, name string, o *scaleCoresOptions) error {
	sig, stop := g.interrupts()
	defer stop()
	roll, err := o.roll.options(g, sig)
	if err != nil {
		return err
	}
	h, err := newCluster(ctx, g, name, g.region)
	if err != nil {
		return err
	}
	done, err := g.adminChannel(h, o.admin)
	if err != nil {
		return err
	}
	defer done()
	s := ops.NewScaleCores(h, o.count, o.yes, g.release())
	s.Roll, s.Timeout = roll, roll.MemberTimeout
	if _, ran, err := runPlanned(ctx, g, &o.changeOptions, s, func(p *ops.ScaleCoresPlan) bool { return p.NoOp }, nil); !ran {
		return err
	}
	fmt.Fprintf(g.err, "%s cluster %s has %d cores.\n", g.colors.Green("Done:"), name, o.count)
	return nil
}
