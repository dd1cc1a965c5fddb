package rollout

import (
	"strings"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// A hand-made status: three cores and a replica hosting system and shop (3 primaries, 1
// secondary), everything healthy; each case breaks one thing.
func healthy() *neo4jadmin.Status {
	p := func(n int64) *int64 { return &n }
	st := &neo4jadmin.Status{Edition: "enterprise", Version: "5.26.30"}
	for i, h := range []string{"core-1", "core-2", "core-3", "10.0.9.1"} {
		mode := "PRIMARY"
		if i == 3 {
			mode = "SECONDARY"
		}
		st.Servers = append(st.Servers, neo4jadmin.Server{ID: "id-" + h, Name: "id-" + h, Address: addr(h), State: "Enabled", Health: "Available",
			Hosting: []string{"system", "shop"}, RequestedHosting: []string{"system", "shop"}, ModeConstraint: mode})
		role := "primary"
		if i == 3 {
			role = "secondary"
		}
		st.Databases = append(st.Databases,
			neo4jadmin.Database{Name: "system", Type: "system", ServerID: "id-" + h, Address: addr(h), Role: role, Writer: i == 0,
				RequestedStatus: "online", CurrentStatus: "online", ReplicationLag: p(0)},
			neo4jadmin.Database{Name: "shop", Type: "standard", ServerID: "id-" + h, Address: addr(h), Role: role, Writer: i == 1,
				RequestedStatus: "online", CurrentStatus: "online", RequestedPrimaries: p(3), RequestedSecondaries: p(1), ReplicationLag: p(0)})
	}
	return st
}

func addr(h string) string {
	if strings.HasPrefix(h, "core-") {
		return h + ".neo4j.internal:7687"
	}
	return h + ":7687"
}

// down makes a server Unavailable as Neo4j shows it: its copies have no address, status
// unknown, role unknown.
func down(st *neo4jadmin.Status, id string) {
	for i := range st.Servers {
		if st.Servers[i].ID == id {
			st.Servers[i].Health, st.Servers[i].Hosting = "Unavailable", nil
		}
	}
	for i := range st.Databases {
		if d := &st.Databases[i]; d.ServerID == id {
			d.Address, d.CurrentStatus, d.StatusMessage, d.Role, d.Writer = "", "unknown", "Server is unavailable", "unknown", false
		}
	}
}

// twoPrimaries makes shop 2 primaries and 2 secondaries (core-3 a secondary).
func twoPrimaries(st *neo4jadmin.Status) {
	two := int64(2)
	for i := range st.Databases {
		if st.Databases[i].Name == "shop" {
			st.Databases[i].RequestedPrimaries, st.Databases[i].RequestedSecondaries = &two, &two
		}
	}
	st.Databases[5].Role = "secondary"
}

func TestCheck(t *testing.T) {
	members := Members(3, "neo4j.internal", true)
	core1 := members[0]
	for _, tt := range []struct {
		name    string
		breakIt func(st *neo4jadmin.Status)
		spec    gateSpec
		want    []string // each in the problems, in order
		final   bool
	}{
		{name: "healthy"},
		{name: "a replaced replica awaiting removal does not block", breakIt: func(st *neo4jadmin.Status) {
			down(st, "id-10.0.9.1")
			st.Servers = append(st.Servers, neo4jadmin.Server{ID: "id-new", Address: "10.0.9.2:7687", State: "Enabled", Health: "Available",
				Hosting: []string{"system"}, RequestedHosting: []string{"system"}, ModeConstraint: "SECONDARY"})
		}},
		{name: "a core down", breakIt: func(st *neo4jadmin.Status) { down(st, "id-core-2") }, want: []string{
			"server core-2 is Unavailable (want Available)",
			"database system on core-2 is unknown (Server is unavailable) (want online)",
			"database shop is hosted by 2 primaries (want 3)",
		}},
		{name: "a core cordoned", breakIt: func(st *neo4jadmin.Status) { st.Servers[2].State = "Cordoned" }, want: []string{
			"server core-3 is Cordoned (want Enabled)",
		}},
		{name: "the core being removed may be cordoned", breakIt: func(st *neo4jadmin.Status) { st.Servers[2].State = "Cordoned" },
			spec: gateSpec{leaving: "id-core-3"}},
		{name: "a copy behind", breakIt: func(st *neo4jadmin.Status) { lag := int64(-250); st.Databases[3].ReplicationLag = &lag }, want: []string{
			"database shop on core-2 is 250 transactions behind (want at most 100)",
		}},
		{name: "a copy store copying", breakIt: func(st *neo4jadmin.Status) {
			st.Databases[5].CurrentStatus = "store copying"
			st.Servers[2].Hosting = []string{"system"}
		}, want: []string{
			"server core-3 does not host shop yet (want hosting = requestedHosting)",
			"database shop on core-3 is store copying (want online)",
		}},
		{name: "no writer", breakIt: func(st *neo4jadmin.Status) { st.Databases[3].Writer = false }, want: []string{
			"database shop has no writer (want a leader)",
		}},
		{name: "taking a core down keeps the majority", spec: gateSpec{down: &core1}},
		{name: "a database of two primaries cannot spare one", breakIt: twoPrimaries, spec: gateSpec{down: &core1}, final: true, want: []string{
			"database shop has 2 primaries: with core-1 down it keeps 1, below its majority of 2",
		}},
		{name: "an outage accepted", breakIt: twoPrimaries, spec: gateSpec{down: &core1, acceptOutage: true}},
		{name: "replicas not replaced yet", spec: gateSpec{oldReplicas: []string{"id-10.0.9.1"}, minReplicas: 1}, want: []string{
			"server 10.0.9.1 is still the replica from before the restart (want replaced by a new task)",
			"the cluster has 0 new replica servers Enabled and Available (want 1)",
		}},
		{name: "statusCheck", breakIt: func(st *neo4jadmin.Status) {
			st.StatusCheck = []neo4jadmin.MemberCheck{{Database: "shop", ServerID: "id-core-3", ReplicationSuccessful: false, Error: "timeout"}}
		}, want: []string{"database shop on core-3 does not replicate successfully (timeout)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := healthy()
			if tt.breakIt != nil {
				tt.breakIt(st)
			}
			tt.spec.members = members
			ps := check(st, tt.spec)
			got := ps.String()
			if len(tt.want) == 0 && len(ps) > 0 {
				t.Fatalf("problems: %s", got)
			}
			rest := got
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("problems %q lack %q (in order)", got, w)
				}
				rest = rest[i+len(w):]
			}
			if ps.final() != tt.final {
				t.Errorf("final %v: %s", ps.final(), got)
			}
		})
	}
}
