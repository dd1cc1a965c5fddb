package backup

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// ManifestKind identifies a manifest document.
const (
	ManifestAPIVersion = "neo4jctl.io/v1alpha1"
	ManifestKind       = "BackupManifest"
)

// Artifact types.
const (
	TypeFull = "full"
	TypeDiff = "diff"
)

// Where an entry's facts come from.
const (
	// OriginBackup: written by the backup run that made the artifact.
	OriginBackup = "backup"
	// OriginInspect: found later in the folder (made before manifests existed, or by hand)
	// and recorded from neo4j-admin backup inspect; no run facts.
	OriginInspect = "inspect"
	// OriginKey: in no manifest; only what the object key and listing say (name, time,
	// size). Listing marks such artifacts; the next backup run records them.
	OriginKey = "key"
)

// Verification verdicts.
const (
	VerdictConsistent   = "consistent"
	VerdictInconsistent = "inconsistent" // the checker found errors; its report is kept
	VerdictError        = "error"        // the check could not run to the end
)

// Manifest is everything neo4jctl knows about one database's backups, at
// ManifestKey(database). Written by the backup runner (new artifacts, retention) and the
// verify runner (verdicts), each with a conditional write on the version it read.
type Manifest struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Database   string    `json:"database"`
	Updated    time.Time `json:"updated"`
	Artifacts  []Entry   `json:"artifacts"` // oldest first
}

// Entry is one artifact of the database.
type Entry struct {
	Key          string    `json:"key"`  // object key in the cluster bucket
	Time         time.Time `json:"time"` // when the backup was taken (inspect TIME, UTC)
	Type         string    `json:"type"` // full | diff
	SizeBytes    int64     `json:"sizeBytes"`
	DatabaseID   string    `json:"databaseId,omitempty"`
	LowestTx     int64     `json:"lowestTx"`
	HighestTx    int64     `json:"highestTx"` // 0..0: an empty differential (no new transactions)
	Compressed   *bool     `json:"compressed,omitempty"`
	Recovered    *bool     `json:"recovered,omitempty"` // inspect's RECOVERED, 2025.06 and later
	Chain        string    `json:"chain"`               // ArtifactName of the chain's full backup
	Neo4jVersion string    `json:"neo4jVersion,omitempty"`
	Origin       string    `json:"origin"` // backup | inspect
	// Run is the backup run that made the artifact (OriginBackup only).
	Run *Run `json:"run,omitempty"`
	// Verified is the last consistency check of the chain up to this artifact.
	Verified *Verification `json:"verified,omitempty"`
}

// Run is one neo4j-admin database backup invocation; it may back up several databases,
// one after another, so its duration is the run's, not a database's.
type Run struct {
	ID              string    `json:"id"` // ECS task id, else the start time
	Type            string    `json:"type"`
	Started         time.Time `json:"started"`
	Finished        time.Time `json:"finished"`
	DurationSeconds float64   `json:"durationSeconds"`
	Databases       int       `json:"databases"` // artifacts the run made
}

// Verification is a consistency check (neo4j-admin database check) of an artifact; for a
// differential, of the chain aggregated up to it.
type Verification struct {
	Verdict         string    `json:"verdict"` // consistent | inconsistent | error
	At              time.Time `json:"at"`
	Neo4jVersion    string    `json:"neo4jVersion,omitempty"`
	DurationSeconds float64   `json:"durationSeconds"`
	Report          string    `json:"report,omitempty"` // ReportKey of an inconsistent check
	Message         string    `json:"message,omitempty"`
}

// Empty tells an empty differential (no new transactions since the previous backup).
func (e Entry) Empty() bool { return e.Type == TypeDiff && e.LowestTx == 0 && e.HighestTx == 0 }

// NewManifest is an empty manifest of a database.
func NewManifest(database string) *Manifest {
	return &Manifest{APIVersion: ManifestAPIVersion, Kind: ManifestKind, Database: database}
}

// DecodeManifest reads a manifest and checks it is one.
func DecodeManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("reading a backup manifest: %w", err)
	}
	if m.Kind != ManifestKind || m.APIVersion != ManifestAPIVersion {
		return nil, fmt.Errorf("not a backup manifest (apiVersion %q, kind %q)", m.APIVersion, m.Kind)
	}
	return &m, nil
}

// Encode renders the manifest, entries sorted oldest first and chains recomputed.
func (m *Manifest) Encode() ([]byte, error) {
	m.Normalize()
	return json.MarshalIndent(m, "", "  ")
}

// Normalize sorts the entries oldest first, drops duplicate keys (the later one wins) and
// recomputes each entry's chain.
func (m *Manifest) Normalize() {
	seen := map[string]int{}
	var out []Entry
	for _, e := range m.Artifacts {
		if i, ok := seen[e.Key]; ok {
			out[i] = e
			continue
		}
		seen[e.Key] = len(out)
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].Key < out[j].Key
	})
	chainOf := map[string]string{}
	for _, c := range Chains(out) {
		for _, e := range c.Entries {
			chainOf[e.Key] = c.ID
		}
	}
	for i := range out {
		out[i].Chain = chainOf[out[i].Key]
	}
	m.Artifacts = out
}

// Find returns the entry of key, or nil.
func (m *Manifest) Find(key string) *Entry {
	for i := range m.Artifacts {
		if m.Artifacts[i].Key == key {
			return &m.Artifacts[i]
		}
	}
	return nil
}

// Remove drops the entries of keys and returns how many it dropped.
func (m *Manifest) Remove(keys ...string) int {
	drop := map[string]bool{}
	for _, k := range keys {
		drop[k] = true
	}
	var out []Entry
	for _, e := range m.Artifacts {
		if !drop[e.Key] {
			out = append(out, e)
		}
	}
	n := len(m.Artifacts) - len(out)
	m.Artifacts = out
	return n
}

// EntryFromInspect records an artifact from its inspect row and its object size.
func EntryFromInspect(key string, size int64, r InspectRow, origin string) Entry {
	e := Entry{Key: key, Time: r.Time, Type: TypeDiff, SizeBytes: size, DatabaseID: r.DatabaseID,
		LowestTx: r.LowestTx, HighestTx: r.HighestTx, Compressed: r.Compressed, Recovered: r.Recovered, Origin: origin}
	if r.Full {
		e.Type = TypeFull
	}
	if e.Time.IsZero() {
		_, e.Time, _ = ParseName(key)
	}
	return e
}
