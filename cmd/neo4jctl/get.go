package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/ops"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

func newGetCommand(g *globals) *cobra.Command {
	return group("get", "Show clusters", "an object", newGetClusterCommand(g))
}

func newGetClusterCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:     "cluster [NAME]",
		Aliases: []string{"clusters"},
		Short:   "Show a cluster (stacks, endpoint, members, replicas), or all clusters in the region",
		Example: `  neo4jctl get cluster
  neo4jctl get cluster graph-prod
  neo4jctl get cluster graph-prod -o json | jq .members`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("get cluster takes at most one cluster name, got %d", len(args))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if err := printer.CheckFormat(output); err != nil {
				return usageError{err}
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			h, err := newCluster(c.Context(), g, name, g.region)
			if err != nil {
				return err
			}
			if name != "" {
				v, err := ops.NewGet(h).Execute(c.Context())
				if err != nil {
					return err
				}
				return printer.Write(g.out, output, v, func(w *tabwriter.Writer) { clusterTable(w, v) })
			}
			views, err := ops.NewGetAll(h).Execute(c.Context())
			if err != nil {
				return err
			}
			if len(views) == 0 && output == printer.Table {
				fmt.Fprintf(g.err, "No neo4jctl clusters in %s.\n", h.Region)
				return nil
			}
			return printer.Write(g.out, output, views, func(w *tabwriter.Writer) { clustersTable(w, views) })
		},
	}
	c.Flags().StringVarP(&output, "output", "o", printer.Table, "table, json or yaml")
	return c
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clustersTable is every cluster of the region, one line each.
func clustersTable(w *tabwriter.Writer, views []*ops.ClusterView) {
	fmt.Fprintln(w, "NAME\tREGION\tSTATUS\tCORES\tREPLICAS\tENDPOINT")
	for _, cl := range views {
		reps := "-"
		if cl.Replicas != nil {
			reps = fmt.Sprintf("%d/%d", cl.Replicas.Running, cl.Replicas.Desired)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", cl.Name, cl.Region, cl.Status, len(cl.Members), reps, cl.Endpoint)
	}
}

// clusterTable is one cluster: its facts, stacks, members, replicas and problems.
func clusterTable(w *tabwriter.Writer, c *ops.ClusterView) {
	fmt.Fprintf(w, "CLUSTER\t%s\n", c.Name)
	fmt.Fprintf(w, "REGION\t%s\n", c.Region)
	fmt.Fprintf(w, "STATUS\t%s\n", c.Status)
	fmt.Fprintf(w, "ENDPOINT\t%s\n", dash(c.Endpoint))
	fmt.Fprintf(w, "BUCKET\t%s\n", dash(c.Bucket))
	fmt.Fprintln(w)
	fmt.Fprintln(w, "STACK\tKIND\tSTATUS\tUPDATED")
	for _, s := range c.Stacks {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.Name, s.Kind, s.Status, s.Updated.Format("2006-01-02 15:04:05Z"))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "MEMBER\tDNS NAME\tAZ\tINSTANCE\tVOLUME\tTASKS (RUN/DESIRED)\tTASK")
	for _, m := range c.Members {
		inst := dash(m.Instance)
		if m.InstanceState != "" && m.Instance != "" {
			inst += " (" + strings.ToLower(m.InstanceState) + ")"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", m.Name, dash(m.DNSName), dash(m.AZ), inst, dash(m.Volume), m.Running, m.Desired, dash(m.Task))
	}
	if c.Replicas != nil {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "REPLICAS\t%d/%d running", c.Replicas.Running, c.Replicas.Desired)
		if len(c.Replicas.Tasks) > 0 {
			fmt.Fprintf(w, "\t%s", strings.Join(c.Replicas.Tasks, ", "))
		}
		fmt.Fprintln(w)
	}
	if len(c.Problems) > 0 {
		fmt.Fprintln(w)
	}
	for _, p := range c.Problems {
		fmt.Fprintf(w, "PROBLEM\t%s\n", p)
	}
}
