package ops

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/stack"
)

// ParameterReader reads SSM parameters: the public one that names the current ECS-optimized AMI.
type ParameterReader interface {
	GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// ResolveAMIs reads the current ECS-optimized Amazon Linux 2023 AMI of each architecture the
// config's instances use (the cores', the replicas'), to pin in the stacks (stack.ParamImageID).
func ResolveAMIs(ctx context.Context, api ParameterReader, cfg *cluster.ClusterConfig) (map[string]string, error) {
	archs := []string{cfg.Arch()}
	if cfg.Replicas != nil && len(cfg.Replicas.InstanceTypes) > 0 {
		archs = append(archs, cluster.InstanceArch(cfg.Replicas.InstanceTypes[0]))
	}
	out := map[string]string{}
	for _, arch := range archs {
		if out[arch] != "" {
			continue
		}
		name := stack.AMIParameter(arch)
		p, err := api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
		if err != nil {
			return nil, fmt.Errorf("looking up the ECS-optimized AMI (%s) to pin (ssm:GetParameter %s): %w", arch, name, awsapi.Clean(err))
		}
		id := aws.ToString(p.Parameter.Value)
		if !amiRe.MatchString(id) {
			return nil, fmt.Errorf("SSM parameter %s is %q, not an AMI id", name, id)
		}
		out[arch] = id
	}
	return out, nil
}

var (
	amiRe    = regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`)
	sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// AMIPinned: create pins the instances to the AMI AWS recommends today.
type AMIPinned struct{ Arch, AMI, Parameter string }

func (e AMIPinned) String() string {
	return fmt.Sprintf("Pinning the ECS-optimized AMI %s (%s, %s); `neo4jctl update cluster --refresh-ami` moves to a newer one", e.AMI, e.Arch, e.Parameter)
}

// NewerAMIAvailable: AWS recommends a newer AMI than the one a stack's instances are pinned to;
// update keeps the pinned one.
type NewerAMIAvailable struct {
	Arch, Running, Current string
	Stacks                 []string
	File                   string
}

func (e NewerAMIAvailable) String() string {
	return fmt.Sprintf("A newer ECS-optimized AMI is available (%s): %s; %s keep %s. "+
		"`neo4jctl update cluster -f %s --refresh-ami --force` rolls the members onto it, one at a time",
		e.Arch, e.Current, strings.Join(e.Stacks, ", "), e.Running, e.File)
}

// pins are what a stack's instances are pinned to: the AMI, the SSM parameter it came from
// (which names the architecture) and, on a core member, the host agent's SHA-256.
type pins struct{ ssm, ami, agent string }

// livePins reads a live stack's pins. A stack made before the pin had ImageId as an SSM-typed
// parameter (its value the SSM path, its resolved value the AMI); one with an empty ImageId
// runs what its ImageSSMParameter resolved to.
func livePins(info *engine.StackInfo) pins {
	p := pins{ssm: info.Parameters[stack.ParamImageSSMParameter], ami: info.Parameters[stack.ParamImageID], agent: info.Parameters[stack.ParamHostAgentSHA256]}
	switch {
	case strings.HasPrefix(p.ami, "/"):
		p.ssm, p.ami = p.ami, info.Resolved[stack.ParamImageID]
	case p.ami == "":
		p.ami = info.Resolved[stack.ParamImageSSMParameter]
	}
	if !amiRe.MatchString(p.ami) {
		p.ami = ""
	}
	if !sha256Re.MatchString(p.agent) {
		p.agent = ""
	}
	return p
}

// replacements keeps each live member's and the replicas' pins (the AMI, a member's host
// agent), so an update never replaces instances because AWS published a newer AMI or a new
// neo4jctl release brought a new agent; RefreshAMI takes the current ones (as rendered), and
// so does a change of architecture (the old AMI cannot boot the new instance type). It returns,
// per stack, what replaces its instances, in words: those moves and a core member's new
// instance type; each is also a note in the diff.
func (u *apply) replacements(ctx context.Context, p *UpdatePlan, live map[string]*engine.StackInfo) (map[string][]string, error) {
	out := map[string][]string{}
	newer := map[string]*NewerAMIAvailable{}
	for i, s := range p.stacks {
		info := live[s.Name]
		if info == nil || (s.Kind != naming.KindCore && s.Kind != naming.KindReplicas) {
			continue
		}
		params, why := u.keepPins(s, livePins(info), newer)
		p.stacks[i].Parameters = params
		if s.Kind == naming.KindCore {
			prev, err := u.Stacks.Template(ctx, s.Name)
			if err != nil {
				return nil, err
			}
			if was, now := stack.InstanceType(prev), stack.InstanceType(s.Template); was != "" && was != now {
				why = append([]string{fmt.Sprintf("instance type %s → %s", was, now)}, why...)
			}
		}
		for _, w := range why {
			p.Notes[s.Name] = append(p.Notes[s.Name], w+": the rolling update replaces the instance")
		}
		out[s.Name] = why
	}
	for _, arch := range []string{"arm64", "amd64"} {
		if ev := newer[arch]; ev != nil {
			u.emit(*ev)
		}
	}
	return out, nil
}

// keepPins returns the stack's parameters with its live pins kept (unless refreshed or the
// architecture changed), and the moves, in words.
func (u *apply) keepPins(s stack.Stack, was pins, newer map[string]*NewerAMIAvailable) (map[string]string, []string) {
	params := maps.Clone(s.Parameters)
	now := pins{ssm: params[stack.ParamImageSSMParameter], ami: params[stack.ParamImageID], agent: params[stack.ParamHostAgentSHA256]}
	keep, cause := !u.refreshAMI && was.ssm == now.ssm, "--refresh-ami"
	if was.ssm != now.ssm {
		cause = "the instance type's architecture changed"
	}
	if keep && was.ami != "" {
		params[stack.ParamImageID] = was.ami
		if now.ami != "" && now.ami != was.ami {
			arch := archOfAMIParameter(now.ssm)
			if newer[arch] == nil {
				newer[arch] = &NewerAMIAvailable{Arch: arch, Running: was.ami, Current: now.ami, File: u.file}
			}
			newer[arch].Stacks = append(newer[arch].Stacks, s.Name)
		}
	}
	if keep && s.Kind == naming.KindCore && was.agent != "" {
		params[stack.ParamHostAgentSHA256] = was.agent
	}
	var why []string
	if got := params[stack.ParamImageID]; was.ami != "" && got != was.ami {
		why = append(why, fmt.Sprintf("AMI %s → %s (%s)", was.ami, got, cause))
	}
	if got := params[stack.ParamHostAgentSHA256]; s.Kind == naming.KindCore && was.agent != "" && got != was.agent {
		why = append(why, fmt.Sprintf("host agent %.12s → %.12s (%s)", was.agent, got, cause))
	}
	return params, why
}

func archOfAMIParameter(path string) string {
	if strings.Contains(path, "/arm64/") {
		return "arm64"
	}
	return "amd64"
}
