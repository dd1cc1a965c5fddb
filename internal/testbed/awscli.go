package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// AWSCLI returns the AWS CLI the tests run scripts with (requirements-test.txt pins awscli v1,
// whose botocore is moto's): the repo's .venv first, then PATH. Point it at moto with Env and
// credentials of the moto account to use (an IAM access key made there selects the account).
func AWSCLI() (string, error) {
	var tried []string
	if root, err := RepoRoot(); err == nil {
		p := filepath.Join(root, ".venv", "bin", "aws")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
		tried = append(tried, p)
	}
	if p, err := exec.LookPath("aws"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("testbed: the AWS CLI (aws) not found (looked for %s and on PATH); %s", tried, fixHint)
}
