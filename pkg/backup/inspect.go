package backup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// InspectRow is one artifact as `neo4j-admin backup inspect` describes it.
type InspectRow struct {
	File       string // as printed: file:///..., s3://bucket/...
	Database   string
	DatabaseID string
	Time       time.Time // TIME (UTC)
	Full       bool
	Compressed *bool
	LowestTx   int64 // 0..0 for an empty differential
	HighestTx  int64
	Recovered  *bool // 2025.06 and later
}

// Name is the artifact's file name.
func (r InspectRow) Name() string { return path.Base(r.File) }

// MetadataByDefault tells whether a Neo4j version's `backup inspect` shows the metadata
// without --show-metadata: from 2025.07 it does and the option is deprecated and ignored
// (gone from the documented options); before, it is needed. Unknown versions count as new.
func MetadataByDefault(version string) bool {
	f := strings.SplitN(version, ".", 3)
	if len(f) < 2 {
		return true
	}
	major, err1 := strconv.Atoi(f[0])
	minor, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return major > 2025 || (major == 2025 && minor >= 7)
}

// InspectArgs is the command line that lists every artifact of folder with its metadata,
// empty differentials included (left out without --empty), on the given Neo4j version.
func InspectArgs(admin, version, folder string) []string {
	argv := []string{admin, "backup", "inspect"}
	if !MetadataByDefault(version) {
		argv = append(argv, "--show-metadata")
	}
	return append(argv, "--empty", folder)
}

// ErrNoMetadata is ParseInspect's answer for output without the metadata columns (a 5.x
// inspect run without --show-metadata lists file names only).
var ErrNoMetadata = fmt.Errorf("no FILE and FULL columns in the inspect output")

// ParseInspect reads `neo4j-admin backup inspect` output: the TABULAR format (a table whose
// header names the columns; columns are found by name, so new ones such as 2025.06's
// RECOVERED are tolerated) or the JSON format (an array, or one object a line).
func ParseInspect(out []byte) ([]InspectRow, error) {
	trimmed := bytes.TrimSpace(out)
	if len(trimmed) > 0 && (trimmed[0] == '[' || trimmed[0] == '{') {
		return parseInspectJSON(trimmed)
	}
	var header []string
	var rows []InspectRow
	for n, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if header == nil {
			header = cells
			have := map[string]bool{}
			for _, h := range header {
				have[normalize(h)] = true
			}
			if !have["file"] || !have["full"] {
				return nil, ErrNoMetadata
			}
			continue
		}
		fields := map[string]string{}
		for i, c := range cells {
			if i < len(header) {
				fields[normalize(header[i])] = c
			}
		}
		r, err := rowFromFields(fields)
		if err != nil {
			return nil, fmt.Errorf("inspect output line %d: %w", n+1, err)
		}
		rows = append(rows, r)
	}
	if header == nil {
		return nil, ErrNoMetadata
	}
	return rows, nil
}

// normalize maps a column header or JSON key to one spelling: "TIME (UTC)" -> "time",
// "LOWEST TX" and "lowestTx" -> "lowesttx", "DATABASE ID" -> "databaseid".
func normalize(h string) string {
	h = strings.ToLower(h)
	h, _, _ = strings.Cut(h, "(")
	return strings.NewReplacer(" ", "", "_", "", "-", "").Replace(h)
}

func rowFromFields(f map[string]string) (InspectRow, error) {
	r := InspectRow{File: f["file"], Database: f["database"], DatabaseID: f["databaseid"]}
	if r.File == "" {
		return r, fmt.Errorf("no FILE")
	}
	var err error
	if r.Full, err = strconv.ParseBool(f["full"]); err != nil {
		return r, fmt.Errorf("%s: FULL %q", r.File, f["full"])
	}
	if s := f["time"]; s != "" {
		t, err := time.Parse("2006-01-02T15:04:05", s)
		if err != nil {
			return r, fmt.Errorf("%s: TIME %q", r.File, s)
		}
		r.Time = t.UTC()
	}
	for key, dst := range map[string]*int64{"lowesttx": &r.LowestTx, "highesttx": &r.HighestTx} {
		if s := f[key]; s != "" {
			if *dst, err = strconv.ParseInt(s, 10, 64); err != nil {
				return r, fmt.Errorf("%s: %s %q", r.File, key, s)
			}
		}
	}
	r.Compressed = optBool(f["compressed"])
	r.Recovered = optBool(f["recovered"])
	if r.Database == "" {
		r.Database, _, _ = ParseName(r.File)
	}
	return r, nil
}

func optBool(s string) *bool {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil
	}
	return &b
}

func parseInspectJSON(b []byte) ([]InspectRow, error) {
	// one array, or one object after another; numbers kept exact
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw []map[string]any
	for dec.More() {
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("reading the inspect JSON: %w", err)
		}
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				if m, ok := e.(map[string]any); ok {
					raw = append(raw, m)
				}
			}
		case map[string]any:
			raw = append(raw, x)
		}
	}
	var rows []InspectRow
	for _, m := range raw {
		f := map[string]string{}
		for k, v := range m {
			k = normalize(k)
			switch k {
			case "path", "filename", "backupfile":
				k = "file"
			case "isfull":
				k = "full"
			}
			f[k] = strings.TrimSpace(fmt.Sprint(v))
		}
		r, err := rowFromFields(f)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}
