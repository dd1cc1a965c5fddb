package neo4jadmin

import (
	"context"
	"crypto/rand"
	"slices"
	"strings"
	"testing"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

const recorded = "testdata/enterprise-5.26-3cores-1replica.json"

func enterprise(t *testing.T) (*fakeEnterprise, *Client) {
	t.Helper()
	f, err := newFakeEnterprise(recorded)
	if err != nil {
		t.Fatal(err)
	}
	return f, NewWithQuerier(f)
}

func TestEnterpriseStatus(t *testing.T) {
	_, c := enterprise(t)
	resp := Execute(context.Background(), c, Request{Type: ReqStatus}, nil)
	if !resp.OK {
		t.Fatal(resp.Error)
	}
	st := resp.Status
	if st.Edition != "enterprise" || st.Version != "5.26.30" || len(st.Servers) != 5 || len(st.Databases) != 8 || len(st.StatusCheck) != 3 {
		t.Fatalf("status %+v", st)
	}
	if st.Servers[3].ModeConstraint != "SECONDARY" && st.Servers[4].ModeConstraint != "SECONDARY" {
		t.Errorf("mode constraint not parsed")
	}
	var neo Database
	for _, d := range st.Databases {
		if d.Name == "neo4j" && d.Writer {
			neo = d
		}
	}
	if neo.Address != "core-1.neo4j.internal:7687" || neo.RequestedPrimaries == nil || *neo.RequestedPrimaries != 3 {
		t.Errorf("writer row %+v", neo)
	}
	leaders := st.LeadersByServer()
	if leaders["core-1.neo4j.internal:7687"] != 1 || leaders["core-2.neo4j.internal:7687"] != 1 || leaders["core-3.neo4j.internal:7687"] != 0 {
		t.Errorf("leaders %v", leaders)
	}
}

func TestHealthGates(t *testing.T) {
	tests := []struct {
		name     string
		change   func(f *fakeEnterprise)
		opts     GateOptions
		failing  []string // gates that must fail; the rest must pass
		contains string
	}{
		{name: "free server blocks (not all Enabled)", failing: []string{GateServersEnabled}, contains: "is Free"},
		{name: "healthy once the free server is enabled", change: enableFree},
		{name: "server unavailable", change: func(f *fakeEnterprise) {
			enableFree(f)
			f.servers[1]["health"] = "Unavailable"
		}, failing: []string{GateServersAvailable}},
		{name: "database starting", change: func(f *fakeEnterprise) {
			enableFree(f)
			f.databases[2]["currentStatus"] = "starting"
			f.databases[2]["statusMessage"] = "catching up"
		}, failing: []string{GateDatabasesStatus}, contains: "catching up"},
		{name: "a primary missing", change: func(f *fakeEnterprise) {
			enableFree(f)
			f.databases = append(f.databases[:2], f.databases[3:]...)
		}, failing: []string{GateDatabasesHosting}, contains: "2 primaries, requested 3"},
		{name: "lag over the threshold", change: func(f *fakeEnterprise) {
			enableFree(f)
			f.databases[3]["replicationLag"] = int64(-500)
		}, failing: []string{GateReplicationLag}},
		{name: "lag within a custom threshold", change: func(f *fakeEnterprise) {
			enableFree(f)
			f.databases[3]["replicationLag"] = int64(-500)
		}, opts: GateOptions{MaxReplicationLag: 1000}},
		{name: "no leader", change: func(f *fakeEnterprise) {
			enableFree(f)
			f.databases[0]["writer"] = false
		}, failing: []string{GateWriters}},
		{name: "statusCheck replication failed", change: func(f *fakeEnterprise) {
			enableFree(f)
			f.statusChk[2]["replicationSuccessful"] = false
			f.statusChk[2]["error"] = "timeout"
		}, failing: []string{GateStatusCheck}, contains: "timeout"},
		{name: "too few servers", change: enableFree, opts: GateOptions{MinServers: 7}, failing: []string{GateServersEnabled}},
		{name: "statusCheck missing in this version is not a failure", change: func(f *fakeEnterprise) {
			enableFree(f)
			f.failOn["CALL dbms.cluster.statusCheck"] = &neo4j.Neo4jError{Code: "Neo.ClientError.Procedure.ProcedureNotFound", Msg: "There is no procedure with the name `dbms.cluster.statusCheck` registered"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := enterprise(t)
			if tt.change != nil {
				f.mutate(tt.change)
			}
			h, _, err := c.Health(context.Background(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if h.OK != (len(tt.failing) == 0) {
				t.Errorf("OK = %v: %+v", h.OK, h.Gates)
			}
			all := ""
			for _, g := range h.Gates {
				want := !slices.Contains(tt.failing, g.Name)
				if g.OK != want {
					t.Errorf("gate %s ok=%v, want %v (%v)", g.Name, g.OK, want, g.Detail)
				}
				all += strings.Join(g.Detail, "\n")
			}
			if tt.contains != "" && !strings.Contains(all, tt.contains) {
				t.Errorf("details %q lack %q", all, tt.contains)
			}
		})
	}
}

func enableFree(f *fakeEnterprise) { f.servers[4]["state"] = "Enabled" }

func TestEnterpriseEnsureUsersRoles(t *testing.T) {
	f, c := enterprise(t)
	f.passwords["app"] = rand.Text()
	users := []UserSpec{
		{Username: "app", Password: f.passwords["app"], Access: ReadWrite}, // exists with reader: fix role
		{Username: "ro", Password: rand.Text(), Access: ReadOnly},          // new
	}
	src := func(context.Context) ([]UserSpec, error) { return users, nil }
	first := Execute(context.Background(), c, Request{Type: ReqEnsureUsers}, src)
	if !first.OK {
		t.Fatal(first.Error)
	}
	app, ro := first.Users[0], first.Users[1]
	if app.Created || app.PasswordChanged || !slices.Equal(app.RolesGranted, []string{"publisher"}) || !slices.Equal(app.RolesRevoked, []string{"reader"}) {
		t.Errorf("app: %+v", app)
	}
	if !ro.Created || !slices.Equal(ro.RolesGranted, []string{"reader"}) || ro.Note != "" {
		t.Errorf("ro: %+v", ro)
	}
	second := Execute(context.Background(), c, Request{Type: ReqEnsureUsers}, src)
	for _, u := range second.Users {
		if u.Created || u.PasswordChanged || len(u.RolesGranted)+len(u.RolesRevoked) > 0 {
			t.Errorf("second run changed %+v", u)
		}
	}
	for _, s := range f.statements {
		for _, u := range users {
			if strings.Contains(s, u.Password) {
				t.Fatal("a password was put into Cypher text instead of a parameter")
			}
		}
	}
}

func TestEnterpriseServerOps(t *testing.T) {
	const (
		core3 = "0a3f1e2c-1111-4c5a-9d1e-000000000003"
		free  = "9c4d0e21-3333-4f70-9b8c-000000000005"
	)
	state := func(f *fakeEnterprise, name string) string { return f.server(name)["state"].(string) }
	tests := []struct {
		name     string
		setup    func(f *fakeEnterprise)
		req      Request
		wantOK   bool
		wantCode string
		wantStmt string
		noStmt   string // a statement that must not have run
		check    func(t *testing.T, f *fakeEnterprise, r Response)
	}{
		{name: "enable free servers", req: Request{Type: ReqEnableFreeServers}, wantOK: true, wantStmt: "ENABLE SERVER $server",
			check: func(t *testing.T, f *fakeEnterprise, r Response) {
				if len(r.Servers) != 1 || state(f, free) != "Enabled" {
					t.Errorf("%+v", r)
				}
			}},
		{name: "enable one free server by address", req: Request{Type: ReqEnableServer, Server: "10.0.3.41:7687"}, wantOK: true, wantStmt: "ENABLE SERVER $server",
			check: func(t *testing.T, f *fakeEnterprise, r Response) {
				if state(f, free) != "Enabled" || f.lastParams["server"] != free {
					t.Errorf("%+v %v", r, f.lastParams)
				}
			}},
		{name: "enable an enabled server changes nothing", req: Request{Type: ReqEnableServer, Server: core3}, wantOK: true, noStmt: "ENABLE SERVER $server"},
		{name: "enable a cordoned server", setup: func(f *fakeEnterprise) { f.server(core3)["state"] = "Cordoned" },
			req: Request{Type: ReqEnableServer, Server: core3}, wantOK: true, wantStmt: "ENABLE SERVER $server"},
		{name: "enable a deallocating server is refused", setup: func(f *fakeEnterprise) { f.server(core3)["state"] = "Deallocating" },
			req: Request{Type: ReqEnableServer, Server: core3}, wantCode: CodeInvalidRequest, noStmt: "ENABLE SERVER $server"},
		{name: "cordon", req: Request{Type: ReqCordonServer, Server: "core-3.neo4j.internal"}, wantOK: true, wantStmt: "CALL dbms.cluster.cordonServer($server)",
			check: func(t *testing.T, f *fakeEnterprise, r Response) {
				if state(f, core3) != "Cordoned" {
					t.Errorf("state %s", state(f, core3))
				}
			}},
		{name: "cordon a free server is refused", req: Request{Type: ReqCordonServer, Server: free}, wantCode: CodeInvalidRequest},
		{name: "deallocate dry run", req: Request{Type: ReqDeallocateServer, Server: "core-3.neo4j.internal", DryRun: true}, wantOK: true,
			wantStmt: "DRYRUN DEALLOCATE DATABASES FROM SERVER $server", noStmt: "DEALLOCATE DATABASES FROM SERVER $server",
			check: func(t *testing.T, f *fakeEnterprise, r Response) {
				if len(r.Rows) != 1 || len(r.Moves) != 1 || r.Moves[0].ToServerID != free || r.Moves[0].Mode != "primary" || state(f, core3) != "Enabled" {
					t.Errorf("%+v", r)
				}
			}},
		{name: "deallocate by address", req: Request{Type: ReqDeallocateServer, Server: "core-3.neo4j.internal:7687", IdempotencyKey: "k1"}, wantOK: true,
			wantStmt: "DEALLOCATE DATABASES FROM SERVER $server", check: func(t *testing.T, f *fakeEnterprise, r Response) {
				if state(f, core3) != "Deallocating" || len(r.Moves) != 1 || r.Rows != nil {
					t.Errorf("%+v", r)
				}
			}},
		{name: "deallocate again is done already", setup: func(f *fakeEnterprise) { f.server(core3)["state"] = "Deallocating" },
			req: Request{Type: ReqDeallocateServer, Server: core3}, wantOK: true, noStmt: "DEALLOCATE DATABASES FROM SERVER $server"},
		{name: "drop refuses a hosting server", req: Request{Type: ReqDropServer, Server: core3}, wantCode: CodeInvalidRequest, noStmt: "DROP SERVER $server"},
		{name: "drop of a deallocating server is not ready yet", setup: func(f *fakeEnterprise) { f.server(core3)["state"] = "Deallocating" },
			req: Request{Type: ReqDropServer, Server: core3}, wantCode: CodeNotReady, noStmt: "DROP SERVER $server"},
		{name: "drop a deallocated server", setup: func(f *fakeEnterprise) {
			f.server(core3)["state"] = "Deallocated"
			f.server(core3)["hosting"] = []any{"system"}
		}, req: Request{Type: ReqDropServer, Server: core3, IdempotencyKey: "k2"}, wantOK: true, wantStmt: "DROP SERVER $server"},
		{name: "drop of an unknown server is done", req: Request{Type: ReqDropServer, Server: "gone"}, wantOK: true, noStmt: "DROP SERVER $server"},
		{name: "reallocate balanced moves nothing", req: Request{Type: ReqReallocateDatabases, IdempotencyKey: "k3"}, wantOK: true,
			wantStmt: "DRYRUN REALLOCATE DATABASES", noStmt: "REALLOCATE DATABASES"},
		{name: "reallocate dry run", setup: func(f *fakeEnterprise) {
			f.moves = []Row{{"database": "neo4j", "fromServerName": core3, "fromServerId": core3, "toServerName": free, "toServerId": free, "mode": "secondary"}}
		}, req: Request{Type: ReqReallocateDatabases, DryRun: true}, wantOK: true, noStmt: "REALLOCATE DATABASES",
			check: func(t *testing.T, f *fakeEnterprise, r Response) {
				if len(r.Moves) != 1 || r.Moves[0].Mode != "secondary" {
					t.Errorf("%+v", r)
				}
			}},
		{name: "reallocate one database", setup: func(f *fakeEnterprise) {
			f.moves = []Row{{"database": "neo4j", "fromServerName": core3, "fromServerId": core3, "toServerName": free, "toServerId": free, "mode": "secondary"}}
		}, req: Request{Type: ReqReallocateDatabases, Database: "neo4j"}, wantOK: true, wantStmt: "CALL dbms.cluster.reallocateDatabase($db, false)"},
		{name: "set topology", req: Request{Type: ReqSetTopology, Database: "neo4j", Primaries: 3, Secondaries: 2, WaitSeconds: 20}, wantOK: true,
			wantStmt: "ALTER DATABASE $db SET TOPOLOGY 3 PRIMARIES 2 SECONDARIES WAIT 20 SECONDS"},
		{name: "set default allocation", req: Request{Type: ReqSetDefaultAllocation, Primaries: 3, Secondaries: 2}, wantOK: true,
			wantStmt: "CALL dbms.setDefaultAllocationNumbers($primaries, $secondaries)",
			check: func(t *testing.T, f *fakeEnterprise, r Response) {
				if f.lastParams["primaries"] != int64(3) || f.lastParams["secondaries"] != int64(2) || r.Message != "default topology 3 primaries, 2 secondaries (was 3, 1)" {
					t.Errorf("params %v, message %q", f.lastParams, r.Message)
				}
			}},
		{name: "set default allocation already equal writes nothing", req: Request{Type: ReqSetDefaultAllocation, Primaries: 3, Secondaries: 1}, wantOK: true,
			noStmt: "CALL dbms.setDefaultAllocationNumbers($primaries, $secondaries)"},
		{name: "set default allocation refuses 0 primaries", req: Request{Type: ReqSetDefaultAllocation, Primaries: 0, Secondaries: 1}, wantCode: CodeInvalidRequest},
		{name: "restore of an existing database recreates it on 5.26 (privileges kept)",
			req: Request{Type: ReqRestoreDatabase, Database: "neo4j", SeedURI: "s3://b/backups/neo4j.backup"}, wantOK: true,
			wantStmt: "CALL dbms.cluster.recreateDatabase($db, $options)", noStmt: "DROP DATABASE $db IF EXISTS WAIT",
			check: func(t *testing.T, f *fakeEnterprise, r Response) {
				if opts := f.lastParams["options"].(map[string]any); opts["seedURI"] != "s3://b/backups/neo4j.backup" || len(opts) != 1 {
					t.Errorf("options %v", opts)
				}
			}},
		{name: "restore of a new database creates it from the seed",
			req: Request{Type: ReqRestoreDatabase, Database: "shop", SeedURI: "s3://b/backups/shop.backup", WaitSeconds: 5}, wantOK: true,
			wantStmt: "CYPHER 5 CREATE DATABASE $db IF NOT EXISTS OPTIONS $options WAIT 5 SECONDS", noStmt: "CALL dbms.cluster.recreateDatabase($db, $options)"},
		{name: "recreate with a new topology", req: Request{Type: ReqRecreateDatabase, Database: "neo4j", SeedURI: "s3://b/x.backup", Primaries: 3, Secondaries: 2, IdempotencyKey: "k4"},
			wantOK: true, wantStmt: "CALL dbms.cluster.recreateDatabase($db, $options)",
			check: func(t *testing.T, f *fakeEnterprise, r Response) {
				if opts := f.lastParams["options"].(map[string]any); opts["primaries"] != int64(3) || opts["secondaries"] != int64(2) || !slices.Equal(r.Databases, []string{"neo4j"}) {
					t.Errorf("options %v, answer %+v", opts, r)
				}
			}},
		{name: "recreate on 2025.04 uses dbms.recreateDatabase", setup: func(f *fakeEnterprise) { f.components[0]["versions"] = []any{"2025.04.0"} },
			req: Request{Type: ReqRecreateDatabase, Database: "neo4j", SeedURI: "s3://b/x.backup", IdempotencyKey: "k5"}, wantOK: true,
			wantStmt: "CALL dbms.recreateDatabase($db, $options)", noStmt: "CALL dbms.cluster.recreateDatabase($db, $options)"},
		{name: "recreate on 2025.03 still uses dbms.cluster.recreateDatabase", setup: func(f *fakeEnterprise) { f.components[0]["versions"] = []any{"2025.03.0"} },
			req: Request{Type: ReqRecreateDatabase, Database: "neo4j", SeedURI: "s3://b/x.backup", IdempotencyKey: "k6"}, wantOK: true,
			wantStmt: "CALL dbms.cluster.recreateDatabase($db, $options)"},
		{name: "recreate while one is under way is not started again", setup: func(f *fakeEnterprise) { f.databases[1]["currentStatus"] = "store copying" },
			req: Request{Type: ReqRecreateDatabase, Database: "neo4j", SeedURI: "s3://b/x.backup", IdempotencyKey: "k7"}, wantCode: CodeNotReady,
			noStmt: "CALL dbms.cluster.recreateDatabase($db, $options)"},
		{name: "recreate of a missing database", req: Request{Type: ReqRecreateDatabase, Database: "shop", SeedURI: "s3://b/x.backup", IdempotencyKey: "k8"}, wantCode: CodeInvalidRequest},
		{name: "recreate without an idempotency key", req: Request{Type: ReqRecreateDatabase, Database: "neo4j", SeedURI: "s3://b/x.backup"}, wantCode: CodeInvalidRequest},
		{name: "restore of system refused", req: Request{Type: ReqRestoreDatabase, Database: "system", SeedURI: "s3://b/x"}, wantCode: CodeInvalidRequest},
		{name: "transfer leadership without a direct connection", req: Request{Type: ReqTransferLeadership, Server: "core-1.neo4j.internal"}, wantCode: CodeUnsupported},
		{name: "unknown type refused", req: Request{Type: "shutdown"}, wantCode: CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := enterprise(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			r := Execute(context.Background(), c, tt.req, nil)
			if r.OK != tt.wantOK || r.ContractVersion != ContractVersion {
				t.Fatalf("ok=%v contract %d %+v", r.OK, r.ContractVersion, r.Error)
			}
			if tt.wantCode != "" && (r.Error == nil || r.Error.Code != tt.wantCode) {
				t.Fatalf("error %+v, want %s", r.Error, tt.wantCode)
			}
			if tt.wantStmt != "" && !slices.Contains(f.statements, tt.wantStmt) {
				t.Errorf("statements %q lack %q", f.statements, tt.wantStmt)
			}
			if tt.noStmt != "" && slices.Contains(f.statements, tt.noStmt) {
				t.Errorf("statements %q have %q", f.statements, tt.noStmt)
			}
			if tt.check != nil {
				tt.check(t, f, r)
			}
		})
	}
}

// Leadership moves by making the server's user databases read-only there, on that server
// only, keeping what an operator set; undo returns to the value the server started with.
func TestTransferLeadership(t *testing.T) {
	const core1 = "core-1.neo4j.internal:7687"
	ctx := context.Background()
	f, c := enterprise(t)
	f.readOnly[core1], f.readOnlyAtStart[core1] = "archive", "archive"
	env := Env{DialServer: f.dial}
	r := ExecuteWith(ctx, c, Request{Type: ReqTransferLeadership, Server: "core-1.neo4j.internal"}, env)
	if !r.OK || !slices.Equal(r.Databases, []string{"neo4j"}) {
		t.Fatalf("%+v %v", r, r.Error)
	}
	if f.readOnly[core1] != "archive,neo4j" || len(f.readOnly) != 1 {
		t.Errorf("read_only %v", f.readOnly)
	}
	if !strings.Contains(r.Message, "neo4j read-only") {
		t.Errorf("message %q", r.Message)
	}
	// again: nothing to write
	n := len(f.statements)
	if r := ExecuteWith(ctx, c, Request{Type: ReqTransferLeadership, Server: core1}, env); !r.OK {
		t.Fatal(r.Error)
	}
	if slices.Contains(f.statements[n:], core1+": CALL dbms.setConfigValue($setting, $value)") {
		t.Errorf("second transfer wrote again: %q", f.statements[n:])
	}
	// core-2 leads system: it is named as not movable
	r = ExecuteWith(ctx, c, Request{Type: ReqTransferLeadership, Server: "core-2.neo4j.internal"}, env)
	if !r.OK || !strings.Contains(r.Message, "system database") {
		t.Errorf("%+v", r)
	}
	r = ExecuteWith(ctx, c, Request{Type: ReqTransferLeadership, Server: core1, Undo: true}, env)
	if !r.OK || f.readOnly[core1] != "archive" {
		t.Errorf("undo: %+v, read_only %v", r, f.readOnly)
	}
	f.servers[0]["health"] = "Unavailable"
	if r := ExecuteWith(ctx, c, Request{Type: ReqTransferLeadership, Server: core1}, env); r.Error == nil || r.Error.Code != CodeNotReady {
		t.Errorf("unavailable server: %+v", r)
	}
}

func TestDatabaseViews(t *testing.T) {
	tests := []struct {
		name        string
		change      func(f *fakeEnterprise)
		primaries   int
		hasMajority bool
		current     string
		leader      string
	}{
		{name: "recorded", primaries: 3, hasMajority: true, current: "online", leader: "0a3f1e2c-1111-4c5a-9d1e-000000000001"},
		{name: "one primary's server unavailable", change: func(f *fakeEnterprise) { unavailableRow(f.databases[2]) },
			primaries: 2, hasMajority: true, current: "unknown", leader: "0a3f1e2c-1111-4c5a-9d1e-000000000001"},
		{name: "two primaries down, no writer", change: func(f *fakeEnterprise) {
			unavailableRow(f.databases[0])
			unavailableRow(f.databases[2])
		}, primaries: 1, hasMajority: false, current: "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := enterprise(t)
			if tt.change != nil {
				tt.change(f)
			}
			st, err := c.Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			views := st.DatabaseViews()
			if len(views) != 2 || views[0].Name != "neo4j" || views[1].Name != "system" {
				t.Fatalf("views %+v", views)
			}
			v := views[0]
			if v.PrimariesOnline != tt.primaries || v.HasMajority != tt.hasMajority || v.Majority != 2 || v.CurrentStatus != tt.current ||
				v.Leader != tt.leader || v.SecondariesOnline != 1 || len(v.Copies) != 4 {
				t.Errorf("neo4j view %+v", v)
			}
			if v.LeaderTerm == nil || *v.LeaderTerm != 4 {
				t.Errorf("leader term %v", v.LeaderTerm)
			}
			if sys := views[1]; sys.Majority != 2 || !sys.HasMajority || sys.Leader != "0a3f1e2c-1111-4c5a-9d1e-000000000002" {
				t.Errorf("system view %+v", sys)
			}
		})
	}
}

// unavailableRow is how SHOW DATABASES shows a copy on an unavailable server.
func unavailableRow(r Row) {
	r["address"], r["currentStatus"], r["statusMessage"], r["role"], r["writer"] = nil, "unknown", "Server is unavailable", "unknown", false
}

func TestSeedDatabase(t *testing.T) {
	const uri = "s3://b/backups/shop-2025-01-02T03-04-05.backup"
	tests := []struct {
		name     string
		version  string
		replace  bool
		want     []string
		wantCode string
		db       string
	}{
		{name: "new database", version: "5.26.30", db: "shop",
			want: []string{"CYPHER 5 CREATE DATABASE $db IF NOT EXISTS OPTIONS $options WAIT 30 SECONDS"}},
		{name: "replace on 5.26", version: "5.26.30", db: "neo4j", replace: true,
			want: []string{"DROP DATABASE $db IF EXISTS WAIT", "CYPHER 5 CREATE DATABASE $db IF NOT EXISTS OPTIONS $options WAIT 30 SECONDS"}},
		{name: "replace on 2025", version: "2025.10.1", db: "neo4j", replace: true,
			want: []string{"CYPHER 5 CREATE OR REPLACE DATABASE $db OPTIONS $options WAIT 30 SECONDS"}},
		{name: "system refused", version: "5.26.30", db: "system", wantCode: CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := enterprise(t)
			f.components[0]["versions"] = []any{tt.version}
			_, err := c.SeedDatabase(context.Background(), tt.db, uri, tt.replace, 30)
			if tt.wantCode != "" {
				if !IsCode(err, tt.wantCode) {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range f.statements {
				if !strings.HasPrefix(s, "CALL dbms.components") {
					got = append(got, s)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("statements %q, want %q", got, tt.want)
			}
			if opts, _ := f.lastParams["options"].(map[string]any); opts["seedURI"] != uri || opts["existingData"] != "use" {
				t.Errorf("options %v", f.lastParams)
			}
		})
	}
}

func TestTopologyDefaults(t *testing.T) {
	ctx := context.Background()
	f, c := enterprise(t)
	d, err := c.TopologyDefaults(ctx)
	if err != nil || d != (Defaults{Primaries: 3, Secondaries: 1}) {
		t.Fatalf("defaults %+v %v", d, err)
	}
	if _, err := c.SetDefaultAllocation(ctx, 3, 4); err != nil {
		t.Fatal(err)
	}
	if d, _ := c.TopologyDefaults(ctx); d != (Defaults{Primaries: 3, Secondaries: 4}) {
		t.Errorf("after set: %+v", d)
	}
	// a version without dbms.showTopologyGraphConfig: the procedure is called anyway
	f, c = enterprise(t)
	f.failOn["CALL dbms.showTopologyGraphConfig()"] = &neo4j.Neo4jError{Code: "Neo.ClientError.Procedure.ProcedureNotFound",
		Msg: "There is no procedure with the name `dbms.showTopologyGraphConfig` registered for this database instance."}
	msg, err := c.SetDefaultAllocation(ctx, 3, 1)
	if err != nil || !slices.Contains(f.statements, "CALL dbms.setDefaultAllocationNumbers($primaries, $secondaries)") {
		t.Fatalf("%q %v %q", msg, err, f.statements)
	}
	// Neo4j unreachable while reading: an error, nothing written
	f, c = enterprise(t)
	f.failOn["CALL dbms.showTopologyGraphConfig()"] = &neo4j.ConnectivityError{}
	if _, err := c.SetDefaultAllocation(ctx, 3, 2); !IsCode(err, CodeUnavailable) || len(f.statements) != 1 {
		t.Fatalf("%v %q", err, f.statements)
	}
}
