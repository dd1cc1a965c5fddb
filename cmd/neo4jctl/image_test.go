package main

import (
	"bytes"
	"context"
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
	"github.com/neo4jctl/neo4jctl/pkg/lambdas"
)

// runImage runs `neo4jctl image ...` in-process (the command is not yet wired into the root).
func runImage(t *testing.T, args ...string) (error, string) {
	t.Helper()
	var out, errb bytes.Buffer
	g := &globals{streams: streams{in: strings.NewReader(""), out: &out, err: &errb}, quiet: true}
	c := newImageCommand(g)
	c.SetArgs(args)
	c.SetOut(&out)
	c.SetErr(&errb)
	c.SilenceUsage, c.SilenceErrors = true, true
	err := c.ExecuteContext(context.Background())
	return err, out.String()
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

	err, out := runImage(t, "push", "--repository", host+"/neo4jctl/neo4j", "--base", base, "--insecure", "-o", "json")
	if _, _, berr := lambdas.Bundle("amd64"); errors.Is(berr, lambdas.ErrNotBuilt) {
		// A build without the bundle must say how to make it.
		if err == nil || !strings.Contains(err.Error(), "go run ./pkg/lambdas/build") {
			t.Fatalf("without a bundle: %v", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
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
	if strings.Join(gcf.Config.Entrypoint, " ") != "/neo4jctl/neo4jctl-agent entrypoint" || gcf.Config.Env[0] != "NEO4J_HOME=/var/lib/neo4j" {
		t.Fatalf("config %+v", gcf.Config)
	}
}

func TestImagePushUsage(t *testing.T) {
	if err, _ := runImage(t, "push"); err == nil || !errors.As(err, new(usageError)) {
		t.Fatalf("missing --repository: %v", err)
	}
}
