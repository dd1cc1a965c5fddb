package ops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// CreateOptions tune create.
type CreateOptions struct {
	File   string // the cluster.yaml path, for the commands suggested
	Detach bool   // start what can start and return
}

// Environment is what the pre-checks learned about the account.
type Environment struct {
	Account   string
	SubnetAZs map[string]string
	Image     string // the image the tasks run
}

// Precheck verifies, before anything is created: credentials, region, the existing VPC and
// its subnets and their AZ spread, and that the image is in ECR (the default image's tag
// names the amd64 agent bundle, agentSHA). Warnings go to the log.
func (o *Ops) Precheck(ctx context.Context, cfg *cluster.ClusterConfig, agentSHA string) (*Environment, error) {
	env := &Environment{SubnetAZs: map[string]string{}}
	id, err := o.AWS.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		if awsapi.IsCredentials(err) {
			return nil, fmt.Errorf("checking AWS credentials (sts:GetCallerIdentity): %w", awsapi.Clean(err))
		}
		return nil, fmt.Errorf("checking AWS credentials (sts:GetCallerIdentity): %w; %s", awsapi.Clean(err), CredentialsHint)
	}
	env.Account = aws.ToString(id.Account)
	o.logf("Using account %s in %s", env.Account, cfg.Metadata.Region)

	azs, err := o.AWS.EC2.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{
		Filters: []ec2types.Filter{{Name: aws.String("state"), Values: []string{"available"}}},
	})
	if err != nil {
		return nil, fmt.Errorf("checking region %s (ec2:DescribeAvailabilityZones): %w", cfg.Metadata.Region, awsapi.Clean(err))
	}
	if cfg.CreatesVPC() && len(azs.AvailabilityZones) < cfg.SubnetSlots() {
		return nil, fmt.Errorf("region %s has %d available AZs; the new VPC needs %d", cfg.Metadata.Region, len(azs.AvailabilityZones), cfg.SubnetSlots())
	}

	if !cfg.CreatesVPC() {
		if err := o.checkNetwork(ctx, cfg, env); err != nil {
			return nil, err
		}
	}
	img, err := o.checkImage(ctx, cfg, env.Account, agentSHA)
	if err != nil {
		return nil, err
	}
	env.Image = img
	return env, nil
}

func (o *Ops) checkNetwork(ctx context.Context, cfg *cluster.ClusterConfig, env *Environment) error {
	vpcID := cfg.Network.VPCID
	if _, err := o.AWS.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpcID}}); err != nil {
		return fmt.Errorf("network.vpcID: %s not found in %s: %w", vpcID, cfg.Metadata.Region, awsapi.Clean(err))
	}
	out, err := o.AWS.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: cfg.Network.Subnets})
	if err != nil {
		return fmt.Errorf("network.subnets: %w", awsapi.Clean(err))
	}
	found := map[string]ec2types.Subnet{}
	for _, s := range out.Subnets {
		found[aws.ToString(s.SubnetId)] = s
	}
	var problems []string
	byAZ := map[string][]string{}
	for _, id := range cfg.Network.Subnets {
		s, ok := found[id]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("subnet %s does not exist", id))
		case aws.ToString(s.VpcId) != vpcID:
			problems = append(problems, fmt.Sprintf("subnet %s belongs to %s, not network.vpcID %s", id, aws.ToString(s.VpcId), vpcID))
		default:
			az := aws.ToString(s.AvailabilityZone)
			env.SubnetAZs[id] = az
			byAZ[az] = append(byAZ[az], id)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("network.subnets: %s", strings.Join(problems, "; "))
	}
	// AZ spread: members go round-robin over the subnets; subnets sharing an AZ concentrate them
	perAZ := map[string]int{}
	for _, m := range cfg.Members() {
		perAZ[env.SubnetAZs[m.Subnet]]++
	}
	azs := slices.Sorted(maps.Keys(perAZ))
	for _, az := range azs {
		if n := perAZ[az]; cfg.Cores.Count > 1 && n > cfg.Cores.Count/2 {
			o.logf("Warning: %d of %d core members land in %s (subnets %s): losing that AZ loses quorum; use subnets in more AZs", n, cfg.Cores.Count, az, strings.Join(byAZ[az], ", "))
		}
	}
	return nil
}

