package stack

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the directory holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the package")
		}
		dir = parent
	}
}

// tool finds a linter in $REPO/.venv/bin, then on PATH; a missing tool fails the test.
func tool(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), ".venv", "bin", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	t.Fatalf("%s not found in .venv/bin or on PATH: run scripts/test-deps.sh", name)
	return ""
}

// writeAll renders every example and every table config into dir/<case>/<stack>.template.json.
func writeAll(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	for _, tc := range allCases(t) {
		sub := filepath.Join(dir, tc.name)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, s := range build(t, tc) {
			f := filepath.Join(sub, s.Name+".template.json")
			if err := os.WriteFile(f, s.Template, 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	return files
}

// TestLint runs cfn-lint once over every template, checkov once over the directory and AWS
// Control Tower's proactive controls (cfn-guard) once over every template: no error, no
// warning, no failed check, no unsuppressed finding. Skips and suppressions live next to
// their resources with reasons.
func TestLint(t *testing.T) {
	if testing.Short() {
		t.Log("-short: linting anyway (the templates are the product)")
	}
	cfnLint, checkov := tool(t, "cfn-lint"), tool(t, "checkov")
	tool(t, "cfn-guard")
	guardRules(t)
	dir := t.TempDir()
	files := writeAll(t, dir)
	t.Logf("%d templates", len(files))

	t.Run("cfn-lint", func(t *testing.T) {
		t.Parallel()
		cmd := exec.Command(cfnLint, append([]string{"--format", "parseable", "--"}, files...)...)
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		err := cmd.Run()
		if text := strings.TrimSpace(out.String()); text != "" || err != nil {
			t.Errorf("cfn-lint found problems (%v):\n%s\n%s", err, text, stderr.String())
		}
	})

	t.Run("control-tower", func(t *testing.T) {
		t.Parallel()
		checkControlTower(t, files)
	})

	t.Run("checkov", func(t *testing.T) {
		t.Parallel()
		cmd := exec.Command(checkov, "-d", dir, "--framework", "cloudformation", "--compact", "--quiet",
			"--skip-download", "-o", "json")
		// offline: no Prisma Cloud guideline download, no version check
		cmd.Env = append(os.Environ(), "BC_SKIP_MAPPING=TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false", "ANSI_COLORS_DISABLED=1")
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		_ = cmd.Run() // exit 1 on failed checks; the JSON says which
		var report struct {
			Summary map[string]any `json:"summary"`
			Results struct {
				Failed []struct {
					CheckID  string `json:"check_id"`
					Name     string `json:"check_name"`
					Resource string `json:"resource"`
					File     string `json:"file_path"`
				} `json:"failed_checks"`
				Skipped []struct {
					CheckID  string `json:"check_id"`
					Resource string `json:"resource"`
				} `json:"skipped_checks"`
			} `json:"results"`
		}
		raw := out.Bytes()
		if i := bytes.IndexByte(raw, '{'); i > 0 {
			raw = raw[i:]
		}
		if err := json.Unmarshal(raw, &report); err != nil {
			t.Fatalf("checkov output is not a report: %v\nstdout: %.2000s\nstderr: %.2000s", err, out.String(), stderr.String())
		}
		summary := report.Summary
		t.Logf("checkov summary: %v", summary)
		if summary["passed"] == nil || summary["passed"].(float64) == 0 {
			t.Errorf("checkov passed no checks: did it scan the templates? %v", summary)
		}
		if pe, _ := summary["parsing_errors"].(float64); pe > 0 {
			t.Errorf("checkov could not parse %v templates", pe)
		}
		for _, f := range report.Results.Failed {
			t.Errorf("checkov %s (%s) failed on %s in %s", f.CheckID, f.Name, f.Resource, f.File)
		}
	})
}
