// Package rotation is the Secrets Manager rotation function of a cluster's Neo4j passwords
// (users.rotation): the admin's and the managed users'. Secrets Manager calls it once per
// step with the same token:
//
//   - createSecret: a new random password as the secret's AWSPENDING version;
//   - setSecret: Neo4j takes it (ALTER CURRENT USER for the admin, ALTER USER as the admin
//     for the others);
//   - testSecret: the pending credentials log in;
//   - finishSecret: AWSCURRENT moves to the pending version.
//
// Every step is idempotent (Secrets Manager retries a failed rotation with the same token),
// and until finishSecret the secret's AWSCURRENT is the old password: a step that fails
// leaves the old password working in Neo4j and in the secret, except in the short window
// between setSecret and finishSecret, where Neo4j already has the new one (the single-user
// rotation strategy; clients re-read the secret after an authentication failure).
// Passwords never appear in logs or errors.
package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/neo4jctl/neo4jctl/pkg/lambdas/internal/lambdactx"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// Secrets is the part of Secrets Manager the rotation uses.
type Secrets interface {
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	UpdateSecretVersionStage(ctx context.Context, in *secretsmanager.UpdateSecretVersionStageInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
	GetRandomPassword(ctx context.Context, in *secretsmanager.GetRandomPasswordInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetRandomPasswordOutput, error)
}

// Neo4j changes and checks passwords; Bolt is the real one.
type Neo4j interface {
	// Login checks that user and password authenticate against the cluster.
	Login(ctx context.Context, user, password string) error
	// SetPassword changes user's password as the admin (ALTER USER).
	SetPassword(ctx context.Context, admin, adminPassword, user, password string) error
	// ChangeOwnPassword changes the logged-in user's own password (ALTER CURRENT USER).
	ChangeOwnPassword(ctx context.Context, user, oldPassword, newPassword string) error
}

// Config is what the function rotates, from its environment.
type Config struct {
	BoltURI        string
	AdminSecretARN string
	// Managed are the secrets it may rotate (the admin's and the managed users'): a call for
	// any other secret is refused.
	Managed []string
	// TestPause is the pause before testSecret's one retry (default 2s).
	TestPause time.Duration
}

// ConfigFromEnv reads the Lambda's environment (the operations stack sets it).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{BoltURI: getenv(naming.EnvBoltURI), AdminSecretARN: getenv(naming.EnvAdminSecretARN)}
	for _, arn := range []string{c.AdminSecretARN, getenv(naming.EnvReadOnlyARN), getenv(naming.EnvReadWriteARN)} {
		if arn != "" {
			c.Managed = append(c.Managed, arn)
		}
	}
	if c.BoltURI == "" || c.AdminSecretARN == "" {
		return c, fmt.Errorf("rotation: %s and %s must be set", naming.EnvBoltURI, naming.EnvAdminSecretARN)
	}
	return c, nil
}

// Event is what Secrets Manager sends for each step.
type Event struct {
	Step               string `json:"Step"`
	SecretID           string `json:"SecretId"`
	ClientRequestToken string `json:"ClientRequestToken"`
}

// The steps and the staging labels of the rotation protocol.
const (
	StepCreate = "createSecret"
	StepSet    = "setSecret"
	StepTest   = "testSecret"
	StepFinish = "finishSecret"

	stageCurrent = "AWSCURRENT"
	stagePending = "AWSPENDING"
)

// Handler is the rotation function.
type Handler struct {
	Secrets Secrets
	Neo4j   Neo4j
	Config  Config
	Log     *slog.Logger
	Sleep   func(ctx context.Context, d time.Duration) error // default: a timer
}

// Handle runs one step. An error fails the step: Secrets Manager marks the rotation failed
// and tries again later with the same token.
func (h *Handler) Handle(ctx context.Context, e Event) error {
	ctx, cancel := lambdactx.Work(ctx, 2*time.Second)
	defer cancel()
	t0 := time.Now()
	err := h.step(ctx, e)
	log := h.logger().With("step", e.Step, "secret", secretName(e.SecretID), "elapsed", time.Since(t0).Round(time.Millisecond).String())
	if err != nil {
		log.Error("rotation step failed", "error", err.Error())
		return err
	}
	log.Info("rotation step done")
	return nil
}

