package agent

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

func TestLambdaHandlerSelection(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	tests := []struct {
		env     map[string]string
		wantErr string
	}{
		{map[string]string{naming.EnvHandler: naming.HandlerDNSSync, naming.EnvECSCluster: "c", naming.EnvCoresServiceID: "srv-1"}, ""},
		{map[string]string{naming.EnvHandler: naming.HandlerDNSSync}, naming.EnvECSCluster},
		{map[string]string{naming.EnvHandler: naming.HandlerAdmin, naming.EnvNamespace: "ns", naming.EnvAdminSecretARN: "arn"}, ""},
		{map[string]string{naming.EnvHandler: naming.HandlerAdmin}, naming.EnvAdminSecretARN},
		{map[string]string{naming.EnvHandler: naming.HandlerCleanup}, ""},
		{map[string]string{naming.EnvHandler: naming.HandlerRotation, naming.EnvBoltURI: "neo4j://core.ns:7687", naming.EnvAdminSecretARN: "arn"}, ""},
		{map[string]string{naming.EnvHandler: naming.HandlerRotation, naming.EnvBoltURI: "neo4j://core.ns:7687"}, naming.EnvAdminSecretARN},
		{map[string]string{naming.EnvHandler: "shell"}, "want dns-sync"},
	}
	for _, tt := range tests {
		t.Run(tt.env[naming.EnvHandler], func(t *testing.T) {
			h, err := LambdaHandler(context.Background(), MapEnv(tt.env), slog.New(slog.NewTextHandler(io.Discard, nil)))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err != nil || h == nil {
				t.Fatalf("%v %v", h, err)
			}
		})
	}
}
