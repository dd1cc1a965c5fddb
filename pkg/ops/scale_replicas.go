package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// ScaleReplicas sets the number of replicas (secondaries): replicas.count in the last-applied
// record, rendered into the replicas stack's desired count and instance count (a replicas
// stack is made when there was none, and kept at zero when the count goes to 0). With Wait it
// then waits until Neo4j shows that many secondaries Enabled and Available with every
// database they host at its requested status, and removes (DEALLOCATE, DROP) the replica
// servers that left, as the first core's agent also does on its own every few minutes.
// On a stopped cluster it only records the count, which start brings.
type ScaleReplicas struct {
	Imperative
	Count int
	Yes   bool
	Wait  bool
	// Timeout bounds the wait for Neo4j (default DefaultReplicasTimeout); Poll paces it.
	Timeout, Poll time.Duration
}

// DefaultReplicasTimeout bounds the wait for the secondaries: an instance to launch, the
// image to pull, the databases to copy.
const DefaultReplicasTimeout = 20 * time.Minute

// NewScaleReplicas is scale replicas on the handle's clients.
func NewScaleReplicas(c *Cluster, count int, yes, wait bool, rel Release) *ScaleReplicas {
	return &ScaleReplicas{Imperative: newImperative(c, fmt.Sprintf("scale replicas %s --count %d", c.Name, count), rel), Count: count, Yes: yes, Wait: wait}
}

// ScaleReplicasPlan is what scale replicas will do.
type ScaleReplicasPlan struct {
	Cluster string `json:"cluster"`
	From    int    `json:"from"` // the last-applied replicas.count
	Running int    `json:"running"`
	To      int    `json:"to"`
	Stopped bool   `json:"stopped"`
	NoOp    bool   `json:"nothingToDo"`
}

// Text is the plan for people.
func (p *ScaleReplicasPlan) Text() string {
	switch {
	case p.NoOp:
		return fmt.Sprintf("Cluster %s has %d replicas already: nothing to do.\n", p.Cluster, p.To)
	case p.Stopped:
		return fmt.Sprintf("Cluster %s is stopped: replicas.count %d -> %d is recorded, and `neo4jctl start cluster %s` brings %d replicas.\n",
			p.Cluster, p.From, p.To, p.Cluster, p.To)
	}
	return fmt.Sprintf("Scale the replicas of %s from %d to %d (the replicas service and its Auto Scaling group, through the replicas stack's parameters).\n",
		p.Cluster, p.Running, p.To)
}

// Plan reads the record and the stacks and checks the count; it changes nothing.
func (s *ScaleReplicas) Plan(ctx context.Context) (*ScaleReplicasPlan, error) {
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	next := *s.record.Config
	setReplicas(&next, s.Count)
	if err := cluster.Validate(&next, nil); err != nil {
		return nil, fmt.Errorf("--count %d: %w", s.Count, err) // a cluster.ErrorList: exit 2
	}
	p := &ScaleReplicasPlan{Cluster: s.Name, From: s.record.Config.ReplicaCount(), To: s.Count, Stopped: s.record.Stopped != nil}
	if s.Wait && !p.Stopped && s.Admin == nil {
		return nil, fmt.Errorf("scale replicas waits for Neo4j through the admin channel, and this command has none; pass --wait=false to scale without waiting")
	}
	fmt.Sscan(s.liveParam(naming.KindReplicas, 0, "DesiredCount"), &p.Running)
	p.NoOp = p.From == p.To && (p.Stopped || p.Running == p.To)
	return p, nil
}

// setReplicas sets replicas.count on a copy of the replicas section (made with its defaults
// when there was none).
func setReplicas(cfg *cluster.ClusterConfig, n int) {
	r := cluster.Replicas{}
	if cfg.Replicas != nil {
		r = *cfg.Replicas
	}
	r.Count = n
	cfg.Replicas = &r
	cluster.SetDefaults(cfg)
}

// Ask confirms (unless Yes).
func (s *ScaleReplicas) Ask(ctx context.Context, p *ScaleReplicasPlan) error {
	ok, err := s.confirm(ctx, fmt.Sprintf("Scale the replicas of %s from %d to %d? [y/N] ", s.Name, p.Running, p.To), "scale replicas "+s.Name, "--yes", s.Yes)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("nothing changed")
	}
	return nil
}

// Execute records the count, applies it to the replicas (and the operations stack, which
// wires a replicas stack made or kept), and waits for Neo4j.
func (s *ScaleReplicas) Execute(ctx context.Context, p *ScaleReplicasPlan) error {
	if err := s.record.Set("replicas.count", "scale replicas", s.Now(), func(c *cluster.ClusterConfig) { setReplicas(c, s.Count) }); err != nil {
		return err
	}
	keep := s.stack(naming.KindReplicas, 0) != nil
	what := fmt.Sprintf("Scaling the replicas to %d", s.Count)
	if p.Stopped {
		what = fmt.Sprintf("Recording %d replicas (the cluster is stopped)", s.Count)
	}
	if err := s.step(ctx, what, s.record.Run(keep), false, naming.KindReplicas, naming.KindOperations); err != nil {
		return err
	}
	if err := s.save(ctx); err != nil {
		return err
	}
	if !s.Wait || p.Stopped {
		return nil
	}
	return waitSecondaries(ctx, s.Cluster, s.record.Config.Cores.Count, s.Count, s.Timeout, s.Poll)
}

// SecondariesTimeoutError: Neo4j did not show the wanted secondaries in time.
type SecondariesTimeoutError struct {
	Cluster string
	Want    int
	Missing []string
	Timeout time.Duration
}

