package agent

import (
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
)

// recorder keeps the manifests in step with the backup folder.
type recorder struct {
	store   backup.Store
	version string // Neo4j version of the run
	now     func() time.Time
	inspect func(ctx context.Context) ([]backup.InspectRow, error)
	// locks, with backup.objectLock, says which backups S3 Object Lock still protects:
	// retention keeps their chains and reports until when (nil: no object lock).
	locks ObjectLocks
}

// record adds to the manifests every artifact of the folder that none knows yet (from one
// neo4j-admin backup inspect of the folder), and drops entries whose objects are gone.
// Artifacts absent from before were made by this run: they carry the run and the Neo4j
// version; older ones (made before manifests existed, or by hand) are marked as inspected.
// It returns this run's artifacts.
func (rc recorder) record(ctx context.Context, before []backup.Object, run backup.Run) ([]ReportArtifact, error) {
	objs, err := rc.store.List(ctx)
	if err != nil {
		return nil, err
	}
	manifests, err := rc.store.Manifests(ctx, objs)
	if err != nil {
		return nil, err
	}
	existed := map[string]bool{}
	for _, o := range before {
		existed[o.Key] = true
	}
	present := map[string]int64{}
	for _, o := range objs {
		if backup.IsArtifactKey(backup.Prefix, o.Key) {
			present[o.Key] = o.Size
		}
	}
	gone := map[string][]string{} // database -> keys
	known := map[string]bool{}
	for db, m := range manifests {
		for _, e := range m.Artifacts {
			known[e.Key] = true
			if _, ok := present[e.Key]; !ok {
				gone[db] = append(gone[db], e.Key)
			}
		}
	}
	var unknown []string
	for k := range present {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	added := map[string][]backup.Entry{}
	var notListed []string
	if len(unknown) > 0 {
		rows, err := rc.inspect(ctx)
		if err != nil {
			return nil, fmt.Errorf("inspecting the backup folder: %w", err)
		}
		byName := map[string]backup.InspectRow{}
		for _, row := range rows {
			byName[row.Name()] = row
		}
		for _, k := range unknown {
			if !existed[k] {
				run.Databases++
			}
		}
		for _, k := range unknown {
			row, ok := byName[path.Base(k)]
			if !ok {
				notListed = append(notListed, path.Base(k))
				continue
			}
			e := backup.EntryFromInspect(k, present[k], row, backup.OriginInspect)
			if !existed[k] {
				e.Origin, e.Neo4jVersion = backup.OriginBackup, rc.version
				r := run
				r.DurationSeconds = r.Finished.Sub(r.Started).Round(time.Millisecond).Seconds()
				e.Run = &r
			}
			db, _, _ := backup.ParseName(k)
			added[db] = append(added[db], e)
		}
	}
	var made []ReportArtifact
	for _, db := range unionKeys(added, gone) {
		var chains map[string]string
		err := rc.store.UpdateManifest(ctx, db, func(m *backup.Manifest) error {
			m.Remove(gone[db]...)
			m.Artifacts = append(m.Artifacts, added[db]...)
			m.Normalize()
			chains = map[string]string{}
			for _, e := range m.Artifacts {
				chains[e.Key] = e.Chain
			}
			return nil
		}, rc.now)
		if err != nil {
			return made, err
		}
		for _, e := range added[db] {
			if e.Origin == backup.OriginBackup {
				made = append(made, ReportArtifact{Database: db, Key: e.Key, Type: e.Type, SizeBytes: e.SizeBytes,
					LowestTx: e.LowestTx, HighestTx: e.HighestTx, Chain: chains[e.Key]})
			}
		}
	}
	if len(notListed) > 0 {
		return made, fmt.Errorf("neo4j-admin backup inspect does not list %s: left unrecorded (retention leaves their databases alone)", strings.Join(notListed, ", "))
	}
	return made, nil
}

// prune deletes, per database, the whole chains retention gives up, and drops them from the
// manifest. A database with artifacts no manifest knows is left alone (their chains are
// unknown). It returns the deleted keys and what was refused, key by key.
func (rc recorder) prune(ctx context.Context, days int) ([]string, map[string]string, error) {
	objs, err := rc.store.List(ctx)
	if err != nil {
		return nil, nil, err
	}
	manifests, err := rc.store.Manifests(ctx, objs)
	if err != nil {
		return nil, nil, err
	}
	refused := map[string]string{}
	for _, d := range backup.Catalog(objs, manifests, days) {
		if len(d.Unrecorded) > 0 {
			refused[d.Name] = fmt.Sprintf("%d artifacts not recorded in the manifest (e.g. %s): nothing of %s deleted", len(d.Unrecorded), path.Base(d.Unrecorded[0].Key), d.Name)
		}
	}
	var deleted []string
	for _, db := range slices.Sorted(maps.Keys(manifests)) {
		if _, skip := refused[db]; skip {
			continue
		}
		var keys []string
		for _, c := range backup.PlanRetention(backup.Chains(manifests[db].Artifacts), rc.now(), days) {
			kept, err := rc.locked(ctx, c)
			if err != nil {
				return deleted, refused, err
			}
			if kept != nil {
				maps.Copy(refused, kept)
				continue
			}
			for _, e := range c.Entries {
				keys = append(keys, e.Key)
			}
		}
		if len(keys) == 0 {
			continue
		}
		res, err := rc.store.Delete(ctx, keys)
		if err != nil {
			return deleted, refused, err
		}
		for k, why := range res.Failed {
			refused[k] = why
		}
		if err := rc.store.UpdateManifest(ctx, db, func(m *backup.Manifest) error {
			m.Remove(res.Deleted...)
			return nil
		}, rc.now); err != nil {
			return deleted, refused, err
		}
		deleted = append(deleted, res.Deleted...)
	}
	if len(refused) == 0 {
		refused = nil
	}
	return deleted, refused, nil
}

func unionKeys[A, B any](a map[string]A, b map[string]B) []string {
	set := map[string]bool{}
	for k := range a {
		set[k] = true
	}
	for k := range b {
		set[k] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// locked reports a chain S3 Object Lock still protects, key by key with until when; nil when
// every artifact of it may go. The chain goes whole or not at all: deleting the unlocked part
// would leave the locked rest unrestorable.
func (rc recorder) locked(ctx context.Context, c backup.Chain) (map[string]string, error) {
	if rc.locks == nil {
		return nil, nil
	}
	why := ""
	for _, e := range c.Entries {
		until, hold, err := rc.locks.Locked(ctx, e.Key)
		if err != nil {
			return nil, fmt.Errorf("reading the object lock of %s: %w", e.Key, err)
		}
		switch {
		case hold:
			why = fmt.Sprintf("under an S3 Object Lock legal hold (%s): kept until the hold is removed", path.Base(e.Key))
		case until.After(rc.now()) && why == "":
			why = fmt.Sprintf("locked by S3 Object Lock until %s (%s): kept until then", until.UTC().Format(time.RFC3339), path.Base(e.Key))
		}
	}
	if why == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, e := range c.Entries {
		out[e.Key] = "its chain is " + why
	}
	return out, nil
}
