package cluster

import "github.com/neo4jctl/neo4jctl/pkg/neo4jversion"

// Version is a parsed Neo4j version (neo4jversion holds the rules, including which
// versions neo4jctl runs: neo4jversion.Problem).
type Version = neo4jversion.Version

// ParseVersion reads a Neo4j version as written in cluster.yaml.
func ParseVersion(s string) (Version, error) { return neo4jversion.Parse(s) }
