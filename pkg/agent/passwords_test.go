package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// TestWorkerFollowsRotatedPasswords (users.rotation): the passwords ECS injected at the
// task's start go stale once Secrets Manager rotates them. The worker keeps the users at
// their secrets' current passwords, not the injected ones, leaves a user alone while its
// rotation is under way, and logs in as the admin with the admin secret's current password.
// Real Neo4j 5.26 test server and moto's Secrets Manager.
func TestWorkerFollowsRotatedPasswords(t *testing.T) {
	n := testbed.SharedNeo4j(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	awsCfg, _ := testbed.SharedMoto(t).IsolatedConfig(ctx, "eu-west-1")
	sm := secretsmanager.NewFromConfig(awsCfg)
	secret := func(name, user, pw string) string {
		body, _ := json.Marshal(map[string]string{"username": user, "password": pw})
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(body))})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.ARN)
	}
	put := func(arn, user, pw string, stages ...string) {
		body, _ := json.Marshal(map[string]string{"username": user, "password": pw})
		if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String(string(body)),
			VersionStages: stages}); err != nil {
			t.Fatal(err)
		}
	}
	ro := "ro_" + strings.ToLower(rand.Text()[:8])
	injected := rand.Text()
	adminARN := secret("neo4jctl/wr/admin", "neo4j", n.Password)
	roARN := secret("neo4jctl/wr/read-only", ro, injected)
	env := MapEnv(map[string]string{
		naming.EnvRole: "core", naming.EnvMember: "core-1", naming.EnvCoreEndpoints: "core-1.ns:6000",
		naming.EnvAdminPassword: "stale-" + rand.Text(), naming.EnvReadOnlyUser: ro, naming.EnvReadOnlyPassword: injected,
		naming.EnvAdminSecretARN: adminARN, naming.EnvReadOnlyARN: roARN,
	})
	cfg, err := WorkerConfigFromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AdminSecretARN != adminARN || cfg.UserSecretARNs[ro] != roARN {
		t.Fatalf("config %+v", cfg)
	}
	var logs bytes.Buffer
	w := &Worker{Config: cfg, Stderr: &logs, Passwords: &CurrentPasswords{Secrets: sm, AdminARN: cfg.AdminSecretARN, UserARNs: cfg.UserSecretARNs}}
	// the admin logs in with the secret's current version, not the stale injected one
	pw, err := w.Passwords.Admin(ctx)
	if err != nil || pw != n.Password {
		t.Fatalf("admin password from the secret: %v", err)
	}
	admin, err := neo4jadmin.New(n.BoltURI, n.User, pw)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	login := func(user, pw string) error {
		c, err := neo4jadmin.New(n.BoltURI, user, pw)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		return c.Ping(ctx)
	}
	if err := w.EnsureUsers(ctx, admin); err != nil {
		t.Fatal(err)
	}
	if err := login(ro, injected); err != nil {
		t.Fatalf("user not created with its secret's password: %v", err)
	}
	// rotated: the secret's current version moved on; the worker follows it, not the injection
	rotated := rand.Text()
	put(roARN, ro, rotated)
	if err := w.EnsureUsers(ctx, admin); err != nil {
		t.Fatal(err)
	}
	if err := login(ro, rotated); err != nil {
		t.Fatalf("the worker set the user back to a stale password: %v", err)
	}
	// a rotation under way (a pending version, not current): the worker leaves the user alone
	put(roARN, ro, rand.Text(), "AWSPENDING")
	if err := w.EnsureUsers(ctx, admin); err != nil {
		t.Fatal(err)
	}
	if err := login(ro, rotated); err != nil {
		t.Fatalf("the worker changed a user whose rotation is under way: %v", err)
	}
	if !strings.Contains(logs.String(), "being rotated") {
		t.Errorf("no word of the skipped user: %s", logs.String())
	}
	for _, p := range []string{injected, rotated, n.Password} {
		if strings.Contains(logs.String(), p) {
			t.Fatal("a password was logged")
		}
	}
}