// checkImage makes sure the default ECR image (or an ECR image named in neo4j.image) exists.
// Images elsewhere (Docker Hub, another registry) are not checked.
func (o *Ops) checkImage(ctx context.Context, cfg *cluster.ClusterConfig, account, agentSHA string) (string, error) {
	region := cfg.Metadata.Region
	img := cfg.Neo4j.Image
	if img == "" {
		img = fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s:%s", account, region, naming.DefaultImageRepository, naming.ImageTag(cfg.Neo4j.Version, agentSHA))
	}
	prefix := fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/", account, region)
	if !strings.HasPrefix(img, prefix) {
		return img, nil
	}
	repoTag := strings.TrimPrefix(img, prefix)
	repo, tag, _ := strings.Cut(repoTag, ":")
	if tag == "" {
		tag = "latest"
	}
	_, err := o.AWS.ECR.DescribeImages(ctx, &ecr.DescribeImagesInput{
		RepositoryName: aws.String(repo),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageTag: aws.String(tag)}},
	})
	if err != nil {
		return "", fmt.Errorf("image %s is not in ECR (%v); push it first: neo4jctl image push --repository %s%s --neo4j-version %s --tag %s --create-repository",
			img, awsapi.Clean(err), prefix, repo, cfg.Neo4j.Version, tag)
	}
	return img, nil
}

// CreateError is a create that failed part-way, with what to do next.
type CreateError struct {
	Cluster  string
	File     string
	Failed   []error
	Tasks    []string // stopped ECS tasks and why
	Stopped  bool     // interrupted by the user
	Started  []string // stacks left creating (interrupted)
	Explains []string
}

func (e *CreateError) Error() string {
	var b strings.Builder
	if e.Stopped {
		fmt.Fprintf(&b, "create of cluster %s interrupted", e.Cluster)
		if len(e.Started) > 0 {
			fmt.Fprintf(&b, "; still creating in AWS: %s", strings.Join(e.Started, ", "))
		}
	} else {
		fmt.Fprintf(&b, "create of cluster %s failed", e.Cluster)
	}
	for _, err := range e.Failed {
		fmt.Fprintf(&b, "\n%s", err)
	}
	if len(e.Tasks) > 0 {
		fmt.Fprintf(&b, "\nStopped ECS tasks:")
		for _, t := range e.Tasks {
			fmt.Fprintf(&b, "\n  %s", t)
		}
	}
	for _, x := range e.Explains {
		fmt.Fprintf(&b, "\n%s", x)
	}
	fmt.Fprintf(&b, "\nResume with `neo4jctl create cluster -f %s` (it keeps what was made and retries the rest), or remove everything with `neo4jctl delete cluster %s`.", e.File, e.Cluster)
	return b.String()
}