func (h *Handler) step(ctx context.Context, e Event) error {
	if e.SecretID == "" || e.ClientRequestToken == "" {
		return fmt.Errorf("%s: the event has no SecretId or ClientRequestToken", e.Step)
	}
	md, err := h.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(e.SecretID)})
	if err != nil {
		return fmt.Errorf("describing secret %s: %w", secretName(e.SecretID), err)
	}
	if arn := aws.ToString(md.ARN); !slices.Contains(h.Config.Managed, arn) && !slices.Contains(h.Config.Managed, e.SecretID) {
		return fmt.Errorf("secret %s is not one this cluster's rotation function manages", secretName(e.SecretID))
	}
	stages, known := md.VersionIdsToStages[e.ClientRequestToken]
	switch {
	case known && slices.Contains(stages, stageCurrent):
		return nil // this version is current already: a retried rotation that finished
	case known && !slices.Contains(stages, stagePending):
		return fmt.Errorf("version %s of secret %s is not %s", e.ClientRequestToken, secretName(e.SecretID), stagePending)
	case !known && e.Step != StepCreate:
		return fmt.Errorf("secret %s has no version %s to rotate to", secretName(e.SecretID), e.ClientRequestToken)
	}
	switch e.Step {
	case StepCreate:
		return h.create(ctx, e)
	case StepSet:
		return h.set(ctx, e)
	case StepTest:
		return h.test(ctx, e)
	case StepFinish:
		return h.finish(ctx, e, md.VersionIdsToStages)
	}
	return fmt.Errorf("unknown step %q", e.Step)
}

// credentials are a secret's value: the username and password neo4jctl keeps, and any other
// keys a user added, kept as they are.
type credentials map[string]any

func (c credentials) user() string     { s, _ := c["username"].(string); return s }
func (c credentials) password() string { s, _ := c["password"].(string); return s }

// errNoValue is a version without a value yet (Secrets Manager makes the pending version
// before createSecret fills it).
var errNoValue = errors.New("no value")

func (h *Handler) value(ctx context.Context, id, stage, version string) (credentials, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String(stage)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := h.Secrets.GetSecretValue(ctx, in)
	var nf *smtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil, errNoValue
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s of secret %s: %w", stage, secretName(id), err)
	}
	var c credentials
	// never the secret string in an error
	if json.Unmarshal([]byte(aws.ToString(out.SecretString)), &c) != nil || c.password() == "" {
		return nil, fmt.Errorf("%s of secret %s is not JSON with a password", stage, secretName(id))
	}
	if c.user() == "" {
		c["username"] = "neo4j"
	}
	return c, nil
}

// create puts a new random password as the pending version, unless a retry finds one there.
func (h *Handler) create(ctx context.Context, e Event) error {
	cur, err := h.value(ctx, e.SecretID, stageCurrent, "")
	if err != nil {
		return err
	}
	pending, err := h.value(ctx, e.SecretID, stagePending, e.ClientRequestToken)
	switch {
	case err == nil && pending.password() != cur.password():
		return nil // created by an earlier try
	case err != nil && !errors.Is(err, errNoValue):
		return err
	}
	// the same kind of password the shared stack generates: 32 letters and digits
	pw, err := h.Secrets.GetRandomPassword(ctx, &secretsmanager.GetRandomPasswordInput{
		PasswordLength: aws.Int64(32), ExcludePunctuation: aws.Bool(true), RequireEachIncludedType: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("generating a password: %w", err)
	}
	next := credentials{}
	for k, v := range cur {
		next[k] = v
	}
	next["password"] = aws.ToString(pw.RandomPassword)
	body, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if _, err := h.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(e.SecretID),
		ClientRequestToken: aws.String(e.ClientRequestToken), SecretString: aws.String(string(body)),
		VersionStages: []string{stagePending}}); err != nil {
		return fmt.Errorf("storing the pending version of secret %s: %w", secretName(e.SecretID), err)
	}
	return nil
}

