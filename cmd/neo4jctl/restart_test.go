package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/neo4jctl/neo4jctl/internal/clustersim"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

// twoDatabases is a simulated cluster with two user databases on three primaries and a
// secondary on each replica, under a steady write load.
func twoDatabases(cores, replicas int) clustersim.Config {
	return clustersim.Config{Cores: cores, DefaultSecondaries: replicas, Timing: clustersim.Timing{WriteRate: 50},
		Databases: []clustersim.DatabaseSpec{{Name: "shop", Primaries: 3, Secondaries: replicas}, {Name: "ledger", Primaries: 3, Secondaries: replicas}}}
}

// formedProduction creates examples/production.yaml's cluster (3 cores, 2 replicas) on moto
// with a simulated Neo4j behind it, and waits until it has formed. edits change the file.
func formedProduction(t *testing.T, cfg clustersim.Config, edits ...func(string) string) (*motoAccount, *simulated, string) {
	t.Helper()
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	vpc, subnets := a.network("10.30", "a", "b", "c")
	s := a.simulateWith("graph-prod", cfg)
	file := productionConfig(t, vpc, subnets)
	for _, edit := range edits {
		file = writeConfig(t, edit(readFile(t, file)))
	}
	if code, _, stderr := a.cli("", "create", "cluster", "-f", file); code != 0 {
		t.Fatalf("create: exit %d\n%s", code, stderr)
	}
	s.sim.AdvanceUntil(clustersim.View.Ready, 5*time.Minute)
	s.sim.ResetStats()
	return a, s, file
}

// withObjectLock adds backup.objectLock to examples/production.yaml.
func withObjectLock(doc string) string {
	return strings.Replace(doc, "  retention: {days: 30}\n", "  retention: {days: 30}\n  objectLock: {mode: governance, days: 1}\n", 1)
}

// requireDefaultRetention fails the test unless the cluster bucket retains every upload.
func (a *motoAccount) requireDefaultRetention(cluster string) {
	a.t.Helper()
	code, stdout, _ := a.cli("", "get", "cluster", cluster, "-o", "json")
	var got struct{ Bucket string }
	if code != 0 || json.Unmarshal([]byte(stdout), &got) != nil {
		a.t.Fatalf("get: exit %d", code)
	}
	out, err := s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = true }).GetObjectLockConfiguration(context.Background(),
		&s3.GetObjectLockConfigurationInput{Bucket: aws.String(got.Bucket)})
	if err != nil || out.ObjectLockConfiguration.Rule == nil || out.ObjectLockConfiguration.Rule.DefaultRetention == nil {
		a.t.Fatalf("the cluster bucket has no default retention: %+v %v", out, err)
	}
}

// restarted is how many times each member restarted (replicas: tasks replaced).
func (s *simulated) restarted() map[string]int { return s.sim.Stats().Restarts }

// quorumKept fails the test when a database lost the majority of its primaries.
func (s *simulated) quorumKept(t *testing.T) {
	t.Helper()
	st := s.sim.Stats()
	if len(st.QuorumLosses) > 0 {
		t.Errorf("quorum lost: %+v", st.QuorumLosses)
	}
	for _, d := range s.sim.View().Databases {
		if st.MinPrimariesOnline[d.Name] < d.Voters/2+1 {
			t.Errorf("%s: %d primaries online at the worst, majority %d", d.Name, st.MinPrimariesOnline[d.Name], d.Voters/2+1)
		}
	}
}

// restartState is the pinned order in the cluster bucket.
func (a *motoAccount) restartState(cluster string) ops.RestartState {
	a.t.Helper()
	code, stdout, _ := a.cli("", "get", "cluster", cluster, "-o", "json")
	var got struct{ Bucket string }
	if code != 0 || json.Unmarshal([]byte(stdout), &got) != nil {
		a.t.Fatalf("get: exit %d", code)
	}
	bucket := got.Bucket
	out, err := s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = true }).GetObject(context.Background(),
		&s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(naming.RestartStateKey)})
	if err != nil {
		a.t.Fatalf("restart state: %v", err)
	}
	defer out.Body.Close()
	var st ops.RestartState
	if err := json.NewDecoder(out.Body).Decode(&st); err != nil {
		a.t.Fatal(err)
	}
	return st
}

