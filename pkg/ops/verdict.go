package ops

import (
	"fmt"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// Verdicts of get cluster (ClusterView.Status) besides the stacks' own (creating,
// updating, deleting, failed).
const (
	VerdictReady      = "ready"      // every member runs and has joined, every database online as requested
	VerdictForming    = "forming"    // on its way: members joining, databases starting
	VerdictDegraded   = "degraded"   // serving, but something is wrong (StatusDetail says what)
	VerdictNoQuorum   = "no-quorum"  // a database (system included) lacks a majority of its primaries: no writes
	VerdictStopped    = "stopped"    // every core member stopped on purpose (desired count 0)
	VerdictIncomplete = "incomplete" // stacks missing or never made
	VerdictUnknown    = "unknown"    // AWS looks fine but Neo4j's view is missing (Neo4jUnavailable says why)
)

// finding is one thing wrong; forming marks what a cluster on its way shows (a member not
// joined yet, a database starting), as opposed to a fault.
type finding struct {
	text    string
	forming bool
}

// StatusLine is the verdict with what makes it so, on one line.
func (v *ClusterView) StatusLine() string {
	if len(v.StatusDetail) == 0 {
		return v.Status
	}
	return v.Status + " (" + strings.Join(v.StatusDetail, "; ") + ")"
}

// decide merges the stacks', ECS's and Neo4j's views into the verdict.
func (v *ClusterView) decide(a neo4jAnswer) {
	if status, detail := v.stacksVerdict(); status != "" {
		v.Status, v.StatusDetail = status, detail
		return
	}
	stopped := 0
	for _, m := range v.Members {
		if m.Desired == 0 {
			stopped++
		}
	}
	if len(v.Members) > 0 && stopped == len(v.Members) {
		v.Status = VerdictStopped
		return
	}
	aws := v.awsFindings()
	if v.Neo4j == nil {
		v.Status, v.StatusDetail = v.withoutNeo4j(aws, a.err)
		return
	}
	v.Status, v.StatusDetail = v.withNeo4j(aws)
}

// stacksVerdict is what the stacks alone decide: a stack in progress or failed, or stacks
// missing; "" when they are all complete.
func (v *ClusterView) stacksVerdict() (string, []string) {
	var statuses, busy []string
	for _, s := range v.Stacks {
		statuses = append(statuses, s.Status)
		if !engine.Healthy(s.Status) {
			busy = append(busy, s.Name+" "+s.Status)
		}
	}
	if w := summarize(statuses); w != VerdictReady {
		return w, busy
	}
	if len(v.missing) == 0 {
		return "", nil
	}
	for _, n := range v.missing {
		if !hasStatus(v.Stacks, n) {
			v.Problems = append(v.Problems, fmt.Sprintf("stack %s is missing; `neo4jctl create cluster -f cluster.yaml` creates the missing stacks of a cluster", n))
		}
	}
	return VerdictIncomplete, []string{fmt.Sprintf("%d of %d stacks", v.expected-len(v.missing), v.expected)}
}

func hasStatus(stacks []StackStatus, name string) bool {
	for _, s := range stacks {
		if s.Name == name {
			return true
		}
	}
	return false
}

// awsFindings: members and replicas short of running tasks, members stopped on purpose.
func (v *ClusterView) awsFindings() []finding {
	var out []finding
	for _, m := range v.Members {
		switch {
		case m.Desired == 0:
			out = append(out, finding{text: m.Name + " is stopped (desired count 0)"})
		case m.Running < m.Desired:
			out = append(out, finding{text: fmt.Sprintf("%s: %d of %d tasks running", m.Name, m.Running, m.Desired)})
		}
	}
	if r := v.Replicas; r != nil && r.Running < r.Desired {
		out = append(out, finding{text: fmt.Sprintf("replicas: %d of %d tasks running", r.Running, r.Desired)})
	}
	return out
}

// withoutNeo4j decides from AWS alone: fewer than a majority of cores running is no
// quorum whatever Neo4j would say; an admin function that reached no Neo4j while every
// member runs means Neo4j has not formed (yet); a channel that failed leaves it unknown.
func (v *ClusterView) withoutNeo4j(aws []finding, err error) (string, []string) {
	running := 0
	for _, m := range v.Members {
		if m.Running > 0 {
			running++
		}
	}
	if majority := len(v.Members)/2 + 1; running < majority {
		return VerdictNoQuorum, append([]string{fmt.Sprintf("%d of %d core members run, a majority is %d", running, len(v.Members), majority)}, texts(aws)...)
	}
	if len(aws) > 0 {
		return VerdictDegraded, texts(aws)
	}
	if _, channel := AsChannelError(err); !channel && neo4jadmin.IsCode(err, neo4jadmin.CodeUnavailable) {
		return VerdictForming, []string{"every member runs; Neo4j does not answer yet"}
	}
	return VerdictUnknown, []string{"Neo4j's view is missing"}
}

// withNeo4j decides with Neo4j's view: no quorum first, then everything else; a cluster
// whose only findings are those of one on its way is forming.
func (v *ClusterView) withNeo4j(aws []finding) (string, []string) {
	var quorum []string
	for _, d := range v.Neo4j.Databases {
		if strings.EqualFold(d.RequestedStatus, "online") && d.Type != "composite" && !d.HasMajority {
			quorum = append(quorum, fmt.Sprintf("%s: %d primaries online, a majority is %d", d.Name, d.PrimariesOnline, d.Majority))
		}
	}
	if len(quorum) > 0 {
		return VerdictNoQuorum, append(quorum, texts(aws)...)
	}
	all := append(append(aws, v.serverFindings()...), v.databaseFindings()...)
	if len(all) == 0 {
		return VerdictReady, nil
	}
	forming := true
	for _, f := range all {
		forming = forming && f.forming
	}
	if forming {
		return VerdictForming, texts(all)
	}
	return VerdictDegraded, texts(all)
}

func texts(fs []finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.text)
	}
	return out
}

