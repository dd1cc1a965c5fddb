package clustersim

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// running is the services snapshot of cores and replicas all running.
func running(cores, replicas int) Services {
	s := Services{"replicas": {Desired: replicas, Running: replicas}}
	for i := 1; i <= cores; i++ {
		s[fmt.Sprintf("core-%d", i)] = Service{Desired: 1, Running: 1}
	}
	return s
}

// formed is a cluster that has formed and is ready, with its counters reset.
func formed(t *testing.T, cfg Config, replicas int) *Sim {
	t.Helper()
	s := New(cfg)
	s.Apply(running(s.cfg.Cores, replicas))
	if !s.AdvanceUntil(View.Ready, 10*time.Minute) {
		t.Fatalf("cluster not ready after 10 simulated minutes: %+v", s.View())
	}
	s.ResetStats()
	return s
}

// call sends a request through the admin Lambda's JSON path, as the CLI will.
func call(t *testing.T, s *Sim, req neo4jadmin.Request) neo4jadmin.Response {
	t.Helper()
	in, err := neo4jadmin.Encode(req)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Invoke(context.Background(), in)
	if err != nil {
		t.Fatalf("invoke %s: %v", in, err)
	}
	var r neo4jadmin.Response
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("answer %s: %v", out, err)
	}
	return r
}

func mustOK(t *testing.T, r neo4jadmin.Response) neo4jadmin.Response {
	t.Helper()
	if !r.OK {
		t.Fatalf("%s failed: %+v", r.Type, r.Error)
	}
	return r
}

func status(t *testing.T, s *Sim) *neo4jadmin.Status {
	t.Helper()
	return mustOK(t, call(t, s, neo4jadmin.Request{Type: neo4jadmin.ReqStatus})).Status
}

// serverOf is the SHOW SERVERS row of a member's current server.
func serverOf(t *testing.T, s *Sim, member string) neo4jadmin.Server {
	t.Helper()
	sv, ok := s.View().Server(member)
	if !ok {
		t.Fatalf("no member %s", member)
	}
	for _, x := range status(t, s).Servers {
		if x.ID == sv.ID {
			return x
		}
	}
	return neo4jadmin.Server{}
}

func leader(s *Sim, db string) (string, int64) {
	d, _ := s.View().Database(db)
	return d.Leader, d.Term
}
