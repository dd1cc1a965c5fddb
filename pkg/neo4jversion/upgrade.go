package neo4jversion

import "fmt"

// Which version changes a running cluster may make one server at a time, as Neo4j's Upgrade
// and Migration Guide allows them (https://neo4j.com/docs/upgrade-migration-guide/current/):
//
//   - a later patch of the 5.26 LTS: "Upgrade to 5.x or 5.26 LTS", in-place rolling upgrade of
//     a cluster (version-5/upgrade-minor/in-place-rolling);
//   - 5.26 LTS to any calendar release, 2025.01 and later: 5.26 is the checkpoint release every
//     5.x passes before a calendar one (version-2025-2026, "You can also upgrade from Neo4j 5.26
//     LTS to any Neo4j 2025-2026 version"), with discovery v2, which the stacks always run;
//   - a calendar release to any later one ("You can upgrade from any version in the 2025–2026
//     series to any subsequent version", version-2025-2026/upgrade/in-place-rolling).
//
// Neo4j has no downgrade: a store, and a backup, once on a newer version cannot be opened by
// an older one (the guide's "Introduction": downgrades are not supported). The way back is
// offline, from backups taken before the upgrade.

// Upgrade is a version change Neo4j makes rolling: one server at a time, the cluster serving
// throughout on mixed versions.
type Upgrade struct {
	From, To Version
	// Same: nothing to do (the versions are equal).
	Same bool
	// Notes are what to know before this upgrade (empty for most).
	Notes []string
}

// UpgradeRefusedError: Neo4j cannot make this change rolling. Procedure is what to do
// instead (the offline way).
type UpgradeRefusedError struct {
	From, To  string
	Reason    string
	Procedure string
}

func (e *UpgradeRefusedError) Error() string {
	return fmt.Sprintf("cannot upgrade from %s to %s: %s. %s", e.From, e.To, e.Reason, e.Procedure)
}

// offlineDowngrade is the way back to an earlier version.
const offlineDowngrade = "Neo4j cannot downgrade a store, in place or through a backup taken on the newer version. " +
	"The way back is offline: take the backups you need, `neo4jctl stop cluster`, `neo4jctl reset-data cluster` (a new, empty volume per member), " +
	"set neo4j.version to %s in cluster.yaml and `neo4jctl update cluster -f cluster.yaml --overwrite-imperative`, `neo4jctl start cluster`, " +
	"then restore every database, system included, from backups taken on %s or earlier, before the upgrade (`neo4jctl backup restore`); " +
	"what was written since those backups is lost"

// CheckUpgrade decides whether a cluster on version from may roll to version to (both as
// cluster.yaml writes them). A floating 5.26 (no patch) runs whatever 5.26 its image was
// built from: a move to a 5.26 patch is allowed with a note, as only the image knows.
func CheckUpgrade(from, to string) (Upgrade, error) {
	f, err := Parse(Floating(from))
	if err != nil {
		return Upgrade{}, fmt.Errorf("the cluster's version: %w", err)
	}
	if msg, fix := Problem(Floating(to)); msg != "" {
		if fix != "" {
			msg += "; " + fix
		}
		return Upgrade{}, fmt.Errorf("the version to upgrade to: %s", msg)
	}
	t, _ := Parse(Floating(to))
	u := Upgrade{From: f, To: t}
	refuse := func(reason, procedure string) (Upgrade, error) {
		return u, &UpgradeRefusedError{From: f.String(), To: t.String(), Reason: reason, Procedure: procedure}
	}
	switch {
	case f == t:
		u.Same = true
		return u, nil
	case f.HasPatch && !t.HasPatch && t.Major == f.Major && t.Minor == f.Minor:
		// a floating target on the same line may be older than the pinned patch that runs
		return refuse("that may be a downgrade: "+t.String()+" floats to whichever patch its image was built from",
			"Name the patch, e.g. "+fmt.Sprintf("%s.%d", t, f.Patch+1)+"; "+fmt.Sprintf(offlineDowngrade, t, t))
	case t.Less(f):
		return refuse("that is a downgrade", fmt.Sprintf(offlineDowngrade, t, t))
	case f.Major == 5 && f.Minor < 26 || f.Major <= 4:
		return refuse("neo4jctl runs 5.26 LTS and calendar releases only", "Upgrade to 5.26 offline first, as the Upgrade and Migration Guide describes")
	}
	if !f.HasPatch && !f.Calendar() && !t.Calendar() {
		u.Notes = append(u.Notes, fmt.Sprintf("the cluster runs the floating %s image (the 5.26 patch it was built from): make sure %s is not older", f, t))
	}
	if !f.Calendar() && t.Calendar() {
		u.Notes = append(u.Notes,
			"2025.01 and later name the discovery endpoints dbms.cluster.endpoints (discovery v2 only): each member's agent writes the settings of the version it starts",
			"2025.01 and later run on Java 21, which the new image carries; read 'Changes from Neo4j 5.26 LTS to Neo4j 2025.01 and later' for removed settings and procedures",
			"drivers and applications keep working: Cypher 5 is supported by every calendar release")
	}
	return u, nil
}
