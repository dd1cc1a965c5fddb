package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// basicAuth puts the in-process registry behind HTTP basic auth, as ECR is.
func basicAuth(user, pass string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// syntheticBase is a small stand-in for neo4j:<v>-enterprise: one layer with the official
// entrypoint path, the official image's env, entrypoint and cmd.
func syntheticBase(t *testing.T, arch string, mt types.MediaType) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("#!/bin/bash\nexec neo4j console\n")
	tw.WriteHeader(&tar.Header{Name: "startup/docker-entrypoint.sh", Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write(body)
	tw.Close()
	b := buf.Bytes()
	layerType := types.DockerLayer
	if mt == types.OCIManifestSchema1 {
		layerType = types.OCILayer
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, tarball.WithMediaType(layerType))
	if err != nil {
		t.Fatal(err)
	}
	img := mutate.MediaType(empty.Image, mt)
	if mt == types.OCIManifestSchema1 {
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	}
	img, err = mutate.AppendLayers(img, l)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Env = []string{"PATH=/var/lib/neo4j/bin:/usr/bin", "NEO4J_HOME=/var/lib/neo4j", "NEO4J_EDITION=enterprise"}
	cf.Config.Entrypoint = []string{"tini", "-g", "--", "/startup/docker-entrypoint.sh"}
	cf.Config.Cmd = []string{"neo4j"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func agentFor(arch string) ([]byte, error) { return []byte("fake-agent-for-" + arch), nil }

func TestPushToInProcessRegistry(t *testing.T) {
	tests := []struct {
		name      string
		index     bool
		mt        types.MediaType
		wantPlats []string
	}{
		{"multi-arch OCI index", true, types.OCIManifestSchema1, []string{"linux/amd64", "linux/arm64"}},
		{"single docker image", false, types.DockerManifestSchema2, []string{"linux/arm64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			token := rand.Text() // generated per run: no credential lives in the repo
			srv := httptest.NewServer(basicAuth("AWS", token, registry.New(registry.Logger(nilLogger()))))
			defer srv.Close()
			host := strings.TrimPrefix(srv.URL, "http://")
			creds := authn.FromConfig(authn.AuthConfig{Username: "AWS", Password: token})

			baseRef, _ := name.ParseReference(host+"/library/neo4j:5.26.30-enterprise", name.Insecure)
			var baseLayers int
			if tt.index {
				idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
				for _, arch := range []string{"amd64", "arm64"} {
					idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: syntheticBase(t, arch, tt.mt),
						Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
				}
				// An attestation-like entry that must be skipped.
				idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: syntheticBase(t, "amd64", tt.mt),
					Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}})
				if err := remote.WriteIndex(baseRef, idx, remote.WithAuth(creds)); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := remote.Write(baseRef, syntheticBase(t, "arm64", tt.mt), remote.WithAuth(creds)); err != nil {
					t.Fatal(err)
				}
			}
			baseLayers = 1

			var log bytes.Buffer
			res, err := Push(ctx, Options{
				Repository: host + "/neo4jctl/neo4j", Neo4jVersion: "5.26.30", Base: baseRef.String(),
				Agent: agentFor, AgentSHA256: strings.Repeat("ab", 32), Insecure: true,
				BaseAuth: creds, TargetAuth: creds, Log: &log,
			})
			if err != nil {
				t.Fatalf("push: %v\n%s", err, log.String())
			}
			if res.Reference != host+"/neo4jctl/neo4j:5.26.30-enterprise-neo4jctl-abababababab" || strings.Join(res.Platforms, ",") != strings.Join(tt.wantPlats, ",") {
				t.Fatalf("result %+v", res)
			}

			ref, _ := name.ParseReference(res.Reference, name.Insecure)
			if _, err := remote.Get(ref); err == nil {
				t.Fatal("the registry let an anonymous pull through; the auth wrapper is broken")
			}
			desc, err := remote.Get(ref, remote.WithAuth(creds))
			if err != nil {
				t.Fatal(err)
			}
			if desc.Digest.String() != res.Digest {
				t.Errorf("digest %s, pushed %s", desc.Digest, res.Digest)
			}
			var imgs map[string]v1.Image
			if tt.index {
				idx, _ := desc.ImageIndex()
				im, _ := idx.IndexManifest()
				imgs = map[string]v1.Image{}
				for _, m := range im.Manifests {
					img, _ := idx.Image(m.Digest)
					imgs[m.Platform.Architecture] = img
				}
			} else {
				img, _ := desc.Image()
				imgs = map[string]v1.Image{"arm64": img}
			}
			if len(imgs) != len(tt.wantPlats) {
				t.Fatalf("pushed %d images, want %d", len(imgs), len(tt.wantPlats))
			}
			for arch, img := range imgs {
				checkImage(t, img, arch, baseLayers, tt.mt)
			}
		})
	}
}

func checkImage(t *testing.T, img v1.Image, arch string, baseLayers int, mt types.MediaType) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != arch {
		t.Errorf("%s: config architecture %s", arch, cf.Architecture)
	}
	if strings.Join(cf.Config.Entrypoint, " ") != "tini -g -- "+naming.AgentPath+" entrypoint" || strings.Join(cf.Config.Cmd, " ") != "neo4j" {
		t.Errorf("%s: entrypoint %q cmd %q", arch, cf.Config.Entrypoint, cf.Config.Cmd)
	}
	if !contains(cf.Config.Env, "NEO4J_HOME=/var/lib/neo4j") || !contains(cf.Config.Env, "NEO4J_EDITION=enterprise") {
		t.Errorf("%s: base env lost: %q", arch, cf.Config.Env)
	}
	if cf.Config.Labels[LabelAgentSHA256] != strings.Repeat("ab", 32) {
		t.Errorf("%s: labels %v", arch, cf.Config.Labels)
	}
	if got, _ := img.MediaType(); got != mt {
		t.Errorf("%s: manifest media type %s, want %s", arch, got, mt)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != baseLayers+1 {
		t.Fatalf("%s: %d layers, want %d", arch, len(layers), baseLayers+1)
	}
	rc, err := layers[len(layers)-1].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	found := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if "/"+h.Name == naming.AgentPath {
			b, _ := io.ReadAll(tr)
			if string(b) != "fake-agent-for-"+arch || h.Mode&0o111 == 0 {
				t.Errorf("%s: agent %q mode %o", arch, b, h.Mode)
			}
			found = true
		}
	}
	if !found {
		t.Errorf("%s: no %s in the last layer", arch, naming.AgentPath)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func nilLogger() *log.Logger { return log.New(io.Discard, "", 0) }

type fakeECR struct {
	created []string
	exists  bool
	token   string
}

func (f *fakeECR) GetAuthorizationToken(context.Context, *ecr.GetAuthorizationTokenInput, ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error) {
	tok := base64.StdEncoding.EncodeToString([]byte("AWS:" + f.token))
	return &ecr.GetAuthorizationTokenOutput{AuthorizationData: []ecrtypes.AuthorizationData{{AuthorizationToken: aws.String(tok)}}}, nil
}

func (f *fakeECR) CreateRepository(_ context.Context, in *ecr.CreateRepositoryInput, _ ...func(*ecr.Options)) (*ecr.CreateRepositoryOutput, error) {
	if f.exists {
		return nil, &ecrtypes.RepositoryAlreadyExistsException{Message: aws.String("exists")}
	}
	f.created = append(f.created, aws.ToString(in.RepositoryName))
	return &ecr.CreateRepositoryOutput{}, nil
}

func TestECR(t *testing.T) {
	tests := []struct {
		host   string
		region string
		ok     bool
	}{
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com", "eu-west-1", true},
		{"123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", "us-east-1", true},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "cn-north-1", true},
		{"localhost:5000", "", false},
		{"docker.io", "", false},
	}
	for _, tt := range tests {
		if r, ok := IsECR(tt.host); r != tt.region || ok != tt.ok {
			t.Errorf("IsECR(%s) = %s %v", tt.host, r, ok)
		}
	}
	f := &fakeECR{token: rand.Text()}
	a, err := ECRAuth(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := a.Authorization()
	if cfg.Username != "AWS" || cfg.Password != f.token {
		t.Errorf("auth %+v", cfg)
	}
	if err := CreateRepository(context.Background(), f, "neo4jctl/neo4j"); err != nil || len(f.created) != 1 {
		t.Fatal(err, f.created)
	}
	f.exists = true
	if err := CreateRepository(context.Background(), f, "neo4jctl/neo4j"); err != nil {
		t.Fatalf("existing repository: %v", err)
	}
	// An ECR target without a client is a clear error.
	_, err = Push(context.Background(), Options{Repository: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/neo4jctl/neo4j",
		Neo4jVersion: "5.26.30", Tag: "x", Agent: agentFor})
	if err == nil || !strings.Contains(err.Error(), "no ECR client") {
		t.Fatalf("err %v", err)
	}
}

func TestAgentLayerReproducible(t *testing.T) {
	a, _ := AgentLayer([]byte("x"), types.DockerLayer)
	b, _ := AgentLayer([]byte("x"), types.DockerLayer)
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Fatalf("layer digests differ: %s %s", da, db)
	}
}

func TestEntrypointFor(t *testing.T) {
	for _, tt := range []struct{ base, want []string }{
		{[]string{"tini", "-g", "--", "/startup/docker-entrypoint.sh"}, []string{"tini", "-g", "--", naming.AgentPath, "entrypoint"}},
		{[]string{"/sbin/tini", "-s", "-g", "--", "/startup/docker-entrypoint.sh"}, []string{"/sbin/tini", "-s", "-g", "--", naming.AgentPath, "entrypoint"}},
		{[]string{"/startup/docker-entrypoint.sh"}, []string{naming.AgentPath, "entrypoint"}},
		{nil, []string{naming.AgentPath, "entrypoint"}},
	} {
		if got := EntrypointFor(tt.base); strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("EntrypointFor(%q) = %q, want %q", tt.base, got, tt.want)
		}
	}
}
