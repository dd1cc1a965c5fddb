package neo4jadmin

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/internal/testbed"
)

// These tests talk to the real Neo4j 5.26 server of the test bed (Community, neo4j-harness).
func TestMain(m *testing.M) { testbed.Main(m, testbed.NeedNeo4j) }

func realClient(t *testing.T) *Client {
	t.Helper()
	n := testbed.SharedNeo4j(t)
	c, err := New(n.BoltURI, n.User, n.Password)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestBoltAuth(t *testing.T) {
	n := testbed.SharedNeo4j(t)
	closedPort := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}()
	tests := []struct {
		name     string
		uri      string
		password string
		wantCode string // "" = ok
	}{
		{"right password", n.BoltURI, n.Password, ""},
		{"wrong password", n.BoltURI, rand.Text(), CodeUnauthorized},
		{"neo4j down", "bolt://" + closedPort, n.Password, CodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.uri, n.User, tt.password, Options{ConnectTimeout: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
			resp := Execute(ctxT(t), c, Request{Type: ReqStatus}, nil)
			if tt.wantCode == "" {
				if !resp.OK {
					t.Fatalf("status failed: %v", resp.Error)
				}
				return
			}
			if resp.OK || resp.Error == nil || resp.Error.Code != tt.wantCode {
				t.Fatalf("want error code %s, got %+v", tt.wantCode, resp.Error)
			}
			if strings.Contains(resp.Error.Message, tt.password) {
				t.Fatal("error message contains the password")
			}
		})
	}
}

func TestBoltStatusParsesShowDatabases(t *testing.T) {
	c := realClient(t)
	resp := Execute(ctxT(t), c, Request{Type: ReqStatus}, nil)
	if !resp.OK {
		t.Fatalf("status: %v", resp.Error)
	}
	st := resp.Status
	if st.Edition != "community" || !strings.HasPrefix(st.Version, "5.26") {
		t.Errorf("edition/version = %q %q, want community 5.26.x", st.Edition, st.Version)
	}
	byName := map[string]Database{}
	for _, d := range st.Databases {
		byName[d.Name] = d
	}
	for _, name := range []string{"system", "neo4j"} {
		d, ok := byName[name]
		if !ok {
			t.Fatalf("SHOW DATABASES has no %s: %+v", name, st.Databases)
		}
		if d.CurrentStatus != "online" || d.RequestedStatus != "online" {
			t.Errorf("%s: status %s/%s", name, d.CurrentStatus, d.RequestedStatus)
		}
	}
	if !byName["neo4j"].Default || byName["system"].Type != "system" {
		t.Errorf("default/type not parsed: %+v", byName)
	}
	if st.StatusCheck != nil || st.StatusCheckNote == "" {
		t.Errorf("community must report statusCheck as unavailable, got %+v %q", st.StatusCheck, st.StatusCheckNote)
	}
	b, _ := json.Marshal(resp)
	t.Logf("status: %s", b)
	h := Execute(ctxT(t), c, Request{Type: ReqHealth}, nil)
	if !h.OK || !h.Health.OK {
		t.Errorf("health of a single healthy server: %+v", h.Health)
	}
}

func TestBoltEnsureUsersIdempotent(t *testing.T) {
	c := realClient(t)
	ro := UserSpec{Username: "reader_" + strings.ToLower(rand.Text()[:6]), Password: rand.Text(), Access: ReadOnly}
	rw := UserSpec{Username: "app_" + strings.ToLower(rand.Text()[:6]), Password: rand.Text(), Access: ReadWrite}
	users := []UserSpec{ro, rw}
	src := func(context.Context) ([]UserSpec, error) { return users, nil }

	first := Execute(ctxT(t), c, Request{Type: ReqEnsureUsers}, src)
	if !first.OK {
		t.Fatalf("first ensure-users: %v", first.Error)
	}
	for _, u := range first.Users {
		if !u.Created || u.Note == "" {
			t.Errorf("first run %s: %+v, want created with a community note", u.Username, u)
		}
	}
	second := Execute(ctxT(t), c, Request{Type: ReqEnsureUsers}, src)
	if !second.OK {
		t.Fatalf("second ensure-users: %v", second.Error)
	}
	for _, u := range second.Users {
		if u.Created || u.PasswordChanged || len(u.RolesGranted)+len(u.RolesRevoked) > 0 {
			t.Errorf("second run changed %s: %+v", u.Username, u)
		}
	}
	// A rotated password is applied, and the user can log in with it.
	users[0].Password = rand.Text()
	third := Execute(ctxT(t), c, Request{Type: ReqEnsureUsers}, src)
	if !third.OK || !third.Users[0].PasswordChanged || third.Users[1].PasswordChanged {
		t.Fatalf("rotation: %+v %v", third.Users, third.Error)
	}
	n := testbed.SharedNeo4j(t)
	uc, err := New(n.BoltURI, users[0].Username, users[0].Password)
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close(context.Background())
	if err := uc.Ping(ctxT(t)); err != nil {
		t.Fatalf("user cannot log in with the rotated password: %v", err)
	}
	b, _ := json.Marshal(third)
	for _, u := range users {
		if strings.Contains(string(b), u.Password) {
			t.Fatal("response contains a password")
		}
	}
}

