package stack

// AWS Control Tower's proactive controls, run as the cfn-guard rules Control Tower publishes
// (scripts/test-deps.sh unpacks them and the cfn-guard binary from the pinned
// cdklabs-cdk-validator-cfnguard package). Every finding must be suppressed on its resource
// with GuardSuppress and a reason; every suppression must still be needed.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// guardRules is the directory of Control Tower rule files scripts/test-deps.sh unpacks.
func guardRules(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), ".venv", "share", "cfn-guard", "control-tower")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("Control Tower rules not found at %s: run scripts/test-deps.sh", dir)
	}
	return dir
}

// guardFinding is one resource of one template that breaks one rule.
type guardFinding struct{ File, Rule, Resource string }

func (f guardFinding) String() string {
	return fmt.Sprintf("%s: %s on %s", filepath.Base(filepath.Dir(f.File))+"/"+filepath.Base(f.File), f.Rule, f.Resource)
}

var resourcePathRe = regexp.MustCompile(`^/Resources/([^/\[]+)`)

var resourceTypeRe = regexp.MustCompile(`"Type":\s*"(AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)"`)

// applicableRules are the rule files of dir that name a resource type the files use: a
// Control Tower rule selects resources by their type, so the others cannot find anything,
// and leaving them out halves cfn-guard's time.
func applicableRules(dir string, files []string) ([]string, error) {
	types := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, m := range resourceTypeRe.FindAllSubmatch(raw, -1) {
			types[string(m[1])] = true
		}
	}
	var rules []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".guard") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for ty := range types {
			if bytes.Contains(raw, []byte(`"`+ty+`"`)) {
				rules = append(rules, path)
				break
			}
		}
		return nil
	})
	sort.Strings(rules)
	return rules, err
}

