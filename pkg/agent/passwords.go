package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// SecretReader reads the cluster's secrets.
type SecretReader interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
}

// CurrentPasswords follows rotated secrets (users.rotation): ECS injects the passwords once,
// when the task starts, and the rotation function changes them later, so the worker reads
// their current versions from Secrets Manager instead. Without it the worker would log in
// with a stale admin password and set the users' passwords back to stale ones.
type CurrentPasswords struct {
	Secrets  SecretReader
	AdminARN string
	// UserARNs maps a managed user's name to its secret.
	UserARNs map[string]string
}

// Admin is the admin password's current version.
func (p *CurrentPasswords) Admin(ctx context.Context) (string, error) {
	return p.current(ctx, p.AdminARN)
}

// Users returns the users with their secrets' current passwords. A user whose secret is
// being rotated (a pending version that is not yet current) is left out of this round and
// named in skipped: the rotation function is changing that password, and setting the
// current one now would undo its setSecret.
func (p *CurrentPasswords) Users(ctx context.Context, users []neo4jadmin.UserSpec) (out []neo4jadmin.UserSpec, skipped []string, err error) {
	for _, u := range users {
		arn := p.UserARNs[u.Username]
		if arn == "" {
			out = append(out, u)
			continue
		}
		md, err := p.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
		if err != nil {
			return nil, nil, fmt.Errorf("describing the secret of %s: %w", u.Username, err)
		}
		if rotating(md.VersionIdsToStages) {
			skipped = append(skipped, u.Username)
			continue
		}
		pw, err := p.current(ctx, arn)
		if err != nil {
			return nil, nil, fmt.Errorf("user %s: %w", u.Username, err)
		}
		u.Password = pw
		out = append(out, u)
	}
	return out, skipped, nil
}

// rotating: some version is AWSPENDING without being AWSCURRENT.
func rotating(versions map[string][]string) bool {
	for _, stages := range versions {
		if slices.Contains(stages, "AWSPENDING") && !slices.Contains(stages, "AWSCURRENT") {
			return true
		}
	}
	return false
}

func (p *CurrentPasswords) current(ctx context.Context, arn string) (string, error) {
	out, err := p.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("reading secret %s: %w", arn, err)
	}
	var v struct {
		Password string `json:"password"`
	}
	// never the secret string in an error
	if json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v) != nil || v.Password == "" {
		return "", fmt.Errorf("secret %s is not JSON with a password", arn)
	}
	return v.Password, nil
}
