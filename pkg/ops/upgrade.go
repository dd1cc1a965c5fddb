package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jversion"
	"github.com/neo4jctl/neo4jctl/pkg/rollout"
)

// Upgrade is `upgrade cluster`: a rolling upgrade of Neo4j where Neo4j allows one
// (neo4jversion.CheckUpgrade). neo4j.version (and neo4j.image, for a cluster with its own
// image) is set in the last-applied record and rendered into the member, replicas and
// operations stacks; the member stacks, whose task definitions now name the new image, are
// updated through the gated roll (replicas, followers, the leader of the most last; Neo4j's
// checks before and after each), the operations stack (the backup task's image) after them.
// Before anything changes it checks that the image for the new version is in ECR and that
// every database has a restorable backup newer than UpgradeBackupAge: Neo4j cannot
// downgrade, and those backups are the way back.
//
// The record takes the new version right before the first stack changes, once the change
// sets passed their checks (an imperative change, so an `update -f` with the old version is
// refused instead of downgrading the members already upgraded); a run that stops part-way is resumed by running it again: the members done have
// nothing left to change.
type Upgrade struct {
	Imperative
	Version string
	// Image is the new image of a cluster whose neo4j.image is set (the default image's tag
	// follows the version by itself).
	Image string
	// PushImage: a missing default image is no refusal (the caller pushes it before Execute).
	PushImage       bool
	SkipBackupCheck bool
	Yes             bool
	Roll            RollOptions
	Backups         *BackupList
}

// NewUpgrade is upgrade on the handle's clients.
func NewUpgrade(c *Cluster, version string, rel Release) *Upgrade {
	u := &Upgrade{Imperative: newImperative(c, fmt.Sprintf("upgrade cluster %s --version %s", c.Name, version), rel), Version: version, Backups: NewBackupList(c)}
	u.rollWhat = "upgrade to " + version
	return u
}

// UpgradePlan is what an upgrade will do: for --dry-run and the question.
type UpgradePlan struct {
	Cluster string   `json:"cluster"`
	From    string   `json:"from"` // the version the last-applied config names
	To      string   `json:"to"`
	Image   ImageRef `json:"image"`
	// PushImage: the image is not in ECR yet and is pushed first (--push-image).
	PushImage bool              `json:"pushImage,omitempty"`
	Backups   []BackupFreshness `json:"backups,omitempty"`
	// BackupCheckSkipped: --skip-backup-check.
	BackupCheckSkipped bool            `json:"backupCheckSkipped,omitempty"`
	Order              []PlannedMember `json:"order"` // the roll's order now
	Notes              []string        `json:"notes,omitempty"`
	// Resumes: the record names the version already, set by an earlier upgrade (which
	// may have stopped part-way); NoOp: the cluster was made with it, nothing to do.
	Resumes bool `json:"resumes,omitempty"`
	NoOp    bool `json:"nothingToDo,omitempty"`
	next    *cluster.ClusterConfig
}

// UpgradeRefusedError is a version change Neo4j cannot make rolling, or bad input: exit 2,
// nothing was touched.
type UpgradeRefusedError struct{ Err error }

func (e *UpgradeRefusedError) Error() string {
	return "upgrade refused: " + e.Err.Error() + ". Nothing was changed."
}
func (e *UpgradeRefusedError) Unwrap() error { return e.Err }
func (e *UpgradeRefusedError) ExitCode() int { return 2 }

// Plan reads the record, the stacks and Neo4j and checks the version, the image and the
// backups; it changes nothing.
func (u *Upgrade) Plan(ctx context.Context) (*UpgradePlan, error) {
	if err := u.load(ctx); err != nil {
		return nil, err
	}
	if u.record.Stopped != nil {
		return nil, fmt.Errorf("cluster %s is stopped: an upgrade rolls running members through Neo4j's checks; start it first with `neo4jctl start cluster %s`", u.Name, u.Name)
	}
	p, err := u.versions()
	if err != nil || p.NoOp {
		return p, err
	}
	if u.Admin == nil {
		return nil, fmt.Errorf("upgrade cluster %s: the gated roll needs an admin channel to Neo4j (the admin function, or --bolt-uri)", u.Name)
	}
	resp, err := sendOK(ctx, u.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqStatus})
	if err != nil {
		return nil, fmt.Errorf("reading cluster %s before upgrading it (the gates need Neo4j's view): %w", u.Name, err)
	}
	if err := u.order(p, resp.Status); err != nil {
		return nil, err
	}
	if err := u.image(ctx, p); err != nil {
		return nil, err
	}
	if p.BackupCheckSkipped = u.SkipBackupCheck; !u.SkipBackupCheck {
		if p.Backups, err = u.checkBackups(ctx, u.Backups, resp.Status); err != nil {
			return p, err
		}
	}
	return p, nil
}

