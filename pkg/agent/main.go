// Package agent is the logic of cmd/neo4jctl-agent: it picks the Lambda handler or the
// in-container helper subcommand and runs it.
package agent

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// Env reads environment variables; tests pass a map.
type Env func(key string) string

// OSEnv reads the process environment.
func OSEnv() Env { return os.Getenv }

// MapEnv is an Env over a map.
func MapEnv(m map[string]string) Env { return func(k string) string { return m[k] } }

const usage = `neo4jctl-agent: the neo4jctl agent (Lambda handlers and in-container helper)

Usage:
  neo4jctl-agent entrypoint [ARGS...]   check the volume, compute addresses and auth, start the worker, exec Neo4j
  neo4jctl-agent worker [--detach]      post-start worker: started marker, users, restore seeding, disk metric, logs
  neo4jctl-agent health                 liveness: setup or start-up in progress, or Neo4j answers locally
  neo4jctl-agent backup [--type=T]      neo4j-admin database backup (T: FULL, DIFF, AUTO) under the backup lock, manifests, retention, one JSON line
  neo4jctl-agent verify                 neo4j-admin database check of the backups NEO4JCTL_VERIFY_TARGET names, verdicts into the manifests, one JSON line
  neo4jctl-agent attach-volume --cluster C --member core-N --volume vol-... --log-group G
                                        on a core member's instance: attach, format if blank, mount and mark its volume
  neo4jctl-agent version                print the agent version

As a Lambda (AWS_LAMBDA_RUNTIME_API set), NEO4JCTL_HANDLER selects dns-sync | operations | cleanup | rotation.
`

// Main runs the agent with args (without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) int {
	if env("AWS_LAMBDA_RUNTIME_API") != "" && (len(args) == 0 || args[0] == "lambda") {
		if err := runLambda(ctx, env, stderr); err != nil {
			fmt.Fprintln(stderr, "neo4jctl-agent:", err)
			return 1
		}
		return 0
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "entrypoint":
		err = Entrypoint(ctx, EntrypointOptions{Env: env, Args: args[1:], Stdout: stdout, Stderr: stderr})
	case "worker":
		err = runWorkerCommand(ctx, args[1:], env, stderr)
	case "attach-volume":
		err = runAttachVolume(ctx, args[1:], stderr)
	case "health":
		err = Health(ctx, HealthOptions{Env: env})
	case "backup":
		typ, err := backupTypeFlag(args[1:])
		if err != nil {
			fmt.Fprintln(stderr, "neo4jctl-agent backup:", err)
			return 2
		}
		return Backup(ctx, BackupOptions{Env: env, Type: typ, Stdout: stdout, Stderr: stderr})
	case "verify":
		if len(args) > 1 {
			fmt.Fprintf(stderr, "neo4jctl-agent verify: unknown argument %q (the target is %s)\n", args[1], naming.EnvVerifyTarget)
			return 2
		}
		return Verify(ctx, VerifyOptions{Env: env, Stdout: stdout, Stderr: stderr})
	case "version":
		fmt.Fprintln(stdout, Version())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "neo4jctl-agent: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "neo4jctl-agent "+args[0]+":", strings.TrimSpace(err.Error()))
		return 1
	}
	return 0
}

// backupTypeFlag reads --type=T or --type T.
func backupTypeFlag(args []string) (string, error) {
	typ := ""
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case strings.HasPrefix(a, "--type="):
			typ = strings.TrimPrefix(a, "--type=")
		case a == "--type" && i+1 < len(args):
			typ = args[i+1]
			i++
		default:
			return "", fmt.Errorf("unknown argument %q (want --type=FULL|DIFF|AUTO)", a)
		}
	}
	return typ, nil
}
