package main

import (
	"strings"
	"testing"
)

// --timeout bounds any command: an exhausted bound ends it with exit 1 and says so; a
// negative one is a usage error that touches nothing.
func TestTimeoutBoundsTheCommand(t *testing.T) {
	calls := noAWS(t)
	t.Setenv("AWS_REGION", "eu-west-1")
	code, _, stderr := cli(t, "get", "cluster", "graph-dev", "--timeout", "-1s")
	if code != exitUsage || !strings.Contains(stderr, "--timeout -1s is negative") || calls.Load() != 0 {
		t.Fatalf("negative: exit %d, %d calls\n%s", code, calls.Load(), stderr)
	}
	code, _, stderr = cli(t, "--timeout", "1ns", "get", "cluster", "graph-dev")
	if code != exitFailed || !strings.Contains(stderr, "Error: stopped by --timeout 1ns:") {
		t.Fatalf("exhausted: exit %d\n%s", code, stderr)
	}
}
