package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// Chain is a full backup and the differentials after it, up to the next full. A chain
// that starts with a differential (its full is gone) is Broken.
type Chain struct {
	Database  string
	Artifacts []BackupArtifact
	Broken    bool
}

// Chains groups one database's artifacts, oldest first.
func Chains(arts []BackupArtifact) []Chain {
	sorted := append([]BackupArtifact(nil), arts...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Time.Before(sorted[j].Time) })
	var out []Chain
	for _, a := range sorted {
		if a.Full || len(out) == 0 {
			out = append(out, Chain{Database: a.Database, Broken: !a.Full})
		}
		out[len(out)-1].Artifacts = append(out[len(out)-1].Artifacts, a)
	}
	return out
}

// PlanRetention returns the artifacts to delete so that every point of the last days stays
// restorable, and never part of a chain: per database, the chain holding the newest artifact
// at or before the window's start is kept (it restores the window's oldest point), with
// every chain after it; only whole chains before it are deleted. days <= 0 deletes nothing.
func PlanRetention(arts []BackupArtifact, now time.Time, days int) []BackupArtifact {
	if days <= 0 {
		return nil
	}
	cutoff := now.Add(-time.Duration(days) * 24 * time.Hour)
	byDB := map[string][]BackupArtifact{}
	var dbs []string
	for _, a := range arts {
		if _, ok := byDB[a.Database]; !ok {
			dbs = append(dbs, a.Database)
		}
		byDB[a.Database] = append(byDB[a.Database], a)
	}
	sort.Strings(dbs)
	var del []BackupArtifact
	for _, db := range dbs {
		chains := Chains(byDB[db])
		keep := -1 // first chain to keep
		for i, c := range chains {
			for _, a := range c.Artifacts {
				if !a.Time.After(cutoff) {
					keep = i
				}
			}
		}
		for i := 0; i < keep; i++ {
			del = append(del, chains[i].Artifacts...)
		}
	}
	return del
}

// ParseInspect reads `neo4j-admin backup inspect --show-metadata` output: a table whose
// header names the columns (FILE ... FULL ...), or JSON (an array of objects, or one object
// a line). It returns full-or-differential by artifact file name.
func ParseInspect(out []byte) (map[string]bool, error) {
	res := map[string]bool{}
	trimmed := bytes.TrimSpace(out)
	if len(trimmed) > 0 && (trimmed[0] == '[' || trimmed[0] == '{') {
		var rows []map[string]any
		if trimmed[0] == '[' {
			if err := json.Unmarshal(trimmed, &rows); err != nil {
				return nil, fmt.Errorf("reading the inspect JSON: %w", err)
			}
		} else {
			for _, line := range bytes.Split(trimmed, []byte("\n")) {
				var r map[string]any
				if err := json.Unmarshal(bytes.TrimSpace(line), &r); err != nil {
					return nil, fmt.Errorf("reading the inspect JSON: %w", err)
				}
				rows = append(rows, r)
			}
		}
		for _, r := range rows {
			var file string
			var full, haveFull bool
			for k, v := range r {
				switch strings.ToLower(strings.ReplaceAll(k, "_", "")) {
				case "file", "path", "filename", "backupfile":
					file, _ = v.(string)
				case "full", "isfull":
					switch x := v.(type) {
					case bool:
						full, haveFull = x, true
					case string:
						full, haveFull = strings.EqualFold(x, "true"), true
					}
				}
			}
			if file != "" && haveFull {
				res[path.Base(file)] = full
			}
		}
		return res, nil
	}
	fileCol, fullCol := -1, -1
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if fileCol < 0 || fullCol < 0 {
			for i, c := range cells {
				switch strings.ToUpper(c) {
				case "FILE", "BACKUP FILE", "PATH":
					fileCol = i
				case "FULL":
					fullCol = i
				}
			}
			continue
		}
		if fileCol >= len(cells) || fullCol >= len(cells) {
			continue
		}
		res[path.Base(cells[fileCol])] = strings.EqualFold(cells[fullCol], "true")
	}
	if fileCol < 0 || fullCol < 0 {
		return nil, fmt.Errorf("no FILE and FULL columns in the inspect output")
	}
	return res, nil
}

// PruneOptions configure one retention run.
type PruneOptions struct {
	To      string // s3://bucket/backups/
	Days    int
	Now     time.Time
	Objects ObjectStore
	// Inspect returns `neo4j-admin backup inspect --show-metadata <to>` output.
	Inspect func(ctx context.Context, to string) ([]byte, error)
}

// Prune deletes the chains PlanRetention gives up and returns their keys. Artifacts the
// inspection does not classify stop it before anything is deleted.
func Prune(ctx context.Context, o PruneOptions) ([]string, error) {
	if o.Days <= 0 {
		return nil, nil
	}
	bucket, key, err := ParseS3URI(o.To)
	if err != nil {
		return nil, err
	}
	prefix := key
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	objs, err := o.Objects.List(ctx, bucket, prefix)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", o.To, err)
	}
	var arts []BackupArtifact
	for _, obj := range objs {
		if strings.Contains(strings.TrimPrefix(obj.Key, prefix), "/") {
			continue
		}
		if a, ok := ParseArtifact(obj.Key); ok {
			arts = append(arts, a)
		}
	}
	if len(arts) == 0 {
		return nil, nil
	}
	out, err := o.Inspect(ctx, o.To)
	if err != nil {
		return nil, fmt.Errorf("inspecting %s: %w", o.To, err)
	}
	full, err := ParseInspect(out)
	if err != nil {
		return nil, err
	}
	for i := range arts {
		f, ok := full[path.Base(arts[i].Key)]
		if !ok {
			return nil, fmt.Errorf("neo4j-admin backup inspect does not list %s: nothing deleted", path.Base(arts[i].Key))
		}
		arts[i].Full = f
	}
	del := PlanRetention(arts, o.Now, o.Days)
	keys := make([]string, 0, len(del))
	for _, a := range del {
		keys = append(keys, a.Key)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	if err := o.Objects.Delete(ctx, bucket, keys); err != nil {
		return nil, err
	}
	return keys, nil
}
