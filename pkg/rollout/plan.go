package rollout

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// Member is one unit a rolling operation restarts: a core member (one server, the same
// across restarts: its id lives on its volume) or the replicas service (all replica tasks
// at once; each new task is a new server).
type Member struct {
	Name string // core-2, replicas: the ECS service's name
	// Host is the core's stable DNS name (core-2.<namespace>), which SHOW SERVERS addresses
	// it by; empty for the replicas.
	Host string
}

// Replicas reports whether the member is the replicas service.
func (m Member) Replicas() bool { return m.Name == naming.ReplicasService }

// Members are a cluster's members: core-1..core-N in the namespace, then the replicas when
// there are any.
func Members(cores int, namespace string, replicas bool) []Member {
	var out []Member
	for i := 1; i <= cores; i++ {
		name := naming.CoreService(i)
		out = append(out, Member{Name: name, Host: name + "." + namespace})
	}
	if replicas {
		out = append(out, Member{Name: naming.ReplicasService})
	}
	return out
}

func host(address string) string {
	h, _, _ := strings.Cut(address, ":")
	return h
}

// memberOf finds the core member a server is (by its address's host).
func memberOf(s neo4jadmin.Server, members []Member) (Member, bool) {
	h := host(s.Address)
	for _, m := range members {
		if m.Host != "" && strings.EqualFold(m.Host, h) {
			return m, true
		}
	}
	return Member{}, false
}

// serverID is the id of a core member's server ("", false for the replicas or a core not in
// SHOW SERVERS).
func serverID(st *neo4jadmin.Status, m Member) (string, bool) {
	for _, s := range st.Servers {
		if mm, ok := memberOf(s, []Member{m}); ok && mm.Name == m.Name && !strings.EqualFold(s.State, "Dropped") {
			return s.ID, true
		}
	}
	return "", false
}

// Leads is what a member leads: user databases by name, and whether it leads system.
type Leads struct {
	Databases []string
	System    bool
}

// LeadsOf maps each core member to the databases it leads now (what Order ranks by; a
// plan shows it).
func LeadsOf(st *neo4jadmin.Status, members []Member) map[string]Leads { return leadsOf(st, members) }

// leadsOf maps each core member to the databases it leads now.
func leadsOf(st *neo4jadmin.Status, members []Member) map[string]Leads {
	out := map[string]Leads{}
	v := newView(st, members)
	for _, d := range st.DatabaseViews() {
		s, ok := v.byID[d.Leader]
		if !ok {
			continue
		}
		m, ok := memberOf(s, members)
		if !ok {
			continue
		}
		l := out[m.Name]
		if d.Type == "system" || d.Name == "system" {
			l.System = true
		} else {
			l.Databases = append(l.Databases, d.Name)
		}
		out[m.Name] = l
	}
	return out
}

// Order is the order a roll takes: the replicas first (they hold no quorum), then the cores
// leading the fewest databases, the one leading the most last, so that leaderships move as
// few times as possible. The system database's leadership counts as one, and among equals
// its leader goes later: it is the one leadership that cannot be handed over before the
// member goes down (a new system leader is elected when it stops). Ties go by member number.
func Order(st *neo4jadmin.Status, members []Member) []Member {
	leads := leadsOf(st, members)
	rank := func(m Member) (int, int) {
		l := leads[m.Name]
		n, sys := len(l.Databases), 0
		if l.System {
			n, sys = n+1, 1
		}
		return n, sys
	}
	out := slices.Clone(members)
	slices.SortStableFunc(out, func(a, b Member) int {
		if a.Replicas() != b.Replicas() {
			if a.Replicas() {
				return -1
			}
			return 1
		}
		na, sa := rank(a)
		nb, sb := rank(b)
		return cmp.Or(cmp.Compare(na, nb), cmp.Compare(sa, sb), compareNames(a.Name, b.Name))
	})
	return out
}

// compareNames orders core-2 before core-10.
func compareNames(a, b string) int {
	pa, na := splitNumber(a)
	pb, nb := splitNumber(b)
	return cmp.Or(strings.Compare(pa, pb), cmp.Compare(na, nb), strings.Compare(a, b))
}

func splitNumber(s string) (string, int) {
	i := strings.LastIndexByte(s, '-')
	if i < 0 {
		return s, 0
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil {
		return s, 0
	}
	return s[:i], n
}

// pinned is the plan of an earlier run (Options.Order), checked against the members.
func pinned(order []string, members []Member) ([]Member, error) {
	byName := map[string]Member{}
	for _, m := range members {
		byName[m.Name] = m
	}
	var out []Member
	for _, name := range order {
		m, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("the pinned order names %s, which is not a member now: the cluster changed since that run; start a new roll without the order", name)
		}
		out = append(out, m)
		delete(byName, name)
	}
	if len(byName) > 0 {
		var extra []string
		for _, m := range members {
			if _, ok := byName[m.Name]; ok {
				extra = append(extra, m.Name)
			}
		}
		return nil, fmt.Errorf("the pinned order lacks %s: the cluster changed since that run; start a new roll without the order", strings.Join(extra, ", "))
	}
	return out, nil
}
