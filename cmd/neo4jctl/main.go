// Command neo4jctl creates and operates Neo4j Enterprise clusters on AWS ECS from one
// cluster.yaml. This package only parses flags, calls pkg/ and prints; see newRootCommand.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// SIGTERM (a CI runner or a container stopping) ends a run like Ctrl-C: waits stop and
	// say how to resume
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], streams{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stop()
	os.Exit(code)
}