// versions checks the move from the record's version to the new one and makes the config
// the stacks are rendered from.
func (u *Upgrade) versions() (*UpgradePlan, error) {
	cur := u.record.Config
	p := &UpgradePlan{Cluster: u.Name, From: cur.Neo4j.Version, To: neo4jversion.Floating(u.Version)}
	if prev := u.record.imperative("neo4j.version"); prev != nil && p.From == p.To {
		p.Resumes, p.From = true, strings.Trim(string(prev.File), `"`)
	}
	switch {
	case cur.Neo4j.Image != "" && u.Image == "":
		return nil, &UpgradeRefusedError{fmt.Errorf("neo4j.image of cluster %s is set (%s), so the version alone does not change what runs; "+
			"pass the image of Neo4j %s with --image (push it with `neo4jctl image push --neo4j-version %s --repository ... --tag ...`)", u.Name, cur.Neo4j.Image, p.To, p.To)}
	case cur.Neo4j.Image == "" && u.Image != "":
		return nil, &UpgradeRefusedError{fmt.Errorf("--image is for a cluster whose neo4j.image is set; cluster %s runs the default image, whose tag follows the version", u.Name)}
	}
	up, err := neo4jversion.CheckUpgrade(p.From, p.To)
	if err != nil {
		return nil, &UpgradeRefusedError{err}
	}
	p.Notes, p.NoOp = up.Notes, up.Same && !p.Resumes
	next := *cur
	next.Neo4j.Version = p.To
	if u.Image != "" {
		next.Neo4j.Image = u.Image
	}
	if err := cluster.Validate(&next, nil); err != nil {
		return nil, &UpgradeRefusedError{fmt.Errorf("--version %s: %w", p.To, err)}
	}
	p.next = &next
	return p, nil
}

// order is the roll's order as Neo4j stands now, and what each member leads.
func (u *Upgrade) order(p *UpgradePlan, st *neo4jadmin.Status) error {
	stacks := make([]*engine.StackInfo, 0, len(u.live))
	for _, s := range u.live {
		stacks = append(stacks, s)
	}
	members, err := rollMembers(u.Name, stacks)
	if err != nil {
		return err
	}
	leads := rollout.LeadsOf(st, members)
	for _, m := range rollout.Order(st, members) {
		p.Order = append(p.Order, PlannedMember{Member: m.Name, Leads: leads[m.Name].Databases})
	}
	return nil
}

// image finds the image of the new version in ECR; a missing one is refused unless
// PushImage.
func (u *Upgrade) image(ctx context.Context, p *UpgradePlan) error {
	id, err := u.Precheck.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fmt.Errorf("checking AWS credentials (sts:GetCallerIdentity): %w", awsapi.Clean(err))
	}
	in, _, err := u.Release.bundles()
	if err != nil {
		return err
	}
	p.Image = imageOf(p.next, aws.ToString(id.Account), in.AgentSHA256)
	missing, err := p.Image.missing(ctx, u.Precheck.ECR)
	switch {
	case err != nil:
		return fmt.Errorf("checking that image %s is in ECR: %w", p.Image.Image, err)
	case missing != nil && u.PushImage:
		p.PushImage = true
	case missing != nil:
		return &ImageMissingError{Cluster: u.Name, Version: p.To, Image: p.Image, Reason: missing}
	}
	return nil
}

// ImageMissingError: the image of the new version is not in ECR. Nothing was changed.
type ImageMissingError struct {
	Cluster, Version string
	Image            ImageRef
	Reason           error
}

