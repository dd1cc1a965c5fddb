package iampolicy

import (
	"slices"
	"strings"
)

// scope is a set of resources a statement may be narrowed to: those of one kind that
// neo4jctl names, in one service.
type scope struct {
	name    string   // the statement's Sid
	service string   // IAM service prefix
	types   []string // the Service Authorization Reference's resource types it is made of
	// arns are its resource patterns; cluster narrows them to one cluster's names.
	arns func(cluster string) []string
	// example is an ARN of the kind, to check the patterns against the reference's formats.
	example string
}

// names is the start of the names neo4jctl gives: neo4jctl-, or neo4jctl-<cluster>-.
func names(cluster string) string {
	if cluster == "" {
		return "neo4jctl-"
	}
	return "neo4jctl-" + cluster + "-"
}

func one(f func(string) string) func(string) []string {
	return func(c string) []string { return []string{f(c)} }
}

// scopes, in the order of the statements; the last one is everything else.
var scopes = []scope{
	{"CloudFormationStacks", "cloudformation", []string{"stack"},
		one(func(c string) string { return "arn:aws:cloudformation:*:*:stack/" + names(c) + "*/*" }),
		"arn:aws:cloudformation:eu-west-1:123456789012:stack/neo4jctl-graph-dev-shared/0b4e9a10-5c1e-11ef-8f6e-0a1b2c3d4e5f"},
	{"ClusterBuckets", "s3", []string{"bucket"},
		one(func(c string) string { return "arn:aws:s3:::" + names(c) + "*" }),
		"arn:aws:s3:::neo4jctl-graph-dev-shared-bucket-2cv17j0v5jei"},
	{"ClusterObjects", "s3", []string{"object"},
		one(func(c string) string { return "arn:aws:s3:::" + names(c) + "*/*" }),
		"arn:aws:s3:::neo4jctl-graph-dev-shared-bucket-2cv17j0v5jei/backups/neo4j-2026-11-26T02-00-31.backup"},
	{"ClusterRoles", "iam", []string{"role"},
		one(func(c string) string { return "arn:aws:iam::*:role/" + names(c) + "*" }),
		"arn:aws:iam::123456789012:role/neo4jctl-graph-dev-shared-InstanceRole-1A2B3C4D5E6F"},
	{"ClusterInstanceProfiles", "iam", []string{"instance-profile"},
		one(func(c string) string { return "arn:aws:iam::*:instance-profile/" + names(c) + "*" }),
		"arn:aws:iam::123456789012:instance-profile/neo4jctl-graph-dev-shared-InstanceProfile-1A2B3C4D5E6F"},
	// the service-linked roles ECS and Auto Scaling need, made once per account
	{"ServiceLinkedRoles", "iam", nil,
		one(func(string) string { return "arn:aws:iam::*:role/aws-service-role/*" }),
		"arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"},
	{"ClusterFunctions", "lambda", []string{"function"},
		one(func(c string) string { return "arn:aws:lambda:*:*:function:" + names(c) + "*" }),
		"arn:aws:lambda:eu-west-1:123456789012:function:neo4jctl-graph-dev-operations"},
	{"ClusterLogGroups", "logs", []string{"log-group", "log-stream"},
		func(c string) []string {
			if c == "" {
				return []string{"arn:aws:logs:*:*:log-group:/neo4jctl/*"}
			}
			return []string{"arn:aws:logs:*:*:log-group:/neo4jctl/" + c + ":*", "arn:aws:logs:*:*:log-group:/neo4jctl/" + c + "/*"}
		},
		"arn:aws:logs:eu-west-1:123456789012:log-group:/neo4jctl/graph-dev/lambda"},
	{"ClusterSecrets", "secretsmanager", []string{"Secret"},
		one(func(c string) string {
			if c == "" {
				return "arn:aws:secretsmanager:*:*:secret:neo4jctl/*"
			}
			return "arn:aws:secretsmanager:*:*:secret:neo4jctl/" + c + "/*"
		}),
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:neo4jctl/graph-dev/admin-AbCdEf"},
	{"Unscoped", "", nil, one(func(string) string { return "*" }), ""},
}

// anyResource are actions that take a resource neo4jctl names, but are called without one
// (DescribeStacks lists every stack, to find a cluster's by tag).
var anyResource = map[string]bool{"cloudformation:DescribeStacks": true}

// scopeOf is the narrowest scope of an action: the one of its service whose resource types
// the action takes, else "*".
func scopeOf(action string) scope {
	last := scopes[len(scopes)-1]
	service, name, _ := strings.Cut(action, ":")
	switch {
	case anyResource[action], strings.Contains(name, "*"):
		return last
	case action == "iam:CreateServiceLinkedRole":
		return scopes[slices.IndexFunc(scopes, func(s scope) bool { return s.name == "ServiceLinkedRoles" })]
	}
	for _, s := range scopes {
		if s.service == service && slices.ContainsFunc(generated.Resources[action], func(t string) bool { return slices.Contains(s.types, t) }) {
			return s
		}
	}
	return last
}
