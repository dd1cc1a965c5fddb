package ops

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// The checks of what Neo4j shows (through the admin channel, from get's one request), with
// AWS's view beside it.

// neo4jMissing is why a check of Neo4j's view could not look.
func neo4jMissing(v *ClusterView) string {
	if v.Status == VerdictStopped {
		return "the cluster is stopped on purpose (every core's desired count is 0)"
	}
	return "Neo4j's view is missing: " + v.Neo4jUnavailable
}

func checkForming(e *evidence) CheckResult {
	v := e.view()
	if v.Status == VerdictStopped {
		return skipped(neo4jMissing(v))
	}
	if sys := systemDatabase(v); sys != nil && sys.Leader != "" {
		return ok(fmt.Sprintf("formed: the system database's leader is %s%s; %d of %d cores joined", sys.LeaderMember, term(sys.LeaderTerm), joined(v), len(v.Members)),
			Evidence{Text: fmt.Sprintf("system: %d of %d primaries online", sys.PrimariesOnline, len(v.Members))})
	}
	r := result(CheckFail, "", "")
	var missing []string
	for _, m := range v.Members {
		switch {
		case m.Desired > 0 && m.Running < m.Desired:
			missing = append(missing, m.Name)
			r.Evidence = append(r.Evidence, Evidence{Member: m.Name, Text: fmt.Sprintf("does not run: %d of %d tasks (task: %s)", m.Running, m.Desired, m.Task)})
			r.Evidence = append(r.Evidence, e.whyDown(m)...)
		case m.Desired > 0 && v.Neo4j == nil:
			r.Evidence = append(r.Evidence, Evidence{Member: m.Name, Text: fmt.Sprintf("runs (task: %s); whether it joined is not known: Neo4j does not answer", m.Task)})
		case m.Desired > 0 && (m.Server == nil || m.Server.Health != "Available"):
			missing = append(missing, m.Name)
			r.Evidence = append(r.Evidence, Evidence{Member: m.Name, Text: "runs, but Neo4j does not list it as an Available server"})
		}
	}
	need := len(v.Members)
	switch {
	case len(missing) > 0:
		r.Summary = fmt.Sprintf("Neo4j has not formed the cluster: it needs all %d initial primaries (dbms.cluster.minimum_initial_system_primaries_count), %d missing: %s",
			need, len(missing), strings.Join(missing, ", "))
		r.Next = fmt.Sprintf("the evidence says why each is missing (members, stopped-tasks, volumes, host); once fixed, `neo4jctl restart cluster %s --member %s` starts it again", e.d.Name, missing[0])
	default:
		r.Summary = fmt.Sprintf("every core member runs, yet Neo4j has no system database leader: %s", cmp.Or(v.Neo4jUnavailable, "no leader"))
		r.Next = fmt.Sprintf("the members must find each other by name on port %d: `neo4jctl diagnose %s --check membership --check log-errors`", naming.PortDiscovery, e.d.Name)
	}
	if v.Neo4j == nil {
		r.Evidence = append(r.Evidence, Evidence{Text: "Neo4j does not answer: " + v.Neo4jUnavailable})
	}
	return r
}

// whyDown is the evidence of why a member does not run: its last stopped task, the
// service's events, its boot log's failure.
func (e *evidence) whyDown(m Member) []Evidence {
	var out []Evidence
	for _, s := range e.stops(e.now.Add(-ecsStoppedRetention)) {
		if s.member == m.Name {
			out = append(out, Evidence{Member: m.Name, Resource: "task " + s.task, Time: at(s.at), Text: "stopped: " + s.why})
			break
		}
	}
	out = append(out, e.serviceEvents(m.Name, m.Service)...)
	for _, l := range slices.Backward(e.boot()[m.Name]) {
		if sig, _ := signalOf(l.Message); sig == sigVolume {
			out = append(out, Evidence{Member: m.Name, Resource: l.Stream, Time: at(l.Time), Text: "boot log: " + oneLine(l.Message)})
			break
		}
	}
	return out
}

func systemDatabase(v *ClusterView) *DatabaseState {
	if v.Neo4j == nil {
		return nil
	}
	for i := range v.Neo4j.Databases {
		if v.Neo4j.Databases[i].Name == "system" {
			return &v.Neo4j.Databases[i]
		}
	}
	return nil
}

func term(t *int64) string {
	if t == nil {
		return ""
	}
	return fmt.Sprintf(" (term %d)", *t)
}

