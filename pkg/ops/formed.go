package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// DefaultFormationTimeout bounds create's wait for a formed cluster when the command has no
// --timeout: members pull the image, mount their volumes, discover each other and elect
// leaders within minutes.
const DefaultFormationTimeout = 20 * time.Minute

// DefaultFormationPoll is how often the wait asks Neo4j (one short admin request each).
const DefaultFormationPoll = 10 * time.Second

// WaitFormed waits until a new cluster has formed: every core member's server Enabled and
// Available, the replicas joined (Enabled and Available), system online on every server,
// and the default database online with the copies and the leader it asks for. It polls
// the admin channel (each poll one short request), reports members as they join, and on
// timeout says what is missing, from Neo4j and from ECS.
type WaitFormed struct {
	*Cluster
	Cores, Replicas int
	Namespace       string    // of the members' names, core-N.<namespace>
	Deadline        time.Time // on the handle's clock
	Poll            time.Duration
	ECS             ServiceReader // which members' tasks do not run, for the timeout's message
	// Inspect is the command that shows what is wrong, named in the timeout's message
	// (default `neo4jctl get cluster NAME`).
	Inspect string
}

// formation is what one status says of the wait's conditions.
type formation struct {
	joined   []string // core members Enabled and Available, in member order
	replicas int      // replica servers Enabled and Available
	missing  []string // what keeps the cluster from being formed, one line each
}

func (f formation) formed() bool { return len(f.missing) == 0 }

// Run polls until the cluster has formed, the deadline passes (FormationTimeoutError) or
// the channel fails for good (an error that waiting cannot cure).
func (w *WaitFormed) Run(ctx context.Context) error {
	clock := w.clock()
	w.emit(FormationWaiting{Cluster: w.Name, Cores: w.Cores, Replicas: w.Replicas, Until: w.Deadline.Sub(clock.Now()).Round(time.Second)})
	seen := map[string]bool{}
	var last formation
	var lastErr error
	for {
		resp, err := sendOK(ctx, w.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqStatus})
		switch {
		case err == nil:
			last, lastErr = w.check(resp.Status), nil
			w.report(last, seen)
			if last.formed() {
				w.emit(ClusterFormed{Cluster: w.Name, Cores: w.Cores, Replicas: w.Replicas})
				return nil
			}
		case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
			return ctx.Err()
		case permanent(err):
			return fmt.Errorf("cannot tell whether cluster %s formed: %w; its stacks are complete (`neo4jctl get cluster %s` shows them)", w.Name, err, w.Name)
		default:
			lastErr = err
		}
		if !clock.Now().Before(w.Deadline) || ctx.Err() != nil {
			return w.timeout(ctx, last, lastErr)
		}
		select {
		case <-ctx.Done():
		case <-clock.After(min(w.poll(), max(w.Deadline.Sub(clock.Now()), time.Second))):
		}
	}
}

func (w *WaitFormed) poll() time.Duration {
	if w.Poll > 0 {
		return w.Poll
	}
	return DefaultFormationPoll
}

// permanent: an admin failure that waiting will not cure (Neo4j not answering yet is no
// such thing: the cluster may still be forming).
func permanent(err error) bool {
	if ce, ok := AsChannelError(err); ok {
		switch ce.Reason {
		case ReasonTimeout, ReasonFailed, ReasonUnreachable, ReasonAWS:
			return false
		}
		return true
	}
	for _, code := range []string{neo4jadmin.CodeUnauthorized, neo4jadmin.CodeUpgradeRequired, neo4jadmin.CodeInvalidRequest, neo4jadmin.CodeUnsupported} {
		if neo4jadmin.IsCode(err, code) {
			return true
		}
	}
	return false
}

// check reads the wait's conditions off a status.
func (w *WaitFormed) check(st *neo4jadmin.Status) formation {
	var f formation
	servers := 0
	for i := 1; i <= w.Cores; i++ {
		name := naming.CoreService(i)
		s, ok := serverAt(st.Servers, name+"."+w.Namespace)
		switch {
		case !ok:
			f.missing = append(f.missing, name+" has not joined")
		case s.State != "Enabled" || s.Health != "Available":
			f.missing = append(f.missing, fmt.Sprintf("%s is %s and %s", name, s.State, s.Health))
		default:
			f.joined = append(f.joined, name)
		}
	}
	for _, s := range st.Servers {
		if strings.EqualFold(s.ModeConstraint, "SECONDARY") && s.State == "Enabled" && s.Health == "Available" {
			f.replicas++
		}
		if s.State != "Dropped" {
			servers++
		}
	}
	if f.replicas < w.Replicas {
		f.missing = append(f.missing, fmt.Sprintf("replicas: %d of %d joined", f.replicas, w.Replicas))
	}
	if st.ServersNote != "" {
		f.missing = append(f.missing, "servers unknown: "+st.ServersNote)
	}
	f.missing = append(f.missing, databasesMissing(st, max(servers, w.Cores+w.Replicas))...)
	return f
}

