package clustersim

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// Dial opens a neo4jadmin client on the simulated cluster, as neo4jadmin.New would on a real
// one: neo4j://core.<namespace>:7687 routes (reads to any available server, writes to the
// system database's leader); bolt://<server address> talks to that server only. Like the
// driver, it connects lazily: a wrong password or an unreachable address fails the first
// query.
func (s *Sim) Dial(uri, user, password string) (*neo4jadmin.Client, error) {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return nil, fmt.Errorf("clustersim: %q is not a Neo4j URI", uri)
	}
	c := &conn{sim: s, user: user, password: password}
	switch scheme {
	case "neo4j", "neo4j+s", "neo4j+ssc":
		if rest != fmt.Sprintf("core.%s:7687", s.cfg.Namespace) {
			c.unreachable = "no cluster answers at " + rest
		}
	case "bolt", "bolt+s", "bolt+ssc":
		c.direct = rest
	default:
		return nil, fmt.Errorf("clustersim: unsupported scheme %q", scheme)
	}
	return neo4jadmin.NewWithQuerier(c), nil
}

// Client is a routed client with the admin credentials.
func (s *Sim) Client() *neo4jadmin.Client {
	c, _ := s.Dial(fmt.Sprintf("neo4j://core.%s:7687", s.cfg.Namespace), "neo4j", s.cfg.AdminPassword)
	return c
}

// conn is one driver: routed, or direct to one server.
type conn struct {
	sim            *Sim
	user, password string
	direct         string // host:port of the one server, "" when routed
	unreachable    string
}

func (c *conn) Close(context.Context) error { return nil }

func (c *conn) Query(ctx context.Context, db string, write bool, cypher string, p map[string]any) ([]neo4jadmin.Row, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := c.sim
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.unreachable != "" {
		return nil, connectivity(c.unreachable)
	}
	on, err := s.route(c.direct, write)
	if err != nil {
		return nil, err
	}
	if u := s.users[c.user]; u == nil || u.password != c.password {
		return nil, &neo4j.Neo4jError{Code: "Neo.ClientError.Security.Unauthorized", Msg: "The client is unauthorized due to authentication failure."}
	}
	rows, err := s.run(on, cypher, p)
	if rows == nil && err == nil {
		rows = []neo4jadmin.Row{}
	}
	return rows, err
}

func connectivity(why string) error {
	return &neo4j.ConnectivityError{Inner: errors.New(why)}
}

// route picks the server that runs a statement: the direct one, else for a write the system
// database's leader, else an available server (cores first, as the core.<namespace> record
// lists only cores).
func (s *Sim) route(direct string, write bool) (*server, error) {
	now, t := s.now, s.cfg.Timing
	up := func(sv *server) bool { return sv.member != nil && sv.member.available(now, t) }
	if direct != "" {
		for _, sv := range s.sortedServers() {
			if sv.address == direct && up(sv) {
				return sv, nil
			}
		}
		return nil, connectivity("cannot connect to " + direct)
	}
	if !s.formed {
		return nil, connectivity("Unable to retrieve routing information: the cluster has not formed (the system database does not exist yet)")
	}
	if write {
		if sys := s.db("system"); sys != nil && sys.leader != nil && up(sys.leader.server) {
			return sys.leader.server, nil
		}
		return nil, &neo4j.Neo4jError{Code: "Neo.TransientError.General.DatabaseUnavailable",
			Msg: "clustersim: the system database has no leader (no majority of its primaries online): administration commands cannot run"}
	}
	for _, sv := range s.sortedServers() {
		if sv.member.core && up(sv) && sv.state != StateFree {
			return sv, nil
		}
	}
	return nil, connectivity("Unable to retrieve routing information: no core member is available")
}

var (
	topologyRe = regexp.MustCompile(`^ALTER DATABASE \$db SET TOPOLOGY (\d+) PRIMARIES (\d+) SECONDARIES (NOWAIT|WAIT \d+ SECONDS)$`)
	grantRe    = regexp.MustCompile(`^(GRANT|REVOKE) ROLE (\w+) (TO|FROM) \$user$`)
)