func joined(v *ClusterView) int {
	n := 0
	for _, m := range v.Members {
		if m.Server != nil && m.Server.State == "Enabled" && m.Server.Health == "Available" {
			n++
		}
	}
	return n
}

func checkMembership(e *evidence) CheckResult {
	v := e.view()
	cm := e.cloudMap()
	r := ok("")
	compared, first := 0, ""
	for _, m := range v.Members {
		if m.Desired == 0 {
			continue
		}
		verdict, ev := e.memberOf(m, cm)
		if verdict == "" {
			continue
		}
		if verdict != CheckOK && first == "" {
			first = m.Name
		}
		compared++
		r.Verdict = worst(r.Verdict, verdict)
		r.Evidence = append(r.Evidence, ev)
	}
	if compared == 0 {
		return skipped("no core member runs: there is nothing to compare (see members)")
	}
	e.endpointEvidence(&r, cm)
	e.strayServers(&r)
	switch {
	case r.Verdict == CheckOK:
		r.Summary = fmt.Sprintf("%d core members: each name in Cloud Map is its running task's address, and Neo4j has it Enabled and Available", compared)
		if v.Neo4j == nil {
			r.Summary = fmt.Sprintf("%d core members: each name in Cloud Map is its running task's address (Neo4j's view is missing: %s)", compared, v.Neo4jUnavailable)
		}
	default:
		r.Summary = "Cloud Map, ECS and Neo4j disagree about the members"
		r.Next = fmt.Sprintf("a member registers its name when its task starts and Neo4j admits it once it is found; restarting the member re-registers it: `neo4jctl restart cluster %s --member %s`", e.d.Name, cmp.Or(first, "core-1"))
	}
	return r
}

// memberOf compares one member's running task address, its name in Cloud Map and its
// server in Neo4j; "" when the member does not run and nothing names it.
func (e *evidence) memberOf(m Member, cm cloudMapFacts) (CheckVerdict, Evidence) {
	ev := func(text string) Evidence { return Evidence{Member: m.Name, Resource: m.DNSName, Text: text} }
	ip := ""
	for _, t := range e.view().facts.tasks[m.Service] {
		if aws.ToString(t.LastStatus) == "RUNNING" && ip == "" {
			ip = taskIP(t)
		}
	}
	registered, listed := cm.members[m.Name], cm.err[m.Name] == nil
	switch {
	case !listed:
		return CheckWarn, ev("Cloud Map could not be read: " + cm.err[m.Name].Error())
	case ip == "" && len(registered) == 0:
		return "", Evidence{}
	case ip == "":
		return CheckWarn, ev(fmt.Sprintf("registered in Cloud Map as %s, but no task runs: a stale registration", strings.Join(registered, ", ")))
	case len(registered) == 0:
		return CheckFail, ev(fmt.Sprintf("its task runs at %s but %s is not registered in Cloud Map: the other members cannot find it", ip, m.DNSName))
	case !slices.Contains(registered, ip) || len(registered) > 1:
		return CheckFail, ev(fmt.Sprintf("%s is registered as %s in Cloud Map, its running task is at %s", m.DNSName, strings.Join(registered, ", "), ip))
	}
	s := m.Server
	switch {
	case e.view().Neo4j == nil:
		return CheckOK, ev(fmt.Sprintf("task at %s, registered as such in Cloud Map", ip))
	case s == nil:
		return CheckFail, ev(fmt.Sprintf("task at %s, registered in Cloud Map, but Neo4j lists no server %s", ip, m.DNSName))
	case s.Health != "Available":
		return CheckFail, ev(fmt.Sprintf("task at %s, registered in Cloud Map; Neo4j has server %s %s and %s", ip, s.ID, s.State, s.Health))
	case s.State != "Enabled":
		return CheckWarn, ev(fmt.Sprintf("task at %s, registered in Cloud Map; Neo4j has server %s %s", ip, s.ID, s.State))
	}
	return CheckOK, ev(fmt.Sprintf("task at %s = Cloud Map; Neo4j server %s Enabled, Available", ip, s.ID))
}

