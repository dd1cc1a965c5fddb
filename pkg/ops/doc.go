// Package ops holds neo4jctl's actions: one small type per verb (create.go, get.go,
// update.go, delete.go, ...) over a shared cluster handle (Cluster), each in the shape
// Validate → Plan/Ask → Execute → Recommend with phases as named functions.
//
// Actions declare the narrow AWS interfaces they use next to their code, return data and
// typed errors, and report progress as typed Events; they never print. The stack engine
// (pkg/engine) runs CloudFormation, pkg/stack renders the templates, and the admin channel
// (AdminChannel) carries typed pkg/neo4jadmin requests to Neo4j. ARCHITECTURE.md has the map.
package ops
