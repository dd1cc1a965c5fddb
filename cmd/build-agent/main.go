// Command build-agent makes the agent bundles that neo4jctl embeds:
//
//	go run ./cmd/build-agent            # writes pkg/lambdas/agentbundle/zips/agent-{amd64,arm64}.zip(.sha256)
//	go run ./cmd/build-agent -out DIR   # somewhere else
//
// Each zip holds one file, `bootstrap` (the provided.al2023 Lambda entry point), which is the
// cmd/neo4jctl-agent program built for linux/<arch>. The build is reproducible: the same
// source and Go toolchain give the same bytes (trimpath, no VCS stamp, no build id, fixed
// environment; fixed zip timestamp, order and permissions), so the bundle's SHA-256 changes
// only when the code does and an unchanged agent never updates a stack.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/neo4jctl/neo4jctl/internal/agentbuild"
)

func main() {
	out := flag.String("out", "", "output directory (default: pkg/lambdas/agentbundle/zips in the module)")
	archs := flag.String("arch", "amd64,arm64", "comma-separated GOARCH list")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	root, err := agentbuild.ModuleRoot(ctx)
	if err != nil {
		fail(err)
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join(root, "pkg", "lambdas", "agentbundle", "zips")
	}
	res, err := agentbuild.Build(ctx, agentbuild.Options{ModuleRoot: root, OutDir: dir, Archs: agentbuild.SplitArchs(*archs)})
	if err != nil {
		fail(err)
	}
	for _, r := range res {
		fmt.Fprintf(os.Stderr, "agent bundle %s: %s (%d bytes, sha256 %s)\n", r.Arch, r.Path, r.Size, r.SHA256)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "build agent bundle:", err)
	os.Exit(1)
}