func (e *SecondariesTimeoutError) Error() string {
	return fmt.Sprintf("the replicas of %s are set to %d, but after %s Neo4j does not show them ready: %s. The replicas service keeps trying; see `neo4jctl get cluster %s`",
		e.Cluster, e.Want, e.Timeout, strings.Join(e.Missing, "; "), e.Cluster)
}

// waitSecondaries polls Neo4j until want secondaries are Enabled and Available, every
// database's secondaries follow them (the default topology and each user database, as the
// first core's agent keeps them: set here at once instead of at its next round), each copy at
// its requested status, and no other replica server is left: one that left (Unavailable, a
// replica has no volume and never comes back) is deallocated and dropped.
func waitSecondaries(ctx context.Context, c *Cluster, cores, want int, timeout, poll time.Duration) error {
	if c.Admin == nil {
		return fmt.Errorf("waiting for the replicas of %s needs the admin channel (the admin function, or --bolt-uri)", c.Name)
	}
	timeout, poll = cmpDuration(timeout, DefaultReplicasTimeout), cmpDuration(poll, 10*time.Second)
	deadline := c.clock().Now().Add(timeout)
	var missing []string
	for {
		resp, err := sendOK(ctx, c.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqStatus})
		switch {
		case err == nil:
			var left []neo4jadmin.Server
			missing, left = secondariesMissing(resp.Status, want)
			if len(missing) == 0 && len(left) == 0 {
				c.emit(Note{Text: fmt.Sprintf("Neo4j shows %d secondaries, each hosting its databases.", want)})
				return nil
			}
			if ready(resp.Status) == want {
				followReplicas(ctx, c, resp.Status, cores, want)
				dropLeft(ctx, c, left)
			}
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			missing = []string{"the cluster's status did not come (" + err.Error() + ")"}
		}
		if !c.clock().Now().Before(deadline) {
			return &SecondariesTimeoutError{Cluster: c.Name, Want: want, Missing: missing, Timeout: timeout}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.clock().After(poll):
		}
	}
}

// ready counts the secondaries Enabled and Available.
func ready(st *neo4jadmin.Status) int {
	n := 0
	for _, sv := range st.Servers {
		if strings.EqualFold(sv.ModeConstraint, "SECONDARY") && strings.EqualFold(sv.State, "Enabled") && strings.EqualFold(sv.Health, "Available") {
			n++
		}
	}
	return n
}

// followReplicas sets the default topology and every user database's secondaries to the
// replicas that are ready (their primaries kept); a change Neo4j refuses now is retried at
// the next poll.
func followReplicas(ctx context.Context, c *Cluster, st *neo4jadmin.Status, cores, want int) {
	_, _ = sendOK(ctx, c.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqSetDefaultAllocation, Primaries: cores, Secondaries: want})
	for _, d := range st.DatabaseViews() {
		if d.Type == "system" || d.Type == "composite" || d.RequestedPrimaries == nil || d.RequestedSecondaries == nil || int(*d.RequestedSecondaries) == want {
			continue
		}
		req := neo4jadmin.Request{Type: neo4jadmin.ReqSetTopology, Database: d.Name, Primaries: int(*d.RequestedPrimaries), Secondaries: want}
		if _, err := sendOK(ctx, c.Admin, req); err == nil {
			c.emit(Note{Text: fmt.Sprintf("Database %s: %d secondaries -> %d (they follow the replicas)", d.Name, *d.RequestedSecondaries, want)})
		}
	}
}

func cmpDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// secondariesMissing says what keeps want secondaries from being ready, and lists the
// replica servers that left (not Available) once want are.
func secondariesMissing(st *neo4jadmin.Status, want int) (missing []string, left []neo4jadmin.Server) {
	var ready []string
	for _, sv := range st.Servers {
		if !strings.EqualFold(sv.ModeConstraint, "SECONDARY") || strings.EqualFold(sv.State, "Dropped") {
			continue
		}
		if strings.EqualFold(sv.State, "Enabled") && strings.EqualFold(sv.Health, "Available") {
			ready = append(ready, sv.ID)
		} else {
			left = append(left, sv)
		}
	}
	if len(ready) != want {
		missing = append(missing, fmt.Sprintf("%d of %d secondaries Enabled and Available", len(ready), want))
	}
	for _, d := range st.DatabaseViews() {
		if d.Type != "system" && d.Type != "composite" && d.RequestedSecondaries != nil && int(*d.RequestedSecondaries) != want {
			missing = append(missing, fmt.Sprintf("database %s asks for %d secondaries", d.Name, *d.RequestedSecondaries))
		}
	}
	for _, d := range st.Databases {
		if slices.Contains(ready, d.ServerID) && !strings.EqualFold(d.CurrentStatus, d.RequestedStatus) {
			missing = append(missing, fmt.Sprintf("database %s on %s is %s, not %s", d.Name, d.Address, d.CurrentStatus, d.RequestedStatus))
		}
	}
	if len(ready) < want {
		return missing, nil // the ones not ready may be joining
	}
	return missing, left
}

// dropLeft deallocates and drops replica servers that left: a replica has no volume, its
// replacement is a new server. A step that Neo4j refuses now is retried at the next poll.
func dropLeft(ctx context.Context, c *Cluster, left []neo4jadmin.Server) {
	for _, sv := range left {
		if strings.EqualFold(sv.State, "Enabled") || strings.EqualFold(sv.State, "Cordoned") {
			if _, err := sendOK(ctx, c.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqDeallocateServer, Server: sv.ID}); err != nil {
				continue
			}
		}
		if _, err := sendOK(ctx, c.Admin, neo4jadmin.Request{Type: neo4jadmin.ReqDropServer, Server: sv.ID}); err == nil {
			c.emit(ReplicaServerDropped{Server: sv.Name, Address: sv.Address})
		}
	}
}
