package rollout

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// Problem is one thing a gate found not ready: which server or database, in which state,
// and what the gate waits for.
type Problem struct {
	// Check is the neo4jadmin gate name it belongs to (servers-available, databases-status,
	// ...) or one of this package's: CheckMajority, CheckReplaced, CheckStatusRead.
	Check    string
	Server   string // the member (core-2) or the server's host; "" for a database as a whole
	Database string
	Is       string // what it is now
	Want     string // what the gate waits for
	// Final: waiting cannot fix it (a database whose primaries cannot spare one).
	Final bool
}

// Checks of this package, besides neo4jadmin's gate names.
const (
	CheckMajority   = "majority-kept"     // taking the member down keeps every database's majority
	CheckReplaced   = "replicas-replaced" // the replica servers from before a restart are gone
	CheckStatusRead = "status-read"       // Neo4j answered the status request
	CheckServerGone = "server-removed"    // a server being removed has left
	CheckJoined     = "server-joined"     // a new server is listed in SHOW SERVERS
)

func (p Problem) String() string {
	var what string
	switch {
	case p.Database != "" && p.Server != "":
		what = fmt.Sprintf("database %s on %s", p.Database, p.Server)
	case p.Database != "":
		what = "database " + p.Database
	case p.Server != "":
		what = "server " + p.Server
	default:
		what = "the cluster"
	}
	s := what + " " + p.Is
	if p.Want != "" {
		s += " (want " + p.Want + ")"
	}
	return s
}

// Problems is a gate's findings.
type Problems []Problem

func (ps Problems) String() string {
	const show = 6
	var parts []string
	for i, p := range ps {
		if i == show {
			parts = append(parts, fmt.Sprintf("and %d more", len(ps)-show))
			break
		}
		parts = append(parts, p.String())
	}
	return strings.Join(parts, "; ")
}

func (ps Problems) final() bool {
	return slices.ContainsFunc(ps, func(p Problem) bool { return p.Final })
}

// gateSpec is what one gate checks beyond the common conditions.
type gateSpec struct {
	members []Member
	maxLag  int64
	// down is the member about to go down (the gate before it): every database it hosts a
	// primary of must keep a majority without it.
	down *Member
	// acceptOutage lets a database that cannot spare a primary lose its writer.
	acceptOutage bool
	// oldReplicas are replica server ids that a replicas restart must have replaced;
	// minReplicas the replica servers that must be Enabled and Available again.
	oldReplicas []string
	minReplicas int
	// leaving is the server id of a core being removed (scale-in): Cordoned, Deallocating
	// or Deallocated is what it should be.
	leaving string
	// self is the server id of the member about to be restarted when it is already down and
	// was named (restart --member, --from): restarting it is the repair, so its being
	// Unavailable and its copies with it do not block the gate before it.
	self string
}

// view indexes a status for the gates.
type view struct {
	st      *neo4jadmin.Status
	byID    map[string]neo4jadmin.Server
	members []Member
	self    string // gateSpec.self
}

func newView(st *neo4jadmin.Status, members []Member) view {
	v := view{st: st, byID: map[string]neo4jadmin.Server{}, members: members}
	for _, s := range st.Servers {
		v.byID[s.ID] = s
	}
	return v
}

// label names a server for people: its member (core-2) when it is one, else its host.
func (v view) label(s neo4jadmin.Server) string {
	if m, ok := memberOf(s, v.members); ok {
		return m.Name
	}
	if h := host(s.Address); h != "" {
		return h
	}
	return cmp.Or(s.Name, s.ID)
}

func (v view) labelID(id string) string {
	if s, ok := v.byID[id]; ok {
		return v.label(s)
	}
	return id
}

// awaitingRemoval: a replica server that is not Available. A replica has no volume, so its
// server never comes back: its replacement joins as a new server, and the agent deallocates
// and drops the old one. Such servers, and the copies still allocated to them, do not
// block a gate.
func awaitingRemoval(s neo4jadmin.Server) bool {
	return strings.EqualFold(s.ModeConstraint, "SECONDARY") && !strings.EqualFold(s.Health, "Available")
}

func (v view) exempt(serverID string) bool {
	s, ok := v.byID[serverID]
	return ok && (awaitingRemoval(s) || strings.EqualFold(s.State, "Dropped") || (serverID == v.self && v.self != ""))
}

// check applies a gate to a status: every server Enabled and Available, hosting what it is
// asked to host, every database copy at its requested status and caught up, every database
// hosted as requested with a writer, statusCheck clean; plus what spec adds.
func check(st *neo4jadmin.Status, spec gateSpec) Problems {
	v := newView(st, spec.members)
	v.self = spec.self
	maxLag := cmp.Or(spec.maxLag, neo4jadmin.DefaultMaxReplicationLag)
	var ps Problems
	ps = append(ps, v.servers(spec.leaving)...)
	ps = append(ps, v.copies(maxLag)...)
	ps = append(ps, v.databases()...)
	for _, m := range st.StatusCheck {
		if (m.ReplicationSuccessful && m.Error == "") || v.exempt(m.ServerID) {
			continue
		}
		p := Problem{Check: neo4jadmin.GateStatusCheck, Database: m.Database, Server: v.labelID(m.ServerID),
			Is: "does not replicate successfully", Want: "replication successful"}
		if m.Error != "" {
			p.Is += " (" + m.Error + ")"
		}
		ps = append(ps, p)
	}
	if spec.down != nil {
		ps = append(ps, v.majority(*spec.down, spec.acceptOutage)...)
	}
	if spec.oldReplicas != nil || spec.minReplicas > 0 {
		ps = append(ps, v.replaced(spec.oldReplicas, spec.minReplicas)...)
	}
	return ps
}

