package backup

import (
	"path"
	"regexp"
	"strings"
	"time"
)

// NameTimeLayout is the time in an artifact's name, in UTC (the same instant as inspect's
// TIME (UTC) column).
const NameTimeLayout = "2006-01-02T15-04-05"

var artifactRe = regexp.MustCompile(`^(.+)-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2})\.backup$`)

// ParseName reads the database and time from an artifact's key or file name:
// <database>-<yyyy-MM-ddTHH-mm-ss>.backup.
func ParseName(key string) (database string, t time.Time, ok bool) {
	m := artifactRe.FindStringSubmatch(path.Base(key))
	if m == nil {
		return "", time.Time{}, false
	}
	t, err := time.Parse(NameTimeLayout, m[2])
	if err != nil {
		return "", time.Time{}, false
	}
	return m[1], t.UTC(), true
}

// IsArtifactKey tells whether key is an artifact directly in the folder prefix (not in a
// sub-folder such as MetaPrefix).
func IsArtifactKey(prefix, key string) bool {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok || strings.Contains(rest, "/") {
		return false
	}
	_, _, ok = ParseName(rest)
	return ok
}

// ArtifactName is an artifact's file name without the folder and the .backup suffix; it
// names a chain after its full backup.
func ArtifactName(key string) string { return strings.TrimSuffix(path.Base(key), ".backup") }