// endpointEvidence compares the client endpoint core.<namespace> with the running cores:
// an address of no running core sends clients nowhere.
func (e *evidence) endpointEvidence(r *CheckResult, cm cloudMapFacts) {
	if _, has := cm.err[""]; has || e.output(naming.KindOperations, "CoresServiceID") == "" {
		return
	}
	running := map[string]string{}
	for _, m := range e.view().Members {
		for _, t := range e.view().facts.tasks[m.Service] {
			if ip := taskIP(t); ip != "" && aws.ToString(t.LastStatus) == "RUNNING" {
				running[ip] = m.Name
			}
		}
	}
	var stale []string
	for _, ip := range cm.core {
		if _, ok := running[ip]; !ok {
			stale = append(stale, ip)
		}
	}
	if len(stale) > 0 {
		r.Verdict = worst(r.Verdict, CheckFail)
		r.Evidence = append(r.Evidence, Evidence{Resource: "core." + e.view().Namespace,
			Text: fmt.Sprintf("the client endpoint resolves to %s, of no running core (the DNS sync function keeps it equal to the healthy members)", strings.Join(stale, ", "))})
	}
}

// strayServers: servers of no member that Neo4j still lists Unavailable (a replaced
// replica's, left behind).
func (e *evidence) strayServers(r *CheckResult) {
	n := e.view().Neo4j
	if n == nil {
		return
	}
	for _, s := range n.Servers {
		if !strings.HasPrefix(s.Member, "core-") && !strings.HasPrefix(s.Member, "replica/") && s.Health != "Available" && s.State != "Dropped" {
			r.Verdict = worst(r.Verdict, CheckWarn)
			r.Evidence = append(r.Evidence, Evidence{Member: s.Member, Resource: s.ID,
				Text: fmt.Sprintf("server %s (%s) is %s and %s and no running task is it", s.ID, s.Address, s.State, s.Health)})
		}
	}
}

// Leader stability thresholds: leader changes of one database in the window.
const (
	leaderChangesWarn = 2
	leaderChangesFail = 3
	// longPause is a VM pause long enough to matter to Raft (its heartbeats are a second
	// or two apart).
	longPause = 2 * time.Second
	// causeWindow: a restart or pause this long before an election is taken as its cause.
	causeWindow = 2 * time.Minute
)

var dbOfLine = regexp.MustCompile(`\[([A-Za-z0-9._-]+)/[0-9a-f]+\]`)

// election is one leader change seen in the logs.
type election struct {
	at             time.Time
	member, db     string
	term           int64
	cause, message string
}

func checkLeaders(e *evidence) CheckResult {
	td := e.taskDef()
	debugOn := td.shipsLog(logDebug)
	for _, s := range e.streams().streams {
		debugOn = debugOn || s.Kind == logDebug
	}
	if !debugOn {
		r := skipped("the debug log is off (monitoring.debugLog: false): elections and GC pauses are in debug.log; set monitoring.debugLog: true and run `neo4jctl update cluster -f cluster.yaml`")
		r.Evidence = e.termsEvidence()
		return r
	}
	lf := e.logs()
	if lf.err != nil {
		return skipped(fmt.Sprintf("the log group %s could not be read: %v", e.logGroup(), lf.err))
	}
	elections := e.elections(lf)
	perDB := map[string]int{}
	r := ok("")
	for _, el := range elections {
		perDB[el.db]++
		r.Evidence = append(r.Evidence, Evidence{Member: el.member, Time: at(el.at), Text: fmt.Sprintf("%s: %s became leader at term %d (%s)", el.db, el.member, el.term, el.cause)})
	}
	pauses := e.pauses(lf)
	r.Evidence = append(r.Evidence, pauses...)
	var flapping []string
	for _, db := range slices.Sorted(maps.Keys(perDB)) {
		switch n := perDB[db]; {
		case n >= leaderChangesFail:
			r.Verdict = worst(r.Verdict, CheckFail)
			flapping = append(flapping, fmt.Sprintf("%s %d times", db, n))
		case n >= leaderChangesWarn:
			r.Verdict = worst(r.Verdict, CheckWarn)
			flapping = append(flapping, fmt.Sprintf("%s %d times", db, n))
		}
	}
	if len(pauses) > 0 {
		r.Verdict = worst(r.Verdict, CheckWarn)
	}
	r.Summary, r.Next = leadersSummary(e, elections, flapping, pauses)
	r.Evidence = append(r.Evidence, e.termsEvidence()...)
	if h := td.env["NEO4J_server_memory_heap_max__size"]; h != "" {
		r.Evidence = append(r.Evidence, Evidence{Text: fmt.Sprintf("heap %s (server.memory.heap.max_size) of a %d MiB container", h, td.memory)})
	}
	return r
}

