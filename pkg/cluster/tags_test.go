package cluster

import (
	"fmt"
	"strings"
	"testing"
)

// withTags is minimal with metadata.tags written one per line from line 6 on.
func withTags(kv ...string) string {
	var b strings.Builder
	b.WriteString("apiVersion: neo4jctl.io/v1alpha1\nkind: ClusterConfig\nmetadata:\n  name: graph\n  region: eu-west-1\n  tags:\n")
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "    %q: %q\n", kv[i], kv[i+1])
	}
	b.WriteString("neo4j:\n  acceptLicense: \"yes\"\n")
	return b.String()
}

func nTags(n int, extra ...string) []string {
	var kv []string
	for i := 0; i < n; i++ {
		kv = append(kv, fmt.Sprintf("tag-%02d", i), "v")
	}
	return append(kv, extra...)
}

// AWS's tagging rules: 50 tags per resource including neo4jctl's own 7 (naming.OwnTagKeys),
// key 1-128 and value 0-256 Unicode characters, letters/digits/spaces and _ . : / = + - @,
// no aws: prefix.
func TestTagsFollowAWSRules(t *testing.T) {
	valid := map[string][]string{
		"43 tags, the most that fit":           nTags(43),
		"Name is one of neo4jctl's own keys":   nTags(43, "Name", "graph"),
		"128-character key in 256 bytes":       {strings.Repeat("ü", 128), "v"},
		"256-character value in 768 bytes":     {"k", strings.Repeat("日", 256)},
		"letters of any script, allowed signs": {"Kostenstelle für Ökonomie", "Zoë + team_a/b: x=y @ z.-"},
		"empty value":                          {"empty", ""},
	}
	for name, kv := range valid {
		t.Run(name, func(t *testing.T) {
			if _, err := load(t, withTags(kv...)); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
	invalid := []struct {
		name string
		kv   []string
		want string
	}{
		{"44 tags", nTags(44), "metadata.tags (line 6): has 44 tags; AWS allows 50 per resource and neo4jctl puts up to 7 of its own on each; keep at most 43 tags"},
		{"129-character key", []string{strings.Repeat("ü", 129), "v"}, "metadata.tags." + strings.Repeat("ü", 40) + "… (line 7): the key is 129 characters; AWS allows 1 to 128; shorten the key"},
		{"257-character value", []string{"owner", strings.Repeat("日", 257)}, "metadata.tags.owner (line 7): the value is 257 characters; AWS allows at most 256; shorten the value"},
		{"aws: prefix", []string{"aws:owner", "x"}, `metadata.tags.aws:owner (line 7): tag keys starting with aws: are reserved by AWS; rename the tag`},
		{"AWS: in capitals", []string{"AWS:owner", "x"}, "reserved by AWS"},
		{"neo4jctl's prefix", []string{"neo4jctl.io/cluster", "x"}, "are neo4jctl's own"},
		{"character in key", []string{"team#1", "x"}, "metadata.tags.team#1 (line 7): the key has characters AWS does not allow in tags; use letters, digits, spaces and _ . : / = + - @"},
		{"character in value", []string{"owner", "a|b"}, "metadata.tags.owner (line 7): the value has characters AWS does not allow in tags"},
		{"empty key", []string{"", "x"}, "the key is 0 characters; AWS allows 1 to 128"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, withTags(tc.kv...))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want %q, got %v", tc.want, err)
			}
		})
	}
}
