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
	return f, newWithQuerier(f)
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
	const core3 = "0a3f1e2c-1111-4c5a-9d1e-000000000003"
	tests := []struct {
		name     string
		req      Request
		wantOK   bool
		wantCode string
		wantStmt string
		check    func(t *testing.T, f *fakeEnterprise, r Response)
	}{
		{name: "enable free servers", req: Request{Type: ReqEnableFreeServers}, wantOK: true, wantStmt: "ENABLE SERVER $server",
			check: func(t *testing.T, f *fakeEnterprise, r Response) {
				if len(r.Servers) != 1 || f.servers[4]["state"] != "Enabled" {
					t.Errorf("%+v", r)
				}
			}},
		{name: "deallocate dry run", req: Request{Type: ReqDeallocateServer, Server: "core-3.neo4j.internal", DryRun: true}, wantOK: true,
			wantStmt: "DRYRUN DEALLOCATE DATABASES FROM SERVER $server", check: func(t *testing.T, f *fakeEnterprise, r Response) {
				if len(r.Rows) != 1 || f.servers[2]["state"] != "Enabled" {
					t.Errorf("%+v", r)
				}
			}},
		{name: "deallocate by address", req: Request{Type: ReqDeallocateServer, Server: "core-3.neo4j.internal:7687"}, wantOK: true,
			wantStmt: "DEALLOCATE DATABASES FROM SERVER $server"},
		{name: "drop refuses a hosting server", req: Request{Type: ReqDropServer, Server: core3}, wantCode: CodeInvalidRequest},
		{name: "drop of an unknown server is done", req: Request{Type: ReqDropServer, Server: "gone"}, wantOK: true},
		{name: "set topology", req: Request{Type: ReqSetTopology, Database: "neo4j", Primaries: 3, Secondaries: 2, WaitSeconds: 60}, wantOK: true,
			wantStmt: "ALTER DATABASE $db SET TOPOLOGY 3 PRIMARIES 2 SECONDARIES WAIT 60 SECONDS"},
		{name: "set default allocation", req: Request{Type: ReqSetDefaultAllocation, Primaries: 3, Secondaries: 2}, wantOK: true,
			wantStmt: "CALL dbms.setDefaultAllocationNumbers($primaries, $secondaries)",
			check: func(t *testing.T, f *fakeEnterprise, r Response) {
				if f.lastParams["primaries"] != int64(3) || f.lastParams["secondaries"] != int64(2) || r.Message != "default topology 3 primaries, 2 secondaries (was 3, 1)" {
					t.Errorf("params %v, message %q", f.lastParams, r.Message)
				}
			}},
		{name: "set default allocation already equal writes nothing", req: Request{Type: ReqSetDefaultAllocation, Primaries: 3, Secondaries: 1}, wantOK: true,
			check: func(t *testing.T, f *fakeEnterprise, r Response) {
				if slices.ContainsFunc(f.statements, func(s string) bool { return strings.Contains(s, "setDefaultAllocationNumbers") }) {
					t.Errorf("statements %q", f.statements)
				}
			}},
		{name: "set default allocation refuses 0 primaries", req: Request{Type: ReqSetDefaultAllocation, Primaries: 0, Secondaries: 1}, wantCode: CodeInvalidRequest},
		{name: "restore on 5.26 drops, then creates (no OR REPLACE with seed options before 2025.01)",
			req: Request{Type: ReqRestoreDatabase, Database: "neo4j", SeedURI: "s3://b/backups/neo4j.backup"}, wantOK: true,
			wantStmt: "CYPHER 5 CREATE DATABASE $db IF NOT EXISTS OPTIONS $options NOWAIT",
			check: func(t *testing.T, f *fakeEnterprise, r Response) {
				i := slices.Index(f.statements, "DROP DATABASE $db IF EXISTS WAIT")
				if i < 0 || i > slices.Index(f.statements, "CYPHER 5 CREATE DATABASE $db IF NOT EXISTS OPTIONS $options NOWAIT") {
					t.Errorf("statements %q", f.statements)
				}
			}},
		{name: "restore of system refused", req: Request{Type: ReqRestoreDatabase, Database: "system", SeedURI: "s3://b/x"}, wantCode: CodeInvalidRequest},
		{name: "unknown type refused", req: Request{Type: "shutdown"}, wantCode: CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := enterprise(t)
			r := Execute(context.Background(), c, tt.req, nil)
			if r.OK != tt.wantOK {
				t.Fatalf("ok=%v %+v", r.OK, r.Error)
			}
			if tt.wantCode != "" && (r.Error == nil || r.Error.Code != tt.wantCode) {
				t.Fatalf("error %+v, want %s", r.Error, tt.wantCode)
			}
			if tt.wantStmt != "" && !slices.Contains(f.statements, tt.wantStmt) {
				t.Errorf("statements %q lack %q", f.statements, tt.wantStmt)
			}
			if tt.check != nil {
				tt.check(t, f, r)
			}
		})
	}
}

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{`{"type":"status"}`, ""},
		{`{"type":"health","gates":{"minServers":3}}`, ""},
		{`{"type":"set-topology","database":"neo4j","primaries":0}`, "primaries >= 1"},
		{`{"type":"status","extra":1}`, "unknown field"},
		{`{"type":""}`, "empty"},
		{`{"type":"x"}`, "unknown request type"},
		{`{"type":"restore-database","database":"a","seedURI":"s3://x","waitSeconds":99999}`, "waitSeconds"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tt.in))
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
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
