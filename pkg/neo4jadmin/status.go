package neo4jadmin

import (
	"cmp"
	"context"
	"fmt"
	"sort"
	"strings"
)

// Server is one row of SHOW SERVERS.
type Server struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Address          string   `json:"address"`
	State            string   `json:"state"`  // Free | Enabled | Cordoned | Deallocating | Deallocated | Dropped
	Health           string   `json:"health"` // Available | Unavailable
	Hosting          []string `json:"hosting,omitempty"`
	RequestedHosting []string `json:"requestedHosting,omitempty"`
	Tags             []string `json:"tags,omitempty"`
	ModeConstraint   string   `json:"modeConstraint,omitempty"` // NONE | PRIMARY | SECONDARY
	Version          string   `json:"version,omitempty"`
}

// Database is one row of SHOW DATABASES: one database on one server.
type Database struct {
	Name                 string `json:"name"`
	Type                 string `json:"type,omitempty"` // standard | system | composite
	Access               string `json:"access,omitempty"`
	Address              string `json:"address,omitempty"` // empty when the server is unavailable
	Role                 string `json:"role,omitempty"`    // primary | secondary | unknown
	Writer               bool   `json:"writer"`
	RequestedStatus      string `json:"requestedStatus"`
	CurrentStatus        string `json:"currentStatus"`
	StatusMessage        string `json:"statusMessage,omitempty"`
	Default              bool   `json:"default,omitempty"`
	Home                 bool   `json:"home,omitempty"`
	ServerID             string `json:"serverID,omitempty"`
	RequestedPrimaries   *int64 `json:"requestedPrimariesCount,omitempty"`
	RequestedSecondaries *int64 `json:"requestedSecondariesCount,omitempty"`
	CurrentPrimaries     *int64 `json:"currentPrimariesCount,omitempty"`
	CurrentSecondaries   *int64 `json:"currentSecondariesCount,omitempty"`
	LastCommittedTxn     *int64 `json:"lastCommittedTxn,omitempty"`
	ReplicationLag       *int64 `json:"replicationLag,omitempty"` // transactions behind the leader (<= 0)
	// LastStartTime is when this copy last started, as Neo4j prints it (compared only for
	// change: a restore waits until every copy started again). Functions built before it
	// was read leave it out; the answer stays valid without it.
	LastStartTime string `json:"lastStartTime,omitempty"`
}

// MemberCheck is one row of CALL dbms.cluster.statusCheck([]) (Enterprise 5.24+).
type MemberCheck struct {
	Database              string `json:"database"`
	ServerID              string `json:"serverId"`
	ServerName            string `json:"serverName,omitempty"`
	Address               string `json:"address,omitempty"`
	ReplicationSuccessful bool   `json:"replicationSuccessful"`
	MemberStatus          string `json:"memberStatus,omitempty"` // LEADER | FOLLOWER | ...
	RecognisedLeader      string `json:"recognisedLeader,omitempty"`
	RecognisedLeaderTerm  *int64 `json:"recognisedLeaderTerm,omitempty"`
	Requester             bool   `json:"requester,omitempty"`
	Error                 string `json:"error,omitempty"`
}

// Status is the cluster as Neo4j sees it.
type Status struct {
	Edition string   `json:"edition"`
	Version string   `json:"version"`
	Servers []Server `json:"servers"`
	// ServersNote says why Servers is empty (Community has no SHOW SERVERS).
	ServersNote string     `json:"serversNote,omitempty"`
	Databases   []Database `json:"databases"`
	// StatusCheck is nil when the version or edition lacks dbms.cluster.statusCheck;
	// StatusCheckNote then says why.
	StatusCheck     []MemberCheck `json:"statusCheck,omitempty"`
	StatusCheckNote string        `json:"statusCheckNote,omitempty"`
}

// Status reads SHOW SERVERS, SHOW DATABASES and, where available, dbms.cluster.statusCheck.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	ed, ver, err := c.Edition(ctx)
	if err != nil {
		return nil, err
	}
	st := &Status{Edition: ed, Version: ver}
	st.Servers, err = c.Servers(ctx)
	if IsCode(err, CodeUnsupported) && ed != "enterprise" {
		st.Servers, st.ServersNote = nil, "SHOW SERVERS is Enterprise only (this server is "+ed+")"
	} else if err != nil {
		return nil, err
	}
	if st.Databases, err = c.Databases(ctx); err != nil {
		return nil, err
	}
	st.StatusCheck, st.StatusCheckNote, err = c.StatusCheck(ctx)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// Servers runs SHOW SERVERS.
