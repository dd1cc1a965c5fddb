package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/neo4jctl/neo4jctl/internal/clustersim"
	"github.com/neo4jctl/neo4jctl/internal/testbed"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// getJSON is `get cluster NAME -o json`, decoded.
type clusterJSON struct {
	Status, Neo4jUnavailable string
	StatusDetail             []string
	Members                  []struct {
		Name   string
		Server *struct{ State, Health, Version string }
	}
	Neo4j *struct {
		Via, Edition, Version, ServersNote string
		Servers                            []struct{ Member, State, Health string }
		Databases                          []struct {
			Name, RequestedStatus, CurrentStatus, LeaderMember string
			Lag                                                []struct {
				Member string
				Behind int64
			}
		}
	}
}

func (a *motoAccount) getJSON(name string, extra ...string) clusterJSON {
	a.t.Helper()
	code, stdout, stderr := a.cli("", append([]string{"get", "cluster", name, "-o", "json"}, extra...)...)
	if code != 0 {
		a.t.Fatalf("get: exit %d\n%s", code, stderr)
	}
	var v clusterJSON
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		a.t.Fatalf("get -o json: %v\n%s", err, stdout)
	}
	return v
}

func TestCreateWaitsUntilNeo4jHasFormedTheCluster(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	vpc, subnets := a.network("10.30", "a", "b", "c")
	s := a.simulate("graph-prod", 3, 2)
	code, stdout, stderr := a.cli("", "create", "cluster", "-f", productionConfig(t, vpc, subnets))
	if code != 0 {
		t.Fatalf("create: exit %d\n%s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout: %q", stdout)
	}
	mustContain(t, "create", stderr,
		"neo4jctl-graph-prod-operations CREATE_COMPLETE",
		"Waiting for Neo4j to form cluster graph-prod: 3 core members and 2 replicas to join, system and the default database online (at most 20m0s)",
		"core-1 joined (1 of 3)", "core-2 joined (2 of 3)", "core-3 joined (3 of 3)", "replica joined (1 of 2)", "replica joined (2 of 2)",
		"Cluster graph-prod formed", "Done: cluster graph-prod created in eu-west-1 and formed.")
	if strings.Index(stderr, "core-3 joined") < strings.Index(stderr, "operations CREATE_COMPLETE") || strings.Index(stderr, "Done:") < strings.Index(stderr, "Cluster graph-prod formed") {
		t.Errorf("the wait comes after the stacks and before Done:\n%s", stderr)
	}
	if v := s.sim.View(); !v.Ready() {
		t.Errorf("create returned before the simulator says formed: %+v", v)
	}
	if n := s.invokes.Load(); n < 2 || n > 20 {
		t.Errorf("%d admin invocations: the wait polls, one short request each", n)
	}

	// the formed cluster as get shows it
	v := a.getJSON("graph-prod")
	if v.Status != "ready" || v.Neo4j == nil || v.Neo4j.Edition != "enterprise" || len(v.Neo4j.Servers) != 5 || v.Members[1].Server == nil || v.Members[1].Server.State != "Enabled" {
		t.Fatalf("get after create: %+v", v)
	}
	_, table, _ := a.cli("", "get", "cluster", "graph-prod")
	mustContain(t, "get table", table, "STATUS    ready\n", "NEO4J     5.26.30 enterprise (through the admin function neo4jctl-graph-prod-operations)",
		"SERVER", "core-2.graph-prod.neo4j.internal:7687  Enabled  Available  5.26.30  system,neo4j", "DATABASE", "neo4j     online     online")
}

