// Package image builds and pushes the cluster's Neo4j image without a Docker daemon: the
// official neo4j:<version>-enterprise image plus one layer holding the agent at
// /neo4jctl/neo4jctl-agent, with the agent's entrypoint in front of the official one.
// image/Dockerfile builds the same image with Docker.
package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/neo4jctl/neo4jctl/pkg/lambdas/agentbundle"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// ECR is the part of the ECR API the push uses.
type ECR interface {
	GetAuthorizationToken(ctx context.Context, in *ecr.GetAuthorizationTokenInput, opts ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error)
	CreateRepository(ctx context.Context, in *ecr.CreateRepositoryInput, opts ...func(*ecr.Options)) (*ecr.CreateRepositoryOutput, error)
}

// Options say what to build and where to push it.
type Options struct {
	// Repository is the target without tag, e.g.
	// 123456789012.dkr.ecr.eu-west-1.amazonaws.com/neo4jctl/neo4j.
	Repository string
	// Neo4jVersion is the official image's version, e.g. 5.26.30 or 2025.10.1 (required).
	Neo4jVersion string
	// Tag of the pushed image (default Tag(Neo4jVersion, agent amd64 bundle SHA-256)).
	Tag string
	// Base is the image to extend (default docker.io/library/neo4j:<Neo4jVersion>-enterprise).
	Base string
	// Agent returns the agent executable for a GOARCH (default agentbundle.Binary).
	Agent func(arch string) ([]byte, error)
	// AgentSHA256 goes into the default tag and a label (default: the amd64 bundle's).
	AgentSHA256 string
	// ECR authenticates to and creates ECR repositories; needed when Repository is in ECR.
	ECR ECR
	// CreateRepository creates the ECR repository if it does not exist.
	CreateRepository bool
	// BaseAuth and TargetAuth override the credentials (default anonymous for the base,
	// ECR's token for an ECR target, anonymous otherwise).
	BaseAuth, TargetAuth authn.Authenticator
	// Insecure allows plain-HTTP registries (a local test registry).
	Insecure bool
	// Transport for registry traffic (default remote.DefaultTransport).
	Transport http.RoundTripper
	// Log receives progress lines (default discarded).
	Log io.Writer
}

// Result says what was pushed.
type Result struct {
	Reference string   `json:"reference"` // repository:tag
	Digest    string   `json:"digest"`    // of the manifest or index pushed
	Platforms []string `json:"platforms"` // linux/amd64, linux/arm64
}

// Tag is the default tag: the Neo4j version and the agent build, so a new agent gives a new
// tag and task definitions change only when the image does.
func Tag(neo4jVersion, agentSHA256 string) string {
	return naming.ImageTag(neo4jVersion, agentSHA256)
}

// DefaultBase is the official image of a version.
func DefaultBase(neo4jVersion string) string {
	return "docker.io/library/neo4j:" + neo4jVersion + "-enterprise"
}

// Entrypoint and Cmd of the pushed image. The base image's init (the official image runs
// `tini -g --` in front of its entrypoint) is kept in front of Entrypoint: see
// EntrypointFor.
var (
	Entrypoint = []string{naming.AgentPath, "entrypoint"}
	Cmd        = []string{"neo4j"}
)

// EntrypointFor is the agent's entrypoint behind the base image's init: everything of the
// base entrypoint before its script (tini -g --, which reaps zombies and forwards SIGTERM
// to the whole process group, so the worker and Neo4j both stop), then Entrypoint. A base
// whose entrypoint has no init gets the agent's entrypoint alone.
func EntrypointFor(base []string) []string {
	var init []string
	for i, a := range base {
		if a == "--" {
			init = append([]string(nil), base[:i+1]...)
			break
		}
	}
	if init == nil && len(base) > 0 && strings.HasSuffix(base[0], "tini") {
		init = append(append([]string(nil), base[0]), "--")
	}
	return append(init, Entrypoint...)
}

// LabelAgentSHA256 carries the agent bundle's SHA-256.
const LabelAgentSHA256 = "io.neo4jctl.agent.sha256"

// layerTime is the fixed mtime of the agent layer's files (reproducible layer digest).
var layerTime = time.Unix(0, 0).UTC()

var ecrHost = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// IsECR reports whether a registry host is Amazon ECR, and its region.
func IsECR(host string) (region string, ok bool) {
	m := ecrHost.FindStringSubmatch(host)
	if m == nil {
		return "", false
	}
	return m[3], true
}