func (v view) servers(leaving string) Problems {
	var ps Problems
	for _, s := range v.st.Servers {
		if awaitingRemoval(s) || strings.EqualFold(s.State, "Dropped") {
			continue
		}
		if !strings.EqualFold(s.State, "Enabled") && (s.ID != leaving || strings.EqualFold(s.State, "Free")) {
			ps = append(ps, Problem{Check: neo4jadmin.GateServersEnabled, Server: v.label(s), Is: "is " + s.State, Want: "Enabled"})
		}
		if s.ID == v.self && v.self != "" {
			continue
		}
		if !strings.EqualFold(s.Health, "Available") {
			ps = append(ps, Problem{Check: neo4jadmin.GateServersAvailable, Server: v.label(s), Is: "is " + s.Health, Want: "Available"})
			continue
		}
		// the Operations Manual's rolling-upgrade check: SHOW SERVERS hosting = requestedHosting
		if missing := without(s.RequestedHosting, s.Hosting); len(missing) > 0 {
			ps = append(ps, Problem{Check: neo4jadmin.GateDatabasesHosting, Server: v.label(s),
				Is: "does not host " + strings.Join(missing, ", ") + " yet", Want: "hosting = requestedHosting"})
		}
	}
	return ps
}

// without returns the elements of a that are not in b.
func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func (v view) copies(maxLag int64) Problems {
	var ps Problems
	for _, d := range v.st.Databases {
		if d.Type == "composite" || v.exempt(d.ServerID) {
			continue
		}
		on := v.labelID(d.ServerID)
		if !strings.EqualFold(d.CurrentStatus, d.RequestedStatus) {
			p := Problem{Check: neo4jadmin.GateDatabasesStatus, Database: d.Name, Server: on, Is: "is " + d.CurrentStatus, Want: d.RequestedStatus}
			if d.StatusMessage != "" {
				p.Is += " (" + d.StatusMessage + ")"
			}
			ps = append(ps, p)
			continue
		}
		if d.ReplicationLag != nil && strings.EqualFold(d.CurrentStatus, "online") {
			if lag := max(*d.ReplicationLag, -*d.ReplicationLag); lag > maxLag {
				ps = append(ps, Problem{Check: neo4jadmin.GateReplicationLag, Database: d.Name, Server: on,
					Is: fmt.Sprintf("is %d transactions behind", lag), Want: fmt.Sprintf("at most %d", maxLag)})
			}
		}
	}
	return ps
}

// databases checks each database as a whole: hosted by as many primaries and secondaries as
// requested, a copy on an exempt server (a replica awaiting removal, the member about to be
// repaired) counting as whichever is short; and a writer when it should be online.
func (v view) databases() Problems {
	type agg struct {
		primaries, secondaries, parked int64
		reqP, reqS                     *int64
		online, writer                 bool
	}
	per := map[string]*agg{}
	var names []string
	for _, d := range v.st.Databases {
		if d.Type == "composite" {
			continue
		}
		a := per[d.Name]
		if a == nil {
			a = &agg{}
			per[d.Name] = a
			names = append(names, d.Name)
		}
		switch {
		case v.exempt(d.ServerID):
			a.parked++
		case strings.EqualFold(d.Role, "primary"):
			a.primaries++
		case strings.EqualFold(d.Role, "secondary"):
			a.secondaries++
		}
		a.reqP, a.reqS = cmp.Or(d.RequestedPrimaries, a.reqP), cmp.Or(d.RequestedSecondaries, a.reqS)
		a.online = a.online || strings.EqualFold(d.RequestedStatus, "online")
		a.writer = a.writer || d.Writer
	}
	var ps Problems
	for _, n := range names {
		a := per[n]
		if !a.online {
			continue
		}
		ps = append(ps, hosting(n, a.primaries, a.secondaries, a.parked, a.reqP, a.reqS)...)
		if !a.writer {
			ps = append(ps, Problem{Check: neo4jadmin.GateWriters, Database: n, Is: "has no writer", Want: "a leader"})
		}
	}
	return ps
}