func TestCreateTimesOutNamingTheMemberThatNeverStarts(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	a.simulate("graph-dev", 3, 0, "core-2")
	code, _, stderr := a.cli("", "create", "cluster", "-f", "../../examples/minimal.yaml", "--timeout", "6m")
	if code != exitFailed {
		t.Fatalf("create: exit %d\n%s", code, stderr)
	}
	mustContain(t, "timeout", stderr, "neo4jctl-graph-dev-operations CREATE_COMPLETE",
		"Error: cluster graph-dev did not form in time; its stacks are complete, Neo4j is not ready:",
		"  - core-2: 0 of 1 tasks running\n",
		"  - Neo4j does not answer: unavailable:",
		"See what is wrong with `neo4jctl diagnose graph-dev`")
	for _, m := range []string{"core-1: 0 of", "core-3: 0 of", "joined ("} {
		if strings.Contains(stderr, m) {
			t.Errorf("only core-2 is missing, yet stderr says %q:\n%s", m, stderr)
		}
	}
	// get agrees: the members that run wait for the third, Neo4j has not formed
	v := a.getJSON("graph-dev")
	if v.Status != "degraded" || !strings.Contains(strings.Join(v.StatusDetail, ";"), "core-2: 0 of 1 tasks running") {
		t.Errorf("get: %+v", v)
	}
	// --wait=false returns at the stacks; --detach does not wait at all
	a2 := newMotoAccount(t, "eu-west-1")
	a2.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	s2 := a2.simulate("graph-dev", 3, 0, "core-1", "core-2", "core-3")
	code, _, stderr = a2.cli("", "create", "cluster", "-f", "../../examples/minimal.yaml", "--wait=false")
	if code != 0 || strings.Contains(stderr, "Waiting for Neo4j") || s2.invokes.Load() != 0 {
		t.Fatalf("--wait=false: exit %d, %d invocations\n%s", code, s2.invokes.Load(), stderr)
	}
}

// get shows the verdict of Neo4j's state, through the admin Lambda's real JSON path.
func TestGetShowsReadyDegradedAndNoQuorum(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	s := a.simulate("graph-dev", 3, 0)
	if code, _, stderr := a.cli("", "create", "cluster", "-f", "../../examples/minimal.yaml"); code != 0 {
		t.Fatalf("create: %s", stderr)
	}
	if v := a.getJSON("graph-dev"); v.Status != "ready" {
		t.Fatalf("formed: %+v", v)
	}
	// core-3's process hangs: ECS still runs its task, Neo4j has it Unavailable
	s.sim.Fault("core-3", clustersim.NeverAvailable)
	s.sim.Advance(30 * time.Second)
	v := a.getJSON("graph-dev")
	if v.Status != "degraded" || !strings.Contains(strings.Join(v.StatusDetail, ";"), "core-3 is Unavailable") || v.Members[2].Server.Health != "Unavailable" {
		t.Fatalf("one core Unavailable: %+v", v)
	}
	_, table, _ := a.cli("", "get", "cluster", "graph-dev")
	mustContain(t, "get table", table, "STATUS    degraded (core-3 is Unavailable;", "core-3.graph-dev.neo4j.internal:7687  Enabled  Unavailable")
	// and core-2's: no majority of the system database's primaries
	s.sim.Fault("core-2", clustersim.NeverAvailable)
	s.sim.Advance(30 * time.Second)
	if v := a.getJSON("graph-dev"); v.Status != "no-quorum" || !strings.Contains(strings.Join(v.StatusDetail, ";"), "system: 1 primaries online, a majority is 2") {
		t.Fatalf("two cores Unavailable: %+v", v)
	}
	// back, then stopped on purpose
	s.sim.Fault("core-2", clustersim.NoFault)
	s.sim.Fault("core-3", clustersim.NoFault)
	s.sim.AdvanceUntil(clustersim.View.Ready, 5*time.Minute)
	if v := a.getJSON("graph-dev"); v.Status != "ready" {
		t.Fatalf("recovered: %+v", v)
	}
	for i := 1; i <= 3; i++ {
		s.scale(t, naming.CoreService(i), 0)
	}
	if v := a.getJSON("graph-dev"); v.Status != "stopped" || v.Neo4jUnavailable == "" {
		t.Fatalf("stopped: %+v", v)
	}
	// every cluster at once: one invocation each
	before := s.invokes.Load()
	_, all, _ := a.cli("", "get", "cluster")
	mustContain(t, "get all", all, "graph-dev", "stopped")
	if s.invokes.Load() != before+1 {
		t.Errorf("get of every cluster made %d invocations for one cluster", s.invokes.Load()-before)
	}
	// --bolt-uri reaches one cluster only
	code, _, stderr := a.cli("", "get", "cluster", "--bolt-uri", "bolt://localhost:7687")
	if code != exitUsage || !strings.Contains(stderr, "--bolt-uri reaches one cluster: name it") {
		t.Errorf("get all with --bolt-uri: exit %d\n%s", code, stderr)
	}
}

