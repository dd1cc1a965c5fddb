package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/image"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

func newUpgradeCommand(g *globals) *cobra.Command {
	return group("upgrade", "Upgrade a cluster's Neo4j, one member at a time", "an object", newUpgradeClusterCommand(g))
}

// upgradeOptions are upgrade cluster's flags.
type upgradeOptions struct {
	changeOptions
	version, image             string
	pushImage, skipBackupCheck bool
	roll                       rollFlags
}

func newUpgradeClusterCommand(g *globals) *cobra.Command {
	o := &upgradeOptions{}
	c := &cobra.Command{
		Use:   "cluster NAME --version V",
		Short: "Rolling upgrade of Neo4j, quorum first: replicas, followers, the leader of the most databases last",
		Long: `Upgrade the cluster's Neo4j where Neo4j allows a rolling upgrade: a later 5.26 patch, 5.26 to
any calendar release (2025.01 and later), a calendar release to a later one. A downgrade or
any other jump is refused (exit 2) with the offline procedure: Neo4j cannot open a store, or a
backup, of a newer version.

Before anything changes it checks that the image of the new version is in the cluster's ECR
repository (--push-image pushes it, as ` + "`neo4jctl image push`" + ` does) and that every
database, system included, has a restorable backup newer than 24 hours (the way back; see
` + "`neo4jctl backup list`" + `; --skip-backup-check goes without).

neo4j.version is then set in the cluster's last-applied config, and the member stacks, whose
task definitions name the new image, are updated one at a time through the gated roll of
"restart cluster": replicas first, the core leading the most databases last (its
leaderships handed over first), each once Neo4j shows every server and database ready, the
next once the member is back and caught up (--member-timeout each); then the operations
stack (the backup task's image). Interrupted or stopped by a gate, run the same command
again: the members done have nothing left to change. A later ` + "`neo4jctl update cluster -f`" + `
with the old version is refused, naming neo4j.version.`,
		Example: `  neo4jctl upgrade cluster graph-prod --version 5.26.31 --dry-run
  neo4jctl upgrade cluster graph-prod --version 2025.10.1 --push-image
  neo4jctl upgrade cluster graph-prod --version 2025.10.1 --yes --member-timeout 30m`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if o.version == "" {
				return usagef("--version V is required: the Neo4j version to upgrade to, e.g. 5.26.31 or 2025.10.1")
			}
			return upgradeCluster(c.Context(), g, args[0], o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.version, "version", "", "the Neo4j version to upgrade to (5.26.N or a calendar release YYYY.MM.N)")
	f.StringVar(&o.image, "image", "", "the new image, for a cluster whose neo4j.image is set")
	f.BoolVar(&o.pushImage, "push-image", false, "push the image of the new version to the cluster's ECR repository first when it is not there")
	f.BoolVar(&o.skipBackupCheck, "skip-backup-check", false, "upgrade without a restorable backup of every database newer than 24h (no way back)")
	addNeo4jWaitFlags(c, &o.changeOptions, "")
	addRollFlags(c, &o.roll, false)
	return c
}

// upgradeCluster plans, shows or asks, pushes the image if asked, and rolls.
func upgradeCluster(ctx context.Context, g *globals, name string, o *upgradeOptions) error {
	sig, stop := g.interrupts()
	defer stop()
	roll, err := o.roll.options(g, sig)
	if err != nil {
		return err
	}
	h, err := newCluster(ctx, g, name, g.region)
	if err != nil {
		return err
	}
	done, err := g.adminChannel(h, o.admin)
	if err != nil {
		return err
	}
	defer done()
	u := ops.NewUpgrade(h, o.version, g.release())
	u.Image, u.PushImage, u.SkipBackupCheck, u.Yes, u.Roll = o.image, o.pushImage, o.skipBackupCheck, o.yes, roll
	u.Backups.Clock = g.hooks.clock
	push := func(p *ops.UpgradePlan) error {
		if !p.PushImage {
			return nil
		}
		return pushUpgradeImage(ctx, g, h.Region, p)
	}
	p, ran, err := runPlanned(ctx, g, &o.changeOptions, u, func(p *ops.UpgradePlan) bool { return p.NoOp }, push)
	if !ran {
		return err
	}
	fmt.Fprintf(g.err, "%s cluster %s runs Neo4j %s.\n", g.colors.Green("Done:"), name, p.To)
	return nil
}

// pushUpgradeImage pushes the new version's image as `image push` would, to the repository
// and tag the stacks will name.
func pushUpgradeImage(ctx context.Context, g *globals, region string, p *ops.UpgradePlan) error {
	cfg, err := loadAWSConfig(ctx, g, region)
	if err != nil {
		return err
	}
	opts := image.Options{Repository: p.Image.Repository, Tag: p.Image.Tag, Neo4jVersion: p.To, ECR: ecr.NewFromConfig(cfg), CreateRepository: true}
	if !g.quiet {
		opts.Log = g.err
	}
	res, err := image.Push(ctx, opts)
	if err != nil {
		return fmt.Errorf("pushing the image of Neo4j %s (nothing in the cluster was changed): %w", p.To, err)
	}
	fmt.Fprintf(g.err, "Pushed %s (%s).\n", res.Reference, res.Digest)
	return nil
}