// serverAt is the live server a member's name advertises (an old one may still be listed).
func serverAt(servers []neo4jadmin.Server, host string) (neo4jadmin.Server, bool) {
	var found neo4jadmin.Server
	ok := false
	for _, s := range servers {
		if h, _, _ := strings.Cut(s.Address, ":"); h == host && (!ok || s.Health == "Available") {
			found, ok = s, true
		}
	}
	return found, ok
}

// databasesMissing: system online on every server, the default database online with its
// requested copies and a leader.
func databasesMissing(st *neo4jadmin.Status, servers int) []string {
	var out []string
	views := st.DatabaseViews()
	def := ""
	for _, d := range st.Databases {
		if d.Default {
			def = d.Name
		}
	}
	for _, name := range []string{"system", def} {
		i := slices.IndexFunc(views, func(v neo4jadmin.DatabaseView) bool { return v.Name == name })
		switch {
		case name == "":
			out = append(out, "no default database yet")
		case i < 0:
			out = append(out, name+" does not exist yet")
		default:
			out = append(out, databaseMissing(views[i], servers)...)
		}
	}
	return out
}

func databaseMissing(d neo4jadmin.DatabaseView, servers int) []string {
	var out []string
	online := d.PrimariesOnline + d.SecondariesOnline
	switch {
	case d.Name == "system" && online < servers:
		out = append(out, fmt.Sprintf("system is online on %d of %d servers", online, servers))
	case d.RequestedPrimaries != nil && int64(d.PrimariesOnline) < *d.RequestedPrimaries:
		out = append(out, fmt.Sprintf("%s: %d of %d primaries online", d.Name, d.PrimariesOnline, *d.RequestedPrimaries))
	case d.RequestedSecondaries != nil && int64(d.SecondariesOnline) < *d.RequestedSecondaries:
		out = append(out, fmt.Sprintf("%s: %d of %d secondaries online", d.Name, d.SecondariesOnline, *d.RequestedSecondaries))
	}
	if d.Leader == "" {
		out = append(out, d.Name+" has no leader")
	}
	return out
}

// report emits a line for each member and replica that joined since the last poll.
func (w *WaitFormed) report(f formation, seen map[string]bool) {
	for _, m := range f.joined {
		if !seen[m] {
			seen[m] = true
			w.emit(MemberJoined{Member: m, Joined: countPrefix(seen, "core-"), Of: w.Cores})
		}
	}
	for i := 1; i <= min(f.replicas, w.Replicas); i++ {
		if k := fmt.Sprintf("replica %d", i); !seen[k] {
			seen[k] = true
			w.emit(MemberJoined{Member: "replica", Joined: i, Of: w.Replicas})
		}
	}
}

func countPrefix(m map[string]bool, prefix string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// timeout is the wait's end without a formed cluster: what is missing, from Neo4j's last
// answer and from ECS.
func (w *WaitFormed) timeout(ctx context.Context, last formation, lastErr error) error {
	e := &FormationTimeoutError{Cluster: w.Name, Inspect: w.Inspect}
	if e.Inspect == "" {
		e.Inspect = "neo4jctl get cluster " + w.Name
	}
	if w.ECS != nil {
		services := []string{}
		for i := 1; i <= w.Cores; i++ {
			services = append(services, naming.CoreService(i))
		}
		if w.Replicas > 0 {
			services = append(services, naming.ReplicasService)
		}
		facts := describeServices(context.WithoutCancel(ctx), w.ECS, naming.ECSCluster(w.Name), services)
		for _, name := range services {
			if s, ok := facts[name]; ok && s.RunningCount < s.DesiredCount {
				e.Missing = append(e.Missing, fmt.Sprintf("%s: %d of %d tasks running", name, s.RunningCount, s.DesiredCount))
			}
		}
	}
	if lastErr != nil {
		e.Missing = append(e.Missing, "Neo4j does not answer: "+strings.Join(strings.Fields(lastErr.Error()), " "))
		if len(e.Missing) > 1 && len(last.joined) == 0 {
			e.Missing = append(e.Missing, fmt.Sprintf("a new cluster forms only once all %d core members have started and found each other", w.Cores))
		}
	}
	e.Missing = append(e.Missing, last.missing...)
	return e
}

// FormationTimeoutError is a cluster that did not form in time: its stacks exist, Neo4j
// is not ready.
type FormationTimeoutError struct {
	Cluster string
	Missing []string
	Inspect string // the command that shows more
}

func (e *FormationTimeoutError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cluster %s did not form in time; its stacks are complete, Neo4j is not ready:", e.Cluster)
	for _, m := range e.Missing {
		fmt.Fprintf(&b, "\n  - %s", m)
	}
	fmt.Fprintf(&b, "\nSee what is wrong with `%s`; it may still form (watch it there).", e.Inspect)
	return b.String()
}
