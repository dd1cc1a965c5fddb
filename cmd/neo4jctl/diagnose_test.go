package main

import (
	"testing"
)

// On a running cluster (moto made to look like one, Neo4j simulated) every check passes.
func TestDiagnoseRunningClusterPasses(t *testing.T) {
	lc := newLiveCluster(t)
	code, r, stderr := lc.a.diagnose(lc.name)
	for _, c := range r.Checks {
		t.Logf("%s %s: %s%s next=%s\n%s", c.Verdict, c.Code, c.Summary, c.Why, c.Next, c.evidence())
	}
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}
