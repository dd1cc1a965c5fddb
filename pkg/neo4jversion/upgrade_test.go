package neo4jversion

import (
	"errors"
	"strings"
	"testing"
)

// The rolling paths of the Upgrade and Migration Guide, and every refusal with its way out.
func TestCheckUpgrade(t *testing.T) {
	for _, tt := range []struct {
		from, to string
		same     bool
		refusal  string // in the reason or procedure of an *UpgradeRefusedError
		invalid  string // in a plain error (a version that does not exist)
		note     string
	}{
		{from: "5.26.3", to: "5.26.12"},
		{from: "5.26.30", to: "5.26.31"},
		{from: "5.26", to: "5.26.1", note: "floating 5.26 image"},
		{from: "5.26.12", to: "2025.01.0", note: "dbms.cluster.endpoints"},
		{from: "5.26.0", to: "2026.02.1", note: "Java 21"},
		{from: "5.26.30", to: "2025.10", note: "Java 21"},
		{from: "2025.01.0", to: "2025.10.1"},
		{from: "2025.10.0", to: "2025.10.1"},
		{from: "2025.10.0", to: "2026.01.0"},
		{from: "2025.10.1", to: "2025.10.1", same: true},
		{from: "5.26", to: "5.26", same: true},
		{from: "5.26.12", to: "5.26.3", refusal: "that is a downgrade"},
		{from: "5.26.12", to: "5.26", refusal: "that may be a downgrade: 5.26 floats"},
		{from: "2025.10.1", to: "2025.10", refusal: "Name the patch, e.g. 2025.10.2"},
		{from: "2025.01.0", to: "5.26.12", refusal: "restore every database, system included, from backups taken on 5.26.12 or earlier"},
		{from: "2025.10.0", to: "2025.04.2", refusal: "neo4jctl reset-data cluster"},
		{from: "2026.01.0", to: "2025.12.3", refusal: "downgrade"},
		{from: "5.20.0", to: "5.26.10", refusal: "Upgrade to 5.26 offline first"},
		{from: "4.4.30", to: "5.26.0", refusal: "Upgrade to 5.26 offline first"},
		{from: "5.26.0", to: "5.27.0", invalid: "no Neo4j 5.x after 5.26"},
		{from: "5.26.0", to: "6.1", invalid: "not a Neo4j release"},
		{from: "5.26.0", to: "2025.13.0", invalid: "month from 01 to 12"},
		{from: "5.26.0", to: "latest", invalid: "is not a Neo4j version"},
		{from: "5.26.0", to: "4.4.30", invalid: "upgrade to 5.26 offline first"},
	} {
		u, err := CheckUpgrade(tt.from, tt.to)
		var refused *UpgradeRefusedError
		switch {
		case tt.refusal != "":
			if !errors.As(err, &refused) || !strings.Contains(err.Error(), tt.refusal) {
				t.Errorf("%s -> %s: %v, want a refusal saying %q", tt.from, tt.to, err, tt.refusal)
			}
		case tt.invalid != "":
			if err == nil || errors.As(err, &refused) || !strings.Contains(err.Error(), tt.invalid) {
				t.Errorf("%s -> %s: %v, want an invalid version saying %q", tt.from, tt.to, err, tt.invalid)
			}
		case err != nil:
			t.Errorf("%s -> %s: %v", tt.from, tt.to, err)
		case u.Same != tt.same:
			t.Errorf("%s -> %s: same %v", tt.from, tt.to, u.Same)
		case !strings.Contains(strings.Join(u.Notes, "\n"), tt.note) || (tt.note == "" && len(u.Notes) > 0):
			t.Errorf("%s -> %s: notes %q, want %q", tt.from, tt.to, u.Notes, tt.note)
		}
	}
	if _, err := CheckUpgrade("five", "5.26.3"); err == nil || !strings.Contains(err.Error(), "the cluster's version") {
		t.Errorf("unreadable version of the cluster: %v", err)
	}
}
