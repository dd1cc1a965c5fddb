package main

import (
	"strings"
	"testing"
)

func TestNoCredentialsSaysHowToGetThem(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	for _, args := range [][]string{
		{"get", "cluster"},
		{"get", "cluster", "graph-dev"},
		{"delete", "cluster", "graph-dev", "--yes"},
		{"update", "cluster", "-f", "../../examples/minimal.yaml", "--yes"},
		{"create", "cluster", "-f", "../../examples/minimal.yaml"},
	} {
		code, stdout, stderr := a.cli("", args...)
		if code != exitFailed || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q\n%s", args, code, stdout, stderr)
		}
		mustContain(t, strings.Join(args, " "), stderr, "no usable AWS credentials (", "aws sso login --profile NAME", "AWS_PROFILE or --profile", "AWS_ACCESS_KEY_ID")
	}
}

func TestUnknownProfileIsAUsageError(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	for _, args := range [][]string{{"--profile", "nope", "get", "cluster"}, {"--profile", "nope", "delete", "cluster", "x", "--yes"}} {
		code, _, stderr := a.cli("", args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d\n%s", args, code, stderr)
		}
		mustContain(t, "stderr", stderr, `--profile/AWS_PROFILE "nope" is not in the AWS config files`)
	}
}
