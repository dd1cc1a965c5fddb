package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/ops"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

// defaultTaskWait bounds --wait for a backup or verify task without --timeout: a
// multi-terabyte store takes hours.
const defaultTaskWait = 6 * time.Hour

type backupCreateOptions struct {
	ops.BackupCreateOptions
	all    bool
	wait   bool
	output string
}

func newBackupCreateCommand(g *globals) *cobra.Command {
	o := &backupCreateOptions{}
	c := &cobra.Command{
		Use:   "create NAME",
		Short: "Back up now: start the backup task the schedule runs",
		Long: `Start the cluster's backup task now: the same task, network and scratch volume the schedule
uses (the operations stack's BackupRunTask), with the type and databases overridden.
neo4j-admin backs up from the replicas first, then the cores, straight to the cluster bucket,
and records each artifact in its database's manifest.

One backup runs at a time: when the backup lock is held or a backup task runs, create says
by whom and starts nothing. With --wait it follows the task and prints, per database, the
artifact it made, its size and transaction range, and the run's duration; --timeout bounds
the wait (default 6h), and the task goes on after it.`,
		Example: `  neo4jctl backup create graph-prod --wait
  neo4jctl backup create graph-prod --database neo4j --type full --wait -o json`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.check(); err != nil {
				return usageError{err}
			}
			h, err := newCluster(c.Context(), g, args[0], g.region)
			if err != nil {
				return err
			}
			return backupCreate(c.Context(), g, h, o)
		},
	}
	f := c.Flags()
	f.StringSliceVar(&o.Databases, "database", nil, "back up this database (repeat, or comma-separate; default: backup.databases of cluster.yaml)")
	f.BoolVar(&o.all, "all", false, "back up every database, system included")
	f.StringVar(&o.Type, "type", "auto", "full, diff, or auto (a full backup where a database has no chain yet)")
	f.BoolVar(&o.wait, "wait", false, "wait for the task to finish and show what it made")
	f.StringVarP(&o.output, "output", "o", printer.Table, "table, json or yaml")
	return c
}

func (o *backupCreateOptions) check() error {
	if err := printer.CheckFormat(o.output); err != nil {
		return err
	}
	if o.all {
		if len(o.Databases) > 0 {
			return fmt.Errorf("--all and --database exclude each other")
		}
		o.Databases = []string{"*"}
	}
	return o.Validate()
}

func backupCreate(ctx context.Context, g *globals, h *ops.Cluster, o *backupCreateOptions) error {
	b := ops.NewBackupCreate(h)
	b.Clock, b.PollInterval = g.hooks.clock, g.hooks.pollInterval
	run, err := b.Start(ctx, o.BackupCreateOptions)
	if err != nil {
		return err
	}
	if o.wait {
		err = b.Wait(ctx, run, cmp.Or(g.timeout, defaultTaskWait))
	}
	g.done()
	var failed *ops.BackupFailedError
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(g.err, "Stopped waiting; backup task %s goes on. Follow it with `neo4jctl logs %s --member backup --follow`.\n", run.TaskID, run.Cluster)
		return err
	case err != nil && !errors.As(err, &failed):
		return err
	}
	if werr := printer.Write(g.out, o.output, run, func(w *tabwriter.Writer) { backupRunTable(w, run) }); werr != nil {
		return werr
	}
	if err == nil && !o.wait {
		fmt.Fprintf(g.err, "Backup task %s started. See what it made with `neo4jctl backup list %s` once it is done.\n", run.TaskID, run.Cluster)
	} else if err == nil {
		fmt.Fprintf(g.err, "%s backup task %s made %d artifacts.\n", g.colors.Green("Done:"), run.TaskID, len(run.Artifacts))
	}
	return err
}

// backupRunTable is a backup run for people: the task, then per database what it made.
func backupRunTable(w *tabwriter.Writer, run *ops.BackupRun) {
	dbs := "backup.databases (cluster.yaml)"
	if len(run.Databases) > 0 {
		dbs = strings.Join(run.Databases, ", ")
	}
	fmt.Fprintf(w, "TASK\t%s\nTYPE\t%s\nDATABASES\t%s\nLOG STREAM\t%s\n", run.TaskID, run.Type, dbs, run.LogStream)
	if run.Outcome == "" {
		fmt.Fprintf(w, "STATUS\t%s\n", run.Status)
		return
	}
	fmt.Fprintf(w, "OUTCOME\t%s\n", run.Outcome)
	if run.Reason != "" {
		fmt.Fprintf(w, "REASON\t%s\n", run.Reason)
	}
	if run.DurationSeconds > 0 {
		fmt.Fprintf(w, "DURATION\t%s (the neo4j-admin run: its databases one after another)\n", printer.Duration(time.Duration(run.DurationSeconds*float64(time.Second))))
	}
	if len(run.Artifacts) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "DATABASE\tARTIFACT\tTYPE\tSIZE\tTRANSACTIONS\tCHAIN")
	for _, a := range run.Artifacts {
		tx := fmt.Sprintf("%d-%d", a.LowestTx, a.HighestTx)
		if a.LowestTx == 0 && a.HighestTx == 0 {
			tx = "none (nothing changed)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Database, path.Base(a.Key), a.Type, printer.Bytes(a.SizeBytes), tx, a.Chain)
	}
}
