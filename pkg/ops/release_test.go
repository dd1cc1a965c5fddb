package ops

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

func TestReleaseInputs(t *testing.T) {
	missing := Release{Version: "v1", Bundle: func(arch string) ([]byte, string, error) {
		if arch == "arm64" {
			return nil, "", errors.New("agent bundle not built")
		}
		return fakeBundle(arch)
	}}
	in := missing.OfflineInputs()
	if in.Neo4jctlVersion != "v1" || in.AgentCodeKeys["amd64"] != naming.AgentKey("amd64", strings.Repeat("a", 64)) || in.AgentCodeKeys["arm64"] != "" {
		t.Fatalf("offline inputs render what is built: %+v", in)
	}
	if _, _, err := missing.bundles(); err == nil || !strings.Contains(err.Error(), "agent bundle: agent bundle not built") {
		t.Fatalf("create needs every bundle: %v", err)
	}
	if got := (Release{}).archs(); len(got) != len(naming.Archs) {
		t.Fatalf("default architectures %v", got)
	}
}

func TestUploadNeedsTheSharedStacksBucket(t *testing.T) {
	f := newFakeEngine()
	f.put("neo4jctl-c-shared", "c", naming.KindShared, "", engine.StatusCreateComplete, nil)
	_, zips, _ := testRelease().bundles()
	err := (&Cluster{Name: "c", Stacks: f}).uploadBundles(context.Background(), newFakeS3(), &rendered{keys: map[string]string{"amd64": "k"}, zips: zips})
	if err == nil || err.Error() != "the shared stack of c has no BucketName output: cannot upload the agent bundle" {
		t.Fatalf("got %v", err)
	}
}
