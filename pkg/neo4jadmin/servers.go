package neo4jadmin

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jversion"
)

// EnableFreeServers enables every server in state Free and returns their names.
func (c *Client) EnableFreeServers(ctx context.Context) ([]string, error) {
	servers, err := c.Servers(ctx)
	if err != nil {
		return nil, err
	}
	var enabled []string
	for _, s := range servers {
		if !strings.EqualFold(s.State, "Free") {
			continue
		}
		if _, err := c.run(ctx, fmt.Sprintf("enabling server %s (%s)", s.Name, s.Address), "system", true,
			"ENABLE SERVER $server", map[string]any{"server": s.Name}); err != nil {
			return enabled, err
		}
		enabled = append(enabled, s.Name)
	}
	return enabled, nil
}

// resolveServer finds a server by name, id, Bolt address, or host alone (core-2.<namespace>).
func (c *Client) resolveServer(ctx context.Context, ref string) (*Server, error) {
	servers, err := c.Servers(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range servers {
		if s.Name == ref || s.ID == ref || s.Address == ref || strings.HasPrefix(s.Address, ref+":") {
			return &s, nil
		}
	}
	return nil, &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("no server %q in SHOW SERVERS", ref)}
}

// EnableServer enables one server (ENABLE SERVER): a Free one joins the cluster, a Cordoned
// one may be allocated databases again. Enabling an Enabled server changes nothing.
func (c *Client) EnableServer(ctx context.Context, ref string) (string, error) {
	s, err := c.resolveServer(ctx, ref)
	if err != nil {
		return "", err
	}
	switch strings.ToLower(s.State) {
	case "enabled":
		return fmt.Sprintf("server %s is already enabled", s.Name), nil
	case "free", "cordoned":
	default:
		return "", &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("server %s is %s: that cannot be undone; a server leaves by DEALLOCATE, then DROP", s.Name, s.State)}
	}
	if _, err := c.run(ctx, fmt.Sprintf("enabling server %s (%s)", s.Name, s.Address), "system", true,
		"ENABLE SERVER $server", map[string]any{"server": s.Name}); err != nil {
		return "", err
	}
	return fmt.Sprintf("server %s (%s) enabled (was %s)", s.Name, s.Address, s.State), nil
}

// CordonServer cordons one server (dbms.cluster.cordonServer): it keeps what it hosts and
// gets nothing new. Cordoning a Cordoned server changes nothing; EnableServer undoes it.
func (c *Client) CordonServer(ctx context.Context, ref string) (string, error) {
	s, err := c.resolveServer(ctx, ref)
	if err != nil {
		return "", err
	}
	switch strings.ToLower(s.State) {
	case "cordoned":
		return fmt.Sprintf("server %s is already cordoned", s.Name), nil
	case "enabled":
	default:
		return "", &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("server %s is %s: only an Enabled server can be cordoned", s.Name, s.State)}
	}
	if _, err := c.run(ctx, "cordoning server "+s.Name, "system", true,
		"CALL dbms.cluster.cordonServer($server)", map[string]any{"server": s.Name}); err != nil {
		return "", err
	}
	return fmt.Sprintf("server %s (%s) cordoned", s.Name, s.Address), nil
}

// DeallocateServer is Deallocate with the moves as Neo4j's rows (what the agent uses).
func (c *Client) DeallocateServer(ctx context.Context, ref string, dryRun bool) (string, []Row, error) {
	msg, moves, err := c.Deallocate(ctx, ref, dryRun)
	return msg, movesToRows(moves), err
}

// Deallocate moves every database off a server (DEALLOCATE DATABASES FROM SERVER), which
// makes it Deallocating, then Deallocated once the moves are done. It is naturally
// idempotent: a server already Deallocating, Deallocated or Dropped is reported, not an
// error. With dryRun it returns the planned moves (DRYRUN) and changes nothing; the real
// run returns the moves it started (planned by a DRYRUN just before).
func (c *Client) Deallocate(ctx context.Context, ref string, dryRun bool) (string, []Move, error) {
	s, err := c.resolveServer(ctx, ref)
	if err != nil {
		return "", nil, err
	}
	switch strings.ToLower(s.State) {
	case "deallocating", "deallocated", "dropped":
		return fmt.Sprintf("server %s is already %s", s.Name, s.State), nil, nil
	case "free":
		return "", nil, &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("server %s is Free: it hosts nothing to deallocate", s.Name)}
	}
	params := map[string]any{"server": s.Name}
	rows, err := c.run(ctx, "planning the deallocation of server "+s.Name, "system", true, "DRYRUN DEALLOCATE DATABASES FROM SERVER $server", params)
	if err != nil {
		return "", nil, err
	}
	moves := rowsToMoves(rows)
	if dryRun {
		return fmt.Sprintf("deallocating server %s would make %d moves", s.Name, len(moves)), moves, nil
	}
	if _, err := c.run(ctx, "deallocating databases from server "+s.Name, "system", true, "DEALLOCATE DATABASES FROM SERVER $server", params); err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("server %s is deallocating (%d moves); wait until it is Deallocated, then drop it", s.Name, len(moves)), moves, nil
}

