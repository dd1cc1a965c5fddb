package cluster

import (
	"encoding/json"

	"github.com/invopop/jsonschema"
)

// SchemaID names the schema so editors can associate it with cluster.yaml files.
const SchemaID = "https://neo4jctl.io/schemas/v1alpha1/cluster.json"

// Schema is the JSON schema of cluster.yaml, generated from the Go types so that it cannot
// drift from what the decoder accepts.
func Schema() ([]byte, error) {
	r := &jsonschema.Reflector{
		RequiredFromJSONSchemaTags: true,
		ExpandedStruct:             true,
	}
	s := r.Reflect(&ClusterConfig{})
	s.ID = SchemaID
	s.Title = "neo4jctl ClusterConfig " + APIVersion
	return json.MarshalIndent(s, "", "  ")
}
