// Package admin is the admin Lambda (the "operations" handler of the operations stack): it runs one typed neo4jadmin.Request against
// the cluster from inside the VPC and answers a neo4jadmin.Response as JSON. It reads the
// admin password (and the managed users' passwords) from Secrets Manager on every call;
// none of them is ever in its environment, logs or answers.
//
// Every answer names the contract version the function speaks (see neo4jadmin.ContractVersion
// for the rule), and every invocation is short: the work stops after MaxWork (well under a
// minute) so the caller polls for anything longer.
//
// Idempotency: the SDK may retry an invocation whose answer it did not get. A Lambda keeps no
// durable state of its own: only memory of the warm execution environment, which a retry may
// or may not reach (a retry of an invocation still running lands on another environment). So
// duplicates are made harmless in two layers. First, the operations are naturally idempotent
// where Neo4j lets them be: each checks the target state first (DROP SERVER of a Dropped or
// gone server, DEALLOCATE of a Deallocating one, ENABLE of an Enabled one, REALLOCATE of a
// balanced cluster, a leadership transfer already in place are answered "already done"), and
// a recreate refuses while the database is still on its way from an earlier one. Second, the
// answer to each successful request with an idempotency key is remembered for an hour in the
// environment, and a retry with the same key (same request) gets it back, marked replayed,
// without touching Neo4j; the same key on a different request is refused.
package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/neo4jctl/neo4jctl/pkg/lambdas/internal/lambdactx"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// Secrets reads secret values.
type Secrets interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Config is where the cluster and its secrets are.
type Config struct {
	BoltURI        string // e.g. neo4j://core.neo4j.internal:7687
	AdminSecretARN string
	ReadOnlyARN    string // optional: users.readOnly
	ReadWriteARN   string // optional: users.readWrite
}

// ConfigFromEnv reads the Lambda's environment.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		BoltURI:        getenv(naming.EnvBoltURI),
		AdminSecretARN: getenv(naming.EnvAdminSecretARN),
		ReadOnlyARN:    getenv(naming.EnvReadOnlyARN),
		ReadWriteARN:   getenv(naming.EnvReadWriteARN),
	}
	if c.BoltURI == "" && getenv(naming.EnvNamespace) != "" {
		c.BoltURI = naming.BoltURI("core." + getenv(naming.EnvNamespace))
	}
	if c.BoltURI == "" || c.AdminSecretARN == "" {
		return c, fmt.Errorf("operations: %s (or %s) and %s must be set", naming.EnvBoltURI, naming.EnvNamespace, naming.EnvAdminSecretARN)
	}
	return c, nil
}

// Dialer opens a neo4jadmin client; tests and the Lambda use neo4jadmin.New.
type Dialer func(uri, user, password string) (*neo4jadmin.Client, error)

// Handler is the operations Lambda.
type Handler struct {
	Secrets Secrets
	Config  Config
	Dial    Dialer // default neo4jadmin.New
	Log     *slog.Logger
	// Agent names the build (answers to version requests).
	Agent string
	// MaxWork bounds one invocation's work (default DefaultMaxWork), whatever the function's
	// timeout: long waits are the caller's polls.
	MaxWork time.Duration
	// Answers remembers successful answers by idempotency key for the life of the execution
	// environment (NewAnswers); nil keeps none, leaving natural idempotency only.
	Answers *Answers
	// Now is the clock of the idempotency records (default time.Now).
	Now func() time.Time
}

// DefaultMaxWork keeps an invocation well under a minute (the function's timeout is 60s).
const DefaultMaxWork = 40 * time.Second

// Credentials is the JSON a neo4jctl secret holds.
type Credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Handle runs one request. It always returns a Response (never a Lambda error), so the
// caller gets a typed answer: unknown or malformed requests are refused with
// invalid-request, and the work stops in time to answer before the deadline.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (neo4jadmin.Response, error) {
	t0 := time.Now()
	ctx, cancel := lambdactx.Work(ctx, 2*time.Second)
	defer cancel()
	maxWork := h.MaxWork
	if maxWork <= 0 {
		maxWork = DefaultMaxWork
	}
	ctx, cancelWork := context.WithTimeout(ctx, maxWork)
	defer cancelWork()
	resp := h.handle(ctx, raw)
	resp.ContractVersion = neo4jadmin.ContractVersion
	log := h.logger().With("type", string(resp.Type), "ok", resp.OK, "replayed", resp.Replayed, "elapsed", time.Since(t0).Round(time.Millisecond).String())
	if resp.Error != nil {
		log.Error("operation failed", "code", resp.Error.Code, "error", resp.Error.Message)
	} else {
		log.Info("operation done", "message", resp.Message)
	}
	return resp, nil
}

