package cluster

import (
	"context"
	"strings"
	"testing"
)

// Real neo4j.conf settings and values about credentials, none of which is one: the detector
// must let them all through (dbms.security.auth_minimum_password_length was refused).
func TestSecretDetectorAcceptsRealSettings(t *testing.T) {
	doc := minimal + `  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/neo4jctl/neo4j:5.26.30-enterprise@sha256:` + strings.Repeat("0a", 32) + `
  config:
    dbms.security.auth_minimum_password_length: "8"
    dbms.security.auth_lock_time: 5s
    dbms.security.auth_max_failed_attempts: "3"
    dbms.security.auth_cache_ttl: 10m
    dbms.security.authentication_providers: oidc-okta,native
    dbms.security.authorization_providers: oidc-okta,native
    dbms.security.oidc.okta.display_name: Okta
    dbms.security.oidc.okta.client_id: 0oa1b2c3d4e5f6g7h8i9
    dbms.security.oidc.okta.token_type_principal: id_token
    dbms.security.oidc.okta.token_type_authentication: access_token
    dbms.security.oidc.okta.token_endpoint: https://example.okta.com/oauth2/v1/token
    dbms.security.oidc.okta.well_known_discovery_uri: https://example.okta.com/.well-known/openid-configuration
    dbms.security.oidc.okta.auth_params: "client_id=0oa1b2c3d4e5f6g7h8i9;response_type=code;scope=openid profile email"
    dbms.security.oidc.okta.config: "principal=sub;code_challenge_method=S256;token_type_principal=id_token;token_type_authentication=id_token"
    dbms.security.oidc.okta.claims.groups: groups
    dbms.security.ldap.host: ldaps://ldap.example.com:636
    dbms.security.ldap.authentication.user_dn_template: "uid={0},ou=users,dc=example,dc=com"
    dbms.security.ldap.authorization.system_username: "cn=reader,dc=example,dc=com"
    dbms.ssl.policy.bolt.enabled: "true"
    dbms.ssl.policy.bolt.private_key: private.key
    dbms.ssl.policy.bolt.public_certificate: public.crt
    dbms.security.procedures.allowlist: "apoc.coll.*,apoc.load.*,gds.*"
    db.logs.query.obfuscate_literals: "true"
    db.tx_log.rotation.retention_policy: 2 days
    server.jvm.additional: "-XX:+ExitOnOutOfMemoryError"
  memory: {containerMiB: 14746, heap: 5g, pageCache: 6g}
restore: {from: s3://graph-backups/prod/2026/11/01/FullBackupOfGraphDatabase/}
monitoring: {snsTopicARN: "arn:aws:sns:eu-west-1:123456789012:neo4j-alarms"}
`
	doc = strings.Replace(doc, "  region: eu-west-1\n", "  region: eu-west-1\n  tags: {password-policy: strict, token-rotation: 90d, Name: graph, cost-center: \"4711\", owner: platform@example.com}\n", 1)
	if _, err := load(t, doc); err != nil {
		t.Fatalf("real settings refused as secrets:\n%v", err)
	}
}