// runGuard evaluates the rules that apply against every file in one cfn-guard process and
// returns the non-compliant (rule, resource) pairs of each file.
func runGuard(bin, rulesDir string, files []string) ([]guardFinding, error) {
	rules, err := applicableRules(rulesDir, files)
	if err != nil {
		return nil, err
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("no Control Tower rule in %s applies to the templates' resource types", rulesDir)
	}
	args := []string{"validate", "--structured", "--show-summary", "none", "--output-format", "json"}
	for _, r := range rules {
		args = append(args, "--rules", r)
	}
	for _, f := range files {
		args = append(args, "--data", f)
	}
	cmd := exec.Command(bin, args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err = cmd.Run()
	// exit 19: some rule failed (the report says which); anything else but 0 is a tool error
	if ee, ok := err.(*exec.ExitError); err != nil && !(ok && ee.ExitCode() == 19) {
		return nil, fmt.Errorf("cfn-guard: %v\n%.2000s\n%.2000s", err, out.String(), stderr.String())
	}
	var report []struct {
		Name         string `json:"name"`
		NotCompliant []struct {
			Rule json.RawMessage `json:"Rule"`
		} `json:"not_compliant"`
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil {
		return nil, fmt.Errorf("cfn-guard output is not a report: %v\n%.2000s\n%.2000s", err, out.String(), stderr.String())
	}
	if len(report) != len(files) {
		return nil, fmt.Errorf("cfn-guard reported on %d of %d templates:\n%.2000s", len(report), len(files), stderr.String())
	}
	var found []guardFinding
	for _, file := range report {
		for _, nc := range file.NotCompliant {
			var rule struct {
				Name string `json:"name"`
			}
			var tree any
			if err := json.Unmarshal(nc.Rule, &rule); err != nil {
				return nil, err
			}
			if err := json.Unmarshal(nc.Rule, &tree); err != nil {
				return nil, err
			}
			resources := map[string]bool{}
			walk(tree, "", func(key string, v any) {
				if s, ok := v.(string); ok && key == "path" {
					if m := resourcePathRe.FindStringSubmatch(s); m != nil {
						resources[m[1]] = true
					}
				}
			})
			if len(resources) == 0 { // a finding that names no resource cannot be suppressed
				resources["(template)"] = true
			}
			for _, r := range slices.Sorted(maps.Keys(resources)) {
				found = append(found, guardFinding{File: file.Name, Rule: rule.Name, Resource: r})
			}
		}
	}
	return found, nil
}

// minReasonLen keeps reasons sentences, not placeholders.
const minReasonLen = 40

// guardProblems compares the findings with the suppressions in the templates: a finding
// without a suppression (or without a reason) is a problem, and so is a suppression whose
// rule no longer fails on its resource.
func guardProblems(files []string, findings []guardFinding) ([]string, error) {
	type key struct{ file, res, rule string }
	suppressed := map[key]string{} // -> reason
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var doc struct {
			Resources map[string]struct {
				Metadata struct {
					Guard struct {
						SuppressedRules []string          `json:"SuppressedRules"`
						Reasons         map[string]string `json:"Reasons"`
					} `json:"guard"`
				} `json:"Metadata"`
			} `json:"Resources"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for id, r := range doc.Resources {
			for _, rule := range r.Metadata.Guard.SuppressedRules {
				suppressed[key{f, id, rule}] = r.Metadata.Guard.Reasons[rule]
			}
		}
	}
	var problems []string
	seen := map[key]bool{}
	for _, fd := range findings {
		k := key{fd.File, fd.Resource, fd.Rule}
		seen[k] = true
		reason, ok := suppressed[k]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: new finding: meet the control, or GuardSuppress it with a reason", fd))
		case len(strings.TrimSpace(reason)) < minReasonLen:
			problems = append(problems, fmt.Sprintf("%s: suppressed without a reason (Metadata.guard.Reasons.%s)", fd, fd.Rule))
		}
	}
	for k := range suppressed {
		if !seen[k] {
			problems = append(problems, fmt.Sprintf("%s: suppression no longer needed (the rule holds): remove it",
				guardFinding{File: k.file, Rule: k.rule, Resource: k.res}))
		}
	}
	sort.Strings(problems)
	return problems, nil
}

// checkControlTower runs the rules over files and reports every problem on t.
func checkControlTower(t *testing.T, files []string) {
	t.Helper()
	bin, rules := tool(t, "cfn-guard"), guardRules(t)
	findings, err := runGuard(bin, rules, files)
	if err != nil {
		t.Fatal(err)
	}
	problems, err := guardProblems(files, findings)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	byRule := map[string]int{}
	for _, f := range findings {
		byRule[f.Rule]++
	}
	t.Logf("Control Tower rules over %d templates: %d findings, each suppressed with a reason: %v", len(files), len(findings), byRule)
}

// TestControlTowerCatchesNewFindings: the check fails on a deliberately broken template (a
// log group kept 7 days without a suppression), on a suppression without a reason, and on a
// suppression that is no longer needed, and passes the same template made right.
func TestControlTowerCatchesNewFindings(t *testing.T) {
	bin, rules := tool(t, "cfn-guard"), guardRules(t)
	dir := t.TempDir()
	write := func(name string, resources M) string {
		t.Helper()
		body, err := json.Marshal(M{"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources})
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, name+".template.json")
		if err := os.WriteFile(f, body, 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	logGroup := func(days int) M {
		return M{"Type": "AWS::Logs::LogGroup", "Properties": M{"RetentionInDays": days, "KmsKeyId": "arn:aws:kms:eu-west-1:123456789012:key/x"}}
	}
	reason := "kept one week on purpose: these logs are re-read from the bucket"
	for _, tc := range []struct {
		name      string
		resources M
		want      string // "" = no problem
	}{
		{"broken", M{"Logs": logGroup(7)}, "cloudwatch_log_group_retention_period_check on Logs: new finding"},
		{"no-reason", M{"Logs": GuardSuppress(logGroup(7), "cloudwatch_log_group_retention_period_check", "short")}, "suppressed without a reason"},
		{"stale", M{"Logs": GuardSuppress(logGroup(400), "cloudwatch_log_group_retention_period_check", reason)}, "no longer needed"},
		{"suppressed", M{"Logs": GuardSuppress(logGroup(7), "cloudwatch_log_group_retention_period_check", reason)}, ""},
		{"fixed", M{"Logs": logGroup(400)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := []string{write(tc.name, tc.resources)}
			findings, err := runGuard(bin, rules, files)
			if err != nil {
				t.Fatal(err)
			}
			problems, err := guardProblems(files, findings)
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Join(problems, "\n")
			switch {
			case tc.want == "" && len(problems) > 0:
				t.Errorf("unexpected problems:\n%s", text)
			case tc.want != "" && !strings.Contains(text, tc.want):
				t.Errorf("want a problem containing %q, got:\n%s", tc.want, text)
			}
		})
	}
}