// DropServer drops a Deallocated server. It is naturally idempotent: a server already
// Dropped, or gone from SHOW SERVERS (a dropped server disappears once its process stops),
// is a success. A server still Deallocating answers CodeNotReady; an Enabled or Cordoned one
// must be deallocated first (CodeInvalidRequest).
func (c *Client) DropServer(ctx context.Context, ref string) (string, error) {
	s, err := c.resolveServer(ctx, ref)
	if IsCode(err, CodeInvalidRequest) {
		return fmt.Sprintf("server %s is not in SHOW SERVERS: already dropped (or never there)", ref), nil
	}
	if err != nil {
		return "", err
	}
	switch strings.ToLower(s.State) {
	case "dropped":
		return fmt.Sprintf("server %s is already dropped", s.Name), nil
	case "deallocating":
		return "", &Error{Code: CodeNotReady, Message: fmt.Sprintf("server %s is still deallocating (hosts %s): wait until it is Deallocated", s.Name, strings.Join(s.Hosting, ", "))}
	case "enabled", "cordoned":
		return "", &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("server %s is %s and hosts %s: deallocate it first", s.Name, s.State, strings.Join(s.Hosting, ", "))}
	}
	if _, err := c.run(ctx, "dropping server "+s.Name, "system", true, "DROP SERVER $server", map[string]any{"server": s.Name}); err != nil {
		return "", err
	}
	return fmt.Sprintf("server %s dropped", s.Name), nil
}

// Reallocate rebalances database allocations over the enabled servers: every database
// (REALLOCATE DATABASES) or one (dbms.cluster.reallocateDatabase, 5.23+). It plans with a
// dry run first and starts nothing when the cluster is already balanced, so a retry after a
// success is a no-op. With dryRun it only returns the plan.
func (c *Client) Reallocate(ctx context.Context, db string, dryRun bool) (string, []Move, error) {
	what, plan, apply := "reallocating databases", "DRYRUN REALLOCATE DATABASES", "REALLOCATE DATABASES"
	var params map[string]any
	if db != "" {
		what = "reallocating database " + db
		plan, apply = "CALL dbms.cluster.reallocateDatabase($db, true)", "CALL dbms.cluster.reallocateDatabase($db, false)"
		params = map[string]any{"db": db}
	}
	rows, err := c.run(ctx, "planning: "+what, "system", true, plan, params)
	if err != nil {
		return "", nil, err
	}
	moves := rowsToMoves(rows)
	switch {
	case len(moves) == 0:
		return "already balanced: nothing to move", nil, nil
	case dryRun:
		return fmt.Sprintf("%s would make %d moves", what, len(moves)), moves, nil
	}
	if _, err := c.run(ctx, what, "system", true, apply, params); err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("%s: %d moves started; poll status until hosting equals requested", what, len(moves)), moves, nil
}

func rowsToMoves(rows []Row) []Move {
	var out []Move
	for _, r := range rows {
		out = append(out, Move{Database: str(r, "database"), FromServerName: str(r, "fromServerName"), FromServerID: str(r, "fromServerId"),
			ToServerName: str(r, "toServerName"), ToServerID: str(r, "toServerId"), Mode: str(r, "mode")})
	}
	return out
}

func movesToRows(moves []Move) []Row {
	var out []Row
	for _, m := range moves {
		out = append(out, Row{"database": m.Database, "fromServerName": m.FromServerName, "fromServerId": m.FromServerID,
			"toServerName": m.ToServerName, "toServerId": m.ToServerID, "mode": m.Mode})
	}
	return out
}

// SetTopology sets how many primaries and secondaries host a database.
func (c *Client) SetTopology(ctx context.Context, db string, primaries, secondaries, waitSeconds int) (string, error) {
	if primaries < 1 || secondaries < 0 {
		return "", &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("set topology of %s: need primaries >= 1 and secondaries >= 0", db)}
	}
	// Counts are formatted ints (Cypher wants literals there); the name is a parameter.
	cypher := fmt.Sprintf("ALTER DATABASE $db SET TOPOLOGY %d PRIMARIES %d SECONDARIES %s", primaries, secondaries, waitClause(waitSeconds))
	if _, err := c.run(ctx, "setting the topology of "+db, "system", true, cypher, map[string]any{"db": db}); err != nil {
		return "", err
	}
	return fmt.Sprintf("database %s: topology %d primaries, %d secondaries", db, primaries, secondaries), nil
}

