package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/ops"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

type diagnoseOptions struct {
	checks []string
	since  string
	output string
	bundle string
	admin  adminOptions
}

// maxDiagnoseWindow bounds --since: the logs are kept 30 days by default.
const maxDiagnoseWindow = 30 * 24 * time.Hour

func newDiagnoseCommand(g *globals) *cobra.Command {
	o := &diagnoseOptions{}
	c := &cobra.Command{
		Use:   "diagnose NAME",
		Short: "The troubleshooting checklist as code: each check's verdict, what it saw, and the next step",
		Long: `Look at a cluster the way the runbook says to, in seconds: the stacks, each member's ECS
service and stopped tasks, the container and boot logs, Cloud Map against the running tasks
against Neo4j's servers, leader changes, databases, formation, placement, volumes and disk,
backups, versions, the hosts and the network. Each check has a stable code (--check runs
only those), a verdict (ok, warn, fail, or skipped saying why), the evidence it saw and the
next step. Failures come first. Exit 0 when nothing fails, 1 when a check fails.

--since is how far back stopped tasks, log lines and events count; ECS keeps stopped tasks
about an hour, so before that only the logs tell. --bundle also writes the report with the
evidence behind it (stack and service events, tasks, log excerpts per member, Neo4j's
servers and databases) to a .tar.gz for a ticket, every secret redacted.

diagnose only reads, but for one thing: it starts CloudFormation's drift detection of member
stacks never checked, whose result the next run shows.`,
		Example: `  neo4jctl diagnose graph-prod
  neo4jctl diagnose graph-prod --check members --check stopped-tasks --since 6h
  neo4jctl diagnose graph-prod -o json | jq '.checks[] | select(.verdict == "fail")'
  neo4jctl diagnose graph-prod --bundle graph-prod-diagnose.tar.gz`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts, err := o.parse()
			if err != nil {
				return err
			}
			return diagnose(c, g, args[0], o, opts)
		},
	}
	f := c.Flags()
	f.StringSliceVar(&o.checks, "check", nil, "run only these checks (repeat or separate with commas): "+strings.Join(ops.CheckCodes(), ", "))
	f.StringVar(&o.since, "since", "1h", "how far back to look: a duration (30m, 6h, 2d) or a time (2026-11-26T02:00:00Z)")
	f.StringVarP(&o.output, "output", "o", printer.Table, "table, json or yaml")
	f.StringVar(&o.bundle, "bundle", "", "also write a support bundle (the report and its evidence, secrets redacted) to this .tar.gz file")
	addAdminFlags(c, &o.admin)
	return c
}

// parse checks the flags before anything is read: bad usage exits 2.
func (o *diagnoseOptions) parse() (ops.DiagnoseOptions, error) {
	var opts ops.DiagnoseOptions
	if err := printer.CheckFormat(o.output); err != nil {
		return opts, usageError{err}
	}
	since, err := diagnoseWindow(o.since)
	if err != nil {
		return opts, err
	}
	opts = ops.DiagnoseOptions{Checks: o.checks, Since: since, Bundle: o.bundle != ""}
	if err := opts.Validate(); err != nil {
		return opts, usageError{err}
	}
	if o.bundle != "" {
		if _, err := os.Stat(o.bundle); err == nil {
			return opts, usagef("--bundle %s exists; name a new file (diagnose does not overwrite one)", o.bundle)
		}
	}
	return opts, nil
}

// diagnoseWindow reads --since as logs does (a duration, days, or a time) into how far
// back to look.
func diagnoseWindow(s string) (time.Duration, error) {
	now := time.Now()
	since, err := parseSince(s, now)
	if err != nil {
		return 0, usageError{err}
	}
	switch d := now.Sub(since); {
	case d <= 0:
		return 0, usagef("--since %s is not in the past", s)
	case d > maxDiagnoseWindow:
		return 0, usagef("--since %s: at most 30d (the logs are kept 30 days by default)", s)
	default:
		return d, nil
	}
}

