package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/neo4jctl/neo4jctl/pkg/backup"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// BackupArtifact is one neo4j-admin backup file: <database>-<yyyy-MM-ddTHH-mm-ss>.backup.
type BackupArtifact struct {
	Key      string // object key (or file name)
	Database string
	Time     time.Time
}

// ParseArtifact reads the database and time from a backup artifact's key.
func ParseArtifact(key string) (BackupArtifact, bool) {
	db, t, ok := backup.ParseName(key)
	if !ok {
		return BackupArtifact{}, false
	}
	return BackupArtifact{Key: key, Database: db, Time: t}, true
}

// ParseS3URI splits s3://bucket/prefix.
func ParseS3URI(uri string) (bucket, key string, err error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return "", "", fmt.Errorf("%q is not an s3://bucket/path URI", uri)
	}
	return u.Host, strings.TrimPrefix(u.Path, "/"), nil
}

// LatestArtifacts lists the backup artifacts at uri (a folder, or one .backup file) and
// returns, per database, the newest one: a seed from a differential artifact takes its
// full and the differentials before it from the same folder (CloudSeedProvider).
func LatestArtifacts(ctx context.Context, store ObjectStore, uri string) (map[string]BackupArtifact, error) {
	bucket, key, err := ParseS3URI(uri)
	if err != nil {
		return nil, err
	}
	if a, ok := ParseArtifact(key); ok {
		return map[string]BackupArtifact{a.Database: a}, nil
	}
	prefix := key
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	objs, err := store.List(ctx, bucket, prefix)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", uri, err)
	}
	out := map[string]BackupArtifact{}
	names := map[string]bool{}
	for _, o := range objs {
		if strings.Contains(strings.TrimPrefix(o.Key, prefix), "/") {
			continue // only this folder's artifacts
		}
		a, ok := ParseArtifact(o.Key)
		if !ok {
			continue
		}
		names[path.Base(o.Key)] = true
		if cur, seen := out[a.Database]; !seen || a.Time.After(cur.Time) {
			out[a.Database] = a
		}
	}
	// A folder neo4jctl backed up to has manifests beside it: they know the chains, so a
	// database seeds from its newest restorable point, never from a broken chain's artifact.
	for _, o := range objs {
		db := backup.ManifestDatabase(backup.Prefix + strings.TrimPrefix(o.Key, prefix))
		if db == "" {
			continue
		}
		b, err := store.Get(ctx, bucket, o.Key)
		if err != nil {
			continue // the names alone decide, as for a folder without manifests
		}
		m, err := backup.DecodeManifest(b)
		if err != nil {
			continue
		}
		if e := backup.NewestRestorable(m, names); e != nil {
			a, _ := ParseArtifact(prefix + path.Base(e.Key))
			out[db] = a
		}
	}
	return out, nil
}

// restoreMarker is the RestoreDoneKey object: what was seeded, kept up to date database by
// database so a worker restarted half-way never seeds a database twice.
type restoreMarker struct {
	From      string            `json:"from"`
	Databases map[string]string `json:"databases"` // database -> seedURI it was created from
	Started   string            `json:"started,omitempty"`
	Finished  string            `json:"finished,omitempty"`
	Complete  bool              `json:"complete"`
}

