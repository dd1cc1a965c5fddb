package ops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/netcheck"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// CallerIdentity says whose credentials these are.
type CallerIdentity interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// NetworkReader reads the region's AZs and an existing VPC (what netcheck checks).
type NetworkReader interface {
	netcheck.EC2
	DescribeAvailabilityZones(context.Context, *ec2.DescribeAvailabilityZonesInput, ...func(*ec2.Options)) (*ec2.DescribeAvailabilityZonesOutput, error)
}

// ImageReader checks that an image is in ECR.
type ImageReader interface {
	DescribeImages(context.Context, *ecr.DescribeImagesInput, ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error)
}

// Precheck is what create and update look at before rendering anything: the credentials,
// the region, an existing VPC and its subnets, the image.
type Precheck struct {
	STS CallerIdentity
	EC2 NetworkReader
	ECR ImageReader
	SSM ParameterReader // the AMI to pin
	// ClusterExists (update): the cluster's instances and tasks hold their addresses in its
	// subnets already, so fewer free ones is a warning, not a refusal.
	ClusterExists bool
}

func newPrecheck(c *Clients) Precheck {
	return Precheck{STS: c.STS, EC2: c.EC2, ECR: c.ECR, SSM: c.SSM}
}

// existingPrecheck is the pre-check of a change to a cluster that exists (update, and the
// commands without -f).
func existingPrecheck(c *Clients) Precheck {
	pc := newPrecheck(c)
	pc.ClusterExists = true
	return pc
}

// Environment is what the pre-checks learned about the account.
type Environment struct {
	Account   string
	SubnetAZs map[string]string
	Image     string // the image the tasks run
}

// rendered is a config rendered for this account: the stacks, and the agent bundles with
// their S3 keys by architecture; the inputs and what the pre-checks learned, to render again
// with kept data to adopt.
type rendered struct {
	stacks []stack.Stack
	keys   map[string]string
	zips   map[string][]byte
	in     stack.Inputs
	env    *Environment
}

// render runs the pre-checks and renders the stacks with the agent bundles' keys, the
// current ECS-optimized AMIs (update then keeps what the live stacks are pinned to) and what
// base says runs and is adopted (Run, Adopt).
func (c *Cluster) render(ctx context.Context, pc Precheck, rel Release, cfg *cluster.ClusterConfig, base stack.Inputs) (*rendered, error) {
	in, zips, err := rel.bundles()
	if err != nil {
		return nil, err
	}
	env, err := c.precheck(ctx, pc, cfg, in.AgentSHA256)
	if err != nil {
		return nil, err
	}
	in.SubnetAZs, in.Run, in.Adopt = env.SubnetAZs, base.Run, base.Adopt
	if in.ImageIDs, err = ResolveAMIs(ctx, pc.SSM, cfg); err != nil {
		return nil, err
	}
	stacks, err := stack.Build(cfg, in)
	if err != nil {
		return nil, err
	}
	return &rendered{stacks: stacks, keys: in.AgentCodeKeys, zips: zips, in: in, env: env}, nil
}

// precheck verifies, before anything is created: credentials, region, the existing VPC and
// its subnets and their AZ spread, and that the image is in ECR (the default image's tag
// names the amd64 agent bundle, agentSHA).
func (c *Cluster) precheck(ctx context.Context, pc Precheck, cfg *cluster.ClusterConfig, agentSHA string) (*Environment, error) {
	env := &Environment{SubnetAZs: map[string]string{}}
	id, err := pc.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		// credentials errors get the hint from the command; a network error needs none
		if awsapi.IsCredentials(err) || awsapi.IsNetwork(err) {
			return nil, fmt.Errorf("checking AWS credentials (sts:GetCallerIdentity): %w", awsapi.Clean(err))
		}
		return nil, fmt.Errorf("checking AWS credentials (sts:GetCallerIdentity): %w; %s", awsapi.Clean(err), CredentialsHint)
	}
	env.Account = aws.ToString(id.Account)
	c.emit(AccountChecked{Account: env.Account, Region: cfg.Metadata.Region})
	if err := checkAZs(ctx, pc.EC2, cfg); err != nil {
		return nil, err
	}
	if !cfg.CreatesVPC() {
		if env.SubnetAZs, err = c.checkNetwork(ctx, pc, cfg); err != nil {
			return nil, err
		}
		c.warnQuorumAtRisk(cfg, env.SubnetAZs)
	}
	if env.Image, err = checkImage(ctx, pc.ECR, cfg, env.Account, agentSHA); err != nil {
		return nil, err
	}
	return env, nil
}