// run answers one statement on one server, under the lock.
func (s *Sim) run(on *server, cypher string, p map[string]any) ([]neo4jadmin.Row, error) {
	str := func(k string) string { v, _ := p[k].(string); return v }
	switch {
	case cypher == "RETURN 1 AS ok":
		return []neo4jadmin.Row{{"ok": int64(1)}}, nil
	case strings.HasPrefix(cypher, "CALL dbms.components()"):
		return []neo4jadmin.Row{{"name": "Neo4j Kernel", "versions": []any{on.member.version}, "edition": "enterprise"}}, nil
	case cypher == "SHOW SERVERS YIELD *":
		return s.showServers(), nil
	case cypher == "SHOW DATABASES YIELD *":
		return s.showDatabases(), nil
	case cypher == "CALL dbms.cluster.statusCheck([])":
		return s.statusCheck(on), nil
	case strings.HasPrefix(cypher, "CALL dbms.showTopologyGraphConfig()"):
		return []neo4jadmin.Row{{"defaultPrimariesCount": int64(s.defaults.primaries), "defaultSecondariesCount": int64(s.defaults.secondaries)}}, nil
	case cypher == "CALL dbms.setDefaultAllocationNumbers($primaries, $secondaries)":
		s.defaults.primaries, s.defaults.secondaries = int(p["primaries"].(int64)), int(p["secondaries"].(int64))
		return nil, nil
	case cypher == "ENABLE SERVER $server":
		return nil, s.enableServer(str("server"))
	case cypher == "CALL dbms.cluster.cordonServer($server)":
		return nil, s.cordonServer(str("server"))
	case cypher == "DRYRUN DEALLOCATE DATABASES FROM SERVER $server", cypher == "DEALLOCATE DATABASES FROM SERVER $server":
		return s.deallocate(str("server"), strings.HasPrefix(cypher, "DRYRUN"))
	case cypher == "DROP SERVER $server":
		return nil, s.dropServer(str("server"))
	case cypher == "DRYRUN REALLOCATE DATABASES", cypher == "REALLOCATE DATABASES":
		return s.reallocate("", strings.HasPrefix(cypher, "DRYRUN"))
	case cypher == "CALL dbms.cluster.reallocateDatabase($db, true)", cypher == "CALL dbms.cluster.reallocateDatabase($db, false)":
		if s.db(str("db")) == nil {
			return nil, refuse("Neo.ClientError.Database.DatabaseNotFound", "database %s does not exist", str("db"))
		}
		return s.reallocate(str("db"), strings.HasSuffix(cypher, "true)"))
	case cypher == "SHOW SETTINGS $names YIELD name, value, startupValue":
		return []neo4jadmin.Row{{"name": "server.databases.read_only", "value": strings.Join(on.member.readOnly, ","), "startupValue": ""}}, nil
	case cypher == "CALL dbms.setConfigValue($setting, $value)":
		if str("setting") != "server.databases.read_only" {
			return nil, refuse("Neo.ClientError.General.InvalidArguments", "clustersim models only server.databases.read_only, not %s", str("setting"))
		}
		on.member.readOnly = splitList(str("value"))
		s.step(0)
		return nil, nil
	case topologyRe.MatchString(cypher):
		m := topologyRe.FindStringSubmatch(cypher)
		pr, _ := strconv.Atoi(m[1])
		se, _ := strconv.Atoi(m[2])
		return nil, s.setTopology(str("db"), pr, se)
	case cypher == "CALL dbms.cluster.recreateDatabase($db, $options)", cypher == "CALL dbms.recreateDatabase($db, $options)":
		return nil, s.recreate(on, cypher, str("db"), p["options"])
	case strings.HasPrefix(cypher, "CYPHER 5 CREATE DATABASE $db IF NOT EXISTS OPTIONS $options"):
		if s.db(str("db")) == nil {
			s.createDatabase(str("db"), s.defaults.primaries, s.defaults.secondaries, false, true)
		}
		return nil, nil
	case cypher == "DROP DATABASE $db IF EXISTS WAIT":
		s.dbs = slices.DeleteFunc(s.dbs, func(d *database) bool { return d.name == str("db") && d.typ != "system" })
		return nil, nil
	case cypher == "SHOW USERS YIELD *":
		return s.showUsers(), nil
	case strings.HasPrefix(cypher, "CREATE USER $user IF NOT EXISTS"):
		if s.users[str("user")] == nil {
			s.users[str("user")] = &user{roles: []string{"PUBLIC"}, password: str("password")}
		}
		return nil, nil
	case strings.HasPrefix(cypher, "ALTER USER $user SET PLAINTEXT PASSWORD"):
		u := s.users[str("user")]
		if u == nil {
			return nil, refuse("Neo.ClientError.General.InvalidArguments", "user %s does not exist", str("user"))
		}
		if u.password == str("password") {
			return nil, refuse("Neo.ClientError.General.InvalidArguments", "Failed to alter the specified user '%s': Old password and new password cannot be the same.", str("user"))
		}
		u.password = str("password")
		return nil, nil
	case grantRe.MatchString(cypher):
		m := grantRe.FindStringSubmatch(cypher)
		u := s.users[str("user")]
		if m[1] == "GRANT" {
			u.roles = append(u.roles, m[2])
		} else {
			u.roles = slices.DeleteFunc(u.roles, func(r string) bool { return r == m[2] })
		}
		return nil, nil
	}
	return nil, &neo4j.Neo4jError{Code: "Neo.ClientError.Statement.SyntaxError", Msg: "clustersim has no rule for: " + cypher}
}

func refuse(code, format string, a ...any) error {
	return &neo4j.Neo4jError{Code: code, Msg: "clustersim: " + fmt.Sprintf(format, a...)}
}