// SeedRestore seeds the cluster once from restore.from, on the first core after the
// cluster formed: for each user database in the backup folder (never system: the new
// cluster keeps its own topology, users and roles), CREATE DATABASE from the newest
// artifact; a database that exists already (the default neo4j the cluster created empty)
// is replaced. It returns done once every database was created (or the marker says the
// cluster was seeded before).
func (w *Worker) SeedRestore(ctx context.Context, admin Admin) (bool, error) {
	c := w.Config
	if c.RestoreFrom == "" {
		return true, nil
	}
	if w.Objects == nil {
		return false, errors.New("no S3 client")
	}
	m := restoreMarker{From: c.RestoreFrom, Databases: map[string]string{}}
	if c.Bucket != "" {
		b, err := w.Objects.Get(ctx, c.Bucket, naming.RestoreDoneKey)
		switch {
		case err == nil:
			if err := json.Unmarshal(b, &m); err != nil {
				return false, fmt.Errorf("reading s3://%s/%s: %w", c.Bucket, naming.RestoreDoneKey, err)
			}
			if m.Databases == nil {
				m.Databases = map[string]string{}
			}
			if m.Complete {
				if m.From != c.RestoreFrom {
					w.logf("the cluster was seeded from %s at %s; ignoring restore.from %s (a cluster is seeded once)", m.From, m.Finished, c.RestoreFrom)
				} else {
					w.logf("the cluster was seeded from %s at %s", m.From, m.Finished)
				}
				return true, nil
			}
		case errors.Is(err, ErrNoObject):
		default:
			return false, fmt.Errorf("reading s3://%s/%s: %w", c.Bucket, naming.RestoreDoneKey, err)
		}
	}
	if err := clusterFormed(ctx, admin, c.CoreCount); err != nil {
		w.logf("waiting for the cluster to form before seeding: %v", err)
		return false, nil
	}
	latest, err := LatestArtifacts(ctx, w.Objects, c.RestoreFrom)
	if err != nil {
		return false, err
	}
	delete(latest, "system")
	var dbs []string
	if len(c.RestoreDatabases) > 0 {
		for _, db := range c.RestoreDatabases {
			if db == "system" {
				continue
			}
			if _, ok := latest[db]; !ok {
				return false, fmt.Errorf("no backup of database %s in %s", db, c.RestoreFrom)
			}
			dbs = append(dbs, db)
		}
	} else {
		for db := range latest {
			dbs = append(dbs, db)
		}
	}
	sort.Strings(dbs)
	if len(dbs) == 0 {
		return false, fmt.Errorf("no backup artifacts (<database>-<time>.backup) in %s", c.RestoreFrom)
	}
	existing, err := admin.Databases(ctx)
	if err != nil {
		return false, err
	}
	exists := func(db string) bool { return hasDatabase(existing, db) }
	if m.Started == "" {
		m.Started = w.now().UTC().Format(time.RFC3339)
	}
	bucket, _, _ := ParseS3URI(c.RestoreFrom)
	var created []string
	for _, db := range dbs {
		if _, done := m.Databases[db]; done {
			continue
		}
		seed := "s3://" + bucket + "/" + latest[db].Key
		replace := exists(db)
		if replace && c.Bucket == "" {
			// Without the marker a restart could not tell our seed from the users' data.
			w.logf("database %s exists; not replacing it without %s (no marker bucket)", db, naming.EnvBucket)
			m.Databases[db] = ""
			continue
		}
		msg, err := admin.SeedDatabase(ctx, db, seed, replace, 0)
		if err != nil {
			return false, err
		}
		w.logf("%s", msg)
		created = append(created, db)
		m.Databases[db] = seed
		if err := w.putMarker(ctx, m); err != nil {
			return false, err
		}
	}
	m.Complete = true
	m.Finished = w.now().UTC().Format(time.RFC3339)
	if err := w.putMarker(ctx, m); err != nil {
		return false, err
	}
	w.watchSeeded(ctx, admin, created)
	return true, nil
}

func (w *Worker) putMarker(ctx context.Context, m restoreMarker) error {
	if w.Config.Bucket == "" {
		return nil
	}
	b, _ := json.Marshal(m)
	if err := w.Objects.Put(ctx, w.Config.Bucket, naming.RestoreDoneKey, b); err != nil {
		return fmt.Errorf("writing s3://%s/%s: %w", w.Config.Bucket, naming.RestoreDoneKey, err)
	}
	return nil
}

// watchSeeded logs how the seeded databases come online (bounded by SeedWait).
func (w *Worker) watchSeeded(ctx context.Context, admin Admin, dbs []string) {
	if len(dbs) == 0 || w.Config.SeedWait <= 0 {
		return
	}
	deadline := w.now().Add(w.Config.SeedWait)
	pending := slices.Clone(dbs)
	for len(pending) > 0 && w.now().Before(deadline) {
		if !sleep(ctx, 10*time.Second) {
			return
		}
		all, err := admin.Databases(ctx)
		if err != nil {
			continue
		}
		pending = slices.DeleteFunc(pending, func(db string) bool {
			online, failed := true, ""
			for _, d := range all {
				if d.Name != db {
					continue
				}
				if !strings.EqualFold(d.CurrentStatus, "online") {
					online = false
				}
				if d.StatusMessage != "" && !strings.EqualFold(d.CurrentStatus, "online") {
					failed = d.StatusMessage
				}
			}
			switch {
			case online && hasDatabase(all, db):
				w.logf("database %s is online", db)
				return true
			case failed != "":
				w.logf("database %s did not start from its seed: %s (see debug.log)", db, failed)
				return true
			}
			return false
		})
	}
	for _, db := range pending {
		w.logf("database %s is not online after %s; check `neo4jctl get cluster`", db, w.Config.SeedWait)
	}
}
