package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

// syncBuffer is an output a test reads while the CLI still writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls out until it holds every want, or fails after a minute.
func waitFor(t *testing.T, out *syncBuffer, want ...string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		missing := ""
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				missing = w
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("output never showed %q:\n%s", missing, out.String())
		}
	}
}

// follow runs the CLI until the returned stop is called; stop returns its exit code.
func (a *motoAccount) follow(out, errOut *syncBuffer, args ...string) (stop func() int) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- a.runCtx(ctx, args, streams{in: strings.NewReader(""), out: out, err: errOut}) }()
	return func() int { cancel(); return <-done }
}

// TestLogsMoto: logs reads the streams the cluster's containers, the agent, the boot script,
// the backup tasks and the admin function write into moto's CloudWatch Logs: interleaved by
// time with the member in front, narrowed by member, log and text, as JSON lines, and
// followed (by polling, also when --live-tail finds no Live Tail).
func TestLogsMoto(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	name := "graph-prod"
	a.backupCluster(name)
	group, lambdaGroup := naming.LogGroup(name), naming.LambdaLogGroup(name)
	t0 := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Second)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	a.putLogs(group, "core-1/neo4j/0a1b2c3d4e5f", at(1), "2026 INFO  Starting...")
	a.putLogs(group, "core-2/neo4j/9f8e7d6c5b4a", at(2), "2026 INFO  Discovery: core-1 joined")
	a.putLogs(group, "replica/neo4j/abcdef0123456789", at(3), "2026 INFO  replica caught up")
	a.putLogs(group, "core-1/neo4j/0a1b2c3d4e5f", at(4), "2026 ERROR Raft: lost contact with core-3")
	a.putLogs(group, "core-2/neo4j/9f8e7d6c5b4a", at(5), "2026 INFO  Started.")
	a.putLogs(group, "core-1/query", at(6), "2026 INFO  1203 ms: MATCH (n) RETURN count(n)")
	a.putLogs(group, "core-1/boot", at(0), "attach-volume: vol-0123 attached as /dev/nvme1n1, mounted at /data/neo4j")
	a.putLogs(group, "backup/backup/7c6b5a4938271605", at(7), `{"event":"neo4jctl.backup","backup":"ok"}`)
	day := t0.Format("2006/01/02")
	a.putLogs(lambdaGroup, day+"/"+naming.Function(name, naming.HandlerAdmin)+"[$LATEST]e1f2", at(8), `{"level":"INFO","msg":"status request"}`)
	a.putLogs(lambdaGroup, day+"/"+naming.Function(name, naming.HandlerDNSSync)+"[$LATEST]d3c4", at(9), `{"level":"INFO","msg":"dns sync"}`)

	code, stdout, stderr := a.cli("", "logs", name)
	if code != 0 {
		t.Fatalf("logs: exit %d\n%s", code, stderr)
	}
	want := "[core-1] 2026 INFO  Starting...\n" +
		"[core-2] 2026 INFO  Discovery: core-1 joined\n" +
		"[replica/abcdef01] 2026 INFO  replica caught up\n" +
		"[core-1] 2026 ERROR Raft: lost contact with core-3\n" +
		"[core-2] 2026 INFO  Started.\n"
	if stdout != want {
		t.Errorf("logs, every member interleaved by time:\n%s\nwant:\n%s", stdout, want)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--member", "core-2"}, "[core-2] 2026 INFO  Discovery: core-1 joined\n[core-2] 2026 INFO  Started.\n"},
		{[]string{"--member", "replicas"}, "[replica/abcdef01] 2026 INFO  replica caught up\n"},
		{[]string{"--slow-queries"}, "[core-1] 2026 INFO  1203 ms: MATCH (n) RETURN count(n)\n"},
		{[]string{"--boot", "--member", "core-1"}, "[core-1] attach-volume: vol-0123 attached as /dev/nvme1n1, mounted at /data/neo4j\n"},
		{[]string{"--member", "backup"}, "[backup/7c6b5a49] {\"event\":\"neo4jctl.backup\",\"backup\":\"ok\"}\n"},
		{[]string{"--member", "admin"}, "[admin] {\"level\":\"INFO\",\"msg\":\"status request\"}\n"},
		{[]string{"--grep", "ERROR"}, "[core-1] 2026 ERROR Raft: lost contact with core-3\n"},
		{[]string{"--grep", "core-1 joined", "--timestamps"}, "[core-2] " + at(2).Format("2006-01-02T15:04:05.000Z") + " 2026 INFO  Discovery: core-1 joined\n"},
		{[]string{"--since", at(4).Format(time.RFC3339)}, "[core-1] 2026 ERROR Raft: lost contact with core-3\n[core-2] 2026 INFO  Started.\n"},
	} {
		code, stdout, stderr := a.cli("", append([]string{"logs", name}, tc.args...)...)
		if code != 0 || stdout != tc.want {
			t.Errorf("logs %v: exit %d\n%s\nwant:\n%s\n%s", tc.args, code, stdout, tc.want, stderr)
		}
	}
	// JSON lines
	code, stdout, _ = a.cli("", "logs", name, "--member", "core-1", "-o", "json")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var first ops.LogLine
	if code != 0 || len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &first) != nil || first.Member != "core-1" ||
		first.Stream != "core-1/neo4j/0a1b2c3d4e5f" || !first.Time.Equal(at(1)) || first.Message != "2026 INFO  Starting..." {
		t.Errorf("-o json: exit %d\n%s", code, stdout)
	}
	// what has no stream says so, naming the members that have some
	code, _, stderr = a.cli("", "logs", name, "--member", "core-3")
	if code != exitFailed || !strings.Contains(stderr, "no log streams of core-3 since ") || !strings.Contains(stderr, "(streams exist for backup, core-1, core-2, replica/abcdef01)") {
		t.Errorf("core-3: exit %d %s", code, stderr)
	}
	code, _, stderr = a.cli("", "logs", "nope")
	if code != exitFailed || !strings.Contains(stderr, "there is no log group /neo4jctl/nope") {
		t.Errorf("unknown cluster: exit %d %s", code, stderr)
	}
	for _, args := range [][]string{{"--member", "replicas", "--boot"}, {"--member", "backup", "--debug"}, {"--member", "core-0"}, {"--since", "yesterday"}, {"--debug", "--boot"}} {
		if code, _, stderr := a.cli("", append([]string{"logs", name}, args...)...); code != exitUsage {
			t.Errorf("logs %v: exit %d, want 2\n%s", args, code, stderr)
		}
	}

	// --follow: lines written later come out as they arrive, a new task's stream too;
	// --live-tail finds no Live Tail in moto and polls the same way
	a.hooks.pollInterval = 20 * time.Millisecond
	for _, mode := range []string{"--follow", "--live-tail"} {
		var out, errOut syncBuffer
		stop := a.follow(&out, &errOut, "logs", name, "--member", "core-2", mode, "--since", "5m")
		a.putLogs(group, "core-2/neo4j/9f8e7d6c5b4a", time.Now(), "2026 INFO  "+mode+" one")
		waitFor(t, &out, "[core-2] 2026 INFO  "+mode+" one\n")
		a.putLogs(group, "core-2/neo4j/11112222333344445555", time.Now(), "2026 INFO  "+mode+" from the new task")
		waitFor(t, &out, "[core-2] 2026 INFO  "+mode+" from the new task\n")
		if code := stop(); code != 0 {
			t.Errorf("%s ended with exit %d: %s", mode, code, errOut.String())
		}
		if n := strings.Count(out.String(), mode+" one"); n != 1 {
			t.Errorf("%s printed a line %d times:\n%s", mode, n, out.String())
		}
		if mode == "--live-tail" && !strings.Contains(errOut.String(), "Live Tail is not available here (the endpoint answered HTTP 500); polling") {
			t.Errorf("--live-tail on moto: %s", errOut.String())
		}
	}
}
