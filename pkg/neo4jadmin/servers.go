package neo4jadmin

import (
	"context"
	"fmt"
	"strings"
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

// resolveServer finds a server by name, id or address.
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

// DeallocateServer moves every database off a server (DEALLOCATE DATABASES FROM SERVER).
// It is idempotent: a server already Deallocating, Dropped or gone is reported, not an error.
// With dryRun it returns the planned moves.
func (c *Client) DeallocateServer(ctx context.Context, ref string, dryRun bool) (string, []Row, error) {
	s, err := c.resolveServer(ctx, ref)
	if err != nil {
		return "", nil, err
	}
	switch strings.ToLower(s.State) {
	case "deallocating", "dropped":
		return fmt.Sprintf("server %s is already %s", s.Name, s.State), nil, nil
	}
	cypher := "DEALLOCATE DATABASES FROM SERVER $server"
	if dryRun {
		cypher = "DRYRUN " + cypher
	}
	rows, err := c.run(ctx, "deallocating databases from server "+s.Name, "system", true, cypher, map[string]any{"server": s.Name})
	if err != nil {
		return "", nil, err
	}
	if dryRun {
		return fmt.Sprintf("deallocating server %s would make %d moves", s.Name, len(rows)), rows, nil
	}
	return fmt.Sprintf("server %s is deallocating; wait until it hosts nothing, then drop it", s.Name), nil, nil
}

// DropServer drops a deallocated server. Dropping one already gone is a success.
func (c *Client) DropServer(ctx context.Context, ref string) (string, error) {
	s, err := c.resolveServer(ctx, ref)
	if IsCode(err, CodeInvalidRequest) {
		return fmt.Sprintf("server %s is not in SHOW SERVERS (already dropped)", ref), nil
	}
	if err != nil {
		return "", err
	}
	if strings.EqualFold(s.State, "Dropped") {
		return fmt.Sprintf("server %s is already dropped", s.Name), nil
	}
	if len(s.Hosting) > 0 && strings.EqualFold(s.State, "Enabled") {
		return "", &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("server %s still hosts %s: deallocate it first", s.Name, strings.Join(s.Hosting, ", "))}
	}
	if _, err := c.run(ctx, "dropping server "+s.Name, "system", true, "DROP SERVER $server", map[string]any{"server": s.Name}); err != nil {
		return "", err
	}
	return fmt.Sprintf("server %s dropped", s.Name), nil
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

// RestoreDatabase replaces a database with the backup at seedURI, online, on every server
// that will host it (see SeedDatabase with replace).
func (c *Client) RestoreDatabase(ctx context.Context, db, seedURI string, waitSeconds int) (string, error) {
	return c.SeedDatabase(ctx, db, seedURI, true, waitSeconds)
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
		if calendarVersion(version) {
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

// calendarVersion reports Neo4j 2025.x and later.
func calendarVersion(v string) bool {
	major, _, _ := strings.Cut(v, ".")
	n := 0
	for _, ch := range major {
		if ch < '0' || ch > '9' {
			return false
		}
		n = n*10 + int(ch-'0')
	}
	return n >= 2025
}

func waitClause(seconds int) string {
	if seconds <= 0 {
		return "NOWAIT"
	}
	return fmt.Sprintf("WAIT %d SECONDS", seconds)
}
