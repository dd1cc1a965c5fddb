package testbed

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
)

const fixHint = "run scripts/test-deps.sh (or: make test-deps)"

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// RepoRoot returns the repository root: the nearest directory at or above the
// working directory (a test's package directory) that holds go.mod.
func RepoRoot() (string, error) {
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			rootErr = err
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				rootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				rootErr = errors.New("testbed: no go.mod found at or above the working directory")
				return
			}
			dir = parent
		}
	})
	return rootDir, rootErr
}
