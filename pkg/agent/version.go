package agent

import (
	"runtime"
	"runtime/debug"
)

// AgentVersion is bumped by hand when the agent's behaviour changes in a way worth showing;
// the bundle's SHA-256 identifies the exact build.
const AgentVersion = "0.1.0"

// Version is the agent version and the Go toolchain that built it.
func Version() string {
	v := "neo4jctl-agent " + AgentVersion + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v += " module " + bi.Main.Version
	}
	return v
}
