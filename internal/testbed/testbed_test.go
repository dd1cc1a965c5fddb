package testbed_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
)

func TestMain(m *testing.M) {
	testbed.Main(m, testbed.NeedMoto, testbed.NeedNeo4j)
}

func TestMotoCallerIdentityDefaultAccount(t *testing.T) {
	ctx := context.Background()
	cfg := testbed.SharedMoto(t).AWSConfig(ctx, "eu-west-1")
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if got := aws.ToString(out.Account); got != testbed.DefaultAccountID {
		t.Fatalf("account = %q, want moto's default %q", got, testbed.DefaultAccountID)
	}
}

func TestMotoCallerIdentityIsolatedAccount(t *testing.T) {
	ctx := context.Background()
	cfg, account := testbed.SharedMoto(t).IsolatedConfig(ctx, "us-east-1")
	if len(account) != 12 || account == testbed.DefaultAccountID {
		t.Fatalf("NewAccountID gave %q", account)
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if got := aws.ToString(out.Account); got != account {
		t.Fatalf("account = %q, want the x-moto-account-id %q", got, account)
	}
}

func TestMotoResetAndEnv(t *testing.T) {
	ctx := context.Background()
	m := testbed.SharedMoto(t)
	if err := m.Reset(ctx); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	env := m.Env("eu-west-1")
	if len(env) == 0 || env[0] != "AWS_ENDPOINT_URL="+m.Endpoint() {
		t.Fatalf("Env() = %v", env)
	}
}

func TestNeo4jBoltRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := testbed.SharedNeo4j(t)
	if n.User != "neo4j" || len(n.Password) < 16 {
		t.Fatalf("unexpected credentials: user %q, password of %d chars", n.User, len(n.Password))
	}
	drv, err := n.Driver()
	if err != nil {
		t.Fatalf("driver: %v", err)
	}
	defer drv.Close(ctx)
	res, err := neo4j.ExecuteQuery(ctx, drv, "RETURN 1 AS x", nil, neo4j.EagerResultTransformer)
	if err != nil {
		t.Fatalf("RETURN 1: %v", err)
	}
	if len(res.Records) != 1 {
		t.Fatalf("got %d records, want 1", len(res.Records))
	}
	if x, _ := res.Records[0].Get("x"); x != int64(1) {
		t.Fatalf("RETURN 1 gave %#v", x)
	}
	if err := n.Wipe(ctx); err != nil {
		t.Fatalf("Wipe: %v", err)
	}
}

func TestNeo4jWrongPassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := testbed.SharedNeo4j(t)
	drv, err := neo4j.NewDriverWithContext(n.BoltURI, neo4j.BasicAuth(n.User, n.Password+"-wrong", ""))
	if err != nil {
		t.Fatalf("driver: %v", err)
	}
	defer drv.Close(ctx)
	_, err = neo4j.ExecuteQuery(ctx, drv, "RETURN 1", nil, neo4j.EagerResultTransformer)
	if err == nil {
		t.Fatal("query with a wrong password succeeded")
	}
	var neoErr *neo4j.Neo4jError
	if !errors.As(err, &neoErr) || neoErr.Code != "Neo.ClientError.Security.Unauthorized" {
		t.Fatalf("want Neo.ClientError.Security.Unauthorized, got %T: %v", err, err)
	}
}
