package clustersim

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/lambdas/admin"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// Config describes the simulated cluster. The zero values are the deployment neo4jctl's
// stacks make.
type Config struct {
	// Cores is the number of core members (core-1..core-N) of the first deployment, and so
	// dbms.cluster.minimum_initial_system_primaries_count and
	// initial.dbms.default_primaries_count (the stacks set both to it). Default 3.
	Cores int
	// Version is every member's Neo4j version unless its service says otherwise
	// (default "5.26.30").
	Version string
	// Namespace is the Cloud Map namespace of the member names (default "neo4j.internal").
	Namespace string
	// Databases are user databases created once the cluster forms, besides the default one.
	Databases []DatabaseSpec
	// DefaultSecondaries is the default topology's secondaries (what the agent keeps equal
	// to the replicas count): the default database is created with it.
	DefaultSecondaries int
	// ManualEnable leaves servers that join a formed cluster Free until ENABLE SERVER
	// (default: enabled automatically, initial.dbms.automatically_enable_free_servers=true).
	ManualEnable bool
	// NoLeaderBalancing is dbms.cluster.raft.leader_transfer.balancing_strategy=NO_BALANCING.
	NoLeaderBalancing bool
	Timing            Timing
	// Start is the simulated clock's start (default 2025-01-01T00:00:00Z).
	Start time.Time
	// AdminPassword is the admin secret's password Invoke uses (default a fixed test value).
	AdminPassword string
}

// DatabaseSpec is a user database to create at formation.
type DatabaseSpec struct {
	Name                   string
	Primaries, Secondaries int
}

// Timing is how long things take, in simulated time. Zero fields take the defaults.
type Timing struct {
	Join          time.Duration // a started process until it has joined and is Available (15s)
	Form          time.Duration // the initial primaries all up until the system database exists (20s)
	StartDatabase time.Duration // a server Available until its copies are online (10s)
	StoreCopy     time.Duration // a new copy (allocation, move, recreate) until its store is there (30s)
	Election      time.Duration // a leader lost until the next is elected, given a majority (5s)
	Balance       time.Duration // how often leaderships are balanced (60s)
	Tick          time.Duration // the step of Advance (1s)
	WriteRate     float64       // transactions per second committed on each user database with a leader (0)
	CatchUpRate   float64       // transactions per second a lagging copy applies beyond the load (500)
}

func (t Timing) withDefaults() Timing {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&t.Join, 15*time.Second)
	def(&t.Form, 20*time.Second)
	def(&t.StartDatabase, 10*time.Second)
	def(&t.StoreCopy, 30*time.Second)
	def(&t.Election, 5*time.Second)
	def(&t.Balance, 60*time.Second)
	def(&t.Tick, time.Second)
	if t.CatchUpRate == 0 {
		t.CatchUpRate = 500
	}
	return t
}

// Service is what ECS says of one member service (as DescribeServices reports it).
type Service struct {
	// Running is how many tasks run: what the simulator acts on. Desired is informational.
	// moto runs nothing and reports runningCount 0 for a new service: tests that read moto
	// pass its desiredCount as Running.
	Desired, Running int
	// Deployment identifies the running tasks' deployment: the ECS primary deployment's id
	// (moto gives it a new one on forceNewDeployment) joined with its task definition (which
	// a stack update changes). When it changes, a running core restarts and the replicas are
	// replaced by new tasks.
	Deployment string
	// Version is the Neo4j version of the service's image (default Config.Version); a member
	// reports it from its next start.
	Version string
}

// Services are the member services by ECS service name: core-1..core-N and replicas.
type Services map[string]Service

// Fault is something wrong with a member's process.
type Fault int

const (
	// NoFault clears a fault.
	NoFault Fault = iota
	// NeverAvailable: the process runs (ECS says so) but never becomes Available: a member
	// that never joins a forming cluster, or never comes back after a restart. Set on a
	// member that is Available, it takes effect at once (a hung process).
	NeverAvailable
)

// Stats are the counters day-two tests read.
type Stats struct {
	// Restarts by service: process starts that replaced a running or stopped one (a core's
	// every start after its first; a replica task replaced by a new deployment or Restart).
	Restarts map[string]int
	// LeaderChanges by database: elections that moved the leader to another server.
	LeaderChanges map[string]int
	// Elections by database: every new term.
	Elections map[string]int
	// QuorumLosses: each time a database lost the majority of its primaries.
	QuorumLosses []QuorumLoss
	// MinPrimariesOnline by database: the fewest primaries online at any step.
	MinPrimariesOnline map[string]int
	// WriteUnavailable by database: simulated time without a leader.
	WriteUnavailable map[string]time.Duration
}

