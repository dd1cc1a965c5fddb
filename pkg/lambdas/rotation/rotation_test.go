package rotation

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
)

// Real parts: the Neo4j 5.26 test server (its users, ALTER USER, logins) and moto's Secrets
// Manager (versions, staging labels, random passwords). The test itself plays the rotation
// service: it calls the four steps with one token, as Secrets Manager does.
func TestMain(m *testing.M) { testbed.Main(m, testbed.NeedMoto, testbed.NeedNeo4j) }

// adminPassword is the test server's admin password as this package's tests left it: the
// admin rotation test changes it.
var adminPassword string

type fixture struct {
	t       *testing.T
	ctx     context.Context
	sm      *secretsmanager.Client
	neo     *testbed.Neo4j
	admin   string // admin secret ARN
	handler *Handler
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	neo := testbed.SharedNeo4j(t)
	if adminPassword == "" {
		adminPassword = neo.Password
	}
	cfg, _ := testbed.SharedMoto(t).IsolatedConfig(ctx, "eu-west-1")
	f := &fixture{t: t, ctx: ctx, sm: secretsmanager.NewFromConfig(cfg), neo: neo}
	f.admin = f.secret("neo4jctl/rt/admin", "neo4j", adminPassword)
	f.handler = &Handler{Secrets: f.sm, Neo4j: Bolt{URI: neo.BoltURI}, Config: Config{BoltURI: neo.BoltURI, AdminSecretARN: f.admin,
		Managed: []string{f.admin}, TestPause: 100 * time.Millisecond}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return f
}

// secret makes a secret holding {"username", "password"} and returns its ARN.
func (f *fixture) secret(name, user, password string) string {
	f.t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	out, err := f.sm.CreateSecret(f.ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(body))})
	if err != nil {
		f.t.Fatal(err)
	}
	return aws.ToString(out.ARN)
}

// user makes a Neo4j user with a password and a secret for it that the handler manages.
func (f *fixture) user(name, password string) string {
	f.t.Helper()
	if err := (Bolt{URI: f.neo.BoltURI}).run(f.ctx, "neo4j", adminPassword, true,
		"CREATE OR REPLACE USER $user SET PASSWORD $password CHANGE NOT REQUIRED", map[string]any{"user": name, "password": password}); err != nil {
		f.t.Fatal(err)
	}
	arn := f.secret("neo4jctl/rt/"+name, name, password)
	f.handler.Config.Managed = append(f.handler.Config.Managed, arn)
	return arn
}

func (f *fixture) current(arn string) credentials {
	f.t.Helper()
	c, err := f.handler.value(f.ctx, arn, stageCurrent, "")
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) login(user, password string) error {
	return Bolt{URI: f.neo.BoltURI}.Login(f.ctx, user, password)
}

func (f *fixture) step(arn, step, token string) error {
	return f.handler.Handle(f.ctx, Event{Step: step, SecretID: arn, ClientRequestToken: token})
}

func (f *fixture) rotate(arn, token string) {
	f.t.Helper()
	for _, s := range []string{StepCreate, StepSet, StepTest, StepFinish} {
		if err := f.step(arn, s, token); err != nil {
			f.t.Fatalf("%s: %v", s, err)
		}
	}
}

func token() string {
	return strings.ToLower(rand.Text()[:8]) + "-1111-4111-8111-" + strings.ToLower(rand.Text()[:12])
}