// checkAZs: a VPC neo4jctl makes needs as many available AZs as it has subnets.
func checkAZs(ctx context.Context, api NetworkReader, cfg *cluster.ClusterConfig) error {
	azs, err := api.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{
		Filters: []ec2types.Filter{{Name: aws.String("state"), Values: []string{"available"}}},
	})
	if err != nil {
		return fmt.Errorf("checking region %s (ec2:DescribeAvailabilityZones): %w", cfg.Metadata.Region, awsapi.Clean(err))
	}
	if cfg.CreatesVPC() && len(azs.AvailabilityZones) < cfg.SubnetSlots() {
		return fmt.Errorf("region %s has %d available AZs; the new VPC needs %d", cfg.Metadata.Region, len(azs.AvailabilityZones), cfg.SubnetSlots())
	}
	return nil
}

// checkNetwork runs the network checks on the existing VPC (netcheck): any failure refuses,
// naming each and its fix; warnings are reported. It returns each subnet's AZ.
func (c *Cluster) checkNetwork(ctx context.Context, pc Precheck, cfg *cluster.ClusterConfig) (map[string]string, error) {
	r, err := netcheck.Check(ctx, pc.EC2, cfg, netcheck.Options{Existing: pc.ClusterExists})
	if err != nil {
		return nil, err
	}
	for _, f := range r.With(netcheck.Warn) {
		c.emit(NetworkWarning{Finding: f})
	}
	return r.SubnetAZs, r.Err()
}

// NetworkWarning: a network check that does not refuse (netcheck.Warn).
type NetworkWarning struct{ netcheck.Finding }

func (e NetworkWarning) String() string { return "Warning: " + e.Finding.String() }

// warnQuorumAtRisk: members go round-robin over the subnets; subnets sharing an AZ can put
// a majority of the cores in it. A warning, not a refusal.
func (c *Cluster) warnQuorumAtRisk(cfg *cluster.ClusterConfig, subnetAZs map[string]string) {
	perAZ := map[string]int{}
	for _, m := range cfg.Members() {
		perAZ[subnetAZs[m.Subnet]]++
	}
	subnets := map[string][]string{}
	for _, id := range cfg.Network.Subnets {
		subnets[subnetAZs[id]] = append(subnets[subnetAZs[id]], id)
	}
	for _, az := range slices.Sorted(maps.Keys(perAZ)) {
		if n := perAZ[az]; cfg.Cores.Count > 1 && n > cfg.Cores.Count/2 {
			c.emit(QuorumAtRisk{AZ: az, Members: n, Cores: cfg.Cores.Count, Subnets: subnets[az]})
		}
	}
}

// checkImage makes sure the default ECR image (or an ECR image named in neo4j.image) exists.
// Images elsewhere (Docker Hub, another registry) are not checked.
func checkImage(ctx context.Context, api ImageReader, cfg *cluster.ClusterConfig, account, agentSHA string) (string, error) {
	ref := imageOf(cfg, account, agentSHA)
	missing, err := ref.missing(ctx, api)
	if err != nil || missing != nil {
		return "", fmt.Errorf("image %s is not in ECR (%v); push it first: neo4jctl image push --repository %s --neo4j-version %s --tag %s --create-repository",
			ref.Image, cmp.Or(err, missing), ref.Repository, cfg.Neo4j.Version, ref.Tag)
	}
	return ref.Image, nil
}

// ImageRef is the image a config's tasks run, and where it is in this account's ECR.
type ImageRef struct {
	Image      string `json:"image"`
	Repository string `json:"repository,omitempty"` // registry/repository, when in this account's ECR
	Tag        string `json:"tag,omitempty"`
	repo       string // the ECR repository's name
}

// imageOf is the default ECR image (neo4j.image empty: the tag `image push` gives the
// version with this release's agent) or neo4j.image.
func imageOf(cfg *cluster.ClusterConfig, account, agentSHA string) ImageRef {
	region := cfg.Metadata.Region
	img := cfg.Neo4j.Image
	if img == "" {
		img = fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s:%s", account, region, naming.DefaultImageRepository, naming.ImageTag(cfg.Neo4j.Version, agentSHA))
	}
	prefix := fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/", account, region)
	if !strings.HasPrefix(img, prefix) {
		return ImageRef{Image: img}
	}
	repo, tag, _ := strings.Cut(strings.TrimPrefix(img, prefix), ":")
	return ImageRef{Image: img, Repository: prefix + repo, Tag: cmp.Or(tag, "latest"), repo: repo}
}

// missing says, with ECR's reason, why an image in this account's ECR is not there (nil
// when it is; an image elsewhere is not checked); err is a failure to ask.
func (r ImageRef) missing(ctx context.Context, api ImageReader) (missing, err error) {
	if r.repo == "" {
		return nil, nil
	}
	_, err = api.DescribeImages(ctx, &ecr.DescribeImagesInput{
		RepositoryName: aws.String(r.repo),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageTag: aws.String(r.Tag)}},
	})
	if err != nil {
		var nf *ecrtypes.ImageNotFoundException
		var rnf *ecrtypes.RepositoryNotFoundException
		if errors.As(err, &nf) || errors.As(err, &rnf) {
			return awsapi.Clean(err), nil
		}
		return nil, awsapi.Clean(err)
	}
	return nil, nil
}