func (h *Handler) handle(ctx context.Context, raw json.RawMessage) neo4jadmin.Response {
	req, err := neo4jadmin.DecodeRequest(raw)
	if err != nil {
		return neo4jadmin.Response{Type: req.Type, Error: asError(err)}
	}
	if req.Type == neo4jadmin.ReqVersion { // no secret, no Neo4j: works when both are broken
		return neo4jadmin.ExecuteWith(ctx, nil, req, neo4jadmin.Env{Agent: h.Agent})
	}
	remember := req.IdempotencyKey != "" && h.Answers != nil
	if remember {
		if resp, err := h.Answers.replay(req, h.now()); err != nil || resp != nil {
			if err != nil {
				return neo4jadmin.Response{Type: req.Type, Error: asError(err)}
			}
			return *resp
		}
	}
	resp := h.execute(ctx, req)
	if remember && resp.OK {
		h.Answers.record(req, resp, h.now())
	}
	return resp
}

// execute runs a decoded request against Neo4j with the admin credentials.
func (h *Handler) execute(ctx context.Context, req neo4jadmin.Request) neo4jadmin.Response {
	admin, err := h.credentials(ctx, h.Config.AdminSecretARN)
	if err != nil {
		return neo4jadmin.Response{Type: req.Type, Error: &neo4jadmin.Error{Code: neo4jadmin.CodeInternal, Message: "reading the admin secret: " + err.Error()}}
	}
	dial := h.Dial
	if dial == nil {
		dial = func(uri, user, password string) (*neo4jadmin.Client, error) {
			return neo4jadmin.New(uri, user, password)
		}
	}
	c, err := dial(h.Config.BoltURI, admin.Username, admin.Password)
	if err != nil {
		return neo4jadmin.Response{Type: req.Type, Error: asError(err)}
	}
	defer c.Close(context.WithoutCancel(ctx))
	// A request that must run on one member connects to it directly: the function is in the
	// VPC, where every member's advertised address resolves.
	dialServer := func(_ context.Context, address string) (*neo4jadmin.Client, error) {
		return dial("bolt://"+address, admin.Username, admin.Password)
	}
	return neo4jadmin.ExecuteWith(ctx, c, req, neo4jadmin.Env{Users: h.users, DialServer: dialServer, Agent: h.Agent})
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// users reads the managed users from their secrets.
func (h *Handler) users(ctx context.Context) ([]neo4jadmin.UserSpec, error) {
	var out []neo4jadmin.UserSpec
	for _, s := range []struct {
		arn    string
		access neo4jadmin.Access
	}{{h.Config.ReadOnlyARN, neo4jadmin.ReadOnly}, {h.Config.ReadWriteARN, neo4jadmin.ReadWrite}} {
		if s.arn == "" {
			continue
		}
		c, err := h.credentials(ctx, s.arn)
		if err != nil {
			return nil, fmt.Errorf("%s user: %w", s.access, err)
		}
		out = append(out, neo4jadmin.UserSpec{Username: c.Username, Password: c.Password, Access: s.access})
	}
	return out, nil
}

func (h *Handler) credentials(ctx context.Context, arn string) (Credentials, error) {
	var c Credentials
	if arn == "" {
		return c, fmt.Errorf("no secret ARN configured")
	}
	out, err := h.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return c, fmt.Errorf("getting secret %s: %w", arn, err)
	}
	// Never include the secret string in an error.
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &c); err != nil {
		return c, fmt.Errorf("secret %s is not JSON {\"username\":...,\"password\":...}", arn)
	}
	if c.Username == "" {
		c.Username = "neo4j"
	}
	if c.Password == "" {
		return c, fmt.Errorf("secret %s has no password", arn)
	}
	return c, nil
}

func asError(err error) *neo4jadmin.Error {
	if e, ok := err.(*neo4jadmin.Error); ok {
		return e
	}
	return &neo4jadmin.Error{Code: neo4jadmin.CodeInternal, Message: err.Error()}
}

func (h *Handler) logger() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}
