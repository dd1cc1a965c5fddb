package clustersim

import (
	"sort"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// The administration commands, applied under the lock. Each checks what the manual says it
// checks and refuses with a Neo4j error otherwise, changing nothing.

func (s *Sim) enableServer(ref string) error {
	sv, err := s.findServer(ref)
	if err != nil {
		return err
	}
	switch sv.state {
	case StateEnabled:
	case StateFree, StateCordoned:
		s.enable(sv)
	default:
		return refuse("Neo.ClientError.General.InvalidArguments", "server %s is %s and cannot be enabled", sv.name, sv.state)
	}
	return nil
}

func (s *Sim) cordonServer(ref string) error {
	sv, err := s.findServer(ref)
	if err != nil {
		return err
	}
	if sv.state != StateEnabled && sv.state != StateCordoned {
		return refuse("Neo.ClientError.General.InvalidArguments", "server %s is %s: only an enabled server can be cordoned", sv.name, sv.state)
	}
	sv.state = StateCordoned
	return nil
}

// move is one planned allocation move.
type move struct {
	d        *database
	from, to *server
	old      *alloc
}

func (m move) row() neo4jadmin.Row {
	return neo4jadmin.Row{"database": m.d.name, "fromServerName": m.from.name, "fromServerId": m.from.id,
		"toServerName": m.to.name, "toServerId": m.to.id, "mode": m.old.role}
}

// apply starts a move: the new copy store-copies, the old one leaves once it is online.
func (s *Sim) apply(mv move) {
	mv.old.leaving = true
	mv.d.allocs = append(mv.d.allocs, &alloc{server: mv.to, role: mv.old.role, since: s.now, replaces: mv.old})
}

func rows(moves []move) []neo4jadmin.Row {
	out := []neo4jadmin.Row{}
	for _, m := range moves {
		out = append(out, m.row())
	}
	return out
}

// deallocate plans (and unless dryRun starts) moving every user database off a server.
func (s *Sim) deallocate(ref string, dryRun bool) ([]neo4jadmin.Row, error) {
	sv, err := s.findServer(ref)
	if err != nil {
		return nil, err
	}
	if sv.state != StateEnabled && sv.state != StateCordoned {
		return nil, refuse("Neo.ClientError.General.InvalidArguments", "server %s is %s: only an enabled or cordoned server can be deallocated", sv.name, sv.state)
	}
	for _, d := range s.dbs {
		a := d.allocOn(sv)
		if d.typ == "system" || a == nil || a.leaving {
			continue
		}
		if d.requested != "online" {
			return nil, refuse("Neo.ClientError.General.InvalidArguments", "cannot deallocate server %s: database %s is offline", sv.name, d.name)
		}
		if a.role == rolePrimary && d.primaries == 1 {
			return nil, refuse("Neo.ClientError.General.InvalidArguments", "cannot deallocate server %s: database %s has a single primary", sv.name, d.name)
		}
		if a.role == rolePrimary && s.cordonedQuorum(d) {
			return nil, refuse("Neo.ClientError.General.InvalidArguments", "cannot deallocate server %s: a quorum of database %s's primaries is cordoned", sv.name, d.name)
		}
	}
	var moves []move
	taken := map[*database][]*server{}
	load := s.load()
	for _, d := range s.dbs {
		a := d.allocOn(sv)
		if d.typ == "system" || a == nil || a.leaving {
			continue
		}
		to := s.target(d, a.role, append(taken[d], sv), load)
		if to == nil {
			return nil, refuse("Neo.ClientError.General.InvalidArguments",
				"cannot deallocate server %s: not enough servers left to host database %s's %d primaries and %d secondaries", sv.name, d.name, d.primaries, d.secondaries)
		}
		taken[d] = append(taken[d], to)
		load[to]++
		moves = append(moves, move{d: d, from: sv, to: to, old: a})
	}
	if dryRun {
		return rows(moves), nil
	}
	for _, mv := range moves {
		s.apply(mv)
	}
	sv.state = StateDeallocating
	s.step(0)
	return nil, nil
}

func (s *Sim) cordonedQuorum(d *database) bool {
	n, voters := 0, d.voters()
	for _, a := range voters {
		if a.server.state == StateCordoned {
			n++
		}
	}
	return n >= len(voters)/2+1
}

// target is where a new copy of d in role goes: an eligible server not hosting d nor in
// exclude, available first, least loaded, then by address.
func (s *Sim) target(d *database, role string, exclude []*server, load map[*server]int) *server {
	now, t := s.now, s.cfg.Timing
	var best *server
	for _, sv := range s.sortedServers() {
		if !sv.canHost(role) || d.allocOn(sv) != nil || contains(exclude, sv) {
			continue
		}
		if best == nil {
			best = sv
			continue
		}
		ua, ub := sv.member.available(now, t), best.member.available(now, t)
		if ua != ub {
			if ua {
				best = sv
			}
			continue
		}
		if load[sv] < load[best] {
			best = sv
		}
	}
	return best
}

func contains(list []*server, sv *server) bool {
	for _, x := range list {
		if x == sv {
			return true
		}
	}
	return false
}

func (s *Sim) dropServer(ref string) error {
	sv, err := s.findServer(ref)
	if err != nil {
		return err
	}
	if sv.state != StateDeallocated {
		return refuse("Neo.ClientError.General.InvalidArguments", "cannot drop server %s: it is %s; only a deallocated server can be dropped", sv.name, sv.state)
	}
	sv.state = StateDropped
	if sys := s.db("system"); sys != nil {
		if a := sys.allocOn(sv); a != nil {
			if sys.leader == a {
				sys.leaderLost = s.now.Add(-s.cfg.Timing.Election)
			}
			sys.remove(a)
		}
	}
	if !sv.member.running {
		sv.gone = true
	}
	s.step(0)
	return nil
}

// reallocate plans (and unless dryRun starts) moves that even out the user-database copies
// over the enabled servers: from the most loaded to the least loaded, while they differ by
// two or more.
func (s *Sim) reallocate(only string, dryRun bool) ([]neo4jadmin.Row, error) {
	load := s.load()
	var moves []move
	moved := map[*alloc]bool{}
	for range 64 {
		mv, ok := s.nextBalancingMove(only, load, moved)
		if !ok {
			break
		}
		moves = append(moves, mv)
		moved[mv.old] = true
		load[mv.from]--
		load[mv.to]++
	}
	if !dryRun {
		for _, mv := range moves {
			s.apply(mv)
		}
		s.step(0)
	}
	return rows(moves), nil
}

func (s *Sim) nextBalancingMove(only string, load map[*server]int, moved map[*alloc]bool) (move, bool) {
	servers := s.sortedServers()
	sort.SliceStable(servers, func(i, j int) bool { return load[servers[i]] > load[servers[j]] })
	for _, from := range servers {
		for _, d := range s.dbs {
			a := d.allocOn(from)
			if d.typ == "system" || a == nil || a.leaving || moved[a] || (only != "" && d.name != only) {
				continue
			}
			for i := len(servers) - 1; i >= 0; i-- {
				to := servers[i]
				if to.canHost(a.role) && d.allocOn(to) == nil && load[from]-load[to] >= 2 {
					return move{d: d, from: from, to: to, old: a}, true
				}
			}
		}
	}
	return move{}, false
}

// setTopology changes a database's requested copies: new ones are allocated (least loaded
// servers) and store-copy; surplus ones go, cordoned servers' first, the leader's last.
func (s *Sim) setTopology(name string, primaries, secondaries int) error {
	d := s.db(name)
	if d == nil || d.typ == "system" {
		return refuse("Neo.ClientError.Database.DatabaseNotFound", "database %s does not exist", name)
	}
	if primaries == 1 && d.primaries > 1 {
		return refuse("Neo.ClientError.General.InvalidArguments", "cannot move database %s to a single primary automatically", name)
	}
	for _, want := range []struct {
		role string
		n    int
	}{{rolePrimary, primaries}, {roleSecondary, secondaries}} {
		have := 0
		for _, sv := range s.sortedServers() {
			if sv.canHost(want.role) || (d.allocOn(sv) != nil && d.allocOn(sv).role == want.role && !d.allocOn(sv).leaving) {
				have++
			}
		}
		if have < want.n {
			return refuse("Neo.ClientError.General.InvalidArguments", "cannot set database %s to %d %ss: %d servers can host one", name, want.n, want.role, have)
		}
	}
	s.resize(d, rolePrimary, primaries)
	s.resize(d, roleSecondary, secondaries)
	d.primaries, d.secondaries = primaries, secondaries
	s.step(0)
	return nil
}

func (s *Sim) resize(d *database, role string, n int) {
	var have []*alloc
	for _, a := range d.allocs {
		if a.role == role && !a.leaving {
			have = append(have, a)
		}
	}
	if len(have) < n {
		for _, sv := range s.placement(d, role, n-len(have)) {
			d.allocs = append(d.allocs, &alloc{server: sv, role: role, since: s.now})
		}
		return
	}
	sort.SliceStable(have, func(i, j int) bool {
		ci, cj := have[i].server.state == StateCordoned, have[j].server.state == StateCordoned
		if ci != cj {
			return ci
		}
		return have[j] == d.leader
	})
	for _, a := range have[:len(have)-n] {
		if d.leader == a {
			d.leaderLost = s.now.Add(-s.cfg.Timing.Election)
		}
		d.remove(a)
	}
}

// recreate replaces every copy's store from the seed (dbms.cluster.recreateDatabase up to
// 2025.03, dbms.recreateDatabase from 2025.04), keeping the topology unless one is given.
func (s *Sim) recreate(on *server, cypher, name string, options any) error {
	newProc := strings.Contains(cypher, "dbms.recreateDatabase")
	v := on.member.version
	if newProc && !atLeast(v, 2025, 4) {
		return refuse("Neo.ClientError.Procedure.ProcedureNotFound", "There is no procedure with the name `dbms.recreateDatabase` registered for this database instance (Neo4j %s)", v)
	}
	if !newProc && !atLeast(v, 5, 24) {
		return refuse("Neo.ClientError.Procedure.ProcedureNotFound", "There is no procedure with the name `dbms.cluster.recreateDatabase` registered for this database instance (Neo4j %s)", v)
	}
	d := s.db(name)
	if d == nil || d.typ == "system" {
		return refuse("Neo.ClientError.Database.DatabaseNotFound", "database %s does not exist or cannot be recreated", name)
	}
	opts, _ := options.(map[string]any)
	if opts["seedURI"] == nil {
		return refuse("Neo.ClientError.General.InvalidArguments", "clustersim models recreate from a seedURI only")
	}
	if p, ok := opts["primaries"].(int64); ok {
		sec, _ := opts["secondaries"].(int64)
		if err := s.setTopology(name, int(p), int(sec)); err != nil {
			return err
		}
	}
	for _, a := range d.allocs {
		a.store, a.since, a.applied = false, s.now, 0
	}
	d.txn, d.seeding = 0, true
	if d.leader != nil {
		d.leader, d.leaderLost = nil, s.now
	}
	s.step(0)
	return nil
}

// atLeast compares the first two numbers of a version.
func atLeast(v string, major, minor int) bool {
	var ma, mi int
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	for _, ch := range parts[0] {
		ma = ma*10 + int(ch-'0')
	}
	for _, ch := range parts[1] {
		if ch < '0' || ch > '9' {
			break
		}
		mi = mi*10 + int(ch-'0')
	}
	return ma > major || (ma == major && mi >= minor)
}