// Push builds the image for every linux/amd64 and linux/arm64 platform of the base and
// pushes it (an index when the base is one).
func Push(ctx context.Context, o Options) (*Result, error) {
	if o.Repository == "" || o.Neo4jVersion == "" {
		return nil, fmt.Errorf("image push: repository and Neo4j version are required")
	}
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", a...)
		}
	}
	if o.Agent == nil {
		o.Agent = agentbundle.Binary
	}
	if o.AgentSHA256 == "" {
		_, sha, err := agentbundle.Bundle(naming.ImageTagArch)
		if err != nil && o.Tag == "" {
			return nil, err
		}
		o.AgentSHA256 = sha
	}
	if o.Tag == "" {
		o.Tag = Tag(o.Neo4jVersion, o.AgentSHA256)
	}
	if o.Base == "" {
		o.Base = DefaultBase(o.Neo4jVersion)
	}
	var nameOpts []name.Option
	if o.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	baseRef, err := name.ParseReference(o.Base, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("image push: base image %q: %w", o.Base, err)
	}
	target, err := name.NewTag(o.Repository+":"+o.Tag, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("image push: target %q: %w", o.Repository+":"+o.Tag, err)
	}

	targetAuth := o.TargetAuth
	if region, ok := IsECR(target.RegistryStr()); ok {
		if o.ECR == nil {
			return nil, fmt.Errorf("image push: %s is an ECR registry (%s) but no ECR client was given", target.RegistryStr(), region)
		}
		if o.CreateRepository {
			if err := CreateRepository(ctx, o.ECR, target.RepositoryStr()); err != nil {
				return nil, err
			}
		}
		if targetAuth == nil {
			if targetAuth, err = ECRAuth(ctx, o.ECR); err != nil {
				return nil, err
			}
		}
	} else if o.CreateRepository {
		logf("%s is not ECR: the registry creates repositories on push", target.RegistryStr())
	}
	if targetAuth == nil {
		targetAuth = authn.Anonymous
	}
	baseAuth := o.BaseAuth
	if baseAuth == nil {
		baseAuth = authn.Anonymous
	}
	common := []remote.Option{remote.WithContext(ctx)}
	if o.Transport != nil {
		common = append(common, remote.WithTransport(o.Transport))
	}

	logf("pulling %s", baseRef)
	desc, err := remote.Get(baseRef, append(common, remote.WithAuth(baseAuth))...)
	if err != nil {
		return nil, fmt.Errorf("image push: reading base image %s: %w", baseRef, err)
	}
	pushOpts := append(common, remote.WithAuth(targetAuth))
	res := &Result{Reference: target.String()}

	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("image push: reading index %s: %w", baseRef, err)
		}
		out, plats, err := extendIndex(idx, o, logf)
		if err != nil {
			return nil, err
		}
		logf("pushing %s (%s)", target, strings.Join(plats, ", "))
		if err := remote.WriteIndex(target, out, pushOpts...); err != nil {
			return nil, fmt.Errorf("image push: pushing %s: %w", target, err)
		}
		d, err := out.Digest()
		if err != nil {
			return nil, err
		}
		res.Digest, res.Platforms = d.String(), plats
		return res, nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("image push: reading image %s: %w", baseRef, err)
	}
	out, plat, err := extendImage(img, o)
	if err != nil {
		return nil, err
	}
	logf("pushing %s (%s)", target, plat)
	if err := remote.Write(target, out, pushOpts...); err != nil {
		return nil, fmt.Errorf("image push: pushing %s: %w", target, err)
	}
	d, err := out.Digest()
	if err != nil {
		return nil, err
	}
	res.Digest, res.Platforms = d.String(), []string{plat}
	return res, nil
}

func supported(p *v1.Platform) bool {
	return p != nil && p.OS == "linux" && (p.Architecture == "amd64" || p.Architecture == "arm64")
}

