package rollout

import (
	"fmt"

	"github.com/neo4jctl/neo4jctl/pkg/neo4jversion"
)

// Upgrade is a version change Neo4j allows as a rolling upgrade: one member at a time
// through the gated roll, the cluster serving throughout on mixed versions.
type Upgrade struct {
	From, To neo4jversion.Version
	// Same: nothing to do (the versions are equal).
	Same bool
	// Notes are what to know before this upgrade (empty for most).
	Notes []string
}

// UpgradeRefusedError: Neo4j cannot make this change rolling. Procedure says what to do
// instead.
type UpgradeRefusedError struct {
	From, To  string
	Reason    string
	Procedure string
}

func (e *UpgradeRefusedError) Error() string {
	return fmt.Sprintf("cannot upgrade from %s to %s: %s. %s", e.From, e.To, e.Reason, e.Procedure)
}

// offlineRestore is the way back to an earlier version: Neo4j does not downgrade a store,
// and a backup taken on a version cannot be restored into an older one.
const offlineRestore = "Neo4j cannot downgrade a store, in place or through a backup taken on the newer version. " +
	"The way back is offline: stop the cluster, replace its data volumes, start it on %s, and restore every database " +
	"(system included) from backups taken on %s or earlier, before the upgrade; what was written since those backups is lost"

// CheckUpgrade decides whether a cluster on version from may roll to version to (versions as
// cluster.yaml and Neo4j write them). Rolling, as the Upgrade and Migration Guide allows it:
// a later 5.26 patch; 5.26 to any calendar release (2025.01 and later); a calendar release
// to any later one; within 5.x, to a later minor up to 5.26 (the 5.x checkpoint). Refused,
// with the procedure: downgrades; anything past 5.26 from before it (upgrade to 5.26
// first); 4.x and earlier (an offline migration).
func CheckUpgrade(from, to string) (Upgrade, error) {
	f, err := neo4jversion.Parse(from)
	if err != nil {
		return Upgrade{}, fmt.Errorf("the cluster's version: %w", err)
	}
	t, err := neo4jversion.Parse(to)
	if err != nil {
		return Upgrade{}, fmt.Errorf("the version to upgrade to: %w (use 5.26.N or a calendar release YYYY.MM.N)", err)
	}
	u := Upgrade{From: f, To: t}
	refuse := func(reason, procedure string) (Upgrade, error) {
		return u, &UpgradeRefusedError{From: f.String(), To: t.String(), Reason: reason, Procedure: procedure}
	}
	switch {
	case !t.Less(f) && !f.Less(t):
		u.Same = true
		return u, nil
	case t.Less(f):
		return refuse("that is a downgrade", fmt.Sprintf(offlineRestore, t, t))
	case f.Major <= 4:
		return refuse("Neo4j 4.x and earlier use the old clustering model",
			"Migrate offline: back up every database, `neo4j-admin database migrate` them on 5.26, and restore them into a new 5.26 cluster")
	case (t.Major == 5 && t.Minor > 26) || (t.Major > 5 && !t.Calendar()):
		return refuse("there is no such Neo4j release", "Use 5.26.N or a calendar release such as 2025.10")
	case f.Major == 5 && f.Minor < 26 && (t.Calendar() || t.Major != 5):
		return refuse("5.26 is the checkpoint every 5.x must pass before a calendar release",
			fmt.Sprintf("Upgrade to the latest 5.26 first (a rolling upgrade), then to %s", t))
	}
	if !f.Calendar() && t.Calendar() {
		u.Notes = append(u.Notes,
			"2025.01 and later need discovery v2 and name its endpoints dbms.cluster.endpoints: the agent writes the settings of each member's version as it starts",
			"2025.01 and later run on Java 21: the image for the new version carries it")
	}
	return u, nil
}
