package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

type execCall struct {
	path string
	argv []string
	env  []string
}

func envOf(kv []string) map[string]string {
	m := map[string]string{}
	for _, x := range kv {
		k, v, _ := strings.Cut(x, "=")
		m[k] = v
	}
	return m
}

func metadataServer(t *testing.T, ip string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"DockerId":"x","Networks":[{"NetworkMode":"awsvpc","IPv4Addresses":[%q]}]}`, ip)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestEntrypoint(t *testing.T) {
	password := rand.Text()
	md := metadataServer(t, "10.0.2.17")
	tests := []struct {
		name     string
		env      map[string]string
		wantErr  string
		wantEnv  map[string]string
		noEnvKey []string
	}{
		{name: "core 5.26", env: map[string]string{
			naming.EnvRole: "core", naming.EnvMember: "core-2", naming.EnvNamespace: "neo4j.internal",
			naming.EnvCoreEndpoints: "core-1.neo4j.internal,core-2.neo4j.internal,core-3.neo4j.internal",
			naming.EnvCoreCount:     "3", naming.EnvNeo4jVersion: "5.26.30", naming.EnvAdminPassword: password,
		}, wantEnv: map[string]string{
			"NEO4J_server_default__advertised__address":     "core-2.neo4j.internal",
			"NEO4J_server_cluster_raft_advertised__address": "core-2.neo4j.internal:7000",
			"NEO4J_dbms_cluster_discovery_version":          "V2_ONLY",
			"NEO4J_dbms_cluster_discovery_v2_endpoints":     "core-1.neo4j.internal:6000,core-2.neo4j.internal:6000,core-3.neo4j.internal:6000",
			"NEO4J_initial_dbms_default__primaries__count":  "3",
			"NEO4J_AUTH": "neo4j/" + password,
		}, noEnvKey: []string{naming.EnvAdminPassword, "NEO4J_initial_server_mode__constraint", "NEO4J_dbms_cluster_endpoints"}},
		{name: "core 2025 with a template override", env: map[string]string{
			naming.EnvMember: "core-1", naming.EnvNamespace: "ns", naming.EnvCoreEndpoints: "core-1.ns:6000",
			naming.EnvNeo4jVersion: "2025.10.1", naming.EnvAdminPassword: password,
			"NEO4J_server_default__advertised__address": "custom.example",
		}, wantEnv: map[string]string{
			"NEO4J_dbms_cluster_endpoints":              "core-1.ns:6000",
			"NEO4J_server_default__advertised__address": "custom.example",
		}, noEnvKey: []string{"NEO4J_dbms_cluster_discovery_version"}},
		{name: "replica from task metadata", env: map[string]string{
			naming.EnvRole: "replica", naming.EnvNamespace: "ns", naming.EnvAdminPassword: password,
			"ECS_CONTAINER_METADATA_URI_V4": md.URL,
		}, wantEnv: map[string]string{
			"NEO4J_server_default__advertised__address":     "10.0.2.17",
			"NEO4J_server_cluster_advertised__address":      "10.0.2.17:6000",
			"NEO4J_server_cluster_raft_advertised__address": "10.0.2.17:7000",
			"NEO4J_server_routing_advertised__address":      "10.0.2.17:7688",
			"NEO4J_initial_server_mode__constraint":         "SECONDARY",
		}},
		{name: "no password", env: map[string]string{naming.EnvMember: "core-1", naming.EnvNamespace: "ns"}, wantErr: naming.EnvAdminPassword},
		{name: "replica outside ECS", env: map[string]string{naming.EnvRole: "replica", naming.EnvAdminPassword: password}, wantErr: "ECS_CONTAINER_METADATA_URI_V4"},
		{name: "bad role", env: map[string]string{naming.EnvRole: "arbiter", naming.EnvAdminPassword: password}, wantErr: "want core or replica"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			var call *execCall
			data := t.TempDir()
			if err := os.WriteFile(filepath.Join(data, naming.VolumeMarker), []byte("vol-0123"), 0o644); err != nil {
				t.Fatal(err)
			}
			tt.env[naming.EnvDataDir] = data
			tt.env[naming.EnvReadWritePassword] = password + "rw"
			environ := []string{"PATH=/usr/bin"}
			for k, v := range tt.env {
				environ = append(environ, k+"="+v)
			}
			run := RunState{Dir: t.TempDir()}
			var workerEnv []string
			err := Entrypoint(context.Background(), EntrypointOptions{
				Env: MapEnv(tt.env), Stdout: &stdout, Stderr: &stderr, Environ: environ, Run: &run, Pid: 4242,
				StartWorker: func(ctx context.Context, env []string) error { workerEnv = env; return nil },
				Exec: func(path string, argv, envv []string) error {
					if run.InSetup() {
						t.Error("setup marker still there when Neo4j starts")
					}
					call = &execCall{path, argv, envv}
					return nil
				},
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			out := stdout.String() + stderr.String()
			if err != nil {
				out += err.Error()
			}
			if strings.Contains(out, password) {
				t.Fatal("the admin password was printed")
			}
			if tt.wantErr != "" {
				return
			}
			if call.path != OfficialEntrypoint || !slices.Equal(call.argv, []string{OfficialEntrypoint, "neo4j"}) {
				t.Errorf("exec %s %q", call.path, call.argv)
			}
			got := envOf(call.env)
			for k, v := range tt.wantEnv {
				if got[k] != v {
					t.Errorf("%s=%q, want %q", k, got[k], v)
				}
			}
			for _, k := range tt.noEnvKey {
				if _, ok := got[k]; ok {
					t.Errorf("%s must not be set", k)
				}
			}
			if got["PATH"] != "/usr/bin" {
				t.Error("environment not handed on")
			}
			if got["NEO4J_dbms_databases_seed__from__uri__providers"] != naming.SeedProviders {
				t.Error("no seed provider for online seeding")
			}
			if _, ok := got[naming.EnvReadWritePassword]; ok {
				t.Error("a user password was handed to Neo4j")
			}
			we := envOf(workerEnv)
			if we[naming.EnvAdminPassword] != password || we[naming.EnvReadWritePassword] != password+"rw" || we[naming.EnvRole] == "" {
				t.Error("the worker did not get the agent's environment")
			}
			if pid, ok := run.Pid(); !ok || pid != 4242 {
				t.Errorf("pid file: %d %v", pid, ok)
			}
		})
	}
}

func TestEntrypointRefusesCoreWithoutVolume(t *testing.T) {
	var stderr bytes.Buffer
	run := RunState{Dir: t.TempDir()}
	called := false
	err := Entrypoint(context.Background(), EntrypointOptions{
		Env: MapEnv(map[string]string{naming.EnvMember: "core-1", naming.EnvNamespace: "ns", naming.EnvAdminPassword: "x",
			naming.EnvDataDir: t.TempDir()}),
		Stdout: &stderr, Stderr: &stderr, Environ: []string{}, Run: &run,
		StartWorker: func(context.Context, []string) error { called = true; return nil },
		Exec:        func(string, []string, []string) error { called = true; return nil },
	})
	if err == nil || !strings.Contains(err.Error(), naming.VolumeMarker) || !strings.Contains(err.Error(), "not mounted") {
		t.Fatalf("err %v", err)
	}
	if called {
		t.Error("Neo4j or the worker started without the data volume")
	}
	// A replica has no volume and starts.
	err = Entrypoint(context.Background(), EntrypointOptions{
		Env: MapEnv(map[string]string{naming.EnvRole: "replica", naming.EnvAdminPassword: "x",
			"ECS_CONTAINER_METADATA_URI_V4": metadataServer(t, "10.0.0.9").URL, naming.EnvDataDir: t.TempDir()}),
		Stdout: &stderr, Stderr: &stderr, Environ: []string{}, Run: &run,
		StartWorker: func(context.Context, []string) error { return nil },
		Exec:        func(string, []string, []string) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestHealth(t *testing.T) {
	free := func() int {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		return p
	}
	httpUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"bolt_routing":"neo4j://x:7687"}`))
	}))
	defer httpUp.Close()
	httpPort := httpUp.Listener.Addr().(*net.TCPAddr).Port
	bolt, _ := net.Listen("tcp", "127.0.0.1:0")
	defer bolt.Close()
	go func() {
		for {
			c, err := bolt.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	boltPort := bolt.Addr().(*net.TCPAddr).Port
	type ports struct{ http, bolt int }
	up, onlyBolt, down := ports{httpPort, free()}, ports{free(), boltPort}, ports{free(), free()}
	tests := []struct {
		name       string
		pid        bool // the entrypoint recorded its pid
		alive      bool
		setup      bool
		started    bool
		ports      ports
		want       HealthState
		ok         bool
		nowStarted bool // the check wrote the started marker
	}{
		{name: "seeding/setup in progress, nothing listens", pid: true, alive: true, setup: true, ports: down, want: HealthSetup, ok: true},
		{name: "setup but the entrypoint died", pid: true, alive: false, setup: true, ports: down, want: HealthGone},
		{name: "slow start: JVM alive, not listening yet", pid: true, alive: true, ports: down, want: HealthStarting, ok: true},
		{name: "first answer marks started", pid: true, alive: true, ports: up, want: HealthUp, ok: true, nowStarted: true},
		{name: "up, only bolt answers (http disabled)", pid: true, alive: true, started: true, ports: onlyBolt, want: HealthUp, ok: true},
		{name: "hung after being up", pid: true, alive: true, started: true, ports: down, want: HealthHung},
		{name: "process gone after being up", pid: true, alive: false, started: true, ports: up, want: HealthGone},
		{name: "no run state: ports answer", ports: up, want: HealthUp, ok: true},
		{name: "no run state: nothing answers", ports: down, want: HealthDown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := RunState{Dir: t.TempDir()}
			if tt.pid {
				if err := run.Begin(777); err != nil {
					t.Fatal(err)
				}
				if !tt.setup {
					run.EndSetup()
				}
			}
			if tt.started {
				run.MarkStarted()
			}
			o := HealthOptions{Env: MapEnv(nil), HTTP: tt.ports.http, Bolt: tt.ports.bolt, Timeout: 2 * time.Second, Run: &run,
				Alive: func(pid int) bool {
					if pid != 777 {
						t.Errorf("pid %d", pid)
					}
					return tt.alive
				}}
			st, _ := CheckHealth(context.Background(), o)
			err := Health(context.Background(), o)
			if st != tt.want || (err == nil) != tt.ok {
				t.Fatalf("state %s err %v, want %s ok=%v", st, err, tt.want, tt.ok)
			}
			if tt.nowStarted && !run.Started() {
				t.Error("started marker not written")
			}
			if !tt.nowStarted && !tt.started && run.Started() {
				t.Error("started marker written without an answer")
			}
		})
	}
	// The real pid check: this process lives, a reaped child does not.
	if !processAlive(os.Getpid()) {
		t.Error("processAlive(self) = false")
	}
}

func TestMainDispatch(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		code int
		out  string
	}{
		{nil, nil, 2, "Usage"},
		{[]string{"version"}, nil, 0, "neo4jctl-agent"},
		{[]string{"frobnicate"}, nil, 2, "unknown command"},
		{[]string{"backup"}, nil, 1, `"backup":"failed"`},
		{[]string{"entrypoint"}, map[string]string{naming.EnvRole: "core", naming.EnvRunDir: os.TempDir() + "/neo4jctl-test-run", naming.EnvDataDir: os.TempDir()}, 1, naming.VolumeMarker},
		{[]string{"backup", "--type=FULL"}, nil, 1, `"type":"FULL"`},
		{[]string{"backup", "--typo"}, nil, 2, "unknown argument"},
		{[]string{"verify"}, nil, 1, `"verify":"failed"`},
		{[]string{"verify", "neo4j"}, nil, 2, naming.EnvVerifyTarget},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), tt.args, MapEnv(tt.env), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String()+stderr.String(), tt.out) {
				t.Fatalf("code %d out %q", code, stdout.String()+stderr.String())
			}
		})
	}
}