// createMinimal makes examples/minimal.yaml's stacks in this account (no wait: moto runs no
// Neo4j).
func (a *motoAccount) createMinimal() {
	a.t.Helper()
	a.pushImage(naming.DefaultImageRepository, defaultImageTag("5.26.30"))
	if code, _, stderr := a.cli("", "create", "cluster", "-f", "../../examples/minimal.yaml", "--wait=false"); code != 0 {
		a.t.Fatalf("create: exit %d\n%s", code, stderr)
	}
}

// The Bolt path against the real Neo4j 5.26 test server (Community): its databases,
// version and edition, and why server states are missing.
func TestGetOverBoltShowsTheRealServer(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.createMinimal()
	n := testbed.SharedNeo4j(t)
	t.Setenv("NEO4J_USERNAME", n.User)
	t.Setenv("NEO4J_PASSWORD", n.Password)
	v := a.getJSON("graph-dev", "--bolt-uri", n.BoltURI)
	if v.Neo4j == nil {
		t.Fatalf("no Neo4j view: %s", v.Neo4jUnavailable)
	}
	if v.Neo4j.Edition != "community" || !strings.HasPrefix(v.Neo4j.Version, "5.26.") || v.Neo4j.Via != "--bolt-uri "+n.BoltURI ||
		v.Neo4j.ServersNote != "SHOW SERVERS is Enterprise only (this server is community)" || len(v.Neo4j.Servers) != 0 {
		t.Fatalf("neo4j view: %+v", v.Neo4j)
	}
	dbs := map[string]string{}
	for _, d := range v.Neo4j.Databases {
		dbs[d.Name] = d.RequestedStatus + "/" + d.CurrentStatus
	}
	if dbs["neo4j"] != "online/online" || dbs["system"] != "online/online" || len(dbs) != 2 {
		t.Fatalf("databases: %v", dbs)
	}
	_, table, _ := a.cli("", "get", "cluster", "graph-dev", "--bolt-uri", n.BoltURI)
	mustContain(t, "get table", table, "NEO4J     "+v.Neo4j.Version+" community (through the --bolt-uri "+n.BoltURI+")",
		"SERVERS  unknown: SHOW SERVERS is Enterprise only (this server is community)", "neo4j     online     online   127.0.0.1:7687", "system    online     online   127.0.0.1:7687")
}

// What goes wrong on a --bolt-uri run is one line, and get still shows what AWS knows.
func TestGetOverBoltSaysWhyNeo4jIsMissing(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.createMinimal()
	n := testbed.SharedNeo4j(t)
	port := strings.TrimPrefix(n.BoltURI, "bolt://127.0.0.1:")

	// neo4j:// routes to the address the server advertises (127.0.0.1:7687), not the one
	// this machine reached it at: as a cluster behind a tunnel hands out core-N names
	t.Setenv("NEO4J_USERNAME", n.User)
	t.Setenv("NEO4J_PASSWORD", n.Password)
	v := a.getJSON("graph-dev", "--bolt-uri", "neo4j://127.0.0.1:"+port)
	mustContain(t, "neo4j:// through a tunnel", v.Neo4jUnavailable, "--bolt-uri neo4j://127.0.0.1:"+port+": unreachable",
		"Neo4j routes to the member 127.0.0.1:7687, which cannot be reached from here", "through a tunnel to one member use bolt://127.0.0.1:"+port)
	if v.Neo4j != nil || len(v.Members) != 3 {
		t.Errorf("view: %+v", v)
	}

	// a wrong password
	t.Setenv("NEO4J_PASSWORD", "not-the-password")
	v = a.getJSON("graph-dev", "--bolt-uri", n.BoltURI)
	mustContain(t, "wrong password", v.Neo4jUnavailable, "refused login (user neo4j, from NEO4J_USERNAME/NEO4J_PASSWORD", "unauthorized")
	if strings.Contains(v.Neo4jUnavailable, "not-the-password") {
		t.Error("the password is in the message")
	}

	// no variables: the cluster's admin secret, read from Secrets Manager
	t.Setenv("NEO4J_USERNAME", "")
	t.Setenv("NEO4J_PASSWORD", "")
	v = a.getJSON("graph-dev", "--bolt-uri", n.BoltURI)
	mustContain(t, "the stack's own secret", v.Neo4jUnavailable, "refused login (user neo4j, from the admin secret neo4jctl/graph-dev/admin")
	a.putSecret("neo4jctl/graph-dev/admin", `{"username":"neo4j","password":"`+n.Password+`"}`)
	if v = a.getJSON("graph-dev", "--bolt-uri", n.BoltURI); v.Neo4j == nil || v.Neo4j.Edition != "community" {
		t.Fatalf("with the admin secret holding the password: %s", v.Neo4jUnavailable)
	}

	// a URI with a password in it is refused, without echoing it
	code, _, stderr := a.cli("", "get", "cluster", "graph-dev", "--bolt-uri", "bolt://neo4j:hunter2@127.0.0.1:"+port)
	if code != exitUsage || strings.Contains(stderr, "hunter2") || !strings.Contains(stderr, "set NEO4J_USERNAME and NEO4J_PASSWORD instead") {
		t.Errorf("user info in --bolt-uri: exit %d\n%s", code, stderr)
	}
}