func TestBoltUnsupportedOnCommunity(t *testing.T) {
	c := realClient(t)
	resp := Execute(ctxT(t), c, Request{Type: ReqSetTopology, Database: "neo4j", Primaries: 3}, nil)
	t.Logf("set-topology on community: %+v", resp.Error)
	if resp.OK {
		t.Fatal("set-topology on community should fail")
	}
}

// The default topology is Enterprise only: Community answers "unsupported", never a crash.
func TestBoltDefaultAllocationUnsupportedOnCommunity(t *testing.T) {
	c := realClient(t)
	if _, err := c.TopologyDefaults(ctxT(t)); !IsCode(err, CodeUnsupported) {
		t.Errorf("TopologyDefaults on community: %v, want %s", err, CodeUnsupported)
	}
	resp := Execute(ctxT(t), c, Request{Type: ReqSetDefaultAllocation, Primaries: 3, Secondaries: 1}, nil)
	t.Logf("set-default-allocation on community: %+v", resp.Error)
	if resp.OK || resp.Error.Code != CodeUnsupported {
		t.Fatalf("set-default-allocation on community: %+v, want %s", resp.Error, CodeUnsupported)
	}
}

// What the Community test server answers to the contract's version-2 requests: the version
// request needs no Neo4j, every server and cluster command is refused as unsupported with
// Neo4j's own reason, and the status folds into database views.
func TestBoltVersion2OnCommunity(t *testing.T) {
	c := realClient(t)
	dialed := 0
	env := Env{DialServer: func(ctx context.Context, address string) (*Client, error) { dialed++; return realClient(t), nil }}
	tests := []struct {
		req      Request
		wantCode string // "" = ok
		wantMsg  string
	}{
		{Request{Type: ReqVersion}, "", ""},
		{Request{Type: ReqEnableServer, Server: "core-2.neo4j.internal"}, CodeUnsupported, "SHOW SERVERS"},
		{Request{Type: ReqCordonServer, Server: "core-2.neo4j.internal"}, CodeUnsupported, "SHOW SERVERS"},
		{Request{Type: ReqDeallocateServer, Server: "core-2.neo4j.internal", DryRun: true}, CodeUnsupported, "SHOW SERVERS"},
		{Request{Type: ReqDropServer, Server: "core-2.neo4j.internal", IdempotencyKey: "k"}, CodeUnsupported, "SHOW SERVERS"},
		{Request{Type: ReqTransferLeadership, Server: "core-2.neo4j.internal"}, CodeUnsupported, "SHOW SERVERS"},
		{Request{Type: ReqReallocateDatabases, DryRun: true}, CodeUnsupported, "REALLOCATE DATABASES"},
		{Request{Type: ReqReallocateDatabases, Database: "neo4j", IdempotencyKey: "k"}, CodeUnsupported, "dbms.cluster.reallocateDatabase"},
		{Request{Type: ReqRecreateDatabase, Database: "neo4j", SeedURI: "s3://b/x.backup", IdempotencyKey: "k"}, CodeUnsupported, "dbms.cluster.recreateDatabase"},
	}
	for _, tt := range tests {
		t.Run(string(tt.req.Type), func(t *testing.T) {
			r := ExecuteWith(ctxT(t), c, tt.req, env)
			t.Logf("%s: ok=%v %+v", tt.req.Type, r.OK, r.Error)
			if r.ContractVersion != ContractVersion {
				t.Errorf("contractVersion %d", r.ContractVersion)
			}
			if tt.wantCode == "" {
				if !r.OK {
					t.Fatal(r.Error)
				}
				return
			}
			if r.OK || r.Error.Code != tt.wantCode || !strings.Contains(r.Error.Message, tt.wantMsg) {
				t.Fatalf("got %+v, want %s with %q", r.Error, tt.wantCode, tt.wantMsg)
			}
		})
	}
	if dialed != 0 {
		t.Errorf("dialled a member %d times on Community", dialed)
	}
	// the status a Community server gives folds into views: one primary, itself the writer
	st, err := c.Status(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	views := st.DatabaseViews()
	var neo DatabaseView
	for _, v := range views {
		if v.Name == "neo4j" {
			neo = v
		}
	}
	if neo.Leader == "" || neo.PrimariesOnline != 1 || !neo.HasMajority || neo.CurrentStatus != "online" || neo.LeaderTerm != nil {
		t.Errorf("neo4j view %+v", neo)
	}
	if st.ServersNote == "" || len(st.Servers) != 0 {
		t.Errorf("servers %+v note %q", st.Servers, st.ServersNote)
	}
}

// The statement transfer-leadership reads the member's setting with is real 5.26 Cypher
// (SHOW SETTINGS with startupValue works on Community too).
func TestBoltReadOnlySetting(t *testing.T) {
	cur, startup, err := realClient(t).readOnlySetting(ctxT(t))
	if err != nil || len(cur) != 0 || len(startup) != 0 {
		t.Fatalf("current %q startup %q: %v", cur, startup, err)
	}
}

// The routing table a neo4j:// client is handed holds the addresses the servers advertise,
// not the one it connected to: the test server listens on a random port but advertises
// 127.0.0.1 with Bolt's default port, as a cluster member advertises core-N.<namespace>:7687
// to a client that came in through a tunnel.
func TestRoutingTableHasTheAdvertisedAddresses(t *testing.T) {
	addrs, err := realClient(t).RoutingTable(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 1 || addrs[0] != "127.0.0.1:7687" {
		t.Fatalf("routing table %q, want [127.0.0.1:7687]", addrs)
	}
}