// The roll restarts every member once, replicas first, a core only while the others are
// up, and never leaves a database below its majority; --dry-run and a missing --yes touch
// nothing.
func TestRestartRollsEveryMemberOnce(t *testing.T) {
	a, s, _ := formedProduction(t, twoDatabases(3, 2))
	code, stdout, stderr := a.cli("", "restart", "cluster", "graph-prod", "--dry-run")
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s", code, stderr)
	}
	mustContain(t, "dry run", stdout, "Rolling restart of cluster graph-prod, one member at a time, gated before and after each (at most 15m0s per member):",
		"  1. replicas   every replica task replaced", "  4. core-")
	var plan ops.RestartPlan
	if code, stdout, _ = a.cli("", "restart", "cluster", "graph-prod", "--dry-run", "-o", "json"); code != 0 || json.Unmarshal([]byte(stdout), &plan) != nil || len(plan.Members) != 4 {
		t.Fatalf("dry run -o json: exit %d\n%s", code, stdout)
	}
	if code, _, stderr = a.cli("", "restart", "cluster", "graph-prod"); code != exitUsage || !strings.Contains(stderr, "restart cluster graph-prod needs confirmation") {
		t.Fatalf("without --yes: exit %d\n%s", code, stderr)
	}
	if n := len(s.restarted()); n != 0 {
		t.Fatalf("dry run and refusal restarted %v", s.restarted())
	}

	code, _, stderr = a.cli("", "restart", "cluster", "graph-prod", "--yes")
	if code != 0 {
		t.Fatalf("restart: exit %d\n%s", code, stderr)
	}
	order := []string{plan.Members[0].Member, plan.Members[1].Member, plan.Members[2].Member, plan.Members[3].Member}
	mustContain(t, "restart", stderr, "Rolling "+strings.Join(order, ", ")+" (one at a time, gated)",
		"[1/4] replicas", "replicas: ECS deployment ecs-svc/", "replicas: after gate passed", "[4/4] "+order[3],
		order[3]+": ECS deployment ecs-svc/", "stops its task, then starts a new one",
		"Done: cluster graph-prod restarted: "+strings.Join(order, ", ")+", each once")
	r := s.restarted()
	if r["core-1"] != 1 || r["core-2"] != 1 || r["core-3"] != 1 || r["replicas"] != 2 {
		t.Errorf("restarts %v, want each core once and both replica tasks replaced", r)
	}
	s.quorumKept(t)
	for _, db := range []string{"shop", "ledger"} {
		if w := s.sim.Stats().WriteUnavailable[db]; w != 0 {
			t.Errorf("%s without a writer for %s (its leadership is handed over first)", db, w)
		}
	}
	if st := a.restartState("graph-prod"); st.Next != "" || strings.Join(st.Done, ",") != strings.Join(order, ",") {
		t.Errorf("state after the roll: %+v", st)
	}
}

// resumeCommand is the command a stopped roll prints to resume.
var resumeCommand = regexp.MustCompile("Resume with `neo4jctl ([^`]+)`")

// Ctrl-C while a core is down finishes that core and stops; the printed command resumes in
// the same order, and every member is restarted exactly once in all.
//
// The cluster's bucket has Object Lock (backup.objectLock), so S3 takes the pinned order only
// with a checksum (the CLI runs with AWS_REQUEST_CHECKSUM_CALCULATION=when_required here).
func TestRestartInterruptedAndResumed(t *testing.T) {
	a, s, _ := formedProduction(t, twoDatabases(3, 2), withObjectLock)
	a.requireDefaultRetention("graph-prod")
	sig := make(chan os.Signal, 2)
	a.hooks.signals = sig
	var once sync.Once
	s.onApply = func() { // Ctrl-C as the first core goes down
		if st := s.sim.Stats(); st.Restarts["core-1"]+st.Restarts["core-2"]+st.Restarts["core-3"] > 0 {
			once.Do(func() { sig <- os.Interrupt })
		}
	}
	code, _, stderr := a.cli("", "restart", "cluster", "graph-prod", "--yes")
	if code != exitFailed {
		t.Fatalf("interrupted restart: exit %d\n%s", code, stderr)
	}
	s.onApply = nil
	first := a.restartState("graph-prod")
	if len(first.Done) != 2 || first.Next != first.Order[2] {
		t.Fatalf("state after the interrupt: %+v", first)
	}
	mustContain(t, "interrupt", stderr, "Interrupted: finishing "+first.Order[1],
		"Error: restart of cluster graph-prod stopped: interrupted after replicas, "+first.Order[1]+"; resume from "+first.Next,
		"Not touched: "+first.Order[2]+", "+first.Order[3]+".",
		"Resume with `neo4jctl restart cluster graph-prod --from "+first.Next+"`.")
	if sv, _ := s.sim.View().Server(first.Order[1]); sv.Health != clustersim.Available {
		t.Errorf("the member in flight was left %s", sv.Health)
	}
	// meanwhile leaderships rebalance: the pinned order holds
	s.sim.Advance(3 * time.Minute)
	m := resumeCommand.FindStringSubmatch(stderr)
	code, _, stderr = a.cli("", append(strings.Fields(m[1]), "--yes")...)
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	mustContain(t, "resume", stderr, "Rolling "+first.Order[2]+", "+first.Order[3]+" (one at a time, gated); skipping replicas, "+first.Order[1]+" (before --from)")
	r := s.restarted()
	if r["core-1"] != 1 || r["core-2"] != 1 || r["core-3"] != 1 || r["replicas"] != 2 {
		t.Errorf("restarts %v, want each member once in all", r)
	}
	s.quorumKept(t)
}

