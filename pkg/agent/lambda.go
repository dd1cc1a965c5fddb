package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"

	"github.com/neo4jctl/neo4jctl/pkg/lambdas/admin"
	"github.com/neo4jctl/neo4jctl/pkg/lambdas/cleanup"
	"github.com/neo4jctl/neo4jctl/pkg/lambdas/dnssync"
	"github.com/neo4jctl/neo4jctl/pkg/lambdas/rotation"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// LambdaHandler builds the handler named by NEO4JCTL_HANDLER, ready for lambda.Start.
func LambdaHandler(ctx context.Context, env Env, log *slog.Logger) (any, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	switch h := env(naming.EnvHandler); h {
	case naming.HandlerDNSSync:
		c, err := dnssync.ConfigFromEnv(env)
		if err != nil {
			return nil, err
		}
		s := &dnssync.Syncer{ECS: ecs.NewFromConfig(cfg), CloudMap: servicediscovery.NewFromConfig(cfg), Config: c, Log: log}
		return s.Handle, nil
	case naming.HandlerAdmin:
		c, err := admin.ConfigFromEnv(env)
		if err != nil {
			return nil, err
		}
		o := &admin.Handler{Secrets: secretsmanager.NewFromConfig(cfg), Config: c, Log: log, Agent: Version(), Answers: admin.NewAnswers()}
		return o.Handle, nil
	case naming.HandlerCleanup:
		cl := &cleanup.Handler{CloudMap: servicediscovery.NewFromConfig(cfg), HTTP: &http.Client{Timeout: 30 * time.Second}, Log: log}
		return cl.Handle, nil
	case naming.HandlerRotation:
		c, err := rotation.ConfigFromEnv(env)
		if err != nil {
			return nil, err
		}
		r := &rotation.Handler{Secrets: secretsmanager.NewFromConfig(cfg), Neo4j: rotation.Bolt{URI: c.BoltURI}, Config: c, Log: log}
		return r.Handle, nil
	default:
		return nil, fmt.Errorf("%s=%q: want %s, %s, %s or %s", naming.EnvHandler, h,
			naming.HandlerDNSSync, naming.HandlerAdmin, naming.HandlerCleanup, naming.HandlerRotation)
	}
}

func runLambda(ctx context.Context, env Env, stderr io.Writer) error {
	log := slog.New(slog.NewJSONHandler(stderr, nil)).With("handler", env(naming.EnvHandler), "agent", Version())
	h, err := LambdaHandler(ctx, env, log)
	if err != nil {
		return err
	}
	lambda.StartWithOptions(h, lambda.WithContext(ctx))
	return nil
}
