package clustersim

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/neo4jctl/neo4jctl/pkg/lambdas/admin"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// AdminSecretARN is the admin secret the simulated admin Lambda reads.
const AdminSecretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:neo4jctl/clustersim/admin"

// Invoke is the admin Lambda in front of the simulated cluster: the real handler
// (pkg/lambdas/admin) with its JSON decoding, contract version, idempotency memory (one warm
// execution environment until ColdStart) and member connections, talking to the simulator.
// A test's fake Lambda Invoke hands it the request payload and returns what it answers.
func (s *Sim) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	s.mu.Lock()
	answers, ns := s.answers, s.cfg.Namespace
	s.mu.Unlock()
	h := &admin.Handler{
		Secrets: secrets{arn: AdminSecretARN, value: fmt.Sprintf(`{"username":"neo4j","password":%q}`, s.cfg.AdminPassword)},
		Config:  admin.Config{BoltURI: fmt.Sprintf("neo4j://core.%s:7687", ns), AdminSecretARN: AdminSecretARN},
		Dial:    s.Dial, Agent: "clustersim", Answers: answers, Now: s.Now, Log: slog.New(slog.DiscardHandler),
	}
	resp, err := h.Handle(ctx, json.RawMessage(payload))
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

// Handle runs one typed request against the simulated cluster as a --bolt-uri run would,
// but with member connections (as the Lambda has them).
func (s *Sim) Handle(ctx context.Context, req neo4jadmin.Request) neo4jadmin.Response {
	dial := func(_ context.Context, address string) (*neo4jadmin.Client, error) {
		return s.Dial("bolt://"+address, "neo4j", s.cfg.AdminPassword)
	}
	return neo4jadmin.ExecuteWith(ctx, s.Client(), req, neo4jadmin.Env{DialServer: dial, Agent: "clustersim"})
}

// secrets is the one secret the simulated Lambda reads.
type secrets struct{ arn, value string }

func (f secrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if aws.ToString(in.SecretId) != f.arn {
		return nil, fmt.Errorf("ResourceNotFoundException: Secrets Manager can't find the specified secret %s", aws.ToString(in.SecretId))
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(f.value)}, nil
}
