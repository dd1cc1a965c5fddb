package stack

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/iampolicy"
)

// The IAM policy of the deploying commands (`neo4jctl utils iam-policy`) carries the
// permissions of every resource type the templates use, for every example and table config.
func TestIAMPolicyKnowsEveryResourceType(t *testing.T) {
	known := iampolicy.CloudFormationTypes()
	used := map[string]string{}
	for _, tc := range allCases(t) {
		for _, s := range build(t, tc) {
			var tmpl struct {
				Resources map[string]struct{ Type string }
			}
			if err := json.Unmarshal(s.Template, &tmpl); err != nil {
				t.Fatal(err)
			}
			for _, r := range tmpl.Resources {
				used[r.Type] = tc.name
			}
		}
	}
	for typ, where := range used {
		if !slices.Contains(known, typ) {
			t.Errorf("%s (config %s) is not in pkg/iampolicy's resource types: add it to types.go and run go test ./pkg/iampolicy -update", typ, where)
		}
	}
	for _, typ := range known {
		if _, ok := used[typ]; !ok {
			t.Errorf("pkg/iampolicy grants %s, which no template uses any more: remove it from types.go and run go test ./pkg/iampolicy -update", typ)
		}
	}
}
