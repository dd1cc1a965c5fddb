package ops

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/neo4jadmin"
	"github.com/neo4jctl/neo4jctl/pkg/printer"
)

// UpgradeBackupAge is how recent a restorable backup of every database must be before an
// upgrade: Neo4j cannot downgrade, so the way back is a restore of backups taken before it.
const UpgradeBackupAge = 24 * time.Hour

// BackupFreshness is each database's newest restorable point, as the upgrade checked it.
type BackupFreshness struct {
	Database string    `json:"database"`
	Newest   string    `json:"newest,omitempty"` // artifact key
	Taken    time.Time `json:"taken,omitzero"`
	Version  string    `json:"neo4jVersion,omitempty"`
	Fresh    bool      `json:"fresh"`
}

// StaleBackupsError: some database has no restorable backup newer than UpgradeBackupAge.
// Nothing was changed.
type StaleBackupsError struct {
	Cluster string
	Folder  string
	Stale   []BackupFreshness
	At      time.Time
}

func (e *StaleBackupsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "upgrade of cluster %s refused: Neo4j cannot downgrade, and the way back is a restore of backups taken before the upgrade, "+
		"but these databases have no restorable backup newer than %d hours in %s:", e.Cluster, int(UpgradeBackupAge.Hours()), e.Folder)
	var names []string
	for _, s := range e.Stale {
		names = append(names, s.Database)
		if s.Newest == "" {
			fmt.Fprintf(&b, "\n  %s: none", s.Database)
			continue
		}
		fmt.Fprintf(&b, "\n  %s: newest %s, taken %s (%s ago)", s.Database, s.Newest, s.Taken.UTC().Format(time.RFC3339), printer.Age(e.At.Sub(s.Taken)))
	}
	fmt.Fprintf(&b, "\nNothing was changed. Back them up first: `neo4jctl backup create %s --database %s`, then run the upgrade again "+
		"(or pass --skip-backup-check to upgrade without a way back).", e.Cluster, strings.Join(names, ","))
	return b.String()
}

// checkBackups requires a restorable backup newer than UpgradeBackupAge of every database
// Neo4j lists (system included: the way back restores it too; composite databases hold no
// data). It reads the catalog as `backup list` does.
func (c *Cluster) checkBackups(ctx context.Context, l *BackupList, st *neo4jadmin.Status) ([]BackupFreshness, error) {
	cat, err := l.Execute(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("checking the backups before the upgrade (`neo4jctl backup list %s`): %w", c.Name, err)
	}
	newest := map[string]*backup.Entry{}
	for _, d := range cat.Databases {
		newest[d.Name] = d.Newest
	}
	var out, stale []BackupFreshness
	var dbs []string
	for _, d := range st.DatabaseViews() {
		if d.Type != "composite" && !slices.Contains(dbs, d.Name) {
			dbs = append(dbs, d.Name)
		}
	}
	slices.Sort(dbs)
	for _, name := range dbs {
		f := BackupFreshness{Database: name}
		if e := newest[name]; e != nil {
			f.Newest, f.Taken, f.Version = e.Key, e.Time, e.Neo4jVersion
			f.Fresh = cat.ListedAt.Sub(e.Time) <= UpgradeBackupAge
		}
		out = append(out, f)
		if !f.Fresh {
			stale = append(stale, f)
		}
	}
	if len(stale) > 0 {
		return out, &StaleBackupsError{Cluster: c.Name, Folder: cat.Folder, Stale: stale, At: cat.ListedAt}
	}
	return out, nil
}
