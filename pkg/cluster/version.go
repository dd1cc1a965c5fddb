package cluster

import "github.com/neo4jctl/neo4jctl/pkg/neo4jversion"

// Version is a parsed Neo4j version (neo4jversion holds the rules).
type Version = neo4jversion.Version

// ParseVersion reads a Neo4j version as written in cluster.yaml.
func ParseVersion(s string) (Version, error) { return neo4jversion.Parse(s) }

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