func splitList(v string) []string {
	var out []string
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func (s *Sim) findServer(ref string) (*server, error) {
	for _, sv := range s.sortedServers() {
		if sv.seen && (sv.name == ref || sv.id == ref) {
			return sv, nil
		}
	}
	return nil, refuse("Neo.ClientError.Cluster.ServerNotFound", "server %q not found", ref)
}

// showServers answers SHOW SERVERS YIELD * with the column names and value types of Neo4j.
func (s *Sim) showServers() []neo4jadmin.Row {
	now, t := s.now, s.cfg.Timing
	var out []neo4jadmin.Row
	for _, sv := range s.sortedServers() {
		if !sv.seen {
			continue
		}
		health := Unavailable
		up := sv.member.available(now, t)
		if up {
			health = Available
		}
		hosting, requested := []any{"system"}, []any{}
		if sv.state == StateFree {
			hosting = []any{"system"}
		} else {
			requested = append(requested, "system")
		}
		for _, d := range s.dbs {
			a := d.allocOn(sv)
			if a == nil || d.typ == "system" {
				continue
			}
			requested = append(requested, d.name)
			if st, _ := a.status(d, now, t); st == "online" || st == "starting" {
				hosting = append(hosting, d.name)
			}
		}
		if !up {
			hosting = []any{}
		}
		out = append(out, neo4jadmin.Row{
			"serverId": sv.id, "name": sv.name, "address": sv.address, "httpAddress": sv.host() + ":7474", "httpsAddress": nil,
			"state": sv.state, "health": health, "hosting": hosting, "requestedHosting": requested,
			"tags": []any{}, "allowedDatabases": []any{}, "deniedDatabases": []any{}, "modeConstraint": sv.mode, "version": sv.version,
		})
	}
	return out
}

// showDatabases answers SHOW DATABASES YIELD *: one row per database per server.
func (s *Sim) showDatabases() []neo4jadmin.Row {
	now, t := s.now, s.cfg.Timing
	var out []neo4jadmin.Row
	for _, d := range s.dbs {
		var curP, curS int64
		for _, a := range d.allocs {
			if a.online(d, now, t) {
				if a.role == rolePrimary {
					curP++
				} else {
					curS++
				}
			}
		}
		var reqP, reqS any
		if d.typ != "system" {
			reqP, reqS = int64(d.primaries), int64(d.secondaries)
		}
		for _, a := range d.allocs {
			st, msg := a.status(d, now, t)
			var address any = a.server.address
			role := a.role
			if st == "unknown" {
				address = nil
			}
			if st == "unknown" || st == "offline" {
				role = "unknown"
			}
			access := "read-write"
			if readOnlyOn(a.server, d.name) {
				access = "read-only"
			}
			var lastStop any
			out = append(out, neo4jadmin.Row{
				"name": d.name, "type": d.typ, "aliases": []any{}, "access": access, "databaseID": d.id,
				"serverID": a.server.id, "address": address, "role": role, "writer": d.leader == a,
				"requestedStatus": d.requested, "currentStatus": st, "statusMessage": msg,
				"default": d.isDefault, "home": d.isDefault,
				"currentPrimariesCount": curP, "currentSecondariesCount": curS,
				"requestedPrimariesCount": reqP, "requestedSecondariesCount": reqS,
				"creationTime": d.createdAt, "lastStartTime": laterOf(d.createdAt, a.readyAt), "lastStopTime": lastStop,
				"store": "record-aligned-1.1", "lastCommittedTxn": int64(a.applied), "replicationLag": int64(a.applied) - int64(d.txn),
				"constituents": []any{}, "options": map[string]any{},
			})
		}
	}
	return out
}

// statusCheck answers dbms.cluster.statusCheck([]) on a server: for each database it hosts
// as a primary, a row per primary.
func (s *Sim) statusCheck(on *server) []neo4jadmin.Row {
	now, t := s.now, s.cfg.Timing
	var out []neo4jadmin.Row
	for _, d := range s.dbs {
		mine := d.allocOn(on)
		if mine == nil || mine.role != rolePrimary {
			continue
		}
		ok := d.leader != nil && mine.online(d, now, t)
		for _, a := range d.voters() {
			status, leader, term := "UNAVAILABLE", any(nil), any(nil)
			if a.online(d, now, t) {
				status = "APPLYING"
				if d.leader != nil {
					leader, term = d.leader.server.id, d.term
				}
			}
			out = append(out, neo4jadmin.Row{"database": d.name, "serverId": a.server.id, "serverName": a.server.name,
				"address": a.server.address, "replicationSuccessful": ok, "memberStatus": status,
				"recognisedLeader": leader, "recognisedLeaderTerm": term, "requester": a.server == on, "error": nil})
		}
	}
	return out
}

func (s *Sim) showUsers() []neo4jadmin.Row {
	var out []neo4jadmin.Row
	for _, name := range sortedKeys(s.users) {
		u := s.users[name]
		roles := make([]any, 0, len(u.roles))
		for _, r := range u.roles {
			roles = append(roles, r)
		}
		out = append(out, neo4jadmin.Row{"user": name, "roles": roles, "passwordChangeRequired": false, "suspended": false, "home": nil})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
