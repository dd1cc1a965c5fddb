package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

// changeOptions are the flags of the commands that change a cluster without -f (stop,
// start, scale, reset-data): they render its stacks from its last-applied config.
type changeOptions struct {
	yes, wait, dryRun bool
	output            string
	admin             adminOptions // the commands that wait for Neo4j
}

// addChangeFlags adds them; waits says what --wait waits for ("" for a command with no wait).
func addChangeFlags(c *cobra.Command, o *changeOptions, waits string) {
	c.Flags().BoolVarP(&o.yes, "yes", "y", false, "do not ask")
	c.Flags().BoolVar(&o.dryRun, "dry-run", false, "print the plan on stdout and change nothing")
	c.Flags().StringVarP(&o.output, "output", "o", printer.Table, "--dry-run output: table (the plan for people), json or yaml")
	if waits != "" {
		c.Flags().BoolVar(&o.wait, "wait", true, waits)
	}
}

// addNeo4jWaitFlags adds them with --wait for Neo4j, and --bolt-uri for the admin channel.
func addNeo4jWaitFlags(c *cobra.Command, o *changeOptions, waits string) {
	addChangeFlags(c, o, waits)
	addAdminFlags(c, &o.admin)
}

// texter is a plan that says itself for people.
type texter interface{ Text() string }

// writePlan prints a dry run's plan: for people, or as JSON or YAML.
func writePlan(w io.Writer, format string, p texter) error {
	if err := printer.CheckFormat(format); err != nil {
		return usageError{err}
	}
	return printer.Write(w, format, p, func(tw *tabwriter.Writer) { fmt.Fprint(tw, p.Text()) })
}

// plannedAction is an action in the Plan → Ask → Execute shape of the commands that change a
// cluster without -f.
type plannedAction[P texter] interface {
	Plan(context.Context) (P, error)
	Ask(context.Context, P) error
	Execute(context.Context, P) error
}

// runPlanned plans; with --dry-run it prints the plan on stdout and stops. Otherwise it shows
// the plan, stops where nothing is to be done (noop), asks, runs before (if any: e.g. an
// image push once the user said yes) and executes. It reports whether the action ran.
func runPlanned[P texter](ctx context.Context, g *globals, o *changeOptions, a plannedAction[P], noop func(P) bool, before func(P) error) (P, bool, error) {
	p, err := a.Plan(ctx)
	if err != nil {
		return p, false, err
	}
	if o.dryRun {
		g.done()
		return p, false, writePlan(g.out, o.output, p)
	}
	g.display.Print(strings.TrimRight(p.Text(), "\n"))
	if noop != nil && noop(p) {
		return p, false, nil
	}
	if err := a.Ask(ctx, p); err != nil {
		return p, false, err
	}
	if before != nil {
		if err := before(p); err != nil {
			return p, false, err
		}
	}
	err = a.Execute(ctx, p)
	g.done()
	return p, err == nil, err
}
