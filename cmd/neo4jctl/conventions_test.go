package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// commands is every command of the tree, cobra's help and completion included.
func commands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		out = append(out, commands(sub)...)
	}
	return out
}

// exampleArgs are the arguments of each `neo4jctl ...` line of an example, up to a pipe or
// a redirection.
func exampleArgs(example string) [][]string {
	var out [][]string
	for _, line := range strings.Split(example, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "neo4jctl" {
			continue
		}
		var args []string
		for _, w := range f[1:] {
			if w == "|" || w == ">" || w == "&&" {
				break
			}
			args = append(args, w)
		}
		out = append(out, args)
	}
	return out
}

// Every command's help has examples, and every example names a command and flags that
// exist; -o is the output format wherever it is a flag.
func TestEveryCommandHasWorkingExamples(t *testing.T) {
	root := newRootCommand(&globals{})
	for _, c := range commands(root) {
		path := c.CommandPath()
		if c.Example == "" {
			t.Errorf("%s: no Example in its help", path)
		}
		if c.Runnable() && len(exampleArgs(c.Example)) == 0 {
			t.Errorf("%s: no example runs neo4jctl", path)
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Shorthand == "o" && f.Name != "output" {
				t.Errorf("%s: -o is --%s; -o is the output format everywhere", path, f.Name)
			}
		})
		for _, args := range exampleArgs(c.Example) {
			fresh := newRootCommand(&globals{}) // parsing flags sets them
			cmd, rest, err := fresh.Find(args)
			if err != nil || cmd == fresh && len(args) > 0 {
				t.Errorf("%s: example `neo4jctl %s` names no command (%v)", path, strings.Join(args, " "), err)
				continue
			}
			if err := cmd.ParseFlags(rest); err != nil {
				t.Errorf("%s: example `neo4jctl %s`: %v", path, strings.Join(args, " "), err)
			}
		}
	}
}

func TestCommandConventions(t *testing.T) {
	noAWS(t)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"craete", "cluster", "-f", "x.yaml"}, exitUsage, `Error: unknown command "craete" for "neo4jctl"; did you mean create?`},
		{[]string{"delte", "cluster", "x"}, exitUsage, "did you mean delete?"},
		{[]string{"get", "clsuter"}, exitUsage, `Error: unknown command "clsuter" for "neo4jctl get"; did you mean cluster?`},
		{[]string{"frobnicate"}, exitUsage, "Error: unknown command \"frobnicate\" for \"neo4jctl\"; see `neo4jctl --help`"},
		{[]string{"get", "clusters", "--help"}, exitOK, "neo4jctl get cluster [NAME]"},
		{[]string{"--version"}, exitOK, "neo4jctl version " + version + "\n"},
		{[]string{"create", "cluster", "--help"}, exitOK, "neo4jctl create cluster -f cluster.yaml --dry-run -o json | jq .plan"},
	}
	for _, tc := range cases {
		code, stdout, stderr := cli(t, tc.args...)
		if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q\nstdout: %s\nstderr: %s", tc.args, code, tc.code, tc.want, stdout, stderr)
		}
	}
}

// create -o json prints the created cluster as get does; without -o it prints nothing on
// stdout.
func TestCreatePrintsTheClusterWithOutput(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	code, created, stderr := a.cli("", "create", "cluster", "-f", "../../examples/minimal.yaml", "-o", "json")
	if code != 0 {
		t.Fatalf("create -o json: exit %d\n%s", code, stderr)
	}
	var v struct {
		Name   string
		Stacks []any
	}
	if err := json.Unmarshal([]byte(created), &v); err != nil || v.Name != "graph-dev" || len(v.Stacks) != 6 {
		t.Fatalf("create -o json printed %v %+v:\n%s", err, v, created)
	}
	mustContain(t, "stderr", stderr, "Done: cluster graph-dev created")
	_, got, _ := a.cli("", "get", "cluster", "graph-dev", "-o", "json")
	if got != created {
		t.Errorf("create -o json differs from get -o json:\n%s\n---\n%s", created, got)
	}
	if code, stdout, stderr := a.cli("", "create", "cluster", "-f", "../../examples/minimal.yaml", "-o", "xml"); code != exitUsage || stdout != "" ||
		!strings.Contains(stderr, `-o "xml" is not a format; use one of json, yaml, table`) {
		t.Errorf("create -o xml: exit %d %s", code, stderr)
	}
}
