package main

import (
	"fmt"
	"io"
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