// Defaults is the DBMS-wide topology a database created without TOPOLOGY gets.
type Defaults struct {
	Primaries   int `json:"primaries"`
	Secondaries int `json:"secondaries"`
}

// TopologyDefaults reads the default topology of new databases
// (CALL dbms.showTopologyGraphConfig(), Enterprise). initial.dbms.default_*_count only seed
// it at the first DBMS start; dbms.setDefaultAllocationNumbers moves it afterwards.
func (c *Client) TopologyDefaults(ctx context.Context) (Defaults, error) {
	rows, err := c.run(ctx, "reading the default topology (dbms.showTopologyGraphConfig)", "system", false,
		"CALL dbms.showTopologyGraphConfig() YIELD defaultPrimariesCount, defaultSecondariesCount "+
			"RETURN defaultPrimariesCount, defaultSecondariesCount", nil)
	if err != nil {
		return Defaults{}, err
	}
	if len(rows) != 1 {
		return Defaults{}, &Error{Code: CodeInternal, Message: fmt.Sprintf("reading the default topology: dbms.showTopologyGraphConfig returned %d rows", len(rows))}
	}
	p, s := int64p(rows[0], "defaultPrimariesCount"), int64p(rows[0], "defaultSecondariesCount")
	if p == nil || s == nil {
		return Defaults{}, &Error{Code: CodeInternal, Message: "reading the default topology: dbms.showTopologyGraphConfig has no default counts"}
	}
	return Defaults{Primaries: int(*p), Secondaries: int(*s)}, nil
}

// SetDefaultAllocation sets the default topology of new databases
// (CALL dbms.setDefaultAllocationNumbers). It is idempotent: when the current defaults are
// already these, nothing is written; where they cannot be read (a version without
// dbms.showTopologyGraphConfig) the procedure is called anyway, which is harmless.
// Existing databases keep their topology (see SetTopology).
func (c *Client) SetDefaultAllocation(ctx context.Context, primaries, secondaries int) (string, error) {
	if primaries < 1 || secondaries < 0 {
		return "", &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("set default allocation: need primaries >= 1 and secondaries >= 0, got %d and %d", primaries, secondaries)}
	}
	want := Defaults{Primaries: primaries, Secondaries: secondaries}
	cur, err := c.TopologyDefaults(ctx)
	switch {
	case err == nil && cur == want:
		return fmt.Sprintf("default topology is already %d primaries, %d secondaries", primaries, secondaries), nil
	case err != nil && !IsCode(err, CodeUnsupported):
		return "", err
	}
	if _, err := c.run(ctx, "setting the default topology (dbms.setDefaultAllocationNumbers)", "system", true,
		"CALL dbms.setDefaultAllocationNumbers($primaries, $secondaries)",
		map[string]any{"primaries": int64(primaries), "secondaries": int64(secondaries)}); err != nil {
		return "", err
	}
	if err != nil { // the current defaults were unknown
		return fmt.Sprintf("default topology set to %d primaries, %d secondaries", primaries, secondaries), nil
	}
	return fmt.Sprintf("default topology %d primaries, %d secondaries (was %d, %d)", primaries, secondaries, cur.Primaries, cur.Secondaries), nil
}

// RestoreDatabase (request restore-database, contract version 1) replaces a database with
// the backup at seedURI, online: an existing database is recreated (RecreateDatabase: its
// privileges are kept); one that does not exist is created from the seed (SeedDatabase).
func (c *Client) RestoreDatabase(ctx context.Context, db, seedURI string, waitSeconds int) (string, error) {
	dbs, err := c.Databases(ctx)
	if err != nil {
		return "", err
	}
	if !slices.ContainsFunc(dbs, func(d Database) bool { return d.Name == db }) {
		return c.SeedDatabase(ctx, db, seedURI, false, waitSeconds)
	}
	return c.RecreateDatabase(ctx, db, seedURI, 0, 0)
}

// transitional are the current statuses of a database copy on its way somewhere: a recreate
// (or a start, or a store copy) is under way.
var transitional = []string{"starting", "stopping", "store copying", "initial"}

