package rollout

import (
	"slices"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
)

// Replicas first; then by leaderships, system counting as one and its leader later among
// equals; then by member number (core-2 before core-10).
func TestOrder(t *testing.T) {
	members := Members(10, "neo4j.internal", true)
	st := &neo4jadmin.Status{}
	lead := func(member, db string) {
		id := "id-" + member
		st.Databases = append(st.Databases, neo4jadmin.Database{Name: db, Type: map[bool]string{true: "system", false: "standard"}[db == "system"],
			ServerID: id, Address: member + ".neo4j.internal:7687", Role: "primary", Writer: true, RequestedStatus: "online", CurrentStatus: "online"})
	}
	for _, m := range members[:10] {
		st.Servers = append(st.Servers, neo4jadmin.Server{ID: "id-" + m.Name, Address: m.Host + ":7687", State: "Enabled", Health: "Available"})
	}
	lead("core-1", "system")
	lead("core-2", "shop")
	lead("core-3", "ledger")
	lead("core-3", "neo4j")
	got := names(Order(st, members))
	want := []string{"replicas", "core-4", "core-5", "core-6", "core-7", "core-8", "core-9", "core-10", "core-2", "core-1", "core-3"}
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if _, err := pinned([]string{"core-1"}, members[:2]); err == nil {
		t.Error("a pinned order that lacks a member was accepted")
	}
}
