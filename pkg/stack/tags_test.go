package stack

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

// TestOwnTagKeysAreComplete keeps naming.OwnTagKeys true, which pkg/cluster subtracts from
// AWS's 50 tags per resource to bound metadata.tags: every tag key the templates put on a
// resource (its own tags plus the stack tags CloudFormation propagates to it) is in the
// list, and some resource carries all of them, so the list is not stale either way.
func TestOwnTagKeysAreComplete(t *testing.T) {
	own := naming.OwnTagKeys()
	most, where := 0, ""
	for _, tc := range append(examples(t), tableCases(t)...) {
		stacks, err := Build(tc.cfg, testInputs)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, s := range stacks {
			var tpl struct{ Resources map[string]map[string]any }
			if err := json.Unmarshal(s.Template, &tpl); err != nil {
				t.Fatal(err)
			}
			for id, res := range tpl.Resources {
				keys := map[string]bool{}
				for k := range s.Tags {
					if _, user := tc.cfg.Metadata.Tags[k]; !user {
						keys[k] = true
					}
				}
				collectTagKeys(res["Properties"], keys)
				for k := range keys {
					if !slices.Contains(own, k) {
						t.Errorf("%s %s %s: tag key %q is missing from naming.OwnTagKeys (users would be allowed too many tags)", tc.name, s.Name, id, k)
					}
				}
				if len(keys) > most {
					most, where = len(keys), tc.name+" "+s.Name+" "+id
				}
			}
		}
	}
	if most != len(own) {
		t.Errorf("the most own tags on one resource is %d (%s) but naming.OwnTagKeys lists %d: %v", most, where, len(own), own)
	}
}

// collectTagKeys adds the keys of every Tags property under v: a list of {Key, Value} or a
// map, as AWS resource types variously take them.
func collectTagKeys(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if k != "Tags" {
				collectTagKeys(child, into)
				continue
			}
			switch tags := child.(type) {
			case []any:
				for _, tag := range tags {
					if m, ok := tag.(map[string]any); ok {
						if key, ok := m["Key"].(string); ok {
							into[key] = true
						}
					}
				}
			case map[string]any:
				for key := range tags {
					into[key] = true
				}
			}
		}
	case []any:
		for _, child := range x {
			collectTagKeys(child, into)
		}
	}
}
