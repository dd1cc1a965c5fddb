package backup

import (
	"path"
	"sort"
	"strings"
	"time"
)

// Object is one object of a bucket listing.
type Object struct {
	Key          string
	Size         int64
	LastModified time.Time
}

// Database is what `backup list` shows of one database.
type Database struct {
	Name string `json:"database"`
	// Newest is the newest restorable point (the newest artifact of a whole chain).
	Newest *Entry `json:"newest,omitempty"`
	// Chains, newest first, each with when retention gives it up.
	Chains []ChainInfo `json:"chains"`
	// Unrecorded artifacts are in the folder but in no manifest (made before manifests
	// existed, or by hand): listed from their keys, type unknown; the next backup run
	// records them from neo4j-admin backup inspect.
	Unrecorded []Entry `json:"unrecorded,omitempty"`
	// Missing entries are in the manifest, their objects gone (deleted outside neo4jctl).
	Missing []Entry `json:"missing,omitempty"`
}

// ChainInfo is a chain as listed.
type ChainInfo struct {
	ID        string     `json:"id"`
	Start     time.Time  `json:"start"`
	End       time.Time  `json:"end"` // newest artifact
	HighestTx int64      `json:"highestTx"`
	SizeBytes int64      `json:"sizeBytes"`
	Artifacts []Entry    `json:"artifacts"`
	Broken    string     `json:"broken,omitempty"`
	Verified  *Entry     `json:"verified,omitempty"`  // newest artifact with a verdict, if any
	ExpiresAt *time.Time `json:"expiresAt,omitempty"` // retention gives it up then
}

// Catalog merges a listing of the backup folder with the manifests: per database, its chains
// newest first with what retention will expire when (retentionDays 0: never), the newest
// restorable point, unrecorded artifacts and missing ones. Databases are sorted by name.
func Catalog(objects []Object, manifests map[string]*Manifest, retentionDays int) []Database {
	present := map[string]Object{}
	for _, o := range objects {
		if IsArtifactKey(Prefix, o.Key) {
			present[o.Key] = o
		}
	}
	dbs := map[string]*Database{}
	get := func(name string) *Database {
		if dbs[name] == nil {
			dbs[name] = &Database{Name: name}
		}
		return dbs[name]
	}
	recorded := map[string]bool{}
	for name, m := range manifests {
		d := get(name)
		var live []Entry
		for _, e := range m.Artifacts {
			recorded[e.Key] = true
			if _, ok := present[e.Key]; ok {
				live = append(live, e)
			} else {
				d.Missing = append(d.Missing, e)
			}
		}
		chains := Chains(live)
		for i := len(chains) - 1; i >= 0; i-- {
			d.Chains = append(d.Chains, chainInfo(chains, i, retentionDays))
		}
		for _, c := range d.Chains {
			if c.Broken == "" {
				newest := c.Artifacts[len(c.Artifacts)-1]
				d.Newest = &newest
				break
			}
		}
	}
	for key, o := range present {
		if recorded[key] {
			continue
		}
		name, t, _ := ParseName(key)
		get(name).Unrecorded = append(get(name).Unrecorded, Entry{Key: key, Time: t, SizeBytes: o.Size, Origin: OriginKey})
	}
	var out []Database
	for _, d := range dbs {
		sort.Slice(d.Unrecorded, func(i, j int) bool { return d.Unrecorded[i].Time.After(d.Unrecorded[j].Time) })
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func chainInfo(chains []Chain, i, days int) ChainInfo {
	c := chains[i]
	ci := ChainInfo{ID: c.ID, Start: c.Start(), End: c.Newest().Time, HighestTx: c.HighestTx(), SizeBytes: c.SizeBytes(),
		Artifacts: c.Entries, Broken: c.Broken}
	for j := len(c.Entries) - 1; j >= 0; j-- {
		if c.Entries[j].Verified != nil {
			e := c.Entries[j]
			ci.Verified = &e
			break
		}
	}
	if t, ok := ExpiresAt(chains, i, days); ok {
		ci.ExpiresAt = &t
	}
	return ci
}

// ManifestDatabase is the database a manifest key names ("" when key is not a manifest).
func ManifestDatabase(key string) string {
	rest, ok := strings.CutPrefix(key, ManifestPrefix)
	if !ok || strings.Contains(rest, "/") || !strings.HasSuffix(rest, ".json") {
		return ""
	}
	return strings.TrimSuffix(rest, ".json")
}

// NewestRestorable is the newest artifact of a whole chain of m among the artifacts whose
// file names are in names (a folder's listing; compared by name, so a copied folder works
// too), or nil.
func NewestRestorable(m *Manifest, names map[string]bool) *Entry {
	var live []Entry
	for _, e := range m.Artifacts {
		if names[path.Base(e.Key)] {
			live = append(live, e)
		}
	}
	chains := Chains(live)
	for i := len(chains) - 1; i >= 0; i-- {
		if chains[i].Broken == "" {
			e := chains[i].Newest()
			return &e
		}
	}
	return nil
}
