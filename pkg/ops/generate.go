package ops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// SubnetReader finds the AZs of existing subnets.
type SubnetReader interface {
	DescribeSubnets(context.Context, *ec2.DescribeSubnetsInput, ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
}

// Generate writes a cluster's stacks for a deployment by hand or by a pipeline of the user's
// (stack.WriteDir: templates, parameters, tags, deploy.sh, deploy.json) and the agent bundles
// beside deploy.sh. With AWS at hand (EC2 and SSM set) it looks up what only AWS knows, the
// existing subnets' AZs and the ECS-optimized AMI to pin, so the files carry real values;
// without, those stay FILL_IN_ placeholders, each with the AWS CLI command that looks it up.
// It changes nothing in AWS.
type Generate struct {
	Config  *cluster.ClusterConfig
	Release Release
	EC2     SubnetReader    // nil: offline
	SSM     ParameterReader // nil: offline
}

// GenerateResult is what Generate wrote.
type GenerateResult struct {
	Dir        string
	Templates  []string // paths, in creation order
	Bundles    []string // paths of the agent bundles written
	Missing    []string // agent bundles this binary lacks (built without `make agent`)
	FillIn     []stack.DeployFillIn
	LookedUp   bool
	Deployment *stack.Deployment
}

// Run renders the stacks and writes them and the bundles to dir.
func (g *Generate) Run(ctx context.Context, dir string) (*GenerateResult, error) {
	in := g.Release.OfflineInputs()
	res := &GenerateResult{Dir: dir, LookedUp: g.EC2 != nil && g.SSM != nil}
	if res.LookedUp {
		var err error
		if in.SubnetAZs, err = subnetAZs(ctx, g.EC2, g.Config); err != nil {
			return nil, err
		}
		if in.ImageIDs, err = ResolveAMIs(ctx, g.SSM, g.Config); err != nil {
			return nil, err
		}
	}
	stacks, err := stack.Build(g.Config, in)
	if err != nil {
		return nil, fmt.Errorf("rendering templates: %w", err)
	}
	d, err := stack.WriteDir(stacks, dir)
	if err != nil {
		return nil, fmt.Errorf("writing templates: %w", err)
	}
	res.Deployment, res.FillIn = d, d.FillIn
	for _, s := range stacks {
		res.Templates = append(res.Templates, filepath.Join(dir, s.Name+".template.json"))
	}
	return res, g.writeBundles(res)
}

// writeBundles puts each agent bundle the deployment uploads beside deploy.sh, checked
// against the SHA-256 the templates name.
func (g *Generate) writeBundles(res *GenerateResult) error {
	for _, u := range res.Deployment.Uploads {
		zip, sum, err := g.Release.Bundle(u.Arch)
		if err != nil {
			res.Missing = append(res.Missing, u.File)
			continue
		}
		if sum != u.SHA256 {
			return fmt.Errorf("agent bundle %s has SHA-256 %s, the templates name %s", u.Arch, sum, u.SHA256)
		}
		path := filepath.Join(res.Dir, u.File)
		if err := os.WriteFile(path, zip, 0o644); err != nil {
			return fmt.Errorf("writing the agent bundle: %w", err)
		}
		res.Bundles = append(res.Bundles, path)
	}
	return nil
}

// subnetAZs looks up the AZ of each of the config's existing subnets.
func subnetAZs(ctx context.Context, api SubnetReader, cfg *cluster.ClusterConfig) (map[string]string, error) {
	azs := map[string]string{}
	if cfg.CreatesVPC() {
		return azs, nil
	}
	out, err := api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("subnet-id"), Values: cfg.Network.Subnets}},
	})
	if err != nil {
		return nil, fmt.Errorf("looking up the AZs of network.subnets (ec2:DescribeSubnets): %w", awsapi.Clean(err))
	}
	for _, s := range out.Subnets {
		azs[aws.ToString(s.SubnetId)] = aws.ToString(s.AvailabilityZone)
	}
	for i, id := range cfg.Network.Subnets {
		if azs[id] == "" {
			return nil, fmt.Errorf("network.subnets[%d]: subnet %s does not exist in %s", i, id, cfg.Metadata.Region)
		}
	}
	return azs, nil
}
