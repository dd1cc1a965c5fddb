package testbed

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

const (
	neo4jStartTimeout = 120 * time.Second
	neo4jStopTimeout  = 15 * time.Second
	// neo4jJar is built by scripts/test-deps.sh; its manifest puts lib/ on the class path.
	neo4jJar = "test/neo4j/target/neo4j-testserver.jar"
)

// The JVM flags live in test/neo4j/jvm.args (a java @argfile) so that
// scripts/test-deps.sh records its class-data-sharing archive (neo4jJSA) with
// exactly the flags used here: a small heap, the serial collector and C1 only.
const (
	neo4jJVMArgs = "test/neo4j/jvm.args"
	neo4jJSA     = "test/neo4j/target/neo4j-testserver.jsa"
)

// Neo4j is a running Neo4j 5.26 (community, neo4j-harness) server on
// 127.0.0.1 with authentication on. The password is random per start.
type Neo4j struct {
	BoltURI  string // bolt://127.0.0.1:PORT
	HTTPURI  string // http://127.0.0.1:PORT
	User     string // "neo4j"
	Password string // random, made for this run

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	exited chan struct{}
	logs   *tailBuffer
	close  sync.Once
}

// findJava returns $JAVA_HOME/bin/java, the Debian Java 17, or java on PATH.
func findJava() (string, error) {
	var tried []string
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", "java")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	p := "/usr/lib/jvm/java-17-openjdk-amd64/bin/java"
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	tried = append(tried, p)
	if p, err := exec.LookPath("java"); err == nil {
		return p, nil
	}
	tried = append(tried, "java on PATH")
	return "", fmt.Errorf("testbed: Java 17+ not found (looked for %s); install a JDK 17 (e.g. apt-get install openjdk-17-jdk-headless) or set JAVA_HOME", strings.Join(tried, ", "))
}

// findNeo4jJar returns the built test server and checks it is not older than
// its sources.
func findNeo4jJar() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	jar := filepath.Join(root, neo4jJar)
	fi, err := os.Stat(jar)
	if err != nil {
		return "", fmt.Errorf("testbed: Neo4j test server %s not built; %s", jar, fixHint)
	}
	stale := ""
	_ = filepath.Walk(filepath.Join(root, "test", "neo4j", "src"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && info.ModTime().After(fi.ModTime()) {
			stale = p
			return filepath.SkipAll
		}
		return nil
	})
	if pom, err := os.Stat(filepath.Join(root, "test", "neo4j", "pom.xml")); err == nil && pom.ModTime().After(fi.ModTime()) {
		stale = pom.Name()
	}
	if stale != "" {
		return "", fmt.Errorf("testbed: Neo4j test server %s is older than %s; %s", jar, stale, fixHint)
	}
	return jar, nil
}

// StartNeo4j starts the Neo4j test server and returns once it accepts Bolt
// connections as user neo4j with a fresh random password. Close stops it (the
// server also stops when the test binary dies, as its stdin closes).
func StartNeo4j(ctx context.Context) (*Neo4j, error) {
	java, err := findJava()
	if err != nil {
		return nil, err
	}
	jar, err := findNeo4jJar()
	if err != nil {
		return nil, err
	}
	password := rand.Text() // 26 base32 characters, new every run
	root, _ := RepoRoot()
	args := []string{"@" + filepath.Join(root, neo4jJVMArgs)}
	if jsa, err := os.Stat(filepath.Join(root, neo4jJSA)); err == nil {
		if jf, err := os.Stat(jar); err == nil && jsa.ModTime().After(jf.ModTime()) {
			args = append(args, "-XX:SharedArchiveFile="+filepath.Join(root, neo4jJSA))
		}
	}
	args = append(args, "-jar", jar)
	cmd := exec.Command(java, args...)
	cmd.Env = append(os.Environ(), "NEO4J_TEST_PASSWORD="+password)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logs := newTailBuffer(64 << 10)
	cmd.Stderr = logs
	setChildAttrs(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("testbed: starting %s: %w", java, err)
	}
	n := &Neo4j{User: "neo4j", Password: password, cmd: cmd, stdin: stdin, exited: make(chan struct{}), logs: logs}

	ready := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "READY" {
				select {
				case ready <- f[1:]:
				default:
				}
				continue
			}
			fmt.Fprintln(logs, line)
		}
		io.Copy(io.Discard, stdout)
	}()
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(n.exited) }()

	ctx, cancel := context.WithTimeout(ctx, neo4jStartTimeout)
	defer cancel()
	select {
	case uris := <-ready:
		n.BoltURI = strings.TrimSuffix(uris[0], "/")
		n.HTTPURI = strings.TrimSuffix(uris[1], "/")
		return n, nil
	case <-n.exited:
		return nil, fmt.Errorf("testbed: Neo4j test server exited before READY (%v); its output:\n%s", waitErr, indent(logs.String()))
	case <-ctx.Done():
		n.Close()
		return nil, fmt.Errorf("testbed: Neo4j test server not READY: %w; its output:\n%s", ctx.Err(), indent(logs.String()))
	}
}

// Logs returns the last 64 KiB of the server's output.
func (n *Neo4j) Logs() string { return n.logs.String() }

// Driver opens a neo4j-go-driver connection to the server as User/Password.
// The caller closes it.
func (n *Neo4j) Driver() (neo4j.DriverWithContext, error) {
	return neo4j.NewDriverWithContext(n.BoltURI, neo4j.BasicAuth(n.User, n.Password, ""))
}

// Wipe deletes every node and relationship in the default database, for tests
// that share one server.
func (n *Neo4j) Wipe(ctx context.Context) error {
	drv, err := n.Driver()
	if err != nil {
		return err
	}
	defer drv.Close(ctx)
	_, err = neo4j.ExecuteQuery(ctx, drv, "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS", nil,
		neo4j.EagerResultTransformer)
	return err
}

// Close stops the server: stdin is closed so it shuts down cleanly and removes
// its data directory; it is killed if that takes too long. Safe to call twice.
func (n *Neo4j) Close() error {
	n.close.Do(func() {
		n.stdin.Close()
		select {
		case <-n.exited:
		case <-time.After(neo4jStopTimeout):
			killGroup(n.cmd)
			<-n.exited
		}
	})
	return nil
}