// QuorumLoss is one database losing its majority.
type QuorumLoss struct {
	Database          string
	At                time.Time
	Online, Primaries int
}

func newStats() Stats {
	return Stats{Restarts: map[string]int{}, LeaderChanges: map[string]int{}, Elections: map[string]int{},
		MinPrimariesOnline: map[string]int{}, WriteUnavailable: map[string]time.Duration{}}
}

// Sim is a simulated Neo4j Enterprise cluster. It is safe for concurrent use.
type Sim struct {
	mu       sync.Mutex
	cfg      Config
	now      time.Time
	members  []*member
	servers  []*server
	dbs      []*database
	defaults struct{ primaries, secondaries int }
	users    map[string]*user
	formed   bool
	formedAt time.Time
	// formingSince: the initial primaries have all been up since then
	formingSince time.Time
	lastBalance  time.Time
	stats        Stats
	ids          int
	replicaSeq   int
	answers      *admin.Answers
}

type user struct {
	roles    []string
	password string
}

// New makes a cluster with no member running yet.
func New(cfg Config) *Sim {
	if cfg.Cores == 0 {
		cfg.Cores = 3
	}
	if cfg.Version == "" {
		cfg.Version = "5.26.30"
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "neo4j.internal"
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if cfg.AdminPassword == "" {
		cfg.AdminPassword = "clustersim-admin-password"
	}
	cfg.Timing = cfg.Timing.withDefaults()
	s := &Sim{cfg: cfg, now: cfg.Start, stats: newStats(), answers: admin.NewAnswers(),
		users: map[string]*user{"neo4j": {roles: []string{"admin", "PUBLIC"}, password: cfg.AdminPassword}}}
	s.defaults.primaries, s.defaults.secondaries = cfg.Cores, cfg.DefaultSecondaries
	s.lastBalance = cfg.Start
	for i := 1; i <= cfg.Cores; i++ {
		s.coreMember(naming.CoreService(i))
	}
	return s
}

// coreMember returns the member of a core service, making it (with a new server id, as a new
// volume would) on first sight.
func (s *Sim) coreMember(service string) *member {
	for _, m := range s.members {
		if m.core && m.service == service {
			return m
		}
	}
	m := &member{name: service, service: service, core: true, version: s.cfg.Version}
	m.server = &server{id: s.serverID(), address: fmt.Sprintf("%s.%s:7687", service, s.cfg.Namespace), member: m,
		mode: "PRIMARY", sysRole: rolePrimary}
	m.server.name = m.server.id
	s.members = append(s.members, m)
	s.servers = append(s.servers, m.server)
	return m
}

// NewVolume gives a stopped core member a new, empty volume (its stack was deleted and
// made again without adopting the old one): its next process is a new server with a new id,
// Free until enabled, as a reinstalled server is; its old server must have been dropped,
// which cannot be undone, so it never comes back [clustering/servers#_dropped_state,
// clustering/servers#server-states].
func (s *Sim) NewVolume(service string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m *member
	for _, x := range s.members {
		if x.core && x.service == service {
			m = x
		}
	}
	switch {
	case m == nil:
		return nil // a member seen for the first time has a new server anyway
	case m.running:
		return fmt.Errorf("%s runs: its volume cannot be replaced", service)
	case m.server.seen && m.server.state != StateDropped:
		return fmt.Errorf("%s's server is %s: drop it before its volume is replaced", service, m.server.state)
	}
	old := m.server
	old.gone = true
	m.server = &server{id: s.serverID(), address: old.address, member: m, mode: old.mode, sysRole: old.sysRole}
	m.server.name = m.server.id
	s.servers = append(s.servers, m.server)
	return nil
}

func (s *Sim) serverID() string {
	s.ids++
	return fmt.Sprintf("%08x-5e4f-4c1d-9a00-%012d", 0x5e400000+s.ids, s.ids)
}

// Apply sets every member service from a snapshot (the ECS services); a core service
// missing from it does not run. It applies the immediate effects (a stopped member's
// leaderships are lost now) without advancing the clock.
func (s *Sim) Apply(svcs Services) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.members {
		if m.core {
			if _, ok := svcs[m.service]; !ok {
				s.setCore(m.service, Service{})
			}
		}
	}
	if _, ok := svcs[naming.ReplicasService]; !ok {
		s.setReplicas(Service{})
	}
	for _, name := range slices.Sorted(maps.Keys(svcs)) {
		s.set(name, svcs[name])
	}
	s.step(0)
}

// Set sets one member service, leaving the others as they are.
func (s *Sim) Set(name string, svc Service) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.set(name, svc)
	s.step(0)
}

func (s *Sim) set(name string, svc Service) {
	if name == naming.ReplicasService {
		s.setReplicas(svc)
		return
	}
	s.setCore(name, svc)
}

