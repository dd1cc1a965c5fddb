package ops

import (
	"cmp"
	"context"
	"errors"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// Neo4jView is the cluster as Neo4j sees it (SHOW SERVERS, SHOW DATABASES, statusCheck and
// the health gates), read through the admin channel, with each server matched to its member.
type Neo4jView struct {
	Via     string        `json:"via"` // the admin function, or the --bolt-uri
	Edition string        `json:"edition"`
	Version string        `json:"version"`
	Servers []ServerState `json:"servers"`
	// ServersNote says why Servers is empty (Community has no SHOW SERVERS).
	ServersNote string                   `json:"serversNote,omitempty"`
	Databases   []DatabaseState          `json:"databases"`
	Health      *neo4jadmin.HealthReport `json:"health,omitempty"`

	labels map[string]string // server id → member (or address)
}

// ServerState is one Neo4j server (a row of SHOW SERVERS) and the member it is.
type ServerState struct {
	// Member is core-N, replica/<task id> for a replica task, replica for a replica server
	// no running task has, or "" for a server of no member.
	Member  string   `json:"member,omitempty"`
	ID      string   `json:"id"`
	Address string   `json:"address"`
	State   string   `json:"state"`  // Free | Enabled | Cordoned | Deallocating | Deallocated | Dropped
	Health  string   `json:"health"` // Available | Unavailable
	Version string   `json:"version,omitempty"`
	Mode    string   `json:"modeConstraint,omitempty"`
	Hosting []string `json:"hosting"` // databases hosted
}

// DatabaseState is one database across the cluster: requested and current status, leader,
// copies, and the lag of each copy that is not the leader's.
type DatabaseState struct {
	neo4jadmin.DatabaseView
	LeaderMember string    `json:"leaderMember,omitempty"`
	Lag          []CopyLag `json:"lag,omitempty"`
}

// CopyLag is how far one copy of a database is behind its leader.
type CopyLag struct {
	Member string `json:"member"` // or the server's address
	Role   string `json:"role"`   // primary | secondary
	Behind int64  `json:"behind"` // transactions
}

// errNoChannel: get was given no admin channel.
var errNoChannel = errors.New("no admin channel to ask Neo4j")

// neo4jAnswer is the answer to get's one admin request.
type neo4jAnswer struct {
	via  string
	resp neo4jadmin.Response
	err  error
}

// askNeo4j asks for the health report, which carries the whole status too: one request.
func askNeo4j(ctx context.Context, admin AdminChannel) neo4jAnswer {
	a := neo4jAnswer{via: "the admin channel"}
	if v, ok := admin.(interface{ Via() string }); ok {
		a.via = v.Via()
	}
	a.resp, a.err = sendOK(ctx, admin, neo4jadmin.Request{Type: neo4jadmin.ReqHealth})
	return a
}

// joinNeo4j adds Neo4j's view to the cluster's: each server to its member, each database
// with its leader and lags by member. Without an answer it says why, on one line.
func (v *ClusterView) joinNeo4j(a neo4jAnswer) {
	if a.err != nil {
		v.Neo4jUnavailable = strings.Join(strings.Fields(a.err.Error()), " ")
		return
	}
	st := a.resp.Status
	n := &Neo4jView{Via: a.via, Edition: st.Edition, Version: st.Version, ServersNote: st.ServersNote,
		Servers: []ServerState{}, Databases: []DatabaseState{}, Health: a.resp.Health, labels: map[string]string{}}
	for _, s := range st.Servers {
		ss := ServerState{Member: v.memberOf(s), ID: s.ID, Address: s.Address, State: s.State, Health: s.Health,
			Version: s.Version, Mode: s.ModeConstraint, Hosting: s.Hosting}
		if ss.Hosting == nil {
			ss.Hosting = []string{}
		}
		n.Servers = append(n.Servers, ss)
		n.labels[s.ID] = cmp.Or(ss.Member, s.Address, s.ID)
		v.attach(ss)
	}
	for _, d := range st.DatabaseViews() {
		ds := DatabaseState{DatabaseView: d}
		for _, c := range d.Copies {
			if c.ServerID == d.Leader && d.Leader != "" {
				ds.LeaderMember = n.label(c.ServerID, c.Address)
			}
			if c.ServerID != d.Leader && c.ReplicationLag != nil {
				ds.Lag = append(ds.Lag, CopyLag{Member: n.label(c.ServerID, c.Address), Role: c.Role, Behind: abs(*c.ReplicationLag)})
			}
		}
		n.Databases = append(n.Databases, ds)
	}
	v.Neo4j = n
}

func (n *Neo4jView) label(id, address string) string { return cmp.Or(n.labels[id], address, id) }

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// memberOf names the member a server is: cores advertise core-N.<namespace>, replicas
// their task's address.
func (v *ClusterView) memberOf(s neo4jadmin.Server) string {
	host, _, _ := strings.Cut(s.Address, ":")
	for _, m := range v.Members {
		if host != "" && (host == m.DNSName || (m.DNSName == "" && strings.HasPrefix(host, m.Name+"."))) {
			return m.Name
		}
	}
	if v.Replicas != nil {
		if id, ok := v.Replicas.ips[host]; ok {
			return "replica/" + id
		}
	}
	if strings.EqualFold(s.ModeConstraint, "SECONDARY") {
		return "replica"
	}
	return ""
}

// attach puts a server on its member: a core's (the live one, when an old one is still
// listed), or the replicas'.
func (v *ClusterView) attach(s ServerState) {
	for i := range v.Members {
		m := &v.Members[i]
		if m.Name == s.Member && (m.Server == nil || s.Health == "Available") {
			m.Server = &s
			return
		}
	}
	if v.Replicas != nil && strings.HasPrefix(s.Member, "replica") {
		v.Replicas.Servers = append(v.Replicas.Servers, s)
	}
}