// hosting compares the copies of a database with its requested topology (nil: not reported
// by this Neo4j); parked copies make up for what is short.
func hosting(db string, p, s, parked int64, reqP, reqS *int64) Problems {
	var short int64
	ok := true
	for _, c := range []struct {
		have int64
		want *int64
	}{{p, reqP}, {s, reqS}} {
		if c.want != nil {
			short += max(0, *c.want-c.have)
			ok = ok && c.have <= *c.want
		}
	}
	ok = ok && short <= parked && (reqP == nil || reqS == nil || short == parked)
	if ok {
		return nil
	}
	var ps Problems
	if reqP != nil && p != *reqP {
		ps = append(ps, Problem{Check: neo4jadmin.GateDatabasesHosting, Database: db, Is: fmt.Sprintf("is hosted by %d primaries", p), Want: fmt.Sprint(*reqP)})
	}
	if reqS != nil && s != *reqS {
		ps = append(ps, Problem{Check: neo4jadmin.GateDatabasesHosting, Database: db, Is: fmt.Sprintf("is hosted by %d secondaries", s), Want: fmt.Sprint(*reqS)})
	}
	if len(ps) == 0 {
		ps = append(ps, Problem{Check: neo4jadmin.GateDatabasesHosting, Database: db, Is: fmt.Sprintf("has %d copies more than requested", parked-short), Want: "as many as requested"})
	}
	return ps
}

// majority: every database the member hosts a primary of keeps a majority of its primaries
// online while the member is down. A database with fewer than three primaries can never
// spare one: that is final (unless an outage of its writes is accepted).
func (v view) majority(m Member, acceptOutage bool) Problems {
	id, ok := serverID(v.st, m)
	if !ok {
		return nil
	}
	secondaryOnly := strings.EqualFold(v.byID[id].ModeConstraint, "SECONDARY")
	var ps Problems
	for _, d := range v.st.DatabaseViews() {
		i := slices.IndexFunc(d.Copies, func(c neo4jadmin.Copy) bool { return c.ServerID == id })
		if !strings.EqualFold(d.RequestedStatus, "online") || i < 0 {
			continue
		}
		c := d.Copies[i]
		primary := strings.EqualFold(c.Role, "primary") // an unavailable server's role is unknown
		if !primary && (strings.EqualFold(c.Role, "secondary") || secondaryOnly) {
			continue
		}
		voters := v.voters(d)
		left := d.PrimariesOnline
		if primary && strings.EqualFold(c.CurrentStatus, "online") {
			left--
		}
		switch {
		case voters-1 < d.Majority && !acceptOutage:
			ps = append(ps, Problem{Check: CheckMajority, Database: d.Name, Final: true,
				Is:   fmt.Sprintf("has %d primaries: with %s down it keeps %d, below its majority of %d, and refuses writes until %s is back", voters, m.Name, voters-1, d.Majority, m.Name),
				Want: "3 or more primaries (ALTER DATABASE ... SET TOPOLOGY), or accept the outage"})
		case voters-1 >= d.Majority && left < d.Majority:
			ps = append(ps, Problem{Check: CheckMajority, Database: d.Name,
				Is:   fmt.Sprintf("has %d of %d primaries online: with %s down it would lose its majority of %d", d.PrimariesOnline, voters, m.Name, d.Majority),
				Want: fmt.Sprintf("%d online", d.Majority+1)})
		}
	}
	return ps
}

// voters are a database's primaries: as requested, or for system (no requested count) its
// copies that are primaries or, on an unavailable server, may be one.
func (v view) voters(d neo4jadmin.DatabaseView) int {
	if d.RequestedPrimaries != nil {
		return int(*d.RequestedPrimaries)
	}
	n := 0
	for _, c := range d.Copies {
		if strings.EqualFold(c.Role, "primary") || (!strings.EqualFold(c.Role, "secondary") && !strings.EqualFold(v.byID[c.ServerID].ModeConstraint, "SECONDARY")) {
			n++
		}
	}
	return n
}

// replaced: after a replicas restart the replica servers from before are no longer
// Available (their tasks were replaced) and at least min replica servers are Enabled and
// Available again.
func (v view) replaced(old []string, min int) Problems {
	var ps Problems
	n := 0
	for _, s := range v.st.Servers {
		if !strings.EqualFold(s.ModeConstraint, "SECONDARY") || !strings.EqualFold(s.Health, "Available") {
			continue
		}
		if slices.Contains(old, s.ID) {
			ps = append(ps, Problem{Check: CheckReplaced, Server: v.label(s), Is: "is still the replica from before the restart", Want: "replaced by a new task"})
			continue
		}
		if strings.EqualFold(s.State, "Enabled") {
			n++
		}
	}
	if n < min {
		ps = append(ps, Problem{Check: CheckReplaced, Is: fmt.Sprintf("has %d new replica servers Enabled and Available", n), Want: fmt.Sprintf("%d", min)})
	}
	return ps
}

// replicaServers are the ids of the replica servers Enabled and Available now.
func replicaServers(st *neo4jadmin.Status) []string {
	var out []string
	for _, s := range st.Servers {
		if strings.EqualFold(s.ModeConstraint, "SECONDARY") && strings.EqualFold(s.Health, "Available") && strings.EqualFold(s.State, "Enabled") {
			out = append(out, s.ID)
		}
	}
	return out
}
