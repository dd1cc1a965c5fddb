package ops

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/neo4jctl/neo4jctl/pkg/engine"
	"github.com/neo4jctl/neo4jctl/pkg/naming"
)

func TestFindStacksInCreationOrder(t *testing.T) {
	f := newFakeEngine()
	f.put("neo4jctl-c-operations", "c", naming.KindOperations, "", engine.StatusCreateComplete, nil)
	f.put("neo4jctl-c-core-10", "c", naming.KindCore, "core-10", engine.StatusCreateComplete, nil)
	f.put("neo4jctl-c-core-2", "c", naming.KindCore, "core-2", engine.StatusCreateComplete, nil)
	f.put("neo4jctl-c-replicas", "c", naming.KindReplicas, "", engine.StatusCreateComplete, nil)
	f.put("neo4jctl-c-vpc", "c", naming.KindVPC, "", engine.StatusCreateComplete, nil)
	f.put("neo4jctl-c-shared", "c", naming.KindShared, "", engine.StatusCreateComplete, nil)
	stacks, err := (&Cluster{Name: "c", Stacks: f}).FindStacks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range stacks {
		names = append(names, strings.TrimPrefix(s.Name, "neo4jctl-c-"))
	}
	if got := strings.Join(names, " "); got != "vpc shared core-2 core-10 replicas operations" {
		t.Fatalf("order: %s", got)
	}
	for _, tc := range []struct {
		a, b string
		want bool
	}{{naming.KindVPC, naming.KindShared, true}, {naming.KindShared, naming.KindCore, true}, {naming.KindCore, naming.KindReplicas, false},
		{naming.KindReplicas, naming.KindCore, false}, {naming.KindReplicas, naming.KindOperations, true}, {naming.KindOperations, naming.KindVPC, false}, {"", naming.KindVPC, false}} {
		if got := kindBefore(tc.a, tc.b); got != tc.want {
			t.Errorf("kindBefore(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

func TestConfirmNeedsAYesOrSomeoneToAsk(t *testing.T) {
	c := &Cluster{}
	if ok, err := c.confirm(context.Background(), "q? ", "delete cluster x", "--yes", true); !ok || err != nil {
		t.Fatal("--yes is a yes")
	}
	_, err := c.confirm(context.Background(), "q? ", "delete cluster x", "--yes", false)
	var cn *ConfirmationNeededError
	if !errors.As(err, &cn) || cn.ExitCode() != 2 {
		t.Fatalf("no terminal: %v", err)
	}
	p := &fakePrompt{answers: []bool{true}}
	c.Prompt = p
	if ok, err := c.confirm(context.Background(), "q? ", "delete cluster x", "--yes", false); !ok || err != nil || !slices.Equal(p.asked, []string{"q? "}) {
		t.Fatalf("asked %q: %v %v", p.asked, ok, err)
	}
}

// TestActionsNeverPrint keeps pkg/ops free of output of its own: progress goes through
// Events, data is returned, and the command renders both.
func TestActionsNeverPrint(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			switch {
			case pkg.Name == "os" && (sel.Sel.Name == "Stdout" || sel.Sel.Name == "Stderr"),
				pkg.Name == "fmt" && strings.HasPrefix(sel.Sel.Name, "Print"),
				pkg.Name == "log" || pkg.Name == "slog":
				t.Errorf("%s: %s.%s: actions report through Events and return data", fset.Position(sel.Pos()), pkg.Name, sel.Sel.Name)
			}
			return true
		})
	}
}
