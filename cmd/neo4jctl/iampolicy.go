package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/iampolicy"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

func newIAMPolicyCommand(g *globals) *cobra.Command {
	var output, cluster, dir string
	c := &cobra.Command{
		Use:   "iam-policy [COMMAND...]",
		Short: "Print the least-privilege IAM policies a user or CI role needs to run neo4jctl",
		Long: `Print the IAM policies that let a user or CI role run the named commands (every command
when none is named), as eksctl documents its minimum policies: neo4jctl-commands holds the
calls the commands make themselves; neo4jctl-deploy-N, for create, update and delete, what
CloudFormation does with the caller's credentials for every resource type of the templates.
Each fits an IAM managed policy; attach them all. Actions on what neo4jctl names (stacks,
buckets, IAM roles, functions, log groups, secrets) are narrowed to its names, and with
--cluster to that cluster's.

The policies are printed as one JSON object, name to policy document; --dir writes each to
DIR/<name>.json for "aws iam create-policy --policy-document file://...".`,
		Example: `  neo4jctl utils iam-policy --dir ./iam
  neo4jctl utils iam-policy get cluster backup create --cluster graph-prod | jq '."neo4jctl-commands"'
  neo4jctl utils iam-policy create cluster -o table`,
		RunE: func(c *cobra.Command, args []string) error {
			if err := printer.CheckFormat(output, printer.JSON, printer.YAML, printer.Table); err != nil {
				return usageError{err}
			}
			cmds, err := commandNames(args)
			if err != nil {
				return err
			}
			ps, err := iampolicy.Policies(cluster, cmds...)
			if err != nil {
				return usageError{err}
			}
			if dir != "" {
				return writePolicies(g, dir, ps)
			}
			fmt.Fprintf(g.err, "%s; attach them all to the user or role (each fits an IAM managed policy).\n", policies(len(ps)))
			return printer.Write(g.out, output, policyMap(ps), func(w *tabwriter.Writer) { policyTable(w, ps) })
		},
	}
	c.Flags().StringVarP(&output, "output", "o", printer.JSON, "json, yaml or table")
	c.Flags().StringVar(&cluster, "cluster", "", "narrow the names to one cluster's (neo4jctl-NAME-*)")
	c.Flags().StringVarP(&dir, "dir", "d", "", "write each policy document to DIR/<name>.json")
	return c
}

// commandNames reads commands from words: "get cluster backup create" is two commands.
func commandNames(args []string) ([]string, error) {
	known := iampolicy.Commands()
	slices.SortFunc(known, func(a, b string) int { return len(b) - len(a) }) // longest first
	rest := strings.Join(strings.Fields(strings.Join(args, " ")), " ")
	var out []string
	for rest != "" {
		i := slices.IndexFunc(known, func(k string) bool { return rest == k || strings.HasPrefix(rest, k+" ") })
		if i < 0 {
			return nil, usagef("%q is not a neo4jctl command; name one or more of: %s", rest, strings.Join(iampolicy.Commands(), ", "))
		}
		out = append(out, known[i])
		rest = strings.TrimSpace(strings.TrimPrefix(rest, known[i]))
	}
	return out, nil
}

// policyMap is the policies as printed: name to document.
func policyMap(ps []iampolicy.Named) map[string]*iampolicy.Document {
	m := map[string]*iampolicy.Document{}
	for _, p := range ps {
		m[p.Name] = p.Document
	}
	return m
}

func policyTable(w *tabwriter.Writer, ps []iampolicy.Named) {
	fmt.Fprintln(w, "POLICY\tSTATEMENT\tACTIONS\tRESOURCE")
	for _, p := range ps {
		for _, s := range p.Document.Statement {
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", p.Name, s.Sid, len(s.Action), strings.Join(s.Resource, ", "))
		}
	}
}

// writePolicies writes each policy document to dir/<name>.json and lists the files.
func writePolicies(g *globals, dir string, ps []iampolicy.Named) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing the policies: %w", err)
	}
	for _, p := range ps {
		b, err := json.MarshalIndent(p.Document, "", "  ")
		if err != nil {
			return err
		}
		path := filepath.Join(dir, p.Name+".json")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing the policies: %w", err)
		}
		fmt.Fprintln(g.out, path)
	}
	fmt.Fprintf(g.err, "Wrote %s to %s; attach them all to the user or role.\n", policies(len(ps)), dir)
	return nil
}

func policies(n int) string {
	if n == 1 {
		return "1 policy"
	}
	return fmt.Sprintf("%d policies", n)
}