func (e *ImageMissingError) Error() string {
	return fmt.Sprintf("upgrade of cluster %s refused: the image of Neo4j %s, %s, is not in ECR (%v). Nothing was changed. "+
		"Push it with `neo4jctl image push --repository %s --neo4j-version %s --create-repository`, or pass --push-image to push it as part of the upgrade",
		e.Cluster, e.Version, e.Image.Image, e.Reason, e.Image.Repository, e.Version)
}

// Text is the plan for people.
func (p *UpgradePlan) Text() string {
	var b strings.Builder
	if p.NoOp {
		return fmt.Sprintf("Cluster %s runs Neo4j %s already (its last-applied config): nothing to do.\n", p.Cluster, p.To)
	}
	fmt.Fprintf(&b, "Upgrade cluster %s from Neo4j %s to %s, rolling, one member at a time, gated before and after each:\n", p.Cluster, p.From, p.To)
	if p.Resumes {
		fmt.Fprintf(&b, "  (the last-applied config names %s already, from an earlier upgrade: the members not on it yet roll, none if it finished)\n", p.To)
	}
	for i, m := range p.Order {
		what := "leads nothing"
		if m.Member == naming.ReplicasService {
			what = "every replica task replaced"
		} else if len(m.Leads) > 0 {
			what = "leads " + strings.Join(m.Leads, ", ")
		}
		fmt.Fprintf(&b, "  %d. %-10s %s\n", i+1, m.Member, what)
	}
	fmt.Fprintf(&b, "Image: %s", p.Image.Image)
	if p.PushImage {
		b.WriteString(" (not in ECR: pushed first, --push-image)")
	}
	b.WriteString("\n")
	if p.BackupCheckSkipped {
		b.WriteString("Backups: not checked (--skip-backup-check): without a recent backup there is no way back\n")
	}
	for _, f := range p.Backups {
		fmt.Fprintf(&b, "Backup of %s: %s, taken %s\n", f.Database, f.Newest, f.Taken.UTC().Format("2006-01-02 15:04 MST"))
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "Note: %s\n", n)
	}
	fmt.Fprintf(&b, "neo4j.version becomes %s in the cluster's last-applied config; `update cluster -f` with %s is then refused.\n", p.To, p.From)
	return b.String()
}

// Ask confirms (unless Yes).
func (u *Upgrade) Ask(ctx context.Context, p *UpgradePlan) error {
	ok, err := u.confirm(ctx, fmt.Sprintf("Upgrade cluster %s from %s to %s? [y/N] ", u.Name, p.From, p.To), "upgrade cluster "+u.Name, "--yes", u.Yes)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("nothing changed")
	}
	return nil
}

// Execute records the version and rolls the members to it; the record is written right
// before the first change (see Upgrade) and again once it is done.
func (u *Upgrade) Execute(ctx context.Context, p *UpgradePlan) error {
	next := p.next
	if err := u.record.Set("neo4j.version", "upgrade cluster", u.Now(), func(c *cluster.ClusterConfig) { c.Neo4j.Version = next.Neo4j.Version }); err != nil {
		return err
	}
	if u.Image != "" {
		if err := u.record.Set("neo4j.image", "upgrade cluster", u.Now(), func(c *cluster.ClusterConfig) { c.Neo4j.Image = next.Neo4j.Image }); err != nil {
			return err
		}
	}
	u.beforeChange = u.save // a step refused (the stacks differ from the record) records nothing
	u.roll = &u.Roll
	what := fmt.Sprintf("Upgrading the members of %s to Neo4j %s", u.Name, p.To)
	if err := u.step(ctx, what, u.record.Run(u.stack(naming.KindReplicas, 0) != nil), false, naming.KindCore, naming.KindReplicas, naming.KindOperations); err != nil {
		return err
	}
	return u.save(ctx)
}

// imperative is the record's imperative change of a field (nil when none).
func (a *Applied) imperative(field string) *ImperativeChange {
	for i := range a.Imperative {
		if a.Imperative[i].Field == field {
			return &a.Imperative[i]
		}
	}
	return nil
}
