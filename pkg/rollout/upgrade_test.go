package rollout_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/rollout"
)

func TestCheckUpgrade(t *testing.T) {
	for _, tt := range []struct {
		from, to string
		same     bool
		refusal  string // in the reason or procedure
	}{
		{"5.26.3", "5.26.12", false, ""},
		{"5.26", "5.26.1", false, ""},
		{"5.26.12", "2025.01.0", false, ""},
		{"5.26.0", "2026.02.1", false, ""},
		{"2025.01.0", "2025.10.1", false, ""},
		{"2025.10.0", "2026.01.0", false, ""},
		{"2025.10.1", "2025.10.1", true, ""},
		{"5.20.0", "5.26.10", false, ""},
		{"5.26.12", "5.26.3", false, "downgrade"},
		{"2025.01.0", "5.26.12", false, "restore every database"},
		{"2025.10.0", "2025.04.2", false, "taken on 2025.04.2 or earlier"},
		{"5.20.0", "2025.01.0", false, "Upgrade to the latest 5.26 first"},
		{"4.4.30", "5.26.0", false, "neo4j-admin database migrate"},
		{"5.26.0", "5.27.0", false, "no such Neo4j release"},
		{"5.26.0", "6.1", false, "no such Neo4j release"},
	} {
		u, err := rollout.CheckUpgrade(tt.from, tt.to)
		var refused *rollout.UpgradeRefusedError
		switch {
		case tt.refusal != "":
			if !errors.As(err, &refused) || !strings.Contains(err.Error(), tt.refusal) {
				t.Errorf("%s -> %s: %v, want a refusal saying %q", tt.from, tt.to, err, tt.refusal)
			}
		case err != nil:
			t.Errorf("%s -> %s: %v", tt.from, tt.to, err)
		case u.Same != tt.same:
			t.Errorf("%s -> %s: same %v", tt.from, tt.to, u.Same)
		}
	}
	// the 5.26 -> calendar step says what changes
	if u, _ := rollout.CheckUpgrade("5.26.12", "2025.01.0"); len(u.Notes) == 0 {
		t.Error("5.26 -> 2025.01 has no notes")
	}
	if _, err := rollout.CheckUpgrade("5.26.x", "5.26.3"); err == nil || !strings.Contains(err.Error(), "cluster's version") {
		t.Errorf("unreadable version: %v", err)
	}
}