func (c *Client) Servers(ctx context.Context) ([]Server, error) {
	rows, err := c.run(ctx, "listing servers (SHOW SERVERS)", "system", false, "SHOW SERVERS YIELD *", nil)
	if err != nil {
		return nil, err
	}
	out := make([]Server, 0, len(rows))
	for _, r := range rows {
		out = append(out, Server{
			ID: str(r, "serverId"), Name: str(r, "name"), Address: str(r, "address"),
			State: str(r, "state"), Health: str(r, "health"),
			Hosting: strs(r, "hosting"), RequestedHosting: strs(r, "requestedHosting"),
			Tags: strs(r, "tags"), ModeConstraint: str(r, "modeConstraint"), Version: str(r, "version"),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Databases runs SHOW DATABASES (every column, read leniently: columns differ by version).
func (c *Client) Databases(ctx context.Context) ([]Database, error) {
	rows, err := c.run(ctx, "listing databases (SHOW DATABASES)", "system", false, "SHOW DATABASES YIELD *", nil)
	if err != nil {
		return nil, err
	}
	out := make([]Database, 0, len(rows))
	for _, r := range rows {
		out = append(out, Database{
			Name: str(r, "name"), Type: str(r, "type"), Access: str(r, "access"),
			Address: str(r, "address"), Role: str(r, "role"), Writer: boolean(r, "writer"),
			RequestedStatus: str(r, "requestedStatus"), CurrentStatus: str(r, "currentStatus"),
			StatusMessage: str(r, "statusMessage"), Default: boolean(r, "default"), Home: boolean(r, "home"),
			ServerID:             str(r, "serverID"),
			RequestedPrimaries:   int64p(r, "requestedPrimariesCount"),
			RequestedSecondaries: int64p(r, "requestedSecondariesCount"),
			CurrentPrimaries:     int64p(r, "currentPrimariesCount"),
			CurrentSecondaries:   int64p(r, "currentSecondariesCount"),
			LastCommittedTxn:     int64p(r, "lastCommittedTxn"),
			ReplicationLag:       int64p(r, "replicationLag"),
			LastStartTime:        str(r, "lastStartTime"),
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Address < out[j].Address
	})
	return out, nil
}

// StatusCheck calls dbms.cluster.statusCheck([]) for all databases. Where the procedure does
// not exist (Community, versions before 5.24) it returns no rows and a note, not an error.
func (c *Client) StatusCheck(ctx context.Context) ([]MemberCheck, string, error) {
	ed, _, err := c.Edition(ctx)
	if err != nil {
		return nil, "", err
	}
	if ed != "enterprise" {
		return nil, "dbms.cluster.statusCheck is Enterprise only (this server is " + ed + ")", nil
	}
	rows, err := c.run(ctx, "checking replication (dbms.cluster.statusCheck)", "system", false,
		"CALL dbms.cluster.statusCheck([])", nil)
	if IsCode(err, CodeUnsupported) {
		return nil, "dbms.cluster.statusCheck is not available in this Neo4j version", nil
	}
	if err != nil {
		return nil, "", err
	}
	out := make([]MemberCheck, 0, len(rows))
	for _, r := range rows {
		out = append(out, MemberCheck{
			Database: str(r, "database"), ServerID: str(r, "serverId"), ServerName: str(r, "serverName"),
			Address: str(r, "address"), ReplicationSuccessful: boolean(r, "replicationSuccessful"),
			MemberStatus: str(r, "memberStatus"), RecognisedLeader: str(r, "recognisedLeader"),
			RecognisedLeaderTerm: int64p(r, "recognisedLeaderTerm"), Requester: boolean(r, "requester"),
			Error: str(r, "error"),
		})
	}
	return out, "", nil
}

// DatabaseView is one database across the cluster, as `get cluster` shows it: SHOW DATABASES
// has one row per database and server; this folds them, with the leader's term from
// dbms.cluster.statusCheck where available.
type DatabaseView struct {
	Name            string `json:"name"`
	Type            string `json:"type,omitempty"`
	RequestedStatus string `json:"requestedStatus"`
	// CurrentStatus is the requested status when every copy has it, else the status of the
	// first copy that differs (with its server in Copies).
	CurrentStatus string `json:"currentStatus"`
	// Leader is the server id of the copy that accepts writes ("" when none does).
	Leader     string `json:"leader,omitempty"`
	LeaderTerm *int64 `json:"leaderTerm,omitempty"`
	// Requested and current copies by role (current: copies online in that role).
	RequestedPrimaries   *int64 `json:"requestedPrimaries,omitempty"`
	RequestedSecondaries *int64 `json:"requestedSecondaries,omitempty"`
	PrimariesOnline      int    `json:"primariesOnline"`
	SecondariesOnline    int    `json:"secondariesOnline"`
	// Majority is how many primaries must be online for writes; HasMajority whether they are.
	// Both are computed from the requested primaries (system: from the primary rows).
	Majority    int    `json:"majority"`
	HasMajority bool   `json:"hasMajority"`
	Copies      []Copy `json:"copies"`
}

// Copy is one database on one server.
type Copy struct {
	ServerID      string `json:"serverID"`
	Address       string `json:"address,omitempty"`
	Role          string `json:"role"`
	Writer        bool   `json:"writer,omitempty"`
	CurrentStatus string `json:"currentStatus"`
	StatusMessage string `json:"statusMessage,omitempty"`
	// ReplicationLag is how many transactions this copy is behind the writer (0 or negative).
	ReplicationLag *int64 `json:"replicationLag,omitempty"`
}

// DatabaseViews folds SHOW DATABASES into one view per database, in name order.
func (s *Status) DatabaseViews() []DatabaseView {
	var out []DatabaseView
	index := map[string]int{}
	for _, d := range s.Databases {
		i, ok := index[d.Name]
		if !ok {
			i = len(out)
			index[d.Name] = i
			out = append(out, DatabaseView{Name: d.Name, Type: d.Type, RequestedStatus: d.RequestedStatus, CurrentStatus: d.RequestedStatus})
		}
		v := &out[i]
		v.Copies = append(v.Copies, Copy{ServerID: d.ServerID, Address: d.Address, Role: d.Role, Writer: d.Writer,
			CurrentStatus: d.CurrentStatus, StatusMessage: d.StatusMessage, ReplicationLag: d.ReplicationLag})
		if d.RequestedPrimaries != nil {
			v.RequestedPrimaries = d.RequestedPrimaries
		}
		if d.RequestedSecondaries != nil {
			v.RequestedSecondaries = d.RequestedSecondaries
		}
		online := strings.EqualFold(d.CurrentStatus, "online")
		switch {
		case online && strings.EqualFold(d.Role, "primary"):
			v.PrimariesOnline++
		case online && strings.EqualFold(d.Role, "secondary"):
			v.SecondariesOnline++
		}
		if !strings.EqualFold(d.CurrentStatus, d.RequestedStatus) && strings.EqualFold(v.CurrentStatus, v.RequestedStatus) {
			v.CurrentStatus = d.CurrentStatus
		}
		if d.Writer {
			v.Leader = d.ServerID
		}
	}
	for i := range out {
		v := &out[i]
		voters := 0
		if v.RequestedPrimaries != nil {
			voters = int(*v.RequestedPrimaries)
		} else {
			// system: the primary copies are the voters, including those whose role is
			// unknown because their server is unavailable, unless it is SECONDARY-only
			mode := map[string]string{}
			for _, sv := range s.Servers {
				mode[sv.ID] = sv.ModeConstraint
			}
			for _, c := range v.Copies {
				if strings.EqualFold(c.Role, "primary") || (!strings.EqualFold(c.Role, "secondary") && !strings.EqualFold(mode[c.ServerID], "SECONDARY")) {
					voters++
				}
			}
		}
		v.Majority = voters/2 + 1
		v.HasMajority = v.PrimariesOnline >= v.Majority
		for _, m := range s.StatusCheck {
			if m.Database == v.Name && m.RecognisedLeaderTerm != nil && (v.LeaderTerm == nil || *m.RecognisedLeaderTerm > *v.LeaderTerm) {
				v.LeaderTerm = m.RecognisedLeaderTerm
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LeadersByServer counts, per server address, the databases it is the writer (leader) of.
// Rolling operations restart the member that leads the most last.
func (s *Status) LeadersByServer() map[string]int {
	out := map[string]int{}
	for _, d := range s.Databases {
		if d.Writer && d.Address != "" {
			out[d.Address]++
		}
	}
	return out
}

// GateOptions are the thresholds of the health gates.
type GateOptions struct {
	// MinServers fails the gate when fewer servers are Enabled (0: no minimum).
	MinServers int `json:"minServers,omitempty"`
	// MaxReplicationLag is the most transactions a copy may be behind (default 0 means
	// DefaultMaxReplicationLag).
	MaxReplicationLag int64 `json:"maxReplicationLag,omitempty"`
}

// DefaultMaxReplicationLag is "near zero" in design §5: a busy cluster is never exactly 0.
const DefaultMaxReplicationLag = 100

// Gate is one check of the health report.
type Gate struct {
	Name   string   `json:"name"`
	OK     bool     `json:"ok"`
	Detail []string `json:"detail,omitempty"` // what is wrong, one line each
}

// HealthReport is the verdict of the gates a rolling operation waits for.
type HealthReport struct {
	OK    bool   `json:"ok"`
	Gates []Gate `json:"gates"`
}

// Gate names.
const (
	GateServersEnabled   = "servers-enabled"
	GateServersAvailable = "servers-available"
	GateDatabasesStatus  = "databases-status"
	GateDatabasesHosting = "databases-hosting"
	GateReplicationLag   = "replication-lag"
	GateStatusCheck      = "status-check"
	GateWriters          = "databases-have-writer"
)

// Health reads the status and evaluates the gates.
func (c *Client) Health(ctx context.Context, o GateOptions) (*HealthReport, *Status, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, nil, err
	}
	h := Evaluate(st, o)
	return &h, st, nil
}

// Evaluate applies the gates of design §5 to a status: every server Enabled and Available,
// every database copy at its requested status, hosted on as many servers as requested, a
// writer for every online database, replication lag near zero and statusCheck clean.
func Evaluate(st *Status, o GateOptions) HealthReport {
	maxLag := o.MaxReplicationLag
	if maxLag == 0 {
		maxLag = DefaultMaxReplicationLag
	}
	var enabled, available, dbStatus, hosting, lag, check, writers Gate
	enabled.Name, available.Name, dbStatus.Name = GateServersEnabled, GateServersAvailable, GateDatabasesStatus
	hosting.Name, lag.Name, check.Name, writers.Name = GateDatabasesHosting, GateReplicationLag, GateStatusCheck, GateWriters

	nEnabled := 0
	for _, s := range st.Servers {
		if strings.EqualFold(s.State, "Enabled") {
			nEnabled++
		} else {
			enabled.Detail = append(enabled.Detail, fmt.Sprintf("server %s (%s) is %s", s.Name, s.Address, s.State))
		}
		if !strings.EqualFold(s.Health, "Available") {
			available.Detail = append(available.Detail, fmt.Sprintf("server %s (%s) is %s", s.Name, s.Address, s.Health))
		}
	}
	if o.MinServers > 0 && nEnabled < o.MinServers {
		enabled.Detail = append(enabled.Detail, fmt.Sprintf("%d servers enabled, want at least %d", nEnabled, o.MinServers))
	}

	type counts struct {
		primaries, secondaries       int64
		reqPrimaries, reqSecondaries *int64
		online, writer               bool
	}
	per := map[string]*counts{}
	var names []string
	for _, d := range st.Databases {
		if d.Type == "composite" {
			continue
		}
		if !strings.EqualFold(d.CurrentStatus, d.RequestedStatus) {
			msg := fmt.Sprintf("database %s on %s is %s, requested %s", d.Name, d.Address, d.CurrentStatus, d.RequestedStatus)
			if d.StatusMessage != "" {
				msg += " (" + d.StatusMessage + ")"
			}
			dbStatus.Detail = append(dbStatus.Detail, msg)
		}
		if d.ReplicationLag != nil {
			l := *d.ReplicationLag
			if l < 0 {
				l = -l
			}
			if l > maxLag {
				lag.Detail = append(lag.Detail, fmt.Sprintf("database %s on %s is %d transactions behind (max %d)", d.Name, d.Address, l, maxLag))
			}
		}
		k := per[d.Name]
		if k == nil {
			k = &counts{}
			per[d.Name] = k
			names = append(names, d.Name)
		}
		switch strings.ToLower(d.Role) {
		case "primary":
			k.primaries++
		case "secondary":
			k.secondaries++
		}
		if d.RequestedPrimaries != nil {
			k.reqPrimaries = d.RequestedPrimaries
		}
		if d.RequestedSecondaries != nil {
			k.reqSecondaries = d.RequestedSecondaries
		}
		if strings.EqualFold(d.RequestedStatus, "online") {
			k.online = true
		}
		if d.Writer {
			k.writer = true
		}
	}
	for _, n := range names {
		k := per[n]
		if k.online && k.reqPrimaries != nil && k.primaries != *k.reqPrimaries {
			hosting.Detail = append(hosting.Detail, fmt.Sprintf("database %s is hosted by %d primaries, requested %d", n, k.primaries, *k.reqPrimaries))
		}
		if k.online && k.reqSecondaries != nil && k.secondaries != *k.reqSecondaries {
			hosting.Detail = append(hosting.Detail, fmt.Sprintf("database %s is hosted by %d secondaries, requested %d", n, k.secondaries, *k.reqSecondaries))
		}
		if k.online && !k.writer {
			writers.Detail = append(writers.Detail, fmt.Sprintf("database %s has no writer (leader)", n))
		}
	}
	for _, m := range st.StatusCheck {
		if !m.ReplicationSuccessful || m.Error != "" {
			msg := fmt.Sprintf("database %s on %s: replication not successful", m.Database, cmp.Or(m.ServerName, m.Address, m.ServerID))
			if m.Error != "" {
				msg += " (" + m.Error + ")"
			}
			check.Detail = append(check.Detail, msg)
		}
	}
	h := HealthReport{OK: true}
	for _, g := range []Gate{enabled, available, dbStatus, hosting, writers, lag, check} {
		g.OK = len(g.Detail) == 0
		if !g.OK {
			h.OK = false
		}
		h.Gates = append(h.Gates, g)
	}
	return h
}
