package main

import (
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/neo4jctl/neo4jctl/pkg/image"
	"github.com/neo4jctl/neo4jctl/pkg/lambdas/agentbundle"
)

// runImage runs `neo4jctl image ...` through the real command tree.
func runImage(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return cli(t, append([]string{"image"}, args...)...)
}

func TestImagePushToLocalRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	base := host + "/library/neo4j:5.26.30-enterprise"
	ref, _ := name.ParseReference(base, name.Insecure)
	img, _ := mutate.ConfigFile(empty.Image, nil)
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Env = []string{"NEO4J_HOME=/var/lib/neo4j"}
	img, _ = mutate.ConfigFile(empty.Image, cf)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}

	if _, _, berr := agentbundle.Bundle("amd64"); errors.Is(berr, agentbundle.ErrNotBuilt) {
		t.Fatal("the agent bundle is not built: run make agent (make test does)")
	}
	code, out, stderr := runImage(t, "push", "--repository", host+"/neo4jctl/neo4j", "--base", base, "--insecure", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res image.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	pushed, _ := name.ParseReference(res.Reference, name.Insecure)
	got, err := remote.Image(pushed)
	if err != nil {
		t.Fatal(err)
	}
	gcf, _ := got.ConfigFile()
	if !strings.HasSuffix(strings.Join(gcf.Config.Entrypoint, " "), "/neo4jctl/neo4jctl-agent entrypoint") || gcf.Config.Env[0] != "NEO4J_HOME=/var/lib/neo4j" {
		t.Fatalf("config %+v", gcf.Config)
	}
}

func TestImagePushUsage(t *testing.T) {
	if code, _, stderr := runImage(t, "push"); code != 2 || !strings.Contains(stderr, "--repository") {
		t.Fatalf("missing --repository: exit %d, %s", code, stderr)
	}
}

// image push refuses the Neo4j versions a cluster.yaml would refuse, in the same words, before
// any registry or AWS call.
func TestImagePushRefusesWhatTheConfigRefuses(t *testing.T) {
	calls := noAWS(t)
	for _, v := range []string{"4.4.30", "5.20.0", "2025.13", "5.x"} {
		cfg := writeConfig(t, strings.Replace(goodConfig, `neo4j: {acceptLicense: "yes"}`, `neo4j: {acceptLicense: "yes", version: "`+v+`"}`, 1))
		code, _, configErr := cli(t, "create", "cluster", "-f", cfg, "--dry-run")
		if code != exitUsage {
			t.Fatalf("config with %s: exit %d %s", v, code, configErr)
		}
		code, stdout, stderr := runImage(t, "push", "--repository", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/neo4jctl/neo4j", "--neo4j-version", v)
		if code != exitUsage || stdout != "" {
			t.Fatalf("push %s: exit %d\n%s", v, code, stderr)
		}
		// the config's message after its field and line is the push's after its flag
		_, msg, _ := strings.Cut(configErr, "neo4j.version ("+cfg+":4): ")
		msg, _, _ = strings.Cut(strings.TrimSpace(msg), ", quoted")
		if msg == "" || !strings.Contains(stderr, "Error: --neo4j-version: "+msg) {
			t.Errorf("push %s says\n%s\nthe config says\n%s", v, stderr, configErr)
		}
	}
	if calls.Load() != 0 {
		t.Fatalf("a refused push made %d AWS calls", calls.Load())
	}
}
