// Command neo4jctl-agent is the one Linux program neo4jctl puts into AWS: the Lambda handlers
// (when AWS_LAMBDA_RUNTIME_API is set; NEO4JCTL_HANDLER picks dns-sync, operations or cleanup)
// and the in-container helper (entrypoint, health, backup). Logic lives in pkg/agent.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/neo4jctl/neo4jctl/pkg/agent"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := agent.Main(ctx, os.Args[1:], agent.OSEnv(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