// Create makes the cluster's stacks in order, resuming a previous attempt.
func (o *Ops) Create(ctx context.Context, cfg *cluster.ClusterConfig, opt CreateOptions) error {
	if opt.File == "" {
		opt.File = "cluster.yaml"
	}
	name := cfg.Metadata.Name
	stacks, keys, bundles, err := o.build(ctx, cfg)
	if err != nil {
		return err
	}

	// What exists already: resume, or refuse a name that is taken.
	live := map[string]*engine.StackInfo{}
	var names []string
	deps := map[string][]string{}
	byName := map[string]stack.Stack{}
	for _, s := range stacks {
		names = append(names, s.Name)
		deps[s.Name] = s.DependsOn
		byName[s.Name] = s
		info, err := o.Engine.Describe(ctx, s.Name)
		if err != nil {
			return err
		}
		if info == nil {
			continue
		}
		if info.Tags[naming.TagCluster] != name {
			return fmt.Errorf("stack %s already exists and is not part of neo4jctl cluster %s; choose another metadata.name", s.Name, name)
		}
		live[s.Name] = info
	}
	healthy := 0
	for _, info := range live {
		if engine.Healthy(info.Status) {
			healthy++
		}
	}
	if len(live) == 0 {
		// A fresh create. Data kept by an earlier delete of a cluster of this name is not
		// reused (yet): say so, so nobody expects the old databases. A warning, not a
		// refusal: nothing is lost, the old data stays where it is.
		old, err := o.findData(ctx, name, nil)
		if err != nil {
			return err
		}
		if !old.empty() {
			o.logf("Warning: data of an earlier cluster %s is still in %s: %s.\n"+
				"neo4jctl does not reattach old volumes yet: this cluster starts with new, empty volumes and a new bucket, and the old data stays as it is. "+
				"To remove it for good: `neo4jctl delete cluster %s --purge-data` (which would then also delete this cluster's data).",
				name, o.AWS.Region, strings.Join(old.names(), ", "), name)
		}
	}
	switch {
	case healthy == len(stacks):
		return fmt.Errorf("cluster %s already exists (%d stacks); change it with `neo4jctl update cluster -f %s`", name, len(stacks), opt.File)
	case len(live) > 0:
		o.logf("Resuming a previous create of %s: %d of %d stacks exist, %d of them complete", name, len(live), len(stacks), healthy)
	}
	for _, n := range names {
		info := live[n]
		if info == nil || engine.Healthy(info.Status) || engine.InProgress(info.Status) {
			continue
		}
		switch info.Status {
		case engine.StatusRollbackComplete, engine.StatusRollbackFailed, engine.StatusCreateFailed, engine.StatusReviewInProgress:
			o.logf("Stack %s is %s from an earlier attempt: deleting the empty stack to create it again", n, info.Status)
			if err := o.Engine.Delete(ctx, n, true); err != nil {
				return fmt.Errorf("%w\n%s", err, explainStack(n, info.Status, name, opt.File))
			}
			delete(live, n)
		default:
			return errors.New(explainStack(n, info.Status, name, opt.File))
		}
	}

	var upload sync.Once
	var uploadErr error
	doUpload := func(ctx context.Context) error {
		upload.Do(func() { uploadErr = o.uploadBundles(ctx, name, keys, bundles) })
		return uploadErr
	}
	shared := naming.StackName(name, naming.KindShared, 0)

	if opt.Detach {
		return o.createDetached(ctx, cfg, opt, stacks, live, doUpload)
	}

	o.logf("Creating cluster %s: %d stacks (members in parallel once the shared stack exists)", name, len(stacks))
	errs := engine.InOrder(ctx, names, deps, func(ctx context.Context, n string) error {
		info := live[n]
		switch {
		case info != nil && engine.InProgress(info.Status):
			o.logf("Stack %s is already %s: waiting for it", n, info.Status)
			if _, err := o.Engine.Wait(ctx, n, engine.OpCreate, info.Created, ""); err != nil {
				return err
			}
		case info != nil:
			// exists and is healthy
		default:
			if _, err := o.Engine.Create(ctx, o.spec(byName[n]), false); err != nil {
				return err
			}
		}
		if n == shared {
			return doUpload(ctx)
		}
		return nil
	})
	o.Engine.Progress.Stop()
	if len(errs) == 0 {
		return nil
	}
	ce := &CreateError{Cluster: name, File: opt.File}
	for _, n := range names {
		err := errs[n]
		var skipped *engine.SkippedError
		switch {
		case err == nil, errors.As(err, &skipped):
		case engine.IsInterrupted(err):
			ce.Stopped = true
			ce.Started = append(ce.Started, n)
		default:
			ce.Failed = append(ce.Failed, err)
		}
	}
	if ce.Stopped && len(ce.Failed) == 0 {
		return ce
	}
	ce.Tasks = o.stoppedTasks(context.WithoutCancel(ctx), name)
	return ce
}