// set gives Neo4j the pending password. The admin changes its own password with its current
// one; the users' are changed by the admin, with the admin's current password, or with its
// pending one when the admin's own rotation is between its setSecret and finishSecret.
//
// It never tries a password it does not expect to work as the rotated user: Neo4j locks a
// user out for a while after a few failed logins (dbms.security.auth_max_failed_attempts),
// and that would lock out the clients still using the old password.
func (h *Handler) set(ctx context.Context, e Event) error {
	pending, err := h.pending(ctx, e)
	if err != nil {
		return err
	}
	if h.isAdmin(e.SecretID) {
		cur, err := h.value(ctx, e.SecretID, stageCurrent, "")
		if err != nil {
			return err
		}
		err = h.Neo4j.ChangeOwnPassword(ctx, cur.user(), cur.password(), pending.password())
		if err != nil && IsUnauthorized(err) && h.Neo4j.Login(ctx, cur.user(), pending.password()) == nil {
			return nil // Neo4j has it already: a retry after a set that worked
		}
		if err != nil {
			return fmt.Errorf("changing the password of %s in Neo4j (the old one still works): %w", cur.user(), err)
		}
		return nil
	}
	admin, err := h.value(ctx, h.Config.AdminSecretARN, stageCurrent, "")
	if err != nil {
		return err
	}
	// ALTER USER to the password the user has already is a no-op (a retried set)
	err = h.Neo4j.SetPassword(ctx, admin.user(), admin.password(), pending.user(), pending.password())
	if err != nil && IsUnauthorized(err) {
		if next, perr := h.value(ctx, h.Config.AdminSecretARN, stagePending, ""); perr == nil {
			err = h.Neo4j.SetPassword(ctx, next.user(), next.password(), pending.user(), pending.password())
		}
	}
	if err != nil {
		return fmt.Errorf("changing the password of %s in Neo4j (the old one still works): %w", pending.user(), err)
	}
	return nil
}

// test logs in with the pending credentials on the system database's leader, which has the
// change as soon as setSecret returned; one retry after a pause, no more (failed logins
// count towards Neo4j's lock-out of the user).
func (h *Handler) test(ctx context.Context, e Event) error {
	pending, err := h.pending(ctx, e)
	if err != nil {
		return err
	}
	pause := h.Config.TestPause
	if pause == 0 {
		pause = 2 * time.Second
	}
	for attempt := 0; ; attempt++ {
		err = h.Neo4j.Login(ctx, pending.user(), pending.password())
		if err == nil {
			return nil
		}
		if attempt == 1 || h.sleep(ctx, pause) != nil {
			return fmt.Errorf("the pending password of %s does not log in to Neo4j: %w", pending.user(), err)
		}
	}
}

// finish makes the pending version current (Secrets Manager labels the old one AWSPREVIOUS).
func (h *Handler) finish(ctx context.Context, e Event, versions map[string][]string) error {
	current := ""
	for id, stages := range versions {
		if slices.Contains(stages, stageCurrent) {
			current = id
		}
	}
	in := &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(e.SecretID), VersionStage: aws.String(stageCurrent),
		MoveToVersionId: aws.String(e.ClientRequestToken)}
	if current != "" {
		in.RemoveFromVersionId = aws.String(current)
	}
	if _, err := h.Secrets.UpdateSecretVersionStage(ctx, in); err != nil {
		return fmt.Errorf("making version %s of secret %s current: %w", e.ClientRequestToken, secretName(e.SecretID), err)
	}
	return nil
}

func (h *Handler) pending(ctx context.Context, e Event) (credentials, error) {
	c, err := h.value(ctx, e.SecretID, stagePending, e.ClientRequestToken)
	if errors.Is(err, errNoValue) {
		return nil, fmt.Errorf("secret %s has no pending value for %s: createSecret did not run", secretName(e.SecretID), e.ClientRequestToken)
	}
	return c, err
}

func (h *Handler) isAdmin(secretID string) bool {
	a := h.Config.AdminSecretARN
	return secretID == a || secretName(secretID) == secretName(a)
}

func (h *Handler) sleep(ctx context.Context, d time.Duration) error {
	if h.Sleep != nil {
		return h.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (h *Handler) logger() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

// secretName is the readable name of a secret ARN (neo4jctl/<cluster>/admin), for messages.
func secretName(id string) string {
	if _, rest, ok := strings.Cut(id, ":secret:"); ok {
		// ARNs end in -XXXXXX, the random suffix Secrets Manager adds
		if i := strings.LastIndexByte(rest, '-'); i > 0 && len(rest)-i == 7 {
			return rest[:i]
		}
		return rest
	}
	return id
}