func leadersSummary(e *evidence, elections []election, flapping []string, pauses []Evidence) (string, string) {
	causes := map[string]int{}
	for _, el := range elections {
		causes[el.cause]++
	}
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(causes)) {
		parts = append(parts, fmt.Sprintf("%d after %s", causes[c], c))
	}
	summary := fmt.Sprintf("%s since %s", plural(len(elections), "leader change", "leader changes"), clock(e.since))
	if len(parts) > 0 {
		summary += ": " + strings.Join(parts, ", ")
	}
	if len(flapping) > 0 {
		summary += "; leaders keep changing: " + strings.Join(flapping, ", ")
	}
	if len(pauses) > 0 {
		summary += fmt.Sprintf("; %s of %s or more", plural(len(pauses), "VM pause", "VM pauses"), longPause)
	}
	switch {
	case causes["a GC pause"] > 0 || len(pauses) > 0:
		return summary, "long GC pauses stall a member past Raft's timeouts: give the heap room (a larger cores.instanceType or neo4j.memory in cluster.yaml, then `neo4jctl update cluster -f cluster.yaml --force`), or find the queries that fill it (monitoring.slowQueryLog)"
	case causes["a restart"] > 0 && len(flapping) > 0:
		return summary, fmt.Sprintf("members restart: `neo4jctl diagnose %s --check stopped-tasks --check log-errors` says why", e.d.Name)
	case len(flapping) > 0:
		return summary, "elections without a restart or a GC pause: the members lose each other (network, CPU credits); see the membership and host checks"
	}
	return summary, ""
}

// elections are the leader changes of the window (debug log lines "Moving to LEADER state
// at term N"), each with its cause: a member's restart, a long VM pause, or unexplained.
func (e *evidence) elections(lf logFacts) []election {
	var out []election
	starts := e.streams()
	for _, l := range lf.with(sigLeader) {
		_, sub := signalOf(l.Message)
		t, _ := strconv.ParseInt(sub[0], 10, 64)
		el := election{at: l.Time, member: l.Member, term: t, db: "?", cause: "no restart or pause seen", message: l.Message}
		if m := dbOfLine.FindStringSubmatch(l.Message); m != nil {
			el.db = m[1]
		}
		for _, m := range e.view().Members {
			for _, s := range starts.starts(m.Name, e.since.Add(-causeWindow)) {
				if d := el.at.Sub(s.First); d >= -causeWindow && d <= causeWindow {
					el.cause = "a restart"
				}
			}
		}
		for _, p := range lf.with(sigPause) {
			if d := el.at.Sub(p.Time); d >= 0 && d <= causeWindow && pauseOf(p.Message) >= longPause {
				el.cause = "a GC pause"
			}
		}
		out = append(out, el)
	}
	return out
}

// pauses are the VM pauses of the window long enough to matter.
func (e *evidence) pauses(lf logFacts) []Evidence {
	var out []Evidence
	for _, p := range lf.with(sigPause) {
		if d := pauseOf(p.Message); d >= longPause {
			out = append(out, Evidence{Member: p.Member, Resource: p.Stream, Time: at(p.Time), Text: oneLine(p.Message)})
		}
	}
	return out
}

// pauseOf is a pause line's pauseTime.
func pauseOf(msg string) time.Duration {
	_, sub := signalOf(msg)
	if len(sub) == 0 {
		return 0
	}
	ms, _ := strconv.Atoi(sub[0])
	return time.Duration(ms) * time.Millisecond
}

// termsEvidence is each database's leader and its term now, from dbms.cluster.statusCheck.
func (e *evidence) termsEvidence() []Evidence {
	n := e.view().Neo4j
	if n == nil {
		return nil
	}
	var out []Evidence
	for _, d := range n.Databases {
		if d.LeaderTerm != nil {
			out = append(out, Evidence{Member: d.LeaderMember, Text: fmt.Sprintf("%s: leader %s at term %d now", d.Name, d.LeaderMember, *d.LeaderTerm)})
		}
	}
	return out
}

// replicationLagWarn: a copy this many transactions behind its leader warns.
const replicationLagWarn = 1000

