// Package neo4jversion reads Neo4j release numbers: the 5.26[.N] LTS and the calendar
// releases YYYY.MM[.N] (2025.01 on), which name their clustering settings differently. The
// config, the templates, the agent and the admin client all decide "calendar or not" here.
package neo4jversion

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// firstCalendarYear is the major number of the first calendar release (2025.01).
const firstCalendarYear = 2025

// Version is a parsed Neo4j version: 5.26[.N] or a calendar release YYYY.MM[.N].
type Version struct {
	Major, Minor, Patch int
	HasPatch            bool
}

var versionRe = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?$`)

// Parse reads a Neo4j version as written in cluster.yaml.
func Parse(s string) (Version, error) {
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

// IsCalendar reports whether a version as Neo4j or cluster.yaml writes it is a calendar
// release (2025.01 and later); see AtLeast for what is read.
func IsCalendar(s string) bool { return AtLeast(s, firstCalendarYear, 1) }

// AtLeast compares the first two numbers of a version as Neo4j or cluster.yaml writes it
// ("5.26.30", "2025.04.0", "2025.10.1-enterprise", "5.26.x") with major.minor; an unreadable
// version is not at least anything.
func AtLeast(s string, major, minor int) bool {
	num := func(s string) (int, bool) {
		n, ok := 0, s != ""
		for _, ch := range s {
			if ch < '0' || ch > '9' {
				return n, ok && n > 0
			}
			n = n*10 + int(ch-'0')
		}
		return n, ok
	}
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, ok1 := num(parts[0])
	mi, ok2 := num(parts[1])
	if !ok1 || !ok2 {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

// Calendar is true for 2025.01 and later, which name their settings differently from 5.x.
func (v Version) Calendar() bool { return v.Major >= firstCalendarYear }

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

// Floating reads "5.26.x" as "the 5.26 line", the image's floating minor tag (5.26); any
// other version is returned as it is.
func Floating(s string) string { return strings.TrimSuffix(s, ".x") }

// Problem says why neo4jctl cannot run the version s (as cluster.yaml or --neo4j-version
// writes it) and what to use instead; "" for a version it runs. The one home of that rule:
// the config's neo4j.version and `image push --neo4j-version` both ask it, so they refuse
// the same versions with the same words.
func Problem(s string) (message, fix string) {
	if s == "" {
		return "is required", "use 5.26 or a calendar release such as 2025.10"
	}
	v, err := Parse(s)
	if err != nil {
		return err.Error(), "use 5.26[.N] or a calendar release YYYY.MM[.N]"
	}
	if why := unsupported(v); why != "" {
		return fmt.Sprintf("%s is not supported: %s", s, why), ""
	}
	return "", ""
}

// unsupported explains why a version is refused, or returns "" for a supported one.
func unsupported(v Version) string {
	switch {
	case v.Major <= 4:
		return "Neo4j 4.x and earlier use the old causal-clustering model; neo4jctl runs 5.26 LTS and calendar releases (upgrade to 5.26 offline first)"
	case v.Major == 5 && v.Minor < 26:
		return "neo4jctl supports the 5.26 LTS of the 5.x line (discovery v2); upgrade to 5.26 first"
	case v.Major == 5 && v.Minor > 26:
		return "there is no Neo4j 5.x after 5.26; calendar releases follow (2025.01 and later)"
	case v.Major > 5 && v.Major < firstCalendarYear:
		return "not a Neo4j release; use 5.26 or a calendar release such as 2025.10"
	case v.Calendar() && (v.Minor < 1 || v.Minor > 12):
		return "calendar releases are YYYY.MM with a month from 01 to 12"
	case v.Major > 2030:
		return "not a Neo4j release yet"
	}
	return ""
}