// RecreateDatabase replaces a database's store on every server with the backup at seedURI,
// keeping its privileges: dbms.cluster.recreateDatabase (5.24 to 2025.03) or
// dbms.recreateDatabase (2025.04 and later; the former is deprecated there). primaries > 0
// sets a new topology; 0 keeps the current one. The procedure only starts the work: the
// database is unavailable until every copy is online again, which the caller polls.
//
// A recreate is not idempotent (a second one would wipe what was written since the first),
// so it refuses (CodeNotReady) while any copy of the database is still on its way (starting,
// store copying...): a duplicate of a request that just started one does not start another.
// The admin Lambda also remembers idempotency keys.
func (c *Client) RecreateDatabase(ctx context.Context, db, seedURI string, primaries, secondaries int) (string, error) {
	if db == "" || strings.EqualFold(db, "system") || seedURI == "" {
		return "", &Error{Code: CodeInvalidRequest, Message: "recreating: a user database and a seedURI are required"}
	}
	_, version, err := c.Edition(ctx)
	if err != nil {
		return "", err
	}
	proc := "dbms.cluster.recreateDatabase"
	switch {
	case neo4jversion.AtLeast(version, 2025, 4):
		proc = "dbms.recreateDatabase"
	case !neo4jversion.AtLeast(version, 5, 24):
		return "", &Error{Code: CodeUnsupported, Message: fmt.Sprintf("recreating %s: Neo4j %s has no recreate procedure (5.24 and later)", db, version)}
	}
	dbs, err := c.Databases(ctx)
	if err != nil {
		return "", err
	}
	found := false
	for _, d := range dbs {
		if d.Name != db {
			continue
		}
		found = true
		if slices.Contains(transitional, strings.ToLower(d.CurrentStatus)) {
			return "", &Error{Code: CodeNotReady, Message: fmt.Sprintf("database %s is %s on %s: a recreate or start is under way; poll status and retry once it settles",
				db, d.CurrentStatus, cmp.Or(d.Address, d.ServerID))}
		}
	}
	if !found {
		return "", &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("recreating: there is no database %s (restore-database creates it from the seed)", db)}
	}
	opts := map[string]any{"seedURI": seedURI}
	if primaries > 0 {
		opts["primaries"], opts["secondaries"] = int64(primaries), int64(secondaries)
	}
	if _, err := c.run(ctx, fmt.Sprintf("recreating database %s from %s (%s)", db, seedURI, proc), "system", true,
		"CALL "+proc+"($db, $options)", map[string]any{"db": db, "options": opts}); err != nil {
		return "", err
	}
	return fmt.Sprintf("database %s is being recreated from %s (privileges kept); it is unavailable until every copy is online again", db, seedURI), nil
}

// SeedDatabase creates database db from the backup artifact at seedURI (Cypher 5:
// OPTIONS {existingData: 'use', seedURI: ...}); the servers fetch it themselves through
// dbms.databases.seed_from_uri_providers. A database that already exists is left alone,
// unless replace: then on 2025.01 and later CREATE OR REPLACE DATABASE, and on 5.x (which
// refuses seed options with OR REPLACE) DROP DATABASE ... IF EXISTS WAIT, then CREATE.
// The system database is never seeded.
func (c *Client) SeedDatabase(ctx context.Context, db, seedURI string, replace bool, waitSeconds int) (string, error) {
	if db == "" || strings.EqualFold(db, "system") || seedURI == "" {
		return "", &Error{Code: CodeInvalidRequest, Message: "seeding: a user database and a seedURI are required"}
	}
	opts := map[string]any{"existingData": "use", "seedURI": seedURI}
	params := map[string]any{"db": db, "options": opts}
	create := "CYPHER 5 CREATE DATABASE $db IF NOT EXISTS OPTIONS $options " + waitClause(waitSeconds)
	if replace {
		_, version, err := c.Edition(ctx)
		if err != nil {
			return "", err
		}
		if neo4jversion.IsCalendar(version) {
			create = "CYPHER 5 CREATE OR REPLACE DATABASE $db OPTIONS $options " + waitClause(waitSeconds)
		} else if _, err := c.run(ctx, "dropping database "+db+" before seeding it", "system", true,
			"DROP DATABASE $db IF EXISTS WAIT", map[string]any{"db": db}); err != nil {
			return "", err
		}
	}
	if _, err := c.run(ctx, "creating database "+db+" from "+seedURI, "system", true, create, params); err != nil {
		return "", err
	}
	verb := "created"
	if replace {
		verb = "recreated"
	}
	return fmt.Sprintf("database %s is being %s from %s", db, verb, seedURI), nil
}

func waitClause(seconds int) string {
	if seconds <= 0 {
		return "NOWAIT"
	}
	return fmt.Sprintf("WAIT %d SECONDS", seconds)
}
