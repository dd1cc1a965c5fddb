package clustersim

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Server states (SHOW SERVERS state) and health.
const (
	StateFree         = "Free"
	StateEnabled      = "Enabled"
	StateCordoned     = "Cordoned"
	StateDeallocating = "Deallocating"
	StateDeallocated  = "Deallocated"
	StateDropped      = "Dropped"

	Available   = "Available"
	Unavailable = "Unavailable"
)

// member is one process slot: a core member (its volume keeps its server id) or one replica
// task (a new task is a new member).
type member struct {
	name       string // core-2, replicas-7
	service    string // core-2, replicas
	core       bool
	server     *server
	running    bool
	startedAt  time.Time
	starts     int
	version    string
	deployment string
	fault      Fault
	// server.databases.read_only: dynamic, per server; the start-up value is empty (the
	// stacks set none) and a restart returns to it
	readOnly []string
}

// available: the process runs and has joined (discovery, Bolt up).
func (m *member) available(now time.Time, t Timing) bool {
	return m.running && m.fault != NeverAvailable && !now.Before(m.startedAt.Add(t.Join))
}

// availableSince is when the member's current process became available.
func (m *member) availableSince(t Timing) time.Time { return m.startedAt.Add(t.Join) }

// server is one server in the cluster's view (SHOW SERVERS).
type server struct {
	id, name  string
	address   string // host:7687
	member    *member
	state     string
	mode      string // modeConstraint: PRIMARY (cores) | SECONDARY (replicas) | NONE
	sysRole   string // primary | secondary: server.cluster.system_database_mode
	seen      bool   // discovered at least once: listed in SHOW SERVERS
	gone      bool   // dropped and stopped: no longer listed
	version   string // last reported Neo4j version
	enabledAt time.Time
}

func (s *server) host() string { h, _, _ := strings.Cut(s.address, ":"); return h }

// canHost: the server may be given a new copy of a database in role (not Free, Cordoned,
// Deallocating, Deallocated, Dropped; mode constraint obeyed).
func (s *server) canHost(role string) bool {
	if s.gone || s.state != StateEnabled {
		return false
	}
	switch s.mode {
	case "PRIMARY":
		return role == rolePrimary
	case "SECONDARY":
		return role == roleSecondary
	}
	return true
}

const (
	rolePrimary   = "primary"
	roleSecondary = "secondary"
)

// database is one database across the cluster.
type database struct {
	name, typ   string // standard | system
	id          string
	isDefault   bool
	requested   string // online | offline
	primaries   int    // requested (system: every primary-mode server)
	secondaries int
	allocs      []*alloc
	leader      *alloc
	lastLeader  string // server id of the last leader, to count changes
	term        int64
	txn         float64 // committed by the leader
	leaderLost  time.Time
	createdAt   time.Time
	seeding     bool // copies come from a seed URI, not from another copy
	majority    bool // had a majority of its primaries online at the last step
}

// alloc is one copy of a database on one server (an allocation).
type alloc struct {
	server   *server
	role     string
	since    time.Time // allocated (a new copy starts store copying then)
	store    bool      // the store is there (copied, seeded, or created at formation)
	readyAt  time.Time // when the store arrived
	applied  float64
	leaving  bool   // being moved away: removed once its replacement is online
	replaces *alloc // the leaving copy this one takes over from
}

// status is the copy's currentStatus and message now.
func (a *alloc) status(d *database, now time.Time, t Timing) (string, string) {
	m := a.server.member
	switch {
	case m == nil || !m.available(now, t):
		return "unknown", "Server is unavailable"
	case d.requested == "offline":
		return "offline", ""
	case !a.store:
		return "store copying", ""
	case now.Before(laterOf(m.availableSince(t), a.readyAt).Add(t.StartDatabase)):
		return "starting", ""
	}
	return "online", ""
}

func (a *alloc) online(d *database, now time.Time, t Timing) bool {
	s, _ := a.status(d, now, t)
	return s == "online"
}

// voters are the primaries taking part in Raft: a copy still copying its store is not one yet.
func (d *database) voters() []*alloc {
	var out []*alloc
	for _, a := range d.allocs {
		if a.role == rolePrimary && a.store {
			out = append(out, a)
		}
	}
	return out
}

func (d *database) allocOn(s *server) *alloc {
	for _, a := range d.allocs {
		if a.server == s {
			return a
		}
	}
	return nil
}

