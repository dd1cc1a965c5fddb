package agent

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// runAttachVolume is `attach-volume --cluster C --member core-N --volume vol-... --log-group G
// [--mount DIR]`: AttachVolume with this instance's identity from the instance metadata
// (IMDSv2) and the instance role's credentials.
func runAttachVolume(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("attach-volume", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := AttachOptions{Stderr: stderr}
	fs.StringVar(&o.Cluster, "cluster", "", "neo4jctl cluster name (the volume's "+naming.TagCluster+" tag)")
	fs.StringVar(&o.Member, "member", "", "core member, core-N (the volume's "+naming.TagMember+" tag)")
	fs.StringVar(&o.VolumeID, "volume", "", "the member's data volume id")
	fs.StringVar(&o.Mount, "mount", naming.DataMount, "mount point")
	fs.StringVar(&o.LogGroup, "log-group", "", "CloudWatch Logs group of the boot log stream <member>/boot")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	md := imds.New(imds.Options{})
	var err error
	if o.InstanceID, err = metadata(ctx, md, "instance-id"); err != nil {
		return err
	}
	if o.AZ, err = metadata(ctx, md, "placement/availability-zone"); err != nil {
		return err
	}
	region, err := md.GetRegion(ctx, &imds.GetRegionInput{})
	if err != nil {
		return fmt.Errorf("reading the region from the instance metadata: %w", err)
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region.Region))
	if err != nil {
		return fmt.Errorf("AWS configuration: %w", err)
	}
	o.EC2 = ec2.NewFromConfig(cfg)
	o.ASG = autoscaling.NewFromConfig(cfg)
	o.Logs = CloudWatchLogs{Logs: cloudwatchlogs.NewFromConfig(cfg)}
	return AttachVolume(ctx, o)
}

func metadata(ctx context.Context, md *imds.Client, path string) (string, error) {
	out, err := md.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
	if err != nil {
		return "", fmt.Errorf("reading %s from the instance metadata: %w", path, err)
	}
	defer out.Content.Close()
	b, err := io.ReadAll(io.LimitReader(out.Content, 4096))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
