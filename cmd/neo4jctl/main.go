// Command neo4jctl creates and operates Neo4j Enterprise clusters on AWS ECS from one
// cluster.yaml. This package only parses flags, calls pkg/ and prints; see newRootCommand.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], streams{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stop()
	os.Exit(code)
}