func (d *database) remove(a *alloc) {
	for i, x := range d.allocs {
		if x == a {
			d.allocs = append(d.allocs[:i], d.allocs[i+1:]...)
			break
		}
	}
	if d.leader == a {
		d.leader = nil
	}
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// step applies every rule once at the current time, dt after the previous step.
func (s *Sim) step(dt time.Duration) {
	if s.formed { // what the last interval was like, before this step changes anything
		for _, d := range s.dbs {
			if d.requested == "online" && d.leader == nil {
				s.stats.WriteUnavailable[d.name] += dt
			}
		}
	}
	s.form()
	if !s.formed {
		return
	}
	s.discover()
	for _, d := range s.dbs {
		s.copyStores(d)
	}
	s.finishDeallocations()
	for _, d := range s.dbs {
		s.elect(d)
	}
	s.balance()
	for _, d := range s.dbs {
		s.replicate(d, dt)
		s.track(d)
	}
}

// form bootstraps the system database once the initial primaries have discovered each other.
func (s *Sim) form() {
	if s.formed {
		return
	}
	now, t := s.now, s.cfg.Timing
	var ready []*server
	for _, m := range s.members {
		if m.core && m.server.sysRole == rolePrimary && m.available(now, t) {
			ready = append(ready, m.server)
		}
	}
	if len(ready) < s.cfg.Cores {
		s.formingSince = time.Time{}
		return
	}
	if s.formingSince.IsZero() {
		s.formingSince = now
	}
	if now.Before(s.formingSince.Add(t.Form)) {
		return
	}
	s.formed, s.formedAt = true, now
	for _, m := range s.members { // every server of the initial deployment that is up
		if m.available(now, t) {
			m.server.seen, m.server.state, m.server.enabledAt = true, StateEnabled, now
			m.server.version = m.version
		}
	}
	sys := &database{name: "system", typ: "system", id: s.newID("S"), requested: "online", createdAt: now}
	s.dbs = append(s.dbs, sys)
	for _, sv := range s.sortedServers() {
		if sv.state == StateEnabled {
			sys.allocs = append(sys.allocs, &alloc{server: sv, role: sv.sysRole, since: now, store: true, readyAt: now})
		}
	}
	sys.leaderLost = now.Add(-t.Election)
	// the default database: the initial counts are maximums, not requirements
	s.createDatabase("neo4j", s.cfg.Cores, s.defaults.secondaries, true, false)
	for _, spec := range s.cfg.Databases {
		sec := spec.Secondaries
		if sec < 0 {
			sec = 0
		}
		s.createDatabase(spec.Name, spec.Primaries, sec, false, false)
	}
}

// createDatabase allocates a new database on the least loaded eligible servers, at most as
// many copies as they allow (formation is best effort; CREATE DATABASE checks first).
func (s *Sim) createDatabase(name string, primaries, secondaries int, isDefault, seeded bool) *database {
	now := s.now
	d := &database{name: name, typ: "standard", id: s.newID("D"), isDefault: isDefault, requested: "online",
		primaries: primaries, secondaries: secondaries, createdAt: now, seeding: seeded}
	for _, role := range []string{rolePrimary, roleSecondary} {
		want := primaries
		if role == roleSecondary {
			want = secondaries
		}
		for _, sv := range s.placement(d, role, want) {
			d.allocs = append(d.allocs, &alloc{server: sv, role: role, since: now, store: !seeded, readyAt: now})
		}
	}
	if !seeded { // created empty: nothing to copy
		d.primaries, d.secondaries = s.count(d, rolePrimary), s.count(d, roleSecondary)
	}
	d.leaderLost = now.Add(-s.cfg.Timing.Election)
	s.dbs = append(s.dbs, d)
	return d
}

func (s *Sim) count(d *database, role string) int {
	n := 0
	for _, a := range d.allocs {
		if a.role == role && !a.leaving {
			n++
		}
	}
	return n
}

// placement picks up to n servers for new copies of d in role: eligible, not hosting d,
// available first, then least loaded, then by name.
func (s *Sim) placement(d *database, role string, n int) []*server {
	var cands []*server
	for _, sv := range s.sortedServers() {
		if sv.canHost(role) && d.allocOn(sv) == nil {
			cands = append(cands, sv)
		}
	}
	load := s.load()
	now, t := s.now, s.cfg.Timing
	sort.SliceStable(cands, func(i, j int) bool {
		ai, aj := cands[i].member != nil && cands[i].member.available(now, t), cands[j].member != nil && cands[j].member.available(now, t)
		if ai != aj {
			return ai
		}
		return load[cands[i]] < load[cands[j]]
	})
	if len(cands) > n {
		cands = cands[:n]
	}
	return cands
}

// load counts the user-database copies each server holds.
func (s *Sim) load() map[*server]int {
	out := map[*server]int{}
	for _, d := range s.dbs {
		if d.typ == "system" {
			continue
		}
		for _, a := range d.allocs {
			if !a.leaving {
				out[a.server]++
			}
		}
	}
	return out
}

// discover lists servers that joined, enables free ones when the cluster does so
// automatically (which takes the system database's leader), and forgets dropped servers
// whose process stopped.
func (s *Sim) discover() {
	now, t := s.now, s.cfg.Timing
	sys := s.db("system")
	for _, sv := range s.sortedServers() {
		m := sv.member
		up := m != nil && m.available(now, t)
		if up && !sv.seen {
			sv.seen, sv.state = true, StateFree
		}
		if up {
			sv.version = m.version
		}
		if sv.state == StateFree && up && !s.cfg.ManualEnable && sys != nil && sys.leader != nil {
			s.enable(sv)
		}
		if sv.state == StateDropped && (m == nil || !m.running) {
			sv.gone = true
		}
	}
}

// enable makes a server Enabled; a server enabled for the first time hosts the system
// database in its configured mode.
func (s *Sim) enable(sv *server) {
	sv.state, sv.enabledAt = StateEnabled, s.now
	if sys := s.db("system"); sys != nil && sys.allocOn(sv) == nil {
		sys.allocs = append(sys.allocs, &alloc{server: sv, role: sv.sysRole, since: s.now})
	}
}

// copyStores completes store copies (from an online copy, or from the seed) and retires
// copies that were moved away once their replacement is online.
func (s *Sim) copyStores(d *database) {
	now, t := s.now, s.cfg.Timing
	source := d.seeding
	for _, a := range d.allocs {
		if a.store && a.online(d, now, t) {
			source = true
		}
	}
	for _, a := range d.allocs {
		m := a.server.member
		if a.store || m == nil || !m.available(now, t) || !source {
			continue
		}
		if !now.Before(laterOf(a.since, m.availableSince(t)).Add(t.StoreCopy)) {
			a.store, a.readyAt = true, now
			a.applied = d.txn
		}
	}
	if d.seeding && allStored(d) {
		d.seeding = false
	}
	for _, a := range append([]*alloc(nil), d.allocs...) {
		if !a.leaving {
			continue
		}
		if r := s.replacement(d, a); r != nil && r.online(d, now, t) {
			if d.leader == a { // the leader hands over to an up-to-date primary at once
				d.leaderLost = now.Add(-t.Election)
			}
			d.remove(a)
		}
	}
}

func allStored(d *database) bool {
	for _, a := range d.allocs {
		if !a.store {
			return false
		}
	}
	return true
}

// replacement is the copy that takes over a leaving one.
func (s *Sim) replacement(d *database, a *alloc) *alloc {
	for _, r := range d.allocs {
		if r.replaces == a {
			return r
		}
	}
	return nil
}

// finishDeallocations: a Deallocating server that hosts nothing but system is Deallocated.
func (s *Sim) finishDeallocations() {
	for _, sv := range s.servers {
		if sv.state != StateDeallocating {
			continue
		}
		busy := false
		for _, d := range s.dbs {
			if d.typ != "system" && d.allocOn(sv) != nil {
				busy = true
			}
		}
		if !busy {
			sv.state = StateDeallocated
		}
	}
}

// elect applies the leadership rules to one database.
func (s *Sim) elect(d *database) {
	now, t := s.now, s.cfg.Timing
	if d.leader != nil && !d.leader.online(d, now, t) {
		d.leader, d.leaderLost = nil, now
	}
	if d.requested != "online" {
		return
	}
	voters := d.voters()
	var online []*alloc
	for _, a := range voters {
		if a.online(d, now, t) {
			online = append(online, a)
		}
	}
	if len(online) < len(voters)/2+1 || len(voters) == 0 {
		if d.leader != nil { // a leader that cannot reach a majority steps down
			d.leader, d.leaderLost = nil, now
		}
		return // no majority: no leader, no writes
	}
	if d.leader == nil {
		if now.Before(d.leaderLost.Add(t.Election)) {
			return
		}
		s.setLeader(d, s.candidate(d, online))
		return
	}
	// a database read-only on its leader's server moves its leadership away
	if readOnlyOn(d.leader.server, d.name) {
		if c := s.candidate(d, online); c != nil && !readOnlyOn(c.server, d.name) {
			s.setLeader(d, c)
		}
	}
}

func readOnlyOn(sv *server, db string) bool {
	if sv.member == nil {
		return false
	}
	for _, x := range sv.member.readOnly {
		if x == db {
			return true
		}
	}
	return false
}

// candidate is who wins an election among the online primaries: not read-only there if
// possible, the most up-to-date (no server votes for a less up-to-date one), then the one
// leading the fewest databases, then by name.
func (s *Sim) candidate(d *database, online []*alloc) *alloc {
	leads := s.leaderships()
	best := online[0]
	better := func(a, b *alloc) bool {
		ra, rb := readOnlyOn(a.server, d.name), readOnlyOn(b.server, d.name)
		if ra != rb {
			return !ra
		}
		if int64(a.applied) != int64(b.applied) {
			return a.applied > b.applied
		}
		if leads[a.server] != leads[b.server] {
			return leads[a.server] < leads[b.server]
		}
		return a.server.address < b.server.address
	}
	for _, a := range online[1:] {
		if better(a, best) {
			best = a
		}
	}
	return best
}

func (s *Sim) leaderships() map[*server]int {
	out := map[*server]int{}
	for _, d := range s.dbs {
		if d.leader != nil {
			out[d.leader.server]++
		}
	}
	return out
}

func (s *Sim) setLeader(d *database, a *alloc) {
	if a == nil {
		return
	}
	d.term++
	s.stats.Elections[d.name]++
	if d.lastLeader != "" && d.lastLeader != a.server.id && s.formed {
		s.stats.LeaderChanges[d.name]++
	}
	d.leader, d.lastLeader = a, a.server.id
	a.applied = d.txn
}

// balance moves one leadership, every Timing.Balance, from the server leading the most
// databases to an online primary of that database leading at least two fewer (Neo4j's
// default equal balancing).
func (s *Sim) balance() {
	now, t := s.now, s.cfg.Timing
	if s.cfg.NoLeaderBalancing || now.Before(s.lastBalance.Add(t.Balance)) {
		return
	}
	s.lastBalance = now
	leads := s.leaderships()
	for _, d := range s.dbs {
		if d.leader == nil {
			continue
		}
		from := leads[d.leader.server]
		var best *alloc
		for _, a := range d.voters() {
			if a == d.leader || !a.online(d, now, t) || readOnlyOn(a.server, d.name) || int64(a.applied) < int64(d.txn) {
				continue
			}
			if leads[a.server] <= from-2 && (best == nil || leads[a.server] < leads[best.server]) {
				best = a
			}
		}
		if best != nil {
			s.setLeader(d, best)
			return
		}
	}
}

// replicate commits the write load on the leader and lets online copies catch up.
func (s *Sim) replicate(d *database, dt time.Duration) {
	now, t := s.now, s.cfg.Timing
	secs := dt.Seconds()
	if d.leader != nil && d.typ != "system" {
		d.txn += t.WriteRate * secs
		d.leader.applied = d.txn
	}
	for _, a := range d.allocs {
		if a == d.leader || !a.online(d, now, t) {
			continue
		}
		a.applied += (t.CatchUpRate + t.WriteRate) * secs
		if a.applied > d.txn {
			a.applied = d.txn
		}
	}
}

// track records the primaries online and quorum losses after formation.
func (s *Sim) track(d *database) {
	now, t := s.now, s.cfg.Timing
	if d.requested != "online" {
		return
	}
	voters := d.voters()
	online := 0
	for _, a := range voters {
		if a.online(d, now, t) {
			online++
		}
	}
	st := &s.stats
	if v, ok := st.MinPrimariesOnline[d.name]; !ok || online < v {
		st.MinPrimariesOnline[d.name] = online
	}
	has := len(voters) > 0 && online >= len(voters)/2+1
	if d.majority && !has {
		st.QuorumLosses = append(st.QuorumLosses, QuorumLoss{Database: d.name, At: now, Online: online, Primaries: len(voters)})
	}
	d.majority = has
}

func (s *Sim) db(name string) *database {
	for _, d := range s.dbs {
		if d.name == name {
			return d
		}
	}
	return nil
}

func (s *Sim) sortedServers() []*server {
	out := make([]*server, 0, len(s.servers))
	for _, sv := range s.servers {
		if !sv.gone {
			out = append(out, sv)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].address < out[j].address })
	return out
}

func (s *Sim) newID(prefix string) string {
	s.ids++
	return fmt.Sprintf("%s%04d", prefix, s.ids)
}
