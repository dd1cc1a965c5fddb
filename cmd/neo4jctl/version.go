package main

import (
	"runtime"
	"runtime/debug"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/lambdas/agentbundle"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

// version is set by the release build (-ldflags "-X main.version=...").
var version = "dev"

type versionInfo struct {
	Version      string `json:"version"`
	Commit       string `json:"commit,omitempty"`
	GoVersion    string `json:"goVersion"`
	Platform     string `json:"platform"`
	ConfigAPI    string `json:"configAPI"`
	DefaultNeo4j string `json:"defaultNeo4j"`
	// Agent is the SHA-256 of each embedded agent bundle: the S3 key the Lambdas run from.
	Agent map[string]string `json:"agent"`
}

func newVersionCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:     "version",
		Short:   "Print neo4jctl's version",
		Example: "  neo4jctl version\n  neo4jctl version -o json | jq -r .agent.arm64",
		Args:    noArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := printer.CheckFormat(output); err != nil {
				return usageError{err}
			}
			v := versionInfo{
				Version:      version,
				GoVersion:    runtime.Version(),
				Platform:     runtime.GOOS + "/" + runtime.GOARCH,
				ConfigAPI:    cluster.APIVersion,
				DefaultNeo4j: cluster.DefaultVersion,
			}
			v.Agent = map[string]string{}
			for _, arch := range naming.Archs {
				if sum, err := agentbundle.SHA256(arch); err == nil {
					v.Agent[arch] = sum
				} else {
					v.Agent[arch] = "not built (make agent)"
				}
			}
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						v.Commit = s.Value
					}
				}
			}
			return printer.Write(g.out, output, v, func(w *tabwriter.Writer) {
				row := func(k, val string) {
					if val != "" {
						w.Write([]byte(k + "\t" + val + "\n"))
					}
				}
				row("neo4jctl", v.Version)
				row("commit", v.Commit)
				row("go", v.GoVersion)
				row("platform", v.Platform)
				row("config API", v.ConfigAPI)
				row("default Neo4j", v.DefaultNeo4j)
				row("agent amd64", v.Agent["amd64"])
				row("agent arm64", v.Agent["arm64"])
			})
		},
	}
	c.Flags().StringVarP(&output, "output", "o", printer.Table, "table, json or yaml")
	return c
}
