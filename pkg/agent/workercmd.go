package agent

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// RunWorker is the `worker` subcommand: the post-start worker with the AWS clients of the
// task role and admin Cypher as neo4j over the local server.
func RunWorker(ctx context.Context, env Env, stderr io.Writer) error {
	c, err := WorkerConfigFromEnv(env)
	if err != nil {
		return err
	}
	w := &Worker{Config: c, Run: RunStateFromEnv(env), Stderr: stderr,
		Probe:      func(ctx context.Context) error { return ProbePorts(ctx, HealthOptions{}) },
		LookupHost: net.DefaultResolver.LookupHost,
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		w.logf("no AWS configuration (%v): metrics, logs and restore seeding are off", err)
	} else {
		w.Objects = S3Store{S3: s3.NewFromConfig(cfg)}
		w.Metrics = CloudWatchMetrics{CW: cloudwatch.NewFromConfig(cfg)}
		w.Logs = CloudWatchLogs{Logs: cloudwatchlogs.NewFromConfig(cfg)}
		w.Services = ECSServices{ECS: ecs.NewFromConfig(cfg)}
		if c.AdminSecretARN != "" {
			w.Passwords = &CurrentPasswords{Secrets: secretsmanager.NewFromConfig(cfg), AdminARN: c.AdminSecretARN, UserARNs: c.UserSecretARNs}
		}
	}
	if c.First {
		if c.AdminPassword == "" {
			return fmt.Errorf("%s is not set", naming.EnvAdminPassword)
		}
		w.Connect = func(ctx context.Context) (Admin, error) {
			pw := c.AdminPassword
			if w.Passwords != nil { // rotated since the task started, maybe
				p, err := w.Passwords.Admin(ctx)
				if err != nil {
					return nil, err
				}
				pw = p
			}
			return neo4jadmin.New(c.BoltURI, "neo4j", pw, neo4jadmin.Options{UserAgent: "neo4jctl-agent/" + AgentVersion})
		}
	}
	w.logf("started for %s (%s, first core: %v)", c.Member, c.Role, c.First)
	return w.RunForever(ctx)
}

func runWorkerCommand(ctx context.Context, args []string, env Env, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "--detach" {
		return spawnWorker(os.Environ())
	}
	return RunWorker(ctx, env, stderr)
}