// Credentials in every shape the detector knows, each refused by kind and field without
// being quoted back.
func TestSecretDetectorCatchesAndNeverEchoes(t *testing.T) {
	const (
		awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
		ghToken   = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
		ghPAT     = "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
		slackBot  = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
		slackHook = "https://hooks.slack.com/services/" + "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
		jwt       = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJuZW80aiJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
	)
	cases := []struct {
		name, doc, secret, want string
	}{
		{"password in a bolt URL", "  config: {dbms.security.ldap.host: \"ldap://admin:hunter2@ldap.example.com\"}\n", "hunter2",
			`neo4j.config["dbms.security.ldap.host"] (cluster.yaml:8): looks like a password in a URL`},
		{"password in restore.from", "restore: {from: \"https://backup:hunter2@files.example.com/graph\"}\n", "hunter2",
			"restore.from (cluster.yaml:8): looks like a password in a URL"},
		{"bolt user-info in a tag", "", "s3cr3tpass", "metadata.tags.seed (cluster.yaml:6): looks like a password in a URL"},
		{"GitHub token", "  config: {db.note: \"" + ghToken + "\"}\n", ghToken, "looks like a GitHub token"},
		{"GitHub fine-grained token", "  config: {db.note: " + ghPAT + "}\n", ghPAT, "looks like a GitHub token"},
		{"Slack bot token", "  config: {db.note: " + slackBot + "}\n", slackBot, "looks like a Slack token"},
		{"Slack webhook", "  config: {db.note: \"" + slackHook + "\"}\n", "XXXXXXXXXXXXXXXXXXXXXXXX", "looks like a Slack webhook URL"},
		{"AWS secret access key", "  config: {db.note: \"" + awsSecret + "\"}\n", awsSecret, "looks like an AWS secret access key"},
		{"AWS secret in JVM options", "  config: {server.jvm.additional: \"-Daws.secretAccessKey=" + awsSecret + "\"}\n", awsSecret, "looks like"},
		{"key store password in JVM options", "  config: {server.jvm.additional: \"-Djavax.net.ssl.keyStorePassword=changeit\"}\n", "changeit", "looks like a password assignment"},
		{"client secret in OIDC params", "  config: {dbms.security.oidc.okta.token_params: \"client_secret=Zx8vQ2pLm4\"}\n", "Zx8vQ2pLm4", "looks like a password assignment"},
		{"OIDC client secret setting", "  config: {dbms.security.oidc.okta.client_secret: Zx8vQ2pLm4}\n", "Zx8vQ2pLm4",
			`neo4j.config["dbms.security.oidc.okta.client_secret"] (cluster.yaml:8): secret values are not allowed in cluster.yaml`},
		{"TLS key password setting", "  config: {dbms.ssl.policy.bolt.private_key_password: Zx8vQ2pLm4}\n", "Zx8vQ2pLm4", "secret values are not allowed"},
		{"JSON Web Token", "  config: {db.note: " + jwt + "}\n", jwt, "looks like a JSON Web Token"},
		{"private key", "  config: {db.note: \"-----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIBAAKCAQEA\"}\n", "MIIEpAIBAAKCAQEA", "looks like a private key"},
		{"token as a map key", "  config: {" + ghToken + ": x}\n", ghToken, "neo4j.config (cluster.yaml:8): a key looks like a GitHub token"},
		{"token as an unknown field", "cores: {" + ghToken + ": x}\n", ghToken, "cores (cluster.yaml:8): a key looks like a GitHub token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := minimal + tc.doc
			if tc.doc == "" {
				doc = strings.Replace(minimal, "  region: eu-west-1\n", "  region: eu-west-1\n  tags: {seed: \"bolt://neo4j:s3cr3tpass@core.graph.internal:7687\"}\n", 1)
			}
			f, err := Read(context.Background(), strings.NewReader(doc), "cluster.yaml", Overrides{})
			if f != nil || !IsConfigError(err) {
				t.Fatalf("want a config error, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Secrets Manager") {
				t.Fatalf("want %q and a pointer to Secrets Manager, got:\n%v", tc.want, err)
			}
			if strings.Contains(err.Error(), tc.secret) {
				t.Fatalf("the error echoes the secret:\n%v", err)
			}
		})
	}
}

func TestSecretKeyWords(t *testing.T) {
	for key, want := range map[string]bool{
		"dbms.security.auth_minimum_password_length":       false,
		"dbms.security.ldap.authorization.system_password": true,
		"dbms.security.oidc.x.client_secret":               true,
		"dbms.security.oidc.x.token_type_principal":        false,
		"dbms.ssl.policy.bolt.private_key":                 false,
		"dbms.ssl.policy.bolt.private_key_password":        true,
		"adminPassword":    true,
		"keyStorePassword": true,
		"api-key":          true,
		"password-policy":  false,
		"owner":            false,
	} {
		if got := secretKey(key); got != want {
			t.Errorf("secretKey(%q) = %v, want %v", key, got, want)
		}
	}
}
