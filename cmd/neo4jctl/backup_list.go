package main

import (
	"fmt"
	"path"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

func newBackupListCommand(g *globals) *cobra.Command {
	var output, database string
	c := &cobra.Command{
		Use:   "list NAME",
		Short: "List backups: chains per database, newest restorable point first, retention",
		Long: `List the cluster's backups from the manifests the backup task writes beside them (no
artifact is downloaded): per database the newest restorable point, then each chain (a full
backup and the differentials after it), newest chain first, with age, size, transaction
range, the last consistency check, and when retention deletes the chain. Backups made before
manifests existed (or by hand) are listed from their object keys and marked; the next backup
run records them.`,
		Example: `  neo4jctl backup list graph-prod
  neo4jctl backup list graph-prod --database neo4j -o json | jq '.databases[0].newest'`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := printer.CheckFormat(output); err != nil {
				return usageError{err}
			}
			h, err := newCluster(c.Context(), g, args[0], g.region)
			if err != nil {
				return err
			}
			l := ops.NewBackupList(h)
			l.Clock = g.hooks.clock
			cat, err := l.Execute(c.Context(), database)
			g.done()
			if err != nil {
				return err
			}
			if len(cat.Databases) == 0 && output == printer.Table {
				fmt.Fprintf(g.err, "No backups in %s yet; make one with `neo4jctl backup create %s`.\n", cat.Folder, args[0])
				return nil
			}
			return printer.Write(g.out, output, cat, func(w *tabwriter.Writer) { backupTable(w, cat) })
		},
	}
	c.Flags().StringVar(&database, "database", "", "only this database")
	c.Flags().StringVarP(&output, "output", "o", printer.Table, "table, json or yaml")
	return c
}

// backupTable is the catalog for people: the newest restorable point of each database, then
// every artifact by chain.
func backupTable(w *tabwriter.Writer, cat *ops.BackupCatalog) {
	fmt.Fprintf(w, "FOLDER\t%s\n", cat.Folder)
	fmt.Fprintf(w, "RETENTION\t%s\n", retentionText(cat))
	if cat.Copy != nil {
		fmt.Fprintf(w, "COPY\t%s\n", copyText(cat.Copy))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "DATABASE\tNEWEST RESTORABLE POINT\tTAKEN\tAGE\tHIGHEST TX\tCHAINS\tSIZE")
	for _, d := range cat.Databases {
		var size int64
		for _, c := range d.Chains {
			size += c.SizeBytes
		}
		for _, e := range d.Unrecorded {
			size += e.SizeBytes
		}
		if d.Newest == nil {
			fmt.Fprintf(w, "%s\t%s\t-\t-\t-\t%d\t%s\n", d.Name, noRestorePoint(d), len(d.Chains), printer.Bytes(size))
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", d.Name, path.Base(d.Newest.Key), stamp(d.Newest.Time),
			printer.Age(cat.ListedAt.Sub(d.Newest.Time)), d.Newest.HighestTx, len(d.Chains), printer.Bytes(size))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "DATABASE\tARTIFACT\tTYPE\tTAKEN\tAGE\tSIZE\tTRANSACTIONS\tVERIFIED\tEXPIRES\tNOTE")
	row := func(db string, e backup.Entry, expires, note string) {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", db, path.Base(e.Key), dash(e.Type), stamp(e.Time),
			printer.Age(cat.ListedAt.Sub(e.Time)), printer.Bytes(e.SizeBytes), txRange(e), verifiedText(e.Verified), expires, note)
	}
	for _, d := range cat.Databases {
		for _, c := range d.Chains {
			expires := "kept (newest chain)"
			if c.ExpiresAt != nil {
				expires = stamp(*c.ExpiresAt)
			} else if cat.RetentionDays == 0 {
				expires = "never"
			}
			note := ""
			if c.Broken != "" {
				note = "broken chain, not restorable: " + c.Broken
			}
			for _, e := range c.Artifacts {
				row(d.Name, e, expires, joinNotes(note, notCopied(cat.Copy, e)))
			}
		}
		for _, e := range d.Unrecorded {
			row(d.Name, e, "-", joinNotes("unrecorded: listed from its key (made before manifests or by hand); the next backup records it", notCopied(cat.Copy, e)))
		}
		for _, e := range d.Missing {
			row(d.Name, e, "-", "missing: in the manifest, but the object is gone")
		}
	}
}

// copyText is the copy in another region: where, and how much of the listing it holds.
func copyText(c *ops.BackupCopy) string {
	if c.Bucket == "" {
		return "unknown: " + c.Error
	}
	where := fmt.Sprintf("%s in %s (S3 replication)", c.Folder, c.Region)
	if c.Error != "" {
		return where + ": " + c.Error
	}
	s := fmt.Sprintf("%s: %d of %d artifacts copied", where, c.Copied, c.Copied+len(c.NotCopied))
	if len(c.NotCopied) > 0 {
		s += " (the others: replication pending or failed, or made before it was set up)"
	}
	if c.OnlyInCopy > 0 {
		s += fmt.Sprintf("; %d more only there (deletes are not replicated)", c.OnlyInCopy)
	}
	return s
}

// notCopied is the note of an artifact the copy lacks.
func notCopied(c *ops.BackupCopy, e backup.Entry) string {
	if c.Has(e.Key) {
		return ""
	}
	return "not in the copy in " + c.Region + " (yet)"
}

func joinNotes(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "; " + b
}

// noRestorePoint says why a database has no newest restorable point.
func noRestorePoint(d backup.Database) string {
	switch {
	case len(d.Chains) > 0:
		return "none: every chain is broken"
	case len(d.Unrecorded) > 0:
		return fmt.Sprintf("none recorded (%d unrecorded, below)", len(d.Unrecorded))
	}
	return "none"
}

func retentionText(cat *ops.BackupCatalog) string {
	switch {
	case !cat.RetentionKnown:
		return "unknown (no backup task: backups are off); nothing is deleted by neo4jctl"
	case cat.RetentionDays == 0:
		return "none: backups are kept until deleted by hand"
	}
	return fmt.Sprintf("%d days: a chain is deleted %d days after the next chain starts, by the first backup after that; the newest chain is always kept",
		cat.RetentionDays, cat.RetentionDays)
}

// stamp is a time in UTC, to the second.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func txRange(e backup.Entry) string {
	switch {
	case e.Origin == backup.OriginKey:
		return "?"
	case e.Empty():
		return "none (empty)"
	}
	return fmt.Sprintf("%d-%d", e.LowestTx, e.HighestTx)
}

func verifiedText(v *backup.Verification) string {
	if v == nil {
		return "-"
	}
	s := v.Verdict + " " + v.At.UTC().Format("2006-01-02")
	if v.Verdict != backup.VerdictConsistent {
		s = strings.ToUpper(v.Verdict) + " " + v.At.UTC().Format("2006-01-02")
	}
	return s
}