func checkDatabases(e *evidence) CheckResult {
	v := e.view()
	if v.Neo4j == nil {
		return skipped(neo4jMissing(v))
	}
	r := ok("")
	var problems []string
	for _, d := range v.Neo4j.Databases {
		verdict, ev := databaseOf(v, d)
		if verdict == CheckOK {
			continue
		}
		r.Verdict = worst(r.Verdict, verdict)
		r.Evidence = append(r.Evidence, ev...)
		problems = append(problems, d.Name)
	}
	if len(problems) == 0 {
		r.Summary = fmt.Sprintf("%s at their requested status, with their copies and a leader", plural(len(v.Neo4j.Databases), "database", "databases"))
		return r
	}
	r.Summary = "not as requested: " + strings.Join(problems, ", ")
	r.Next = fmt.Sprintf("a copy on a member that is down comes back with it (the members and membership checks); SHOW DATABASES' statusMessage (above) says why a copy on a running member is not online; `neo4jctl get cluster %s` shows every copy", e.d.Name)
	return r
}

// databaseOf checks one database: every copy at the requested status, the requested
// copies online, a leader, the copies caught up.
func databaseOf(v *ClusterView, d DatabaseState) (CheckVerdict, []Evidence) {
	if !strings.EqualFold(d.RequestedStatus, "online") || d.Type == "composite" {
		return CheckOK, nil
	}
	verdict := CheckOK
	var out []Evidence
	add := func(vd CheckVerdict, member, text string) {
		verdict = worst(verdict, vd)
		out = append(out, Evidence{Member: member, Resource: d.Name, Text: text})
	}
	for _, c := range d.Copies {
		if !strings.EqualFold(c.CurrentStatus, d.RequestedStatus) {
			add(CheckFail, v.Neo4j.label(c.ServerID, c.Address), fmt.Sprintf("%s on %s is %s%s", d.Name, v.Neo4j.label(c.ServerID, c.Address), c.CurrentStatus, paren(c.StatusMessage)))
		}
	}
	if p := d.RequestedPrimaries; p != nil && int64(d.PrimariesOnline) < *p {
		add(CheckFail, "", fmt.Sprintf("%s: %d of %d primaries online", d.Name, d.PrimariesOnline, *p))
	}
	if s := d.RequestedSecondaries; s != nil && int64(d.SecondariesOnline) < *s {
		add(CheckWarn, "", fmt.Sprintf("%s: %d of %d secondaries online", d.Name, d.SecondariesOnline, *s))
	}
	if d.Leader == "" {
		add(CheckFail, "", d.Name+" has no leader: it takes no writes")
	}
	for _, l := range d.Lag {
		if l.Behind >= replicationLagWarn {
			add(CheckWarn, l.Member, fmt.Sprintf("%s on %s is %d transactions behind its leader", d.Name, l.Member, l.Behind))
		}
	}
	return verdict, out
}

func checkVersions(e *evidence) CheckResult {
	v := e.view()
	if v.Neo4j == nil {
		return skipped(neo4jMissing(v))
	}
	if v.Neo4j.ServersNote != "" {
		return skipped(v.Neo4j.ServersNote)
	}
	byVersion := map[string][]string{}
	for _, s := range v.Neo4j.Servers {
		if s.Version != "" && s.Health == "Available" {
			byVersion[s.Version] = append(byVersion[s.Version], cmp.Or(s.Member, s.Address))
		}
	}
	want := e.taskDef().env[naming.EnvNeo4jVersion]
	versions := slices.Sorted(maps.Keys(byVersion))
	var parts []string
	for _, ver := range versions {
		parts = append(parts, fmt.Sprintf("%s on %s", ver, strings.Join(byVersion[ver], ", ")))
	}
	upgrading := false
	for _, s := range v.Stacks {
		upgrading = upgrading || engine.InProgress(s.Status)
	}
	r := ok(fmt.Sprintf("every server on %s", strings.Join(versions, "")))
	switch {
	case len(versions) == 0:
		return skipped("no Available server reports its version")
	case len(versions) > 1 && upgrading:
		r.Summary = "mixed while an update runs: " + strings.Join(parts, "; ")
	case len(versions) > 1:
		r = result(CheckFail, "servers on different Neo4j versions outside an upgrade: "+strings.Join(parts, "; "),
			"finish the upgrade: `neo4jctl update cluster -f cluster.yaml --force` rolls the members one at a time onto neo4j.version")
	case want != "" && versions[0] != want:
		r = result(CheckWarn, fmt.Sprintf("every server on %s, but the task definition says %s: the members have not been restarted since", versions[0], want),
			fmt.Sprintf("`neo4jctl restart cluster %s` restarts them one at a time onto it", e.d.Name))
	}
	if want != "" {
		r.Evidence = append(r.Evidence, Evidence{Text: fmt.Sprintf("the cores' task definition runs %s (%s)", want, e.taskDef().image)})
	}
	return r
}
