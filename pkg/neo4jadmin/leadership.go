package neo4jadmin

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// settingReadOnly is the dynamic per-server list of databases that refuse writes there.
// Neo4j moves the leadership of such a database away from the server (Operations Manual,
// Clustering > Leadership, routing and load balancing > Leadership balancing), and a value set
// with dbms.setConfigValue affects only the server it runs on and is lost when that server
// restarts (Procedures > dbms.setConfigValue). Neo4j 5.26 and 2025.x have no procedure that
// moves one database's leader on demand; this is the way the manual leaves.
const settingReadOnly = "server.databases.read_only"

// TransferLeadership makes Neo4j move the leaderships a server holds to other primaries,
// before the server is restarted: it adds every user database the server hosts to the
// server's server.databases.read_only (so equal leadership balancing cannot hand one back
// either). The server's restart clears the change; undo gives the databases back without
// a restart (back to the value the server started with). Both are naturally idempotent.
// The system database cannot be made read-only: its leadership stays where it is and is
// re-elected when the server stops. The answer names the databases now read-only there;
// the caller polls status until their writers are elsewhere.
func (c *Client) TransferLeadership(ctx context.Context, ref string, undo bool,
	dial func(ctx context.Context, address string) (*Client, error)) (string, []string, error) {
	s, err := c.resolveServer(ctx, ref)
	if err != nil {
		return "", nil, err
	}
	if dial == nil {
		return "", nil, &Error{Code: CodeUnsupported, Message: "transferring leadership needs a direct connection to server " + s.Name +
			" (" + s.Address + "); this channel reaches the cluster's routing address only: use the admin Lambda (the default)"}
	}
	if !strings.EqualFold(s.Health, "Available") {
		return "", nil, &Error{Code: CodeNotReady, Message: fmt.Sprintf("server %s (%s) is %s: it leads nothing Neo4j would move", s.Name, s.Address, s.Health)}
	}
	dbs, err := c.Databases(ctx)
	if err != nil {
		return "", nil, err
	}
	member, err := dial(ctx, s.Address)
	if err != nil {
		return "", nil, classify("connecting to server "+s.Name+" at "+s.Address, err)
	}
	defer member.Close(context.WithoutCancel(ctx))
	current, startup, err := member.readOnlySetting(ctx)
	if err != nil {
		return "", nil, err
	}
	var hosted []string
	leadsSystem := false
	for _, d := range dbs {
		if d.ServerID != s.ID && d.Address != s.Address {
			continue
		}
		if d.Type == "system" || d.Name == "system" {
			leadsSystem = leadsSystem || d.Writer
		} else if d.Type != "composite" && !slices.Contains(hosted, d.Name) {
			hosted = append(hosted, d.Name)
		}
	}
	want := startup
	if !undo {
		want = union(current, hosted)
	}
	slices.Sort(want)
	if !slices.Equal(want, sortedCopy(current)) {
		if _, err := member.run(ctx, fmt.Sprintf("setting %s on server %s", settingReadOnly, s.Name), "system", true,
			"CALL dbms.setConfigValue($setting, $value)", map[string]any{"setting": settingReadOnly, "value": strings.Join(want, ",")}); err != nil {
			return "", nil, err
		}
	}
	if undo {
		return fmt.Sprintf("server %s: databases read-only there are back to its start value [%s]", s.Name, strings.Join(want, ", ")), want, nil
	}
	msg := fmt.Sprintf("server %s: %s read-only there, so Neo4j moves their leaderships to other primaries; poll status until their writers are elsewhere",
		s.Name, strings.Join(hosted, ", "))
	if len(hosted) == 0 {
		msg = fmt.Sprintf("server %s hosts no user database", s.Name)
	}
	if leadsSystem {
		msg += "; it leads the system database, which cannot be moved this way: a new system leader is elected when it stops"
	}
	return msg, hosted, nil
}

// readOnlySetting reads the server's current and start-up server.databases.read_only.
func (c *Client) readOnlySetting(ctx context.Context) (current, startup []string, err error) {
	rows, err := c.run(ctx, "reading "+settingReadOnly, "system", false,
		"SHOW SETTINGS $names YIELD name, value, startupValue", map[string]any{"names": []any{settingReadOnly}})
	if err != nil {
		return nil, nil, err
	}
	if len(rows) != 1 {
		return nil, nil, &Error{Code: CodeInternal, Message: fmt.Sprintf("reading %s: SHOW SETTINGS returned %d rows", settingReadOnly, len(rows))}
	}
	return splitSetting(str(rows[0], "value")), splitSetting(str(rows[0], "startupValue")), nil
}

// splitSetting reads a database-set setting value ("a,b", "[a, b]" or "").
func splitSetting(v string) []string {
	var out []string
	for _, p := range strings.Split(strings.Trim(v, "[] "), ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func sortedCopy(a []string) []string {
	out := slices.Clone(a)
	slices.Sort(out)
	return out
}
