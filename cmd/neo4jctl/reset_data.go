package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

func newResetDataCommand(g *globals) *cobra.Command {
	return group("reset-data", "Replace a stopped cluster's data with empty volumes", "an object", newResetDataClusterCommand(g))
}

func newResetDataClusterCommand(g *globals) *cobra.Command {
	o := &changeOptions{}
	var from string
	c := &cobra.Command{
		Use:   "cluster NAME [--restore-from s3://bucket/path]",
		Short: "Delete a stopped cluster's data volumes and give each core member a new, empty one",
		Long: `Give every core member of a stopped cluster a new, empty data volume, through its stack
(no drift): each member's stack first takes its volume by id (so CloudFormation lets it go:
the volume is retained, never deleted by the stack), then neo4jctl deletes the volume, naming
it, then the stack makes a new one. The restore marker in the cluster bucket is cleared, so
that restore.from (--restore-from sets it in the last-applied config) seeds the new cluster
once. Backups in the bucket are kept.

It refuses a cluster that runs (stop it first) and lists every volume it deletes; you type
the cluster's name to go on (or pass --yes). Then ` + "`neo4jctl start cluster NAME`" + `.
Interrupted, it is finished by running it again.`,
		Example: `  neo4jctl reset-data cluster graph-dev --dry-run
  neo4jctl reset-data cluster graph-dev
  neo4jctl reset-data cluster graph-dev --restore-from s3://my-backups/graph-prod/ --yes`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return resetData(c.Context(), g, args[0], from, o)
		},
	}
	c.Flags().StringVar(&from, "restore-from", "", "seed the new cluster from this backup folder or artifact (s3://bucket/path): restore.from")
	addChangeFlags(c, o, "")
	return c
}

// resetData plans, lists the volumes, makes the user type the name and resets.
func resetData(ctx context.Context, g *globals, name, from string, o *changeOptions) error {
	h, err := newCluster(ctx, g, name, g.region)
	if err != nil {
		return err
	}
	r := ops.NewResetData(h, from, o.yes, g.release())
	if _, ran, err := runPlanned(ctx, g, o, r, nil, nil); !ran {
		return err
	}
	fmt.Fprintf(g.err, "%s the data of cluster %s is reset. Start it with `neo4jctl start cluster %s`.\n", g.colors.Green("Done:"), name, name)
	return nil
}

// ConfirmName asks the user to type name: yes only when they do.
func (p terminalPrompt) ConfirmName(ctx context.Context, question, name string) (bool, error) {
	if p.g.display != nil {
		p.g.display.restart()
	}
	fmt.Fprint(p.g.err, question)
	type answer struct {
		line string
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		line, err := readLine(p.g)
		ch <- answer{line, err}
	}()
	select {
	case a := <-ch:
		return strings.TrimSpace(a.line) == name, a.err
	case <-ctx.Done():
		return false, nil
	}
}

// readLine reads one line from stdin.
func readLine(g *globals) (string, error) {
	line, err := bufio.NewReader(g.in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return line, nil
}