// serverFindings: members not joined, not enabled or unavailable; replicas not joined;
// servers of no member that are unavailable.
func (v *ClusterView) serverFindings() []finding {
	var out []finding
	listed := v.Neo4j.ServersNote == ""
	for _, m := range v.Members {
		s := m.Server
		switch {
		case m.Desired == 0 || !listed:
		case s == nil && m.Running > 0:
			out = append(out, finding{text: m.Name + " has not joined yet", forming: true})
		case s == nil:
		case s.Health != "Available":
			if m.Running >= m.Desired { // else its task is the finding
				out = append(out, finding{text: m.Name + " is Unavailable"})
			}
		case s.State == "Free":
			out = append(out, finding{text: m.Name + " is Free (not enabled yet)", forming: true})
		case s.State != "Enabled":
			out = append(out, finding{text: m.Name + " is " + s.State})
		}
	}
	joined := 0
	for _, s := range v.Neo4j.Servers {
		switch {
		case strings.HasPrefix(s.Member, "replica") && s.State == "Enabled" && s.Health == "Available":
			joined++
		case !strings.HasPrefix(s.Member, "core-") && s.Health != "Available" && s.State != "Dropped":
			out = append(out, finding{text: fmt.Sprintf("server %s (%s) is %s, %s", s.ID, s.Address, s.Health, s.State)})
		}
	}
	if r := v.Replicas; listed && r != nil && joined < int(r.Desired) {
		out = append(out, finding{text: fmt.Sprintf("replicas: %d of %d joined", joined, r.Desired), forming: r.Running >= r.Desired})
	}
	return out
}

// databaseFindings: databases not at their requested status, short of copies, without a
// leader, copies far behind, replication checks that failed.
func (v *ClusterView) databaseFindings() []finding {
	var out []finding
	for _, d := range v.Neo4j.Databases {
		if !strings.EqualFold(d.RequestedStatus, "online") || d.Type == "composite" {
			continue
		}
		starting := false
		for _, c := range d.Copies {
			if !strings.EqualFold(c.CurrentStatus, d.RequestedStatus) {
				st := strings.ToLower(c.CurrentStatus)
				starting = starting || st == "starting" || st == "store copying"
				out = append(out, finding{text: fmt.Sprintf("%s on %s is %s%s", d.Name, v.Neo4j.label(c.ServerID, c.Address), c.CurrentStatus, paren(c.StatusMessage)),
					forming: st == "starting" || st == "store copying"})
			}
		}
		if p := d.RequestedPrimaries; p != nil && int64(d.PrimariesOnline) < *p {
			out = append(out, finding{text: fmt.Sprintf("%s: %d of %d primaries online", d.Name, d.PrimariesOnline, *p), forming: starting})
		}
		if s := d.RequestedSecondaries; s != nil && int64(d.SecondariesOnline) < *s {
			out = append(out, finding{text: fmt.Sprintf("%s: %d of %d secondaries online", d.Name, d.SecondariesOnline, *s), forming: starting})
		}
		if d.Leader == "" {
			out = append(out, finding{text: d.Name + " has no leader", forming: starting})
		}
	}
	if h := v.Neo4j.Health; h != nil {
		for _, g := range h.Gates {
			if g.Name == neo4jadmin.GateReplicationLag || g.Name == neo4jadmin.GateStatusCheck {
				for _, d := range g.Detail {
					out = append(out, finding{text: d})
				}
			}
		}
	}
	return out
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// summarize reduces stack statuses to one word: "ready" when every stack is complete. A
// stack REVIEW_IN_PROGRESS is none of these: it holds nothing (see missingStacks).
func summarize(statuses []string) string {
	worst := VerdictReady
	for _, s := range statuses {
		switch {
		case strings.HasPrefix(s, "DELETE") && engine.InProgress(s):
			return "deleting"
		case strings.Contains(s, "FAILED") || s == engine.StatusRollbackComplete:
			worst = "failed"
		case worst == "failed":
		case strings.HasPrefix(s, "CREATE") && engine.InProgress(s):
			worst = "creating"
		case engine.InProgress(s):
			worst = "updating"
		}
	}
	return worst
}
