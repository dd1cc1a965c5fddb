package ops

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// RestartedTimeoutError: the core members of a started cluster did not form in time.
type RestartedTimeoutError struct {
	Cluster string
	Missing []string
	Timeout time.Duration
}

func (e *RestartedTimeoutError) Error() string {
	return fmt.Sprintf("the core members of %s run, but after %s Neo4j has not formed the cluster: %s. The replicas were not started and the alarms are still muted; "+
		"see `neo4jctl get cluster %s`, then run `neo4jctl start cluster %s` again to carry on",
		e.Cluster, e.Timeout, strings.Join(e.Missing, "; "), e.Cluster, e.Cluster)
}

// waitFormed (with Wait) polls Neo4j until the restarted cluster has formed: every core
// member's server Enabled and Available, every database with its requested primaries online
// and a leader. Not the secondaries: the replicas start after this, and the servers of the
// replicas that ran before the stop are gone for good (a replica has no volume).
func (s *Start) waitFormed(ctx context.Context, p *StartPlan) error {
	if !s.Wait {
		return nil
	}
	timeout, poll := cmpDuration(s.Timeout, DefaultStartTimeout), cmpDuration(s.Poll, 10*time.Second)
	deadline := s.clock().Now().Add(timeout)
	ns := s.record.Config.Namespace()
	var missing []string
	for {
		resp, err := sendOK(ctx, s.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqStatus})
		switch {
		case err == nil:
			if missing = restartMissing(resp.Status, p.Cores, ns); len(missing) == 0 {
				s.emit(Note{Text: fmt.Sprintf("Neo4j has formed the cluster: %d core members, every database with its primaries and a leader.", p.Cores)})
				return nil
			}
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			missing = []string{"no answer from Neo4j yet (" + err.Error() + ")"}
		}
		if !s.clock().Now().Before(deadline) {
			return &RestartedTimeoutError{Cluster: s.Name, Missing: missing, Timeout: timeout}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.clock().After(poll):
		}
	}
}

// restartMissing says what keeps a restarted cluster from being formed.
func restartMissing(st *neo4jadmin.Status, cores int, namespace string) []string {
	var out []string
	for i := 1; i <= cores; i++ {
		host := naming.CoreService(i) + "." + namespace
		found := false
		for _, sv := range st.Servers {
			if h, _, _ := strings.Cut(sv.Address, ":"); h == host && sv.State == "Enabled" && sv.Health == "Available" {
				found = true
			}
		}
		if !found {
			out = append(out, naming.CoreService(i)+" is not Enabled and Available")
		}
	}
	for _, d := range st.DatabaseViews() {
		switch {
		case !strings.EqualFold(d.RequestedStatus, "online"):
		case d.RequestedPrimaries != nil && int64(d.PrimariesOnline) < *d.RequestedPrimaries:
			out = append(out, fmt.Sprintf("%s: %d of %d primaries online", d.Name, d.PrimariesOnline, *d.RequestedPrimaries))
		case d.Leader == "":
			out = append(out, d.Name+" has no leader")
		}
	}
	return out
}
