package ops

import (
	"strings"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
)

func TestExplainStackNamesTheWayOut(t *testing.T) {
	cases := map[string]string{
		engine.StatusRollbackComplete:     "Run `neo4jctl create cluster -f c.yaml` again: it deletes the empty stack and retries",
		engine.StatusUpdateRollbackFailed: "aws cloudformation continue-update-rollback --stack-name s1",
		engine.StatusDeleteFailed:         "run `neo4jctl delete cluster c` again",
		"UPDATE_IN_PROGRESS":              "another operation is running",
		engine.StatusCreateComplete:       "",
	}
	for status, want := range cases {
		got := explainStack("s1", status, "c", "c.yaml")
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("explainStack(%s) = %q, want %q", status, got, want)
		}
	}
}
