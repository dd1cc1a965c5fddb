// Package iampolicy is the IAM permissions each neo4jctl command needs, as one
// least-privilege policy document (`neo4jctl utils iam-policy`): the AWS calls the command
// makes itself (commands.go, kept true by the end-to-end tests, which record every call), and
// for the commands that make, change or delete stacks, what CloudFormation does with the
// caller's credentials: the permissions AWS's resource schemas document for the handlers of
// every resource type the templates use (data.json, generated from cfn-lint's copy of those
// schemas and checked against AWS's Service Authorization Reference).
//
// Actions on resources neo4jctl names (stacks, buckets and their objects, IAM roles and
// instance profiles, Lambda functions, log groups, secrets) are narrowed to those names;
// the rest are on "*", as their APIs take no resource or name resources neo4jctl does not.
package iampolicy

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

//go:embed data.json
var dataJSON []byte

// data is what the generator read from AWS's published schemas.
type data struct {
	Source string `json:"source"`
	// CloudFormation: per resource type, per handler (create, read, update, delete), the
	// permissions its schema documents.
	CloudFormation map[string]map[string][]string `json:"cloudformation"`
	// Resources: per action, the resource types it takes (the Service Authorization
	// Reference); none: only "*".
	Resources map[string][]string `json:"resources"`
	// Unverified: handler permissions of services the reference knows that it does not list
	// (actions newer than the reference): kept, as the schemas name them.
	Unverified []string `json:"unverified,omitempty"`
	// Dropped: handler permissions left out, with why (services the reference does not know,
	// for features neo4jctl's templates do not use; names that are not actions).
	Dropped map[string]string `json:"dropped,omitempty"`
}

var generated = func() data {
	var d data
	if err := json.Unmarshal(dataJSON, &d); err != nil {
		panic("iampolicy: data.json: " + err.Error())
	}
	return d
}()

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one Allow statement.
type Statement struct {
	Sid      string   `json:"Sid"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource []string `json:"Resource"`
}

// Commands are the commands that have a policy, e.g. "create cluster".
func Commands() []string { return slices.Sorted(maps.Keys(commands)) }

// UnknownCommandError names a command without a policy.
type UnknownCommandError struct{ Command string }

func (e *UnknownCommandError) Error() string {
	return fmt.Sprintf("no command %q; the commands are: %s", e.Command, strings.Join(Commands(), ", "))
}

// MaxDocumentSize is the most characters (whitespace aside) IAM takes in a managed policy.
const MaxDocumentSize = 6144

// Named is a policy document and the name to create it under.
type Named struct {
	Name     string    `json:"name"`
	Document *Document `json:"document"`
}

// Policies are the least-privilege policies for the commands (all of them when none is
// named), as eksctl documents its own: neo4jctl-commands holds what the commands call
// themselves; neo4jctl-deploy-N what CloudFormation does as the caller for the commands that
// make, change or delete stacks, by service, each document within MaxDocumentSize. With
// cluster, names are narrowed to that cluster's (neo4jctl-<cluster>-*, ...).
func Policies(cluster string, cmds ...string) ([]Named, error) {
	if len(cmds) == 0 {
		cmds = Commands()
	}
	direct, deploy, anyWhere := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, c := range cmds {
		acts, ok := commands[c]
		if !ok {
			return nil, &UnknownCommandError{Command: c}
		}
		for _, a := range acts {
			direct[a] = true
		}
		for _, a := range elsewhere[c] {
			direct[a], anyWhere[a] = true, true
		}
		for _, a := range deployActions(stackOps[c]) {
			deploy[a] = true
		}
	}
	var out []Named
	if len(direct) > 0 {
		out = append(out, Named{Name: "neo4jctl-commands", Document: document(cluster, direct, anyWhere)})
	}
	for a := range direct {
		delete(deploy, a)
	}
	for i, part := range pack(cluster, deploy) {
		out = append(out, Named{Name: fmt.Sprintf("neo4jctl-deploy-%d", i+1), Document: part})
	}
	return out, nil
}

// pack puts the actions into documents of whole services, in service order, each within
// MaxDocumentSize.
func pack(cluster string, actions map[string]bool) []*Document {
	byService := map[string][]string{}
	for a := range actions {
		s, _, _ := strings.Cut(a, ":")
		byService[s] = append(byService[s], a)
	}
	var docs []*Document
	cur := map[string]bool{}
	for _, s := range slices.Sorted(maps.Keys(byService)) {
		next := maps.Clone(cur)
		for _, a := range byService[s] {
			next[a] = true
		}
		if len(cur) > 0 && size(document(cluster, next, nil)) > MaxDocumentSize {
			docs = append(docs, document(cluster, cur, nil))
			next = map[string]bool{}
			for _, a := range byService[s] {
				next[a] = true
			}
		}
		cur = next
	}
	if len(cur) > 0 {
		docs = append(docs, document(cluster, cur, nil))
	}
	return docs
}

// Size is a document's length as IAM counts it (JSON without whitespace).
func size(d *Document) int {
	b, _ := json.Marshal(d)
	return len(b)
}

// Size is the document's length as IAM counts it against MaxDocumentSize.
func (d *Document) Size() int { return size(d) }

// document is one statement per scope of the actions; those anyWhere go on "*".
func document(cluster string, actions, anyWhere map[string]bool) *Document {
	byScope := map[string][]string{}
	for a := range actions {
		s := scopeOf(a)
		if anyWhere[a] {
			s = scopes[len(scopes)-1]
		}
		byScope[s.name] = append(byScope[s.name], a)
	}
	doc := &Document{Version: "2012-10-17"}
	for _, s := range scopes {
		if acts := byScope[s.name]; len(acts) > 0 {
			doc.Statement = append(doc.Statement, Statement{Sid: s.name, Effect: "Allow", Action: slices.Sorted(slices.Values(acts)), Resource: s.arns(cluster)})
		}
	}
	return doc
}

// Allows reports whether one of the policies lets action act on arn (see Document.Allows).
func Allows(policies []Named, action, arn string) bool {
	return slices.ContainsFunc(policies, func(p Named) bool { return p.Document.Allows(action, arn) })
}

// deployActions are the permissions CloudFormation needs of the caller for these handlers of
// every resource type neo4jctl's templates use.
func deployActions(handlers []string) []string {
	if len(handlers) == 0 {
		return nil
	}
	out := slices.Clone(deployExtras)
	for _, perms := range generated.CloudFormation {
		for _, h := range handlers {
			out = append(out, perms[h]...)
		}
	}
	return out
}

// Allows reports whether the document lets action act on arn ("" when the request names no
// resource neo4jctl narrows).
func (d *Document) Allows(action, arn string) bool {
	for _, s := range d.Statement {
		if !slices.ContainsFunc(s.Action, func(a string) bool { return wildcard(a, action) }) {
			continue
		}
		if arn == "" || slices.ContainsFunc(s.Resource, func(r string) bool { return wildcard(r, arn) }) {
			return true
		}
	}
	return false
}

// wildcard matches IAM's "*" (any run of characters, "/" included), case-insensitively as
// IAM matches actions.
func wildcard(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}