func (s *Sim) setCore(name string, svc Service) {
	m := s.coreMember(name)
	want := svc.Running > 0
	switch {
	case want && !m.running:
		s.start(m, svc, false)
	case !want && m.running:
		s.stop(m)
	case want && svc.Deployment != m.deployment:
		s.stop(m)
		s.start(m, svc, false)
	}
}

func (s *Sim) setReplicas(svc Service) {
	var running []*member
	for _, m := range s.members {
		if !m.core && m.running {
			running = append(running, m)
		}
	}
	replace := false
	for _, m := range running {
		replace = replace || m.deployment != svc.Deployment
	}
	if replace { // a new deployment: every task is replaced by a new one (a new server)
		for _, m := range running {
			s.stop(m)
		}
		for range min(len(running), svc.Running) {
			s.start(s.replicaMember(), svc, true)
		}
		running = running[:0]
		for _, m := range s.members {
			if !m.core && m.running {
				running = append(running, m)
			}
		}
	}
	for len(running) > svc.Running { // scale in: the newest task goes
		s.stop(running[len(running)-1])
		running = running[:len(running)-1]
	}
	for len(running) < svc.Running {
		m := s.replicaMember()
		s.start(m, svc, false)
		running = append(running, m)
	}
}

// replicaMember is a new replica task: a new server with a new address.
func (s *Sim) replicaMember() *member {
	s.replicaSeq++
	m := &member{name: fmt.Sprintf("%s-%d", naming.ReplicasService, s.replicaSeq), service: naming.ReplicasService, version: s.cfg.Version}
	m.server = &server{id: s.serverID(), address: fmt.Sprintf("10.0.9.%d:7687", s.replicaSeq), member: m,
		mode: "SECONDARY", sysRole: roleSecondary}
	m.server.name = m.server.id
	s.members = append(s.members, m)
	s.servers = append(s.servers, m.server)
	return m
}

func (s *Sim) start(m *member, svc Service, replacement bool) {
	m.running, m.startedAt, m.deployment = true, s.now, svc.Deployment
	m.version = s.cfg.Version
	if svc.Version != "" {
		m.version = svc.Version
	}
	m.readOnly = nil // dynamic settings do not survive a restart
	m.starts++
	if (m.core && m.starts > 1) || replacement {
		s.stats.Restarts[m.service]++
	}
}

func (s *Sim) stop(m *member) { m.running = false }

// Restart restarts a member: a core (same server, its volume keeps the id), a replica task
// by name (replaced by a new task, a new server), or "replicas" (every replica task).
func (s *Sim) Restart(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.step(0)
	for _, m := range s.members {
		if !m.running {
			continue
		}
		switch {
		case m.core && m.name == name:
			s.stop(m)
			s.start(m, Service{Running: 1, Deployment: m.deployment, Version: m.version}, false)
			return nil
		case !m.core && (m.name == name || name == naming.ReplicasService):
			s.stop(m)
			s.start(s.replicaMember(), Service{Running: 1, Deployment: m.deployment, Version: m.version}, true)
			if name != naming.ReplicasService {
				return nil
			}
		}
	}
	if name == naming.ReplicasService {
		return nil
	}
	return fmt.Errorf("clustersim: no running member %q", name)
}

// Fault sets (or with NoFault clears) a fault on a member (core-N or a replica task name).
func (s *Sim) Fault(name string, f Fault) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.members {
		if m.name == name {
			m.fault = f
			s.step(0)
			return nil
		}
	}
	return fmt.Errorf("clustersim: no member %q", name)
}

// Advance moves the clock by d in Timing.Tick steps, applying every rule at each.
func (s *Sim) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tick := s.cfg.Timing.Tick
	for d > 0 {
		dt := min(tick, d)
		s.now = s.now.Add(dt)
		d -= dt
		s.step(dt)
	}
}

// Sleep is Advance for code that waits with a context (a fake sleeper for the CLI).
func (s *Sim) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.Advance(d)
	return nil
}

// AdvanceUntil advances tick by tick until cond holds (checked under the lock, between
// steps) or max has passed; it reports whether cond held.
func (s *Sim) AdvanceUntil(cond func(v View) bool, max time.Duration) bool {
	for waited := time.Duration(0); ; waited += s.cfg.Timing.Tick {
		if cond(s.View()) {
			return true
		}
		if waited >= max {
			return false
		}
		s.Advance(s.cfg.Timing.Tick)
	}
}

// Now is the simulated time.
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Write commits n transactions on a database through its leader; it fails without one
// (a database needs a majority of its primaries to accept writes).
func (s *Sim) Write(db string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.db(db)
	if d == nil {
		return fmt.Errorf("clustersim: no database %s", db)
	}
	if d.leader == nil {
		return fmt.Errorf("clustersim: database %s has no leader: writes are refused", db)
	}
	d.txn += float64(n)
	d.leader.applied = d.txn
	return nil
}

