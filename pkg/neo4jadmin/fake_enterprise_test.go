package neo4jadmin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// fakeEnterprise is a FAKE Neo4j Enterprise 5.26 cluster for what the Community test server
// cannot answer (SHOW SERVERS with several servers, roles, dbms.cluster.statusCheck, server
// and topology commands). Its answers are recorded real-shaped responses from
// testdata/enterprise-5.26-3cores-1replica.json; it applies the admin commands the code
// sends to that state and records every statement.
type fakeEnterprise struct {
	mu         sync.Mutex
	components []Row
	servers    []Row
	databases  []Row
	statusChk  []Row
	users      []Row
	defaults   Row // dbms.showTopologyGraphConfig's counts
	passwords  map[string]string
	statements []string
	lastParams map[string]any
	failOn     map[string]error // statement prefix -> error
	// readOnly and readOnlyAtStart are each server's server.databases.read_only (by Bolt
	// address), set through a direct connection (dial)
	readOnly, readOnlyAtStart map[string]string
	// moves is what DRYRUN REALLOCATE DATABASES answers
	moves []Row
}

// dial is Env.DialServer: a connection to one server of the fake cluster.
func (f *fakeEnterprise) dial(_ context.Context, address string) (*Client, error) {
	return NewWithQuerier(&fakeDirect{f: f, address: address}), nil
}

// fakeDirect is a connection to one server: settings are per server, the rest is shared.
type fakeDirect struct {
	f       *fakeEnterprise
	address string
}

func (d *fakeDirect) Query(ctx context.Context, db string, write bool, cypher string, p map[string]any) ([]Row, error) {
	f := d.f
	switch cypher {
	case "SHOW SETTINGS $names YIELD name, value, startupValue":
		f.mu.Lock()
		defer f.mu.Unlock()
		f.statements = append(f.statements, d.address+": "+cypher)
		return []Row{{"name": settingReadOnly, "value": f.readOnly[d.address], "startupValue": f.readOnlyAtStart[d.address]}}, nil
	case "CALL dbms.setConfigValue($setting, $value)":
		f.mu.Lock()
		defer f.mu.Unlock()
		f.statements = append(f.statements, d.address+": "+cypher)
		f.readOnly[d.address] = p["value"].(string)
		return nil, nil
	}
	return f.Query(ctx, db, write, cypher, p)
}

func (d *fakeDirect) Close(context.Context) error { return nil }

func newFakeEnterprise(path string) (*fakeEnterprise, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rec struct {
		Components, Servers, Databases, StatusCheck, Users []map[string]any
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&rec); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	conv := func(in []map[string]any) []Row {
		out := make([]Row, 0, len(in))
		for _, m := range in {
			r := Row{}
			for k, v := range m {
				r[k] = boltValue(v)
			}
			out = append(out, r)
		}
		return out
	}
	return &fakeEnterprise{
		components: conv(rec.Components), servers: conv(rec.Servers), databases: conv(rec.Databases),
		statusChk: conv(rec.StatusCheck), users: conv(rec.Users), passwords: map[string]string{},
		// the recorded cluster's databases were created with 3 primaries and 1 secondary
		defaults: Row{"defaultPrimariesCount": int64(3), "defaultSecondariesCount": int64(1)},
		failOn:   map[string]error{},
		readOnly: map[string]string{}, readOnlyAtStart: map[string]string{},
	}, nil
}

// boltValue turns JSON numbers into int64 as Bolt delivers integers.
func boltValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		n, err := x.Int64()
		if err != nil {
			f, _ := x.Float64()
			return f
		}
		return n
	case []any:
		for i := range x {
			x[i] = boltValue(x[i])
		}
		return x
	}
	return v
}

var grantRe = regexp.MustCompile(`^(GRANT|REVOKE) ROLE (\w+) (TO|FROM) \$user$`)