func (a *motoAccount) putSecret(name, value string) {
	a.t.Helper()
	_, err := secretsmanager.NewFromConfig(a.cfg).PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(value)})
	if err != nil {
		a.t.Fatalf("PutSecretValue %s: %v", name, err)
	}
}

// queueLambdaAnswers queues what moto's Lambda (without Docker) answers the next invocations
// in this account, through moto's API.
func (a *motoAccount) queueLambdaAnswers(answers ...string) {
	a.t.Helper()
	body, _ := json.Marshal(map[string]any{"account_id": a.account, "region": a.region, "results": answers})
	resp, err := http.Post(testbed.SharedMoto(a.t).Endpoint()+"/moto-api/static/lambda-simple/response", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusCreated {
		a.t.Fatalf("queueing Lambda answers: %v %v", err, resp)
	}
	resp.Body.Close()
}

// The Lambda path against moto: the SDK's real Invoke over HTTP, answers queued in moto.
func TestGetThroughTheAdminLambdaOnMoto(t *testing.T) {
	a := newMotoAccount(t, "eu-west-1")
	a.createMinimal()
	// nothing queued: moto answers the request itself, which is no admin answer
	v := a.getJSON("graph-dev")
	mustContain(t, "moto's echo", v.Neo4jUnavailable, `admin function neo4jctl-graph-dev-operations: not an answer (it answered "{\"type\":\"health\"}")`)

	// the admin function's answer for a formed cluster (made by its real handler on a
	// simulated cluster), and moto's services running
	sim := clustersim.New(clustersim.Config{Cores: 3, Namespace: "graph-dev.neo4j.internal"})
	sim.Apply(clustersim.Services{"core-1": {Running: 1}, "core-2": {Running: 1}, "core-3": {Running: 1}})
	sim.AdvanceUntil(clustersim.View.Ready, 5*time.Minute)
	answer, err := sim.Invoke(context.Background(), []byte(`{"type":"health"}`))
	if err != nil {
		t.Fatal(err)
	}
	s := &simulated{a: a, cluster: "graph-dev"}
	for i := 1; i <= 3; i++ {
		s.scale(t, naming.CoreService(i), 1)
	}
	a.queueLambdaAnswers(string(answer), `{"type":"health","ok":false,"contractVersion":2,"error":{"code":"unavailable","message":"reading the Neo4j edition: Neo4j not reachable: ConnectivityError: Unable to retrieve routing information"}}`)
	v = a.getJSON("graph-dev")
	if v.Status != "ready" || v.Neo4j == nil || len(v.Neo4j.Servers) != 3 || v.Members[0].Server == nil || v.Members[0].Server.State != "Enabled" {
		t.Fatalf("with the admin function's answer: %+v", v)
	}
	// Neo4j not reachable from the function while every member runs: forming
	v = a.getJSON("graph-dev")
	if v.Status != "forming" || !strings.Contains(v.Neo4jUnavailable, "unavailable: reading the Neo4j edition") {
		t.Fatalf("unavailable: %+v", v)
	}
}
