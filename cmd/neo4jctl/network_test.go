package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/awsapi"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/ops"
)

// closedPort is an address on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// hangingPort accepts connections and never answers, like a broken proxy or a firewall that
// drops replies.
func hangingPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// runHooked runs neo4jctl in-process with test hooks and no stdin.
func runHooked(h hooks, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := runWith(context.Background(), args, streams{in: strings.NewReader(""), out: &out, err: &errb}, h)
	return code, out.String(), errb.String()
}

func awsAt(t *testing.T, addr string) {
	t.Setenv("AWS_ENDPOINT_URL", "http://"+addr)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	t.Setenv("NO_COLOR", "1")
}

// An endpoint nobody can reach is named, with the network's reason and what to check;
// never a credentials hint.
func TestUnreachableAWSIsNamed(t *testing.T) {
	cases := []struct {
		name  string
		addr  func(*testing.T) string
		hooks hooks
		cause string
	}{
		{"closed port", closedPort, hooks{}, "connection refused (nothing listens there)"},
		{"accepts and hangs", hangingPort, hooks{answer: 300 * time.Millisecond}, "connected, but no answer within 300ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := tc.addr(t)
			awsAt(t, addr)
			for _, run := range []struct {
				args []string
				what string
			}{
				{[]string{"get", "cluster"}, "listing stacks: cannot reach http://" + addr + " (DescribeStacks): "},
				{[]string{"delete", "cluster", "graph-dev", "--yes"}, "listing stacks: cannot reach http://" + addr + " (DescribeStacks): "},
				{[]string{"create", "cluster", "-f", "../../examples/minimal.yaml"}, "checking AWS credentials (sts:GetCallerIdentity): cannot reach http://" + addr + " (GetCallerIdentity): "},
			} {
				code, stdout, stderr := runHooked(tc.hooks, run.args...)
				if code != exitFailed || stdout != "" {
					t.Fatalf("%v: exit %d, stdout %q\n%s", run.args, code, stdout, stderr)
				}
				mustContain(t, strings.Join(run.args, " "), stderr, "Error: "+run.what+tc.cause, "; "+awsapi.NetworkHint)
				if strings.Contains(stderr, "credentials:") || strings.Contains(stderr, ops.CredentialsHint) || strings.Contains(stderr, "operation error") {
					t.Errorf("%v: a network failure explained as credentials, or the SDK's plumbing shown:\n%s", run.args, stderr)
				}
			}
		})
	}
}

// --timeout bounds any command: at the deadline it stops, says what it was doing and how
// to carry on.
func TestTimeoutBoundsAnyCommand(t *testing.T) {
	awsAt(t, hangingPort(t)) // the default answer timeout is a minute: only --timeout ends it
	start := time.Now()
	code, stdout, stderr := runHooked(hooks{}, "get", "cluster", "--timeout", "500ms")
	if code != exitFailed || stdout != "" {
		t.Fatalf("exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	if waited := time.Since(start); waited > 20*time.Second {
		t.Errorf("--timeout 500ms returned after %s", waited)
	}
	mustContain(t, "stderr", stderr, "Error: stopped by --timeout 500ms: listing stacks: DescribeStacks cut short\nRun the command again, with a longer --timeout.")
	if code, _, stderr := runHooked(hooks{}, "get", "cluster", "--timeout", "-1s"); code != exitUsage || !strings.Contains(stderr, "--timeout -1s is negative") {
		t.Errorf("--timeout -1s: exit %d %s", code, stderr)
	}
}

// A create that runs out of time leaves CloudFormation working, offers no rollback (nobody
// asked to stop), and says how to resume.
func TestCreateRunsOutOfTime(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	f := a.withFake()
	f.stuck["neo4jctl-graph-dev-core-1"] = "CREATE_IN_PROGRESS"
	// the deadline passes while create waits for core-1 (a deadline of the test's, so that a
	// slow machine cannot move it to another step)
	dl := &expiring{done: make(chan struct{})}
	a.hooks.withTimeout = func(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
		if d != 45*time.Minute {
			t.Errorf("--timeout 45m set a deadline of %s", d)
		}
		dl.Context = ctx
		return dl, func() {}
	}
	expire := dl.expire
	var once sync.Once
	f.onStuck = func(string) { once.Do(expire) }
	tty := true
	a.hooks.stdinTTY = &tty
	code, _, stderr := a.cli("y\n", "create", "cluster", "-f", "../../examples/minimal.yaml", "--timeout", "45m")
	if code != exitFailed {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	mustContain(t, "stderr", stderr,
		"Error: create of cluster graph-dev stopped by --timeout; still creating in AWS: neo4jctl-graph-dev-core-1",
		"Resume with `neo4jctl create cluster -f ../../examples/minimal.yaml`")
	if strings.Contains(stderr, "Roll back") || strings.Contains(stderr, "Run the command again") {
		t.Errorf("out of time: a rollback offered, or the generic hint:\n%s", stderr)
	}
	if st := a.stacks("graph-dev"); len(st) < 5 {
		t.Errorf("the stacks made so far must stay: %v", st)
	}
}

// expiring is a context whose deadline passes when the test says so.
type expiring struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func (e *expiring) Done() <-chan struct{} { return e.done }
func (e *expiring) expire()               { e.once.Do(func() { close(e.done) }) }
func (e *expiring) Err() error {
	select {
	case <-e.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
