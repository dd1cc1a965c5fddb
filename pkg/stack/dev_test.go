package stack

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/cluster"
)

// TestDevWrite writes the example templates to $STACK_DEV_DIR (development aid).
func TestDevWrite(t *testing.T) {
	dir := os.Getenv("STACK_DEV_DIR")
	if dir == "" {
		return
	}
	files, _ := filepath.Glob("../../examples/*.yaml")
	for _, f := range files {
		c, err := cluster.Load(f, cluster.Overrides{})
		if err != nil {
			t.Fatal(err)
		}
		st, err := Build(c.Config, Inputs{})
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteDir(st, filepath.Join(dir, filepath.Base(f))); err != nil {
			t.Fatal(err)
		}
	}
}
