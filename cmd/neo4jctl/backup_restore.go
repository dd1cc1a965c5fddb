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

// defaultRestoreWait bounds the wait for the restored database without --timeout.
const defaultRestoreWait = 2 * time.Hour

type backupRestoreOptions struct {
	ops.BackupRestoreOptions
	latest bool
	yes    bool
	output string
	admin  adminOptions
}

func newBackupRestoreCommand(g *globals) *cobra.Command {
	o := &backupRestoreOptions{}
	c := &cobra.Command{
		Use:   "restore NAME --database DB",
		Short: "Restore one database from a backup, online: the other databases keep serving",
		Long: `Replace one database with a backup from the cluster bucket, without stopping the cluster:
Neo4j recreates the database from the backup (dbms.cluster.recreateDatabase on 5.24 to
2025.03, dbms.recreateDatabase from 2025.04), each server fetching the artifact (and a
differential's chain) from S3 itself. The database's privileges are kept. It is offline
until every copy is online again; every other database keeps serving. restore waits for
that (--timeout bounds the wait, default 2h), then reports each copy.

--latest (the default) takes the database's newest restorable point; --from names an
artifact as backup list shows it. restore says exactly what it replaces and asks, unless
--yes. A database that no longer exists is created from the backup. The system database is
refused: it is restored offline, and the message says how.`,
		Example: `  neo4jctl backup restore graph-prod --database neo4j --latest
  neo4jctl backup restore graph-prod --database shop --from shop-2026-11-26T02-00-31.backup --yes`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.check(); err != nil {
				return usageError{err}
			}
			h, err := newCluster(c.Context(), g, args[0], g.region)
			if err != nil {
				return err
			}
			closeAdmin, err := g.adminChannel(h, o.admin)
			if err != nil {
				return err
			}
			defer closeAdmin()
			return backupRestore(c.Context(), g, h, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Database, "database", "", "the database to restore (required)")
	f.StringVar(&o.From, "from", "", "the backup to restore: an artifact's file name or key, as backup list shows it")
	f.BoolVar(&o.latest, "latest", false, "the database's newest restorable point (the default)")
	f.BoolVarP(&o.yes, "yes", "y", false, "do not ask")
	f.StringVarP(&o.output, "output", "o", printer.Table, "table, json or yaml")
	addAdminFlags(c, &o.admin)
	return c
}

func (o *backupRestoreOptions) check() error {
	if err := printer.CheckFormat(o.output); err != nil {
		return err
	}
	switch {
	case o.Database == "":
		return fmt.Errorf("--database is required: the database to restore")
	case o.latest && o.From != "":
		return fmt.Errorf("--from and --latest exclude each other")
	}
	return (ops.BackupCreateOptions{Databases: []string{o.Database}}).Validate()
}

func backupRestore(ctx context.Context, g *globals, h *ops.Cluster, o *backupRestoreOptions) error {
	r := ops.NewBackupRestore(h)
	r.PollInterval = g.hooks.pollInterval
	plan, err := r.Plan(ctx, o.BackupRestoreOptions)
	if err != nil {
		return err
	}
	if err := r.Ask(ctx, plan, o.yes); err != nil {
		return err
	}
	res, err := r.Execute(ctx, plan, cmp.Or(g.timeout, defaultRestoreWait))
	g.done()
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(g.err, "Stopped waiting; Neo4j goes on restoring %s. Watch it with `neo4jctl get cluster %s`.\n", plan.Database, plan.Cluster)
	}
	if err != nil {
		return err
	}
	if err := printer.Write(g.out, o.output, res, func(w *tabwriter.Writer) { restoreTable(w, res) }); err != nil {
		return err
	}
	fmt.Fprintf(g.err, "%s database %s restored from %s; every copy is online.\n", g.colors.Green("Done:"), plan.Database, path.Base(plan.Artifact.Key))
	return nil
}

// restoreTable is a finished restore for people: what was restored, then every copy.
func restoreTable(w *tabwriter.Writer, res *ops.RestoreResult) {
	a := res.Artifact
	fmt.Fprintf(w, "DATABASE\t%s\n", res.Database)
	fmt.Fprintf(w, "FROM\t%s (%s, taken %s, transactions up to %d)\n", res.SeedURI, a.Type, stamp(a.Time), a.HighestTx)
	fmt.Fprintf(w, "PROCEDURE\t%s (Neo4j %s)\n", res.Procedure, res.Neo4jVersion)
	fmt.Fprintf(w, "TOOK\t%s\n\n", printer.Duration(time.Duration(res.DurationSeconds*float64(time.Second))))
	fmt.Fprintln(w, "SERVER\tROLE\tSTATUS\tWRITER")
	for _, c := range res.Restored {
		writer := ""
		if c.Writer {
			writer = "yes"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", c.Server, c.Role, c.Status, writer)
	}
}