func diagnose(c *cobra.Command, g *globals, name string, o *diagnoseOptions, opts ops.DiagnoseOptions) error {
	h, err := newCluster(c.Context(), g, name, g.region)
	if err != nil {
		return err
	}
	done, err := g.adminChannel(h, o.admin)
	if err != nil {
		return err
	}
	defer done()
	d := ops.NewDiagnose(h)
	if g.hooks.diagnoseAWS != nil {
		g.hooks.diagnoseAWS(&d.AWS)
	}
	r, err := d.Execute(c.Context(), opts)
	if err != nil {
		return err
	}
	g.done()
	colors := printer.Colors{On: printer.ColorEnabled(g.out)}
	if err := printer.Write(g.out, o.output, r, func(w *tabwriter.Writer) { diagnoseText(w, r, colors) }); err != nil {
		return err
	}
	if o.bundle != "" {
		if err := writeBundle(g, d, r, o.bundle); err != nil {
			return err
		}
	}
	return r.Err()
}

// writeBundle writes the support bundle to a new file (never over an existing one).
func writeBundle(g *globals, d *ops.Diagnose, r *ops.DiagnoseReport, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing the support bundle: %w", err)
	}
	names, err := d.WriteBundle(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing the support bundle %s: %w", path, err)
	}
	unread := d.UnreadSecrets()
	if len(unread) == 0 {
		fmt.Fprintf(g.err, "Wrote the support bundle %s: %d files, every secret redacted (see its README.txt).\n", path, len(names))
		return nil
	}
	fmt.Fprintf(g.err, "Wrote the support bundle %s: %d files, redacted; but these secrets could not be read, so their values are redacted only where they look like a password (check before you share it): %s\n",
		path, len(names), strings.Join(unread, "; "))
	return nil
}

// verdictWord is a verdict as the text report shows it.
func verdictWord(v ops.CheckVerdict, c printer.Colors) string {
	switch v {
	case ops.CheckFail:
		return c.Red("FAIL")
	case ops.CheckWarn:
		return c.Yellow("WARN")
	case ops.CheckOK:
		return c.Green("OK  ")
	}
	return c.Faint("SKIP")
}

// diagnoseText is the report for people: the cluster's status, a count, then each check
// (failures first) with its evidence and next step; ok and skipped checks on one line.
func diagnoseText(w io.Writer, r *ops.DiagnoseReport, c printer.Colors) {
	status := r.Status
	if len(r.StatusDetail) > 0 {
		status += " (" + strings.Join(r.StatusDetail, "; ") + ")"
	}
	fmt.Fprintf(w, "Cluster %s in %s: %s\n", r.Cluster, r.Region, status)
	fmt.Fprintf(w, "%s since %s (%s back), in %s: %d failed, %d warnings, %d ok, %d skipped\n",
		plural(len(r.Checks), "check", "checks"), r.Since.Format("2006-01-02 15:04Z"), r.Window, r.Elapsed,
		r.Counts[ops.CheckFail], r.Counts[ops.CheckWarn], r.Counts[ops.CheckOK], r.Counts[ops.CheckSkipped])
	for _, ch := range r.Checks {
		detailed := ch.Verdict == ops.CheckFail || ch.Verdict == ops.CheckWarn
		if detailed {
			fmt.Fprintln(w)
		}
		switch {
		case ch.Verdict == ops.CheckSkipped:
			fmt.Fprintf(w, "%s %s: %s\n", verdictWord(ch.Verdict, c), ch.Code, ch.Why)
		default:
			fmt.Fprintf(w, "%s %s: %s\n", verdictWord(ch.Verdict, c), ch.Code, ch.Summary)
		}
		if !detailed {
			continue
		}
		for _, e := range ch.Evidence {
			fmt.Fprintf(w, "       %s\n", evidenceLine(e))
		}
		if ch.Next != "" {
			fmt.Fprintf(w, "       next: %s\n", ch.Next)
		}
	}
}

// evidenceLine is one piece of evidence: when, whose, which resource, what.
func evidenceLine(e ops.Evidence) string {
	var parts []string
	if e.Time != nil {
		parts = append(parts, e.Time.Format("2006-01-02 15:04:05Z"))
	}
	if e.Member != "" {
		parts = append(parts, e.Member)
	}
	if e.Resource != "" && e.Resource != e.Member {
		parts = append(parts, e.Resource)
	}
	if len(parts) == 0 {
		return e.Text
	}
	return strings.Join(parts, " ") + ": " + e.Text
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
