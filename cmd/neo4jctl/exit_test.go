package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

func TestErrorsCarryTheirExitCodeHoweverWrapped(t *testing.T) {
	config := cluster.ErrorList{{Path: "cores.count", Message: "must be 3, 5 or 7"}}
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"no error", nil, exitOK},
		{"an AWS failure", errors.New("creating stack s: AccessDenied"), exitFailed},
		{"usage", usagef("-f is required"), exitUsage},
		{"invalid config", config, exitUsage},
		{"invalid config, wrapped", fmt.Errorf("loading cluster.yaml: %w", config), exitUsage},
		{"no terminal to confirm on, wrapped", fmt.Errorf("update: %w", &ops.ConfirmationNeededError{What: "update cluster x", Flag: "--yes"}), exitUsage},
		{"usage, wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", usagef("bad"))), exitUsage},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("%s: exit %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestCredentialsErrorsEndWithTheHint(t *testing.T) {
	raw := errors.New("get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found")
	msg := errorMessage(fmt.Errorf("listing stacks: %w", awsapi.Clean(raw)))
	if !strings.HasPrefix(msg, "listing stacks: no usable AWS credentials (get identity") || !strings.HasSuffix(msg, "; "+ops.CredentialsHint) {
		t.Fatalf("message: %s", msg)
	}
	// once is enough
	if again := errorMessage(fmt.Errorf("%s: %w", msg, awsapi.Clean(raw))); strings.Count(again, ops.CredentialsHint) != 1 {
		t.Fatalf("hint twice: %s", again)
	}
	if msg := errorMessage(errors.New("AccessDenied")); msg != "AccessDenied" {
		t.Fatalf("other errors unchanged: %s", msg)
	}
}