func extendIndex(idx v1.ImageIndex, o Options, logf func(string, ...any)) (v1.ImageIndex, []string, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, nil, fmt.Errorf("image push: reading index manifest: %w", err)
	}
	mt, err := idx.MediaType()
	if err != nil {
		return nil, nil, err
	}
	out := mutate.IndexMediaType(empty.Index, mt)
	var plats []string
	for _, m := range im.Manifests {
		if !supported(m.Platform) {
			logf("skipping %s platform %v", m.Digest, m.Platform)
			continue
		}
		img, err := idx.Image(m.Digest)
		if err != nil {
			return nil, nil, fmt.Errorf("image push: reading %s image: %w", m.Platform, err)
		}
		ext, plat, err := extendImage(img, o)
		if err != nil {
			return nil, nil, err
		}
		out = mutate.AppendManifests(out, mutate.IndexAddendum{Add: ext, Descriptor: v1.Descriptor{Platform: m.Platform}})
		plats = append(plats, plat)
	}
	if len(plats) == 0 {
		return nil, nil, fmt.Errorf("image push: the base index has no linux/amd64 or linux/arm64 image")
	}
	return out, plats, nil
}

func extendImage(img v1.Image, o Options) (v1.Image, string, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, "", fmt.Errorf("image push: reading image config: %w", err)
	}
	p := &v1.Platform{OS: cf.OS, Architecture: cf.Architecture}
	plat := p.OS + "/" + p.Architecture
	if !supported(p) {
		return nil, "", fmt.Errorf("image push: base image is %s; want linux/amd64 or linux/arm64", plat)
	}
	agent, err := o.Agent(p.Architecture)
	if err != nil {
		return nil, "", fmt.Errorf("image push: agent for %s: %w", plat, err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return nil, "", err
	}
	layerType := types.DockerLayer
	if mt == types.OCIManifestSchema1 {
		layerType = types.OCILayer
	}
	layer, err := AgentLayer(agent, layerType)
	if err != nil {
		return nil, "", err
	}
	out, err := mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: layerType,
		History:   v1.History{CreatedBy: "neo4jctl image push: agent at " + naming.AgentPath, Created: v1.Time{Time: layerTime}},
	})
	if err != nil {
		return nil, "", fmt.Errorf("image push: adding the agent layer: %w", err)
	}
	cfg := *cf.Config.DeepCopy()
	cfg.Entrypoint = EntrypointFor(cf.Config.Entrypoint)
	cfg.Cmd = append([]string(nil), Cmd...)
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	if o.AgentSHA256 != "" {
		cfg.Labels[LabelAgentSHA256] = o.AgentSHA256
	}
	out, err = mutate.Config(out, cfg)
	if err != nil {
		return nil, "", fmt.Errorf("image push: setting the entrypoint: %w", err)
	}
	return out, plat, nil
}

// AgentLayer is a reproducible layer with /neo4jctl/ and the agent at naming.AgentPath.
func AgentLayer(agent []byte, mt types.MediaType) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := strings.TrimPrefix(naming.AgentPath[:strings.LastIndex(naming.AgentPath, "/")+1], "/")
	hdrs := []*tar.Header{
		{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: layerTime, Format: tar.FormatPAX},
		{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(naming.AgentPath, "/"), Mode: 0o755, Size: int64(len(agent)), ModTime: layerTime, Format: tar.FormatPAX},
	}
	for i, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("building the agent layer: %w", err)
		}
		if i == 1 {
			if _, err := tw.Write(agent); err != nil {
				return nil, fmt.Errorf("building the agent layer: %w", err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("building the agent layer: %w", err)
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithMediaType(mt))
}

// ECRAuth turns an ECR authorization token into registry credentials.
func ECRAuth(ctx context.Context, c ECR) (authn.Authenticator, error) {
	out, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return nil, fmt.Errorf("image push: getting an ECR authorization token: %w", err)
	}
	if len(out.AuthorizationData) == 0 || out.AuthorizationData[0].AuthorizationToken == nil {
		return nil, fmt.Errorf("image push: ECR returned no authorization token")
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		return nil, fmt.Errorf("image push: decoding the ECR authorization token: %w", err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil, fmt.Errorf("image push: the ECR authorization token is not user:password")
	}
	return authn.FromConfig(authn.AuthConfig{Username: user, Password: pass}), nil
}

// CreateRepository creates an ECR repository (scan on push, encrypted); one that exists is
// fine.
func CreateRepository(ctx context.Context, c ECR, repo string) error {
	_, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:             aws.String(repo),
		ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true},
		EncryptionConfiguration:    &ecrtypes.EncryptionConfiguration{EncryptionType: ecrtypes.EncryptionTypeAes256},
		Tags:                       []ecrtypes.Tag{{Key: aws.String(naming.TagManagedBy), Value: aws.String("neo4jctl")}},
	})
	var exists *ecrtypes.RepositoryAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("image push: creating ECR repository %s: %w", repo, err)
	}
	return nil
}
