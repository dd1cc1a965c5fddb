package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/ops"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

type backupVerifyOptions struct {
	ops.BackupVerifyOptions
	wait   bool
	output string
}

func newBackupVerifyCommand(g *globals) *cobra.Command {
	o := &backupVerifyOptions{}
	c := &cobra.Command{
		Use:   "verify NAME",
		Short: "Check backups for consistency in a task and record the verdict in the manifest",
		Long: `Run the cluster's verify task (the operations stack's BackupVerifyRunTask: a Fargate task with
a scratch volume sized for the store): it downloads each artifact to check, aggregates a
differential's chain (or an unrecovered full backup) first, runs neo4j-admin database check,
keeps the report of an inconsistent backup in the bucket and records the verdict in the
artifact's manifest, where backup list shows it.

By default it checks each database's newest full backup (what the weekly
backup.verify.schedule checks); --newest checks each database's newest restorable point;
--artifact checks the named ones. It waits for the verdicts unless --wait=false (--timeout
bounds the wait, default 6h; the task goes on after it).`,
		Example: `  neo4jctl backup verify graph-prod
  neo4jctl backup verify graph-prod --artifact neo4j-2026-11-26T02-00-31.backup
  neo4jctl backup verify graph-prod --newest --database neo4j --wait=false`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.check(); err != nil {
				return usageError{err}
			}
			h, err := newCluster(c.Context(), g, args[0], g.region)
			if err != nil {
				return err
			}
			return backupVerify(c.Context(), g, h, o)
		},
	}
	f := c.Flags()
	f.StringSliceVar(&o.Artifacts, "artifact", nil, "check this artifact (its key or file name, as backup list shows it; repeat or comma-separate)")
	f.BoolVar(&o.Newest, "newest", false, "check each database's newest restorable point instead of its newest full backup")
	f.StringSliceVar(&o.Databases, "database", nil, "only these databases (default: backup.databases of cluster.yaml)")
	f.BoolVar(&o.wait, "wait", true, "wait for the verdicts (--wait=false: start the task and return)")
	f.StringVarP(&o.output, "output", "o", printer.Table, "table, json or yaml")
	return c
}

func (o *backupVerifyOptions) check() error {
	if err := printer.CheckFormat(o.output); err != nil {
		return err
	}
	if len(o.Artifacts) > 0 && (o.Newest || len(o.Databases) > 0) {
		return fmt.Errorf("--artifact names what to check: it excludes --newest and --database")
	}
	for _, db := range o.Databases {
		if err := (ops.BackupCreateOptions{Databases: []string{db}}).Validate(); err != nil {
			return err
		}
	}
	return nil
}

func backupVerify(ctx context.Context, g *globals, h *ops.Cluster, o *backupVerifyOptions) error {
	v := ops.NewBackupVerify(h)
	v.Clock, v.PollInterval = g.hooks.clock, g.hooks.pollInterval
	run, err := v.Start(ctx, o.BackupVerifyOptions)
	if err != nil {
		return err
	}
	if o.wait {
		err = v.Wait(ctx, run, cmp.Or(g.timeout, defaultTaskWait))
	}
	g.done()
	var failed *ops.VerifyFailedError
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(g.err, "Stopped waiting; verify task %s goes on. Its verdicts appear in `neo4jctl backup list %s`.\n", run.TaskID, run.Cluster)
		return err
	case err != nil && !errors.As(err, &failed):
		return err
	}
	if werr := printer.Write(g.out, o.output, run, func(w *tabwriter.Writer) { verifyRunTable(w, run) }); werr != nil {
		return werr
	}
	if err == nil && !o.wait {
		fmt.Fprintf(g.err, "Verify task %s started. Its verdicts appear in `neo4jctl backup list %s`.\n", run.TaskID, run.Cluster)
	} else if err == nil {
		fmt.Fprintf(g.err, "%s %d backups consistent.\n", g.colors.Green("Done:"), len(run.Verdicts))
	}
	return err
}

// verifyRunTable is a verify run for people: the task, then one verdict per artifact.
func verifyRunTable(w *tabwriter.Writer, run *ops.VerifyRun) {
	fmt.Fprintf(w, "TASK\t%s\nTARGET\t%s\nLOG STREAM\t%s\n", run.TaskID, run.Target, run.LogStream)
	if run.Outcome == "" {
		fmt.Fprintf(w, "STATUS\t%s\n", run.Status)
		return
	}
	fmt.Fprintf(w, "OUTCOME\t%s\n", run.Outcome)
	if run.Reason != "" {
		fmt.Fprintf(w, "REASON\t%s\n", run.Reason)
	}
	if len(run.Verdicts) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "DATABASE\tARTIFACT\tTYPE\tVERDICT\tCHECKED\tTOOK\tIN MANIFEST\tNOTE")
	for _, v := range run.Verdicts {
		recorded, note := "yes", v.Message
		if !v.Recorded {
			recorded = "NO"
		}
		if v.Report != "" {
			note = "report: s3://…/" + v.Report
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Database, path.Base(v.Key), v.Type, v.Verdict, stamp(v.At),
			printer.Duration(time.Duration(v.DurationSeconds*float64(time.Second))), recorded, note)
	}
}
