package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

// createCluster creates the stacks in AWS. The first Ctrl-C stops waiting and, on a terminal,
// offers to roll back what this create made; a second Ctrl-C leaves everything as it is and
// prints how to resume.
func createCluster(ctx context.Context, g *globals, f *cluster.File, o *createOptions) error {
	cfg := f.Config
	op, err := newOps(ctx, g, cfg.Metadata.Region)
	if err != nil {
		return err
	}
	sig, stop := g.interrupts()
	defer stop()
	err = op.Create(ctx, cfg, ops.CreateOptions{File: f.Path, Detach: o.detach})
	var ce *ops.CreateError
	switch {
	case err == nil:
		if !o.detach {
			fmt.Fprintf(g.err, "%s cluster %s created in %s. See it with `neo4jctl get cluster %s`.\n",
				g.colors.Green("Done:"), cfg.Metadata.Name, cfg.Metadata.Region, cfg.Metadata.Name)
		}
		return nil
	case errors.As(err, &ce) && ce.Stopped:
		return offerRollback(ctx, g, op, cfg.Metadata.Name, ce, sig)
	}
	return err
}

func offerRollback(ctx context.Context, g *globals, op *ops.Ops, name string, ce *ops.CreateError, sig <-chan os.Signal) error {
	drain(sig) // the Ctrl-C that got us here
	if !g.stdinIsTTY() {
		return ce
	}
	fmt.Fprintf(g.err, "\nInterrupted. Roll back: delete the stacks of cluster %s made so far (volumes and backups are kept)? [y/N] ", name)
	answer := make(chan bool, 1)
	go func() {
		ok, _ := readYes(g)
		answer <- ok
	}()
	select {
	case <-sig:
		fmt.Fprintln(g.err, "\nLeaving the stacks as they are.")
		return ce
	case ok := <-answer:
		if !ok {
			return ce
		}
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	go func() {
		select {
		case <-sig:
			cancel()
		case <-rctx.Done():
		}
	}()
	op.Engine.Progress = engine.NewProgress(g.err, g.colors, g.quiet, printer.Terminal(g.err), op.Engine.Clock)
	if _, err := op.Delete(rctx, name, ops.DeleteOptions{Yes: true}); err != nil {
		return fmt.Errorf("rolling back the create of %s: %w", name, err)
	}
	return fmt.Errorf("create of cluster %s interrupted and rolled back; nothing of it is left but kept data", name)
}

func drain(sig <-chan os.Signal) {
	for {
		select {
		case <-sig:
		default:
			return
		}
	}
}