// Stats returns a copy of the counters.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Restarts, st.LeaderChanges, st.Elections = maps.Clone(st.Restarts), maps.Clone(st.LeaderChanges), maps.Clone(st.Elections)
	st.MinPrimariesOnline, st.WriteUnavailable = maps.Clone(st.MinPrimariesOnline), maps.Clone(st.WriteUnavailable)
	st.QuorumLosses = slices.Clone(st.QuorumLosses)
	return st
}

// ResetStats zeroes the counters (for example once the cluster has formed).
func (s *Sim) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = newStats()
}

// ColdStart forgets what the admin Lambda remembered (a new execution environment).
func (s *Sim) ColdStart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers = admin.NewAnswers()
}

// View is a snapshot of the simulated cluster, for assertions.
type View struct {
	Now       time.Time
	Formed    bool
	Servers   []ServerView
	Databases []DatabaseView
}

// ServerView is one server.
type ServerView struct {
	Member, ID, Address, State, Health, Version string
	Running                                     bool
	Listed                                      bool // in SHOW SERVERS
	Leads                                       []string
}

// DatabaseView is one database.
type DatabaseView struct {
	Name                   string
	Leader                 string // member name of the leader, "" when none
	Term                   int64
	Primaries, Secondaries int // requested
	PrimariesOnline        int
	Voters                 int
	Hosts                  map[string]string // member -> "primary"/"secondary" + current status
	MaxLag                 int64
}

// View snapshots the cluster.
func (s *Sim) View() View {
	s.mu.Lock()
	defer s.mu.Unlock()
	now, t := s.now, s.cfg.Timing
	v := View{Now: now, Formed: s.formed}
	leads := map[*server][]string{}
	for _, d := range s.dbs {
		if d.leader != nil {
			leads[d.leader.server] = append(leads[d.leader.server], d.name)
		}
	}
	for _, sv := range s.servers {
		m := sv.member
		health := Unavailable
		if m != nil && m.available(now, t) {
			health = Available
		}
		v.Servers = append(v.Servers, ServerView{Member: m.name, ID: sv.id, Address: sv.address, State: sv.state, Health: health,
			Version: m.version, Running: m.running, Listed: sv.seen && !sv.gone, Leads: leads[sv]})
	}
	for _, d := range s.dbs {
		dv := DatabaseView{Name: d.name, Term: d.term, Primaries: d.primaries, Secondaries: d.secondaries,
			Voters: len(d.voters()), Hosts: map[string]string{}}
		if d.leader != nil {
			dv.Leader = d.leader.server.member.name
		}
		for _, a := range d.allocs {
			st, _ := a.status(d, now, t)
			dv.Hosts[a.server.member.name] = a.role + " " + st
			if a.role == rolePrimary && st == "online" && a.store {
				dv.PrimariesOnline++
			}
			if lag := int64(d.txn) - int64(a.applied); st == "online" && lag > dv.MaxLag {
				dv.MaxLag = lag
			}
		}
		v.Databases = append(v.Databases, dv)
	}
	sort.Slice(v.Databases, func(i, j int) bool { return v.Databases[i].Name < v.Databases[j].Name })
	return v
}

// Server returns the view of a member's current server.
func (v View) Server(member string) (ServerView, bool) {
	for i := len(v.Servers) - 1; i >= 0; i-- {
		if v.Servers[i].Member == member {
			return v.Servers[i], true
		}
	}
	return ServerView{}, false
}

// Database returns the view of a database.
func (v View) Database(name string) (DatabaseView, bool) {
	for _, d := range v.Databases {
		if d.Name == name {
			return d, true
		}
	}
	return DatabaseView{}, false
}

// Ready reports what `create` waits for: formed, every listed server Enabled and Available,
// every copy of every database online (no move under way), as many primaries and
// secondaries as requested, each database with a leader.
func (v View) Ready() bool {
	if !v.Formed {
		return false
	}
	for _, sv := range v.Servers {
		if sv.Listed && (sv.State != StateEnabled || sv.Health != Available) {
			return false
		}
	}
	for _, d := range v.Databases {
		if d.Leader == "" {
			return false
		}
		online := map[string]int{}
		for _, h := range d.Hosts {
			if !strings.HasSuffix(h, " online") {
				return false
			}
			online[strings.Fields(h)[0]]++
		}
		if d.Name != "system" && (online[rolePrimary] != d.Primaries || online[roleSecondary] != d.Secondaries) {
			return false
		}
	}
	return true
}
