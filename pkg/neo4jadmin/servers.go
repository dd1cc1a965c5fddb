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

// RestoreDatabase replaces a database with the backup at seedURI, online, on every server
// that hosts it: CREATE OR REPLACE DATABASE x OPTIONS {existingData: 'use', seedURI: ...}.
func (c *Client) RestoreDatabase(ctx context.Context, db, seedURI string, waitSeconds int) (string, error) {
	if db == "" || db == "system" || seedURI == "" {
		return "", &Error{Code: CodeInvalidRequest, Message: "restore: a user database and a seedURI are required"}
	}
	cypher := "CYPHER 5 CREATE OR REPLACE DATABASE $db OPTIONS $options " + waitClause(waitSeconds)
	opts := map[string]any{"existingData": "use", "seedURI": seedURI}
	if _, err := c.run(ctx, "restoring database "+db+" from "+seedURI, "system", true, cypher, map[string]any{"db": db, "options": opts}); err != nil {
		return "", err
	}
	return fmt.Sprintf("database %s is being recreated from %s", db, seedURI), nil
}

func waitClause(seconds int) string {
	if seconds <= 0 {
		return "NOWAIT"
	}
	return fmt.Sprintf("WAIT %d SECONDS", seconds)
}
