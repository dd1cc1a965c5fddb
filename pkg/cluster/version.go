package cluster

import (
	"fmt"
	"regexp"
	"strconv"
)

// Version is a parsed Neo4j version: 5.26[.N] or a calendar release YYYY.MM[.N].
type Version struct {
	Major, Minor, Patch int
	HasPatch            bool
}

var versionRe = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?$`)

// ParseVersion reads a Neo4j version as written in cluster.yaml.
func ParseVersion(s string) (Version, error) {
	m := versionRe.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("%q is not a Neo4j version", s)
	}
	v := Version{}
	v.Major, _ = strconv.Atoi(m[1])
	v.Minor, _ = strconv.Atoi(m[2])
	if m[3] != "" {
		v.Patch, _ = strconv.Atoi(m[3])
		v.HasPatch = true
	}
	return v, nil
}

// Calendar is true for 2025.01 and later, which name their settings differently from 5.x.
func (v Version) Calendar() bool { return v.Major >= 2025 }

// Less orders versions; a floating version (no patch) sorts as its .0.
func (v Version) Less(o Version) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor < o.Minor
	}
	return v.Patch < o.Patch
}

func (v Version) String() string {
	if v.Calendar() {
		if v.HasPatch {
			return fmt.Sprintf("%d.%02d.%d", v.Major, v.Minor, v.Patch)
		}
		return fmt.Sprintf("%d.%02d", v.Major, v.Minor)
	}
	if v.HasPatch {
		return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	}
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}

// supportedVersion explains why a version is refused, or returns "" for a supported one.
func supportedVersion(v Version) string {
	switch {
	case v.Major <= 4:
		return "Neo4j 4.x and earlier use the old causal-clustering model; neo4jctl runs 5.26 LTS and calendar releases (upgrade to 5.26 offline first)"
	case v.Major == 5 && v.Minor < 26:
		return "neo4jctl supports the 5.26 LTS of the 5.x line (discovery v2); upgrade to 5.26 first"
	case v.Major == 5 && v.Minor > 26:
		return "there is no Neo4j 5.x after 5.26; calendar releases follow (2025.01 and later)"
	case v.Major > 5 && v.Major < 2025:
		return "not a Neo4j release; use 5.26 or a calendar release such as 2025.10"
	case v.Calendar() && (v.Minor < 1 || v.Minor > 12):
		return "calendar releases are YYYY.MM with a month from 01 to 12"
	case v.Major > 2030:
		return "not a Neo4j release yet"
	}
	return ""
}