// A member that never comes back stops the roll at its after gate within --member-timeout:
// the error names it and what is not ready, the members after it are untouched; restarting
// it alone once it can run again is the repair, then the roll resumes.
func TestRestartStopsAtAMemberThatNeverComesBack(t *testing.T) {
	a, s, _ := formedProduction(t, twoDatabases(3, 0))
	_, stdout, _ := a.cli("", "restart", "cluster", "graph-prod", "--dry-run", "-o", "json")
	var plan ops.RestartPlan
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatal(err)
	}
	victim, after, last := plan.Members[1].Member, plan.Members[2].Member, plan.Members[3].Member
	s.hang[victim] = true
	t0 := s.sim.Now()
	code, _, stderr := a.cli("", "restart", "cluster", "graph-prod", "--yes", "--member-timeout", "4m")
	if code != exitFailed {
		t.Fatalf("restart: exit %d\n%s", code, stderr)
	}
	mustContain(t, "gate", stderr, "Error: restart of cluster graph-prod stopped: "+victim+" did not come back ready within 4m0s: server "+victim+" is Unavailable (want Available)",
		"Done: "+plan.Members[0].Member+".", "Not touched: "+after+", "+last+".",
		"If it stays down, restart it alone: `neo4jctl restart cluster graph-prod --member "+victim+"`.",
		"Resume with `neo4jctl restart cluster graph-prod --from "+after+"`.")
	if took := s.sim.Now().Sub(t0); took > 8*time.Minute {
		t.Errorf("gave up after %s", took)
	}
	if r := s.restarted(); r[after]+r[last] != 0 || r[victim] != 1 {
		t.Errorf("restarts %v: %s must be untouched", r, after)
	}
	s.quorumKept(t)

	// the repair: once it can run, the member named alone is restarted although it is down
	delete(s.hang, victim)
	if code, _, stderr = a.cli("", "restart", "cluster", "graph-prod", "--member", victim, "--yes"); code != 0 {
		t.Fatalf("repair: exit %d\n%s", code, stderr)
	}
	mustContain(t, "repair", stderr, "stopped before "+after+" is kept: resume it afterwards with --from "+after)
	if code, _, stderr = a.cli("", "restart", "cluster", "graph-prod", "--from", after, "--yes"); code != 0 {
		t.Fatalf("resume after the repair: exit %d\n%s", code, stderr)
	}
	mustContain(t, "resume", stderr, fmt.Sprintf("Rolling %s, %s (one at a time, gated); skipping replicas, %s (before --from)", after, last, victim))
	if r := s.restarted(); r[after] != 1 || r[last] != 1 || r[victim] != 2 {
		t.Errorf("restarts %v", r)
	}
}

// Members that do not exist or are not running are refused before anything is touched.
func TestRestartRefusals(t *testing.T) {
	a, s, _ := formedProduction(t, twoDatabases(3, 2))
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--member", "core-9"}, exitUsage, "--member core-9: the cluster has no such member (members: core-1, core-2, core-3, replicas)"},
		{[]string{"--member", "primary-1"}, exitUsage, `"primary-1" is not a member: name core-N or replicas`},
		{[]string{"--from", "core-7"}, exitUsage, "--from core-7: the cluster has no such member"},
		{[]string{"--member-timeout", "0s"}, exitUsage, "--member-timeout 0s: give a positive duration"},
	}
	for _, tc := range cases {
		code, _, stderr := a.cli("", append([]string{"restart", "cluster", "graph-prod", "--yes"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d\n%s", tc.args, code, stderr)
		}
	}
	s.scale(t, "core-3", 0)
	code, _, stderr := a.cli("", "restart", "cluster", "graph-prod", "--yes")
	if code != exitFailed || !strings.Contains(stderr, "core-3 is not running (its ECS service wants no task)") {
		t.Errorf("a stopped member: exit %d\n%s", code, stderr)
	}
	if code, _, stderr = a.cli("", "restart", "cluster", "graph-none", "--yes"); code != exitFailed || !strings.Contains(stderr, "no cluster graph-none in eu-west-1") {
		t.Errorf("no such cluster: exit %d\n%s", code, stderr)
	}
	if len(s.restarted()) != 0 {
		t.Errorf("refusals restarted %v", s.restarted())
	}
}