func (f *fakeEnterprise) Query(_ context.Context, db string, write bool, cypher string, p map[string]any) ([]Row, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statements = append(f.statements, cypher)
	f.lastParams = p
	for prefix, err := range f.failOn {
		if strings.HasPrefix(cypher, prefix) {
			return nil, err
		}
	}
	s := func(k string) string { v, _ := p[k].(string); return v }
	switch {
	case strings.HasPrefix(cypher, "CALL dbms.components()"):
		return f.components, nil
	case cypher == "SHOW SERVERS YIELD *":
		return f.servers, nil
	case cypher == "SHOW DATABASES YIELD *":
		return f.databases, nil
	case cypher == "CALL dbms.cluster.statusCheck([])":
		return f.statusChk, nil
	case strings.HasPrefix(cypher, "CALL dbms.showTopologyGraphConfig()"):
		return []Row{f.defaults}, nil
	case cypher == "CALL dbms.setDefaultAllocationNumbers($primaries, $secondaries)":
		f.defaults = Row{"defaultPrimariesCount": p["primaries"], "defaultSecondariesCount": p["secondaries"]}
		return nil, nil
	case cypher == "SHOW USERS YIELD *":
		return f.users, nil
	case strings.HasPrefix(cypher, "CREATE USER $user IF NOT EXISTS"):
		if f.user(s("user")) == nil {
			f.users = append(f.users, Row{"user": s("user"), "roles": []any{"PUBLIC"}})
			f.passwords[s("user")] = s("password")
		}
		return nil, nil
	case strings.HasPrefix(cypher, "ALTER USER $user SET PLAINTEXT PASSWORD"):
		if f.passwords[s("user")] == s("password") {
			return nil, &neo4j.Neo4jError{Code: "Neo.ClientError.General.InvalidArguments",
				Msg: "Failed to alter the specified user '" + s("user") + "': Old password and new password cannot be the same."}
		}
		f.passwords[s("user")] = s("password")
		return nil, nil
	case grantRe.MatchString(cypher):
		m := grantRe.FindStringSubmatch(cypher)
		u := f.user(s("user"))
		roles := u["roles"].([]any)
		if m[1] == "GRANT" {
			u["roles"] = append(roles, m[2])
		} else {
			u["roles"] = slices.DeleteFunc(roles, func(r any) bool { return r == m[2] })
		}
		return nil, nil
	case cypher == "ENABLE SERVER $server":
		f.server(s("server"))["state"] = "Enabled"
		return nil, nil
	case cypher == "DRYRUN DEALLOCATE DATABASES FROM SERVER $server":
		return []Row{{"database": "neo4j", "fromServerName": s("server"), "fromServerId": s("server"),
			"toServerName": "9c4d0e21-3333-4f70-9b8c-000000000005", "toServerId": "9c4d0e21-3333-4f70-9b8c-000000000005", "mode": "primary"}}, nil
	case cypher == "CALL dbms.cluster.cordonServer($server)":
		f.server(s("server"))["state"] = "Cordoned"
		return nil, nil
	case cypher == "DRYRUN REALLOCATE DATABASES", cypher == "CALL dbms.cluster.reallocateDatabase($db, true)":
		return f.moves, nil
	case cypher == "REALLOCATE DATABASES", cypher == "CALL dbms.cluster.reallocateDatabase($db, false)":
		f.moves = nil
		return nil, nil
	case cypher == "CALL dbms.cluster.recreateDatabase($db, $options)", cypher == "CALL dbms.recreateDatabase($db, $options)":
		for _, d := range f.databases {
			if d["name"] == s("db") {
				d["currentStatus"] = "starting"
			}
		}
		return nil, nil
	case cypher == "DEALLOCATE DATABASES FROM SERVER $server":
		sv := f.server(s("server"))
		sv["state"] = "Deallocating"
		return nil, nil
	case cypher == "DROP SERVER $server":
		f.servers = slices.DeleteFunc(f.servers, func(r Row) bool { return r["name"] == s("server") })
		return nil, nil
	case strings.HasPrefix(cypher, "ALTER DATABASE $db SET TOPOLOGY"),
		strings.HasPrefix(cypher, "CYPHER 5 CREATE OR REPLACE DATABASE $db OPTIONS $options"),
		strings.HasPrefix(cypher, "CYPHER 5 CREATE DATABASE $db IF NOT EXISTS OPTIONS $options"),
		cypher == "DROP DATABASE $db IF EXISTS WAIT":
		return nil, nil
	}
	return nil, &neo4j.Neo4jError{Code: "Neo.ClientError.Statement.SyntaxError", Msg: "fakeEnterprise has no recorded answer for: " + cypher}
}

func (f *fakeEnterprise) user(name string) Row {
	for _, u := range f.users {
		if u["user"] == name {
			return u
		}
	}
	return nil
}

func (f *fakeEnterprise) server(name string) Row {
	for _, s := range f.servers {
		if s["name"] == name {
			return s
		}
	}
	panic("fakeEnterprise: no server " + name)
}

func (f *fakeEnterprise) Close(context.Context) error { return nil }

// mutate edits recorded rows for a scenario.
func (f *fakeEnterprise) mutate(fn func(f *fakeEnterprise)) *fakeEnterprise {
	fn(f)
	return f
}
