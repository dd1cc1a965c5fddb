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
	var admin adminOptions
	c := &cobra.Command{
		Use:     "cluster [NAME]",
		Aliases: []string{"clusters"},
		Short:   "Show a cluster as AWS and Neo4j see it (stacks, members, servers, databases, one verdict), or all clusters in the region",
		Example: `  neo4jctl get cluster
  neo4jctl get cluster graph-prod
  neo4jctl get cluster graph-prod -o json | jq .neo4j.databases
  NEO4J_PASSWORD=... neo4jctl get cluster graph-prod --bolt-uri bolt://localhost:7687`,
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
			if len(args) == 0 && admin.boltURI != "" {
				return usagef("--bolt-uri reaches one cluster: name it, e.g. `neo4jctl get cluster NAME --bolt-uri %s`", admin.boltURI)
			}
			if len(args) == 1 {
				return getCluster(c, g, args[0], output, admin)
			}
			return getClusters(c, g, output)
		},
	}
	c.Flags().StringVarP(&output, "output", "o", printer.Table, "table, json or yaml")
	addAdminFlags(c, &admin)
	return c
}

// getCluster shows one cluster.
func getCluster(c *cobra.Command, g *globals, name, output string, admin adminOptions) error {
	h, err := newCluster(c.Context(), g, name, g.region)
	if err != nil {
		return err
	}
	done, err := g.adminChannel(h, admin)
	if err != nil {
		return err
	}
	defer done()
	v, err := ops.NewGet(h).Execute(c.Context())
	if err != nil {
		return err
	}
	return printer.Write(g.out, output, v, func(w *tabwriter.Writer) { clusterTable(w, v) })
}

// getClusters shows every cluster of the region, each through its own admin Lambda.
func getClusters(c *cobra.Command, g *globals, output string) error {
	h, err := newCluster(c.Context(), g, "", g.region)
	if err != nil {
		return err
	}
	all := ops.NewGetAll(h)
	all.AdminOf = func(name string) ops.AdminChannel { return g.lambdaChannel(h, name) }
	views, err := all.Execute(c.Context())
	if err != nil {
		return err
	}
	if len(views) == 0 && output == printer.Table {
		fmt.Fprintf(g.err, "No neo4jctl clusters in %s.\n", h.Region)
		return nil
	}
	return printer.Write(g.out, output, views, func(w *tabwriter.Writer) { clustersTable(w, views) })
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clustersTable is every cluster of the region, one line each.
func clustersTable(w *tabwriter.Writer, views []*ops.ClusterView) {
	fmt.Fprintln(w, "NAME\tREGION\tSTATUS\tCORES\tREPLICAS\tNEO4J\tENDPOINT")
	for _, cl := range views {
		reps := "-"
		if cl.Replicas != nil {
			reps = fmt.Sprintf("%d/%d", cl.Replicas.Running, cl.Replicas.Desired)
		}
		status := cl.Status
		if len(cl.StatusDetail) > 0 {
			status += " (" + cl.StatusDetail[0]
			if len(cl.StatusDetail) > 1 {
				status += fmt.Sprintf(", +%d", len(cl.StatusDetail)-1)
			}
			status += ")"
		}
		neo := "-"
		if cl.Neo4j != nil {
			neo = cl.Neo4j.Version
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", cl.Name, cl.Region, status, len(cl.Members), reps, neo, cl.Endpoint)
	}
}

// clusterTable is one cluster: its facts and verdict, stacks, members, replicas, Neo4j's
// servers and databases, and problems.
func clusterTable(w *tabwriter.Writer, c *ops.ClusterView) {
	fmt.Fprintf(w, "CLUSTER\t%s\n", c.Name)
	fmt.Fprintf(w, "REGION\t%s\n", c.Region)
	fmt.Fprintf(w, "STATUS\t%s\n", c.StatusLine())
	fmt.Fprintf(w, "ENDPOINT\t%s\n", dash(c.Endpoint))
	fmt.Fprintf(w, "BUCKET\t%s\n", dash(c.Bucket))
	if n := c.Neo4j; n != nil {
		fmt.Fprintf(w, "NEO4J\t%s %s (through the %s)\n", n.Version, n.Edition, n.Via)
	} else {
		fmt.Fprintf(w, "NEO4J\tnot available: %s\n", c.Neo4jUnavailable)
	}
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
	if c.Neo4j != nil {
		neo4jTables(w, c.Neo4j)
	}
	if len(c.Problems) > 0 {
		fmt.Fprintln(w)
	}
	for _, p := range c.Problems {
		fmt.Fprintf(w, "PROBLEM\t%s\n", p)
	}
}

// neo4jTables are Neo4j's servers and databases.
func neo4jTables(w *tabwriter.Writer, n *ops.Neo4jView) {
	fmt.Fprintln(w)
	if n.ServersNote != "" {
		fmt.Fprintf(w, "SERVERS\tunknown: %s\n", n.ServersNote)
	} else {
		fmt.Fprintln(w, "SERVER\tADDRESS\tSTATE\tHEALTH\tVERSION\tDATABASES")
		for _, s := range n.Servers {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", dash(s.Member), s.Address, s.State, s.Health, dash(s.Version), dash(strings.Join(s.Hosting, ",")))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "DATABASE\tREQUESTED\tCURRENT\tLEADER\tPRIMARIES\tSECONDARIES\tLAG (TRANSACTIONS BEHIND)")
	for _, d := range n.Databases {
		var lag []string
		for _, l := range d.Lag {
			lag = append(lag, fmt.Sprintf("%s %d", l.Member, l.Behind))
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, d.RequestedStatus, d.CurrentStatus, dash(d.LeaderMember),
			ofRequested(d.PrimariesOnline, d.RequestedPrimaries), ofRequested(d.SecondariesOnline, d.RequestedSecondaries), dash(strings.Join(lag, ", ")))
	}
}

// ofRequested is "online/requested", or the online count where nothing is requested.
func ofRequested(online int, requested *int64) string {
	if requested == nil {
		return fmt.Sprint(online)
	}
	return fmt.Sprintf("%d/%d", online, *requested)
}