// build runs the pre-checks and renders the stacks with the agent bundles' keys.
func (o *Ops) build(ctx context.Context, cfg *cluster.ClusterConfig) ([]stack.Stack, map[string]string, map[string][]byte, error) {
	in := stack.Inputs{Neo4jctlVersion: o.Version}
	bundles := map[string][]byte{}
	for _, arch := range o.archs() {
		z, sum, err := o.Bundle(arch)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("agent bundle: %w", err)
		}
		in.SetAgent(arch, sum)
		bundles[arch] = z
	}
	env, err := o.Precheck(ctx, cfg, in.AgentSHA256)
	if err != nil {
		return nil, nil, nil, err
	}
	in.SubnetAZs = env.SubnetAZs
	stacks, err := stack.Build(cfg, in)
	if err != nil {
		return nil, nil, nil, err
	}
	return stacks, in.AgentCodeKeys, bundles, nil
}

func (o *Ops) spec(s stack.Stack) engine.Spec {
	return engine.Spec{Name: s.Name, Template: s.Template, Parameters: s.Parameters, Tags: s.Tags, TerminationProtection: true}
}

// createDetached starts the stacks whose dependencies exist and returns.
func (o *Ops) createDetached(ctx context.Context, cfg *cluster.ClusterConfig, opt CreateOptions, stacks []stack.Stack, live map[string]*engine.StackInfo, upload func(context.Context) error) error {
	name := cfg.Metadata.Name
	shared := naming.StackName(name, naming.KindShared, 0)
	if info := live[shared]; info != nil && engine.Healthy(info.Status) {
		if err := upload(ctx); err != nil {
			return err
		}
	}
	var started, waiting []string
	for _, s := range stacks {
		if live[s.Name] != nil {
			continue
		}
		ready := true
		for _, d := range s.DependsOn {
			if info := live[d]; info == nil || !engine.Healthy(info.Status) {
				ready = false
			}
		}
		if !ready {
			waiting = append(waiting, s.Name)
			continue
		}
		if _, err := o.Engine.Create(ctx, o.spec(s), true); err != nil {
			return err
		}
		started = append(started, s.Name)
	}
	o.Engine.Progress.Stop()
	o.logf("Started %s; not waiting (--detach).", strings.Join(started, ", "))
	if len(waiting) > 0 {
		o.logf("%d stacks wait for those: run `neo4jctl create cluster -f %s` again once they are done (watch with `neo4jctl get cluster %s`).", len(waiting), opt.File, name)
	}
	return nil
}

// uploadBundles puts the agent bundles in the cluster bucket under their SHA-256 keys,
// skipping those already there.
func (o *Ops) uploadBundles(ctx context.Context, cluster string, keys map[string]string, bundles map[string][]byte) error {
	info, err := o.Engine.Describe(ctx, naming.StackName(cluster, naming.KindShared, 0))
	if err != nil {
		return err
	}
	bucket := ""
	if info != nil {
		bucket = info.Outputs[stack.OutputBucketName]
	}
	if bucket == "" {
		return fmt.Errorf("the shared stack of %s has no %s output: cannot upload the agent bundle", cluster, stack.OutputBucketName)
	}
	for _, arch := range slices.Sorted(maps.Keys(keys)) {
		key := keys[arch]
		if _, err := o.AWS.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err == nil {
			o.logf("Agent bundle %s already in s3://%s", key, bucket)
			continue
		}
		if _, err := o.AWS.S3.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(bundles[arch]),
			ContentType: aws.String("application/zip"),
		}); err != nil {
			return fmt.Errorf("uploading the agent bundle to s3://%s/%s: %w", bucket, key, awsapi.Clean(err))
		}
		o.logf("Uploaded agent bundle s3://%s/%s", bucket, key)
	}
	return nil
}