// TestRotateUser: the four steps give a managed user a new password in Neo4j and in the
// secret; a client that reads the secret logs in before and after; the old password stops
// working only once the new one is set; a retried rotation changes nothing.
func TestRotateUser(t *testing.T) {
	f := newFixture(t)
	arn := f.user("reader_rot", "initial-password-1")
	old := f.current(arn)
	tok := token()

	if err := f.step(arn, StepCreate, tok); err != nil {
		t.Fatal(err)
	}
	pending, err := f.handler.value(f.ctx, arn, stagePending, tok)
	if err != nil || pending.password() == old.password() || len(pending.password()) != 32 || pending.user() != "reader_rot" {
		t.Fatalf("pending version: %v (user %q, %d characters, same as old: %v)", err, pending.user(), len(pending.password()), pending.password() == old.password())
	}
	if f.current(arn).password() != old.password() {
		t.Fatal("createSecret changed AWSCURRENT")
	}
	if err := f.login("reader_rot", old.password()); err != nil {
		t.Fatalf("the old password stops working before setSecret: %v", err)
	}
	// setSecret twice (a retry after a timeout): the second is a no-op
	for _, s := range []string{StepSet, StepSet, StepTest, StepFinish} {
		if err := f.step(arn, s, tok); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	now := f.current(arn)
	if now.password() != pending.password() {
		t.Fatal("finishSecret did not make the pending version current")
	}
	if err := f.login(now.user(), now.password()); err != nil {
		t.Fatalf("a client reading the secret cannot log in after the rotation: %v", err)
	}
	if err := f.login("reader_rot", old.password()); !IsUnauthorized(err) {
		t.Fatalf("the old password still works after the rotation: %v", err)
	}
	prev, err := f.handler.value(f.ctx, arn, "AWSPREVIOUS", "")
	if err != nil || prev.password() != old.password() {
		t.Errorf("AWSPREVIOUS is not the old password: %v", err)
	}
	// Secrets Manager retries with the same token: every step is a no-op now
	for _, s := range []string{StepCreate, StepSet, StepTest, StepFinish} {
		if err := f.step(arn, s, tok); err != nil {
			t.Errorf("retried %s: %v", s, err)
		}
	}
	if f.current(arn).password() != now.password() {
		t.Error("a retried rotation changed the password again")
	}
	// and the next rotation moves on
	f.rotate(arn, token())
	if again := f.current(arn); again.password() == now.password() || f.login(again.user(), again.password()) != nil {
		t.Error("the second rotation did not give a new working password")
	}
}

// TestFailedSetLeavesTheOldPassword: when Neo4j refuses the pending password (here one too
// short for its policy), setSecret fails, testSecret fails, and the old password keeps
// working in Neo4j and in the secret; the next rotation, with a new token, succeeds.
func TestFailedSetLeavesTheOldPassword(t *testing.T) {
	f := newFixture(t)
	arn := f.user("writer_rot", "initial-password-2")
	old := f.current(arn)
	tok := token()
	// a pending version Neo4j will refuse (stands in for a bad createSecret)
	body, _ := json.Marshal(map[string]string{"username": "writer_rot", "password": "short"})
	if _, err := f.sm.PutSecretValue(f.ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), ClientRequestToken: aws.String(tok),
		SecretString: aws.String(string(body)), VersionStages: []string{stagePending}}); err != nil {
		t.Fatal(err)
	}
	err := f.step(arn, StepSet, tok)
	if err == nil || !strings.Contains(err.Error(), "the old one still works") || strings.Contains(err.Error(), "short") {
		t.Fatalf("setSecret with a password Neo4j refuses: %v", err)
	}
	if err := f.step(arn, StepTest, tok); err == nil {
		t.Fatal("testSecret passed with a password Neo4j never took")
	}
	if err := f.login("writer_rot", old.password()); err != nil {
		t.Fatalf("the old password no longer works after a failed rotation: %v", err)
	}
	if f.current(arn).password() != old.password() {
		t.Fatal("a failed rotation changed AWSCURRENT")
	}
	f.rotate(arn, token())
	if now := f.current(arn); f.login(now.user(), now.password()) != nil {
		t.Fatal("the rotation after a failed one does not work")
	}
}

// TestRefusesOtherSecrets: the function rotates only the secrets its cluster manages.
func TestRefusesOtherSecrets(t *testing.T) {
	f := newFixture(t)
	other := f.secret("someone/else", "app", "whatever-password")
	err := f.step(other, StepCreate, token())
	if err == nil || !strings.Contains(err.Error(), "not one this cluster's rotation function manages") {
		t.Fatalf("rotating an unmanaged secret: %v", err)
	}
	if err := f.step(f.admin, StepSet, token()); err == nil || !strings.Contains(err.Error(), "has no version") {
		t.Fatalf("setSecret without createSecret: %v", err)
	}
}

// TestRotateAdmin: the admin changes its own password (ALTER CURRENT USER); the managed users
// are rotated with whichever admin password works.
func TestRotateAdmin(t *testing.T) {
	f := newFixture(t)
	arn := f.user("app_rot", "initial-password-3")
	old := adminPassword
	tok := token()
	for _, s := range []string{StepCreate, StepSet, StepSet} { // the retried set finds Neo4j changed
		if err := f.step(f.admin, s, tok); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	pending, err := f.handler.value(f.ctx, f.admin, stagePending, tok)
	if err != nil {
		t.Fatal(err)
	}
	adminPassword = pending.password() // Neo4j has it now
	// between the admin's setSecret and finishSecret, a user's rotation still works: the
	// admin's AWSCURRENT no longer logs in, its pending version does
	f.rotate(arn, token())
	if now := f.current(arn); f.login(now.user(), now.password()) != nil {
		t.Fatal("a user rotated during the admin's rotation cannot log in")
	}
	for _, s := range []string{StepTest, StepFinish} {
		if err := f.step(f.admin, s, tok); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	cur := f.current(f.admin)
	if cur.password() == old || f.login("neo4j", cur.password()) != nil {
		t.Fatal("the admin secret's current password does not log in after the rotation")
	}
	if err := f.login("neo4j", old); !IsUnauthorized(err) {
		t.Fatalf("the old admin password still works: %v", err)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"NEO4JCTL_BOLT_URI": "neo4j://core.x:7687", "NEO4JCTL_ADMIN_SECRET_ARN": "a", "NEO4JCTL_READWRITE_SECRET_ARN": "w"}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || fmt.Sprint(c.Managed) != "[a w]" {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := ConfigFromEnv(func(string) string { return "" }); err == nil {
		t.Fatal("no error without the Bolt URI and the admin secret")
	}
}
